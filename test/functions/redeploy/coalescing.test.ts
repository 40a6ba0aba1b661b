/**
 * Coalescing. The settle window is the change queue's delivery delay (infra): every change
 * reaches the function `window` seconds after it happened. The function itself keeps no timer:
 * a change handled after the window sees the deployment an earlier change made (in ECS, so it
 * holds across cold starts) and is skipped as already deployed.
 *
 * These tests deliver the events as the queue would, through the handler's SQS path, with a fake
 * clock that also stamps the deployments UpdateService creates.
 */
import { ECSClient, type Service, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SM, secretChanged } from '../../helpers/change-events.js';
import {
  type EcsWorld,
  serveEcs,
  service,
  serviceArn,
  taskDefinition,
  taskDefinitionArn,
} from '../../helpers/ecs.js';
import { captureOutput, loadHandler, sqsEvent } from '../../helpers/lambda.js';

const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);
const sqsMock = mockClient(SQSClient);

const T0 = Date.parse('2025-03-14T09:00:00Z');
const SECONDS = 1000;
const API = serviceArn('prod', 'api');
const apiTd = taskDefinitionArn('api', 4);

/** One service reading a username secret and a password secret. */
function world(): EcsWorld & { clusters: Record<string, Service[]> } {
  return {
    clusters: {
      prod: [
        service({
          cluster: 'prod',
          name: 'api',
          taskDefinition: apiTd,
          deployedAt: new Date('2025-03-01T00:00:00Z'),
        }),
      ],
    },
    taskDefinitions: [
      taskDefinition(apiTd, {
        DB_USER: `${SM}:db-username-AbCdEf`,
        DB_PASSWORD: `${SM}:db-password-GhIjKl:password::`,
      }),
    ],
  };
}

/** A: the username changes at t0. B: the password changes 5 s later. */
const changeA = () =>
  secretChanged({
    id: 'a0000000-0000-4000-8000-00000000000a',
    name: 'db-username',
    suffix: 'AbCdEf',
    at: T0,
  });
const changeB = () =>
  secretChanged({
    id: 'b0000000-0000-4000-8000-00000000000b',
    name: 'db-password',
    suffix: 'GhIjKl',
    at: T0 + 5 * SECONDS,
  });

/** The PRIMARY deployment of a service of the world. */
function primaryOf(w: EcsWorld, arn: string) {
  return Object.values(w.clusters)
    .flat()
    .find((s) => s.serviceArn === arn)
    ?.deployments?.find((d) => d.status === 'PRIMARY');
}

beforeEach(() => {
  ecsMock.reset();
  smMock.reset();
  sqsMock.reset();
  captureOutput();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
  expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
});

describe('coalescing through the settle window', () => {
  it('two secrets changed 5 s apart with a 30 s window give one deployment', async () => {
    const w = world();
    serveEcs(ecsMock, w, { clock: () => new Date() });
    const { handler } = await loadHandler();

    vi.setSystemTime(T0 + 30 * SECONDS); // A leaves the queue
    const first = await handler(sqsEvent([changeA()]));
    vi.setSystemTime(T0 + 35 * SECONDS); // B leaves the queue
    const second = await handler(sqsEvent([changeB()]));

    expect(first).toEqual({ batchItemFailures: [] });
    expect(second).toEqual({ batchItemFailures: [] });
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
    expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, {
      service: API,
      forceNewDeployment: true,
    });
    // The one deployment starts its tasks after both changes: they get both new values.
    expect(primaryOf(w, API)?.createdAt).toEqual(new Date(T0 + 30 * SECONDS));
  });

  it('two secrets changed 5 s apart with a 30 s window give one deployment, even across a cold start', async () => {
    const w = world();
    serveEcs(ecsMock, w, { clock: () => new Date() });

    vi.setSystemTime(T0 + 30 * SECONDS);
    await (await loadHandler()).handler(sqsEvent([changeA()]));
    // The function is restarted: no warm state survives, only what ECS shows.
    vi.setSystemTime(T0 + 35 * SECONDS);
    const { handler } = await loadHandler();
    await handler(sqsEvent([changeB()]));

    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
  });

  it('the second change is reported as already deployed, not redeployed', async () => {
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    const { handler } = await loadHandler();

    vi.setSystemTime(T0 + 30 * SECONDS);
    const a = await handler(changeA());
    vi.setSystemTime(T0 + 35 * SECONDS);
    const b = await handler(changeB());

    expect(a).toMatchObject({ outcome: 'handled', redeployed: [API], skipped: [] });
    expect(b).toMatchObject({
      outcome: 'handled',
      redeployed: [],
      skipped: [{ service: API, code: 'already-deployed' }],
    });
  });

  it('two secrets changed 5 s apart with a 0 s window give two deployments', async () => {
    const w = world();
    serveEcs(ecsMock, w, { clock: () => new Date() });
    const { handler } = await loadHandler();

    vi.setSystemTime(T0);
    await handler(sqsEvent([changeA()]));
    vi.setSystemTime(T0 + 5 * SECONDS);
    await handler(sqsEvent([changeB()]));

    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 2);
    expect(primaryOf(w, API)?.createdAt).toEqual(new Date(T0 + 5 * SECONDS));
  });

  it('a change that comes after the window of the first gets its own deployment', async () => {
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    const { handler } = await loadHandler();
    const late = secretChanged({
      id: 'c0000000-0000-4000-8000-00000000000c',
      name: 'db-password',
      suffix: 'GhIjKl',
      at: T0 + 31 * SECONDS,
    });

    vi.setSystemTime(T0 + 30 * SECONDS);
    await handler(sqsEvent([changeA()]));
    vi.setSystemTime(T0 + 61 * SECONDS);
    await handler(sqsEvent([late]));

    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 2);
  });

  it('two changes that leave the queue in one batch give one deployment', async () => {
    // The function was unavailable: both messages waited and arrive together.
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    const { handler } = await loadHandler();

    vi.setSystemTime(T0 + 120 * SECONDS);
    const response = await handler(sqsEvent([changeA(), changeB()]));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
  });

  it('keeps at most one deployment per change when the queue delivers a change twice', async () => {
    serveEcs(ecsMock, world(), { clock: () => new Date() });

    vi.setSystemTime(T0 + 30 * SECONDS);
    await (await loadHandler()).handler(sqsEvent([changeA()]));
    // At-least-once delivery: the same message again, later, to another execution environment.
    vi.setSystemTime(T0 + 90 * SECONDS);
    await (await loadHandler()).handler(sqsEvent([changeA()]));

    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
  });
});
