/**
 * A bad rotation contained: the rollout goes in waves on the simulated account, a failing canary
 * or a watched alarm halts it, an operator resumes or aborts it. Time is the sim's clock.
 */
import { describe, expect, it } from 'vitest';
import {
  type ChangeReport,
  type Report,
  processEvent,
} from '../../../functions/redeploy/process.js';
import { requestControl } from '../../../functions/rollout/control.js';
import { LambdaEngineControl } from '../../../functions/rollout/engine-client.js';
import { WAVES_TAG } from '../../../functions/rollout/waves.js';
import { DB, RolloutWorld } from '../../helpers/rollout-world.js';

function handled(report: Report): ChangeReport {
  if (report.outcome !== 'handled') throw new Error(`ignored: ${report.reason}`);
  return report;
}

const MINUTE = 60_000;
const WAVES = { WAVES: '1,10%,50%' };
const users = Array.from({ length: 20 }, (_, i) => `svc-${String(i + 1).padStart(2, '0')}`);
const CANARY_FAILURE = 'ResourceInitializationError: unable to pull secrets or registry auth';

/** 20 services on the secret, circuit breaker with rollback, the canary (svc-01) failing. */
function fleetWithBadCanary(options: { readonly rollback?: boolean } = {}): RolloutWorld {
  const world = new RolloutWorld({
    users,
    circuitBreaker: { enable: true, rollback: options.rollback ?? true },
    secretTags: { [WAVES_TAG]: 'on' },
  });
  world.sim.setBehaviour('svc-01', { outcome: 'fail', stoppedReason: CANARY_FAILURE, exitCode: 1 });
  return world;
}

async function change(world: RolloutWorld, env: Record<string, string> = WAVES) {
  world.sim.putSecretValue(DB, { versionId: 'v-mar' });
  const report = handled(await processEvent(world.labelUpdated('v-mar'), world.deps(env)));
  return { report, rolloutId: report.rollout?.id ?? '' };
}

const control = (world: RolloutWorld) => ({
  store: world.store,
  now: () => world.sim.now(),
  engine: new LambdaEngineControl(world.lambda, world.engineArn),
});

describe('the canary fails: the rollout halts with the fleet untouched', () => {
  it('20 services: only the canary is deployed, one notification names its failure, the gauge says halted', async () => {
    const world = fleetWithBadCanary();
    const { report, rolloutId } = await change(world);

    expect(report.redeployed).toEqual([world.serviceArn('svc-01')]);
    expect(report.planned).toHaveLength(19);
    const { result } = await world.drive(rolloutId, {}, WAVES);

    expect(result.status).toBe('HALTED');
    expect(world.updates()).toEqual([world.serviceArn('svc-01')]); // 19 untouched
    const rollout = await world.store.rollout(rolloutId);
    expect(rollout).toMatchObject({
      status: 'OPEN',
      currentWave: 1,
      waves: { count: 4 },
      halted: { wave: 1, services: [world.serviceArn('svc-01')], notified: true },
    });
    expect(world.notifications).toHaveLength(1);
    const [note] = world.notifications;
    expect(note?.subject).toBe(
      'ECS secret redeployer: secret prod/orders/db: rollout HALTED in wave 1 of 4',
    );
    expect(note?.message).toContain(`prod/svc-01: ROLLED_BACK`);
    expect(note?.message).toContain(CANARY_FAILURE);
    expect(note?.message).toContain('exit code 1');
    expect(note?.message).toContain('Still on the previous value, not started (19)');
    expect(note?.message).toContain(`npx ecs-redeployer resume ${rolloutId}`);
    expect(note?.message).toContain(`npx ecs-redeployer abort ${rolloutId}`);
    expect(note?.message).toContain('aws lambda send-durable-execution-callback-success');
    expect(world.haltedGauge.at(-1)).toBe(1);

    // Another execution (a restart) finds the halt notified: no second notification.
    world.sim.advance(2 * 3600_000);
    await world.drive(rolloutId, {}, WAVES);
    expect(world.notifications).toHaveLength(1);
    expect(world.updates()).toEqual([world.serviceArn('svc-01')]);
  });

  it('the halted engine waits for an operator for hours at a time, not at the poll', async () => {
    const world = fleetWithBadCanary();
    const { rolloutId } = await change(world);
    const { waits } = await world.drive(rolloutId, {}, WAVES);
    expect(waits.at(-1)).toBe(3600);
  });
});

describe('operator control', () => {
  it('resume after a fix: the canary is deployed again, then every wave, to the end', async () => {
    // No rollback: the canary keeps its old tasks (a rolled-back canary whose rollback completed
    // after the change runs new tasks, which read the new value: it is not deployed again).
    const world = fleetWithBadCanary({ rollback: false });
    const { rolloutId } = await change(world);
    await world.drive(rolloutId, {}, WAVES);
    world.sim.setBehaviour('svc-01', { outcome: 'complete' }); // the grant was added

    const outcome = await requestControl(control(world), rolloutId, {
      action: 'resume',
      by: 'alice',
    });
    expect(outcome.accepted).toBe(true);
    const { result, summary } = await world.drive(rolloutId, {}, WAVES);

    expect(result.status).toBe('DONE');
    expect(summary?.counts).toEqual({ COMPLETED: 20 });
    expect(world.updates()).toEqual(
      [world.serviceArn('svc-01'), ...world.userArns].sort(), // the canary twice, the rest once
    );
    expect(world.notifications.map((n) => n.subject)).toEqual([
      'ECS secret redeployer: secret prod/orders/db: rollout HALTED in wave 1 of 4',
      'ECS secret redeployer: secret prod/orders/db: rollout ended, 20 completed',
    ]);
    expect(world.haltedGauge.at(-1)).toBe(0);
    const rollout = await world.store.rollout(rolloutId);
    expect(rollout?.halted).toBeUndefined();
    expect(rollout?.currentWave).toBe(4);
  });

  it('waves go in order: no service of a wave starts before the wave before it completed', async () => {
    const world = new RolloutWorld({ users, secretTags: { [WAVES_TAG]: 'on' } });
    const { rolloutId } = await change(world);
    const since = world.sim.now().getTime();
    await world.drive(rolloutId, {}, WAVES);

    const forced = (name: string) =>
      world.sim.deployments(name).filter((d) => d.createdAt.getTime() >= since);
    const started = (name: string): number =>
      Math.min(...forced(name).map((d) => d.createdAt.getTime()));
    const ended = (name: string): number =>
      Math.max(...forced(name).map((d) => d.updatedAt.getTime()));
    const waves = [['svc-01'], ['svc-02', 'svc-03'], users.slice(3, 13), users.slice(13)];
    for (let i = 1; i < waves.length; i += 1) {
      const previousEnd = Math.max(...(waves[i - 1] ?? []).map(ended));
      const firstStart = Math.min(...(waves[i] ?? []).map(started));
      expect(firstStart).toBeGreaterThanOrEqual(previousEnd);
    }
  });

  it('resume through the callback alone (the AWS CLI path): {"action":"resume"} as the result', async () => {
    const world = fleetWithBadCanary();
    const { rolloutId } = await change(world);
    world.sim.setBehaviour('svc-01', { outcome: 'complete' });
    let asked = 0;

    const { result, summary } = await world.drive(rolloutId, {}, WAVES, {
      operator: () => {
        asked += 1;
        return Promise.resolve(JSON.stringify({ action: 'resume', by: 'bob' }));
      },
    });

    expect(asked).toBe(1);
    expect(result.status).toBe('DONE');
    expect(summary?.counts).toEqual({ COMPLETED: 20 });
  });

  it('abort: nothing more is started; the services not deployed are reported as owed', async () => {
    const world = fleetWithBadCanary();
    const { rolloutId } = await change(world);
    await world.drive(rolloutId, {}, WAVES);

    const outcome = await requestControl(control(world), rolloutId, {
      action: 'abort',
      by: 'carol',
    });
    expect(outcome.accepted).toBe(true);
    const { result, summary } = await world.drive(rolloutId, {}, WAVES);

    expect(result.status).toBe('ABORTED');
    expect(summary?.counts).toEqual({ ROLLED_BACK: 1, NEEDS_ACTION: 19 });
    expect(summary?.owed).toHaveLength(20);
    expect(summary?.owed.find((s) => s.service === world.serviceArn('svc-02'))?.reason).toMatch(
      /^not deployed: the rollout was aborted by carol after wave 1 halted: prod\/svc-01 ROLLED_BACK/,
    );
    expect(world.updates()).toEqual([world.serviceArn('svc-01')]);
    expect(world.notifications.at(-1)?.subject).toBe(
      'ECS secret redeployer: secret prod/orders/db: rollout aborted, 0 completed, 20 need attention',
    );
    expect(await world.store.rollout(rolloutId)).toMatchObject({
      status: 'ABORTED',
      abortedBy: 'carol',
    });
    expect(world.haltedGauge.at(-1)).toBe(0);
  });

  it('refuses what cannot apply: resume of a rollout that is not halted, anything on an ended one', async () => {
    const world = new RolloutWorld({ users: ['api'] });
    const { rolloutId } = await change(world);
    const deps = control(world);

    expect(await requestControl(deps, rolloutId, { action: 'resume' })).toEqual({
      accepted: false,
      reason: `rollout ${rolloutId} is not halted: there is nothing to resume`,
    });
    expect(await requestControl(deps, 'no-such-rollout', { action: 'abort' })).toEqual({
      accepted: false,
      reason: 'no rollout no-such-rollout',
    });
    await world.drive(rolloutId);
    const late = await requestControl(deps, rolloutId, { action: 'abort' });
    expect(late.accepted).toBe(false);
    expect(!late.accepted && late.reason).toMatch(/ended already \(DONE/);
  });

  it('an abort that comes while a resume is being applied wins', async () => {
    const world = fleetWithBadCanary();
    const { rolloutId } = await change(world);
    await world.drive(rolloutId, {}, WAVES);
    await requestControl(control(world), rolloutId, { action: 'resume' });
    const resume = (await world.store.rollout(rolloutId))?.control;
    await world.store.updateRollout(rolloutId, {
      control: { action: 'abort', at: world.sim.now().toISOString() + 'x' },
    });
    // The engine removes the request only if it is still the resume it applied.
    const removed = await world.store.updateRollout(
      rolloutId,
      {},
      { remove: ['control'], onlyIf: 'open', controlAt: resume?.at ?? '' },
    );
    expect(removed).toBe(false);
    expect((await world.store.rollout(rolloutId))?.control?.action).toBe('abort');
  });
});

describe('watched alarms', () => {
  it('an alarm going off during the bake halts before the next wave', async () => {
    const world = new RolloutWorld({ users, secretTags: { [WAVES_TAG]: 'on' } });
    world.sim.addAlarm('orders-5xx', 'OK');
    const env = { ...WAVES, WAVE_BAKE_SECONDS: '900', WAVE_ALARMS: 'orders-5xx' };
    const { rolloutId } = await change(world, env);
    // The canary completes after 5 minutes; the load balancer's 5xx alarm goes off 5 minutes
    // into its 15-minute bake.
    world.sim.at(new Date(world.sim.now().getTime() + 10 * MINUTE), () => {
      world.sim.setAlarmState('orders-5xx', 'ALARM', 'Threshold Crossed: 12 5xx in 1 minute');
    });

    const { result } = await world.drive(rolloutId, {}, env);

    expect(result.status).toBe('HALTED');
    expect(world.updates()).toEqual([world.serviceArn('svc-01')]);
    const rollout = await world.store.rollout(rolloutId);
    expect(rollout?.halted?.reason).toBe(
      'alarm orders-5xx is ALARM: Threshold Crossed: 12 5xx in 1 minute (wave 1)',
    );
    expect(world.notifications[0]?.message).toContain('Running the new value (1)');
  });

  it('an alarm after the last wave ended changes nothing: the rollout is done', async () => {
    const world = new RolloutWorld({ users: ['a', 'b'], secretTags: { [WAVES_TAG]: 'on' } });
    world.sim.addAlarm('orders-5xx', 'OK');
    const env = { WAVES: '1', WAVE_ALARMS: 'orders-5xx' };
    const { rolloutId } = await change(world, env);
    world.sim.at(new Date(world.sim.now().getTime() + 10 * MINUTE), () => {
      world.sim.setAlarmState('orders-5xx', 'ALARM');
    });

    const { result, summary } = await world.drive(rolloutId, {}, env);

    expect(result.status).toBe('DONE');
    expect(summary?.counts).toEqual({ COMPLETED: 2 });
    expect(world.notifications.map((n) => n.subject)).toEqual([
      'ECS secret redeployer: secret prod/orders/db: rollout ended, 2 completed',
    ]);
  });

  it('the bake is waited for even with every alarm OK', async () => {
    const world = new RolloutWorld({
      users: ['a', 'b'],
      secretTags: { [WAVES_TAG]: 'on' },
    });
    world.sim.addAlarm('orders-5xx', 'OK');
    const env = { WAVES: '1', WAVE_BAKE_SECONDS: '1800', WAVE_ALARMS: 'orders-5xx' };
    const { rolloutId } = await change(world, env);
    const start = world.sim.now().getTime();

    const { result } = await world.drive(rolloutId, {}, env);

    expect(result.status).toBe('DONE');
    const second = world.sim
      .deployments('b')
      .map((d) => d.createdAt.getTime())
      .filter((t) => t >= start);
    expect(second).toHaveLength(1);
    // The canary's 5 minutes, then its 30-minute bake.
    expect(Math.min(...second) - start).toBeGreaterThanOrEqual(35 * MINUTE);
    expect(Math.min(...second) - start).toBeLessThanOrEqual(37 * MINUTE);
  });
});

describe('which changes go in waves', () => {
  it('an RDS-managed secret (single-user rotation) is not held back: every service at once', async () => {
    const world = new RolloutWorld({ users: ['a', 'b', 'c'], owningService: 'rds' });
    const { report, rolloutId } = await change(world);

    expect(report.redeployed).toEqual(world.userArns);
    const rollout = await world.store.rollout(rolloutId);
    expect(rollout?.waves).toBeUndefined();
    expect(rollout?.noWaves).toContain('single-user');
  });

  it('WAVES_FOR=tagged: an untagged secret goes at once, an alternating-users one in waves', async () => {
    const env = { ...WAVES, WAVES_FOR: 'tagged' };
    const plain = new RolloutWorld({ users: ['a', 'b', 'c'] });
    expect((await change(plain, env)).report.redeployed).toHaveLength(3);

    const multi = new RolloutWorld({
      users: ['a', 'b', 'c'],
      rotationLambdaArn:
        'arn:aws:lambda:us-east-1:123456789012:function:SecretsManagerRDSMySQLRotationMultiUser',
    });
    const { report, rolloutId } = await change(multi, env);
    expect(report.redeployed).toEqual([multi.serviceArn('a')]);
    expect((await multi.store.rollout(rolloutId))?.waves?.why).toContain('alternating-users');
  });
});

describe('a dry run shows the waves', () => {
  it('the waves the services would go in, and changes nothing', async () => {
    const world = new RolloutWorld({ users, secretTags: { [WAVES_TAG]: 'on' } });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    const report = handled(
      await processEvent(world.labelUpdated('v-mar'), world.deps({ ...WAVES, DRY_RUN: 'true' })),
    );

    expect(world.updatesSent()).toBe(0);
    expect(report.redeployed).toHaveLength(20);
    expect(report.waves?.applies).toBe(true);
    expect(report.waves?.why).toBe('tagged secret-redeployer:waves=on');
    expect(report.waves?.waves.map((w) => w.length)).toEqual([1, 2, 10, 7]);
    expect(report.waves?.waves[0]).toEqual([world.serviceArn('svc-01')]);
  });

  it('and why a change would not go in waves', async () => {
    const world = new RolloutWorld({ users: ['a', 'b'], owningService: 'rds' });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    const report = handled(
      await processEvent(world.labelUpdated('v-mar'), world.deps({ ...WAVES, DRY_RUN: 'true' })),
    );
    expect(report.waves).toMatchObject({ applies: false, waves: [world.userArns] });
    expect(report.waves?.why).toContain('managed by rds');
  });
});
