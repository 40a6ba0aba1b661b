/**
 * A minimal in-memory DynamoDB table served through an `aws-sdk-client-mock` stub of
 * `DynamoDBClient`: PutItem and UpdateItem (with condition expressions), and GetItem.
 *
 * Only the expression syntax the function uses is understood, evaluated as the DynamoDB
 * developer guide describes it (Expressions: comparison operators and functions, update
 * expressions); anything else throws, so a change in the function's expressions fails loudly
 * instead of being evaluated wrongly:
 * - conditions: `a OP :v` / `:v OP a` with OP one of `= <> < <= > >=`, `attribute_exists(a)`,
 *   `attribute_not_exists(a)`, `NOT`, `AND`, `OR` (precedence NOT > AND > OR), parentheses,
 *   `#name` placeholders. A comparison whose operands are missing or of different types is false.
 * - updates: `ADD a :n` (a missing number attribute counts as 0) and `SET a = :v`, comma-separated.
 * Each request is applied atomically, as DynamoDB does for a single item.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  PutItemCommand,
  type PutItemCommandInput,
  ResourceNotFoundException,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';

export type Item = Record<string, AttributeValue>;
type Values = Readonly<Record<string, AttributeValue>>;
type Names = Readonly<Record<string, string>>;

export class FakeTable {
  private readonly items = new Map<string, Item>();

  constructor(
    readonly tableName: string,
    readonly partitionKey: string,
  ) {}

  get(key: string): Item | undefined {
    const item = this.items.get(key);
    return item && structuredClone(item);
  }

  get size(): number {
    return this.items.size;
  }

  /** For the stub only. */
  keyOf(key: Item | undefined): string {
    const value = key?.[this.partitionKey]?.S;
    if (value === undefined) throw new Error(`the key has no string ${this.partitionKey}`);
    return value;
  }

  /** For the stub only. */
  put(key: string, item: Item): void {
    this.items.set(key, structuredClone(item));
  }
}

// ---------------------------------------------------------------------------------------------
// Condition expressions
// ---------------------------------------------------------------------------------------------

type Token =
  | { readonly kind: 'name'; readonly text: string }
  | { readonly kind: 'value'; readonly text: string }
  | { readonly kind: 'op'; readonly text: string }
  | { readonly kind: 'punct'; readonly text: '(' | ')' | ',' };

function tokenise(expression: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(<=|>=|<>|[=<>])|([(),])|(:[A-Za-z0-9_]+)|(#?[A-Za-z_][A-Za-z0-9_]*))/y;
  let index = 0;
  while (index < expression.length) {
    if (/^\s*$/.test(expression.slice(index))) break;
    pattern.lastIndex = index;
    const match = pattern.exec(expression);
    if (!match) throw new Error(`fake DynamoDB: cannot parse "${expression}" at ${index}`);
    index = pattern.lastIndex;
    const [, op, punct, value, name] = match;
    if (op !== undefined) tokens.push({ kind: 'op', text: op });
    else if (punct !== undefined) tokens.push({ kind: 'punct', text: punct as '(' | ')' | ',' });
    else if (value !== undefined) tokens.push({ kind: 'value', text: value });
    else if (name !== undefined) tokens.push({ kind: 'name', text: name });
  }
  return tokens;
}

type Operand = { readonly path: string } | { readonly value: AttributeValue };

/** Compares two attribute values of the same scalar type; undefined if they cannot be compared. */
function compare(a: AttributeValue | undefined, b: AttributeValue | undefined): number | undefined {
  if (a?.N !== undefined && b?.N !== undefined) return Number(a.N) - Number(b.N);
  if (a?.S !== undefined && b?.S !== undefined) return a.S < b.S ? -1 : a.S > b.S ? 1 : 0;
  return undefined;
}

const COMPARATORS: Readonly<Record<string, (order: number) => boolean>> = {
  '=': (o) => o === 0,
  '<>': (o) => o !== 0,
  '<': (o) => o < 0,
  '<=': (o) => o <= 0,
  '>': (o) => o > 0,
  '>=': (o) => o >= 0,
};

/** Evaluates a condition expression against an item (undefined: the item does not exist). */
export function evaluateCondition(
  expression: string,
  item: Item | undefined,
  values: Values = {},
  names: Names = {},
): boolean {
  const tokens = tokenise(expression);
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const next = (): Token => {
    const token = tokens[position];
    if (!token) throw new Error(`fake DynamoDB: "${expression}" ends too early`);
    position += 1;
    return token;
  };
  const expect = (text: string): void => {
    const token = next();
    if (token.text !== text) {
      throw new Error(`fake DynamoDB: expected ${text} in "${expression}", got ${token.text}`);
    }
  };
  const keyword = (word: string): boolean => {
    const token = peek();
    return token?.kind === 'name' && token.text.toUpperCase() === word;
  };
  const path = (token: Token): string => {
    if (token.kind !== 'name') throw new Error(`fake DynamoDB: expected a path, got ${token.text}`);
    if (!token.text.startsWith('#')) return token.text;
    const resolved = names[token.text];
    if (resolved === undefined) throw new Error(`fake DynamoDB: ${token.text} is not defined`);
    return resolved;
  };
  const operand = (): Operand => {
    const token = next();
    if (token.kind === 'value') {
      const value = values[token.text];
      if (value === undefined) throw new Error(`fake DynamoDB: ${token.text} is not defined`);
      return { value };
    }
    return { path: path(token) };
  };
  const resolve = (o: Operand): AttributeValue | undefined =>
    'value' in o ? o.value : item?.[o.path];

  const primary = (): boolean => {
    const token = peek();
    if (token?.text === '(') {
      next();
      const result = or();
      expect(')');
      return result;
    }
    if (keyword('ATTRIBUTE_EXISTS') || keyword('ATTRIBUTE_NOT_EXISTS')) {
      const exists = next().text.toUpperCase() === 'ATTRIBUTE_EXISTS';
      expect('(');
      const attribute = path(next());
      expect(')');
      return (item?.[attribute] !== undefined) === exists;
    }
    const left = operand();
    const op = next();
    const comparator = op.kind === 'op' ? COMPARATORS[op.text] : undefined;
    if (!comparator) throw new Error(`fake DynamoDB: unsupported operator ${op.text}`);
    const order = compare(resolve(left), resolve(operand()));
    return order !== undefined && comparator(order);
  };
  const not = (): boolean => {
    if (keyword('NOT')) {
      next();
      return !not();
    }
    return primary();
  };
  const and = (): boolean => {
    let result = not();
    while (keyword('AND')) {
      next();
      const right = not(); // always parsed: no short circuit, so syntax errors surface
      result = result && right;
    }
    return result;
  };
  const or = (): boolean => {
    let result = and();
    while (keyword('OR')) {
      next();
      const right = and();
      result = result || right;
    }
    return result;
  };
  const result = or();
  if (position !== tokens.length) {
    throw new Error(
      `fake DynamoDB: unexpected ${tokens[position]?.text ?? '?'} in "${expression}"`,
    );
  }
  return result;
}

/** Applies an update expression (`ADD a :n`, `SET a = :v`) to a copy of the item. */
export function applyUpdate(
  expression: string,
  item: Item,
  values: Values = {},
  names: Names = {},
): Item {
  const updated = structuredClone(item);
  const clauses = expression.trim().split(/\s+(?=(?:ADD|SET)\s)/i);
  for (const clause of clauses) {
    const [, action = '', rest = ''] = /^(ADD|SET)\s+(.*)$/is.exec(clause.trim()) ?? [];
    for (const part of rest.split(',')) {
      const tokens = tokenise(part);
      const attribute = tokens[0]?.text ?? '';
      const name = attribute.startsWith('#') ? names[attribute] : attribute;
      const valueToken = action.toUpperCase() === 'ADD' ? tokens[1] : tokens[2];
      const value = valueToken === undefined ? undefined : values[valueToken.text];
      const shapeOk =
        action.toUpperCase() === 'ADD'
          ? tokens.length === 2
          : tokens.length === 3 && tokens[1]?.text === '=';
      if (!name || !value || !shapeOk) {
        throw new Error(`fake DynamoDB: unsupported update expression "${expression}"`);
      }
      if (action.toUpperCase() === 'SET') {
        updated[name] = value;
      } else {
        const current = updated[name];
        if (value.N === undefined || (current !== undefined && current.N === undefined)) {
          throw new Error('fake DynamoDB: ADD is only supported on numbers');
        }
        updated[name] = { N: String(Number(current?.N ?? '0') + Number(value.N)) };
      }
    }
  }
  return updated;
}

function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: { httpStatusCode: 400 },
  });
}

/**
 * Serves `table` through the stub. Returns the number of write requests received, so tests can
 * tell that the table was used.
 */
export function serveDynamoDb(
  mock: AwsClientStub<DynamoDBClient>,
  table: FakeTable,
): { writes: number } {
  const counter = { writes: 0 };
  const check = (tableName: string | undefined): void => {
    if (tableName !== table.tableName) {
      throw new ResourceNotFoundException({
        message: 'Requested resource not found',
        $metadata: { httpStatusCode: 400 },
      });
    }
  };
  mock.on(PutItemCommand).callsFake((input: PutItemCommandInput) => {
    counter.writes += 1;
    check(input.TableName);
    const key = table.keyOf(input.Item);
    const existing = table.get(key);
    if (
      input.ConditionExpression !== undefined &&
      !evaluateCondition(
        input.ConditionExpression,
        existing,
        input.ExpressionAttributeValues,
        input.ExpressionAttributeNames,
      )
    ) {
      throw conditionFailed();
    }
    table.put(key, input.Item ?? {});
    return {};
  });
  mock.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
    counter.writes += 1;
    check(input.TableName);
    const key = table.keyOf(input.Key);
    const existing = table.get(key);
    if (
      input.ConditionExpression !== undefined &&
      !evaluateCondition(
        input.ConditionExpression,
        existing,
        input.ExpressionAttributeValues,
        input.ExpressionAttributeNames,
      )
    ) {
      throw conditionFailed();
    }
    const base: Item = existing ?? { ...input.Key };
    table.put(
      key,
      applyUpdate(
        input.UpdateExpression ?? '',
        base,
        input.ExpressionAttributeValues,
        input.ExpressionAttributeNames,
      ),
    );
    return {};
  });
  mock.on(GetItemCommand).callsFake((input: GetItemCommandInput) => {
    check(input.TableName);
    const item = table.get(table.keyOf(input.Key));
    return item ? { Item: item } : {};
  });
  return counter;
}
