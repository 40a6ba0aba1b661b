/**
 * How a described service is summarised, field by field, how deployments are ordered, and how
 * discovery copes with answers that leave lists out.
 */
import {
  DescribeServicesCommand,
  ECSClient,
  ListClustersCommand,
  ListServicesCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type DeploymentView,
  type ServiceSummary,
  discoverServices,
  newestFirst,
  summarise,
} from '../../../functions/redeploy/discovery.js';
import { clusterArn, serviceArn, taskDefinitionArn } from '../../helpers/ecs.js';

const ecsMock = mockClient(ECSClient);
const ecs = new ECSClient({ region: 'us-east-1' });

beforeEach(() => {
  ecsMock.reset();
});

const T0 = new Date('2025-03-01T00:00:00Z');
const T1 = new Date('2025-03-02T00:00:00Z');
const T2 = new Date('2025-03-03T00:00:00Z');
const T3 = new Date('2025-03-04T00:00:00Z');

const base: Service = {
  serviceArn: serviceArn('prod', 'web'),
  serviceName: 'web',
  clusterArn: clusterArn('prod'),
  status: 'ACTIVE',
  deploymentController: { type: 'ECS' },
  taskDefinition: taskDefinitionArn('web', 9),
};

function summaryOf(service: Service): ServiceSummary {
  const summary = summarise(service);
  if (summary === undefined) throw new Error('not summarised');
  return summary;
}

describe('summarise: task definitions and dates', () => {
  it("reads the service's task definition when its current deployment names none", () => {
    const summary = summaryOf({ ...base, deployments: [{ status: 'PRIMARY', createdAt: T1 }] });

    expect(summary.taskDefinitions).toEqual([taskDefinitionArn('web', 9)]);
  });

  it("prefers the current deployments' task definitions to the service's own field", () => {
    const summary = summaryOf({
      ...base,
      deployments: [{ status: 'PRIMARY', taskDefinition: taskDefinitionArn('web', 10) }],
    });

    expect(summary.taskDefinitions).toEqual([taskDefinitionArn('web', 10)]);
  });

  it('dates the service by its newest valid deployment time, skipping invalid and missing ones', () => {
    const summary = summaryOf({
      ...base,
      deployments: [
        { status: 'PRIMARY', createdAt: new Date('not a date') },
        { status: 'ACTIVE', createdAt: T1 },
        { status: 'ACTIVE' },
      ],
    });

    expect(summary.newestDeploymentAt).toEqual(T1);
    expect(summary.deployments).toStrictEqual([
      { status: 'PRIMARY', runningCount: 0 },
      { status: 'ACTIVE', createdAt: T1, runningCount: 0 },
      { status: 'ACTIVE', runningCount: 0 },
    ]);
  });
});

describe('summarise: deployments', () => {
  it('lists only current deployments, PRIMARY first, then newest first', () => {
    const summary = summaryOf({
      ...base,
      deployments: [
        { id: 'ecs-svc/0', status: 'ACTIVE', createdAt: T0 },
        { id: 'ecs-svc/9', status: 'INACTIVE', createdAt: T2 },
        { id: 'ecs-svc/1', status: 'ACTIVE', createdAt: T1 },
        { id: 'ecs-svc/3', status: 'PRIMARY', createdAt: T3 },
      ],
    });

    expect(summary.deployments?.map((d) => d.id)).toEqual(['ecs-svc/3', 'ecs-svc/1', 'ecs-svc/0']);
  });

  it('keeps every field ECS gives of a deployment', () => {
    const summary = summaryOf({
      ...base,
      deployments: [
        {
          id: 'ecs-svc/3',
          status: 'PRIMARY',
          rolloutState: 'FAILED',
          rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
          createdAt: T2,
          updatedAt: T3,
          taskDefinition: taskDefinitionArn('web', 9),
          desiredCount: 4,
          runningCount: 3,
          failedTasks: 2,
        },
      ],
    });

    expect(summary.deployments).toStrictEqual([
      {
        id: 'ecs-svc/3',
        status: 'PRIMARY',
        rolloutState: 'FAILED',
        rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
        createdAt: T2,
        updatedAt: T3,
        taskDefinition: taskDefinitionArn('web', 9),
        desiredCount: 4,
        runningCount: 3,
        failedTasks: 2,
      },
    ]);
  });

  it('leaves out what ECS does not give, and counts unknown running tasks as none', () => {
    const summary = summaryOf({ ...base, deployments: [{ status: 'PRIMARY' }] });

    expect(summary.deployments).toStrictEqual([{ status: 'PRIMARY', runningCount: 0 }]);
  });
});

describe('summarise: tags and circuit breaker', () => {
  it('drops a tag without a key', () => {
    const summary = summaryOf({
      ...base,
      tags: [{ value: 'orphan' }, { key: 'team', value: 'a' }],
    });

    expect(summary.tags).toStrictEqual({ team: 'a' });
  });

  it.each([true, false])('records a circuit breaker that is explicitly %s', (enable) => {
    const summary = summaryOf({
      ...base,
      deploymentConfiguration: { deploymentCircuitBreaker: { enable, rollback: false } },
    });

    expect(summary.circuitBreaker).toBe(enable);
  });

  it('says nothing of a circuit breaker ECS does not mention', () => {
    expect(summaryOf(base)).not.toHaveProperty('circuitBreaker');
  });
});

describe('newestFirst', () => {
  const view = (status: string, createdAt?: Date): DeploymentView => ({
    status,
    runningCount: 1,
    ...(createdAt && { createdAt }),
  });

  it('puts PRIMARY before ACTIVE, whatever their dates', () => {
    expect(newestFirst(view('PRIMARY', T0), view('ACTIVE', T3))).toBe(-1);
    expect(newestFirst(view('ACTIVE', T3), view('PRIMARY', T0))).toBe(1);
  });

  it.each(['ACTIVE', 'PRIMARY'])('puts the newer of two %s deployments first', (status) => {
    expect(newestFirst(view(status, T2), view(status, T1))).toBe(-1);
    expect(newestFirst(view(status, T1), view(status, T2))).toBe(1);
  });

  it('puts a deployment without a date last', () => {
    expect(newestFirst(view('ACTIVE', T0), view('ACTIVE'))).toBe(-1);
    expect(newestFirst(view('ACTIVE'), view('ACTIVE', T0))).toBe(1);
  });

  it('keeps deployments of the same date, or both without one, in place', () => {
    expect(newestFirst(view('ACTIVE', T1), view('ACTIVE', new Date(T1)))).toBe(0);
    expect(newestFirst(view('ACTIVE'), view('ACTIVE'))).toBe(0);
  });
});

describe('discoverServices: answers that leave lists out', () => {
  async function discover(clusters: string[] = []) {
    const visited: string[] = [];
    const stats = { clusters: 0, services: 0 };
    const failures = await discoverServices(
      ecs,
      { clusters },
      (summary) => {
        visited.push(summary.arn);
        return Promise.resolve();
      },
      stats,
    );
    return { visited, failures, stats };
  }

  it('finds no cluster in a ListClusters answer without clusterArns', async () => {
    ecsMock.on(ListClustersCommand).resolves({});

    const { failures, stats } = await discover();

    expect(stats.clusters).toBe(0);
    expect(failures).toEqual([]);
    expect(ecsMock).not.toHaveReceivedCommand(ListServicesCommand);
  });

  it('describes nothing for a ListServices answer without serviceArns', async () => {
    ecsMock.on(ListServicesCommand).resolves({});

    const { failures } = await discover(['prod']);

    expect(failures).toEqual([]);
    expect(ecsMock).not.toHaveReceivedCommand(DescribeServicesCommand);
  });

  it('reports nothing for a DescribeServices answer without services or failures', async () => {
    ecsMock.on(ListServicesCommand).resolves({ serviceArns: [serviceArn('prod', 'web')] });
    ecsMock.on(DescribeServicesCommand).resolves({});

    const { visited, failures, stats } = await discover(['prod']);

    expect(visited).toEqual([]);
    expect(failures).toEqual([]);
    expect(stats.services).toBe(0);
  });

  it('reports a DescribeServices failure without a reason as unknown', async () => {
    ecsMock.on(ListServicesCommand).resolves({ serviceArns: [serviceArn('prod', 'web')] });
    ecsMock
      .on(DescribeServicesCommand)
      .resolves({ failures: [{ arn: serviceArn('prod', 'web') }] });

    const { failures } = await discover(['prod']);

    expect(failures).toEqual([
      { target: serviceArn('prod', 'web'), error: 'DescribeServices: unknown' },
    ]);
  });

  it('neither visits nor counts a described service without an ARN', async () => {
    ecsMock.on(ListServicesCommand).resolves({ serviceArns: [serviceArn('prod', 'web')] });
    ecsMock
      .on(DescribeServicesCommand)
      .resolves({ services: [{ ...base, serviceArn: undefined }], failures: [] });

    const { visited, stats } = await discover(['prod']);

    expect(visited).toEqual([]);
    expect(stats.services).toBe(0);
  });
});

describe('summarise: deployment strategy, bake time, hooks and task sets', () => {
  type Configuration = NonNullable<Service['deploymentConfiguration']>;
  const configured = (deploymentConfiguration: Configuration): ServiceSummary =>
    summaryOf({ ...base, deploymentConfiguration });

  it('records no strategy for a rolling deployment, named or not', () => {
    expect(configured({ strategy: 'ROLLING', bakeTimeInMinutes: 15 })).toStrictEqual(
      summaryOf(base),
    );
    expect(configured({})).toStrictEqual(summaryOf(base));
  });

  it('records a blue/green deployment and its bake time', () => {
    expect(configured({ strategy: 'BLUE_GREEN', bakeTimeInMinutes: 15 })).toMatchObject({
      strategy: 'BLUE_GREEN',
      bakeMinutes: 15,
    });
  });

  it('records no bake time for a blue/green deployment that does not bake', () => {
    const summary = configured({ strategy: 'BLUE_GREEN' });

    expect(summary.strategy).toBe('BLUE_GREEN');
    expect(summary).not.toHaveProperty('bakeMinutes');
  });

  it.each([
    [
      'the bake time and the canary bake time',
      { bakeTimeInMinutes: 5, canaryConfiguration: { canaryBakeTimeInMinutes: 3 } },
      8,
    ],
    [
      'a canary bake time of zero',
      { bakeTimeInMinutes: 5, canaryConfiguration: { canaryBakeTimeInMinutes: 0 } },
      5,
    ],
    ['the default canary bake time of 10 minutes', { bakeTimeInMinutes: 5 }, 15],
  ])('adds up %s for a canary deployment', (_case, config, minutes) => {
    expect(configured({ strategy: 'CANARY', ...config }).bakeMinutes).toBe(minutes);
  });

  it.each([
    [
      '25% steps: three bakes between four steps',
      { stepPercent: 25, stepBakeTimeInMinutes: 4 },
      2 + 4 * 3,
    ],
    [
      '30% steps: three bakes between four steps',
      { stepPercent: 30, stepBakeTimeInMinutes: 4 },
      2 + 4 * 3,
    ],
    ['100% in one step: no bake between steps', { stepPercent: 100, stepBakeTimeInMinutes: 4 }, 2],
    ['the defaults: 10% steps, 6 minutes between', undefined, 2 + 6 * 9],
    ['a step of 0%, read as the default 10%', { stepPercent: 0, stepBakeTimeInMinutes: 1 }, 2 + 9],
  ])('counts the bakes of a linear deployment with %s', (_case, linearConfiguration, minutes) => {
    const summary = configured({
      strategy: 'LINEAR',
      bakeTimeInMinutes: 2,
      ...(linearConfiguration && { linearConfiguration }),
    });

    expect(summary.bakeMinutes).toBe(minutes);
  });

  it.each([
    ['negative', -1],
    ['not a number', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
  ])('ignores a bake time that is %s', (_case, bakeTimeInMinutes) => {
    const summary = configured({
      strategy: 'CANARY',
      bakeTimeInMinutes,
      canaryConfiguration: { canaryBakeTimeInMinutes: 3 },
    });

    expect(summary.bakeMinutes).toBe(3);
  });

  it('records pause lifecycle hooks, which wait for a person', () => {
    const summary = configured({
      strategy: 'BLUE_GREEN',
      lifecycleHooks: [{ targetType: 'AWS_LAMBDA' }, { targetType: 'PAUSE' }],
    });

    expect(summary.pauseHooks).toBe(true);
  });

  it('records nothing for lifecycle hooks that only invoke functions', () => {
    const summary = configured({
      strategy: 'BLUE_GREEN',
      lifecycleHooks: [{ targetType: 'AWS_LAMBDA' }],
    });

    expect(summary).not.toHaveProperty('pauseHooks');
  });

  it('records the first load balancer that names both a container and a port', () => {
    const summary = summaryOf({
      ...base,
      loadBalancers: [
        { containerName: 'sidecar' },
        { containerPort: 9000 },
        { containerName: 'web', containerPort: 8080 },
      ],
    });

    expect(summary.loadBalancer).toStrictEqual({ containerName: 'web', containerPort: 8080 });
  });

  it('records no load balancer when none names both a container and a port', () => {
    const summary = summaryOf({ ...base, loadBalancers: [{ containerName: 'web' }] });

    expect(summary).not.toHaveProperty('loadBalancer');
  });

  it('records the external id and task definition of the PRIMARY task set', () => {
    const summary = summaryOf({
      ...base,
      taskSets: [
        { status: 'ACTIVE', externalId: 'd-OLD', taskDefinition: taskDefinitionArn('web', 8) },
        { status: 'PRIMARY', externalId: 'd-NEW', taskDefinition: taskDefinitionArn('web', 9) },
      ],
    });

    expect(summary.primaryTaskSet).toStrictEqual({
      externalId: 'd-NEW',
      taskDefinition: taskDefinitionArn('web', 9),
    });
  });

  it('records a PRIMARY task set without what it does not say', () => {
    expect(summaryOf({ ...base, taskSets: [{ status: 'PRIMARY' }] }).primaryTaskSet).toStrictEqual(
      {},
    );
  });

  it('records no task set when none is PRIMARY', () => {
    const summary = summaryOf({ ...base, taskSets: [{ status: 'ACTIVE', externalId: 'd-OLD' }] });

    expect(summary).not.toHaveProperty('primaryTaskSet');
  });
});
