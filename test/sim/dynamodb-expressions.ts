/**
 * DynamoDB expressions, parsed and evaluated as the DynamoDB developer guide describes them
 * ("Using expressions in DynamoDB": condition and filter expressions, update expressions, key
 * condition expressions, projection expressions; "Reserved words"). Extends the evaluator of
 * test/helpers/dynamodb.ts to the whole grammar the redeployer may use:
 *
 * - conditions: `a = b`, `<>`, `<`, `<=`, `>`, `>=`, `a BETWEEN b AND c`, `a IN (b, c, …)`,
 *   `attribute_exists(p)`, `attribute_not_exists(p)`, `attribute_type(p, :t)`,
 *   `begins_with(p, v)`, `contains(p, v)`, `size(p)` as an operand, `NOT` > `AND` > `OR`,
 *   parentheses; paths with `#name` placeholders, `a.b` map members and `a[0]` list elements.
 *   A comparison with a missing operand is false, except `<>`, which is true (as DynamoDB).
 * - updates: `SET p = v`, `SET p = v + w` / `v - w` (numbers), `if_not_exists(p, v)`,
 *   `list_append(v, w)`; `REMOVE p`; `ADD p n` (numbers; a missing attribute counts as 0) and
 *   `ADD p set` (union); `DELETE p set` (difference; an emptied set is removed). Every right-hand
 *   side is evaluated against the item before the update; each clause keyword may appear once;
 *   overlapping paths are refused.
 *
 * Anything else (unknown functions, tokens or shapes) throws a ValidationException, as DynamoDB
 * does for a syntax error: the sim never silently misevaluates. Bare attribute names that are
 * reserved words are refused too. Numbers are exact decimals (38 digits), compared numerically.
 */
import { AwsError } from './errors.js';
import { RESERVED_WORDS } from './dynamodb-reserved.js';

/** An attribute value in DynamoDB's JSON wire form (`B` values are base64). */
export interface AttributeValue {
  /** String. */
  S?: string;
  /** Number, as text. */
  N?: string;
  /** Binary, base64. */
  B?: string;
  /** String set. */
  SS?: string[];
  /** Number set. */
  NS?: string[];
  /** Binary set (base64). */
  BS?: string[];
  /** Map. */
  M?: Record<string, AttributeValue>;
  /** List. */
  L?: AttributeValue[];
  /** Null. */
  NULL?: boolean;
  /** Boolean. */
  BOOL?: boolean;
}

/** An item: attribute name → value. */
export type Item = Record<string, AttributeValue>;

/** The data types of attribute values. */
export type AttributeType = 'S' | 'N' | 'B' | 'SS' | 'NS' | 'BS' | 'M' | 'L' | 'NULL' | 'BOOL';

const TYPES: readonly AttributeType[] = ['S', 'N', 'B', 'SS', 'NS', 'BS', 'M', 'L', 'NULL', 'BOOL'];

const invalid = (message: string): AwsError => new AwsError('ValidationException', message);

/** The type of a value; a ValidationException if it is not exactly one well-formed type. */
export function typeOf(value: AttributeValue): AttributeType {
  const present = TYPES.filter((t) => value[t] !== undefined);
  const [type] = present;
  if (present.length !== 1 || type === undefined) {
    throw invalid(
      'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes',
    );
  }
  return type;
}

/** Checks a value (recursively): one type, valid numbers, non-empty sets without duplicates. */
export function validateValue(value: AttributeValue): void {
  const type = typeOf(value);
  switch (type) {
    case 'N':
      parseNumber(value.N ?? '');
      return;
    case 'SS':
    case 'NS':
    case 'BS': {
      const members = value[type] ?? [];
      if (members.length === 0) {
        const kind = type === 'SS' ? 'string' : type === 'NS' ? 'number' : 'binary';
        throw invalid(
          `One or more parameter values were invalid: An ${kind} set  may not be empty`,
        );
      }
      const keys = members.map((m) => (type === 'NS' ? canonicalNumber(m) : m));
      if (new Set(keys).size !== keys.length) {
        throw invalid(
          'One or more parameter values were invalid: Input collection contains duplicates',
        );
      }
      return;
    }
    case 'M':
      for (const member of Object.values(value.M ?? {})) validateValue(member);
      return;
    case 'L':
      for (const member of value.L ?? []) validateValue(member);
      return;
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Exact decimal numbers
// ---------------------------------------------------------------------------------------------

interface Decimal {
  /** value = mantissa × 10^exponent */
  readonly mantissa: bigint;
  readonly exponent: number;
}

function parseNumber(text: string): Decimal {
  const match = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/.exec(text);
  const whole = match?.[2] ?? '';
  const fraction = match?.[3] ?? '';
  if (!match || whole + fraction === '') {
    throw invalid(`The parameter cannot be converted to a numeric value: ${text}`);
  }
  let mantissa = BigInt(`${match[1] === '-' ? '-' : ''}${whole}${fraction}` || '0');
  let exponent = Number(match[4] ?? '0') - fraction.length;
  if (mantissa === 0n) return { mantissa: 0n, exponent: 0 };
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent += 1;
  }
  return { mantissa, exponent };
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const exponent = Math.min(a.exponent, b.exponent);
  return [
    a.mantissa * 10n ** BigInt(a.exponent - exponent),
    b.mantissa * 10n ** BigInt(b.exponent - exponent),
    exponent,
  ];
}

function formatDecimal(value: Decimal): string {
  let { mantissa, exponent } = value;
  if (mantissa === 0n) return '0';
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent += 1;
  }
  if (exponent >= 0) return (mantissa * 10n ** BigInt(exponent)).toString();
  const negative = mantissa < 0n;
  const digits = (negative ? -mantissa : mantissa).toString().padStart(-exponent + 1, '0');
  const point = digits.length + exponent;
  return `${negative ? '-' : ''}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** A number's canonical text (`"1.50"` → `"1.5"`), as DynamoDB returns numbers. */
export function canonicalNumber(text: string): string {
  return formatDecimal(parseNumber(text));
}

function compareNumbers(a: string, b: string): number {
  const [x, y] = align(parseNumber(a), parseNumber(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

function addNumbers(a: string, b: string, sign: 1 | -1): string {
  const [x, y, exponent] = align(parseNumber(a), parseNumber(b));
  return formatDecimal({ mantissa: x + (sign === 1 ? y : -y), exponent });
}

// ---------------------------------------------------------------------------------------------
// Comparing values
// ---------------------------------------------------------------------------------------------

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'base64'), Buffer.from(b, 'base64'));
}

/** Order of two scalars of the same type (S, N, B); undefined if they cannot be ordered. */
export function compareValues(a: AttributeValue, b: AttributeValue): number | undefined {
  if (a.N !== undefined && b.N !== undefined) return compareNumbers(a.N, b.N);
  if (a.S !== undefined && b.S !== undefined) return a.S < b.S ? -1 : a.S > b.S ? 1 : 0;
  if (a.B !== undefined && b.B !== undefined) return compareBytes(a.B, b.B);
  return undefined;
}

/** Deep equality, as `=` compares (numbers numerically, sets without order). */
export function valuesEqual(a: AttributeValue, b: AttributeValue): boolean {
  const type = typeOf(a);
  if (type !== typeOf(b)) return false;
  switch (type) {
    case 'S':
    case 'N':
    case 'B':
      return compareValues(a, b) === 0;
    case 'BOOL':
      return a.BOOL === b.BOOL;
    case 'NULL':
      return true;
    case 'SS':
    case 'BS':
    case 'NS': {
      const norm = (v: AttributeValue): string[] =>
        (v[type] ?? []).map((m) => (type === 'NS' ? canonicalNumber(m) : m)).sort();
      const x = norm(a);
      const y = norm(b);
      return x.length === y.length && x.every((m, i) => m === y[i]);
    }
    case 'L': {
      const x = a.L ?? [];
      const y = b.L ?? [];
      return (
        x.length === y.length &&
        x.every((m, i) => {
          const other = y[i];
          return other !== undefined && valuesEqual(m, other);
        })
      );
    }
    case 'M': {
      const x = a.M ?? {};
      const y = b.M ?? {};
      const keys = Object.keys(x);
      return (
        keys.length === Object.keys(y).length &&
        keys.every((k) => {
          const left = x[k];
          const right = y[k];
          return left !== undefined && right !== undefined && valuesEqual(left, right);
        })
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tokens and syntax trees
// ---------------------------------------------------------------------------------------------

type Token =
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'name'; readonly text: string }
  | { readonly kind: 'value'; readonly text: string }
  | { readonly kind: 'number'; readonly text: string }
  | { readonly kind: 'op'; readonly text: string };

/** One step of a document path. */
export type PathStep = { readonly attr: string } | { readonly index: number };
/** A document path (`a.b[2]`). */
export type Path = readonly PathStep[];

/** An operand of a condition or the right-hand side of an update. */
export type Operand =
  | { readonly kind: 'path'; readonly path: Path }
  | { readonly kind: 'value'; readonly value: AttributeValue }
  | { readonly kind: 'size'; readonly path: Path }
  | { readonly kind: 'if_not_exists'; readonly path: Path; readonly fallback: Operand }
  | { readonly kind: 'list_append'; readonly left: Operand; readonly right: Operand }
  | {
      readonly kind: 'arith';
      readonly op: '+' | '-';
      readonly left: Operand;
      readonly right: Operand;
    };

/** A condition (condition, filter or key condition expression). */
export type Condition =
  | { readonly kind: 'and' | 'or'; readonly left: Condition; readonly right: Condition }
  | { readonly kind: 'not'; readonly inner: Condition }
  | {
      readonly kind: 'compare';
      readonly op: string;
      readonly left: Operand;
      readonly right: Operand;
    }
  | {
      readonly kind: 'between';
      readonly subject: Operand;
      readonly low: Operand;
      readonly high: Operand;
    }
  | { readonly kind: 'in'; readonly subject: Operand; readonly list: readonly Operand[] }
  | { readonly kind: 'function'; readonly name: string; readonly args: readonly Operand[] };

/** One action of an update expression. */
export type UpdateAction =
  | { readonly kind: 'SET'; readonly path: Path; readonly value: Operand }
  | { readonly kind: 'REMOVE'; readonly path: Path }
  | { readonly kind: 'ADD' | 'DELETE'; readonly path: Path; readonly value: Operand };

/** The placeholders of a request, and which of them the expressions used. */
export class Placeholders {
  readonly usedNames = new Set<string>();
  readonly usedValues = new Set<string>();

  constructor(
    readonly names: Readonly<Record<string, string>> = {},
    readonly values: Readonly<Record<string, AttributeValue>> = {},
  ) {}

  /** The attribute name of a `#name` placeholder (marks it used). */
  name(placeholder: string): string {
    const resolved = this.names[placeholder];
    if (resolved === undefined) {
      throw invalid(
        `Invalid expression: An expression attribute name used in the document path is not defined; attribute name: ${placeholder}`,
      );
    }
    this.usedNames.add(placeholder);
    return resolved;
  }

  /** The value of a `:value` placeholder (marks it used). */
  value(placeholder: string): AttributeValue {
    const resolved = this.values[placeholder];
    if (resolved === undefined) {
      throw invalid(
        `Invalid expression: An expression attribute value used in expression is not defined; attribute value: ${placeholder}`,
      );
    }
    validateValue(resolved);
    this.usedValues.add(placeholder);
    return resolved;
  }

  /** Refuses placeholders given but never used (DynamoDB does). */
  assertAllUsed(): void {
    const names = Object.keys(this.names).filter((n) => !this.usedNames.has(n));
    if (names.length > 0) {
      throw invalid(
        `Value provided in ExpressionAttributeNames unused in expressions: keys: {${names.join(', ')}}`,
      );
    }
    const values = Object.keys(this.values).filter((v) => !this.usedValues.has(v));
    if (values.length > 0) {
      throw invalid(
        `Value provided in ExpressionAttributeValues unused in expressions: keys: {${values.join(', ')}}`,
      );
    }
  }
}

const TOKEN =
  /\s*(?:(<=|>=|<>|[=<>+\-(),.[\]])|(#[A-Za-z0-9_]+)|(:[A-Za-z0-9_]+)|(\d+)|([A-Za-z_][A-Za-z0-9_]*))/y;

function tokenise(expression: string, kind: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < expression.length) {
    if (/^\s*$/.test(expression.slice(index))) break;
    TOKEN.lastIndex = index;
    const match = TOKEN.exec(expression);
    if (!match) {
      throw invalid(
        `Invalid ${kind}: Syntax error; token: "${expression.slice(index).trim().slice(0, 10)}", near: "${expression.slice(Math.max(0, index - 5), index + 5)}"`,
      );
    }
    index = TOKEN.lastIndex;
    const [, op, name, value, number, word] = match;
    if (op !== undefined) tokens.push({ kind: 'op', text: op });
    else if (name !== undefined) tokens.push({ kind: 'name', text: name });
    else if (value !== undefined) tokens.push({ kind: 'value', text: value });
    else if (number !== undefined) tokens.push({ kind: 'number', text: number });
    else if (word !== undefined) tokens.push({ kind: 'word', text: word });
  }
  return tokens;
}

const COMPARATORS = new Set(['=', '<>', '<', '<=', '>', '>=']);
const CONDITION_FUNCTIONS = new Set([
  'attribute_exists',
  'attribute_not_exists',
  'attribute_type',
  'begins_with',
  'contains',
]);
const UPDATE_KEYWORDS = new Set(['SET', 'REMOVE', 'ADD', 'DELETE']);

/** A recursive-descent parser over one expression. */
class Parser {
  private position = 0;
  private readonly tokens: Token[];

  constructor(
    private readonly expression: string,
    private readonly kind: string,
    private readonly placeholders: Placeholders,
  ) {
    this.tokens = tokenise(expression, kind);
  }

  private fail(detail: string): never {
    throw invalid(
      `Invalid ${this.kind}: Syntax error; ${detail}; expression: "${this.expression}"`,
    );
  }

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.position + offset];
  }

  private next(): Token {
    const token = this.tokens[this.position];
    if (!token) this.fail('unexpected end of expression');
    this.position += 1;
    return token;
  }

  private expect(text: string): void {
    const token = this.next();
    if (token.text !== text) this.fail(`expected "${text}", got "${token.text}"`);
  }

  private isKeyword(word: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token?.kind === 'word' && token.text.toUpperCase() === word;
  }

  get done(): boolean {
    return this.position >= this.tokens.length;
  }

  end(): void {
    const token = this.peek();
    if (token) this.fail(`unexpected token "${token.text}"`);
  }

  // paths --------------------------------------------------------------------------------------

  private attributeName(token: Token): string {
    if (token.kind === 'name') return this.placeholders.name(token.text);
    if (token.kind === 'word') {
      if (RESERVED_WORDS.has(token.text.toUpperCase())) {
        throw invalid(
          `Invalid ${this.kind}: Attribute name is a reserved keyword; reserved keyword: ${token.text}`,
        );
      }
      return token.text;
    }
    return this.fail(`expected an attribute name, got "${token.text}"`);
  }

  path(): Path {
    const steps: PathStep[] = [{ attr: this.attributeName(this.next()) }];
    for (;;) {
      const token = this.peek();
      if (token?.text === '.') {
        this.next();
        steps.push({ attr: this.attributeName(this.next()) });
      } else if (token?.text === '[') {
        this.next();
        const index = this.next();
        if (index.kind !== 'number') this.fail(`expected a list index, got "${index.text}"`);
        this.expect(']');
        steps.push({ index: Number(index.text) });
      } else {
        return steps;
      }
    }
  }

  // operands -----------------------------------------------------------------------------------

  private functionCall(): { name: string } | undefined {
    const token = this.peek();
    return token?.kind === 'word' && this.peek(1)?.text === '(' ? { name: token.text } : undefined;
  }

  /** A condition operand: a path, a value or `size(path)`. */
  operand(): Operand {
    const token = this.peek();
    if (token?.kind === 'value') {
      this.next();
      return { kind: 'value', value: this.placeholders.value(token.text) };
    }
    const call = this.functionCall();
    if (call) {
      if (call.name !== 'size') this.fail(`function "${call.name}" is not an operand`);
      this.next();
      this.expect('(');
      const path = this.path();
      this.expect(')');
      return { kind: 'size', path };
    }
    return { kind: 'path', path: this.path() };
  }

  /** An update's right-hand side operand: a path, a value, if_not_exists or list_append. */
  private updateOperand(): Operand {
    const token = this.peek();
    if (token?.kind === 'value') {
      this.next();
      return { kind: 'value', value: this.placeholders.value(token.text) };
    }
    const call = this.functionCall();
    if (call) {
      this.next();
      this.expect('(');
      let operand: Operand;
      if (call.name === 'if_not_exists') {
        const path = this.path();
        this.expect(',');
        operand = { kind: 'if_not_exists', path, fallback: this.updateOperand() };
      } else if (call.name === 'list_append') {
        const left = this.updateOperand();
        this.expect(',');
        operand = { kind: 'list_append', left, right: this.updateOperand() };
      } else {
        return this.fail(`function "${call.name}" is not allowed in an update expression`);
      }
      this.expect(')');
      return operand;
    }
    return { kind: 'path', path: this.path() };
  }

  private setValue(): Operand {
    const left = this.updateOperand();
    const op = this.peek();
    if (op?.text === '+' || op?.text === '-') {
      this.next();
      return { kind: 'arith', op: op.text, left, right: this.updateOperand() };
    }
    return left;
  }

  // conditions ---------------------------------------------------------------------------------

  condition(): Condition {
    let left = this.conjunction();
    while (this.isKeyword('OR')) {
      this.next();
      left = { kind: 'or', left, right: this.conjunction() };
    }
    return left;
  }

  private conjunction(): Condition {
    let left = this.negation();
    while (this.isKeyword('AND')) {
      this.next();
      left = { kind: 'and', left, right: this.negation() };
    }
    return left;
  }

  private negation(): Condition {
    if (this.isKeyword('NOT')) {
      this.next();
      return { kind: 'not', inner: this.negation() };
    }
    return this.primary();
  }

  private primary(): Condition {
    if (this.peek()?.text === '(') {
      this.next();
      const inner = this.condition();
      this.expect(')');
      return inner;
    }
    const call = this.functionCall();
    if (call && call.name !== 'size') {
      if (!CONDITION_FUNCTIONS.has(call.name))
        this.fail(`invalid function name; function: ${call.name}`);
      this.next();
      this.expect('(');
      const args: Operand[] = [this.operand()];
      while (this.peek()?.text === ',') {
        this.next();
        args.push(this.operand());
      }
      this.expect(')');
      const arity =
        call.name === 'attribute_exists' || call.name === 'attribute_not_exists' ? 1 : 2;
      if (args.length !== arity) this.fail(`incorrect number of operands for ${call.name}`);
      if (args[0]?.kind !== 'path' && call.name !== 'begins_with' && call.name !== 'contains') {
        this.fail(`the first operand of ${call.name} must be a document path`);
      }
      return { kind: 'function', name: call.name, args };
    }
    const subject = this.operand();
    if (this.isKeyword('BETWEEN')) {
      this.next();
      const low = this.operand();
      if (!this.isKeyword('AND')) this.fail('BETWEEN needs AND');
      this.next();
      return { kind: 'between', subject, low, high: this.operand() };
    }
    if (this.isKeyword('IN')) {
      this.next();
      this.expect('(');
      const list: Operand[] = [this.operand()];
      while (this.peek()?.text === ',') {
        this.next();
        list.push(this.operand());
      }
      this.expect(')');
      if (list.length > 100) this.fail('IN takes at most 100 operands');
      return { kind: 'in', subject, list };
    }
    const op = this.next();
    if (op.kind !== 'op' || !COMPARATORS.has(op.text)) this.fail(`unexpected token "${op.text}"`);
    return { kind: 'compare', op: op.text, left: subject, right: this.operand() };
  }

  // updates ------------------------------------------------------------------------------------

  update(): UpdateAction[] {
    const actions: UpdateAction[] = [];
    const seen = new Set<string>();
    while (!this.done) {
      const keyword = this.next();
      const clause = keyword.text.toUpperCase();
      if (keyword.kind !== 'word' || !UPDATE_KEYWORDS.has(clause)) {
        this.fail(`expected SET, REMOVE, ADD or DELETE, got "${keyword.text}"`);
      }
      if (seen.has(clause)) {
        throw invalid(
          `Invalid ${this.kind}: The "${clause}" section can only be used once in an update expression;`,
        );
      }
      seen.add(clause);
      for (;;) {
        const path = this.path();
        if (clause === 'SET') {
          this.expect('=');
          actions.push({ kind: 'SET', path, value: this.setValue() });
        } else if (clause === 'REMOVE') {
          actions.push({ kind: 'REMOVE', path });
        } else {
          const value = this.operand();
          if (value.kind !== 'value') this.fail(`${clause} needs a value placeholder`);
          actions.push({ kind: clause as 'ADD' | 'DELETE', path, value });
        }
        if (this.peek()?.text !== ',') break;
        this.next();
      }
      const following = this.peek();
      if (
        following &&
        !(following.kind === 'word' && UPDATE_KEYWORDS.has(following.text.toUpperCase()))
      ) {
        this.fail(`unexpected token "${following.text}"`);
      }
    }
    if (actions.length === 0) this.fail('empty update expression');
    return actions;
  }

  projection(): Path[] {
    const paths: Path[] = [this.path()];
    while (this.peek()?.text === ',') {
      this.next();
      paths.push(this.path());
    }
    return paths;
  }
}

/** Parses a condition, filter or key condition expression. */
export function parseCondition(
  expression: string,
  kind: string,
  placeholders: Placeholders,
): Condition {
  const parser = new Parser(expression, kind, placeholders);
  const condition = parser.condition();
  parser.end();
  return condition;
}

/** Parses an update expression. */
export function parseUpdate(expression: string, placeholders: Placeholders): UpdateAction[] {
  return new Parser(expression, 'UpdateExpression', placeholders).update();
}

/** Parses a projection expression. */
export function parseProjection(expression: string, placeholders: Placeholders): Path[] {
  const parser = new Parser(expression, 'ProjectionExpression', placeholders);
  const paths = parser.projection();
  parser.end();
  return paths;
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/** The value at `path` in `item` (undefined if absent). */
export function resolvePath(item: Item | undefined, path: Path): AttributeValue | undefined {
  let current: AttributeValue | undefined;
  for (const [i, step] of path.entries()) {
    if (i === 0) {
      current = 'attr' in step ? item?.[step.attr] : undefined;
      continue;
    }
    if (current === undefined) return undefined;
    current = 'attr' in step ? current.M?.[step.attr] : current.L?.[step.index];
  }
  return current;
}

function sizeOf(value: AttributeValue): number | undefined {
  if (value.S !== undefined) return Buffer.byteLength(value.S, 'utf8');
  if (value.B !== undefined) return Buffer.from(value.B, 'base64').length;
  const collection = value.SS ?? value.NS ?? value.BS ?? value.L;
  if (collection !== undefined) return collection.length;
  if (value.M !== undefined) return Object.keys(value.M).length;
  return undefined;
}

function evaluateOperand(operand: Operand, item: Item | undefined): AttributeValue | undefined {
  switch (operand.kind) {
    case 'value':
      return operand.value;
    case 'path':
      return resolvePath(item, operand.path);
    case 'size': {
      const value = resolvePath(item, operand.path);
      const size = value === undefined ? undefined : sizeOf(value);
      return size === undefined ? undefined : { N: String(size) };
    }
    case 'if_not_exists':
      return resolvePath(item, operand.path) ?? evaluateOperand(operand.fallback, item);
    case 'list_append': {
      const left = evaluateOperand(operand.left, item);
      const right = evaluateOperand(operand.right, item);
      if (left?.L === undefined || right?.L === undefined) {
        throw invalid(
          'Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append',
        );
      }
      return { L: [...left.L, ...right.L] };
    }
    case 'arith': {
      const left = evaluateOperand(operand.left, item);
      const right = evaluateOperand(operand.right, item);
      if (left === undefined || right === undefined) {
        throw invalid(
          'The provided expression refers to an attribute that does not exist in the item',
        );
      }
      if (left.N === undefined || right.N === undefined) {
        throw invalid(
          `Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ${operand.op}`,
        );
      }
      return { N: addNumbers(left.N, right.N, operand.op === '+' ? 1 : -1) };
    }
  }
}

/** Evaluates a condition against an item (undefined: the item does not exist). */
export function evaluateCondition(condition: Condition, item: Item | undefined): boolean {
  switch (condition.kind) {
    case 'and': {
      const left = evaluateCondition(condition.left, item);
      const right = evaluateCondition(condition.right, item);
      return left && right;
    }
    case 'or': {
      const left = evaluateCondition(condition.left, item);
      const right = evaluateCondition(condition.right, item);
      return left || right;
    }
    case 'not':
      return !evaluateCondition(condition.inner, item);
    case 'compare': {
      const left = evaluateOperand(condition.left, item);
      const right = evaluateOperand(condition.right, item);
      if (condition.op === '=')
        return left !== undefined && right !== undefined && valuesEqual(left, right);
      if (condition.op === '<>')
        return left === undefined || right === undefined || !valuesEqual(left, right);
      if (left === undefined || right === undefined) return false;
      const order = compareValues(left, right);
      if (order === undefined) return false;
      switch (condition.op) {
        case '<':
          return order < 0;
        case '<=':
          return order <= 0;
        case '>':
          return order > 0;
        default:
          return order >= 0;
      }
    }
    case 'between': {
      const subject = evaluateOperand(condition.subject, item);
      const low = evaluateOperand(condition.low, item);
      const high = evaluateOperand(condition.high, item);
      if (low !== undefined && high !== undefined) {
        const bounds = compareValues(low, high);
        if (bounds !== undefined && bounds > 0) {
          throw invalid(
            'Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound',
          );
        }
      }
      if (subject === undefined || low === undefined || high === undefined) return false;
      const above = compareValues(subject, low);
      const below = compareValues(subject, high);
      return above !== undefined && below !== undefined && above >= 0 && below <= 0;
    }
    case 'in': {
      const subject = evaluateOperand(condition.subject, item);
      if (subject === undefined) return false;
      return condition.list.some((o) => {
        const value = evaluateOperand(o, item);
        return value !== undefined && valuesEqual(subject, value);
      });
    }
    case 'function':
      return evaluateFunction(condition.name, condition.args, item);
  }
}

function evaluateFunction(name: string, args: readonly Operand[], item: Item | undefined): boolean {
  const [first, second] = args;
  const subject = first === undefined ? undefined : evaluateOperand(first, item);
  switch (name) {
    case 'attribute_exists':
      return subject !== undefined;
    case 'attribute_not_exists':
      return subject === undefined;
    case 'attribute_type': {
      const type = second === undefined ? undefined : evaluateOperand(second, item);
      if (type?.S === undefined || !TYPES.includes(type.S as AttributeType)) {
        throw invalid(
          'Invalid ConditionExpression: Invalid attribute type name found; type: attribute_type',
        );
      }
      return subject !== undefined && typeOf(subject) === type.S;
    }
    case 'begins_with': {
      const prefix = second === undefined ? undefined : evaluateOperand(second, item);
      if (subject === undefined || prefix === undefined) return false;
      if (subject.S !== undefined && prefix.S !== undefined) return subject.S.startsWith(prefix.S);
      if (subject.B !== undefined && prefix.B !== undefined) {
        const bytes = Buffer.from(subject.B, 'base64');
        const start = Buffer.from(prefix.B, 'base64');
        return bytes.subarray(0, start.length).equals(start);
      }
      return false;
    }
    case 'contains': {
      const needle = second === undefined ? undefined : evaluateOperand(second, item);
      if (subject === undefined || needle === undefined) return false;
      if (subject.S !== undefined && needle.S !== undefined) return subject.S.includes(needle.S);
      if (subject.SS !== undefined && needle.S !== undefined) return subject.SS.includes(needle.S);
      if (subject.NS !== undefined && needle.N !== undefined) {
        const n = needle.N;
        return subject.NS.some((m) => compareNumbers(m, n) === 0);
      }
      if (subject.BS !== undefined && needle.B !== undefined) {
        const b = needle.B;
        return subject.BS.some((m) => compareBytes(m, b) === 0);
      }
      if (subject.L !== undefined) return subject.L.some((m) => valuesEqual(m, needle));
      return false;
    }
    default:
      throw invalid(`Invalid ConditionExpression: Invalid function name; function: ${name}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Applying updates
// ---------------------------------------------------------------------------------------------

const pathText = (path: Path): string =>
  `[${path.map((s) => ('attr' in s ? s.attr : `[${String(s.index)}]`)).join(', ')}]`;

function overlaps(a: Path, b: Path): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) return false;
    if (
      'attr' in x ? !('attr' in y) || x.attr !== y.attr : !('index' in y) || x.index !== y.index
    ) {
      return false;
    }
  }
  return true;
}

function setPath(item: Item, path: Path, value: AttributeValue): void {
  const [first, ...rest] = path;
  if (first === undefined || !('attr' in first))
    throw invalid('Invalid UpdateExpression: invalid document path');
  if (rest.length === 0) {
    item[first.attr] = value;
    return;
  }
  let container = item[first.attr];
  for (const [i, step] of rest.entries()) {
    const last = i === rest.length - 1;
    if (container === undefined) {
      throw invalid('The document path provided in the update expression is invalid for update');
    }
    if ('attr' in step) {
      if (container.M === undefined)
        throw invalid('The document path provided in the update expression is invalid for update');
      if (last) container.M[step.attr] = value;
      else container = container.M[step.attr];
    } else {
      if (container.L === undefined)
        throw invalid('The document path provided in the update expression is invalid for update');
      if (last) {
        if (step.index >= container.L.length) container.L.push(value);
        else container.L[step.index] = value;
      } else container = container.L[step.index];
    }
  }
}

function removePath(item: Item, path: Path): void {
  const [first, ...rest] = path;
  if (first === undefined || !('attr' in first)) return;
  if (rest.length === 0) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removing an attribute by name is the operation
    delete item[first.attr];
    return;
  }
  const parent = resolvePath(item, path.slice(0, -1));
  const last = path.at(-1);
  if (parent === undefined || last === undefined) return;
  if ('attr' in last) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removing a map member by name is the operation
    if (parent.M) delete parent.M[last.attr];
  } else if (parent.L && last.index < parent.L.length) {
    parent.L.splice(last.index, 1);
  }
}

/**
 * Applies update actions to a copy of `item` (undefined: a new item made of `key`). Returns the
 * new item and the top-level attributes the actions touched.
 */
export function applyUpdate(
  actions: readonly UpdateAction[],
  item: Item | undefined,
  key: Item,
): { item: Item; touched: Set<string> } {
  for (const [i, a] of actions.entries()) {
    for (const b of actions.slice(i + 1)) {
      if (overlaps(a.path, b.path)) {
        throw invalid(
          `Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: ${pathText(a.path)}, path two: ${pathText(b.path)}`,
        );
      }
    }
    const top = a.path[0];
    if (top && 'attr' in top && top.attr in key) {
      throw invalid(
        `One or more parameter values were invalid: Cannot update attribute ${top.attr}. This attribute is part of the key`,
      );
    }
  }
  const original = item;
  // Every right-hand side sees the item as it was before the update.
  const planned = actions.map((action) => ({
    action,
    value: action.kind === 'REMOVE' ? undefined : evaluateOperand(action.value, original),
    current: resolvePath(original, action.path),
  }));
  const updated: Item = structuredClone(original ?? key);
  const touched = new Set<string>();
  for (const { action, value, current } of planned) {
    const top = action.path[0];
    if (top && 'attr' in top) touched.add(top.attr);
    switch (action.kind) {
      case 'SET':
        if (value === undefined) {
          throw invalid(
            'The provided expression refers to an attribute that does not exist in the item',
          );
        }
        setPath(updated, action.path, structuredClone(value));
        break;
      case 'REMOVE':
        removePath(updated, action.path);
        break;
      case 'ADD': {
        if (action.path.length !== 1)
          throw invalid('Invalid UpdateExpression: ADD supports only top-level attributes');
        if (value === undefined) throw invalid('Invalid UpdateExpression: missing ADD operand');
        setPath(updated, action.path, addTo(current, value));
        break;
      }
      case 'DELETE': {
        if (action.path.length !== 1)
          throw invalid('Invalid UpdateExpression: DELETE supports only top-level attributes');
        if (value === undefined) throw invalid('Invalid UpdateExpression: missing DELETE operand');
        const remaining = deleteFrom(current, value);
        if (remaining === undefined) removePath(updated, action.path);
        else if (remaining !== current) setPath(updated, action.path, remaining);
        break;
      }
    }
  }
  return { item: updated, touched };
}

const SET_TYPES = ['SS', 'NS', 'BS'] as const;

function addTo(current: AttributeValue | undefined, value: AttributeValue): AttributeValue {
  const wrongType = (): AwsError =>
    invalid(
      'Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD',
    );
  if (value.N !== undefined) {
    if (current === undefined) return { N: canonicalNumber(value.N) };
    if (current.N === undefined) throw wrongType();
    return { N: addNumbers(current.N, value.N, 1) };
  }
  for (const type of SET_TYPES) {
    const members = value[type];
    if (members === undefined) continue;
    if (current === undefined) return { [type]: [...members] };
    const existing = current[type];
    if (existing === undefined) throw wrongType();
    const key = (m: string): string => (type === 'NS' ? canonicalNumber(m) : m);
    const seen = new Set(existing.map(key));
    return { [type]: [...existing, ...members.filter((m) => !seen.has(key(m)))] };
  }
  throw wrongType();
}

function deleteFrom(
  current: AttributeValue | undefined,
  value: AttributeValue,
): AttributeValue | undefined {
  for (const type of SET_TYPES) {
    const members = value[type];
    if (members === undefined) continue;
    if (current === undefined) return undefined;
    const existing = current[type];
    if (existing === undefined) {
      throw invalid(
        'Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE',
      );
    }
    const key = (m: string): string => (type === 'NS' ? canonicalNumber(m) : m);
    const removed = new Set(members.map(key));
    const left = existing.filter((m) => !removed.has(key(m)));
    return left.length === 0 ? undefined : { [type]: left };
  }
  throw invalid(
    'Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE',
  );
}

/** The item reduced to the projected paths. */
export function project(item: Item, paths: readonly Path[]): Item {
  const out: Item = {};
  for (const path of paths) {
    const value = resolvePath(item, path);
    if (value === undefined) continue;
    const [first, ...rest] = path;
    if (first === undefined || !('attr' in first)) continue;
    if (rest.length === 0) {
      out[first.attr] = structuredClone(value);
      continue;
    }
    // Nested projections keep the enclosing maps (list elements are compacted, as DynamoDB).
    let target: AttributeValue = (out[first.attr] ??=
      item[first.attr]?.M !== undefined ? { M: {} } : { L: [] });
    for (const [i, step] of rest.entries()) {
      const last = i === rest.length - 1;
      const source = resolvePath(item, path.slice(0, i + 2));
      if ('attr' in step) {
        target.M ??= {};
        if (last) target.M[step.attr] = structuredClone(value);
        else target = target.M[step.attr] ??= source?.M !== undefined ? { M: {} } : { L: [] };
      } else {
        target.L ??= [];
        if (last) target.L.push(structuredClone(value));
        else {
          const next: AttributeValue = source?.M !== undefined ? { M: {} } : { L: [] };
          target.L.push(next);
          target = next;
        }
      }
    }
  }
  return out;
}
