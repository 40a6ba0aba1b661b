/**
 * Brakes. Per invocation, at most REDEPLOY_CONCURRENCY UpdateService calls are in flight; across
 * invocations, at most MAX_DEPLOYMENTS_IN_PROGRESS forced rollouts are in progress in ECS. Services
 * held back are reported as braked and the change goes back to the change queue, delayed by
 * BRAKE_RETRY_SECONDS, so a big rotation rolls the fleet in waves.
 *
 * The fake ECS world really adds a deployment on UpdateService (a forced rollout in progress until
 * the test completes it) and answers after a delay, so calls in flight can be counted. The clock
 * is fake (Date, performance, setTimeout): the function paces its ECS calls to the documented
 * throttling buckets, and the fake clock lets a 100-service fleet be walked hundreds of times.
 */
import {
  DescribeServicesCommand,
  type DescribeServicesCommandInput,
  ECSClient,
  type Service,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient, SendMessageCommand, type SendMessageCommandInput } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../functions/redeploy/config.js';
import {
  type ChangeReport,
  type Dependencies,
  type Report,
  processEvent,
} from '../../../functions/redeploy/process.js';
import { TaskDefinitionReader } from '../../../functions/redeploy/task-definitions.js';
import { awsError } from '../../helpers/aws-errors.js';
import { SM, secretChanged } from '../../helpers/change-events.js';
import {
  type EcsWorld,
  HOME,
  completeRollouts,
  rolloutsInProgress,
  serveEcs,
  service,
  serviceArn,
  taskDefinition,
  taskDefinitionArn,
} from '../../helpers/ecs.js';
import type { JsonObject } from '../../helpers/fixtures.js';
import {
  CHANGE_QUEUE_URL,
  captureOutput,
  lambdaContext,
  loadHandler,
  logEntries,
  sqsEvent,
} from '../../helpers/lambda.js';

const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);
const sqsMock = mockClient(SQSClient);

const T0 = Date.parse('2025-03-14T09:00:00Z');
const SECONDS = 1000;
const OLD = new Date('2025-03-01T00:00:00Z');

const pad = (i: number): string => String(i).padStart(3, '0');

type World = EcsWorld & { clusters: Record<string, Service[]> };

/**
 * `count` services in cluster `fleet`; service i reads the secret `secretOf(i)` (a name whose
 * full ARN ends in a six-character suffix).
 */
function fleet(count: number, secretOf: (i: number) => string): World {
  const services: Service[] = [];
  const taskDefinitions = [];
  for (let i = 0; i < count; i += 1) {
    const td = taskDefinitionArn(`app-${pad(i)}`, 1);
    services.push(
      service({ cluster: 'fleet', name: `svc-${pad(i)}`, taskDefinition: td, deployedAt: OLD }),
    );
    taskDefinitions.push(taskDefinition(td, { DB_PASSWORD: `${SM}:${secretOf(i)}` }));
  }
  return { clusters: { fleet: services }, taskDefinitions };
}

const ownSecret = (i: number): string => `app-${pad(i)}-S${pad(i)}ab`;

/** Resolves `work` while the fake clock runs (paced ECS calls and slow UpdateService answers). */
async function drive<T>(work: Promise<T>): Promise<T> {
  const state = { settled: false };
  const settle = (): void => {
    state.settled = true;
  };
  void work.then(settle, settle);
  while (!state.settled) await vi.advanceTimersByTimeAsync(100);
  return work;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const sentMessages = (): SendMessageCommandInput[] =>
  sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input);

/** The reports the handler logged ('change handled'), in order. */
function loggedReports(output: string): ChangeReport[] {
  return logEntries(output)
    .filter((entry) => entry.message === 'change handled')
    .map((entry) => entry.report as ChangeReport);
}

let output: () => string;

beforeEach(() => {
  ecsMock.reset();
  smMock.reset();
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'sent' });
  output = captureOutput();
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
});

const BRAKES = {
  REDEPLOY_CONCURRENCY: '5',
  MAX_DEPLOYMENTS_IN_PROGRESS: '20',
  BRAKE_RETRY_SECONDS: '60',
  CHANGE_QUEUE_URL,
};

describe('brakes through the handler (one execution environment, the queue simulated)', () => {
  beforeEach(() => {
    vi.useFakeTimers({
      now: T0,
      toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'],
    });
  });

  it('a 100-secret bulk rotation never exceeds the concurrency cap', async () => {
    const w = fleet(100, ownSecret);
    const stats = serveEcs(ecsMock, w, { clock: () => new Date(), updateDelayMs: 250 });
    const { handler } = await loadHandler(BRAKES);
    const context = lambdaContext();
    // 100 rotations at t0, each its own event; after the 30 s window they leave the queue in
    // batches of 10.
    let deliveries: JsonObject[] = Array.from({ length: 100 }, (_, i) =>
      secretChanged({
        id: `bulk-${pad(i)}`,
        name: `app-${pad(i)}`,
        suffix: `S${pad(i)}ab`,
        at: T0,
      }),
    );
    await vi.advanceTimersByTimeAsync(30 * SECONDS);
    const waves: { redeployed: number; braked: number; resent: number }[] = [];

    while (deliveries.length > 0 && waves.length < 10) {
      const sentBefore = sentMessages().length;
      const reportsBefore = loggedReports(output()).length;
      for (const batch of chunks(deliveries, 10)) {
        const response = (await drive(handler(sqsEvent(batch), context))) as SQSBatchResponse;
        expect(response).toEqual({ batchItemFailures: [] });
        // Rollouts do not complete while a wave is handled.
        expect(rolloutsInProgress(w).length).toBeLessThanOrEqual(20);
      }
      const resent = sentMessages().slice(sentBefore);
      const reports = loggedReports(output()).slice(reportsBefore);
      waves.push({
        redeployed: reports.reduce((n, r) => n + r.redeployed.length, 0),
        braked: reports.reduce((n, r) => n + r.braked.length, 0),
        resent: resent.length,
      });
      for (const message of resent) {
        expect(message).toMatchObject({ QueueUrl: CHANGE_QUEUE_URL, DelaySeconds: 60 });
      }
      deliveries = resent.map((message) => JSON.parse(message.MessageBody ?? '') as JsonObject);
      // While the braked changes wait in the queue, the rollouts finish.
      completeRollouts(w);
      await vi.advanceTimersByTimeAsync(60 * SECONDS);
    }

    expect(stats.maxInFlight).toBeLessThanOrEqual(5);
    expect(stats.maxRollouts).toBe(20); // the cap is reached, never passed
    expect(waves).toEqual([
      { redeployed: 20, braked: 80, resent: 80 },
      { redeployed: 20, braked: 60, resent: 60 },
      { redeployed: 20, braked: 40, resent: 40 },
      { redeployed: 20, braked: 20, resent: 20 },
      { redeployed: 20, braked: 0, resent: 0 },
    ]);
    // Every service ends up redeployed exactly once.
    expect(stats.updates.size).toBe(100);
    expect([...stats.updates.values()].every((n) => n === 1)).toBe(true);
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 100);
  });

  it('a shared secret read by 100 services rolls them in waves, REDEPLOY_CONCURRENCY at a time', async () => {
    const w = fleet(100, () => 'shared-ShArEd');
    const stats = serveEcs(ecsMock, w, { clock: () => new Date(), updateDelayMs: 250 });
    const { handler } = await loadHandler(BRAKES);
    const event = secretChanged({ id: 'shared-1', name: 'shared', suffix: 'ShArEd', at: T0 });
    await vi.advanceTimersByTimeAsync(30 * SECONDS);

    const first = (await drive(handler(event))) as Report;

    expect(first).toMatchObject({ outcome: 'handled', failed: [] });
    const report = first as ChangeReport;
    expect(report.redeployed).toHaveLength(20);
    expect(report.braked).toHaveLength(80);
    expect(report.braked[0]?.reason).toMatch(/cap 20/);
    // One invocation, many services: the per-invocation limit is what holds the calls back.
    expect(stats.maxInFlight).toBe(5);
    expect(stats.maxRollouts).toBe(20);
    // The change goes back to the queue once, whole, delayed.
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: CHANGE_QUEUE_URL,
      DelaySeconds: 60,
      MessageBody: JSON.stringify(event),
    });

    // The waves that follow: each time the rollouts have finished.
    for (let wave = 2; wave <= 5; wave += 1) {
      completeRollouts(w);
      await vi.advanceTimersByTimeAsync(60 * SECONDS);
      const again = (await drive(handler(sqsEvent([event])))) as SQSBatchResponse;
      expect(again).toEqual({ batchItemFailures: [] });
      expect(stats.maxInFlight).toBeLessThanOrEqual(5);
      expect(stats.maxRollouts).toBe(20);
    }
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 4);
    expect(stats.updates.size).toBe(100);
    expect([...stats.updates.values()].every((n) => n === 1)).toBe(true);
  });
});

describe('brakes at the process level', () => {
  const ecs = new ECSClient({});
  const secretsManager = new SecretsManagerClient({});
  const deps = (env: Record<string, string> = {}): Dependencies => ({
    ecs,
    secretsManager,
    config: loadConfig(env),
    home: HOME,
    taskDefinitions: new TaskDefinitionReader(),
  });
  const handled = (report: Report): ChangeReport => {
    if (report.outcome !== 'handled') throw new Error(`event ignored: ${report.reason}`);
    return report;
  };
  const shared = () => secretChanged({ id: 'shared-2', name: 'shared', suffix: 'ShArEd', at: T0 });

  /** Makes the first `count` services of the world roll out (a forced redeploy of an earlier change). */
  function rolling(w: World, count: number): void {
    const services = w.clusters.fleet ?? [];
    for (let i = 0; i < count; i += 1) {
      const s = services[i];
      if (!s) continue;
      const at = new Date(T0 - 120 * SECONDS);
      services[i] = {
        ...s,
        deployments: [
          {
            id: `new-${pad(i)}`,
            status: 'PRIMARY',
            taskDefinition: s.taskDefinition,
            createdAt: at,
          },
          ...(s.deployments ?? []).map((d) => ({ ...d, status: 'ACTIVE' })),
        ],
      };
    }
  }

  it('counts forced rollouts already in progress in ECS against the cap', async () => {
    // 18 services read another secret and are rolling out; 10 read the shared one.
    const w = fleet(28, (i) => (i < 18 ? 'other-OtHeRr' : 'shared-ShArEd'));
    rolling(w, 18);
    serveEcs(ecsMock, w, { clock: () => new Date(T0 + 30 * SECONDS) });

    const report = handled(
      await processEvent(shared(), deps({ MAX_DEPLOYMENTS_IN_PROGRESS: '20' })),
    );

    expect(report.redeployed).toHaveLength(2);
    expect(report.braked).toHaveLength(8);
    expect(rolloutsInProgress(w)).toHaveLength(20);
  });

  it('does not count a release of a new task definition revision as a forced rollout', async () => {
    const base = fleet(3, () => 'shared-ShArEd');
    const w: World = {
      ...base,
      taskDefinitions: [
        ...base.taskDefinitions,
        taskDefinition(taskDefinitionArn('app-000', 2), { DB_PASSWORD: `${SM}:shared-ShArEd` }),
      ],
    };
    const services = w.clusters.fleet ?? [];
    services[0] = {
      ...services[0],
      deployments: [
        { status: 'PRIMARY', taskDefinition: taskDefinitionArn('app-000', 2), createdAt: OLD },
        { status: 'ACTIVE', taskDefinition: taskDefinitionArn('app-000', 1), createdAt: OLD },
      ],
    };
    serveEcs(ecsMock, w, { clock: () => new Date(T0 + 30 * SECONDS) });

    const report = handled(
      await processEvent(shared(), deps({ MAX_DEPLOYMENTS_IN_PROGRESS: '3' })),
    );

    expect(report.redeployed).toHaveLength(3);
    expect(report.braked).toEqual([]);
  });

  it('has no cap when MAX_DEPLOYMENTS_IN_PROGRESS is 0', async () => {
    const w = fleet(30, () => 'shared-ShArEd');
    serveEcs(ecsMock, w, { clock: () => new Date(T0 + 30 * SECONDS) });

    const report = handled(
      await processEvent(shared(), deps({ MAX_DEPLOYMENTS_IN_PROGRESS: '0' })),
    );

    expect(report.redeployed).toHaveLength(30);
    expect(report.braked).toEqual([]);
  });

  it('applies the cap in dry run too, without any UpdateService', async () => {
    serveEcs(
      ecsMock,
      fleet(5, () => 'shared-ShArEd'),
      { clock: () => new Date() },
    );

    const report = handled(
      await processEvent(shared(), deps({ MAX_DEPLOYMENTS_IN_PROGRESS: '2', DRY_RUN: 'true' })),
    );

    expect(report).toMatchObject({ dryRun: true });
    expect(report.redeployed).toHaveLength(2);
    expect(report.braked).toHaveLength(3);
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  // Regression (was a bug, fixed): the brake reads the number of rollouts in progress while discovery is still describing
  // the fleet. Input: MAX_DEPLOYMENTS_IN_PROGRESS=2; cluster `fleet` lists 12 services: svc-000
  // (reads the changed secret) first, then svc-001…svc-009, then svc-010 and svc-011, which are
  // rolling out (forced redeploys of an earlier change). DescribeServices takes 10 services, so
  // svc-010/011 are in the second batch, which answers 20 ms after the first. Expected: svc-000
  // braked (2 rollouts in progress = cap) and at most 2 rollouts in ECS. Actual: svc-000 is
  // force-deployed as soon as the first batch is described (RedeployRun.handle compares
  // `inProgress`, 0 at that moment, with the cap), leaving 3 rollouts in progress. In a large
  // account (several DescribeServices batches and clusters described concurrently) the cap is
  // exceeded whenever the rolling services are described after the ones a change affects.
  it('counts rollouts in progress in services described after the affected one', async () => {
    const w = fleet(12, (i) => (i === 0 ? 'shared-ShArEd' : 'other-OtHeRr'));
    const services = w.clusters.fleet ?? [];
    // svc-010 and svc-011 roll out.
    for (const i of [10, 11]) {
      const s = services[i];
      if (!s) continue;
      services[i] = {
        ...s,
        deployments: [
          { status: 'PRIMARY', taskDefinition: s.taskDefinition, createdAt: new Date(T0) },
          ...(s.deployments ?? []).map((d) => ({ ...d, status: 'ACTIVE' })),
        ],
      };
    }
    serveEcs(ecsMock, w, { clock: () => new Date(T0 + 30 * SECONDS) });
    // The second batch answers a little later than the first.
    ecsMock.on(DescribeServicesCommand).callsFake(async (input: DescribeServicesCommandInput) => {
      const wanted = input.services ?? [];
      if (wanted.includes(serviceArn('fleet', 'svc-010'))) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return { services: services.filter((s) => wanted.includes(s.serviceArn ?? '')) };
    });

    const report = handled(
      await processEvent(shared(), deps({ MAX_DEPLOYMENTS_IN_PROGRESS: '2' })),
    );

    expect(rolloutsInProgress(w).length).toBeLessThanOrEqual(2);
    expect(report.braked.map((b) => b.service)).toEqual([serviceArn('fleet', 'svc-000')]);
  });
});

describe('brakes: sending braked changes back to the queue', () => {
  it('sends nothing back in dry run', async () => {
    serveEcs(
      ecsMock,
      fleet(5, () => 'shared-ShArEd'),
      { clock: () => new Date() },
    );
    const { handler } = await loadHandler({
      ...BRAKES,
      MAX_DEPLOYMENTS_IN_PROGRESS: '2',
      DRY_RUN: 'true',
    });

    const report = await handler(
      secretChanged({ id: 'dry-1', name: 'shared', suffix: 'ShArEd', at: T0 }),
    );

    expect(report).toMatchObject({ dryRun: true, braked: expect.any(Array) as unknown[] });
    expect(sqsMock).not.toHaveReceivedAnyCommand();
  });

  it('without CHANGE_QUEUE_URL, reports the braked services and sends nothing (the sweep catches up)', async () => {
    serveEcs(
      ecsMock,
      fleet(5, () => 'shared-ShArEd'),
      { clock: () => new Date() },
    );
    const { handler } = await loadHandler({ MAX_DEPLOYMENTS_IN_PROGRESS: '2' });

    const report = await handler(
      secretChanged({ id: 'noq-1', name: 'shared', suffix: 'ShArEd', at: T0 }),
    );

    expect((report as ChangeReport).braked).toHaveLength(3);
    expect(sqsMock).not.toHaveReceivedAnyCommand();
  });

  it('fails the record when the change cannot be sent back, so the queue delivers it again', async () => {
    serveEcs(
      ecsMock,
      fleet(5, () => 'shared-ShArEd'),
      { clock: () => new Date() },
    );
    sqsMock
      .on(SendMessageCommand)
      .rejects(awsError('AccessDenied', 'not authorized: sqs:SendMessage'));
    const { handler } = await loadHandler({ ...BRAKES, MAX_DEPLOYMENTS_IN_PROGRESS: '2' });
    const event = secretChanged({ id: 'fail-1', name: 'shared', suffix: 'ShArEd', at: T0 });

    const response = await handler(sqsEvent([event], ['msg-braked']));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-braked' }] });
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 2);
  });

  // Documented limit (README, Brakes): the cap is read from ECS, with nothing shared between
  // invocations that run at the same moment. Each of them (at most maxConcurrentInvocations, 2 by
  // default and at least 2 for SQS) can start up to the cap before it sees the other's
  // rollouts, so the fleet can briefly see maxConcurrentInvocations x cap; the next waves then
  // wait until it is back under the cap.
  it('keeps simultaneous invocations within maxConcurrentInvocations x the cap', async () => {
    const w = fleet(10, (i) => (i < 5 ? 'left-LeFtLe' : 'right-RiGhTr'));
    serveEcs(ecsMock, w, { clock: () => new Date(), updateDelayMs: 5 });
    const services = w.clusters.fleet ?? [];
    // Both invocations read ECS before either writes: the DescribeServices answers wait until
    // both have asked.
    let asked = 0;
    let release: () => void = () => undefined;
    const bothAsked = new Promise<void>((resolve) => (release = resolve));
    ecsMock.on(DescribeServicesCommand).callsFake(async (input: DescribeServicesCommandInput) => {
      asked += 1;
      if (asked === 2) release();
      await bothAsked;
      const wanted = input.services ?? [];
      return { services: services.filter((s) => wanted.includes(s.serviceArn ?? '')) };
    });
    const env = { ...BRAKES, MAX_DEPLOYMENTS_IN_PROGRESS: '3' };
    const one = (await loadHandler(env)).handler;
    const two = (await loadHandler(env)).handler;

    await Promise.all([
      one(sqsEvent([secretChanged({ id: 'left-1', name: 'left', suffix: 'LeFtLe', at: T0 })])),
      two(sqsEvent([secretChanged({ id: 'right-1', name: 'right', suffix: 'RiGhTr', at: T0 })])),
    ]);

    const rolling = rolloutsInProgress(w).length;
    expect(rolling).toBeGreaterThan(0);
    expect(rolling).toBeLessThanOrEqual(2 * 3);

    // A third invocation now sees the rollouts and starts nothing more.
    const three = (await loadHandler(env)).handler;
    ecsMock.on(DescribeServicesCommand).callsFake((input: DescribeServicesCommandInput) => {
      const wanted = input.services ?? [];
      return { services: services.filter((s) => wanted.includes(s.serviceArn ?? '')) };
    });
    await three(
      sqsEvent([secretChanged({ id: 'left-2', name: 'left', suffix: 'LeFtLe', at: T0 })]),
    );
    expect(rolloutsInProgress(w).length).toBe(rolling);
  });
});
