import { type DurableContext, withDurableExecution } from '@aws/durable-execution-sdk-js';
import {
  LocalDurableTestRunner,
  WaitingOperationStatus,
} from '@aws/durable-execution-sdk-js-testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { durableEngine } from '../../../functions/rollout/durable.js';
import type { Look } from '../../../functions/rollout/observe.js';
import type { RolloutSummary } from '../../../functions/rollout/summary.js';
import {
  type Engine,
  MAX_LOOKS,
  type WorkflowSteps,
  parseRolloutInput,
  runRollout,
} from '../../../functions/rollout/workflow.js';

const look = (overrides: Partial<Look> = {}): Look => ({
  done: false,
  status: 'OPEN',
  nextLookSeconds: 60,
  watching: true,
  counts: { DEPLOYING: 1 },
  ...overrides,
});

/** Steps that answer the looks given, in order, and record what was asked. */
function scripted(looks: Look[]) {
  const calls: string[] = [];
  const steps: WorkflowSteps = {
    observe: (id) => {
      calls.push(`observe ${id}`);
      const next = looks.shift();
      if (!next) throw new Error('no more looks scripted');
      return Promise.resolve(next);
    },
    finish: (id) => {
      calls.push(`finish ${id}`);
      return Promise.resolve({
        status: 'DONE',
        counts: { COMPLETED: 1 },
      } as unknown as RolloutSummary);
    },
    arm: (id, wakeId) => {
      calls.push(`arm ${id} ${wakeId}`);
      return Promise.resolve();
    },
    armOperator: (id, wakeId) => {
      calls.push(`armOperator ${id} ${wakeId}`);
      return Promise.resolve();
    },
    announce: (id) => {
      calls.push(`announce ${id}`);
      return Promise.resolve();
    },
    control: (id, request) => {
      calls.push(`control ${id} ${JSON.stringify(request)}`);
      return Promise.resolve();
    },
  };
  return { steps, calls };
}

/** An engine that runs steps at once and records waits, arming them with a made-up id. */
function recordingEngine() {
  const waits: { name: string; seconds: number; armed: boolean }[] = [];
  const engine: Engine = {
    step: (_name, work) => work(),
    async wait(name, seconds, arm) {
      waits.push({ name, seconds, armed: arm !== undefined });
      if (arm) await arm(`wake-${name}`);
      return undefined;
    },
  };
  return { engine, waits };
}

describe('runRollout', () => {
  it('looks, waits as long as the look says, until every service ended; then finishes once', async () => {
    const { steps, calls } = scripted([
      look({ nextLookSeconds: 60 }),
      look({ nextLookSeconds: 1800, watching: false, counts: { HELD: 1 } }),
      look({ done: true, counts: { COMPLETED: 1 } }),
    ]);
    const { engine, waits } = recordingEngine();

    const result = await runRollout(engine, steps, { rolloutId: 's-db-1' });

    expect(waits).toEqual([
      { name: 'wait-0', seconds: 60, armed: true },
      // Nothing in flight, only a hold: a plain timer, no wake-up to arm.
      { name: 'wait-1', seconds: 1800, armed: false },
    ]);
    expect(calls).toEqual([
      'observe s-db-1',
      'arm s-db-1 wake-wait-0',
      'observe s-db-1',
      'observe s-db-1',
      'finish s-db-1',
    ]);
    expect(result).toEqual({
      rolloutId: 's-db-1',
      status: 'DONE',
      looks: 3,
      counts: { COMPLETED: 1 },
    });
  });

  it('finishes at once when the first look finds nothing owed', async () => {
    const { steps, calls } = scripted([look({ done: true, counts: { SKIPPED: 2 } })]);
    const { engine, waits } = recordingEngine();
    await runRollout(engine, steps, { rolloutId: 'r' });
    expect(waits).toEqual([]);
    expect(calls).toEqual(['observe r', 'finish r']);
  });

  it(`hands an endless rollout over after ${MAX_LOOKS} looks instead of growing its history forever`, async () => {
    const looks = Array.from({ length: MAX_LOOKS }, () => look());
    const { steps, calls } = scripted(looks);
    const { engine } = recordingEngine();
    const result = await runRollout(engine, steps, { rolloutId: 'r' });
    expect(result.status).toBe('HANDED_OVER');
    expect(calls.filter((c) => c.startsWith('finish'))).toEqual([]);
  });
});

describe('runRollout when a rollout halts', () => {
  it('announces the halt once, waits for an operator (not for ECS), and records a decision that came with the wake-up', async () => {
    const { steps, calls } = scripted([
      look({ halted: true, haltPending: true, watching: false, nextLookSeconds: 3600 }),
      look({ halted: true, watching: false, nextLookSeconds: 3600 }),
      look({ done: true, status: 'ABORTED', counts: { NEEDS_ACTION: 3 } }),
    ]);
    const waits: { name: string; seconds: number }[] = [];
    const payloads = [undefined, '{"action":"abort","by":"ops"}'];
    const engine: Engine = {
      step: (_name, work) => work(),
      async wait(name, seconds, arm) {
        waits.push({ name, seconds });
        if (arm) await arm(`cb-${name}`);
        return payloads.shift();
      },
    };

    await runRollout(engine, steps, { rolloutId: 'r' });

    expect(calls).toEqual([
      'observe r',
      'announce r',
      'armOperator r cb-wait-0',
      'observe r',
      'armOperator r cb-wait-1',
      'control r {"action":"abort","by":"ops"}',
      'observe r',
      'finish r',
    ]);
    expect(waits).toEqual([
      { name: 'wait-0', seconds: 3600 },
      { name: 'wait-1', seconds: 3600 },
    ]);
  });

  it('halted with deployments still in flight: watches them (ECS wakes it), no operator wait yet', async () => {
    const { steps, calls } = scripted([
      look({ halted: true, haltPending: true, watching: true, nextLookSeconds: 60 }),
      look({ done: true }),
    ]);
    const { engine } = recordingEngine();
    await runRollout(engine, steps, { rolloutId: 'r' });
    expect(calls).toEqual([
      'observe r',
      'announce r',
      'arm r wake-wait-0',
      'observe r',
      'finish r',
    ]);
  });

  it('announces deployments paused at a lifecycle hook', async () => {
    const { steps, calls } = scripted([look({ hookPending: true }), look({ done: true })]);
    const { engine } = recordingEngine();
    await runRollout(engine, steps, { rolloutId: 'r' });
    expect(calls.slice(0, 2)).toEqual(['observe r', 'announce r']);
  });
});

describe('parseRolloutInput', () => {
  it.each([
    null,
    'text',
    [],
    {},
    { rolloutId: '' },
    { rolloutId: 'a b' },
    { rolloutId: 'x'.repeat(65) },
  ])('refuses %j', (input) => {
    expect(typeof parseRolloutInput(input)).toBe('string');
  });

  it('accepts a rollout id', () => {
    expect(parseRolloutInput({ rolloutId: 's-prod-db-0123abcd', extra: 1 })).toEqual({
      rolloutId: 's-prod-db-0123abcd',
    });
  });
});

describe('on Lambda durable functions (local runner, time skipped)', () => {
  beforeAll(() => LocalDurableTestRunner.setupTestEnvironment({ skipTime: true }));
  afterAll(() => LocalDurableTestRunner.teardownTestEnvironment());

  it('waits on durable timers and finishes; a retried step is not run twice', async () => {
    const { steps, calls } = scripted([
      look({ watching: false, nextLookSeconds: 3600, counts: { HELD: 1 } }),
      look({ watching: false, nextLookSeconds: 3600, counts: { HELD: 1 } }),
      look({ done: true }),
    ]);
    const handler = withDurableExecution((event: unknown, context: DurableContext) =>
      runRollout(durableEngine(context), steps, {
        rolloutId: (event as { rolloutId: string }).rolloutId,
      }),
    );
    const runner = new LocalDurableTestRunner({ handlerFunction: handler });

    const execution = await runner.run({ payload: { rolloutId: 'r-1' } });

    expect(execution.getStatus()).toBe('SUCCEEDED');
    expect(execution.getResult()).toMatchObject({ rolloutId: 'r-1', status: 'DONE', looks: 3 });
    // Every look ran once, although the function was invoked again after each wait (replay).
    expect(calls).toEqual(['observe r-1', 'observe r-1', 'observe r-1', 'finish r-1']);
    expect(runner.getOperation('wait-0').getWaitDetails()?.waitSeconds).toBe(3600);
  });

  it('an operator resumes a halted rollout through the callback alone (the AWS CLI path)', async () => {
    const controls: string[] = [];
    const looks = [
      look({ halted: true, watching: false, nextLookSeconds: 3600 }),
      look({ done: true }),
    ];
    const steps: WorkflowSteps = {
      observe: () => Promise.resolve(looks.shift() ?? look({ done: true })),
      finish: () => Promise.resolve(undefined),
      arm: () => Promise.reject(new Error('no deployment in flight')),
      armOperator: () => Promise.resolve(),
      announce: () => Promise.resolve(),
      control: (_id, request) => {
        controls.push(JSON.stringify(request));
        return Promise.resolve();
      },
    };
    const handler = withDurableExecution((_event: unknown, context: DurableContext) =>
      runRollout(durableEngine(context), steps, { rolloutId: 'r-3' }),
    );
    const runner = new LocalDurableTestRunner({ handlerFunction: handler });

    const running = runner.run({ payload: { rolloutId: 'r-3' } });
    const wait = runner.getOperation('wait-0');
    await wait.waitForData(WaitingOperationStatus.SUBMITTED);
    await wait.sendCallbackSuccess('{"action":"resume","by":"ops"}');
    const execution = await running;

    expect(execution.getStatus()).toBe('SUCCEEDED');
    expect(controls).toEqual(['{"action":"resume","by":"ops"}']);
  });

  it('wakes early when the callback armed for a wait is completed (an ECS deployment event)', async () => {
    const armed: string[] = [];
    const looks = [look({ nextLookSeconds: 900 }), look({ done: true })];
    const steps: WorkflowSteps = {
      observe: () => Promise.resolve(looks.shift() ?? look({ done: true })),
      finish: () => Promise.resolve(undefined),
      arm: (_id, wakeId) => {
        armed.push(wakeId);
        return Promise.resolve();
      },
      armOperator: () => Promise.reject(new Error('not halted')),
      announce: () => Promise.reject(new Error('nothing to announce')),
      control: () => Promise.reject(new Error('no operator')),
    };
    const handler = withDurableExecution((_event: unknown, context: DurableContext) =>
      runRollout(durableEngine(context), steps, { rolloutId: 'r-2' }),
    );
    const runner = new LocalDurableTestRunner({ handlerFunction: handler });

    const running = runner.run({ payload: { rolloutId: 'r-2' } });
    const wait = runner.getOperation('wait-0');
    await wait.waitForData(WaitingOperationStatus.SUBMITTED);
    await wait.sendCallbackSuccess(JSON.stringify({ reason: 'SERVICE_DEPLOYMENT_COMPLETED' }));
    const execution = await running;

    expect(execution.getStatus()).toBe('SUCCEEDED');
    expect(armed).toHaveLength(1);
    expect(armed[0]).toBe(wait.getCallbackDetails()?.callbackId);
  });
});
