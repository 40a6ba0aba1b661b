import { describe, expect, it } from 'vitest';
import type { DeploymentView, ServiceSummary } from '../../../functions/redeploy/discovery.js';
import { assess } from '../../../functions/rollout/assess.js';
import type { ServiceRecord } from '../../../functions/rollout/model.js';
import { clusterArn, serviceArn, taskDefinitionArn } from '../../helpers/ecs.js';

const STARTED = '2026-03-01T12:00:30.000Z';
const TD = taskDefinitionArn('api', 7);
const OPTIONS = { stuckAfterMs: 30 * 60_000 };
const minutesAfterStart = (minutes: number): Date =>
  new Date(Date.parse(STARTED) + minutes * 60_000);

const watching = (overrides: Partial<ServiceRecord> = {}): ServiceRecord => ({
  serviceArn: serviceArn('prod', 'api'),
  clusterArn: clusterArn('prod'),
  state: 'DEPLOYING',
  plannedAt: STARTED,
  updatedAt: STARTED,
  deployingAt: STARTED,
  deploymentId: 'ecs-svc/2',
  attempts: 1,
  ...overrides,
});

const deployment = (overrides: Partial<DeploymentView> & { id: string }): DeploymentView => ({
  status: 'PRIMARY',
  taskDefinition: TD,
  createdAt: new Date(STARTED),
  runningCount: 0,
  desiredCount: 2,
  ...overrides,
});

const service = (
  deployments: DeploymentView[],
  overrides: Partial<ServiceSummary> = {},
): ServiceSummary => ({
  arn: serviceArn('prod', 'api'),
  name: 'api',
  clusterArn: clusterArn('prod'),
  status: 'ACTIVE',
  controller: 'ECS',
  taskDefinitions: [TD],
  forcedRollout: false,
  tags: {},
  deployments,
  ...overrides,
});

const OLD = deployment({
  id: 'ecs-svc/1',
  status: 'ACTIVE',
  rolloutState: 'COMPLETED',
  createdAt: new Date('2026-02-01T00:00:00Z'),
  runningCount: 2,
});

describe('assess', () => {
  it('keeps watching a deployment still rolling out', () => {
    const view = service([deployment({ id: 'ecs-svc/2', rolloutState: 'IN_PROGRESS' }), OLD]);
    expect(assess(watching(), view, minutesAfterStart(5), OPTIONS)).toBeUndefined();
  });

  it('reports COMPLETED once ECS says the deployment completed', () => {
    const view = service([
      deployment({ id: 'ecs-svc/2', rolloutState: 'COMPLETED', runningCount: 2 }),
    ]);
    expect(assess(watching(), view, minutesAfterStart(4), OPTIONS)).toEqual({ state: 'COMPLETED' });
  });

  it('reports FAILED with ECS reason when the circuit breaker stops it without rollback', () => {
    const reason = 'ECS deployment circuit breaker: tasks failed to start.';
    const view = service([
      deployment({ id: 'ecs-svc/2', rolloutState: 'FAILED', rolloutStateReason: reason }),
      OLD,
    ]);
    expect(assess(watching(), view, minutesAfterStart(6), OPTIONS)).toEqual({
      state: 'FAILED',
      reason,
      failedDeploymentId: 'ecs-svc/2',
    });
  });

  it('reports ROLLED_BACK when ECS rolls back to the previous deployment (same task definition)', () => {
    const view = service([
      deployment({
        id: 'ecs-svc/3',
        rolloutState: 'IN_PROGRESS',
        rolloutStateReason:
          'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.',
        createdAt: minutesAfterStart(6),
      }),
      deployment({
        id: 'ecs-svc/2',
        status: 'ACTIVE',
        rolloutState: 'FAILED',
        rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
      }),
    ]);
    expect(assess(watching(), view, minutesAfterStart(7), OPTIONS)).toEqual({
      state: 'ROLLED_BACK',
      reason: 'ECS deployment circuit breaker: tasks failed to start.',
      failedDeploymentId: 'ecs-svc/2',
    });
  });

  it('reports ROLLED_BACK when ours is gone and the PRIMARY one says it is rolling back', () => {
    const view = service([
      deployment({
        id: 'ecs-svc/3',
        rolloutState: 'COMPLETED',
        rolloutStateReason:
          'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.',
        createdAt: minutesAfterStart(6),
      }),
    ]);
    expect(assess(watching(), view, minutesAfterStart(12), OPTIONS)).toMatchObject({
      state: 'ROLLED_BACK',
      failedDeploymentId: 'ecs-svc/2',
    });
  });

  it('switches to a newer deployment that replaced ours (SUPERSEDED) and watches it', () => {
    const view = service([
      deployment({ id: 'ecs-svc/3', rolloutState: 'IN_PROGRESS', createdAt: minutesAfterStart(2) }),
      deployment({ id: 'ecs-svc/2', status: 'ACTIVE', rolloutState: 'IN_PROGRESS' }),
      OLD,
    ]);
    expect(assess(watching(), view, minutesAfterStart(3), OPTIONS)).toEqual({
      state: 'SUPERSEDED',
      deploymentId: 'ecs-svc/3',
      supersededBy: 'ecs-svc/3',
      reason: 'deployment ecs-svc/2 was replaced by ecs-svc/3, which is watched now',
    });
  });

  it('reports STUCK after the time-out, saying why ECS keeps trying without a circuit breaker', () => {
    const view = service(
      [deployment({ id: 'ecs-svc/2', rolloutState: 'IN_PROGRESS', failedTasks: 7 }), OLD],
      { circuitBreaker: false },
    );
    expect(assess(watching(), view, minutesAfterStart(29), OPTIONS)).toBeUndefined();
    expect(assess(watching(), view, minutesAfterStart(30), OPTIONS)).toEqual({
      state: 'STUCK',
      reason:
        'no end after 30 min (7 task(s) failed to start); the service has no deployment circuit breaker, so ECS keeps retrying',
      failedDeploymentId: 'ecs-svc/2',
    });
  });

  it('measures the time-out from when the deployment watched now started to be watched', () => {
    const view = service([deployment({ id: 'ecs-svc/3', rolloutState: 'IN_PROGRESS' })]);
    const superseded = watching({
      state: 'SUPERSEDED',
      deploymentId: 'ecs-svc/3',
      watchingSince: minutesAfterStart(20).toISOString(),
    });
    expect(assess(superseded, view, minutesAfterStart(40), OPTIONS)).toBeUndefined();
    expect(assess(superseded, view, minutesAfterStart(50), OPTIONS)?.state).toBe('STUCK');
  });

  it('reports a service deleted during the rollout as SKIPPED', () => {
    expect(assess(watching(), undefined, minutesAfterStart(1), OPTIONS)).toEqual({
      state: 'SKIPPED',
      reason: 'the service was deleted during the rollout',
    });
    expect(
      assess(watching(), service([], { status: 'INACTIVE' }), minutesAfterStart(1), OPTIONS)?.state,
    ).toBe('SKIPPED');
  });

  it('without rollout states (some AWS-compatible APIs), completes once every task runs and nothing older is left', () => {
    const rolling = service([deployment({ id: 'ecs-svc/2', runningCount: 1 }), OLD]);
    expect(assess(watching(), rolling, minutesAfterStart(1), OPTIONS)).toBeUndefined();
    const done = service([deployment({ id: 'ecs-svc/2', runningCount: 2 })]);
    expect(assess(watching(), done, minutesAfterStart(2), OPTIONS)).toEqual({ state: 'COMPLETED' });
  });
});
