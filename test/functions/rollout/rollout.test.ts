/**
 * Rollouts end to end on the simulated account: the change handler opens the rollout and
 * deploys, the engine (driven on the sim's clock) watches each deployment to its end and
 * reports once. Time never passes for real.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import {
  type ChangeReport,
  type Report,
  processEvent,
} from '../../../functions/redeploy/process.js';
import { DB, FLAP_TABLE, RolloutWorld } from '../../helpers/rollout-world.js';

function handled(report: Report): ChangeReport {
  if (report.outcome !== 'handled') throw new Error(`ignored: ${report.reason}`);
  return report;
}

const MINUTE = 60_000;

describe('a change gets one rollout that owns it to its end', () => {
  it('deploys each referencing service once, watches the deployments to COMPLETED, notifies once', async () => {
    const world = new RolloutWorld();
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });

    const report = handled(await processEvent(world.labelUpdated('v-mar'), world.deps()));

    expect(report.redeployed).toEqual(world.userArns);
    expect(report.rollout).toMatchObject({ created: true, owed: 2 });
    const rolloutId = report.rollout?.id ?? '';
    expect(world.enginesStarted()).toEqual([rolloutId]);
    expect(world.updates()).toEqual(world.userArns);

    const { result, summary } = await world.drive(rolloutId);

    expect(result.status).toBe('DONE');
    expect(summary?.counts).toEqual({ COMPLETED: 2 });
    expect(summary?.durations).toEqual({ median: 300, max: 300 }); // the sim's 5-minute deployments
    expect(world.notifications).toHaveLength(1);
    expect(world.notifications[0]?.subject).toBe(
      'ECS secret redeployer: secret prod/orders/db: rollout ended, 2 completed',
    );
    expect(world.updates()).toEqual(world.userArns); // nothing more was deployed
    expect(await world.store.rollout(rolloutId)).toMatchObject({ status: 'DONE' });
  });

  it('joins every event of one change (native, CloudTrail, rotation service event) to one rollout', async () => {
    const world = new RolloutWorld();
    world.sim.secretsManager.cloudTrail = true;
    world.sim.rotate(DB, { versionId: 'v-mar' });
    const events = world.sim
      .takeEvents()
      .filter((event) => event.source === 'aws.secretsmanager')
      .map((event) => ({
        ...event,
        time: world.sim
          .now()
          .toISOString()
          .replace(/\.\d+Z$/, 'Z'),
      }));
    expect(events.length).toBeGreaterThanOrEqual(3);

    const reports = [];
    for (const event of events) {
      const report = await processEvent(event, world.deps());
      if (report.outcome === 'handled') reports.push(report);
    }

    const ids = new Set(reports.map((r) => r.rollout?.id));
    expect(ids.size).toBe(1);
    expect(reports.filter((r) => r.rollout?.created)).toHaveLength(1);
    expect(world.updates()).toEqual(world.userArns);
  });

  it('closes at once, without an engine, when no service uses the secret', async () => {
    const world = new RolloutWorld({ users: [] });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });

    const report = handled(await processEvent(world.labelUpdated('v-mar'), world.deps()));

    expect(report.rollout).toMatchObject({ created: true, owed: 0 });
    expect(world.enginesStarted()).toEqual([]);
    expect(await world.store.rollout(report.rollout?.id ?? '')).toMatchObject({ status: 'DONE' });
  });

  it('makes no rollout in a dry run', async () => {
    const world = new RolloutWorld();
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    const report = handled(
      await processEvent(world.labelUpdated('v-mar'), world.deps({ DRY_RUN: 'true' })),
    );
    expect(report.redeployed).toEqual(world.userArns);
    expect(report.rollout).toBeUndefined();
    expect(world.updatesSent()).toBe(0);
    expect(world.sim.table('rollouts').size).toBe(0);
  });
});

describe('exactly one deployment per service per change', () => {
  it('two invocations handling two events of one change at the same moment: one UpdateService each', async () => {
    const world = new RolloutWorld();
    world.sim.secretsManager.cloudTrail = true;
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    const native = world.labelUpdated('v-mar');
    const [trail] = world.sim
      .takeEvents()
      .filter((e) => e['detail-type'] === 'AWS API Call via CloudTrail');
    expect(trail).toBeDefined();

    // Two execution environments, each with its own clients' state and caches.
    const [a, b] = await Promise.all([
      processEvent(native, world.deps()),
      processEvent(trail, world.deps()),
    ]);

    expect(world.updatesSent()).toBe(2);
    expect(world.updates()).toEqual(world.userArns);
    expect(handled(a).rollout?.id).toBe(handled(b).rollout?.id);
  });

  it('the same event handled by three invocations at once: one UpdateService each', async () => {
    const world = new RolloutWorld();
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    const event = world.labelUpdated('v-mar');

    await Promise.all([1, 2, 3].map(() => processEvent(event, world.deps())));

    expect(world.updatesSent()).toBe(2);
    expect(world.updates()).toEqual(world.userArns);
  });

  it('two changes that reach a service within the settle window, handled at once: one deployment', async () => {
    const world = new RolloutWorld();
    // A second secret used by the same services.
    world.sim.addSecret({ name: 'prod/orders/api-key', suffix: 'Key456' });
    const td = world.sim.addTaskDefinition({
      family: 'orders',
      containerDefinitions: [
        {
          name: 'app',
          image: 'app',
          secrets: [
            { name: 'DB', valueFrom: `${world.secretArn}:password::` },
            {
              name: 'KEY',
              valueFrom: `arn:aws:secretsmanager:${world.sim.region}:${world.sim.account}:secret:prod/orders/api-key`,
            },
          ],
        },
      ],
    });
    for (const name of world.users) {
      await world.ecs.send(
        new UpdateServiceCommand({ cluster: 'prod', service: name, taskDefinition: td }),
      );
    }
    world.sim.advance(10 * MINUTE); // that release completes
    world.sim.clearCalls();
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    const first = world.labelUpdated('v-mar');
    world.sim.advance(5000);
    const keyVersion = world.sim.putSecretValue('prod/orders/api-key');
    const keyEvent = {
      ...world.labelUpdated(keyVersion),
      id: 'evt-key',
      resources: [
        `arn:aws:secretsmanager:${world.sim.region}:${world.sim.account}:secret:prod/orders/api-key-Key456`,
      ],
      detail: { name: 'prod/orders/api-key', labelUpdated: 'AWSCURRENT', versionId: keyVersion },
    };
    world.sim.advance(30_000); // the settle window: both are handled after it, at once

    const [a, b] = await Promise.all([
      processEvent(first, world.deps()),
      processEvent(keyEvent, world.deps()),
    ]);

    expect(world.updatesSent()).toBe(2);
    expect(world.updates()).toEqual(world.userArns);
    expect(handled(a).rollout?.id).not.toBe(handled(b).rollout?.id);
    // The rollout that did not deploy watches the other's deployment, and both complete.
    for (const report of [a, b]) {
      const { summary } = await world.drive(handled(report).rollout?.id ?? '');
      expect(summary?.counts).toEqual({ COMPLETED: 2 });
    }
    expect(world.updatesSent()).toBe(2);
  });

  it('an UpdateService whose answer is lost after ECS applied it: still exactly one deployment', async () => {
    const world = new RolloutWorld();
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    world.sim.fault({
      operation: 'ecs.UpdateService',
      times: 2,
      reply: { kind: 'lost', then: 'reset' },
    });
    const event = world.labelUpdated('v-mar');

    const first = handled(await processEvent(event, world.deps()));
    // The platform delivers the event again (a retry, or a duplicate).
    const again = handled(await processEvent(event, world.deps()));
    const { summary } = await world.drive(first.rollout?.id ?? '');

    expect(first.redeployed).toEqual(world.userArns); // adopted: ECS shows the new deployment
    expect(again.redeployed).toEqual([]);
    expect(world.updatesSent()).toBe(2);
    expect(world.updates()).toEqual(world.userArns);
    expect(summary?.counts).toEqual({ COMPLETED: 2 });
  });

  it('an UpdateService that never reached ECS: sent again only after the confirmation window, once', async () => {
    const world = new RolloutWorld({ users: ['api'] });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    world.sim.fault({ operation: 'ecs.UpdateService', times: 1, reply: { kind: 'reset' } });

    const report = handled(await processEvent(world.labelUpdated('v-mar'), world.deps()));
    const record = await world.store.service(report.rollout?.id ?? '', world.serviceArn('api'));
    expect(record).toMatchObject({ state: 'DEPLOYING', unconfirmed: true, attempts: 1 });
    expect(world.updates()).toEqual([]);

    const { summary } = await world.drive(report.rollout?.id ?? '');

    expect(world.updatesSent()).toBe(2);
    expect(world.updates()).toEqual([world.serviceArn('api')]);
    expect(summary?.counts).toEqual({ COMPLETED: 1 });
  });
});

describe('watched to the end: how deployments end', () => {
  it('FAILED (circuit breaker, no rollback): reported with ECS reason and the stopped tasks, notified as owed', async () => {
    const world = new RolloutWorld({
      users: ['api'],
      circuitBreaker: { enable: true, rollback: false },
    });
    world.sim.setBehaviour('api', {
      outcome: 'fail',
      stoppedReason: 'ResourceInitializationError: unable to pull secrets or registry auth',
      exitCode: 1,
    });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });

    const report = handled(await processEvent(world.labelUpdated('v-mar'), world.deps()));
    const { summary } = await world.drive(report.rollout?.id ?? '');

    expect(summary?.counts).toEqual({ FAILED: 1 });
    const [owed] = summary?.owed ?? [];
    expect(owed?.state).toBe('FAILED');
    expect(owed?.reason).toContain('circuit breaker');
    expect(owed?.reason).toContain('ResourceInitializationError: unable to pull secrets');
    expect(world.notifications[0]?.message).toContain('STILL OWED');
    expect(world.updatesSent()).toBe(1); // a failed deployment is not retried blindly
  });

  it('ROLLED_BACK when the circuit breaker rolls it back', async () => {
    const world = new RolloutWorld({
      users: ['api'],
      circuitBreaker: { enable: true, rollback: true },
    });
    world.sim.setBehaviour('api', { outcome: 'fail' });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });

    const report = handled(await processEvent(world.labelUpdated('v-mar'), world.deps()));
    const { summary } = await world.drive(report.rollout?.id ?? '');

    expect(summary?.counts).toEqual({ ROLLED_BACK: 1 });
  });

  it('STUCK when a deployment without circuit breaker never ends (default time-out 30 minutes)', async () => {
    const world = new RolloutWorld({ users: ['api'] });
    world.sim.setBehaviour('api', { outcome: 'fail' });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    const started = world.sim.now().getTime();

    const report = handled(await processEvent(world.labelUpdated('v-mar'), world.deps()));
    const { summary } = await world.drive(report.rollout?.id ?? '');

    expect(summary?.counts).toEqual({ STUCK: 1 });
    expect(summary?.owed[0]?.reason).toContain('no deployment circuit breaker');
    const minutes = (world.sim.now().getTime() - started) / MINUTE;
    expect(minutes).toBeGreaterThanOrEqual(30);
    expect(minutes).toBeLessThanOrEqual(32);
  });

  it('SUPERSEDED by a release during the rollout: the release is watched to its end', async () => {
    const world = new RolloutWorld({ users: ['api'] });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    const report = handled(await processEvent(world.labelUpdated('v-mar'), world.deps()));
    world.sim.advance(MINUTE);
    await world.ecs.send(
      new UpdateServiceCommand({ cluster: 'prod', service: 'api', forceNewDeployment: true }),
    );

    const { summary } = await world.drive(report.rollout?.id ?? '');

    expect(summary?.counts).toEqual({ COMPLETED: 1 });
    const record = await world.store.service(report.rollout?.id ?? '', world.serviceArn('api'));
    expect(record?.supersededBy).toBeDefined();
    expect(record?.deploymentId).toBe(record?.supersededBy);
  });

  it('NEEDS_ACTION for a CODE_DEPLOY service: reported with the next step, never deployed', async () => {
    const world = new RolloutWorld({ users: [] });
    const td = world.sim.addTaskDefinition({
      family: 'legacy',
      containerDefinitions: [
        { name: 'app', image: 'app', secrets: [{ name: 'DB', valueFrom: world.secretArn }] },
      ],
    });
    world.sim.addService({
      cluster: 'prod',
      name: 'legacy',
      taskDefinition: td,
      deploymentController: 'CODE_DEPLOY',
    });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });

    const report = handled(await processEvent(world.labelUpdated('v-mar'), world.deps()));

    expect(report.needsAction).toEqual([
      {
        service: world.serviceArn('legacy'),
        reason: expect.stringContaining('CodeDeploy') as string,
      },
    ]);
    const rollout = await world.store.rollout(report.rollout?.id ?? '');
    expect(rollout?.status).toBe('DONE');
    expect(await world.store.services(report.rollout?.id ?? '')).toEqual([
      expect.objectContaining({ state: 'NEEDS_ACTION', code: 'code-deploy' }),
    ]);
    expect(world.updatesSent()).toBe(0);
  });
});

describe('nothing acknowledged unapplied: held services stay owed', () => {
  // Reproduction (issue 9, case 1, rollback): `api` was force-deployed 3 times this hour, last at
  // 11:50. At 12:00 AWSCURRENT moves back to a January version. The flap guard holds `api`; it
  // used to be acknowledged and lost for good (the sweep dated the secret by January).
  it('a rollback held by the flap guard is deployed when the hold ends, with the sweep off', async () => {
    const world = new RolloutWorld({ users: ['api'] });
    const windowStart = Math.floor(world.sim.now().getTime() / 1000) - 50 * 60; // 11:10
    await world.dynamodb.send(
      new PutItemCommand({
        TableName: FLAP_TABLE,
        Item: {
          serviceArn: { S: world.serviceArn('api') },
          windowStart: { N: String(windowStart) },
          deployments: { N: '3' },
          expiresAt: { N: String(windowStart + 3600) },
        },
      }),
    );
    world.sim.moveLabel(DB, 'AWSCURRENT', 'v-jan');

    const report = handled(await processEvent(world.labelUpdated('v-jan'), world.deps()));

    expect(report.flapGuarded).toEqual([
      { service: world.serviceArn('api'), reason: expect.stringContaining('held until') as string },
    ]);
    expect(world.updatesSent()).toBe(0);
    const held = await world.store.service(report.rollout?.id ?? '', world.serviceArn('api'));
    expect(held).toMatchObject({ state: 'HELD', holdReason: 'flap-guard' });
    expect(held?.heldUntil).toBe(new Date((windowStart + 3600) * 1000).toISOString()); // 12:10

    const { summary, waits } = await world.drive(report.rollout?.id ?? '');

    expect(summary?.counts).toEqual({ COMPLETED: 1 });
    expect(world.updates()).toEqual([world.serviceArn('api')]);
    const [update] = world.sim.calls('ecs.UpdateService');
    expect(update?.at.getTime()).toBeGreaterThanOrEqual((windowStart + 3600) * 1000);
    expect(waits[0]).toBe(600); // one timer until the hold ends, not a polling loop
  });

  it('services over the fleet cap are held and deployed by the engine once others completed', async () => {
    const world = new RolloutWorld({ users: ['a', 'b', 'c'] });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    const env = { MAX_DEPLOYMENTS_IN_PROGRESS: '1' };

    const report = handled(await processEvent(world.labelUpdated('v-mar'), world.deps(env)));

    expect(report.redeployed).toHaveLength(1);
    expect(report.braked).toHaveLength(2);
    const { summary } = await world.drive(report.rollout?.id ?? '', {}, env);
    expect(summary?.counts).toEqual({ COMPLETED: 3 });
    expect(world.updates()).toEqual(world.userArns);
    // Never two forced deployments in flight at once.
    const starts = world.sim.calls('ecs.UpdateService').map((c) => c.at.getTime());
    for (let i = 1; i < starts.length; i += 1) {
      expect((starts[i] ?? 0) - (starts[i - 1] ?? 0)).toBeGreaterThanOrEqual(5 * MINUTE);
    }
  });
});
