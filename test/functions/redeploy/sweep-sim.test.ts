/**
 * The plain function's sweep (no rollout table) on the simulated account. (Kept apart from the
 * files that mock SDK clients: a mock patches every client of its class.)
 */
import { describe, expect, it } from 'vitest';
import { runSweep } from '../../../functions/redeploy/sweep.js';
import { RolloutWorld } from '../../helpers/rollout-world.js';

describe('the sweep without rollouts (the plain function)', () => {
  // Mutation survivor (issue 10, 5): a service holding two changed references is dated by the
  // latest change, whichever reference is listed last.
  it('dates a service by the latest change of the secrets it references, in any order', async () => {
    for (const order of ['newer-first', 'older-first'] as const) {
      const world = new RolloutWorld({ users: [] });
      const newer = world.sim.addSecret({
        name: 'prod/newer',
        suffix: 'Nw12Ab',
        versions: { n1: { stages: ['AWSCURRENT'], createdAt: new Date('2026-02-20T00:00:00Z') } },
      });
      const older = world.sim.addSecret({
        name: 'prod/older',
        suffix: 'Ol12Ab',
        versions: { o1: { stages: ['AWSCURRENT'], createdAt: new Date('2026-01-20T00:00:00Z') } },
      });
      const refs = order === 'newer-first' ? [newer, older] : [older, newer];
      const td = world.sim.addTaskDefinition({
        family: 'two',
        containerDefinitions: [
          {
            name: 'app',
            image: 'app',
            secrets: refs.map((arn, i) => ({ name: `S${i}`, valueFrom: arn })),
          },
        ],
      });
      // Deployed between the two changes: only the newer one makes it stale.
      world.sim.addService({
        cluster: 'prod',
        name: 'two',
        taskDefinition: td,
        deployedAt: new Date('2026-02-01T00:00:00Z'),
      });
      const deps = world.deps({ ROLLOUT_TABLE_NAME: '', ROLLOUT_ENGINE_ARN: '' });

      const report = await runSweep({ ...deps, ssm: world.ssm }, 'sweep');

      expect(report.redeployed, order).toEqual([world.serviceArn('two')]);
    }
  });

  it('finds a secret whose name ends in a hyphen and six characters, referenced by its complete ARN', async () => {
    const world = new RolloutWorld({ users: [] });
    const arn = world.sim.addSecret({
      name: 'prod/api-secret',
      suffix: 'Ap12Zz',
      versions: { a1: { stages: ['AWSCURRENT'], createdAt: new Date('2026-02-20T00:00:00Z') } },
    });
    const td = world.sim.addTaskDefinition({
      family: 'api',
      containerDefinitions: [
        { name: 'app', image: 'app', secrets: [{ name: 'K', valueFrom: arn }] },
      ],
    });
    world.sim.addService({
      cluster: 'prod',
      name: 'api',
      taskDefinition: td,
      deployedAt: new Date('2026-02-01T00:00:00Z'),
    });

    const report = await runSweep(
      { ...world.deps({ ROLLOUT_TABLE_NAME: '', ROLLOUT_ENGINE_ARN: '' }), ssm: world.ssm },
      'sweep',
    );

    expect(report.warnings).toEqual([]);
    expect(report.redeployed).toEqual([world.serviceArn('api')]);
  });
});
