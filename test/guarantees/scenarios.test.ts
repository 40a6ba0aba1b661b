/**
 * Scenarios with exact deployment counts, through the Lambda entry point (SQS batches from the
 * change queue, and direct invocations as the CLI's redrive makes them).
 *
 * The account (mock-world.ts) records every UpdateService and gives the service a new PRIMARY
 * deployment at the world's clock, so a later invocation sees what an earlier one did, as it
 * would in ECS. "A new execution environment" is a fresh import of the handler: nothing carried
 * over in memory, only what ECS says.
 */
import { ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChangeReport, Report } from '../../functions/redeploy/process.js';
import { awsError } from '../helpers/aws-errors.js';
import { type JsonObject, detailOf, relocatedFixture } from '../helpers/fixtures.js';
import { MockWorld, partialSecretArn, secretArn, serviceArn } from './mock-world.js';
import {
  ACCOUNT,
  type CapturedOutput,
  type LoadedHandler,
  REGION,
  captureOutput,
  lambdaContext,
  loadHandler,
  outcomeEntries,
  sqsBatch,
} from './support.js';

const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);

const HERE = { region: REGION, account: ACCOUNT };
const DB = 'prod/orders/db';
const DB_ARN = secretArn(DB, 'Xy12Ab');
const API_URL = '/prod/orders/api-url';
const PARTNER_TOKEN = '/prod/orders/partner-token';
const PENDING_VERSION = '7d6c5b4a-3f2e-4d1c-9b0a-8f7e6d5c4b3a';

/** When the rotation's finishSecret step moved AWSCURRENT. */
const T = Date.parse('2025-03-14T11:00:05Z');
const at = (offsetMs: number): string =>
  new Date(T + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

let world: MockWorld;
let output: CapturedOutput;

/** The services that read prod/orders/db's AWSCURRENT or AWSPREVIOUS: one deployment each. */
const DB_USERS = [
  serviceArn('batch', 'api'),
  serviceArn('prod', 'api'),
  serviceArn('prod', 'previous'),
  serviceArn('prod', 'reader'),
  serviceArn('prod', 'worker'),
].sort();

function seed(): MockWorld {
  const w = new MockWorld();
  w.addSecret(DB, 'Xy12Ab', {
    'v-old': ['AWSPREVIOUS'],
    'c3a1f5e2-7b9d-4e6f-8a0b-1c2d3e4f5a6b': ['AWSCURRENT'],
    [PENDING_VERSION]: ['AWSPENDING'],
  });
  w.addService('prod', 'api', { secrets: { DB_PASSWORD: `${DB_ARN}:password::` } });
  w.addService('prod', 'worker', { secrets: { DB: partialSecretArn(DB) } });
  w.addService('prod', 'reader', { secrets: { DB: `/aws/reference/secretsmanager/${DB}` } });
  w.addService('prod', 'previous', { secrets: { OLD_DB: `${DB_ARN}::AWSPREVIOUS:` } });
  w.addService('prod', 'pinned', { secrets: { DB: `${DB_ARN}:password::v-old` } });
  w.addService('prod', 'other', { secrets: { KEY: secretArn('prod/other', 'AbCdEf') } });
  w.addService('prod', 'flags', { secrets: { API_URL } });
  w.addService('prod', 'token', {
    secrets: { TOKEN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${PARTNER_TOKEN}` },
  });
  w.addService('batch', 'api', { secrets: { DB: DB_ARN } });
  return w;
}

// ---------------------------------------------------------------------------------------------
// The events of one rotation (samples moved to the home Region and account)
// ---------------------------------------------------------------------------------------------

/** Native `Secret Label Updated` (AWSCURRENT), from the Secrets Manager user guide. */
function labelUpdated(time = at(0)): JsonObject {
  const event = relocatedFixture(
    'secretsmanager/eventbridge-SecretLabelUpdated-native.awsdocs.json',
    { region: 'us-west-2', account: '012345678901' },
    HERE,
  );
  event.time = time;
  event.resources = [DB_ARN];
  const detail = detailOf(event);
  detail.name = DB;
  detail.versionId = 'c3a1f5e2-7b9d-4e6f-8a0b-1c2d3e4f5a6b';
  return event;
}

/** finishSecret's `UpdateSecretVersionStage` (AWSCURRENT), CloudTrail. */
function versionStageMoved(time = at(0)): JsonObject {
  const event = relocatedFixture(
    'secretsmanager/cloudtrail-UpdateSecretVersionStage.from-api-reference.json',
    { region: 'eu-central-1', account: '111122223333' },
    HERE,
  );
  event.time = time;
  return event;
}

/** `RotationSucceeded`, the CloudTrail service event (AWS Database blog sample). */
function rotationSucceeded(time = at(SECOND)): JsonObject {
  const event = relocatedFixture(
    'secretsmanager/eventbridge-RotationSucceeded.aws-database-blog-2022.placeholders-filled.json',
    { region: 'us-west-2', account: ACCOUNT },
    HERE,
  );
  event.time = time;
  const detail = detailOf(event);
  detail.additionalEventData = { SecretId: DB_ARN };
  return event;
}

/** createSecret's `PutSecretValue` into AWSPENDING, CloudTrail. */
function pendingWrite(): JsonObject {
  const event = relocatedFixture(
    'secretsmanager/cloudtrail-PutSecretValue-AWSPENDING.from-api-reference.json',
    { region: 'eu-central-1', account: '111122223333' },
    HERE,
  );
  event.time = at(-3 * SECOND);
  return event;
}

/** The rotation starting: `RotateSecret`, CloudTrail. */
function rotateSecret(): JsonObject {
  const event = relocatedFixture(
    'secretsmanager/cloudtrail-RotateSecret.from-api-reference.json',
    { region: 'eu-central-1', account: '111122223333' },
    HERE,
  );
  event.time = at(-5 * SECOND);
  return event;
}

/** Parameter Store `Delete` of /prod/orders/api-url (the documented sample, renamed). */
function parameterDeleted(): JsonObject {
  const event = relocatedFixture(
    'ssm/parameter-store-change-delete.awsdocs.json',
    { region: 'us-east-2', account: ACCOUNT },
    HERE,
  );
  event.time = at(0);
  event.resources = [`arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${API_URL}`];
  detailOf(event).name = API_URL;
  return event;
}

/** Parameter Store `Expiration` policy action on /prod/orders/partner-token. */
function parameterExpired(): JsonObject {
  const event = relocatedFixture(
    'ssm/parameter-store-policy-action-expiration.from-api-reference.json',
    { region: 'eu-central-1', account: '111122223333' },
    HERE,
  );
  event.time = at(0);
  return event;
}

// ---------------------------------------------------------------------------------------------

let env: LoadedHandler;

beforeEach(async () => {
  ecsMock.reset();
  smMock.reset();
  world = seed();
  world.serveEcs(ecsMock);
  world.serveSecretsManager(smMock);
  world.now = new Date(T + 31 * SECOND); // the change queue's 30 s settle window has passed
  output = captureOutput();
  env = await loadHandler();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
});

/** A direct invocation (as redrive or an asynchronous retry makes it). */
async function invoke(event: unknown, handler = env.handler): Promise<Report> {
  return (await handler(event, lambdaContext())) as Report;
}

/** One SQS batch from the change queue. */
async function deliver(events: readonly unknown[], handler = env.handler) {
  return (await handler(
    sqsBatch(events.map((e) => JSON.stringify(e))),
    lambdaContext(),
  )) as SQSBatchResponse;
}

/** A new execution environment (cold start): nothing in memory, only what ECS records. */
async function coldStart(): Promise<LoadedHandler['handler']> {
  return (await loadHandler()).handler;
}

function handled(report: Report): ChangeReport {
  if (report.outcome !== 'handled') throw new Error(`ignored: ${report.reason}`);
  return report;
}

/** UpdateService calls made since `from`, by service (each must appear at most once). */
function deploymentsSince(from: number): string[] {
  return world.updateAttempts.slice(from).sort();
}

describe('one rotation: Secret Label Updated, UpdateSecretVersionStage and RotationSucceeded', () => {
  const rotation = (): JsonObject[] => [labelUpdated(), versionStageMoved(), rotationSucceeded()];

  it('in one batch from the change queue: one deployment per referencing service', async () => {
    const response = await deliver(rotation());

    expect(response.batchItemFailures).toEqual([]);
    expect(world.updateAttempts.sort()).toEqual(DB_USERS);
  });

  it.each([[[0, 1, 2]], [[0, 2, 1]], [[1, 0, 2]], [[1, 2, 0]], [[2, 0, 1]], [[2, 1, 0]]])(
    'as three invocations in order %j, one environment: one deployment each',
    async (order) => {
      const events = rotation();
      for (const index of order) await invoke(events[index]);

      expect(world.updateAttempts.sort()).toEqual(DB_USERS);
    },
  );

  it('as three invocations, each in a new execution environment, a second apart: one deployment each', async () => {
    for (const [i, event] of rotation().entries()) {
      world.now = new Date(T + (31 + i) * SECOND);
      await invoke(event, await coldStart());
    }

    expect(world.updateAttempts.sort()).toEqual(DB_USERS);
  });

  // Documented limit (README, Brakes): the change queue's event source mapping runs up to
  // maxConcurrentInvocations (at least 2) invocations at once, with no shared state. When two
  // events of ONE rotation (only with the optional CloudTrail rule: the native rule sends one
  // event per change) land in two batches handled at the same moment, each reads ECS before the
  // other's UpdateService lands: a service can be deployed twice, never more, and never a third
  // time by later events.
  it('as two batches handled at the same moment by two environments: at most two deployments each', async () => {
    const [first, second] = [await coldStart(), await coldStart()];

    await Promise.all([deliver([labelUpdated()], first), deliver([versionStageMoved()], second)]);

    const perService = new Map<string, number>();
    for (const arn of world.updateAttempts) perService.set(arn, (perService.get(arn) ?? 0) + 1);
    expect([...perService.keys()].sort()).toEqual(DB_USERS);
    expect(Math.max(...perService.values())).toBeLessThanOrEqual(2);

    // The rotation's third event, later, deploys nothing more.
    const third = await coldStart();
    const before = world.updateAttempts.length;
    await deliver([versionStageMoved()], third);
    expect(world.updateAttempts.length).toBe(before);
  });
});

describe('the same event redelivered an hour later', () => {
  it('in the same environment: no deployment', async () => {
    await invoke(labelUpdated());
    expect(world.updateAttempts.sort()).toEqual(DB_USERS);
    world.settle(); // the rollouts completed
    world.now = new Date(T + HOUR);
    const before = world.updateAttempts.length;

    const report = handled(await invoke(labelUpdated()));

    expect(deploymentsSince(before)).toEqual([]);
    expect(report.redeployed).toEqual([]);
    expect(report.skipped.map((s) => [s.service, s.code])).toEqual(
      DB_USERS.map((arn) => [arn, 'already-deployed']),
    );
  });

  it('in a new execution environment (only ECS remembers): no deployment', async () => {
    await deliver([labelUpdated()]);
    world.settle();
    world.now = new Date(T + HOUR);
    const before = world.updateAttempts.length;

    const response = await deliver([labelUpdated()], await coldStart());

    expect(response.batchItemFailures).toEqual([]);
    expect(deploymentsSince(before)).toEqual([]);
  });
});

describe('a retry after a partial failure', () => {
  const failing = [serviceArn('batch', 'api'), serviceArn('prod', 'worker')];

  beforeEach(() => {
    world.failUpdate = (service) =>
      failing.includes(service) ? awsError('ThrottlingException', 'Rate exceeded') : undefined;
  });

  it('direct invocation: it fails; the retry redeploys only the failed services', async () => {
    await expect(invoke(labelUpdated())).rejects.toBeInstanceOf(env.errors.RedeployFailedError);
    expect(world.updatedServices()).toEqual(DB_USERS.filter((s) => !failing.includes(s)));
    const before = world.updateAttempts.length;
    world.failUpdate = () => undefined;
    world.now = new Date(T + 2 * MINUTE);

    const report = handled(await invoke(labelUpdated(), await coldStart()));

    expect(deploymentsSince(before)).toEqual(failing);
    expect(report.redeployed).toEqual(failing);
    expect(world.updatedServices()).toEqual(DB_USERS);
  });

  it('from the change queue: the record is failed; its redelivery redeploys only the failed services', async () => {
    const first = await deliver([labelUpdated()]);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'message-1' }]);
    const before = world.updateAttempts.length;
    world.failUpdate = () => undefined;
    world.now = new Date(T + 2 * MINUTE);

    // SQS redelivers the message after its visibility timeout, maybe to the same environment.
    const second = await deliver([labelUpdated()]);

    expect(second.batchItemFailures).toEqual([]);
    expect(deploymentsSince(before)).toEqual(failing);
    expect(world.updatedServices()).toEqual(DB_USERS);
  });
});

describe('a deleted referenced parameter', () => {
  it.each([
    ['Parameter Store Change (Delete)', parameterDeleted, serviceArn('prod', 'flags')],
    ['Parameter Store Policy Action (Expiration)', parameterExpired, serviceArn('prod', 'token')],
  ])('%s: a warning naming the service, and no deployment', async (_name, event, user) => {
    const report = handled(await invoke(event()));

    expect(world.updateAttempts).toEqual([]);
    expect(report.redeployed).toEqual([]);
    expect(report.stillReferenced.map((s) => s.service)).toEqual([user]);
    const [line] = outcomeEntries(output.entries());
    expect(line).toMatchObject({ level: 'WARN', message: 'change handled' });
  });
});

describe("a rotation's AWSPENDING write", () => {
  it('PutSecretValue into AWSPENDING: ignored, no deployment, no ECS call', async () => {
    const report = await invoke(pendingWrite());

    expect(report).toMatchObject({ outcome: 'ignored', code: 'not-applicable' });
    expect(report.outcome === 'ignored' && report.reason).toContain('AWSPENDING');
    expect(ecsMock.calls()).toEqual([]);
  });

  it('a PutSecretValue record without its labels, whose version is AWSPENDING: ignored', async () => {
    const event = pendingWrite();
    const detail = detailOf(event);
    detail.requestParameters = { secretId: DB, clientRequestToken: PENDING_VERSION };
    detail.responseElements = null;

    const report = await invoke(event);

    expect(smMock).toHaveReceivedCommandWith(DescribeSecretCommand, { SecretId: DB });
    expect(report).toMatchObject({ outcome: 'ignored' });
    expect(world.updateAttempts).toEqual([]);
  });

  it('RotateSecret (the rotation starting): ignored, no deployment', async () => {
    const report = await invoke(rotateSecret());

    expect(report).toMatchObject({ outcome: 'ignored' });
    expect(world.updateAttempts).toEqual([]);
  });
});

describe.each([
  ['not configured as event sources', {}],
  [
    'configured as event sources (cross-Region and cross-account buses)',
    { SOURCE_REGIONS: 'us-west-2', SOURCE_ACCOUNTS: '210987654321' },
  ],
] as const)(
  'a secret or parameter with the same name in another Region or account, %s',
  (_sources, sources) => {
    const elsewhere = [
      ['another Region', { region: 'us-west-2', account: ACCOUNT }],
      ['another account', { region: REGION, account: '210987654321' }],
    ] as const;

    beforeEach(async () => {
      env = await loadHandler(sources);
    });

    /** Nothing deployed, and if the event was handled at all, nothing reported as redeployed. */
    function expectNothing(report: Report): void {
      expect(world.updateAttempts).toEqual([]);
      if (report.outcome === 'handled') expect(report.redeployed).toEqual([]);
    }

    it.each(elsewhere)('Secret Label Updated for %s: no deployment', async (_name, scope) => {
      const event = labelUpdated();
      event.region = scope.region;
      event.account = scope.account;
      event.resources = [secretArn(DB, 'Qw34Er', scope.region, scope.account)];

      expectNothing(await invoke(event));
    });

    it.each(elsewhere)(
      'UpdateSecretVersionStage naming it by name only, from %s: no deployment, not described here',
      async (_name, scope) => {
        const event = versionStageMoved();
        event.region = scope.region;
        event.account = scope.account;
        const detail = detailOf(event);
        detail.awsRegion = scope.region;
        detail.recipientAccountId = scope.account;
        detail.requestParameters = {
          secretId: DB,
          versionStage: 'AWSCURRENT',
          moveToVersionId: 'c3a1f5e2-7b9d-4e6f-8a0b-1c2d3e4f5a6b',
        };
        detail.responseElements = null;

        expectNothing(await invoke(event));
        expect(smMock).not.toHaveReceivedCommand(DescribeSecretCommand);
      },
    );

    it.each(elsewhere)('Parameter Store Update of %s: no deployment', async (_name, scope) => {
      const event = relocatedFixture(
        'ssm/parameter-store-change-update.awsdocs.json',
        { region: 'us-east-2', account: ACCOUNT },
        scope,
      );
      event.resources = [`arn:aws:ssm:${scope.region}:${scope.account}:parameter${API_URL}`];
      detailOf(event).name = API_URL;

      expectNothing(await invoke(event));
    });

    it('the same event for the home Region and account does redeploy (the control)', async () => {
      const report = handled(await invoke(labelUpdated()));

      expect(report.redeployed).toEqual(DB_USERS);
    });
  },
);
