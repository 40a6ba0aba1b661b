/**
 * The flap guard: a service force-deployed FLAP_MAX_DEPLOYMENTS times within FLAP_PERIOD_SECONDS
 * is not force-deployed again until the period has passed. Its counts live in DynamoDB, served
 * here by an in-memory table that evaluates the condition and update expressions the guard uses
 * (test/helpers/dynamodb.ts, itself tested first).
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoFlapGuard } from '../../../functions/redeploy/flap-guard.js';
import type { ChangeReport, Report } from '../../../functions/redeploy/process.js';
import { awsError } from '../../helpers/aws-errors.js';
import { parameterChanged } from '../../helpers/change-events.js';
import {
  FakeTable,
  applyUpdate,
  evaluateCondition,
  serveDynamoDb,
} from '../../helpers/dynamodb.js';
import {
  ACCOUNT,
  type EcsWorld,
  REGION,
  serveEcs,
  service,
  serviceArn,
  taskDefinition,
  taskDefinitionArn,
} from '../../helpers/ecs.js';
import {
  captureOutput,
  emfDocuments,
  lambdaContext,
  loadHandler,
  logEntries,
} from '../../helpers/lambda.js';

const dynamoMock = mockClient(DynamoDBClient);
const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);
const ssmMock = mockClient(SSMClient);

const T0 = Date.parse('2025-03-14T09:00:00Z');
const SECONDS = 1000;
const MINUTE = 60 * SECONDS;
const TABLE = 'redeployer-flap';

let output: () => string;

beforeEach(() => {
  dynamoMock.reset();
  ecsMock.reset();
  smMock.reset();
  ssmMock.reset();
  output = captureOutput();
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
  expect(ssmMock).not.toHaveReceivedCommand(GetParameterCommand);
  expect(ssmMock).not.toHaveReceivedCommand(GetParametersCommand);
});

describe('the in-memory DynamoDB table (test helper)', () => {
  const item = { serviceArn: { S: 'a' }, windowStart: { N: '100' }, deployments: { N: '2' } };
  const values = { ':cutoff': { N: '50' }, ':max': { N: '3' }, ':low': { N: '100' } };

  it('compares numbers as numbers, and a missing attribute never compares true', () => {
    expect(evaluateCondition('windowStart > :cutoff', item, values)).toBe(true);
    expect(evaluateCondition('windowStart <= :cutoff', item, values)).toBe(false);
    expect(evaluateCondition('windowStart >= :low', item, values)).toBe(true);
    expect(evaluateCondition('deployments < :max', { deployments: { N: '10' } }, values)).toBe(
      false,
    ); // 10 < 3 is false numerically, though '10' < '3' as strings
    expect(evaluateCondition('windowStart > :cutoff', undefined, values)).toBe(false);
    expect(evaluateCondition('windowStart <= :cutoff', undefined, values)).toBe(false);
    expect(evaluateCondition('missing <> :cutoff', item, values)).toBe(false);
  });

  it('evaluates attribute_not_exists, AND before OR, and NOT', () => {
    expect(evaluateCondition('attribute_not_exists(serviceArn)', undefined)).toBe(true);
    expect(evaluateCondition('attribute_not_exists(serviceArn)', item)).toBe(false);
    expect(
      evaluateCondition('attribute_not_exists(serviceArn) OR windowStart <= :cutoff', item, values),
    ).toBe(false);
    expect(
      evaluateCondition('attribute_not_exists(serviceArn) OR windowStart <= :low', item, values),
    ).toBe(true);
    // a OR b AND c is a OR (b AND c)
    expect(
      evaluateCondition(
        'windowStart > :cutoff OR deployments > :max AND windowStart < :cutoff',
        item,
        values,
      ),
    ).toBe(true);
    expect(evaluateCondition('NOT windowStart > :cutoff', item, values)).toBe(false);
    expect(
      evaluateCondition('(windowStart > :cutoff) AND #d < :max', item, values, {
        '#d': 'deployments',
      }),
    ).toBe(true);
  });

  it('adds to numbers, creating them when missing', () => {
    expect(applyUpdate('ADD deployments :one', item, { ':one': { N: '1' } })).toMatchObject({
      deployments: { N: '3' },
    });
    expect(
      applyUpdate('ADD deployments :one', { serviceArn: { S: 'b' } }, { ':one': { N: '1' } }),
    ).toEqual({
      serviceArn: { S: 'b' },
      deployments: { N: '1' },
    });
  });

  it('refuses expressions it does not understand rather than guessing', () => {
    expect(() =>
      evaluateCondition('begins_with(serviceArn, :p)', item, { ':p': { S: 'a' } }),
    ).toThrow(/fake DynamoDB/);
    expect(() => evaluateCondition('windowStart > :undefined', item, {})).toThrow(/fake DynamoDB/);
    expect(() => applyUpdate('REMOVE deployments', item)).toThrow(/fake DynamoDB/);
  });

  it('fails a conditional write with ConditionalCheckFailedException and keeps the item', async () => {
    const table = new FakeTable(TABLE, 'serviceArn');
    serveDynamoDb(dynamoMock, table);
    const client = new DynamoDBClient({});
    await client.send(new PutItemCommand({ TableName: TABLE, Item: item }));

    await expect(
      client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { serviceArn: { S: 'a' } },
          UpdateExpression: 'ADD deployments :one',
          ConditionExpression: 'deployments < :max',
          ExpressionAttributeValues: { ':one': { N: '1' }, ':max': { N: '2' } },
        }),
      ),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    expect(table.get('a')).toEqual(item);
  });
});

describe('DynamoFlapGuard', () => {
  const SVC = serviceArn('prod', 'web');
  let table: FakeTable;
  let guard: DynamoFlapGuard;

  beforeEach(() => {
    table = new FakeTable(TABLE, 'serviceArn');
    serveDynamoDb(dynamoMock, table);
    guard = new DynamoFlapGuard(new DynamoDBClient({}), TABLE, 3, 600);
  });

  const at = (seconds: number): Date => new Date(T0 + seconds * SECONDS);

  it('admits maxDeployments deployments in a period, refuses more, and admits again once it has passed', async () => {
    const verdicts = [];
    for (const s of [0, 60, 120, 180, 540, 599]) verdicts.push(await guard.admit(SVC, at(s)));
    expect(verdicts).toEqual([
      'admitted',
      'admitted',
      'admitted',
      'flapping',
      'flapping',
      'flapping',
    ]);

    expect(await guard.admit(SVC, at(600))).toBe('admitted'); // a new window opens
    expect(table.get(SVC)).toEqual({
      serviceArn: { S: SVC },
      windowStart: { N: String((T0 + 600 * SECONDS) / 1000) },
      deployments: { N: '1' },
      expiresAt: { N: String((T0 + 1200 * SECONDS) / 1000) },
    });
  });

  it('counts each service on its own', async () => {
    const other = serviceArn('prod', 'api');
    for (let i = 0; i < 3; i += 1) await guard.admit(SVC, at(i));

    expect(await guard.admit(SVC, at(10))).toBe('flapping');
    expect(await guard.admit(other, at(10))).toBe('admitted');
  });

  it('admits no more than maxDeployments when many invocations ask at once', async () => {
    const verdicts = await Promise.all(Array.from({ length: 10 }, () => guard.admit(SVC, at(5))));

    expect(verdicts.filter((v) => v === 'admitted')).toHaveLength(3);
    expect(table.get(SVC)?.deployments).toEqual({ N: '3' });
  });

  it('lets errors other than a failed condition propagate', async () => {
    dynamoMock.on(UpdateItemCommand).rejects(awsError('AccessDeniedException', 'denied'));

    await expect(guard.admit(SVC, at(0))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});

describe('the flap guard in the function', () => {
  const WEB = serviceArn('prod', 'web');
  const webTd = taskDefinitionArn('web', 12);
  const FLAP = { FLAP_TABLE_NAME: TABLE, FLAP_MAX_DEPLOYMENTS: '3', FLAP_PERIOD_SECONDS: '600' };

  function world(): EcsWorld {
    return {
      clusters: {
        prod: [
          service({
            cluster: 'prod',
            name: 'web',
            taskDefinition: webTd,
            deployedAt: new Date('2025-03-01T00:00:00Z'),
          }),
        ],
      },
      taskDefinitions: [
        taskDefinition(webTd, {
          FLAGS: '/app/feature-flags',
          TOKEN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/app/token`,
        }),
      ],
    };
  }

  const everyMinute = (minute: number) =>
    parameterChanged({
      id: `00000000-0000-4000-8000-${String(minute).padStart(12, '0')}`,
      name: '/app/feature-flags',
      at: T0 + minute * MINUTE,
    });

  const handled = (report: unknown): ChangeReport => {
    const r = report as Report;
    if (r.outcome !== 'handled') throw new Error(`event ignored: ${r.reason}`);
    return r;
  };

  beforeEach(() => {
    vi.useFakeTimers({ now: T0, toFake: ['Date'] });
  });

  it('a parameter updated every minute trips the flap guard', async () => {
    const table = new FakeTable(TABLE, 'serviceArn');
    serveDynamoDb(dynamoMock, table);
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    const { handler } = await loadHandler(FLAP);
    const context = lambdaContext();

    const outcomes: string[] = [];
    for (let minute = 0; minute <= 11; minute += 1) {
      vi.setSystemTime(T0 + minute * MINUTE); // handled as it happens (no settle window)
      const before = output().length;
      const report = handled(await handler(everyMinute(minute), context));
      const emitted = output().slice(before);
      if (report.redeployed.includes(WEB)) {
        outcomes.push('redeployed');
      } else if (report.flapGuarded.some((entry) => entry.service === WEB)) {
        outcomes.push('flap-guarded');
        expect(report.flapGuarded[0]?.reason).toMatch(/3 times within 600 s/);
        expect(emfDocuments(emitted).find((d) => 'ServicesFlapGuarded' in d)).toMatchObject({
          ServicesFlapGuarded: 1,
          ServicesRedeployed: 0,
        });
        expect(
          logEntries(emitted).find((entry) => entry.message === 'change handled'),
        ).toMatchObject({ level: 'WARN' });
      } else {
        outcomes.push('other');
      }
    }

    // Three deployments in the first ten minutes, then left alone until the period has passed.
    expect(outcomes).toEqual([
      ...Array<string>(3).fill('redeployed'),
      ...Array<string>(7).fill('flap-guarded'),
      'redeployed',
      'redeployed',
    ]);
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 5);
    expect(table.get(WEB)?.deployments).toEqual({ N: '2' });
  });

  it('fails open with a warning when its table cannot be used (AccessDenied)', async () => {
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    dynamoMock
      .on(UpdateItemCommand)
      .rejects(awsError('AccessDeniedException', 'not authorized to perform: dynamodb:UpdateItem'));
    dynamoMock
      .on(PutItemCommand)
      .rejects(awsError('AccessDeniedException', 'not authorized to perform: dynamodb:PutItem'));
    const { handler } = await loadHandler(FLAP);

    const report = handled(await handler(everyMinute(0)));

    expect(report.redeployed).toEqual([WEB]);
    expect(report.flapGuarded).toEqual([]);
    expect(report.warnings).toEqual([
      expect.stringMatching(/^flap guard unavailable for .*web: AccessDeniedException/) as string,
    ]);
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
    const logged = logEntries(output()).find((entry) => entry.message === 'change handled');
    expect(JSON.stringify(logged)).toContain('flap guard unavailable');
  });

  it('is off without FLAP_TABLE_NAME: every change redeploys', async () => {
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    const { handler } = await loadHandler();

    for (let minute = 0; minute < 6; minute += 1) {
      vi.setSystemTime(T0 + minute * MINUTE);
      await handler(everyMinute(minute));
    }

    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 6);
    expect(dynamoMock).not.toHaveReceivedAnyCommand();
  });

  it('is not consulted in dry run (nothing is deployed, nothing counted)', async () => {
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    serveDynamoDb(dynamoMock, new FakeTable(TABLE, 'serviceArn'));
    const { handler } = await loadHandler({ ...FLAP, DRY_RUN: 'true' });

    const report = handled(await handler(everyMinute(0)));

    expect(report.redeployed).toEqual([WEB]);
    expect(dynamoMock).not.toHaveReceivedAnyCommand();
  });

  // Regression (was a bug, fixed): the flap guard counts a force-deployment before UpdateService is called and never gives
  // it back when the call fails. Input: FLAP_MAX_DEPLOYMENTS=3, FLAP_PERIOD_SECONDS=600; one
  // parameter change whose UpdateService fails with AccessDeniedException (any failure that did not deploy) on its first three
  // deliveries (the change queue's maxReceiveCount is 3) and succeeds on the fourth attempt
  // (e.g. a redrive from the dead-letter queue a minute later). Expected: the fourth attempt
  // redeploys the service, which has not been force-deployed at all in the period. Actual: it is
  // reported flap-guarded ('force-deployed 3 times within 600 s'), and stays so for 10 minutes
  // (default 1 hour), although no deployment ever happened.
  it('does not count failed UpdateService calls as deployments', async () => {
    serveDynamoDb(dynamoMock, new FakeTable(TABLE, 'serviceArn'));
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    ecsMock
      .on(UpdateServiceCommand)
      .rejectsOnce(awsError('AccessDeniedException', 'not authorized'))
      .rejectsOnce(awsError('AccessDeniedException', 'not authorized'))
      .rejectsOnce(awsError('AccessDeniedException', 'not authorized'));
    const { handler } = await loadHandler(FLAP);
    const event = everyMinute(0);

    for (let attempt = 0; attempt < 3; attempt += 1) {
      vi.setSystemTime(T0 + 30 * SECONDS + attempt * 10 * SECONDS);
      await expect(handler(event)).rejects.toThrow('AccessDeniedException');
    }
    vi.setSystemTime(T0 + 2 * MINUTE);
    const report = handled(await handler(event));

    expect(report.flapGuarded).toEqual([]);
    expect(report.redeployed).toEqual([WEB]);
  });
});
