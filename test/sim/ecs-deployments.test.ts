import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  paginateListTasks,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import {
  type DeploymentBehaviour,
  type EcsDeploymentDetail,
  type SimEvent,
  SimulatedAws,
} from './index.js';

const MINUTE = 60_000;

function world(
  options: {
    circuitBreaker?: { enable: boolean; rollback: boolean };
    behaviour?: DeploymentBehaviour;
  } = {},
) {
  const sim = new SimulatedAws();
  const v1 = sim.addTaskDefinition({ family: 'web', containerDefinitions: [{ name: 'app' }] });
  const v2 = sim.addTaskDefinition({ family: 'web', containerDefinitions: [{ name: 'app' }] });
  const arn = sim.addService({
    cluster: 'prod',
    name: 'web',
    taskDefinition: v1,
    ...(options.circuitBreaker && { circuitBreaker: options.circuitBreaker }),
    ...(options.behaviour && { behaviour: options.behaviour }),
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
  const force = () =>
    ecs.send(
      new UpdateServiceCommand({ cluster: 'prod', service: 'web', forceNewDeployment: true }),
    );
  return { sim, ecs, arn, v1, v2, describe, force };
}

const details = (events: readonly SimEvent[]) =>
  events.map((e) => {
    const detail = e.detail as EcsDeploymentDetail;
    return `${detail.eventName} ${detail.deploymentId} ${detail.eventType}`;
  });

describe('ECS deployment life cycle', () => {
  it('starts a PRIMARY deployment IN_PROGRESS, demotes the old one to ACTIVE, then completes after 5 minutes', async () => {
    const { sim, arn, v1, describe, force } = world();
    const [seeded] = sim.deployments(arn);
    sim.advance(MINUTE);

    const answer = await force();
    const deployments = answer.service?.deployments ?? [];
    expect(deployments.map((d) => [d.status, d.rolloutState])).toEqual([
      ['PRIMARY', 'IN_PROGRESS'],
      ['ACTIVE', 'COMPLETED'],
    ]);
    const primary = deployments[0];
    expect(primary?.createdAt).toEqual(sim.now());
    expect(primary?.taskDefinition).toBe(v1);
    expect(primary).toMatchObject({ desiredCount: 2, runningCount: 0, pendingCount: 2 });
    expect(primary?.rolloutStateReason).toBe(`ECS deployment ${String(primary?.id)} in progress.`);
    expect(deployments[1]?.id).toBe(seeded?.id);

    sim.advance(5 * MINUTE - 1);
    expect((await describe()).deployments).toHaveLength(2);
    sim.advance(1);
    const after = await describe();
    expect(after.deployments?.map((d) => [d.id, d.status, d.rolloutState])).toEqual([
      [primary?.id, 'PRIMARY', 'COMPLETED'],
    ]);
    expect(after).toMatchObject({ runningCount: 2, pendingCount: 0 });
    expect(sim.deployments(arn).map((d) => d.status)).toEqual(['INACTIVE', 'PRIMARY']);

    const events = sim.takeEvents();
    expect(details(events)).toEqual([
      `SERVICE_DEPLOYMENT_IN_PROGRESS ${String(primary?.id)} INFO`,
      `SERVICE_DEPLOYMENT_COMPLETED ${String(primary?.id)} INFO`,
    ]);
    expect(events[1]).toEqual({
      version: '0',
      id: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      ) as unknown,
      'detail-type': 'ECS Deployment State Change',
      source: 'aws.ecs',
      account: '123456789012',
      time: '2026-01-01T00:06:00Z',
      region: 'us-east-1',
      resources: [arn],
      detail: {
        eventType: 'INFO',
        eventName: 'SERVICE_DEPLOYMENT_COMPLETED',
        deploymentId: primary?.id,
        updatedAt: '2026-01-01T00:06:00.000Z',
        reason: `ECS deployment ${String(primary?.id)} completed.`,
      },
    });
  });

  it('deploys a new task definition and completes after the configured delay', async () => {
    const { sim, ecs, arn, v2, describe } = world({
      behaviour: { outcome: 'complete', afterMs: 30_000 },
    });
    await ecs.send(
      new UpdateServiceCommand({ cluster: 'prod', service: 'web', taskDefinition: 'web:2' }),
    );
    expect((await describe()).taskDefinition).toBe(v2);
    sim.advance(30_000);
    expect(sim.deployments(arn).at(-1)).toMatchObject({
      rolloutState: 'COMPLETED',
      taskDefinition: v2,
    });
    expect(sim.events).toHaveLength(2);
  });

  it('fails with the circuit breaker and rolls back to the last completed deployment', async () => {
    const { sim, ecs, arn, v1, describe } = world({
      circuitBreaker: { enable: true, rollback: true },
      behaviour: { outcome: 'fail', afterMs: 2 * MINUTE, rollbackAfterMs: 3 * MINUTE },
    });
    const [seeded] = sim.deployments(arn);
    await ecs.send(
      new UpdateServiceCommand({ cluster: 'prod', service: 'web', taskDefinition: 'web:2' }),
    );
    sim.advance(2 * MINUTE);

    const rolling = await describe();
    const [rollback, failed, old] = rolling.deployments ?? [];
    expect(rolling.deployments?.map((d) => [d.status, d.rolloutState])).toEqual([
      ['PRIMARY', 'IN_PROGRESS'],
      ['ACTIVE', 'FAILED'],
      ['ACTIVE', 'COMPLETED'],
    ]);
    expect(rollback?.taskDefinition).toBe(v1);
    expect(rollback?.rolloutStateReason).toBe(
      `ECS deployment circuit breaker: rolling back to deploymentId ${String(seeded?.id)}.`,
    );
    expect(failed?.rolloutStateReason).toBe(
      'ECS deployment circuit breaker: tasks failed to start.',
    );
    expect(failed?.failedTasks).toBe(3);
    expect(old?.id).toBe(seeded?.id);
    expect(rolling.taskDefinition).toBe(v1);

    sim.advance(3 * MINUTE);
    const done = await describe();
    expect(done.deployments?.map((d) => [d.id, d.status, d.rolloutState])).toEqual([
      [rollback?.id, 'PRIMARY', 'COMPLETED'],
    ]);

    const events = sim.takeEvents();
    expect(details(events)).toEqual([
      `SERVICE_DEPLOYMENT_IN_PROGRESS ${String(failed?.id)} INFO`,
      `SERVICE_DEPLOYMENT_FAILED ${String(failed?.id)} ERROR`,
      `SERVICE_DEPLOYMENT_IN_PROGRESS ${String(rollback?.id)} INFO`,
      `SERVICE_DEPLOYMENT_COMPLETED ${String(rollback?.id)} INFO`,
    ]);
    expect((events[1]?.detail as EcsDeploymentDetail).reason).toBe(
      'ECS deployment circuit breaker: tasks failed to start.',
    );
    expect((events[2]?.detail as EcsDeploymentDetail).reason).toBe(
      `ECS deployment circuit breaker: rolling back to deploymentId ${String(seeded?.id)}.`,
    );

    // The failed deployment's tasks are discoverable with their stopped reason.
    const stopped = await ecs.send(
      new ListTasksCommand({ cluster: 'prod', desiredStatus: 'STOPPED', startedBy: failed?.id }),
    );
    expect(stopped.taskArns).toHaveLength(3);
    const tasks = await ecs.send(
      new DescribeTasksCommand({ cluster: 'prod', tasks: stopped.taskArns }),
    );
    for (const task of tasks.tasks ?? []) {
      expect(task.stoppedReason).toMatch(
        /^ResourceInitializationError: unable to pull secrets or registry auth/,
      );
      expect(task).toMatchObject({
        lastStatus: 'STOPPED',
        stopCode: 'TaskFailedToStart',
        startedBy: failed?.id,
      });
      expect(task.containers?.[0]?.exitCode).toBeUndefined();
    }

    // The service deployment API tells the same story.
    const listed = await ecs.send(
      new ListServiceDeploymentsCommand({ cluster: 'prod', service: 'web' }),
    );
    expect(listed.serviceDeployments?.map((d) => d.status)).toEqual([
      'ROLLBACK_SUCCESSFUL',
      'SUCCESSFUL',
    ]);
    const described = await ecs.send(
      new DescribeServiceDeploymentsCommand({
        serviceDeploymentArns: [listed.serviceDeployments?.[0]?.serviceDeploymentArn ?? ''],
      }),
    );
    expect(described.serviceDeployments?.[0]).toMatchObject({
      status: 'ROLLBACK_SUCCESSFUL',
      deploymentCircuitBreaker: { status: 'TRIGGERED', failureCount: 3, threshold: 3 },
      rollback: {
        reason: `ECS deployment circuit breaker: rolling back to deploymentId ${String(seeded?.id)}.`,
      },
    });
  });

  it('fails with the circuit breaker and no rollback: the failed deployment stays PRIMARY and the old one keeps running', async () => {
    const { sim, ecs, describe, force } = world({
      circuitBreaker: { enable: true, rollback: false },
      behaviour: {
        outcome: 'fail',
        afterMs: MINUTE,
        exitCode: 1,
        stoppedReason: 'Essential container in task exited',
      },
    });
    await force();
    sim.advance(MINUTE);
    const service = await describe();
    expect(service.deployments?.map((d) => [d.status, d.rolloutState, d.runningCount])).toEqual([
      ['PRIMARY', 'FAILED', 0],
      ['ACTIVE', 'COMPLETED', 2],
    ]);
    sim.advance(60 * MINUTE);
    expect((await describe()).deployments).toHaveLength(2);
    expect(details(sim.events).map((d) => d.split(' ')[0])).toEqual([
      'SERVICE_DEPLOYMENT_IN_PROGRESS',
      'SERVICE_DEPLOYMENT_FAILED',
    ]);
    const failedId = service.deployments?.[0]?.id;
    const stopped = await ecs.send(
      new ListTasksCommand({ cluster: 'prod', desiredStatus: 'STOPPED', startedBy: failedId }),
    );
    const tasks = await ecs.send(
      new DescribeTasksCommand({ cluster: 'prod', tasks: stopped.taskArns }),
    );
    expect(tasks.tasks?.[0]).toMatchObject({
      stoppedReason: 'Essential container in task exited',
      stopCode: 'EssentialContainerExited',
    });
    expect(tasks.tasks?.[0]?.containers?.[0]?.exitCode).toBe(1);
  });

  it('without the circuit breaker a failing deployment stays IN_PROGRESS for ever and sends no FAILED event', async () => {
    const { sim, ecs, describe, force } = world({
      behaviour: { outcome: 'fail', afterMs: MINUTE },
    });
    await force();
    sim.advance(10 * MINUTE);
    const service = await describe();
    const primary = service.deployments?.[0];
    expect(primary).toMatchObject({
      status: 'PRIMARY',
      rolloutState: 'IN_PROGRESS',
      failedTasks: 20,
      pendingCount: 2,
    });
    expect(service.deployments?.[1]).toMatchObject({ status: 'ACTIVE', runningCount: 2 });
    expect(details(sim.events).map((d) => d.split(' ')[0])).toEqual([
      'SERVICE_DEPLOYMENT_IN_PROGRESS',
    ]);
    const stopped = await ecs.send(
      new ListTasksCommand({ cluster: 'prod', desiredStatus: 'STOPPED', startedBy: primary?.id }),
    );
    expect(stopped.taskArns).toHaveLength(20);

    // Stopped tasks are visible for an hour, then gone.
    sim.advance(2 * 60 * MINUTE);
    let visible = 0;
    for await (const page of paginateListTasks(
      { client: ecs },
      { cluster: 'prod', desiredStatus: 'STOPPED', startedBy: primary?.id },
    )) {
      visible += page.taskArns?.length ?? 0;
    }
    expect(visible).toBe(2 * 61); // the batches of minutes 70 to 130
    expect((await describe()).deployments?.[0]?.failedTasks).toBe(260);
  });

  it('a hanging deployment never ends', async () => {
    const { sim, describe, force } = world({ behaviour: { outcome: 'hang' } });
    await force();
    sim.advance(24 * 60 * MINUTE);
    const service = await describe();
    expect(service.deployments?.map((d) => [d.status, d.rolloutState])).toEqual([
      ['PRIMARY', 'IN_PROGRESS'],
      ['ACTIVE', 'COMPLETED'],
    ]);
    expect(service.pendingCount).toBe(2);
    expect(sim.events).toHaveLength(1);
  });

  it('a second UpdateService supersedes the deployment in progress', async () => {
    const { sim, ecs, arn, describe, force } = world();
    const first = (await force()).service?.deployments?.[0]?.id;
    sim.advance(2 * MINUTE);
    const second = (await force()).service?.deployments?.[0]?.id;
    expect((await describe()).deployments?.map((d) => [d.id, d.status, d.rolloutState])).toEqual([
      [second, 'PRIMARY', 'IN_PROGRESS'],
      [first, 'ACTIVE', 'IN_PROGRESS'],
      [sim.deployments(arn)[0]?.id, 'ACTIVE', 'COMPLETED'],
    ]);
    sim.advance(3 * MINUTE); // the first one's timer would have fired now: it does not
    expect((await describe()).deployments).toHaveLength(3);
    sim.advance(2 * MINUTE);
    expect((await describe()).deployments?.map((d) => d.id)).toEqual([second]);
    expect(details(sim.events)).toEqual([
      `SERVICE_DEPLOYMENT_IN_PROGRESS ${String(first)} INFO`,
      `SERVICE_DEPLOYMENT_IN_PROGRESS ${String(second)} INFO`,
      `SERVICE_DEPLOYMENT_COMPLETED ${String(second)} INFO`,
    ]);
    const listed = await ecs.send(
      new ListServiceDeploymentsCommand({ cluster: 'prod', service: 'web' }),
    );
    expect(listed.serviceDeployments?.map((d) => d.status)).toEqual([
      'SUCCESSFUL',
      'STOPPED',
      'SUCCESSFUL',
    ]);
  });

  it('applies a behaviour change to the next deployment', async () => {
    const { sim, arn, describe, force } = world();
    sim.setBehaviour(arn, { outcome: 'hang' });
    await force();
    sim.advance(60 * MINUTE);
    expect((await describe()).deployments?.[0]?.rolloutState).toBe('IN_PROGRESS');
    sim.setBehaviour('web', { outcome: 'complete', afterMs: MINUTE });
    await force();
    sim.advance(MINUTE);
    expect((await describe()).deployments?.map((d) => d.rolloutState)).toEqual(['COMPLETED']);
  });

  it('emits events in time order across services', async () => {
    const sim = new SimulatedAws();
    const td = sim.addTaskDefinition({ family: 'f', containerDefinitions: [{ name: 'app' }] });
    const ecs = sim.client(ECSClient);
    for (const [name, afterMs] of [
      ['slow', 3 * MINUTE],
      ['fast', MINUTE],
    ] as const) {
      sim.addService({
        cluster: 'c',
        name,
        taskDefinition: td,
        behaviour: { outcome: 'complete', afterMs },
      });
      await ecs.send(
        new UpdateServiceCommand({ cluster: 'c', service: name, forceNewDeployment: true }),
      );
    }
    sim.advance(10 * MINUTE);
    expect(
      sim
        .takeEvents()
        .map((e) => [
          e.resources[0]?.split('/').pop(),
          (e.detail as EcsDeploymentDetail).eventName,
          e.time,
        ]),
    ).toEqual([
      ['slow', 'SERVICE_DEPLOYMENT_IN_PROGRESS', '2026-01-01T00:00:00Z'],
      ['fast', 'SERVICE_DEPLOYMENT_IN_PROGRESS', '2026-01-01T00:00:00Z'],
      ['fast', 'SERVICE_DEPLOYMENT_COMPLETED', '2026-01-01T00:01:00Z'],
      ['slow', 'SERVICE_DEPLOYMENT_COMPLETED', '2026-01-01T00:03:00Z'],
    ]);
  });
});
