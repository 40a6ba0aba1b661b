import {
  ContinueServiceDeploymentCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  type ListServiceDeploymentsCommandInput,
  ListTasksCommand,
  type ServiceDeployment,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import {
  type DeploymentBehaviour,
  type DeploymentConfigurationSeed,
  type EcsDeploymentDetail,
  type EcsHookDetail,
  type SimEvent,
  SimulatedAws,
} from './index.js';

const MINUTE = 60_000;

function world(
  deploymentConfiguration: DeploymentConfigurationSeed,
  behaviour: DeploymentBehaviour = { outcome: 'complete', afterMs: 2 * MINUTE },
) {
  const sim = new SimulatedAws();
  const v1 = sim.addTaskDefinition({ family: 'web', containerDefinitions: [{ name: 'app' }] });
  const v2 = sim.addTaskDefinition({ family: 'web', containerDefinitions: [{ name: 'app' }] });
  const arn = sim.addService({
    cluster: 'prod',
    name: 'web',
    taskDefinition: v1,
    deploymentConfiguration,
    behaviour,
  });
  const ecs = sim.client(ECSClient);
  const describe = async () => {
    const answer = await ecs.send(
      new DescribeServicesCommand({ cluster: 'prod', services: ['web'] }),
    );
    const service = answer.services?.[0];
    if (!service) throw new Error('no service');
    return service;
  };
  const deploy = async () => {
    const answer = await ecs.send(
      new UpdateServiceCommand({
        cluster: 'prod',
        service: 'web',
        taskDefinition: 'web:2',
        forceNewDeployment: true,
      }),
    );
    const id = answer.service?.deployments?.[0]?.id ?? '';
    const serviceDeploymentArn = sim.deployments(arn).at(-1)?.serviceDeploymentArn ?? '';
    return { id, serviceDeploymentArn };
  };
  const serviceDeployment = async (serviceDeploymentArn: string): Promise<ServiceDeployment> => {
    const answer = await ecs.send(
      new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [serviceDeploymentArn] }),
    );
    const found = answer.serviceDeployments?.[0];
    if (!found) throw new Error('no service deployment');
    return found;
  };
  const proceed = (
    serviceDeploymentArn: string,
    hookId: string,
    action?: 'CONTINUE' | 'ROLLBACK',
  ) => ecs.send(new ContinueServiceDeploymentCommand({ serviceDeploymentArn, hookId, action }));
  return { sim, ecs, arn, v1, v2, describe, deploy, serviceDeployment, proceed };
}

/** `eventName` of every ECS event, deployment and hook alike. */
const names = (events: readonly SimEvent[]) =>
  events.map((e) => (e.detail as EcsDeploymentDetail | EcsHookDetail).eventName);

const hookEvents = (events: readonly SimEvent[]) =>
  events
    .filter((e) => e['detail-type'] === 'ECS Hook State Change')
    .map((e) => e as SimEvent<EcsHookDetail>);

describe('ECS native deployment strategies', () => {
  it('returns the deployment configuration in the SDK shape', async () => {
    const { describe, serviceDeployment, deploy } = world({
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 10,
      lifecycleHooks: [
        {
          targetType: 'PAUSE',
          lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
          timeoutConfiguration: { timeoutInMinutes: 30, action: 'ROLLBACK' },
        },
      ],
    });
    const expected = {
      deploymentCircuitBreaker: { enable: false, rollback: false },
      maximumPercent: 200,
      minimumHealthyPercent: 100,
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 10,
      lifecycleHooks: [
        {
          targetType: 'PAUSE',
          lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
          timeoutConfiguration: { timeoutInMinutes: 30, action: 'ROLLBACK' },
        },
      ],
    };
    expect((await describe()).deploymentConfiguration).toEqual(expected);
    const { serviceDeploymentArn } = await deploy();
    expect((await serviceDeployment(serviceDeploymentArn)).deploymentConfiguration).toEqual(
      expected,
    );
  });

  it('keeps a BLUE_GREEN deployment IN_PROGRESS with both revisions for the bake time, then completes it', async () => {
    const { sim, arn, v1, v2, describe, deploy, serviceDeployment } = world({
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 10,
    });
    const { id, serviceDeploymentArn } = await deploy();
    expect((await serviceDeployment(serviceDeploymentArn)).lifecycleStage).toBe('SCALE_UP');

    sim.advance(2 * MINUTE); // the green tasks are up: bake time starts
    const baking = await describe();
    expect(
      baking.deployments?.map((d) => [d.taskDefinition, d.status, d.rolloutState, d.runningCount]),
    ).toEqual([
      [v2, 'PRIMARY', 'IN_PROGRESS', 2],
      [v1, 'ACTIVE', 'COMPLETED', 2],
    ]);
    expect(await serviceDeployment(serviceDeploymentArn)).toMatchObject({
      status: 'IN_PROGRESS',
      lifecycleStage: 'BAKE_TIME',
    });

    sim.advance(10 * MINUTE - 1);
    expect((await describe()).deployments).toHaveLength(2);
    sim.advance(1);
    const done = await describe();
    expect(done.deployments?.map((d) => [d.id, d.status, d.rolloutState])).toEqual([
      [id, 'PRIMARY', 'COMPLETED'],
    ]);
    expect(await serviceDeployment(serviceDeploymentArn)).toMatchObject({
      status: 'SUCCESSFUL',
      lifecycleStage: 'CLEAN_UP',
      finishedAt: new Date('2026-01-01T00:12:00Z'),
    });
    expect(sim.deployments(arn).map((d) => d.status)).toEqual(['INACTIVE', 'PRIMARY']);
    expect(names(sim.events)).toEqual([
      'SERVICE_DEPLOYMENT_IN_PROGRESS',
      'SERVICE_DEPLOYMENT_COMPLETED',
    ]);
    expect(sim.events[1]?.time).toBe('2026-01-01T00:12:00Z');
  });

  it('bakes LINEAR and CANARY deployments too, and ROLLING ignores the bake time', async () => {
    for (const [strategy, completesAfter] of [
      ['LINEAR', 7 * MINUTE],
      ['CANARY', 7 * MINUTE],
      ['ROLLING', 2 * MINUTE],
    ] as const) {
      const { sim, describe, deploy } = world({ strategy, bakeTimeInMinutes: 5 });
      await deploy();
      sim.advance(completesAfter - 1);
      expect((await describe()).deployments?.[0]?.rolloutState, strategy).toBe('IN_PROGRESS');
      sim.advance(1);
      expect((await describe()).deployments?.[0]?.rolloutState, strategy).toBe('COMPLETED');
    }
  });

  it('pauses at a PAUSE hook, emits its event, shows it AWAITING_ACTION, and CONTINUE completes the deployment', async () => {
    const { sim, arn, describe, deploy, serviceDeployment, proceed } = world({
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 5,
      lifecycleHooks: [
        {
          targetType: 'PAUSE',
          lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
          timeoutConfiguration: { timeoutInMinutes: 60, action: 'ROLLBACK' },
        },
      ],
    });
    const { id, serviceDeploymentArn } = await deploy();
    expect(serviceDeploymentArn).toMatch(
      /^arn:aws:ecs:us-east-1:123456789012:service-deployment\/prod\/web\/[A-Za-z0-9_-]{21}$/,
    );
    sim.advance(2 * MINUTE); // tasks up, test traffic shifted: the hook's stage

    const [awaiting] = hookEvents(sim.events);
    const hookId = awaiting?.detail.hookId ?? '';
    expect(hookId).toMatch(/^ecs-pause-[A-Za-z0-9_-]{43}$/);
    expect(awaiting).toMatchObject({
      'detail-type': 'ECS Hook State Change',
      source: 'aws.ecs',
      time: '2026-01-01T00:02:00Z',
      resources: [serviceDeploymentArn],
      detail: {
        eventType: 'INFO',
        eventName: 'HOOK_AWAITING_ACTION',
        hookId,
        hookType: 'PAUSE',
        expiresAt: '2026-01-01T01:02:00Z',
        lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
        clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod',
        serviceArn: arn,
        serviceDeploymentArn,
        updatedAt: '2026-01-01T00:02:00.000Z',
      },
    });
    const paused = await serviceDeployment(serviceDeploymentArn);
    expect(paused).toMatchObject({
      status: 'IN_PROGRESS',
      lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
      lifecycleHookDetails: [
        {
          hookId,
          targetType: 'PAUSE',
          status: 'AWAITING_ACTION',
          expiresAt: new Date('2026-01-01T01:02:00Z'),
          timeoutAction: 'ROLLBACK',
        },
      ],
    });

    sim.advance(30 * MINUTE); // paused: nothing moves
    expect((await describe()).deployments?.map((d) => d.rolloutState)).toEqual([
      'IN_PROGRESS',
      'COMPLETED',
    ]);

    expect(await proceed(serviceDeploymentArn, hookId, 'CONTINUE')).toMatchObject({
      serviceDeploymentArn,
    });
    expect((await serviceDeployment(serviceDeploymentArn)).lifecycleHookDetails?.[0]?.status).toBe(
      'SUCCEEDED',
    );
    sim.advance(5 * MINUTE); // the bake time
    expect((await describe()).deployments?.map((d) => [d.id, d.rolloutState])).toEqual([
      [id, 'COMPLETED'],
    ]);
    expect(names(sim.events)).toEqual([
      'SERVICE_DEPLOYMENT_IN_PROGRESS',
      'HOOK_AWAITING_ACTION',
      'HOOK_SUCCEEDED',
      'SERVICE_DEPLOYMENT_COMPLETED',
    ]);

    // A hook that is no longer awaiting action, an unknown hook, an unknown deployment.
    await expect(proceed(serviceDeploymentArn, hookId)).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
    await expect(proceed(serviceDeploymentArn, 'ecs-pause-nope')).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
    await expect(proceed(`${serviceDeploymentArn.slice(0, -3)}xyz`, hookId)).rejects.toMatchObject({
      name: 'ServiceDeploymentNotFoundException',
    });
  });

  it('a PRE_SCALE_UP hook holds the new tasks back until continued', async () => {
    const { sim, ecs, describe, deploy, serviceDeployment, proceed } = world({
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 1,
      lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['PRE_SCALE_UP'] }],
    });
    const { id, serviceDeploymentArn } = await deploy();
    const hook = (await serviceDeployment(serviceDeploymentArn)).lifecycleHookDetails?.[0];
    expect(hook).toMatchObject({
      status: 'AWAITING_ACTION',
      expiresAt: new Date('2026-01-02T00:00:00Z'), // the default timeout: 24 hours
      timeoutAction: 'ROLLBACK',
    });
    sim.advance(10 * MINUTE);
    const pending = await ecs.send(
      new ListTasksCommand({ cluster: 'prod', startedBy: id, desiredStatus: 'RUNNING' }),
    );
    expect(pending.taskArns).toEqual([]);

    await proceed(serviceDeploymentArn, hook?.hookId ?? '');
    expect((await describe()).deployments?.[0]).toMatchObject({ pendingCount: 2 });
    sim.advance(3 * MINUTE); // 2 minutes to start, 1 to bake
    expect((await describe()).deployments?.map((d) => d.rolloutState)).toEqual(['COMPLETED']);
  });

  it('ROLLBACK rolls the deployment back as the circuit breaker would', async () => {
    const { sim, arn, v1, describe, deploy, serviceDeployment, proceed } = world(
      {
        strategy: 'BLUE_GREEN',
        bakeTimeInMinutes: 5,
        lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['POST_SCALE_UP'] }],
      },
      { outcome: 'complete', afterMs: 2 * MINUTE, rollbackAfterMs: 3 * MINUTE },
    );
    const [seeded] = sim.deployments(arn);
    const { id, serviceDeploymentArn } = await deploy();
    sim.advance(2 * MINUTE);
    const hookId = hookEvents(sim.events)[0]?.detail.hookId ?? '';
    await proceed(serviceDeploymentArn, hookId, 'ROLLBACK');

    const rolling = await describe();
    const [rollback, failed, old] = rolling.deployments ?? [];
    expect(rolling.deployments?.map((d) => [d.status, d.rolloutState])).toEqual([
      ['PRIMARY', 'IN_PROGRESS'],
      ['ACTIVE', 'FAILED'],
      ['ACTIVE', 'COMPLETED'],
    ]);
    expect(failed?.id).toBe(id);
    expect(old?.id).toBe(seeded?.id);
    expect(rollback?.taskDefinition).toBe(v1);
    expect(rolling.taskDefinition).toBe(v1);
    expect(failed?.rolloutStateReason).toBe(
      `ECS deployment lifecycle hook ${hookId} requested a rollback at POST_SCALE_UP.`,
    );
    expect(rollback?.rolloutStateReason).toBe(
      `ECS deployment lifecycle hook: rolling back to deploymentId ${String(seeded?.id)}.`,
    );
    expect(await serviceDeployment(serviceDeploymentArn)).toMatchObject({
      status: 'ROLLBACK_IN_PROGRESS',
      lifecycleHookDetails: [{ hookId, status: 'FAILED' }],
    });

    sim.advance(3 * MINUTE);
    expect((await describe()).deployments?.map((d) => [d.id, d.rolloutState])).toEqual([
      [rollback?.id, 'COMPLETED'],
    ]);
    const done = await serviceDeployment(serviceDeploymentArn);
    expect(done).toMatchObject({
      status: 'ROLLBACK_SUCCESSFUL',
      rollback: {
        reason: `ECS deployment lifecycle hook: rolling back to deploymentId ${String(seeded?.id)}.`,
        startedAt: new Date('2026-01-01T00:02:00Z'),
        serviceRevisionArn: done.sourceServiceRevisions?.[0]?.arn,
      },
    });
    expect(names(sim.events)).toEqual([
      'SERVICE_DEPLOYMENT_IN_PROGRESS',
      'HOOK_AWAITING_ACTION',
      'HOOK_FAILED',
      'SERVICE_DEPLOYMENT_FAILED',
      'SERVICE_DEPLOYMENT_IN_PROGRESS',
      'SERVICE_DEPLOYMENT_COMPLETED',
    ]);
  });

  it('applies the timeout action when nobody acts: ROLLBACK by default, or CONTINUE', async () => {
    const hooked = (action?: 'ROLLBACK' | 'CONTINUE') =>
      world({
        strategy: 'BLUE_GREEN',
        bakeTimeInMinutes: 1,
        lifecycleHooks: [
          {
            targetType: 'PAUSE',
            lifecycleStages: ['POST_PRODUCTION_TRAFFIC_SHIFT'],
            timeoutConfiguration: { timeoutInMinutes: 15, ...(action && { action }) },
          },
        ],
      });

    const rolledBack = hooked();
    const first = await rolledBack.deploy();
    rolledBack.sim.advance(2 * MINUTE + 15 * MINUTE - 1);
    expect(names(rolledBack.sim.events).at(-1)).toBe('HOOK_AWAITING_ACTION');
    rolledBack.sim.advance(1);
    expect(names(rolledBack.sim.events).slice(-3)).toEqual([
      'HOOK_TIMED_OUT',
      'SERVICE_DEPLOYMENT_FAILED',
      'SERVICE_DEPLOYMENT_IN_PROGRESS',
    ]);
    expect(await rolledBack.serviceDeployment(first.serviceDeploymentArn)).toMatchObject({
      status: 'ROLLBACK_IN_PROGRESS',
      lifecycleStage: 'POST_PRODUCTION_TRAFFIC_SHIFT',
      lifecycleHookDetails: [{ status: 'TIMED_OUT', timeoutAction: 'ROLLBACK' }],
    });

    const continued = hooked('CONTINUE');
    const second = await continued.deploy();
    continued.sim.advance(2 * MINUTE + 15 * MINUTE);
    expect(names(continued.sim.events).at(-1)).toBe('HOOK_TIMED_OUT');
    expect(hookEvents(continued.sim.events).at(-1)?.detail.eventType).toBe('ERROR');
    continued.sim.advance(MINUTE); // the bake time
    expect(await continued.serviceDeployment(second.serviceDeploymentArn)).toMatchObject({
      status: 'SUCCESSFUL',
      lifecycleHookDetails: [{ status: 'TIMED_OUT', timeoutAction: 'CONTINUE' }],
    });
  });

  it('waits for every hook of a stage, and pauses LINEAR deployments before each traffic shift step', async () => {
    const both = world({
      strategy: 'BLUE_GREEN',
      lifecycleHooks: [
        { targetType: 'PAUSE', lifecycleStages: ['POST_SCALE_UP'] },
        { targetType: 'PAUSE', lifecycleStages: ['POST_SCALE_UP'] },
      ],
    });
    const deployment = await both.deploy();
    both.sim.advance(2 * MINUTE);
    const [a, b] = hookEvents(both.sim.events).map((e) => e.detail.hookId);
    await both.proceed(deployment.serviceDeploymentArn, a ?? '');
    expect((await both.serviceDeployment(deployment.serviceDeploymentArn)).status).toBe(
      'IN_PROGRESS',
    );
    await both.proceed(deployment.serviceDeploymentArn, b ?? '');
    expect((await both.serviceDeployment(deployment.serviceDeploymentArn)).status).toBe(
      'SUCCESSFUL',
    );

    const linear = world({
      strategy: 'LINEAR',
      linearConfiguration: { stepPercent: 50, stepBakeTimeInMinutes: 1 },
      lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT'] }],
    });
    const stepped = await linear.deploy();
    linear.sim.advance(2 * MINUTE);
    for (let step = 0; step < 2; step += 1) {
      const awaiting = hookEvents(linear.sim.events).at(-1);
      expect(awaiting?.detail.eventName).toBe('HOOK_AWAITING_ACTION');
      await linear.proceed(stepped.serviceDeploymentArn, awaiting?.detail.hookId ?? '');
    }
    const linearDone = await linear.serviceDeployment(stepped.serviceDeploymentArn);
    expect(linearDone.status).toBe('SUCCESSFUL');
    expect(new Set(linearDone.lifecycleHookDetails?.map((h) => h.hookId)).size).toBe(2);
  });

  it('a newer deployment supersedes a paused one: its hook can no longer be continued', async () => {
    const { sim, ecs, deploy, serviceDeployment, proceed } = world({
      strategy: 'BLUE_GREEN',
      lifecycleHooks: [
        { targetType: 'PAUSE', lifecycleStages: ['RECONCILE_SERVICE', 'PRE_SCALE_UP'] },
      ],
    });
    const first = await deploy();
    const hookId = hookEvents(sim.events)[0]?.detail.hookId ?? '';
    await ecs.send(
      new UpdateServiceCommand({ cluster: 'prod', service: 'web', forceNewDeployment: true }),
    );
    expect(await serviceDeployment(first.serviceDeploymentArn)).toMatchObject({
      status: 'STOPPED',
      lifecycleHookDetails: [{ hookId, status: 'FAILED' }],
    });
    await expect(proceed(first.serviceDeploymentArn, hookId)).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
    // The first deployment had one active revision to start from (no RECONCILE_SERVICE); the
    // newer one starts with two, so it reconciles first.
    const second = sim.deployments('web').at(-1)?.serviceDeploymentArn ?? '';
    expect(
      hookEvents(sim.events).map((e) => [e.detail.serviceDeploymentArn, e.detail.lifecycleStage]),
    ).toEqual([
      [first.serviceDeploymentArn, 'PRE_SCALE_UP'],
      [second, 'RECONCILE_SERVICE'],
    ]);
  });

  it('refuses configurations ECS refuses, and those the sim does not model', () => {
    const sim = new SimulatedAws();
    const td = sim.addTaskDefinition({ family: 'f', containerDefinitions: [{ name: 'app' }] });
    const seed = (name: string, deploymentConfiguration: DeploymentConfigurationSeed) => () =>
      sim.addService({ cluster: 'c', name, taskDefinition: td, deploymentConfiguration });
    expect(
      seed('a', {
        strategy: 'BLUE_GREEN',
        lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['TEST_TRAFFIC_SHIFT'] }],
      }),
    ).toThrow(/cannot be configured at TEST_TRAFFIC_SHIFT/);
    expect(
      seed('b', { lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['PRE_SCALE_UP'] }] }),
    ).toThrow(/BLUE_GREEN, LINEAR and CANARY only/);
    expect(
      seed('c', {
        strategy: 'CANARY',
        lifecycleHooks: [{ targetType: 'AWS_LAMBDA', lifecycleStages: ['PRE_SCALE_UP'] }],
      }),
    ).toThrow(/AWS_LAMBDA lifecycle hooks are not modelled/);
    expect(
      seed('d', {
        strategy: 'BLUE_GREEN',
        lifecycleHooks: [
          {
            targetType: 'PAUSE',
            lifecycleStages: ['PRE_SCALE_UP'],
            timeoutConfiguration: { timeoutInMinutes: 20_161 },
          },
        ],
      }),
    ).toThrow(/timeoutInMinutes/);
  });
});

describe('ListServiceDeployments and DescribeServiceDeployments', () => {
  it('filters by status and creation time, pages, and links each service deployment to its ecs-svc deployment', async () => {
    const { sim, ecs, arn, deploy, serviceDeployment } = world(
      { strategy: 'ROLLING' },
      { outcome: 'complete', afterMs: MINUTE },
    );
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      sim.advance(10 * MINUTE);
      ids.push((await deploy()).id);
      sim.advance(MINUTE);
    }
    sim.setBehaviour(arn, { outcome: 'hang' });
    sim.advance(10 * MINUTE);
    ids.push((await deploy()).id);
    const list = (input: Partial<ListServiceDeploymentsCommandInput>) =>
      ecs.send(new ListServiceDeploymentsCommand({ cluster: 'prod', service: 'web', ...input }));

    const all = await list({});
    expect(all.serviceDeployments?.map((d) => d.status)).toEqual([
      'IN_PROGRESS',
      'SUCCESSFUL',
      'SUCCESSFUL',
      'SUCCESSFUL',
      'SUCCESSFUL', // the seeded one
    ]);
    for (const summary of all.serviceDeployments ?? []) {
      expect(summary.serviceDeploymentArn).toMatch(
        /^arn:aws:ecs:us-east-1:123456789012:service-deployment\/prod\/web\/[A-Za-z0-9_-]{21}$/,
      );
      expect(summary.targetServiceRevisionArn).toMatch(
        /^arn:aws:ecs:us-east-1:123456789012:service-revision\/prod\/web\/\d{19}$/,
      );
    }
    // The target revision's digits are those of the `ecs-svc/` deployment that rolls it out.
    expect(
      all.serviceDeployments
        ?.slice(0, 4)
        .map((d) => `ecs-svc/${d.targetServiceRevisionArn?.split('/').pop() ?? ''}`),
    ).toEqual([...ids].reverse());

    expect((await list({ status: ['IN_PROGRESS'] })).serviceDeployments).toHaveLength(1);
    const recent = await list({
      status: ['SUCCESSFUL'],
      createdAt: { after: new Date('2026-01-01T00:20:00Z') },
    });
    expect(recent.serviceDeployments?.map((d) => d.startedAt)).toEqual([
      new Date('2026-01-01T00:32:00Z'),
      new Date('2026-01-01T00:21:00Z'),
    ]);
    const before = await list({ createdAt: { before: new Date('2026-01-01T00:00:00Z') } });
    expect(before.serviceDeployments).toHaveLength(1);

    const first = await list({ maxResults: 2 });
    expect(first.serviceDeployments).toHaveLength(2);
    const rest = await list({ maxResults: 2, nextToken: first.nextToken });
    const last = await list({ maxResults: 2, nextToken: rest.nextToken });
    expect(last.nextToken).toBeUndefined();
    expect(
      [first, rest, last].flatMap((p) => p.serviceDeployments?.map((d) => d.serviceDeploymentArn)),
    ).toEqual(all.serviceDeployments?.map((d) => d.serviceDeploymentArn));

    await expect(list({ status: ['DONE' as 'SUCCESSFUL'] })).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
    await expect(
      ecs.send(new ListServiceDeploymentsCommand({ cluster: 'prod', service: 'nope' })),
    ).rejects.toMatchObject({ name: 'ServiceNotFoundException' });

    const described = await serviceDeployment(
      all.serviceDeployments?.[0]?.serviceDeploymentArn ?? '',
    );
    expect(described).toMatchObject({
      status: 'IN_PROGRESS',
      deploymentConfiguration: { strategy: 'ROLLING' },
      targetServiceRevision: { requestedTaskCount: 2, runningTaskCount: 0, pendingTaskCount: 2 },
      sourceServiceRevisions: [{ runningTaskCount: 2 }],
    });
    expect(described.lifecycleStage).toBeUndefined();
    expect(described.lifecycleHookDetails).toBeUndefined();

    const missing = await ecs.send(
      new DescribeServiceDeploymentsCommand({
        serviceDeploymentArns: ['arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/x'],
      }),
    );
    expect(missing.failures).toEqual([
      {
        arn: 'arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/x',
        reason: 'MISSING',
      },
    ]);
    await expect(
      ecs.send(
        new DescribeServiceDeploymentsCommand({
          serviceDeploymentArns: Array.from({ length: 21 }, (_, i) => String(i)),
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });
});
