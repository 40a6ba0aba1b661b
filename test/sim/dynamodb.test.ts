import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { SimulatedAws } from './index.js';

function world() {
  const sim = new SimulatedAws();
  sim.createTable({
    name: 'state',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: 'expiresAt',
    indexes: [{ name: 'byOwner', partitionKey: 'owner', sortKey: { name: 'rank', type: 'N' } }],
  });
  return { sim, ddb: sim.client(DynamoDBClient) };
}

const S = (s: string) => ({ S: s });
const N = (n: number | string) => ({ N: String(n) });

describe('DynamoDB', () => {
  it('lets exactly one of two concurrent conditional puts win', async () => {
    const { sim, ddb } = world();
    const put = (writer: string) =>
      ddb.send(
        new PutItemCommand({
          TableName: 'state',
          Item: { pk: S('lock'), sk: S('#'), writer: S(writer) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    const results = await Promise.allSettled([put('a'), put('b'), put('c')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const losers = results.filter((r) => r.status === 'rejected');
    expect(losers.map((r) => (r.reason as Error).name)).toEqual([
      'ConditionalCheckFailedException',
      'ConditionalCheckFailedException',
    ]);
    expect(sim.table('state').items()).toEqual([{ pk: S('lock'), sk: S('#'), writer: S('a') }]);
    expect(sim.count('dynamodb.PutItem', 'ConditionalCheckFailedException')).toBe(2);
  });

  it('evaluates the redeployer’s update and condition expressions, with ReturnValues', async () => {
    const { ddb } = world();
    const key = { pk: S('P#svc'), sk: S('#') };
    const advance = (version: string) =>
      ddb.send(
        new UpdateItemCommand({
          TableName: 'state',
          Key: key,
          UpdateExpression:
            'SET #v = :v, generation = if_not_exists(generation, :zero) + :one, movedAt = :now REMOVE baseline',
          ConditionExpression: 'attribute_not_exists(pk) OR #v <> :v OR baseline = :true',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: {
            ':v': S(version),
            ':zero': N(0),
            ':one': N(1),
            ':now': S('t'),
            ':true': { BOOL: true },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
    expect((await advance('a')).Attributes).toEqual({
      ...key,
      version: S('a'),
      generation: N(1),
      movedAt: S('t'),
    });
    await expect(advance('a')).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect((await advance('b')).Attributes?.generation).toEqual(N(2));

    const counted = await ddb.send(
      new UpdateItemCommand({
        TableName: 'state',
        Key: key,
        UpdateExpression:
          'ADD deployments :one, tags :t SET history = list_append(if_not_exists(history, :empty), :h)',
        ExpressionAttributeValues: {
          ':one': N(1),
          ':t': { SS: ['x', 'y'] },
          ':empty': { L: [] },
          ':h': { L: [S('b')] },
        },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    expect(counted.Attributes).toEqual({
      deployments: N(1),
      tags: { SS: ['x', 'y'] },
      history: { L: [S('b')] },
    });

    const old = await ddb.send(
      new UpdateItemCommand({
        TableName: 'state',
        Key: key,
        UpdateExpression: 'DELETE tags :x SET deployments = deployments - :half',
        ConditionExpression:
          'size(tags) = :two AND contains(tags, :y) AND deployments BETWEEN :zero AND :one AND generation IN (:one, :two)',
        ExpressionAttributeValues: {
          ':x': { SS: ['x'] },
          ':y': S('y'),
          ':half': N('0.5'),
          ':two': N(2),
          ':zero': N(0),
          ':one': N(1),
        },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    expect(old.Attributes).toEqual({ tags: { SS: ['x', 'y'] }, deployments: N(1) });
    const { Item } = await ddb.send(
      new GetItemCommand({ TableName: 'state', Key: key, ConsistentRead: true }),
    );
    expect(Item?.deployments).toEqual(N('0.5'));
    expect(Item?.tags).toEqual({ SS: ['y'] });

    const deleted = await ddb.send(
      new DeleteItemCommand({
        TableName: 'state',
        Key: key,
        ConditionExpression: 'NOT (begins_with(version, :a))',
        ExpressionAttributeValues: { ':a': S('a') },
        ReturnValues: 'ALL_OLD',
      }),
    );
    expect(deleted.Attributes?.version).toEqual(S('b'));
  });

  it('refuses what DynamoDB refuses, loudly', async () => {
    const { sim, ddb } = world();
    const update = (input: {
      UpdateExpression: string;
      ConditionExpression?: string;
      names?: Record<string, string>;
      values?: Record<string, { S: string }>;
    }) =>
      ddb.send(
        new UpdateItemCommand({
          TableName: 'state',
          Key: { pk: S('k'), sk: S('#') },
          UpdateExpression: input.UpdateExpression,
          ...(input.ConditionExpression !== undefined && {
            ConditionExpression: input.ConditionExpression,
          }),
          ...(input.names && { ExpressionAttributeNames: input.names }),
          ...(input.values && { ExpressionAttributeValues: input.values }),
        }),
      );
    const cases: [Parameters<typeof update>[0], RegExp][] = [
      [
        { UpdateExpression: 'SET status = :v', values: { ':v': S('x') } },
        /reserved keyword; reserved keyword: status/,
      ],
      [
        { UpdateExpression: 'SET a = :v', values: { ':v': S('x'), ':unused': S('y') } },
        /unused in expressions: keys: \{:unused\}/,
      ],
      [
        { UpdateExpression: 'SET a = :missing' },
        /attribute value used in expression is not defined/,
      ],
      [
        { UpdateExpression: 'SET #a = :v', values: { ':v': S('x') } },
        /attribute name used in the document path is not defined/,
      ],
      [
        {
          UpdateExpression: 'SET a = :v',
          ConditionExpression: 'a LIKE :v',
          values: { ':v': S('x') },
        },
        /Syntax error/,
      ],
      [
        {
          UpdateExpression: 'SET a = :v',
          ConditionExpression: 'frobnicate(a)',
          values: { ':v': S('x') },
        },
        /invalid function name/i,
      ],
      [
        { UpdateExpression: 'SET a = :v, a = :v', values: { ':v': S('x') } },
        /Two document paths overlap/,
      ],
      [{ UpdateExpression: 'SET pk = :v', values: { ':v': S('x') } }, /part of the key/],
      [
        { UpdateExpression: 'SET a = :v SET b = :v', values: { ':v': S('x') } },
        /can only be used once/,
      ],
      [{ UpdateExpression: 'MULTIPLY a :v', values: { ':v': S('x') } }, /Syntax error/],
    ];
    for (const [input, message] of cases) {
      await expect(update(input), input.UpdateExpression).rejects.toMatchObject({
        name: 'ValidationException',
        message: expect.stringMatching(message) as unknown,
      });
    }
    expect(sim.table('state').size).toBe(0);
    await expect(
      ddb.send(new GetItemCommand({ TableName: 'nope', Key: { pk: S('k') } })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(
      ddb.send(new GetItemCommand({ TableName: 'state', Key: { pk: S('k') } })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'The provided key element does not match the schema',
    });
  });

  it('returns the old item on a failed condition when asked', async () => {
    const { ddb } = world();
    const Item = { pk: S('a'), sk: S('#'), n: N(1) };
    await ddb.send(new PutItemCommand({ TableName: 'state', Item }));
    await expect(
      ddb.send(
        new PutItemCommand({
          TableName: 'state',
          Item,
          ConditionExpression: 'n > :n',
          ExpressionAttributeValues: { ':n': N(5) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException', Item });
  });

  it('queries a partition by sort key condition, in order, with Limit and pagination', async () => {
    const { ddb } = world();
    for (const sk of ['S#c', 'S#a', 'X#z', 'S#b']) {
      await ddb.send(new PutItemCommand({ TableName: 'state', Item: { pk: S('R#1'), sk: S(sk) } }));
    }
    await ddb.send(
      new PutItemCommand({ TableName: 'state', Item: { pk: S('R#2'), sk: S('S#a') } }),
    );
    const base: QueryCommandInput = {
      TableName: 'state',
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :s)',
      ExpressionAttributeValues: { ':pk': S('R#1'), ':s': S('S#') },
      ConsistentRead: true,
    };
    const all = await ddb.send(new QueryCommand(base));
    expect(all.Items?.map((i) => i.sk?.S)).toEqual(['S#a', 'S#b', 'S#c']);
    expect(all.LastEvaluatedKey).toBeUndefined();

    const seen: string[] = [];
    let start: QueryCommandInput['ExclusiveStartKey'];
    let pages = 0;
    do {
      const page = await ddb.send(
        new QueryCommand({
          ...base,
          Limit: 2,
          ScanIndexForward: false,
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      seen.push(...(page.Items ?? []).map((i) => i.sk?.S ?? ''));
      start = page.LastEvaluatedKey;
      pages += 1;
    } while (start);
    expect(seen).toEqual(['S#c', 'S#b', 'S#a']);
    expect(pages).toBe(2);

    const between = await ddb.send(
      new QueryCommand({
        TableName: 'state',
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :a AND :b',
        FilterExpression: 'attribute_not_exists(gone)',
        ExpressionAttributeValues: { ':pk': S('R#1'), ':a': S('S#b'), ':b': S('X#') },
      }),
    );
    expect(between.Items?.map((i) => i.sk?.S)).toEqual(['S#b', 'S#c']);
    await expect(
      ddb.send(new QueryCommand({ ...base, FilterExpression: 'sk <> :s' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/non-primary key attributes/) as unknown,
    });
  });

  it('queries a global secondary index with pagination; items without its key are not in it', async () => {
    const { ddb } = world();
    for (let i = 0; i < 7; i += 1) {
      await ddb.send(
        new PutItemCommand({
          TableName: 'state',
          Item: { pk: S(`item-${String(i)}`), sk: S('#'), owner: S('team-a'), rank: N(7 - i) },
        }),
      );
    }
    await ddb.send(
      new PutItemCommand({
        TableName: 'state',
        Item: { pk: S('loose'), sk: S('#'), owner: S('team-a') },
      }),
    );
    const ranks: string[] = [];
    let start: QueryCommandInput['ExclusiveStartKey'];
    let pages = 0;
    do {
      const page = await ddb.send(
        new QueryCommand({
          TableName: 'state',
          IndexName: 'byOwner',
          KeyConditionExpression: '#o = :o AND #r > :min',
          FilterExpression: 'pk <> :skip',
          ExpressionAttributeNames: { '#o': 'owner', '#r': 'rank' },
          ExpressionAttributeValues: { ':o': S('team-a'), ':min': N(1), ':skip': S('item-3') },
          Limit: 3,
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      ranks.push(...(page.Items ?? []).map((i) => i.rank?.N ?? ''));
      if (page.LastEvaluatedKey)
        expect(Object.keys(page.LastEvaluatedKey).sort()).toEqual(['owner', 'pk', 'rank', 'sk']);
      start = page.LastEvaluatedKey;
      pages += 1;
    } while (start);
    expect(ranks).toEqual(['2', '3', '5', '6', '7']);
    // Six items in the range, three a page: the second page reaches the limit, so DynamoDB still
    // returns a LastEvaluatedKey and a third, empty page follows.
    expect(pages).toBe(3);
    await expect(
      ddb.send(
        new QueryCommand({
          TableName: 'state',
          IndexName: 'byOwner',
          KeyConditionExpression: '#o = :o',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':o': S('team-a') },
          ConsistentRead: true,
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('batches, scans, projects and expires items', async () => {
    const { sim, ddb } = world();
    await ddb.send(
      new BatchWriteItemCommand({
        RequestItems: {
          state: [
            {
              PutRequest: {
                Item: { pk: S('a'), sk: S('#'), expiresAt: N(1), doc: { M: { x: N(1), y: N(2) } } },
              },
            },
            { PutRequest: { Item: { pk: S('b'), sk: S('#'), expiresAt: N(9_999_999_999) } } },
          ],
        },
      }),
    );
    const got = await ddb.send(
      new BatchGetItemCommand({
        RequestItems: {
          state: {
            Keys: [
              { pk: S('a'), sk: S('#') },
              { pk: S('zz'), sk: S('#') },
            ],
            ProjectionExpression: 'pk, doc.y',
          },
        },
      }),
    );
    expect(got.Responses?.state).toEqual([{ pk: S('a'), doc: { M: { y: N(2) } } }]);
    const scan = await ddb.send(new ScanCommand({ TableName: 'state', Select: 'COUNT' }));
    expect(scan.Count).toBe(2);
    expect(sim.table('state').expire()).toBe(1);
    expect(
      sim
        .table('state')
        .items()
        .map((i) => i.pk?.S),
    ).toEqual(['b']);
  });
});
