/**
 * Amazon DynamoDB tables (DynamoDB API reference: GetItem, PutItem, UpdateItem, DeleteItem,
 * Query, Scan, BatchGetItem, BatchWriteItem, DescribeTable; developer guide: "Working with
 * items", "Query", "Paginating table query results", "Global secondary indexes", "Time to
 * Live"). Expressions are evaluated by dynamodb-expressions.ts.
 *
 * - Each request is atomic: it reads, checks its condition and writes without yielding, so
 *   concurrent conditional writes behave as DynamoDB's (exactly one of two racing
 *   `attribute_not_exists(pk)` puts wins; the other gets ConditionalCheckFailedException).
 * - Query needs `pk = :v` and at most one sort key condition (`=`, `<`, `<=`, `>`, `>=`,
 *   `BETWEEN`, `begins_with`); results are in sort key order (ScanIndexForward), `Limit` counts
 *   items read before the filter, and `LastEvaluatedKey` is returned whenever the limit is
 *   reached (even when no item follows, as DynamoDB does).
 * - Global secondary indexes project ALL attributes; an item without the index key is not in the
 *   index; ConsistentRead on an index is refused.
 * - Unused or undefined expression placeholders, reserved words as bare names, key attributes
 *   in a filter or an update are refused with ValidationException, as DynamoDB does.
 * - TTL: expired items stay readable until the TTL process deletes them; call
 *   `table(name).expire()` to run it.
 */
import type { SimContext, SimService } from './context.js';
import { AwsError, notImplemented } from './errors.js';
import {
  applyUpdate,
  type AttributeValue,
  canonicalNumber,
  compareValues,
  type Condition,
  evaluateCondition,
  type Item,
  type Operand,
  type Path,
  parseCondition,
  parseProjection,
  parseUpdate,
  Placeholders,
  project,
  typeOf,
  validateValue,
} from './dynamodb-expressions.js';
import type { Answer } from './transport.js';
import { epochSeconds, isJson, type Json, optionalNumber, optionalString } from './util.js';

/** A key attribute: its name and scalar type. */
export interface KeySpec {
  /** The attribute name. */
  readonly name: string;
  /** @default 'S' */
  readonly type?: 'S' | 'N' | 'B';
}

/** A table to create. */
export interface TableSeed {
  /** The table name. */
  readonly name: string;
  /** Attribute name (a string key) or `{ name, type }`. */
  readonly partitionKey: string | KeySpec;
  readonly sortKey?: string | KeySpec;
  /** The TTL attribute (epoch seconds); see `TableHandle.expire`. */
  readonly ttlAttribute?: string;
  /** Global secondary indexes (projection ALL). */
  readonly indexes?: readonly {
    /** The index name (`IndexName`). */
    readonly name: string;
    /** Its partition key. */
    readonly partitionKey: string | KeySpec;
    /** Its sort key, if any. */
    readonly sortKey?: string | KeySpec;
  }[];
}

/** A table seen from a test: its items, and direct writes that bypass the API. */
export interface TableHandle {
  /** Every item (copies), in key order. */
  items(): Item[];
  /** The item with this key (a copy), if any. */
  get(key: Item): Item | undefined;
  /** Writes an item directly (no condition, not logged). */
  put(item: Item): void;
  /** Deletes an item directly. */
  delete(key: Item): void;
  /** Runs the TTL process: deletes items whose TTL attribute is before now; returns how many. */
  expire(): number;
  /** Number of items. */
  readonly size: number;
}

interface Key {
  readonly name: string;
  readonly type: 'S' | 'N' | 'B';
}

interface Index {
  readonly name: string;
  readonly pk: Key;
  readonly sk?: Key;
  /** Partition value → table keys of its items. */
  readonly partitions: Map<string, Set<string>>;
}

interface Table {
  readonly name: string;
  readonly arn: string;
  readonly pk: Key;
  readonly sk?: Key;
  readonly ttl?: string;
  readonly createdAt: number;
  readonly indexes: Map<string, Index>;
  readonly items: Map<string, Item>;
  readonly partitions: Map<string, Set<string>>;
}

const invalid = (message: string): AwsError => new AwsError('ValidationException', message);
const keySpec = (spec: string | KeySpec): Key =>
  typeof spec === 'string'
    ? { name: spec, type: 'S' }
    : { name: spec.name, type: spec.type ?? 'S' };

function scalarText(value: AttributeValue, type: Key['type']): string {
  if (type === 'N') return `N:${canonicalNumber(value.N ?? '')}`;
  return `${type}:${type === 'S' ? (value.S ?? '') : (value.B ?? '')}`;
}

const MAX_ITEM_BYTES = 400 * 1024;

function itemSize(item: Item): number {
  return Object.entries(item).reduce(
    (n, [name, value]) => n + Buffer.byteLength(name) + Buffer.byteLength(JSON.stringify(value)),
    0,
  );
}

/** The simulated DynamoDB of one account and Region. */
export class DynamoDbSim implements SimService {
  private readonly tables = new Map<string, Table>();

  constructor(private readonly ctx: SimContext) {}

  // -------------------------------------------------------------------------------------------
  // Seeding
  // -------------------------------------------------------------------------------------------

  /** Creates a table; returns its ARN. */
  createTable(seed: TableSeed): string {
    if (this.tables.has(seed.name)) throw new Error(`sim: table ${seed.name} exists`);
    const table: Table = {
      name: seed.name,
      arn: `arn:${this.ctx.partition}:dynamodb:${this.ctx.region}:${this.ctx.account}:table/${seed.name}`,
      pk: keySpec(seed.partitionKey),
      ...(seed.sortKey !== undefined && { sk: keySpec(seed.sortKey) }),
      ...(seed.ttlAttribute !== undefined && { ttl: seed.ttlAttribute }),
      createdAt: this.ctx.clock.nowMs(),
      indexes: new Map(
        (seed.indexes ?? []).map((i) => [
          i.name,
          {
            name: i.name,
            pk: keySpec(i.partitionKey),
            ...(i.sortKey !== undefined && { sk: keySpec(i.sortKey) }),
            partitions: new Map(),
          },
        ]),
      ),
      items: new Map(),
      partitions: new Map(),
    };
    this.tables.set(seed.name, table);
    return table.arn;
  }

  /** A table's items and direct access for assertions. */
  table(name: string): TableHandle {
    const table = this.tables.get(name);
    if (!table) throw new Error(`sim: no table ${name}`);
    return {
      items: () =>
        this.sorted(table, [...table.items.keys()]).map((k) =>
          structuredClone(table.items.get(k) ?? {}),
        ),
      get: (key) => {
        const item = table.items.get(this.keyOf(table, key, true));
        return item && structuredClone(item);
      },
      put: (item) => {
        this.validateItem(table, item);
        this.write(table, structuredClone(item));
      },
      delete: (key) => {
        this.remove(table, this.keyOf(table, key, true));
      },
      expire: () => this.expire(table),
      get size() {
        return table.items.size;
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Storage
  // -------------------------------------------------------------------------------------------

  /** The table key string of an item or key; with `exact`, the key must hold only key attributes. */
  private keyOf(table: Table, key: Item | undefined, exact: boolean): string {
    const mismatch = (): AwsError => invalid('The provided key element does not match the schema');
    if (!key) throw mismatch();
    const parts: string[] = [];
    for (const spec of [table.pk, table.sk]) {
      if (!spec) continue;
      const value = key[spec.name];
      if (value === undefined || typeOf(value) !== spec.type) throw mismatch();
      if (spec.type === 'S' && value.S === '') {
        throw invalid(
          `One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: ${spec.name}`,
        );
      }
      parts.push(scalarText(value, spec.type));
    }
    if (exact && Object.keys(key).length !== parts.length) throw mismatch();
    return parts.join('\u0001');
  }

  private indexKeyOf(index: { pk: Key; sk?: Key }, item: Item): string | undefined {
    const pk = item[index.pk.name];
    if (pk === undefined || typeOf(pk) !== index.pk.type) return undefined;
    if (index.sk) {
      const sk = item[index.sk.name];
      if (sk === undefined || typeOf(sk) !== index.sk.type) return undefined;
    }
    return scalarText(pk, index.pk.type);
  }

  private validateItem(table: Table, item: Item): void {
    for (const value of Object.values(item)) validateValue(value);
    this.keyOf(table, item, false);
    for (const index of table.indexes.values()) {
      for (const spec of [index.pk, index.sk]) {
        const value = spec && item[spec.name];
        if (spec && value !== undefined && typeOf(value) !== spec.type) {
          throw invalid(
            `One or more parameter values were invalid: Type mismatch for Index Key ${spec.name} Expected: ${spec.type} Actual: ${typeOf(value)} IndexName: ${index.name}`,
          );
        }
      }
    }
    if (itemSize(item) > MAX_ITEM_BYTES)
      throw invalid('Item size has exceeded the maximum allowed size');
  }

  private write(table: Table, item: Item): void {
    const key = this.keyOf(table, item, false);
    this.remove(table, key);
    table.items.set(key, item);
    const partition = scalarText(item[table.pk.name] ?? {}, table.pk.type);
    let members = table.partitions.get(partition);
    if (!members) table.partitions.set(partition, (members = new Set()));
    members.add(key);
    for (const index of table.indexes.values()) {
      const indexPartition = this.indexKeyOf(index, item);
      if (indexPartition === undefined) continue;
      let set = index.partitions.get(indexPartition);
      if (!set) index.partitions.set(indexPartition, (set = new Set()));
      set.add(key);
    }
  }

  private remove(table: Table, key: string): void {
    const item = table.items.get(key);
    if (!item) return;
    table.items.delete(key);
    const partition = scalarText(item[table.pk.name] ?? {}, table.pk.type);
    table.partitions.get(partition)?.delete(key);
    for (const index of table.indexes.values()) {
      const indexPartition = this.indexKeyOf(index, item);
      if (indexPartition !== undefined) index.partitions.get(indexPartition)?.delete(key);
    }
  }

  private expire(table: Table): number {
    if (table.ttl === undefined) return 0;
    const now = this.ctx.clock.nowMs() / 1000;
    let deleted = 0;
    for (const [key, item] of [...table.items]) {
      const ttl = item[table.ttl]?.N;
      if (ttl !== undefined && Number(ttl) < now) {
        this.remove(table, key);
        deleted += 1;
      }
    }
    return deleted;
  }

  /** Orders table keys by (sort key of `index` or table, then table key). */
  private sorted(table: Table, keys: readonly string[], index?: Index): string[] {
    const sk = index ? index.sk : table.sk;
    return [...keys].sort((a, b) => {
      if (sk) {
        const x = table.items.get(a)?.[sk.name];
        const y = table.items.get(b)?.[sk.name];
        const order = x && y ? compareValues(x, y) : undefined;
        if (order !== undefined && order !== 0) return order;
      }
      return a < b ? -1 : a > b ? 1 : 0;
    });
  }

  /** The key attributes of an item as LastEvaluatedKey carries them. */
  private keyAttributes(table: Table, item: Item, index?: Index): Item {
    const out: Item = {};
    for (const spec of [table.pk, table.sk, index?.pk, index?.sk]) {
      const value = spec && item[spec.name];
      if (spec && value !== undefined) out[spec.name] = structuredClone(value);
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // The API
  // -------------------------------------------------------------------------------------------

  /** Answers one DynamoDB request. */
  handle(operation: string, input: Json): Answer {
    switch (operation) {
      case 'GetItem':
        return this.getItem(input);
      case 'PutItem':
        return this.putItem(input);
      case 'UpdateItem':
        return this.updateItem(input);
      case 'DeleteItem':
        return this.deleteItem(input);
      case 'Query':
        return this.query(input, false);
      case 'Scan':
        return this.query(input, true);
      case 'BatchGetItem':
        return this.batchGetItem(input);
      case 'BatchWriteItem':
        return this.batchWriteItem(input);
      case 'DescribeTable':
        return this.describeTable(input);
      default:
        throw notImplemented('dynamodb', operation, this.ctx.account);
    }
  }

  private requestTable(input: Json): Table {
    const name = optionalString(input, 'TableName');
    if (name === undefined) throw invalid('TableName is required');
    const table = this.tables.get(name);
    if (!table) throw new AwsError('ResourceNotFoundException', 'Requested resource not found');
    return table;
  }

  private placeholders(input: Json): Placeholders {
    const names = input.ExpressionAttributeNames;
    const values = input.ExpressionAttributeValues;
    if (names !== undefined && (!isJson(names) || Object.keys(names).length === 0)) {
      throw invalid('ExpressionAttributeNames must not be empty');
    }
    if (values !== undefined && (!isJson(values) || Object.keys(values).length === 0)) {
      throw invalid('ExpressionAttributeValues must not be empty');
    }
    return new Placeholders(
      (names ?? {}) as Record<string, string>,
      (values ?? {}) as Record<string, AttributeValue>,
    );
  }

  private condition(input: Json, placeholders: Placeholders): Condition | undefined {
    const expression = optionalString(input, 'ConditionExpression');
    return expression === undefined
      ? undefined
      : parseCondition(expression, 'ConditionExpression', placeholders);
  }

  private projection(input: Json, placeholders: Placeholders): Path[] | undefined {
    const expression = optionalString(input, 'ProjectionExpression');
    return expression === undefined ? undefined : parseProjection(expression, placeholders);
  }

  private returnValues(input: Json, allowed: readonly string[]): string {
    const value = optionalString(input, 'ReturnValues') ?? 'NONE';
    if (!allowed.includes(value)) {
      throw invalid(`Return values set to invalid value: ${value}`);
    }
    return value;
  }

  private check(condition: Condition | undefined, existing: Item | undefined, input: Json): void {
    if (condition === undefined || evaluateCondition(condition, existing)) return;
    const withItem =
      input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && existing !== undefined;
    throw new AwsError(
      'ConditionalCheckFailedException',
      'The conditional request failed',
      400,
      withItem ? { Item: structuredClone(existing) } : {},
    );
  }

  private getItem(input: Json): Json {
    const table = this.requestTable(input);
    const placeholders = this.placeholders(input);
    const projection = this.projection(input, placeholders);
    placeholders.assertAllUsed();
    const item = table.items.get(this.keyOf(table, input.Key as Item | undefined, true));
    if (!item) return {};
    return { Item: projection ? project(item, projection) : structuredClone(item) };
  }

  private putItem(input: Json): Json {
    const table = this.requestTable(input);
    const returnValues = this.returnValues(input, ['NONE', 'ALL_OLD']);
    const item = input.Item;
    if (!isJson(item)) throw invalid('Item is required');
    this.validateItem(table, item as Item);
    const placeholders = this.placeholders(input);
    const condition = this.condition(input, placeholders);
    placeholders.assertAllUsed();
    const key = this.keyOf(table, item as Item, false);
    const existing = table.items.get(key);
    this.check(condition, existing, input);
    this.write(table, structuredClone(item as Item));
    return returnValues === 'ALL_OLD' && existing ? { Attributes: existing } : {};
  }

  private updateItem(input: Json): Json {
    const table = this.requestTable(input);
    const returnValues = this.returnValues(input, [
      'NONE',
      'ALL_OLD',
      'ALL_NEW',
      'UPDATED_OLD',
      'UPDATED_NEW',
    ]);
    const keyItem = input.Key as Item | undefined;
    const key = this.keyOf(table, keyItem, true);
    const placeholders = this.placeholders(input);
    const expression = optionalString(input, 'UpdateExpression');
    if (input.AttributeUpdates !== undefined) {
      throw invalid(
        '[sim] the legacy AttributeUpdates parameter is not modelled; use UpdateExpression',
      );
    }
    const actions = expression === undefined ? [] : parseUpdate(expression, placeholders);
    const condition = this.condition(input, placeholders);
    placeholders.assertAllUsed();
    const existing = table.items.get(key);
    this.check(condition, existing, input);
    const { item: updated, touched } = applyUpdate(actions, existing, keyItem ?? {});
    this.validateItem(table, updated);
    this.write(table, updated);
    const pick = (item: Item | undefined): Item =>
      Object.fromEntries(Object.entries(item ?? {}).filter(([name]) => touched.has(name)));
    switch (returnValues) {
      case 'ALL_OLD':
        return existing ? { Attributes: existing } : {};
      case 'ALL_NEW':
        return { Attributes: structuredClone(updated) };
      case 'UPDATED_OLD': {
        const attributes = pick(existing);
        return Object.keys(attributes).length > 0 ? { Attributes: attributes } : {};
      }
      case 'UPDATED_NEW': {
        const attributes = pick(updated);
        return Object.keys(attributes).length > 0
          ? { Attributes: structuredClone(attributes) }
          : {};
      }
      default:
        return {};
    }
  }

  private deleteItem(input: Json): Json {
    const table = this.requestTable(input);
    const returnValues = this.returnValues(input, ['NONE', 'ALL_OLD']);
    const key = this.keyOf(table, input.Key as Item | undefined, true);
    const placeholders = this.placeholders(input);
    const condition = this.condition(input, placeholders);
    placeholders.assertAllUsed();
    const existing = table.items.get(key);
    this.check(condition, existing, input);
    this.remove(table, key);
    return returnValues === 'ALL_OLD' && existing ? { Attributes: existing } : {};
  }

  /** The partition value and sort key condition of a KeyConditionExpression. */
  private keyCondition(
    condition: Condition,
    keys: { pk: Key; sk?: Key },
  ): { partition: AttributeValue; sort?: Condition } {
    const parts: Condition[] = [];
    const flatten = (c: Condition): void => {
      if (c.kind === 'and') {
        flatten(c.left);
        flatten(c.right);
      } else parts.push(c);
    };
    flatten(condition);
    const attributeOf = (c: Condition): string | undefined => {
      const subject =
        c.kind === 'compare'
          ? c.left
          : c.kind === 'between'
            ? c.subject
            : c.kind === 'function'
              ? c.args[0]
              : undefined;
      const step =
        subject?.kind === 'path' && subject.path.length === 1 ? subject.path[0] : undefined;
      return step && 'attr' in step ? step.attr : undefined;
    };
    let partition: AttributeValue | undefined;
    let sort: Condition | undefined;
    for (const part of parts) {
      const attribute = attributeOf(part);
      const valueSide = part.kind === 'compare' ? part.right : undefined;
      if (
        attribute === keys.pk.name &&
        part.kind === 'compare' &&
        part.op === '=' &&
        valueSide?.kind === 'value'
      ) {
        if (partition)
          throw invalid('Invalid KeyConditionExpression: the partition key appears twice');
        partition = valueSide.value;
      } else if (
        keys.sk &&
        attribute === keys.sk.name &&
        !sort &&
        ((part.kind === 'compare' && part.op !== '<>' && part.right.kind === 'value') ||
          (part.kind === 'between' && part.low.kind === 'value' && part.high.kind === 'value') ||
          (part.kind === 'function' &&
            part.name === 'begins_with' &&
            part.args[1]?.kind === 'value'))
      ) {
        sort = part;
      } else {
        throw invalid('Query key condition not supported');
      }
    }
    if (!partition) throw invalid('Query condition missed key schema element: ' + keys.pk.name);
    if (typeOf(partition) !== keys.pk.type) {
      throw invalid(
        'One or more parameter values were invalid: Condition parameter type does not match schema type',
      );
    }
    return { partition, ...(sort && { sort }) };
  }

  private query(input: Json, scan: boolean): Json {
    const table = this.requestTable(input);
    const indexName = optionalString(input, 'IndexName');
    const index = indexName === undefined ? undefined : table.indexes.get(indexName);
    if (indexName !== undefined && !index) {
      throw invalid(`The table does not have the specified index: ${indexName}`);
    }
    if (index && input.ConsistentRead === true) {
      throw invalid('Consistent reads are not supported on global secondary indexes');
    }
    const limit = optionalNumber(input, 'Limit');
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw invalid(
        "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
      );
    }
    const select = optionalString(input, 'Select') ?? 'ALL_ATTRIBUTES';
    const placeholders = this.placeholders(input);
    const keys = index ?? table;
    let candidates: string[];
    let sortCondition: Condition | undefined;
    if (scan) {
      candidates = this.sorted(
        table,
        index ? [...index.partitions.values()].flatMap((s) => [...s]) : [...table.items.keys()],
      );
    } else {
      const expression = optionalString(input, 'KeyConditionExpression');
      if (expression === undefined)
        throw invalid(
          'Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.',
        );
      const { partition, sort } = this.keyCondition(
        parseCondition(expression, 'KeyConditionExpression', placeholders),
        keys,
      );
      sortCondition = sort;
      const members = (index ? index.partitions : table.partitions).get(
        scalarText(partition, keys.pk.type),
      );
      candidates = this.sorted(table, [...(members ?? [])], index);
      if (input.ScanIndexForward === false) candidates.reverse();
    }
    const filterExpression = optionalString(input, 'FilterExpression');
    const filter =
      filterExpression === undefined
        ? undefined
        : parseCondition(filterExpression, 'FilterExpression', placeholders);
    if (filter && !scan) {
      for (const spec of [keys.pk, keys.sk]) {
        if (spec && mentions(filter, spec.name)) {
          throw invalid(
            `Filter Expression can only contain non-primary key attributes: Primary key attribute: ${spec.name}`,
          );
        }
      }
    }
    const projection = this.projection(input, placeholders);
    placeholders.assertAllUsed();

    const start = input.ExclusiveStartKey;
    let position = 0;
    if (start !== undefined) {
      if (!isJson(start)) throw invalid('The provided starting key is invalid');
      const startItem = start as Item;
      const startKey = this.keyOf(table, startItem, false);
      const reversed = !scan && input.ScanIndexForward === false;
      const sk = index ? index.sk : table.sk;
      const after = (key: string): boolean => {
        let order = 0;
        if (sk) {
          const x = table.items.get(key)?.[sk.name];
          const y = startItem[sk.name];
          order = x && y ? (compareValues(x, y) ?? 0) : 0;
        }
        if (order === 0) order = key < startKey ? -1 : key > startKey ? 1 : 0;
        return reversed ? order < 0 : order > 0;
      };
      position = candidates.findIndex(after);
      if (position < 0) position = candidates.length;
    }

    const items: Item[] = [];
    let scanned = 0;
    let lastKey: Item | undefined;
    for (let i = position; i < candidates.length; i += 1) {
      const key = candidates[i];
      const item = key === undefined ? undefined : table.items.get(key);
      if (!item) continue;
      if (sortCondition && !evaluateCondition(sortCondition, item)) continue;
      scanned += 1;
      if (!filter || evaluateCondition(filter, item)) {
        items.push(projection ? project(item, projection) : structuredClone(item));
      }
      if (limit !== undefined && scanned >= limit) {
        lastKey = this.keyAttributes(table, item, index);
        break;
      }
    }
    return {
      ...(select !== 'COUNT' && { Items: items }),
      Count: items.length,
      ScannedCount: scanned,
      ...(lastKey && { LastEvaluatedKey: lastKey }),
    };
  }

  private batchGetItem(input: Json): Json {
    const requests = input.RequestItems;
    if (!isJson(requests) || Object.keys(requests).length === 0)
      throw invalid('RequestItems must not be empty');
    let total = 0;
    const responses: Record<string, Item[]> = {};
    for (const [name, request] of Object.entries(requests)) {
      const table = this.requestTable({ TableName: name });
      if (!isJson(request) || !Array.isArray(request.Keys)) throw invalid('Keys is required');
      const placeholders = this.placeholders(request);
      const projection = this.projection(request, placeholders);
      placeholders.assertAllUsed();
      const keys = request.Keys.map((k) => this.keyOf(table, k as Item, true));
      if (new Set(keys).size !== keys.length)
        throw invalid('Provided list of item keys contains duplicates');
      total += keys.length;
      responses[name] = keys.flatMap((k) => {
        const item = table.items.get(k);
        return item ? [projection ? project(item, projection) : structuredClone(item)] : [];
      });
    }
    if (total > 100) throw invalid('Too many items requested for the BatchGetItem call');
    return { Responses: responses, UnprocessedKeys: {} };
  }

  private batchWriteItem(input: Json): Json {
    const requests = input.RequestItems;
    if (!isJson(requests) || Object.keys(requests).length === 0)
      throw invalid('RequestItems must not be empty');
    const writes: (() => void)[] = [];
    const seen = new Set<string>();
    for (const [name, list] of Object.entries(requests)) {
      const table = this.requestTable({ TableName: name });
      if (!Array.isArray(list)) throw invalid('RequestItems values must be lists');
      for (const request of list) {
        if (!isJson(request)) throw invalid('Invalid write request');
        const put = request.PutRequest;
        const del = request.DeleteRequest;
        let key: string;
        if (isJson(put) && isJson(put.Item)) {
          const item = put.Item as Item;
          this.validateItem(table, item);
          key = this.keyOf(table, item, false);
          writes.push(() => {
            this.write(table, structuredClone(item));
          });
        } else if (isJson(del) && isJson(del.Key)) {
          key = this.keyOf(table, del.Key as Item, true);
          writes.push(() => {
            this.remove(table, key);
          });
        } else throw invalid('Invalid write request: exactly one of PutRequest and DeleteRequest');
        if (seen.has(`${name}|${key}`))
          throw invalid('Provided list of item keys contains duplicates');
        seen.add(`${name}|${key}`);
      }
    }
    if (writes.length > 25) {
      throw invalid(
        '1 validation error detected: Member must have length less than or equal to 25',
      );
    }
    for (const write of writes) write();
    return { UnprocessedItems: {} };
  }

  private describeTable(input: Json): Json {
    const table = this.requestTable(input);
    const schema = (pk: Key, sk?: Key): Json[] => [
      { AttributeName: pk.name, KeyType: 'HASH' },
      ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' }] : []),
    ];
    const definitions = new Map<string, string>();
    for (const spec of [
      table.pk,
      table.sk,
      ...[...table.indexes.values()].flatMap((i) => [i.pk, i.sk]),
    ]) {
      if (spec) definitions.set(spec.name, spec.type);
    }
    return {
      Table: {
        TableName: table.name,
        TableArn: table.arn,
        TableStatus: 'ACTIVE',
        CreationDateTime: epochSeconds(table.createdAt),
        KeySchema: schema(table.pk, table.sk),
        AttributeDefinitions: [...definitions].map(([AttributeName, AttributeType]) => ({
          AttributeName,
          AttributeType,
        })),
        ItemCount: table.items.size,
        BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
        ...(table.indexes.size > 0 && {
          GlobalSecondaryIndexes: [...table.indexes.values()].map((i) => ({
            IndexName: i.name,
            KeySchema: schema(i.pk, i.sk),
            Projection: { ProjectionType: 'ALL' },
            IndexStatus: 'ACTIVE',
            IndexArn: `${table.arn}/index/${i.name}`,
          })),
        }),
      },
    };
  }
}

/** Whether a condition reads the top-level attribute `name`. */
function mentions(condition: Condition, name: string): boolean {
  const inOperand = (operand: Operand): boolean => {
    switch (operand.kind) {
      case 'path':
      case 'size': {
        const first = operand.path[0];
        return first !== undefined && 'attr' in first && first.attr === name;
      }
      case 'value':
        return false;
      case 'if_not_exists':
        return inOperand({ kind: 'path', path: operand.path }) || inOperand(operand.fallback);
      case 'list_append':
      case 'arith':
        return inOperand(operand.left) || inOperand(operand.right);
    }
  };
  switch (condition.kind) {
    case 'and':
    case 'or':
      return mentions(condition.left, name) || mentions(condition.right, name);
    case 'not':
      return mentions(condition.inner, name);
    case 'compare':
      return inOperand(condition.left) || inOperand(condition.right);
    case 'between':
      return [condition.subject, condition.low, condition.high].some(inOperand);
    case 'in':
      return [condition.subject, ...condition.list].some(inOperand);
    case 'function':
      return condition.args.some(inOperand);
  }
}
