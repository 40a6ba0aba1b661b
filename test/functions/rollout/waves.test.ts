/**
 * Waves, pure: the plan (canary, sizes, the rest), the next step after each look, and which
 * changes are rolled out in waves at all.
 */
import { describe, expect, it } from 'vitest';
import type { ServiceRecord } from '../../../functions/rollout/model.js';
import {
  WAVE_TAG,
  nextWaveStep,
  planWaves,
  wavesApply,
  wavesOf,
  wavesTag,
} from '../../../functions/rollout/waves.js';
import { parseControl } from '../../../functions/rollout/workflow.js';

const arn = (name: string): string => `arn:aws:ecs:us-east-1:123456789012:service/prod/${name}`;
const fleet = (n: number, tags: Record<string, Record<string, string>> = {}) =>
  Array.from({ length: n }, (_, i) => {
    const name = `svc-${String(i + 1).padStart(2, '0')}`;
    return { arn: arn(name), tags: tags[name] ?? {} };
  });
const names = (wave: readonly string[]): string[] => wave.map((a) => a.split('/').pop() ?? '');

describe('planWaves', () => {
  it('20 services with 1, 10%, 50%: a canary, 2, 10, then the remaining 7', () => {
    const plan = planWaves(fleet(20), [{ count: 1 }, { percent: 10 }, { percent: 50 }]);
    expect(wavesOf(plan).map((w) => w.length)).toEqual([1, 2, 10, 7]);
    expect(names(wavesOf(plan)[0] ?? [])).toEqual(['svc-01']);
    expect(names(wavesOf(plan)[1] ?? [])).toEqual(['svc-02', 'svc-03']);
  });

  it('services tagged as canary make the first wave, whatever the first size', () => {
    const plan = planWaves(
      fleet(10, { 'svc-07': { [WAVE_TAG]: 'canary' }, 'svc-09': { [WAVE_TAG]: ' Canary ' } }),
      [{ count: 1 }, { count: 3 }],
    );
    const waves = wavesOf(plan).map(names);
    expect(waves[0]).toEqual(['svc-07', 'svc-09']);
    expect(waves[1]).toEqual(['svc-01', 'svc-02', 'svc-03']);
    expect(waves[2]).toHaveLength(5);
  });

  it('a percentage rounds up and is at least one service', () => {
    const plan = planWaves(fleet(3), [{ count: 1 }, { percent: 10 }]);
    expect(wavesOf(plan).map((w) => w.length)).toEqual([1, 1, 1]);
  });

  it('stops when the fleet runs out: no empty waves', () => {
    const plan = planWaves(fleet(2), [{ count: 1 }, { percent: 10 }, { percent: 50 }]);
    expect(wavesOf(plan).map((w) => w.length)).toEqual([1, 1]);
  });

  it('is the same whatever order the services were discovered in', () => {
    const services = fleet(12);
    const sizes = [{ count: 2 }, { percent: 25 }];
    const a = planWaves(services, sizes);
    const b = planWaves([...services].reverse(), sizes);
    expect([...b].sort()).toEqual([...a].sort());
  });

  it('no sizes: everything in wave 1', () => {
    expect(wavesOf(planWaves(fleet(4), [])).map((w) => w.length)).toEqual([4]);
  });
});

const record = (name: string, wave: number, state: ServiceRecord['state']): ServiceRecord => ({
  serviceArn: arn(name),
  clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod',
  state,
  attempts: 0,
  plannedAt: '2026-03-01T12:00:00.000Z',
  updatedAt: '2026-03-01T12:00:00.000Z',
  wave,
});
const NOW = new Date('2026-03-01T12:10:00Z');

describe('nextWaveStep', () => {
  it('waits while a started wave still deploys', () => {
    const records = [record('a', 1, 'DEPLOYING'), record('b', 2, 'PLANNED')];
    expect(nextWaveStep(records, 1, NOW, 0)).toEqual({ kind: 'wait' });
  });

  it('halts on FAILED, ROLLED_BACK or STUCK in a started wave, naming the service and why', () => {
    for (const state of ['FAILED', 'ROLLED_BACK', 'STUCK'] as const) {
      const failed = { ...record('a', 1, state), reason: 'tasks failed to start' };
      const step = nextWaveStep([failed, record('b', 2, 'PLANNED')], 1, NOW, 0);
      expect(step).toEqual({
        kind: 'halt',
        reason: `prod/a ${state} in wave 1: tasks failed to start`,
        services: [arn('a')],
      });
    }
  });

  it('NEEDS_ACTION and SKIPPED do not halt: they are reported, the waves go on', () => {
    const records = [
      record('a', 1, 'COMPLETED'),
      record('n', 1, 'NEEDS_ACTION'),
      record('s', 1, 'SKIPPED'),
      record('b', 2, 'PLANNED'),
    ];
    expect(nextWaveStep(records, 1, NOW, 0)).toEqual({ kind: 'advance', to: 2 });
  });

  it('a failure in a wave not started yet does not count', () => {
    const records = [record('a', 1, 'COMPLETED'), record('b', 2, 'FAILED')];
    expect(nextWaveStep(records, 1, NOW, 0)).toEqual({ kind: 'advance', to: 2 });
  });

  it('bakes a completed wave, then advances once the bake is over', () => {
    const records = [record('a', 1, 'COMPLETED'), record('b', 2, 'PLANNED')];
    expect(nextWaveStep(records, 1, NOW, 600)).toEqual({
      kind: 'bake',
      until: new Date(NOW.getTime() + 600_000),
    });
    const until = new Date(NOW.getTime() + 1000).toISOString();
    expect(nextWaveStep(records, 1, NOW, 600, until)).toEqual({
      kind: 'bake',
      until: new Date(until),
    });
    expect(nextWaveStep(records, 1, new Date(NOW.getTime() + 1000), 600, until)).toEqual({
      kind: 'advance',
      to: 2,
    });
  });

  it('is done after the last wave, without a bake', () => {
    expect(nextWaveStep([record('a', 1, 'COMPLETED')], 1, NOW, 600)).toEqual({ kind: 'done' });
  });

  it('skips numbers no service has (joined services land in the last wave)', () => {
    const records = [record('a', 1, 'COMPLETED'), record('z', 4, 'PLANNED')];
    expect(nextWaveStep(records, 1, NOW, 0)).toEqual({ kind: 'advance', to: 4 });
  });
});

describe('wavesApply: only where holding a service back is safe', () => {
  it('the secret or parameter tag decides first', () => {
    expect(wavesApply('tagged', { tag: 'on', owningService: 'rds' }).apply).toBe(true);
    expect(wavesApply('all', { tag: 'off' }).apply).toBe(false);
  });

  it('a secret another service manages (RDS master password: single-user) is never held', () => {
    const decision = wavesApply('all', { owningService: 'rds' });
    expect(decision.apply).toBe(false);
    expect(decision.why).toContain('single-user');
  });

  it("an alternating-users rotation function (AWS's …MultiUser templates) is safe to hold", () => {
    const fn =
      'arn:aws:lambda:us-east-1:123456789012:function:SecretsManagerRDSPostgreSQLRotationMultiUser';
    expect(wavesApply('tagged', { rotationFunction: fn })).toEqual({
      apply: true,
      why: 'alternating-users rotation (SecretsManagerRDSPostgreSQLRotationMultiUser): the previous user stays valid',
    });
    const single = fn.replace('MultiUser', 'SingleUser');
    expect(wavesApply('tagged', { rotationFunction: single }).apply).toBe(false);
  });

  it('otherwise the policy: all, or only tagged', () => {
    expect(wavesApply('all').apply).toBe(true);
    expect(wavesApply('tagged').apply).toBe(false);
  });

  it('reads the tag leniently, and ignores values it does not know', () => {
    expect(['on', ' TRUE', 'yes'].map(wavesTag)).toEqual(['on', 'on', 'on']);
    expect(['off', 'False', 'no'].map(wavesTag)).toEqual(['off', 'off', 'off']);
    expect([undefined, '', 'maybe'].map(wavesTag)).toEqual([undefined, undefined, undefined]);
  });
});

describe('parseControl: an operator decision in a wake-up payload', () => {
  it('reads resume and abort, with who asked', () => {
    expect(parseControl('{"action":"resume"}')).toEqual({ action: 'resume' });
    expect(parseControl('{"action":"abort","by":"alice"}')).toEqual({
      action: 'abort',
      by: 'alice',
    });
  });

  it('anything else is no decision (an ECS event wake-up, a time-out, garbage)', () => {
    for (const payload of [
      undefined,
      '',
      '{"reason":"SERVICE_DEPLOYMENT_COMPLETED"}',
      '{"action":"delete"}',
      'not json',
      '"resume"',
      'null',
    ]) {
      expect(parseControl(payload)).toBeUndefined();
    }
  });
});
