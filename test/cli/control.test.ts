/**
 * `ecs-redeployer resume` and `abort` against a rollout that halted on the simulated account:
 * the request is recorded, the waiting engine woken, and the engine's next look applies it.
 * `status` shows the waves and the halt.
 */
import { describe, expect, it } from 'vitest';
import { type ControlOptions, control } from '../../cli/control.js';
import { main } from '../../cli/main.js';
import { printRollout } from '../../cli/status.js';
import { processEvent } from '../../functions/redeploy/process.js';
import { RolloutStore } from '../../functions/rollout/store.js';
import { WAVES_TAG } from '../../functions/rollout/waves.js';
import { DB, ROLLOUT_TABLE, RolloutWorld } from '../helpers/rollout-world.js';
import { FakeClock, MemoryOutput } from './helpers.js';

const WAVES = { WAVES: '1,50%' };
const unusedCloudFormation = {
  send: () => Promise.reject(new Error('the table is given: no stack is read')),
};

/** Four services on the secret, the canary (a) failing: the rollout halts after wave 1. */
async function halted(): Promise<{ world: RolloutWorld; rolloutId: string }> {
  const world = new RolloutWorld({
    users: ['a', 'b', 'c', 'd'],
    circuitBreaker: { enable: true, rollback: false },
    secretTags: { [WAVES_TAG]: 'on' },
  });
  world.sim.setBehaviour('a', { outcome: 'fail', stoppedReason: 'CannotPullContainerError' });
  world.sim.putSecretValue(DB, { versionId: 'v-mar' });
  const report = await processEvent(world.labelUpdated('v-mar'), world.deps(WAVES));
  const rolloutId = report.outcome === 'handled' ? (report.rollout?.id ?? '') : '';
  const { result } = await world.drive(rolloutId, {}, WAVES);
  expect(result.status).toBe('HALTED');
  return { world, rolloutId };
}

async function run(
  world: RolloutWorld,
  options: Partial<ControlOptions> & Pick<ControlOptions, 'action'>,
): Promise<{ code: number; output: MemoryOutput }> {
  const output = new MemoryOutput();
  const code = await control(
    { latest: false, json: false, region: world.sim.region, table: ROLLOUT_TABLE, ...options },
    {
      clients: { cloudFormation: unusedCloudFormation, lambda: world.lambda },
      controlStore: (name) => new RolloutStore(world.dynamodb, name),
      output,
      clock: new FakeClock(world.sim.now()),
      user: () => 'alice',
    },
  );
  return { code, output };
}

describe('resume', () => {
  it('records the request, wakes the engine waiting for an operator, and the rollout goes on', async () => {
    const { world, rolloutId } = await halted();
    const waiting = (await world.store.rollout(rolloutId))?.operatorCallbackId;
    expect(waiting).toBeDefined();
    world.sim.setBehaviour('a', { outcome: 'complete' });

    const { code, output } = await run(world, { action: 'resume', change: rolloutId });

    expect(code).toBe(0);
    expect(output.stdout).toContain('resume recorded (by alice (ecs-redeployer resume))');
    expect(output.stdout).toContain('The rollout engine was woken: it acts now.');
    expect(world.sim.lambda.callbacks.map((c) => c.callbackId)).toEqual([waiting]);
    expect((await world.store.rollout(rolloutId))?.control).toMatchObject({
      action: 'resume',
      by: 'alice (ecs-redeployer resume)',
    });

    const { summary } = await world.drive(rolloutId, {}, WAVES);
    expect(summary?.counts).toEqual({ COMPLETED: 4 });
  });

  it('finds the newest open rollout of a secret by name', async () => {
    const { world, rolloutId } = await halted();
    const { code, output } = await run(world, { action: 'resume', change: DB, json: true });
    expect(code).toBe(0);
    expect(JSON.parse(output.stdout)).toMatchObject({ rolloutId, accepted: true, woke: true });
  });

  it('refuses a rollout that is not halted, and says why (exit 1)', async () => {
    const { world, rolloutId } = await halted();
    world.sim.setBehaviour('a', { outcome: 'complete' });
    await run(world, { action: 'resume', change: rolloutId });
    await world.drive(rolloutId, {}, WAVES); // the resume applied, the rollout went on to its end
    const { code, output } = await run(world, { action: 'resume', change: rolloutId });
    expect(code).toBe(1);
    expect(output.stderr).toMatch(/^Not done: rollout \S+ (is not halted|ended already)/);
  });
});

describe('abort', () => {
  it('ends the rollout at its next look: nothing more deployed, the rest reported owed', async () => {
    const { world, rolloutId } = await halted();
    const { code } = await run(world, { action: 'abort', latest: true, by: 'bob' });
    expect(code).toBe(0);

    const { result, summary } = await world.drive(rolloutId, {}, WAVES);

    expect(result.status).toBe('ABORTED');
    expect(summary?.counts).toEqual({ FAILED: 1, NEEDS_ACTION: 3 });
    expect(world.updates()).toEqual([world.serviceArn('a')]);
    expect(await world.store.rollout(rolloutId)).toMatchObject({ abortedBy: 'bob' });
  });

  it('is a usage error without a rollout or --latest, or with both', async () => {
    const output = new MemoryOutput();
    const deps = {
      env: {},
      output,
      clock: new FakeClock(new Date()),
      createClients: () => {
        throw new Error('no clients for a usage error');
      },
      profileRegion: () => Promise.resolve(undefined),
    };
    expect(await main(['abort'], deps)).toBe(2);
    expect(await main(['resume', 's-x-0123456789abcdef0123', '--latest'], deps)).toBe(2);
    expect(await main(['resume', '--by', ' ', '--latest'], deps)).toBe(2);
    expect(output.stderr).toContain(
      'abort takes a rollout id, secret or parameter, or --latest (one of them)',
    );
  });
});

describe('status of a rollout in waves', () => {
  it('shows the waves, the halt and how to go on; each service with its wave', async () => {
    const { world, rolloutId } = await halted();
    const rollout = await world.store.rollout(rolloutId);
    const services = await world.store.services(rolloutId);
    const output = new MemoryOutput();

    printRollout(rollout ?? ({} as never), services, world.sim.now(), output);

    expect(output.stdout).toContain('Waves:     wave 1 of 3 (tagged secret-redeployer:waves=on)');
    expect(output.stdout).toMatch(/^HALTED: +\S+, wave 1: prod\/a FAILED in wave 1: /m);
    expect(output.stdout).toContain(`fix the cause, then \`ecs-redeployer resume ${rolloutId}\``);
    expect(output.stdout).toMatch(/^WAVE +SERVICE +STATE/m);
    expect(output.stdout).toMatch(/^1 \(canary\) +prod\/a +FAILED/m);
    expect(output.stdout).toMatch(/^2 +prod\/b +PLANNED/m);
  });
});
