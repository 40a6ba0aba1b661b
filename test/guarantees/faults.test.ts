/**
 * Guarantees under faults: throttling, 5xx, reset connections, access denied, services and task
 * definitions and secrets vanishing, and the invocation timing out half-way.
 *
 * Every test runs the function's own code with real SDK clients (their retry middleware, standard
 * mode, `AWS_MAX_ATTEMPTS=10` as the construct sets it) against an in-process account
 * (faulty-aws.ts). Tests of the domain code build the dependencies exactly as the handler does
 * (`buildDependencies`: pacing, caches) and run on a fake clock with the SDK's backoff jitter at
 * its maximum, so "within the function's timeout" is measured against the worst case. Tests of
 * the Lambda entry point reach the same account over HTTP through `AWS_ENDPOINT_URL`.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RedeployerConfig, loadConfig } from '../../functions/redeploy/config.js';
import { buildDependencies, newWarmState } from '../../functions/redeploy/environment.js';
import {
  type ChangeReport,
  type Dependencies,
  type Report,
  processEvent,
} from '../../functions/redeploy/process.js';
import { runSweep } from '../../functions/redeploy/sweep.js';
import { type JsonObject, detailOf, relocatedFixture } from '../helpers/fixtures.js';
import {
  type Fault,
  FaultyAws,
  type Operation,
  type Reply,
  THROTTLED,
  failEachRequest,
} from './faulty-aws.js';
import {
  ACCOUNT,
  HOME,
  REGION,
  captureOutput,
  lambdaContext,
  loadHandler,
  sqsBatch,
} from './support.js';

/** The construct's default function timeout (README, Configuration). */
const FUNCTION_TIMEOUT_MS = 5 * 60 * 1000;
/** What the construct sets (infra/secret-redeployer.ts): the SDK's standard retry mode reads it. */
const AWS_MAX_ATTEMPTS = '10';
/** Receives of a change before it is dead-lettered (the change queue's maxReceiveCount). */
const CHANGE_QUEUE_RECEIVES = 3;

const DB = 'prod/orders/db';
const DB_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${DB}-Xy12Ab`;
const DB_PARTIAL = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${DB}`;
const OTHER_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prod/other-AbCdEf`;
const FLAGS = '/prod/flags';

const ECS_OPERATIONS: readonly Operation[] = [
  'ecs.ListClusters',
  'ecs.ListServices',
  'ecs.DescribeServices',
  'ecs.DescribeTaskDefinition',
  'ecs.UpdateService',
];

const service = (cluster: string, name: string): string =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster}/${name}`;

/** The services that reference prod/orders/db at AWSCURRENT: the expected redeploys. */
const DB_USERS = [
  service('batch', 'api'),
  service('prod', 'api'),
  service('prod', 'reader'),
  service('prod', 'worker'),
].sort();

/** Seconds precision, as EventBridge stamps events. */
const eventTime = (at: number): string => new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Two clusters. prod: api (full ARN, JSON key), worker (partial ARN), reader (through
 * /aws/reference/secretsmanager), other (another secret), flags (a parameter); batch: api (full
 * ARN), pinned (pinned to a version: never affected). Every deployment is a day old.
 */
function account(now: number): FaultyAws {
  const aws = new FaultyAws();
  const deployedAt = new Date(now - 24 * 3600_000);
  aws.sim.addCluster('prod');
  aws.sim.addCluster('batch');
  aws.sim.createSecret(DB, 'Xy12Ab', { 'v-old': ['AWSPREVIOUS'], 'v-new': ['AWSCURRENT'] });
  const add = (cluster: string, name: string, valueFrom: string): void => {
    const taskDefinition = aws.sim.registerTaskDefinition({
      family: `${cluster}-${name}`,
      containerDefinitions: [{ name: 'app', secrets: [{ name: 'VALUE', valueFrom }] }],
    });
    aws.sim.createService({ cluster, name, taskDefinition, deployedAt });
  };
  add('prod', 'api', `${DB_ARN}:password::`);
  add('prod', 'worker', DB_PARTIAL);
  add('prod', 'reader', `/aws/reference/secretsmanager/${DB}`);
  add('prod', 'other', OTHER_ARN);
  add('prod', 'flags', FLAGS);
  add('batch', 'api', DB_ARN);
  add('batch', 'pinned', `${DB_ARN}:password::v-old`);
  return aws;
}

/**
 * A manual PutSecretValue naming the secret by name only, ten minutes ago (the documented
 * CloudTrail sample moved to the home Region): resolving it takes DescribeSecret, so every API
 * the function calls for a change is on the path.
 */
function putSecretValue(now: number, secretId = DB): JsonObject {
  const event = relocatedFixture(
    'secretsmanager/eventbridge-PutSecretValue.external-secrets-reloader-2024.json',
    { region: 'eu-west-1', account: ACCOUNT },
    { region: REGION, account: ACCOUNT },
  );
  event.time = eventTime(now - 10 * 60_000);
  const detail = detailOf(event);
  detail.eventSource = 'secretsmanager.amazonaws.com';
  detail.requestParameters = { secretId, clientRequestToken: 'v-new' };
  detail.responseElements = null;
  return event;
}

/** The documented native Secret Label Updated sample, for prod/orders/db, ten minutes ago. */
function labelUpdated(now: number): JsonObject {
  const event = relocatedFixture(
    'secretsmanager/eventbridge-SecretLabelUpdated-native.awsdocs.json',
    { region: 'us-west-2', account: '012345678901' },
    { region: REGION, account: ACCOUNT },
  );
  event.time = eventTime(now - 10 * 60_000);
  event.resources = [DB_ARN];
  detailOf(event).name = DB;
  return event;
}

/** The documented DeleteSecret record (wrapped by EventBridge), for prod/orders/db. */
function deleteSecret(now: number): JsonObject {
  const event = relocatedFixture(
    'secretsmanager/cloudtrail-record-DeleteSecret.awsdocs-2022.wrapped-in-eventbridge.json',
    { region: 'us-east-2', account: ACCOUNT },
    { region: REGION, account: ACCOUNT },
  );
  event.time = eventTime(now - 10 * 60_000);
  const detail = detailOf(event);
  detail.requestParameters = { recoveryWindowInDays: 30, secretId: DB };
  detail.responseElements = { name: DB, aRN: DB_ARN, deletionDate: 'May 3, 2018 5:51:02 PM' };
  return event;
}

/** The handler's dependencies (pacing, caches) around real SDK clients of `aws`. */
function dependencies(aws: FaultyAws, config: RedeployerConfig = loadConfig({})): Dependencies {
  const { ecs, secretsManager } = aws.clients();
  return buildDependencies({ ecs, secretsManager }, config, HOME, newWarmState());
}

function handled(report: Report): ChangeReport {
  if (report.outcome !== 'handled') throw new Error(`ignored: ${report.reason}`);
  return report;
}

/**
 * Runs `work` on the fake clock, firing timers (the SDK's backoff sleeps, the pacer's waits) as
 * they come due; returns its result and the virtual time it took.
 */
async function onFakeClock<T>(work: () => Promise<T>): Promise<{ result: T; elapsedMs: number }> {
  const started = Date.now();
  const running = work();
  const state = { settled: false };
  running.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  for (let step = 0; !state.settled && step < 100_000; step += 1) {
    await vi.advanceTimersToNextTimerAsync();
  }
  const result = await running;
  return { result, elapsedMs: Date.now() - started };
}

/**
 * Every request of `operations` got exactly `times` faults, then was answered (a result, or an
 * error of the account such as ResourceNotFoundException) and not sent again.
 */
function expectEachRequestRetried(
  aws: FaultyAws,
  operations: readonly Operation[],
  times: number,
  fault: string,
): void {
  for (const operation of operations) {
    const byRequest = new Map<string, string[]>();
    for (const attempt of aws.attempts.filter((a) => a.operation === operation)) {
      const key = JSON.stringify(attempt.body);
      byRequest.set(key, [...(byRequest.get(key) ?? []), attempt.outcome]);
    }
    expect(byRequest.size, `${operation} requests`).toBeGreaterThan(0);
    for (const [request, outcomes] of byRequest) {
      expect(outcomes, `${operation} ${request}`).toEqual([
        ...Array<string>(times).fill(fault),
        expect.not.stringMatching(`^${fault}$`) as unknown,
      ]);
    }
  }
}

beforeEach(() => {
  vi.stubEnv('AWS_MAX_ATTEMPTS', AWS_MAX_ATTEMPTS);
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** The fake clock, with the SDK's backoff jitter (Math.random) pinned to its worst case. */
function worstCaseClock(): number {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  vi.spyOn(Math, 'random').mockReturnValue(0.999);
  return Date.now();
}

describe('throttling on every API the function calls', () => {
  it('a change: every request throttled 3 times still redeploys exactly the referencing services, within the timeout', async () => {
    const now = worstCaseClock();
    const aws = account(now);
    aws.faults.push(failEachRequest('all', 3, THROTTLED));

    const { result, elapsedMs } = await onFakeClock(() =>
      processEvent(putSecretValue(now), dependencies(aws)),
    );

    const report = handled(result);
    expect(report.failed).toEqual([]);
    expect(report.redeployed).toEqual(DB_USERS);
    expect(aws.updatedServices()).toEqual(DB_USERS);
    expectEachRequestRetried(
      aws,
      [...ECS_OPERATIONS, 'secretsmanager.DescribeSecret'],
      3,
      'ThrottlingException',
    );
    // Six calls in a row (DescribeSecret, ListClusters, ListServices, DescribeServices,
    // DescribeTaskDefinition, UpdateService), each waiting the SDK's longest backoff three times.
    expect(elapsedMs).toBeGreaterThan(6 * 3 * 900);
    expect(elapsedMs).toBeLessThan(FUNCTION_TIMEOUT_MS);
  });

  it('the sweep: every request throttled 3 times (ListSecretVersionIds and DescribeParameters too) still redeploys exactly the stale services, within the timeout', async () => {
    const now = worstCaseClock();
    const aws = account(now);
    const versions = {
      ARN: DB_ARN,
      Name: DB,
      Versions: [
        { VersionId: 'v-old', VersionStages: ['AWSPREVIOUS'], CreatedDate: (now - 2e8) / 1000 },
        { VersionId: 'v-new', VersionStages: ['AWSCURRENT'], CreatedDate: (now - 6e5) / 1000 },
      ],
    };
    // Secrets Manager resolves a complete ARN or a name (a partial ARN is looked up by its name).
    aws.secretVersions.set(DB_ARN, versions);
    aws.secretVersions.set(DB, versions);
    aws.parameters.set(FLAGS, new Date(now - 5 * 60_000));
    aws.faults.push(failEachRequest('all', 3, THROTTLED));
    const { ecs, secretsManager, ssm } = aws.clients();
    const deps = buildDependencies({ ecs, secretsManager }, loadConfig({}), HOME, newWarmState());

    const { result: report, elapsedMs } = await onFakeClock(() =>
      runSweep({ ...deps, ssm }, 'sweep:throttled'),
    );

    expect(report.failed).toEqual([]);
    expect(report.warnings).toEqual([]);
    const stale = [...DB_USERS, service('prod', 'flags')].sort();
    expect(report.redeployed).toEqual(stale);
    expect(aws.updatedServices()).toEqual(stale);
    expectEachRequestRetried(
      aws,
      [...ECS_OPERATIONS, 'secretsmanager.ListSecretVersionIds', 'ssm.DescribeParameters'],
      3,
      'ThrottlingException',
    );
    expect(elapsedMs).toBeLessThan(FUNCTION_TIMEOUT_MS);
  });
});

const TRANSIENT: readonly (readonly [string, Reply, string])[] = [
  [
    '500 InternalFailure',
    { kind: 'error', status: 500, code: 'InternalFailure', message: 'internal error' },
    'InternalFailure',
  ],
  [
    '503 ServiceUnavailable',
    { kind: 'error', status: 503, code: 'ServiceUnavailable', message: 'Service unavailable' },
    'ServiceUnavailable',
  ],
  ['a reset connection (ECONNRESET)', { kind: 'reset' }, 'reset'],
];

describe('5xx and network errors', () => {
  it.each(TRANSIENT)(
    'every request failing twice with %s still redeploys exactly the referencing services, within the timeout',
    async (_name, fault, outcome) => {
      const now = worstCaseClock();
      const aws = account(now);
      aws.faults.push(failEachRequest('all', 2, fault));

      const { result, elapsedMs } = await onFakeClock(() =>
        processEvent(putSecretValue(now), dependencies(aws)),
      );

      const report = handled(result);
      expect(report.failed).toEqual([]);
      expect(report.redeployed).toEqual(DB_USERS);
      expect(aws.updatedServices()).toEqual(DB_USERS);
      expectEachRequestRetried(
        aws,
        [...ECS_OPERATIONS, 'secretsmanager.DescribeSecret'],
        2,
        outcome,
      );
      expect(elapsedMs).toBeLessThan(FUNCTION_TIMEOUT_MS);
    },
  );
});

/**
 * A fleet: `count` services in cluster `fleet`, each referencing prod/orders/db by partial ARN,
 * each with its own task definition. The deployment cap is off (0) so that every referencing
 * service is attempted in one invocation.
 */
function fleet(now: number, count: number): FaultyAws {
  const aws = new FaultyAws();
  aws.sim.addCluster('fleet');
  aws.sim.createSecret(DB, 'Xy12Ab', { 'v-old': ['AWSPREVIOUS'], 'v-new': ['AWSCURRENT'] });
  for (let i = 1; i <= count; i += 1) {
    const taskDefinition = aws.sim.registerTaskDefinition({
      family: `fleet-${i}`,
      containerDefinitions: [{ name: 'app', secrets: [{ name: 'DB', valueFrom: DB_PARTIAL }] }],
    });
    aws.sim.createService({
      cluster: 'fleet',
      name: `svc-${i}`,
      taskDefinition,
      deployedAt: new Date(now - 24 * 3600_000),
    });
  }
  return aws;
}

const NO_CAP = loadConfig({ MAX_DEPLOYMENTS_IN_PROGRESS: '0' });

describe('faults at fleet scale', () => {
  it('40 referencing services, every request throttled once: all redeployed, within the timeout', async () => {
    const now = worstCaseClock();
    const aws = fleet(now, 40);
    aws.faults.push(failEachRequest('all', 1, THROTTLED));

    const { result, elapsedMs } = await onFakeClock(() =>
      processEvent(putSecretValue(now), dependencies(aws, NO_CAP)),
    );

    expect(handled(result).failed).toEqual([]);
    expect(aws.updatedServices()).toHaveLength(40);
    expect(elapsedMs).toBeLessThan(FUNCTION_TIMEOUT_MS);
  });

  // Regression (was a bug, fixed): the SDK's retry quota, not AWS_MAX_ATTEMPTS, decides how much throttling a run rides
  // out. The standard retry strategy of the one module-scope ECS client holds 500 tokens, a
  // throttled retry costs 5 and a success gives back only what its last retry cost, so a fleet
  // whose every request is throttled a few times drains it, and the SDK then gives up after fewer
  // than the 10 attempts the construct configures.
  // Input: 40 services referencing prod/orders/db, every request throttled 3 times (a 4th
  // attempt would succeed). Expected: 40 redeployed, no failure. Actual: 10 redeployed, 30
  // failed: 20 "task definition … could not be read: ThrottlingException: Rate exceeded" and 10
  // UpdateService "ThrottlingException: Rate exceeded", each after fewer than 10 attempts.
  it('40 referencing services, every request throttled 3 times: all redeployed', async () => {
    const now = worstCaseClock();
    const aws = fleet(now, 40);
    aws.faults.push(failEachRequest('all', 3, THROTTLED));

    const { result } = await onFakeClock(() =>
      processEvent(putSecretValue(now), dependencies(aws, NO_CAP)),
    );

    expect(handled(result).failed).toEqual([]);
    expect(aws.updatedServices()).toHaveLength(40);
  });

  // Regression (was a bug, fixed): the same quota for 5xx: a transient retry costs 14 of the 500 tokens.
  // Input: 20 services referencing prod/orders/db, every request answered 503 twice (a third
  // attempt would succeed). Expected: 20 redeployed. Actual: 0 redeployed, 20 failed: 9 task
  // definitions "could not be read: ServiceUnavailable" and 11 UpdateService "ServiceUnavailable".
  it('20 referencing services, every request failing twice with 503: all redeployed', async () => {
    const now = worstCaseClock();
    const aws = fleet(now, 20);
    aws.faults.push(
      failEachRequest('all', 2, { kind: 'error', status: 503, code: 'ServiceUnavailable' }),
    );

    const { result } = await onFakeClock(() =>
      processEvent(putSecretValue(now), dependencies(aws, NO_CAP)),
    );

    expect(handled(result).failed).toEqual([]);
    expect(aws.updatedServices()).toHaveLength(20);
  });

  it('nothing is lost or repeated meanwhile: each retry of the event redeploys only services not yet redeployed', async () => {
    const now = worstCaseClock();
    const aws = fleet(now, 40);
    aws.faults.push(failEachRequest('all', 3, THROTTLED));
    const event = putSecretValue(now);

    const perInvocation: number[] = [];
    for (let invocation = 1; invocation <= 10; invocation += 1) {
      const before = aws.updatedServices().length;
      // Each retry runs in a new execution environment (new clients, full retry quota).
      const { result } = await onFakeClock(() => processEvent(event, dependencies(aws, NO_CAP)));
      perInvocation.push(aws.updatedServices().length - before);
      if (handled(result).failed.length === 0) break;
    }

    const updated = aws.updatedServices();
    expect(new Set(updated).size).toBe(updated.length); // no service deployed twice
    expect(updated).toHaveLength(40);
    expect(perInvocation.every((n) => n > 0)).toBe(true); // every retry made progress
    // Within the receives the change queue allows before dead-lettering (nothing-lost.test.ts).
    expect(perInvocation.length).toBeLessThanOrEqual(CHANGE_QUEUE_RECEIVES);
  });
});

describe('access denied on one cluster', () => {
  const denied =
    (operation: Operation): Fault =>
    (call) =>
      call.operation === operation &&
      (String(call.body.cluster).endsWith('/batch') || call.body.cluster === 'batch')
        ? {
            kind: 'error',
            status: 400,
            code: 'AccessDeniedException',
            message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/redeployer is not authorized to perform: ${operation.replace('ecs.', 'ecs:')}`,
          }
        : undefined;

  it.each([
    ['ecs.ListServices', `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/batch`],
    ['ecs.DescribeServices', `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/batch (2 services)`],
    ['ecs.UpdateService', service('batch', 'api')],
  ])(
    'denied %s: the other cluster is handled, and the failure names %s',
    async (operation, target) => {
      const now = Date.now();
      const aws = account(now);
      aws.faults.push(denied(operation));

      const report = handled(await processEvent(putSecretValue(now), dependencies(aws)));

      const prod = DB_USERS.filter((arn) => arn.includes('/prod/'));
      expect(report.redeployed).toEqual(prod);
      expect(aws.updatedServices()).toEqual(prod);
      expect(report.failed).toEqual([
        { target, error: expect.stringContaining('AccessDeniedException') as unknown },
      ]);
      // A client error is not retried by the SDK: the event's own retry handles it.
      expect(aws.count(operation, 'AccessDeniedException')).toBe(1);
    },
  );
});

describe('a service deleted between listing and updating', () => {
  it('ServiceNotFoundException and ServiceNotActiveException: skipped as service-gone, not failures', async () => {
    const now = Date.now();
    const aws = account(now);
    aws.faults.push((call) =>
      call.operation === 'ecs.UpdateService' && call.body.service === service('prod', 'worker')
        ? {
            kind: 'error',
            status: 400,
            code: 'ServiceNotFoundException',
            message: 'Service not found.',
          }
        : call.operation === 'ecs.UpdateService' && call.body.service === service('batch', 'api')
          ? {
              kind: 'error',
              status: 400,
              code: 'ServiceNotActiveException',
              message: 'Service was not ACTIVE.',
            }
          : undefined,
    );

    const report = handled(await processEvent(putSecretValue(now), dependencies(aws)));

    expect(report.failed).toEqual([]);
    expect(report.redeployed).toEqual([service('prod', 'api'), service('prod', 'reader')]);
    expect(report.skipped).toEqual([
      {
        service: service('batch', 'api'),
        code: 'service-gone',
        reason: 'service disappeared before the update (ServiceNotActiveException)',
      },
      {
        service: service('prod', 'worker'),
        code: 'service-gone',
        reason: 'service disappeared before the update (ServiceNotFoundException)',
      },
    ]);
  });

  it('deleted between ListServices and DescribeServices (reported MISSING): not a failure', async () => {
    const now = Date.now();
    const aws = account(now);
    aws.answerFilters.push((call, payload) => {
      if (call.operation !== 'ecs.DescribeServices') return undefined;
      const services = payload.services as { serviceArn: string }[];
      const gone = services.filter((s) => s.serviceArn === service('prod', 'worker'));
      return {
        services: services.filter((s) => !gone.includes(s)),
        failures: gone.map((s) => ({ arn: s.serviceArn, reason: 'MISSING' })),
      };
    });

    const report = handled(await processEvent(putSecretValue(now), dependencies(aws)));

    expect(report.failed).toEqual([]);
    expect(report.redeployed).toEqual(DB_USERS.filter((arn) => !arn.endsWith('/prod/worker')));
  });

  it('the handler returns normally (no retry, no dead letter)', async () => {
    const now = Date.now();
    const aws = account(now);
    aws.faults.push((call) =>
      call.operation === 'ecs.UpdateService' && call.body.service === service('prod', 'worker')
        ? {
            kind: 'error',
            status: 400,
            code: 'ServiceNotFoundException',
            message: 'Service not found.',
          }
        : undefined,
    );
    const { handler } = await handlerOver(aws);

    const report = handled((await handler(putSecretValue(now), lambdaContext())) as Report);

    expect(report.failed).toEqual([]);
    expect(report.skipped.map((s) => s.code)).toEqual(['service-gone']);
  });
});

describe('a task definition that can no longer be described', () => {
  it('fails the service that uses it, by name, and handles every other service', async () => {
    const now = Date.now();
    const aws = account(now);
    const unreadable = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/prod-worker:1`;
    aws.faults.push((call) =>
      call.operation === 'ecs.DescribeTaskDefinition' && call.body.taskDefinition === unreadable
        ? {
            kind: 'error',
            status: 400,
            code: 'ClientException',
            message: 'Unable to describe task definition.',
          }
        : undefined,
    );

    const report = handled(await processEvent(putSecretValue(now), dependencies(aws)));

    const others = DB_USERS.filter((arn) => !arn.endsWith('/prod/worker'));
    expect(report.redeployed).toEqual(others);
    expect(aws.updatedServices()).toEqual(others);
    expect(report.failed).toEqual([
      {
        target: service('prod', 'worker'),
        error: `task definition ${unreadable} could not be read: ClientException: Unable to describe task definition.`,
      },
    ]);
  });
});

describe('a secret deleted before its event is handled', () => {
  /** The account without the secret: DescribeSecret answers ResourceNotFoundException. */
  function withoutSecret(now: number): FaultyAws {
    const aws = account(now);
    aws.faults.push((call) =>
      call.operation === 'secretsmanager.DescribeSecret'
        ? {
            kind: 'error',
            status: 400,
            code: 'ResourceNotFoundException',
            message: "Secrets Manager can't find the specified secret.",
          }
        : undefined,
    );
    return aws;
  }

  it('an event naming it only by name: handled from the name (every ARN of that name)', async () => {
    const now = Date.now();
    const aws = withoutSecret(now);

    const report = handled(await processEvent(putSecretValue(now), dependencies(aws)));

    expect(aws.count('secretsmanager.DescribeSecret', 'ResourceNotFoundException')).toBe(1);
    expect(report.change).toMatchObject({ name: DB, arnSuffixUnknown: true });
    expect(report.failed).toEqual([]);
    expect(report.redeployed).toEqual(DB_USERS);
  });

  it('an event with its full ARN: handled without describing it', async () => {
    const now = Date.now();
    const aws = withoutSecret(now);

    const report = handled(await processEvent(labelUpdated(now), dependencies(aws)));

    expect(report.change).toMatchObject({ arn: DB_ARN });
    expect(report.redeployed).toEqual(DB_USERS);
  });

  it('its DeleteSecret event: the services still referencing it are reported, none redeployed', async () => {
    const now = Date.now();
    const aws = withoutSecret(now);

    const report = handled(await processEvent(deleteSecret(now), dependencies(aws)));

    expect(aws.count('ecs.UpdateService')).toBe(0);
    expect(report.stillReferenced.map((s) => s.service)).toEqual(
      [...DB_USERS, service('batch', 'pinned')].sort(),
    );
  });
});

describe('the function timing out mid-run', () => {
  /**
   * Invocation 1: UpdateService calls are answered in arrival order; the first `done` succeed,
   * the rest never return, and Lambda ends the invocation (kill: nothing it still does reaches
   * the account). Invocation 2 is the retry, in a new execution environment (Lambda restarts the
   * runtime after a timeout), with the account as the first left it.
   */
  async function timeOutAfter(
    done: number,
    options: { concurrency?: number; lastApplied?: boolean } = {},
  ): Promise<{ first: string[]; retry: string[]; aws: FaultyAws }> {
    const now = Date.now();
    const aws = account(now);
    const config = loadConfig({ REDEPLOY_CONCURRENCY: String(options.concurrency ?? 10) });
    let updates = 0;
    aws.faults.push((call) => {
      if (call.operation !== 'ecs.UpdateService') return undefined;
      updates += 1;
      if (updates <= done) return undefined;
      return { kind: 'hang', applied: options.lastApplied === true && updates === done + 1 };
    });
    const event = putSecretValue(now);

    const dying = processEvent(event, dependencies(aws, config));
    // Every call the invocation could make is out: `done` answered, the others hanging.
    const concurrency = options.concurrency ?? 10;
    await aws.arrived('ecs.UpdateService', Math.min(DB_USERS.length, done + concurrency));
    aws.kill();
    await dying.catch(() => undefined); // what a dead invocation reports is lost with it
    const first = aws.updatedServices();

    aws.revive();
    const report = handled(await processEvent(event, dependencies(aws, config)));
    const all = aws.updatedServices();
    const retry = all.filter((arn, i) => all.indexOf(arn) === i && !first.includes(arn));
    expect(report.failed).toEqual([]);
    expect(report.redeployed).toEqual(retry);
    return { first, retry, aws };
  }

  it.each([0, 1, 3])(
    'after %i of 4 redeploys: the retry redeploys exactly the other services, each once',
    async (done) => {
      const { first, retry, aws } = await timeOutAfter(done);

      expect(first).toHaveLength(done);
      expect(retry).toHaveLength(DB_USERS.length - done);
      expect([...first, ...retry].sort()).toEqual(DB_USERS);
      expect(aws.updatedServices()).toEqual(DB_USERS); // no service deployed twice
    },
  );

  it('one at a time (concurrency 1), cut off after 2: the queued services are redeployed by the retry', async () => {
    const { first, retry, aws } = await timeOutAfter(2, { concurrency: 1 });

    expect(first).toHaveLength(2);
    expect(retry).toHaveLength(2);
    expect(aws.updatedServices()).toEqual(DB_USERS);
  });

  it('an update that took effect but whose answer was lost is not repeated by the retry', async () => {
    const { first, retry, aws } = await timeOutAfter(1, { lastApplied: true });

    expect(first).toHaveLength(2); // one answered, one applied without an answer
    expect(retry).toHaveLength(2);
    expect(aws.updatedServices()).toEqual(DB_USERS);
  });
});

// ---------------------------------------------------------------------------------------------
// The Lambda entry point, over HTTP
// ---------------------------------------------------------------------------------------------

const servers: FaultyAws[] = [];

afterEach(async () => {
  for (const aws of servers.splice(0)) await aws.close();
});

/** The handler in a new execution environment, its SDK clients pointed at `aws` over HTTP. */
async function handlerOver(aws: FaultyAws) {
  servers.push(aws);
  const endpoint = await aws.listen();
  captureOutput();
  // Short real backoffs: the retry path is the SDK's, only its random jitter is pinned low.
  vi.spyOn(Math, 'random').mockReturnValue(0.01);
  return loadHandler({ AWS_ENDPOINT_URL: endpoint, AWS_MAX_ATTEMPTS });
}

/** Every operation the function calls but UpdateService, which is never retried blindly. */
const READS: readonly Operation[] = [
  ...ECS_OPERATIONS.filter((operation) => operation !== 'ecs.UpdateService'),
  'secretsmanager.DescribeSecret',
];

describe('the Lambda entry point under faults (real SDK over HTTP)', () => {
  it('every request throttled twice: the handler returns the full report', async () => {
    const now = Date.now();
    const aws = account(now);
    aws.faults.push(failEachRequest('all', 2, THROTTLED));
    const { handler } = await handlerOver(aws);

    const report = handled((await handler(putSecretValue(now), lambdaContext())) as Report);

    expect(report.failed).toEqual([]);
    expect(report.redeployed).toEqual(DB_USERS);
    expect(aws.updatedServices()).toEqual(DB_USERS);
    // Throttling means the request was refused: retrying even UpdateService is safe.
    expectEachRequestRetried(
      aws,
      [...ECS_OPERATIONS, 'secretsmanager.DescribeSecret'],
      2,
      'ThrottlingException',
    );
  });

  it.each(TRANSIENT)(
    'every read failing twice with %s: the handler returns the full report',
    async (_name, fault, outcome) => {
      const now = Date.now();
      const aws = account(now);
      aws.faults.push(failEachRequest(READS, 2, fault));
      const { handler } = await handlerOver(aws);

      const report = handled((await handler(putSecretValue(now), lambdaContext())) as Report);

      expect(report.failed).toEqual([]);
      expect(report.redeployed).toEqual(DB_USERS);
      expect(aws.updatedServices()).toEqual(DB_USERS);
      expectEachRequestRetried(aws, READS, 2, outcome);
    },
  );

  // 503 ServiceUnavailable says the request was not processed: it is retried like throttling.
  it.each(TRANSIENT.filter(([, fault]) => !(fault.kind === 'error' && fault.status === 503)))(
    'UpdateService answered with %s, not applied: sent once (never retried blindly), reported as unanswered, deployed by the retry',
    async (_name, fault) => {
      const now = Date.now();
      const aws = account(now);
      aws.faults.push(failEachRequest(['ecs.UpdateService'], 1, fault));
      const { handler, errors } = await handlerOver(aws);

      const first = handler(putSecretValue(now), lambdaContext());

      await expect(first).rejects.toBeInstanceOf(errors.RedeployFailedError);
      await expect(first).rejects.toThrow('no answer from UpdateService');
      const sent = aws.attempts.filter((a) => a.operation === 'ecs.UpdateService');
      expect(sent).toHaveLength(DB_USERS.length); // one each, none repeated
      expect(aws.updatedServices()).toEqual([]);

      // The platform retries the event: each service is deployed once.
      const retry = handled((await handler(putSecretValue(now), lambdaContext())) as Report);
      expect(retry.redeployed).toEqual(DB_USERS);
      expect(aws.updatedServices()).toEqual(DB_USERS);
    },
  );

  it('access denied on one cluster: the other cluster is redeployed, then the invocation fails naming it', async () => {
    const now = Date.now();
    const aws = account(now);
    aws.faults.push((call) =>
      call.operation === 'ecs.ListServices' && String(call.body.cluster).endsWith('/batch')
        ? { kind: 'error', status: 400, code: 'AccessDeniedException', message: 'not authorized' }
        : undefined,
    );
    const { handler, errors } = await handlerOver(aws);

    const invocation = handler(putSecretValue(now), lambdaContext());

    await expect(invocation).rejects.toBeInstanceOf(errors.RedeployFailedError);
    await expect(invocation).rejects.toThrow(
      `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/batch: AccessDeniedException: not authorized`,
    );
    expect(aws.updatedServices()).toEqual(DB_USERS.filter((arn) => arn.includes('/prod/')));
  });

  it('access denied on one cluster, from the change queue: the record is returned as a batch item failure', async () => {
    const now = Date.now();
    const aws = account(now);
    aws.faults.push((call) =>
      call.operation === 'ecs.ListServices' && String(call.body.cluster).endsWith('/batch')
        ? { kind: 'error', status: 400, code: 'AccessDeniedException', message: 'not authorized' }
        : undefined,
    );
    const { handler } = await handlerOver(aws);

    const response = (await handler(
      sqsBatch([JSON.stringify(putSecretValue(now))]),
      lambdaContext(),
    )) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'message-1' }]);
    expect(aws.updatedServices()).toEqual(DB_USERS.filter((arn) => arn.includes('/prod/')));
  });
});
