/**
 * The exact words of each decision, when a deployment delivers a change, how an UpdateService
 * error is classified, what a lost answer is taken to mean, and the deployments this execution
 * environment remembers starting.
 */
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Change } from '../../../functions/redeploy/change.js';
import type { DeploymentView, ServiceSummary } from '../../../functions/redeploy/discovery.js';
import {
  RecentDeployments,
  decide,
  forceNewDeployment,
  freshness,
  isRefusal,
  sendUpdate,
} from '../../../functions/redeploy/redeploy.js';
import { parseReference } from '../../../functions/redeploy/references.js';
import { HOME, clusterArn, serviceArn, taskDefinitionArn } from '../../helpers/ecs.js';

const ecsMock = mockClient(ECSClient);
const ecs = new ECSClient({ region: 'us-east-1' });

beforeEach(() => {
  ecsMock.reset();
});

const CHANGED_AT = new Date('2025-03-14T09:26:53Z');
/** The first instant a deployment certainly started after the change (one-second precision). */
const CUTOFF = new Date(CHANGED_AT.getTime() + 1000);
const AFTER = new Date('2025-03-14T09:30:00Z');
const BEFORE = new Date('2025-03-01T00:00:00Z');

const secretChange = (overrides: Partial<Change> = {}): Change =>
  ({
    kind: 'secret',
    eventId: 'evt-1',
    time: CHANGED_AT,
    trigger: 'Secret Label Updated (AWSCURRENT)',
    action: 'redeploy',
    secret: { ...HOME, name: 'prod/orders/db', suffix: 'Xy12Ab' },
    stages: ['AWSCURRENT', 'AWSPREVIOUS'],
    ...overrides,
  }) as Change;

const summary = (overrides: Partial<ServiceSummary> = {}): ServiceSummary => ({
  arn: serviceArn('prod', 'orders'),
  name: 'orders',
  clusterArn: clusterArn('prod'),
  status: 'ACTIVE',
  controller: 'ECS',
  taskDefinitions: [taskDefinitionArn('orders', 12)],
  forcedRollout: false,
  tags: {},
  ...overrides,
});

const deployment = (overrides: Partial<DeploymentView> = {}): DeploymentView => ({
  id: 'ecs-svc/2',
  status: 'PRIMARY',
  createdAt: AFTER,
  runningCount: 2,
  ...overrides,
});

describe('decide: what each decision says', () => {
  it('explains a skip in opt-in mode by the missing include tag', () => {
    expect(decide(summary(), secretChange(), { optIn: true })).toEqual({
      kind: 'skip',
      code: 'not-opted-in',
      reason: 'opt-in mode and not tagged secret-redeployer:include=true',
    });
  });

  it('names every removed label and the ways to fix the pinned reference', () => {
    const change = secretChange({ action: 'label-removed', stages: ['blue', 'green'] });

    expect(decide(summary(), change)).toEqual({
      kind: 'needs-action',
      code: 'label-removed',
      reason:
        'staging label blue, green is on no version of the secret any more: tasks started now ' +
        'cannot resolve their reference pinned to it; move the label to a version ' +
        '(UpdateSecretVersionStage) or change the reference, then redeploy',
    });
  });

  it('says what breaks when a deleted parameter is still referenced', () => {
    const change: Change = {
      kind: 'parameter',
      eventId: 'evt-2',
      time: CHANGED_AT,
      trigger: 'Parameter Store Change (Delete)',
      action: 'warn',
      parameter: { ...HOME, name: 'prod/orders/api-url' },
    };

    expect(decide(summary(), change)).toEqual({
      kind: 'still-referenced',
      reason:
        'parameter was deleted but is still referenced: new tasks will fail to start until the ' +
        'task definition or the parameter is fixed',
    });
  });

  it('explains why a service that uses the secret only to pull images is left alone', () => {
    const registry = parseReference(
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db-Xy12Ab',
      HOME,
      'container app: repositoryCredentials',
    );
    if (registry?.kind !== 'secret') throw new Error('not a secret reference');

    expect(
      decide(summary(), secretChange(), { affected: [{ ...registry, imagePull: true }] }),
    ).toEqual({
      kind: 'skip',
      code: 'image-pull-only',
      reason:
        'only its repositoryCredentials use it: ECS reads them when it pulls an image, so running ' +
        'tasks need nothing and new tasks pull with the new value (redeployForRepositoryCredentials ' +
        'redeploys anyway)',
    });
  });
});

describe('freshness', () => {
  it('knows nothing without any deployment time', () => {
    expect(freshness(summary(), CHANGED_AT)).toEqual({
      fresh: false,
      reason: 'no deployment time known',
    });
  });

  it('says when the newest deployment was created before the change', () => {
    expect(freshness(summary({ newestDeploymentAt: BEFORE }), CHANGED_AT)).toEqual({
      fresh: false,
      reason: 'newest deployment created 2025-03-01T00:00:00.000Z, before the change',
    });
  });

  it('counts a creation time after the change as fresh, naming no deployment when none is listed', () => {
    expect(freshness(summary({ newestDeploymentAt: AFTER }), CHANGED_AT)).toStrictEqual({
      fresh: true,
      reason: 'deployment created 2025-03-14T09:30:00.000Z',
    });
  });

  it('counts a COMPLETED deployment after the change as delivering it', () => {
    const newest = deployment({ rolloutState: 'COMPLETED' });

    expect(freshness(summary({ deployments: [newest] }), CHANGED_AT)).toStrictEqual({
      fresh: true,
      reason: 'deployment ecs-svc/2 created 2025-03-14T09:30:00.000Z',
      deployment: newest,
    });
  });

  it.each([
    ['no running tasks left (drained)', { createdAt: BEFORE, runningCount: 0 }],
    ['created after the change as well', { createdAt: new Date('2025-03-14T09:28:00Z') }],
    ['created exactly one second after the change', { createdAt: CUTOFF }],
  ])('is not held back by another deployment with %s', (_case, other) => {
    const service = summary({
      deployments: [
        deployment({ rolloutState: 'COMPLETED' }),
        deployment({ id: 'ecs-svc/1', status: 'ACTIVE', ...other }),
      ],
    });

    expect(freshness(service, CHANGED_AT)).toMatchObject({ fresh: true });
  });

  it('counts tasks of a deployment of unknown age as older than the change', () => {
    const service = summary({
      deployments: [
        deployment({ rolloutState: 'COMPLETED' }),
        deployment({ id: 'ecs-svc/1', status: 'ACTIVE', createdAt: undefined, runningCount: 3 }),
      ],
    });

    expect(freshness(service, CHANGED_AT)).toEqual({
      fresh: false,
      reason:
        '3 task(s) of a deployment older than the change still run beside deployment ecs-svc/2 ' +
        'created 2025-03-14T09:30:00.000Z',
    });
  });

  it('never counts the newest deployment as older than itself', () => {
    // Only the service knows when it was created; its own tasks are the new ones.
    const service = summary({
      newestDeploymentAt: AFTER,
      deployments: [deployment({ rolloutState: 'COMPLETED', createdAt: undefined })],
    });

    expect(freshness(service, CHANGED_AT)).toMatchObject({ fresh: true });
  });
});

describe('isRefusal', () => {
  const sdkError = (fields: Record<string, unknown>, name = 'SomeError'): Error =>
    Object.assign(new Error('message'), { name, ...fields });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'ThrottlingException'],
    ['a number', 400],
  ])('is false for %s, which says nothing about the request', (_case, error) => {
    expect(isRefusal(error)).toBe(false);
  });

  it.each([
    ['a 400 answer', { $metadata: { httpStatusCode: 400 } }, true],
    ['a 499 answer', { $metadata: { httpStatusCode: 499 } }, true],
    [
      'a 400 answer even when marked as a server fault',
      { $fault: 'server', $metadata: { httpStatusCode: 400 } },
      true,
    ],
    ['a 302 answer', { $fault: 'client', $metadata: { httpStatusCode: 302 } }, false],
    ['a 500 answer', { $fault: 'client', $metadata: { httpStatusCode: 500 } }, false],
    ['a client fault without a status', { $fault: 'client' }, true],
    [
      'a client fault without a status or metadata status',
      { $fault: 'client', $metadata: {} },
      true,
    ],
    ['a server fault without a status', { $fault: 'server' }, false],
  ])('reads %s by its status first, then its fault', (_case, fields, refused) => {
    expect(isRefusal(sdkError(fields))).toBe(refused);
  });

  it('does not take a client-side time-out for a refusal: the request may have arrived', () => {
    expect(isRefusal(sdkError({ $fault: 'client' }, 'TimeoutError'))).toBe(false);
  });
});

describe('sendUpdate: what the answer says', () => {
  it('takes the PRIMARY deployment, wherever ECS lists it', async () => {
    ecsMock.on(UpdateServiceCommand).resolves({
      service: {
        deployments: [
          { id: 'ecs-svc/1', status: 'ACTIVE', createdAt: BEFORE },
          { id: 'ecs-svc/2', status: 'PRIMARY', createdAt: AFTER },
        ],
      },
    });

    expect(await sendUpdate(ecs, summary())).toStrictEqual({
      kind: 'applied',
      deploymentId: 'ecs-svc/2',
      deploymentAt: AFTER,
    });
  });

  it('leaves out what the PRIMARY deployment does not say', async () => {
    ecsMock
      .on(UpdateServiceCommand)
      .resolves({ service: { deployments: [{ status: 'PRIMARY' }] } });

    expect(await sendUpdate(ecs, summary())).toStrictEqual({ kind: 'applied' });
  });

  it('counts an answer whose service lists no deployments as applied', async () => {
    ecsMock.on(UpdateServiceCommand).resolves({ service: { serviceName: 'orders' } });

    expect(await sendUpdate(ecs, summary())).toStrictEqual({ kind: 'applied' });
    expect(await forceNewDeployment(ecs, summary())).toStrictEqual({ kind: 'redeployed' });
  });
});

describe('forceNewDeployment: an answer that was lost', () => {
  const lost = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  const LOST = { kind: 'failed', error: 'no answer from UpdateService (Error: socket hang up)' };

  function ecsShows(deployments: Record<string, unknown>[]): void {
    ecsMock.on(UpdateServiceCommand).rejects(lost);
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [{ serviceArn: serviceArn('prod', 'orders'), deployments }],
    });
  }

  it('describes exactly the service, in its cluster', async () => {
    ecsShows([]);

    await forceNewDeployment(ecs, summary({ deployments: [deployment()] }));

    expect(ecsMock).toHaveReceivedCommandWith(DescribeServicesCommand, {
      cluster: clusterArn('prod'),
      services: [serviceArn('prod', 'orders')],
    });
  });

  it('does not take the PRIMARY deployment discovery saw for a new one, wherever it is listed', async () => {
    const seen = [
      deployment({ id: 'ecs-svc/1', status: 'ACTIVE', createdAt: BEFORE }),
      deployment({ id: 'ecs-svc/2', status: 'PRIMARY' }),
    ];
    ecsShows([
      { id: 'ecs-svc/1', status: 'ACTIVE', createdAt: BEFORE },
      { id: 'ecs-svc/2', status: 'PRIMARY', createdAt: AFTER },
    ]);

    expect(await forceNewDeployment(ecs, summary({ deployments: seen }))).toEqual(LOST);
  });

  it.each([
    ['no deployments at all', undefined],
    ['no PRIMARY deployment', [deployment({ status: 'ACTIVE' })]],
  ])(
    'cannot tell a new PRIMARY deployment from an old one when discovery saw %s',
    async (_case, deployments) => {
      ecsShows([{ id: 'ecs-svc/3', status: 'PRIMARY', createdAt: new Date() }]);

      expect(await forceNewDeployment(ecs, summary({ deployments }))).toEqual(LOST);
    },
  );

  it('cannot tell a PRIMARY deployment without an id from the one before', async () => {
    ecsShows([{ status: 'PRIMARY', createdAt: new Date() }]);

    expect(await forceNewDeployment(ecs, summary({ deployments: [deployment()] }))).toEqual(LOST);
  });

  it('reports the creation time of the new PRIMARY deployment when ECS gives it', async () => {
    const createdAt = new Date('2025-03-14T09:31:00Z');
    ecsShows([{ id: 'ecs-svc/3', status: 'PRIMARY', createdAt }]);

    expect(await forceNewDeployment(ecs, summary({ deployments: [deployment()] }))).toStrictEqual({
      kind: 'redeployed',
      deploymentAt: createdAt,
    });
  });

  it('reports the redeploy without a time when the new PRIMARY deployment has none', async () => {
    ecsShows([{ id: 'ecs-svc/3', status: 'PRIMARY' }]);

    expect(await forceNewDeployment(ecs, summary({ deployments: [deployment()] }))).toStrictEqual({
      kind: 'redeployed',
    });
  });
});

describe('RecentDeployments', () => {
  const A = serviceArn('prod', 'a');
  const B = serviceArn('prod', 'b');
  const C = serviceArn('prod', 'c');
  const at = (minute: number): Date => new Date(Date.UTC(2025, 2, 14, 9, minute));
  const unseen = (arn: string): ServiceSummary => summary({ arn });
  const remembered = (recent: RecentDeployments, arn: string): Date | undefined =>
    recent.apply(unseen(arn)).newestDeploymentAt;

  it('keeps as many services as it may', () => {
    const recent = new RecentDeployments(2);
    recent.record(A, at(1));
    recent.record(B, at(2));

    expect(remembered(recent, A)).toEqual(at(1));
    expect(remembered(recent, B)).toEqual(at(2));
  });

  it('forgets the service recorded longest ago when it holds one too many', () => {
    const recent = new RecentDeployments(1);
    recent.record(A, at(1));
    recent.record(B, at(2));

    expect(remembered(recent, A)).toBeUndefined();
    expect(remembered(recent, B)).toEqual(at(2));
  });

  it('counts a service recorded again as the most recent one', () => {
    const recent = new RecentDeployments(2);
    recent.record(A, at(1));
    recent.record(B, at(2));
    recent.record(A, at(3));
    recent.record(C, at(4));

    expect(remembered(recent, A)).toEqual(at(3));
    expect(remembered(recent, B)).toBeUndefined();
    expect(remembered(recent, C)).toEqual(at(4));
  });

  it('leaves the service as ECS describes it once ECS lists a deployment as new as ours', () => {
    const recent = new RecentDeployments();
    recent.record(A, at(5));
    const described = summary({ arn: A, newestDeploymentAt: at(5) });

    expect(recent.apply(described)).toBe(described);
  });

  it('adds our deployment as the PRIMARY one rolling out, and demotes the PRIMARY ECS listed', () => {
    const recent = new RecentDeployments();
    recent.record(A, at(5));
    const primary = deployment({ id: 'ecs-svc/1', createdAt: at(1), rolloutState: 'COMPLETED' });
    const active = deployment({ id: 'ecs-svc/0', status: 'ACTIVE', createdAt: at(0) });
    const described = summary({
      arn: A,
      newestDeploymentAt: at(1),
      deployments: [primary, active],
    });

    expect(recent.apply(described)).toStrictEqual({
      ...described,
      newestDeploymentAt: at(5),
      deployments: [
        { status: 'PRIMARY', rolloutState: 'IN_PROGRESS', createdAt: at(5), runningCount: 0 },
        { ...primary, status: 'ACTIVE' },
        active,
      ],
    });
  });

  it('adds our deployment as the only one when ECS lists none', () => {
    const recent = new RecentDeployments();
    recent.record(A, at(5));

    expect(recent.apply(unseen(A)).deployments).toStrictEqual([
      { status: 'PRIMARY', rolloutState: 'IN_PROGRESS', createdAt: at(5), runningCount: 0 },
    ]);
  });
});
