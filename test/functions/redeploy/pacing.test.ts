import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListServicesCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ECS_THROTTLING,
  TokenBucket,
  ecsBuckets,
  pacedEcs,
} from '../../../functions/redeploy/pacing.js';

/** A manual clock: `wait` advances it, so the bucket's schedule can be read exactly. */
function manualClock() {
  let now = 0;
  const waits: number[] = [];
  return {
    now: () => now,
    wait: (ms: number) => {
      waits.push(ms);
      now += ms;
      return Promise.resolve();
    },
    advance: (ms: number) => {
      now += ms;
    },
    waits,
    get time() {
      return now;
    },
  };
}

describe('TokenBucket', () => {
  it('lets the burst through at once, then one call per 1/rate seconds', async () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ burst: 3, ratePerSecond: 5 }, clock.now, clock.wait);
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, () => bucket.take().then(() => times.push(clock.time))),
    );
    expect(times.slice(0, 3)).toEqual([0, 0, 0]);
    expect(times.slice(3)).toEqual([200, 400, 600]);
  });

  it('refills while idle, never beyond the burst', async () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ burst: 2, ratePerSecond: 10 }, clock.now, clock.wait);
    await bucket.take();
    await bucket.take();
    clock.advance(10_000);
    await bucket.take();
    await bucket.take();
    expect(clock.waits).toEqual([]);
    await bucket.take();
    expect(clock.waits).toHaveLength(1);
    expect(clock.waits[0]).toBeCloseTo(100);
  });

  it('serves waiters in arrival order', async () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ burst: 1, ratePerSecond: 1 }, clock.now, clock.wait);
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4].map((n) => bucket.take().then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3, 4]);
  });
});

describe('pacedEcs', () => {
  const ecsMock = mockClient(ECSClient);
  beforeEach(() => {
    ecsMock.reset();
    ecsMock.onAnyCommand().resolves({});
  });

  it('takes a token of the right group before each call and forwards it unchanged', async () => {
    const taken: string[] = [];
    const recorder = (group: string) =>
      ({ take: () => (taken.push(group), Promise.resolve()) }) as unknown as TokenBucket;
    const ecs = pacedEcs(new ECSClient({}), {
      services: recorder('services'),
      taskDefinitions: recorder('taskDefinitions'),
      updates: recorder('updates'),
      clusters: recorder('clusters'),
    });
    await ecs.send(new ListServicesCommand({ cluster: 'prod' }));
    await ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: ['a'] }));
    await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'td:1' }));
    await ecs.send(
      new UpdateServiceCommand({ cluster: 'prod', service: 'a', forceNewDeployment: true }),
    );
    expect(taken).toEqual(['services', 'services', 'taskDefinitions', 'updates']);
    expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, {
      cluster: 'prod',
      service: 'a',
      forceNewDeployment: true,
    });
  });

  it('mirrors the documented ECS buckets', () => {
    expect(ECS_THROTTLING).toEqual({
      services: { burst: 100, ratePerSecond: 20 },
      taskDefinitions: { burst: 50, ratePerSecond: 20 },
      updates: { burst: 50, ratePerSecond: 5 },
      clusters: { burst: 50, ratePerSecond: 20 },
    });
    expect(Object.keys(ecsBuckets())).toEqual([
      'services',
      'taskDefinitions',
      'updates',
      'clusters',
    ]);
  });
});
