/**
 * The exact sweep: what each referenced label and parameter points to now, against the last
 * change handled. Reproductions of issue 9 (case 1) included: a rollback and a stage-then-promote
 * whose events were lost, a custom label moved.
 */
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import {
  type ChangeReport,
  type Report,
  processEvent,
} from '../../../functions/redeploy/process.js';
import { type ExactSweepDependencies, runExactSweep } from '../../../functions/rollout/sweep.js';
import { DB, RolloutWorld } from '../../helpers/rollout-world.js';

const MINUTE = 60_000;

function handled(report: Report): ChangeReport {
  if (report.outcome !== 'handled') throw new Error(`ignored: ${report.reason}`);
  return report;
}

function sweepDeps(world: RolloutWorld, env: Record<string, string> = {}): ExactSweepDependencies {
  const deps = world.deps(env);
  if (!deps.rollouts) throw new Error('rollouts are off');
  return { ...deps, ssm: world.ssm, rollouts: deps.rollouts };
}

/** Handles the change to v-mar (event delivered) and drives its rollout to the end. */
async function handledChange(world: RolloutWorld): Promise<string> {
  world.sim.putSecretValue(DB, { versionId: 'v-mar' });
  const report = handled(await processEvent(world.labelUpdated('v-mar'), world.deps()));
  await world.drive(report.rollout?.id ?? '');
  world.sim.clearCalls();
  return report.rollout?.id ?? '';
}

describe('the exact sweep', () => {
  it('does nothing when what is live is what the last handled change recorded', async () => {
    const world = new RolloutWorld();
    await handledChange(world);
    world.sim.advance(60 * MINUTE);

    const report = await runExactSweep(sweepDeps(world), 'sweep-1');

    expect(report.change).toMatchObject({ missedChanges: 0, secretsChecked: 1 });
    expect(world.updatesSent()).toBe(0);
  });

  // Reproduction (issue 9, case 1, stage then promote): V2 is written as AWSPENDING at 11:00, an
  // unrelated release deploys the service at 11:30, V2 is promoted at 12:00 and that event is
  // lost. The old sweep compared 11:00 (V2's creation) with 11:30 and did nothing.
  it('catches a promotion whose event was lost, although a release deployed the service after the version was created', async () => {
    const world = new RolloutWorld({ users: ['api'] });
    await handledChange(world);
    world.sim.putSecretValue(DB, { versionId: 'v-apr', stages: ['AWSPENDING'] });
    world.sim.advance(30 * MINUTE);
    await world.ecs.send(
      new UpdateServiceCommand({ cluster: 'prod', service: 'api', forceNewDeployment: true }),
    );
    world.sim.advance(30 * MINUTE);
    world.sim.moveLabel(DB, 'AWSCURRENT', 'v-apr'); // its event is never delivered
    world.sim.clearCalls();
    world.sim.advance(60 * MINUTE);

    const report = await runExactSweep(sweepDeps(world), 'sweep-1');

    expect(report.change).toMatchObject({ missedChanges: 1 });
    expect(report.redeployed).toEqual([world.serviceArn('api')]);
    expect(world.updates()).toEqual([world.serviceArn('api')]);
    const [rolloutId] = (report.change as { rollouts: string[] }).rollouts;
    const { summary } = await world.drive(rolloutId ?? '');
    expect(summary?.change).toMatchObject({ label: 'AWSCURRENT', version: 'v-apr' });
    expect(summary?.counts).toEqual({ COMPLETED: 1 });
  });

  // Reproduction (issue 9, case 1, rollback): AWSCURRENT moved back to a January version; the
  // event was lost. The old sweep dated the secret by January and did nothing.
  it('catches a rollback to an old version whose event was lost', async () => {
    const world = new RolloutWorld();
    await handledChange(world);
    world.sim.advance(10 * MINUTE);
    world.sim.moveLabel(DB, 'AWSCURRENT', 'v-jan');
    world.sim.advance(60 * MINUTE);

    const report = await runExactSweep(sweepDeps(world), 'sweep-1');

    expect(report.change).toMatchObject({ missedChanges: 1 });
    expect(world.updates()).toEqual(world.userArns);
  });

  it('catches a custom label moved, for the services pinned to it only', async () => {
    const world = new RolloutWorld({ users: ['api'] });
    world.sim.addSecret({
      name: 'prod/flags',
      suffix: 'Flg789',
      versions: { 'f-1': { stages: ['AWSCURRENT', 'blue'] }, 'f-2': { stages: ['green'] } },
    });
    const td = world.sim.addTaskDefinition({
      family: 'pinned',
      containerDefinitions: [
        {
          name: 'app',
          image: 'app',
          secrets: [
            {
              name: 'FLAGS',
              valueFrom: `arn:aws:secretsmanager:${world.sim.region}:${world.sim.account}:secret:prod/flags-Flg789::blue:`,
            },
          ],
        },
      ],
    });
    world.sim.addService({ cluster: 'prod', name: 'pinned', taskDefinition: td });
    // First sweep: records where every label stands (nothing newer than the services).
    await runExactSweep(sweepDeps(world), 'sweep-0');
    world.sim.clearCalls();
    world.sim.advance(MINUTE);
    world.sim.moveLabel('prod/flags', 'blue', 'f-2'); // event lost
    world.sim.advance(60 * MINUTE);

    const report = await runExactSweep(sweepDeps(world), 'sweep-1');

    expect(report.change).toMatchObject({ missedChanges: 1 });
    expect(world.updates()).toEqual([world.serviceArn('pinned')]);
  });

  it('on its first look redeploys only services older than the version in use (a new install)', async () => {
    const world = new RolloutWorld({ users: ['api'] }); // deployed 2026-02-10
    const td = world.sim.addTaskDefinition({
      family: 'old',
      containerDefinitions: [
        { name: 'app', image: 'app', secrets: [{ name: 'DB', valueFrom: world.secretArn }] },
      ],
    });
    // Deployed before v-feb (AWSCURRENT) was created on 2026-02-01: it runs the January value.
    world.sim.addService({
      cluster: 'prod',
      name: 'old',
      taskDefinition: td,
      deployedAt: new Date('2026-01-20T00:00:00Z'),
    });

    const report = await runExactSweep(sweepDeps(world), 'sweep-0');

    expect(report.redeployed).toEqual([world.serviceArn('old')]);
    expect(world.updates()).toEqual([world.serviceArn('old')]);
    // A second sweep finds the pointer recorded: nothing new.
    const again = await runExactSweep(sweepDeps(world), 'sweep-1');
    expect(again.change).toMatchObject({ missedChanges: 0 });
    expect(world.updates()).toEqual([world.serviceArn('old')]);
  });

  it('resumes an owed rollout whose engine never started, under the same execution name', async () => {
    const world = new RolloutWorld({ users: ['api'] });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    world.sim.fault({
      operation: 'lambda.Invoke',
      times: 1,
      reply: { kind: 'error', code: 'ServiceException', status: 500 },
    });

    const report = handled(await processEvent(world.labelUpdated('v-mar'), world.deps()));

    expect(report.rollout?.engineError).toContain('ServiceException');
    const rolloutId = report.rollout?.id ?? '';
    expect(await world.store.rollout(rolloutId)).toMatchObject({
      status: 'OPEN',
      engine: { attempt: 1, error: expect.stringContaining('ServiceException') as string },
    });

    const sweep = await runExactSweep(sweepDeps(world), 'sweep-1');

    expect(sweep.change).toMatchObject({ rolloutsResumed: [rolloutId] });
    expect(world.enginesStarted()).toEqual([rolloutId]);
    expect((await world.store.rollout(rolloutId))?.engine).toMatchObject({
      attempt: 1,
      name: rolloutId,
    });
  });

  it('restarts, under a new execution name, a rollout whose engine stopped looking', async () => {
    const world = new RolloutWorld({ users: ['api'] });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    const report = handled(await processEvent(world.labelUpdated('v-mar'), world.deps()));
    const rolloutId = report.rollout?.id ?? '';
    // The engine never looks (its execution died): well past when it meant to.
    world.sim.advance(60 * MINUTE);

    const sweep = await runExactSweep(sweepDeps(world), 'sweep-1');

    expect(sweep.change).toMatchObject({ rolloutsResumed: [rolloutId] });
    expect(world.enginesStarted()).toEqual([rolloutId, `${rolloutId}-2`]);
    // An engine that looks on time is left alone.
    await world.store.updateRollout(rolloutId, { nextLookAt: world.sim.now().toISOString() });
    const calm = await runExactSweep(sweepDeps(world), 'sweep-2');
    expect(calm.change).toMatchObject({ rolloutsResumed: [] });
  });

  it('reports what it could not check as sweep errors (alarmed), and goes on with the rest', async () => {
    const world = new RolloutWorld();
    await handledChange(world);
    world.sim.fault({
      operation: 'secretsmanager.DescribeSecret',
      reply: {
        kind: 'error',
        code: 'AccessDeniedException',
        status: 400,
        message: 'not authorized',
      },
    });

    const report = await runExactSweep(sweepDeps(world), 'sweep-1');

    expect(report.sweepErrors).toEqual([
      expect.stringContaining('AccessDeniedException: not authorized') as string,
    ]);
  });
});

describe('a staging label removed from every version', () => {
  /** A service pinned to the label `blue` of prod/orders/db, deployed after it was set. */
  function pinnedWorld(): RolloutWorld {
    const world = new RolloutWorld({ users: [] });
    world.sim.moveLabel(DB, 'blue', 'v-feb');
    const td = world.sim.addTaskDefinition({
      family: 'blue',
      containerDefinitions: [
        {
          name: 'app',
          image: 'app',
          secrets: [{ name: 'DB', valueFrom: `${world.secretArn}::blue:` }],
        },
      ],
    });
    world.sim.addService({ cluster: 'prod', name: 'blue', taskDefinition: td });
    world.sim.takeEvents();
    return world;
  }

  it('from its CloudTrail event: the pinned service needs action (alarmed), nothing is deployed', async () => {
    const world = pinnedWorld();
    world.sim.secretsManager.cloudTrail = true;
    world.sim.removeLabel(DB, 'blue');
    const [removal] = world.sim
      .takeEvents()
      .filter((e) => e['detail-type'] === 'AWS API Call via CloudTrail');
    expect(removal).toBeDefined();

    const report = handled(await processEvent(removal, world.deps()));

    expect(report.needsAction).toEqual([
      {
        service: world.serviceArn('blue'),
        reason: expect.stringContaining('staging label blue is on no version') as string,
      },
    ]);
    expect(world.updatesSent()).toBe(0);
    expect(await world.store.services(report.rollout?.id ?? '')).toEqual([
      expect.objectContaining({ state: 'NEEDS_ACTION', code: 'label-removed' }),
    ]);
  });

  it('when its event was lost: the sweep reports it once', async () => {
    const world = pinnedWorld();
    await runExactSweep(sweepDeps(world), 'sweep-0'); // where every label stands
    world.sim.removeLabel(DB, 'blue'); // no event delivered
    world.sim.advance(60 * MINUTE);

    const first = await runExactSweep(sweepDeps(world), 'sweep-1');
    const second = await runExactSweep(sweepDeps(world), 'sweep-2');

    expect(first.needsAction.map((e) => e.service)).toEqual([world.serviceArn('blue')]);
    expect(second.needsAction).toEqual([]);
    expect(world.updatesSent()).toBe(0);
  });
});
