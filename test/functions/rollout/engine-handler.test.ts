/**
 * The rollout engine's entry point, a Lambda durable function, run by the durable execution SDK's
 * local runner (time skipped) against the simulated account over HTTP.
 */
import { LocalDurableTestRunner } from '@aws/durable-execution-sdk-js-testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { processEvent } from '../../../functions/redeploy/process.js';
import { captureOutput, emfDocuments, logEntries } from '../../helpers/lambda.js';
import { DB, ROLLOUT_TABLE, RolloutWorld } from '../../helpers/rollout-world.js';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:redeployer-notifications';
const closers: (() => Promise<void>)[] = [];

beforeAll(() => LocalDurableTestRunner.setupTestEnvironment({ skipTime: true }));
afterAll(() => LocalDurableTestRunner.teardownTestEnvironment());
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function engineFor(world: RolloutWorld) {
  const listening = await world.sim.listen();
  const { endpoint } = listening;
  closers.push(() => listening.close());
  vi.resetModules();
  for (const [name, value] of Object.entries({
    AWS_ENDPOINT_URL: endpoint,
    AWS_MAX_ATTEMPTS: '1',
    ROLLOUT_TABLE_NAME: ROLLOUT_TABLE,
    NOTIFICATION_TOPIC_ARN: TOPIC,
    AWS_LAMBDA_FUNCTION_NAME: 'rollout-engine',
  })) {
    vi.stubEnv(name, value);
  }
  const { handler } = await import('../../../functions/rollout/handler.js');
  return new LocalDurableTestRunner({ handlerFunction: handler });
}

describe('the rollout engine (durable function)', () => {
  it('finishes a rollout whose deployments completed: one notification, the rollout metrics', async () => {
    const world = new RolloutWorld();
    world.sim.putSecretValue(DB, { versionId: 'v-mar' });
    const report = await processEvent(world.labelUpdated('v-mar'), world.deps());
    const rolloutId = report.outcome === 'handled' ? (report.rollout?.id ?? '') : '';
    world.sim.advance(6 * 60_000); // the sim's deployments complete after 5 minutes
    const output = captureOutput();
    const runner = await engineFor(world);

    const execution = await runner.run({ payload: { rolloutId } });

    expect(execution.getStatus()).toBe('SUCCEEDED');
    expect(execution.getResult()).toMatchObject({
      rolloutId,
      status: 'DONE',
      counts: { COMPLETED: 2 },
    });
    const published = world.sim.published(TOPIC);
    expect(published).toHaveLength(1);
    expect(published[0]?.subject).toContain('rollout ended, 2 completed');
    const metrics = emfDocuments(output()).find((doc) => doc.RolloutsEnded === 1);
    expect(metrics).toMatchObject({
      FunctionName: 'rollout-engine',
      DeploymentsCompleted: 2,
      DeploymentsFailed: 0,
      ServicesOwed: 0,
    });
    expect(logEntries(output()).find((line) => line.message === 'rollout ended')).toBeDefined();
    expect(await world.store.rollout(rolloutId)).toMatchObject({ status: 'DONE' });
  });

  it('ignores an input without a rollout id, with a logged reason and no AWS call', async () => {
    const world = new RolloutWorld();
    const output = captureOutput();
    const runner = await engineFor(world);
    world.sim.clearCalls();

    const execution = await runner.run({ payload: { hello: 'world' } });

    expect(execution.getStatus()).toBe('SUCCEEDED');
    expect(execution.getResult()).toEqual({ ignored: 'the input has no valid rolloutId' });
    expect(world.sim.calls()).toEqual([]);
    expect(
      logEntries(output()).find((line) => line.message === 'rollout input ignored'),
    ).toBeDefined();
  });
});
