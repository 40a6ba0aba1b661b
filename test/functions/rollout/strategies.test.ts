/**
 * Deployment strategies a rollout watches to their end, on the simulated account: rolling (with
 * and without the circuit breaker, rollout.test.ts), native blue/green, linear and canary with
 * their bake times, pause lifecycle hooks, a deployment already in flight, and the controllers
 * UpdateService cannot drive.
 */
import { ContinueServiceDeploymentCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import {
  type ChangeReport,
  type Report,
  processEvent,
} from '../../../functions/redeploy/process.js';
import { HOOK_AWAITING } from '../../../functions/rollout/model.js';
import type { Look } from '../../../functions/rollout/observe.js';
import { WAVES_TAG } from '../../../functions/rollout/waves.js';
import type { DeploymentConfigurationSeed } from '../../sim/ecs.js';
import { DB, RolloutWorld } from '../../helpers/rollout-world.js';

function handled(report: Report): ChangeReport {
  if (report.outcome !== 'handled') throw new Error(`ignored: ${report.reason}`);
  return report;
}

const MINUTE = 60_000;

function world(config: DeploymentConfigurationSeed, users = ['api']): RolloutWorld {
  return new RolloutWorld({
    users,
    services: Object.fromEntries(users.map((name) => [name, { deploymentConfiguration: config }])),
    secretTags: { [WAVES_TAG]: 'on' },
  });
}

async function change(world: RolloutWorld, env: Record<string, string> = {}) {
  world.sim.putSecretValue(DB, { versionId: 'v-mar' });
  const report = handled(await processEvent(world.labelUpdated('v-mar'), world.deps(env)));
  return { report, rolloutId: report.rollout?.id ?? '', at: world.sim.now().getTime() };
}

describe('native blue/green, linear and canary deployments', () => {
  it('BLUE_GREEN with a 45-minute bake: waited for, COMPLETED, not STUCK at the 30-minute time-out', async () => {
    const w = world({ strategy: 'BLUE_GREEN', bakeTimeInMinutes: 45 });
    const { rolloutId, at } = await change(w);

    const { summary } = await w.drive(rolloutId);

    expect(summary?.counts).toEqual({ COMPLETED: 1 });
    const minutes = (w.sim.now().getTime() - at) / MINUTE;
    expect(minutes).toBeGreaterThanOrEqual(50); // 5 minutes to tasks up, 45 of bake
    expect(minutes).toBeLessThanOrEqual(52);
  });

  it('LINEAR with the default steps (10 × 10%, 6 minutes between them): 54 minutes of bake are budgeted', async () => {
    const w = world({ strategy: 'LINEAR', bakeTimeInMinutes: 40 });
    const { rolloutId } = await change(w);

    const { summary } = await w.drive(rolloutId);

    // The sim bakes only bakeTimeInMinutes; the budget (30 + 40 + 54) is what must not expire.
    expect(summary?.counts).toEqual({ COMPLETED: 1 });
  });

  it('a blue/green deployment that never ends is STUCK after the time-out plus its bake', async () => {
    const w = world({ strategy: 'BLUE_GREEN', bakeTimeInMinutes: 20 });
    w.sim.setBehaviour('api', { outcome: 'hang' });
    const { rolloutId, at } = await change(w);

    const { summary } = await w.drive(rolloutId);

    expect(summary?.counts).toEqual({ STUCK: 1 });
    expect(summary?.owed[0]?.reason).toContain(
      'no end after 50 min (20 of them the BLUE_GREEN bake time)',
    );
    const minutes = (w.sim.now().getTime() - at) / MINUTE;
    expect(minutes).toBeGreaterThanOrEqual(50);
    expect(minutes).toBeLessThanOrEqual(52);
  });

  it('in waves, the next wave starts only after the canary’s blue/green bake', async () => {
    const w = world({ strategy: 'BLUE_GREEN', bakeTimeInMinutes: 30 }, ['a', 'b']);
    const { rolloutId, at } = await change(w, { WAVES: '1' });

    await w.drive(rolloutId, {}, { WAVES: '1' });

    const startOfB = Math.min(
      ...w.sim
        .deployments('b')
        .map((d) => d.createdAt.getTime())
        .filter((t) => t >= at),
    );
    expect((startOfB - at) / MINUTE).toBeGreaterThanOrEqual(35);
  });
});

describe('a pause lifecycle hook', () => {
  const hooked: DeploymentConfigurationSeed = {
    strategy: 'BLUE_GREEN',
    bakeTimeInMinutes: 5,
    lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['POST_SCALE_UP'] }],
  };

  /** The hook the service's newest service deployment waits at, as ECS tells it. */
  function awaiting(w: RolloutWorld, service: string) {
    const arn = w.sim.deployments(service).at(-1)?.serviceDeploymentArn ?? '';
    const answer = w.sim.ecs.handle('DescribeServiceDeployments', {
      serviceDeploymentArns: [arn],
    }) as {
      serviceDeployments?: { lifecycleHookDetails?: { hookId?: string; status?: string }[] }[];
    };
    const hook = answer.serviceDeployments?.[0]?.lifecycleHookDetails?.find(
      (h) => h.status === 'AWAITING_ACTION',
    );
    return { serviceDeploymentArn: arn, hookId: hook?.hookId };
  }

  it('is NEEDS_ACTION, reported once with the exact command, not a failure; continued, it completes', async () => {
    const w = world(hooked);
    const { rolloutId } = await change(w);
    let pausedSince: number | undefined;
    // A person reads the notification and continues the deployment two hours later.
    const onLook = async (look: Look): Promise<void> => {
      if (look.counts.NEEDS_ACTION === undefined) return;
      const record = await w.store.service(rolloutId, w.serviceArn('api'));
      expect(record).toMatchObject({ state: 'NEEDS_ACTION', code: HOOK_AWAITING });
      expect(look.done).toBe(false);
      pausedSince ??= w.sim.now().getTime();
      if (w.sim.now().getTime() - pausedSince < 120 * MINUTE || !record?.hook) return;
      await w.ecs.send(
        new ContinueServiceDeploymentCommand({
          serviceDeploymentArn: record.hook.serviceDeploymentArn,
          hookId: record.hook.hookId,
          action: 'CONTINUE',
        }),
      );
    };

    const { summary, waits } = await w.drive(rolloutId, {}, {}, { onLook });

    expect(pausedSince).toBeDefined();
    expect(summary?.counts).toEqual({ COMPLETED: 1 });
    const paused = w.notifications.filter((n) => n.subject.includes('paused'));
    expect(paused).toHaveLength(1);
    expect(paused[0]?.subject).toBe(
      'ECS secret redeployer: secret prod/orders/db: 1 deployment(s) paused, need a person',
    );
    expect(paused[0]?.message).toMatch(
      /aws ecs continue-service-deployment --service-deployment-arn arn:aws:ecs:\S+ --hook-id ecs-pause-\S+ --action CONTINUE/,
    );
    expect(paused[0]?.message).toContain('ECS takes the time-out action ROLLBACK');
    // While paused, the engine looks hourly, not every minute.
    expect(waits.filter((s) => s === 3600).length).toBeGreaterThanOrEqual(1);
    expect(waits.length).toBeLessThan(40);
    expect(w.notifications.at(-1)?.subject).toBe(
      'ECS secret redeployer: secret prod/orders/db: rollout ended, 1 completed',
    );
  });

  it('rolled back by a person (or its time-out) ends ROLLED_BACK', async () => {
    const w = world({
      ...hooked,
      lifecycleHooks: [
        {
          targetType: 'PAUSE',
          lifecycleStages: ['POST_SCALE_UP'],
          timeoutConfiguration: { timeoutInMinutes: 90, action: 'ROLLBACK' },
        },
      ],
    });
    const { rolloutId, at } = await change(w);

    const { summary } = await w.drive(rolloutId);

    expect(summary?.counts).toEqual({ ROLLED_BACK: 1 });
    const minutes = (w.sim.now().getTime() - at) / MINUTE;
    expect(minutes).toBeGreaterThanOrEqual(95); // 5 to tasks up, the 90-minute hook, the rollback
    expect(minutes).toBeLessThanOrEqual(110);
  });

  it('in waves, a paused canary holds the next wave until someone acts', async () => {
    const w = new RolloutWorld({
      users: ['a', 'b'],
      services: { a: { deploymentConfiguration: hooked } },
      secretTags: { [WAVES_TAG]: 'on' },
    });
    const { rolloutId, at } = await change(w, { WAVES: '1' });
    w.sim.at(new Date(at + 180 * MINUTE), () => {
      const { serviceDeploymentArn, hookId } = awaiting(w, 'a');
      w.sim.ecs.handle('ContinueServiceDeployment', { serviceDeploymentArn, hookId: hookId ?? '' });
    });

    const { summary } = await w.drive(rolloutId, {}, { WAVES: '1' });

    expect(summary?.counts).toEqual({ COMPLETED: 2 });
    expect(summary?.services.find((s) => s.state === 'COMPLETED')?.reason).toBeUndefined();
    const startOfB = Math.min(
      ...w.sim
        .deployments('b')
        .map((d) => d.createdAt.getTime())
        .filter((t) => t >= at),
    );
    expect((startOfB - at) / MINUTE).toBeGreaterThanOrEqual(180);
  });
});

describe('a deployment in flight when the wave reaches the service', () => {
  it('a release started after the change is watched to its end instead of forcing another', async () => {
    const w = world({}, ['a', 'b']);
    w.sim.setBehaviour('b', { outcome: 'complete', afterMs: 20 * MINUTE });
    const { rolloutId, at } = await change(w, { WAVES: '1' });
    // A release of b starts while the canary deploys: it started after the change.
    w.sim.advance(MINUTE);
    await w.ecs.send(
      new UpdateServiceCommand({ cluster: 'prod', service: 'b', forceNewDeployment: true }),
    );

    const { summary } = await w.drive(rolloutId, {}, { WAVES: '1' });

    expect(summary?.counts).toEqual({ COMPLETED: 2 });
    expect(w.updates()).toEqual([w.serviceArn('a'), 'b']); // ours for a, the release (by name) for b
    const forced = w.sim.deployments('b').filter((d) => d.createdAt.getTime() >= at);
    expect(forced).toHaveLength(1);
  });
});

describe('controllers UpdateService cannot drive', () => {
  it('CODE_DEPLOY and EXTERNAL services need action, with the exact next step; the rest go on', async () => {
    const w = new RolloutWorld({
      users: ['api', 'blue', 'ext'],
      services: {
        blue: { deploymentController: 'CODE_DEPLOY' },
        ext: { deploymentController: 'EXTERNAL' },
      },
    });
    const { report, rolloutId } = await change(w);

    expect(report.redeployed).toEqual([w.serviceArn('api')]);
    const { summary } = await w.drive(rolloutId);

    expect(summary?.counts).toEqual({ COMPLETED: 1, NEEDS_ACTION: 2 });
    const reason = (name: string) =>
      summary?.owed.find((s) => s.service === w.serviceArn(name))?.reason ?? '';
    expect(reason('blue')).toContain('aws deploy create-deployment');
    expect(reason('ext')).toContain('aws ecs create-task-set --cluster prod --service ext');
  });
});
