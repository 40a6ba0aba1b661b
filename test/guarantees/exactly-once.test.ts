/**
 * Exactly one deployment per service per change, with rollouts on (the construct's default):
 * every event of one change joins one rollout, and the claim on each service, a conditional
 * write, lets one invocation deploy it. Exact counts, every order and concurrency.
 */
import { describe, expect, it } from 'vitest';
import { processEvent } from '../../functions/redeploy/process.js';
import { DB, RolloutWorld } from '../helpers/rollout-world.js';

const HOUR = 3_600_000;

/** The world after a rotation to v-mar, with its three events as AWS sends them. */
function rotated(settleMs = 30_000): { world: RolloutWorld; events: object[] } {
  const world = new RolloutWorld();
  world.sim.secretsManager.cloudTrail = true;
  world.sim.rotate(DB, { versionId: 'v-mar' });
  const now = world.sim
    .now()
    .toISOString()
    .replace(/\.\d+Z$/, 'Z');
  const events = world.sim
    .takeEvents()
    .filter((event) => event.source === 'aws.secretsmanager')
    .filter((event) => {
      const detail = event.detail as { eventName?: string; labelUpdated?: string };
      // Secret Label Updated (AWSCURRENT), UpdateSecretVersionStage, RotationSucceeded: the
      // rotation's AWSPENDING write matches no rule.
      return (
        detail.labelUpdated === 'AWSCURRENT' ||
        detail.eventName === 'UpdateSecretVersionStage' ||
        detail.eventName === 'RotationSucceeded'
      );
    })
    .map((event) => ({ ...event, time: now }));
  expect(events).toHaveLength(3);
  world.sim.advance(settleMs); // the settle window
  return { world, events };
}

function perService(world: RolloutWorld): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const arn of world.updates()) counts[arn] = (counts[arn] ?? 0) + 1;
  return counts;
}

const once = (world: RolloutWorld): Record<string, number> =>
  Object.fromEntries(world.userArns.map((arn) => [arn, 1]));

describe('one rotation, three events: exactly one deployment per service', () => {
  it('in order, each in a new execution environment', async () => {
    const { world, events } = rotated();
    for (const event of events) await processEvent(event, world.deps());
    expect(perService(world)).toEqual(once(world));
  });

  it('in reverse order, in one environment', async () => {
    const { world, events } = rotated();
    const deps = world.deps();
    for (const event of [...events].reverse()) await processEvent(event, deps);
    expect(perService(world)).toEqual(once(world));
  });

  it.each([
    ['after the settle window', 30_000],
    ['the moment they happen (settle window 0)', 0],
  ])('all three handled at the same moment by three environments, %s', async (_when, settle) => {
    const { world, events } = rotated(settle);
    await Promise.all(events.map((event) => processEvent(event, world.deps())));
    expect(perService(world)).toEqual(once(world));
    expect(world.updatesSent()).toBe(world.userArns.length);
  });

  it('redelivered an hour later, after the rollout ended: nothing more', async () => {
    const { world, events } = rotated();
    const [first] = events;
    const report = await processEvent(first, world.deps());
    const rolloutId = report.outcome === 'handled' ? (report.rollout?.id ?? '') : '';
    await world.drive(rolloutId);
    world.sim.advance(HOUR);

    for (const event of events) await processEvent(event, world.deps());

    expect(perService(world)).toEqual(once(world));
  });

  it('with every UpdateService answer lost after ECS applied it, and every event delivered twice', async () => {
    const { world, events } = rotated();
    world.sim.fault({ operation: 'ecs.UpdateService', reply: { kind: 'lost', then: 'reset' } });

    await Promise.all([...events, ...events].map((event) => processEvent(event, world.deps())));

    expect(perService(world)).toEqual(once(world));
    expect(world.updatesSent()).toBe(world.userArns.length);
  });
});
