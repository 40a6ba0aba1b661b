import {
  DescribeServicesCommand,
  ECSClient,
  ListClustersCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { HANG, LOST, RESET, SimulatedAws, THROTTLED } from './index.js';

function world(options: { throttling?: boolean } = {}) {
  const sim = new SimulatedAws(options);
  const td = sim.addTaskDefinition({ family: 'web', containerDefinitions: [{ name: 'app' }] });
  for (const name of ['a', 'b']) sim.addService({ cluster: 'prod', name, taskDefinition: td });
  const ecs = sim.client(ECSClient);
  const update = (service = 'a', client = ecs, abortSignal?: AbortSignal) =>
    client.send(
      new UpdateServiceCommand({ cluster: 'prod', service, forceNewDeployment: true }),
      abortSignal ? { abortSignal } : {},
    );
  const deploymentsOf = async (service = 'a') => {
    const answer = await ecs.send(
      new DescribeServicesCommand({ cluster: 'prod', services: [service] }),
    );
    return answer.services?.[0]?.deployments ?? [];
  };
  return { sim, ecs, update, deploymentsOf };
}

describe('faults and the call log', () => {
  it('logs operations it does not implement and answers AccessDeniedException', async () => {
    const { sim, ecs } = world();
    await expect(
      ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'x',
          containerDefinitions: [{ name: 'c', image: 'i' }],
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(sim.calls({ service: 'ecs', outcome: 'AccessDeniedException' })).toMatchObject([
      {
        operation: 'RegisterTaskDefinition',
        input: { family: 'x' },
        applied: false,
        at: sim.now(),
      },
    ]);
  });

  it('throttles with ECS buckets refilled by the sim clock, and sim-time retries get through', async () => {
    const { sim, update } = world({ throttling: true });
    for (let i = 0; i < 50; i += 1) await update();
    await expect(update()).rejects.toMatchObject({
      name: 'ThrottlingException',
      message: 'Rate exceeded',
    });
    sim.advance(200); // 5 a second: one token
    await update();
    await expect(update()).rejects.toMatchObject({ name: 'ThrottlingException' });

    const patient = sim.client(ECSClient, { retryStrategy: sim.retryStrategy(3) });
    const before = sim.now().getTime();
    await update('a', patient);
    expect(sim.now().getTime() - before).toBe(500); // one throttled attempt, 500 ms of backoff
    expect(
      sim
        .calls('ecs.UpdateService')
        .slice(-2)
        .map((c) => c.outcome),
    ).toEqual(['ThrottlingException', 'ok']);
    expect(sim.count('ecs.UpdateService', 'ok')).toBe(52);
  });

  it('injects an error a number of times for matching requests only', async () => {
    const { sim, update } = world();
    const fault = sim.fault({
      operation: 'ecs.UpdateService',
      where: (input) => input.service === 'b',
      times: 2,
      reply: THROTTLED,
    });
    await update('a');
    await expect(update('b')).rejects.toMatchObject({ name: 'ThrottlingException' });
    await expect(update('b')).rejects.toMatchObject({ name: 'ThrottlingException' });
    await update('b');
    expect(fault.hits).toBe(2);
    expect(fault.remaining).toBe(0);
    expect(
      sim
        .calls({ operation: 'ecs.UpdateService', where: (input) => input.service === 'b' })
        .map((c) => [c.outcome, c.attempt, c.fault]),
    ).toEqual([
      ['ThrottlingException', 1, 'error'],
      ['ThrottlingException', 2, 'error'],
      ['ok', 3, undefined],
    ]);
    sim.fault({
      operation: 'ecs.*',
      times: Infinity,
      reply: { kind: 'error', code: 'ServiceUnavailableException', status: 503 },
    });
    await expect(update('a')).rejects.toMatchObject({
      name: 'ServiceUnavailableException',
      $metadata: { httpStatusCode: 503 },
    });
    sim.clearFaults();
    await update('a');
    expect(sim.count('ecs.*', 'ok')).toBe(3);
    expect(sim.count({ service: 'ecs', applied: false })).toBe(3);
  });

  it('resets the connection before anything is applied', async () => {
    const { sim, update, deploymentsOf } = world();
    sim.fault({ operation: 'ecs.UpdateService', reply: RESET });
    await expect(update()).rejects.toMatchObject({ code: 'ECONNRESET', name: 'TimeoutError' });
    expect(sim.calls('ecs.UpdateService')).toMatchObject([
      { outcome: 'reset', applied: false, fault: 'reset' },
    ]);
    expect(await deploymentsOf()).toHaveLength(1);
  });

  it('hangs until the caller aborts, or until the hang is released', async () => {
    const { sim, update } = world();
    sim.fault({ operation: 'ecs.UpdateService', times: 2, reply: HANG });
    const controller = new AbortController();
    const aborted = update('a', undefined, controller.signal);
    await sim.whenCalled('ecs.UpdateService');
    expect(sim.hanging).toBe(1);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect(sim.hanging).toBe(0);

    const released = update('b');
    await sim.whenCalled('ecs.UpdateService', 2);
    expect(sim.releaseHung()).toBe(1);
    await expect(released).rejects.toMatchObject({ code: 'ECONNRESET', message: 'socket hang up' });
    expect(sim.calls('ecs.UpdateService').map((c) => c.outcome)).toEqual(['hang', 'hang']);
  });

  it('applies a request whose answer is lost: the update IS visible afterwards', async () => {
    const { sim, update, deploymentsOf } = world();
    sim.fault({ operation: 'ecs.UpdateService', reply: LOST });
    await expect(update()).rejects.toMatchObject({
      name: 'InternalFailure',
      $metadata: { httpStatusCode: 500 },
    });
    const deployments = await deploymentsOf();
    expect(deployments.map((d) => [d.status, d.rolloutState])).toEqual([
      ['PRIMARY', 'IN_PROGRESS'],
      ['ACTIVE', 'COMPLETED'],
    ]);
    expect(sim.calls('ecs.UpdateService')).toMatchObject([
      { outcome: 'InternalFailure', applied: true, fault: 'lost' },
    ]);
    expect(sim.events).toHaveLength(1);

    // A client that retries applies it twice: the hazard the fault exists to show.
    sim.fault({ operation: 'ecs.UpdateService', reply: { kind: 'lost', then: 'reset' } });
    await update('b', sim.client(ECSClient, { retryStrategy: sim.retryStrategy(3) }));
    expect(await deploymentsOf('b')).toHaveLength(3);
    expect(
      sim
        .calls({ operation: 'ecs.UpdateService', where: (input) => input.service === 'b' })
        .map((c) => [c.outcome, c.applied]),
    ).toEqual([
      ['reset', true],
      ['ok', true],
    ]);

    sim.fault({ operation: 'ecs.ListClusters', reply: { kind: 'lost', then: 'hang' } });
    const hung = sim.client(ECSClient).send(new ListClustersCommand({}));
    await sim.whenCalled('ecs.ListClusters');
    sim.releaseHung();
    await expect(hung).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(sim.calls('ecs.ListClusters')).toMatchObject([{ outcome: 'hang', applied: true }]);
  });
});
