/**
 * The change handler's entry point with rollouts on, against the simulated account over HTTP
 * (AWS_ENDPOINT_URL, as with any AWS-compatible API): it opens the rollout and starts its engine,
 * leaves the announcement to the engine, and wakes engines on ECS deployment events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeReport } from '../../../functions/redeploy/process.js';
import type { DeploymentEventReport } from '../../../functions/rollout/wake.js';
import {
  captureOutput,
  emfDocuments,
  lambdaContext,
  loadHandler,
  logEntries,
} from '../../helpers/lambda.js';
import { DB, FLAP_TABLE, ROLLOUT_TABLE, RolloutWorld } from '../../helpers/rollout-world.js';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:redeployer-notifications';
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function handlerFor(world: RolloutWorld, env: Record<string, string> = {}) {
  const listening = await world.sim.listen();
  const { endpoint } = listening;
  closers.push(() => listening.close());
  return loadHandler({
    AWS_ENDPOINT_URL: endpoint,
    AWS_MAX_ATTEMPTS: '1',
    ROLLOUT_TABLE_NAME: ROLLOUT_TABLE,
    ROLLOUT_ENGINE_ARN: world.engineArn,
    FLAP_TABLE_NAME: FLAP_TABLE,
    NOTIFICATION_TOPIC_ARN: TOPIC,
    ...env,
  });
}

describe('the change handler with rollouts on', () => {
  it('opens the rollout, deploys, starts the engine by the rollout name, and leaves the announcement to it', async () => {
    const world = new RolloutWorld();
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    const output = captureOutput();
    const { handler } = await handlerFor(world);

    const report = (await handler(world.labelUpdated('v-mar'), lambdaContext())) as ChangeReport;

    expect(report.redeployed).toEqual(world.userArns);
    expect(world.enginesStarted()).toEqual([report.rollout?.id]);
    const [start] = world.sim.lambda.invocations;
    expect(start).toMatchObject({ qualifier: 'live', invocationType: 'Event' });
    expect(JSON.parse(start?.payload ?? '{}')).toEqual({ rolloutId: report.rollout?.id });
    expect(world.sim.published()).toEqual([]); // the engine notifies when the rollout ends
    const handledLine = logEntries(output()).find((line) => line.message === 'change handled');
    expect(handledLine?.report).toMatchObject({ rollout: { id: report.rollout?.id, owed: 2 } });
  });

  it('announces itself a rollout that ended at once (nothing to watch)', async () => {
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
      deploymentController: 'EXTERNAL',
    });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    captureOutput();
    const { handler } = await handlerFor(world);

    await handler(world.labelUpdated('v-mar'), lambdaContext());

    expect(world.enginesStarted()).toEqual([]);
    const published = world.sim.published(TOPIC);
    expect(published).toHaveLength(1);
    expect(published[0]?.message).toContain('Needs action');
  });

  it('records an engine that cannot be started, counts it (alarmed), and does not fail the change', async () => {
    const world = new RolloutWorld({ users: ['api'] });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    world.sim.fault({
      operation: 'lambda.Invoke',
      reply: { kind: 'error', code: 'AccessDeniedException', status: 403 },
    });
    const output = captureOutput();
    const { handler } = await handlerFor(world);

    const report = (await handler(world.labelUpdated('v-mar'), lambdaContext())) as ChangeReport;

    expect(report.rollout?.engineError).toContain('AccessDeniedException');
    expect(world.updates()).toEqual([world.serviceArn('api')]);
    const metrics = emfDocuments(output());
    expect(metrics.some((doc) => doc.RolloutsUnwatched === 1)).toBe(true);
    expect(
      logEntries(output()).some((line) =>
        line.message?.toString().startsWith('rollout not watched'),
      ),
    ).toBe(true);
  });

  it('wakes the engines watching a service when ECS reports its deployment ended', async () => {
    const world = new RolloutWorld({ users: ['api'] });
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    captureOutput();
    const { handler } = await handlerFor(world);
    const report = (await handler(world.labelUpdated('v-mar'), lambdaContext())) as ChangeReport;
    const rolloutId = report.rollout?.id ?? '';
    await world.store.updateRollout(rolloutId, { wakeCallbackId: 'callback-1' });
    world.sim.takeEvents();
    world.sim.advance(5 * 60_000);
    const completed = world.sim
      .takeEvents()
      .find(
        (event) =>
          event['detail-type'] === 'ECS Deployment State Change' &&
          (event.detail as { eventName?: string }).eventName === 'SERVICE_DEPLOYMENT_COMPLETED',
      );
    expect(completed).toBeDefined();

    const woke = (await handler(completed, lambdaContext())) as DeploymentEventReport;

    expect(woke).toMatchObject({
      outcome: 'deployment-event',
      service: world.serviceArn('api'),
      eventName: 'SERVICE_DEPLOYMENT_COMPLETED',
      woke: [rolloutId],
    });
    expect(world.sim.lambda.callbacks.map((c) => c.callbackId)).toEqual(['callback-1']);
    expect(world.updatesSent()).toBe(1); // an event never deploys anything itself
  });

  it('ignores a deployment event of a service no rollout watches', async () => {
    const world = new RolloutWorld({ users: ['api'] });
    captureOutput();
    const { handler } = await handlerFor(world);
    const event = {
      version: '0',
      id: 'evt-1',
      'detail-type': 'ECS Deployment State Change',
      source: 'aws.ecs',
      account: world.sim.account,
      time: '2026-03-01T12:00:00Z',
      region: world.sim.region,
      resources: [world.serviceArn('other')],
      detail: {
        eventType: 'INFO',
        eventName: 'SERVICE_DEPLOYMENT_COMPLETED',
        deploymentId: 'ecs-svc/1',
        updatedAt: '2026-03-01T12:00:00Z',
        reason: 'ECS deployment ecs-svc/1 completed.',
      },
    };

    expect(await handler(event, lambdaContext())).toMatchObject({ woke: [] });
    expect(world.sim.lambda.callbacks).toEqual([]);
  });
});
