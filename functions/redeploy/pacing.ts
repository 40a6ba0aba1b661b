/**
 * Client-side pacing for the ECS API, so discovery in a large account neither hammers ECS into
 * throttling (other teams' deployments share the same per-account buckets) nor loses seconds to
 * the SDK's randomised backoff after each ThrottlingException.
 *
 * ECS throttles per account and Region with token buckets (ECS API reference, request
 * throttling). The pacer mirrors them: a call waits for a token of its group before it is sent.
 * The SDK's retries stay in place for throttling caused by other callers.
 */
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListClustersCommand,
  ListServicesCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { errorName } from './errors.js';
import type { EcsLike } from './task-definitions.js';

export interface BucketSpec {
  /** Tokens available at once. */
  readonly burst: number;
  /** Tokens added per second. */
  readonly ratePerSecond: number;
}

/** ECS's documented buckets (burst / refill per second). */
export const ECS_THROTTLING = {
  services: { burst: 100, ratePerSecond: 20 }, // ListServices + DescribeServices
  taskDefinitions: { burst: 50, ratePerSecond: 20 }, // DescribeTaskDefinition
  updates: { burst: 50, ratePerSecond: 5 }, // UpdateService
  clusters: { burst: 50, ratePerSecond: 20 }, // ListClusters (+ DescribeClusters)
} as const satisfies Record<string, BucketSpec>;

type Group = keyof typeof ECS_THROTTLING;

/** By command class: names do not survive minification, classes do. */
const GROUP_OF = new Map<unknown, Group>([
  [ListServicesCommand, 'services'],
  [DescribeServicesCommand, 'services'],
  [DescribeTaskDefinitionCommand, 'taskDefinitions'],
  [UpdateServiceCommand, 'updates'],
  [ListClustersCommand, 'clusters'],
]);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A token bucket whose waiters are served in arrival order. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly spec: BucketSpec,
    private readonly now: () => number = () => performance.now(),
    private readonly wait: (ms: number) => Promise<void> = sleep,
  ) {
    this.tokens = spec.burst;
    this.last = now();
  }

  /** Resolves when the caller may make one call. */
  take(): Promise<void> {
    const turn = this.tail.then(async () => {
      this.refill();
      if (this.tokens < 1) {
        await this.wait(((1 - this.tokens) / this.spec.ratePerSecond) * 1000);
        this.refill();
      }
      this.tokens -= 1;
    });
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(
      this.spec.burst,
      this.tokens + ((now - this.last) / 1000) * this.spec.ratePerSecond,
    );
    this.last = now;
  }
}

export type Buckets = Readonly<Record<Group, TokenBucket>>;

export function ecsBuckets(specs: Record<Group, BucketSpec> = ECS_THROTTLING): Buckets {
  return {
    services: new TokenBucket(specs.services),
    taskDefinitions: new TokenBucket(specs.taskDefinitions),
    updates: new TokenBucket(specs.updates),
    clusters: new TokenBucket(specs.clusters),
  };
}

/** Errors that mean the call did not happen and may be tried again. */
const THROTTLED = new Set(['ThrottlingException', 'TooManyRequestsException']);
const SERVER = new Set(['ServerException', 'ServiceUnavailable', 'InternalFailure']);

/** Extra attempts after the SDK's own retries gave up (its retry quota can run dry at scale). */
export const EXTRA_ATTEMPTS = 4;

/**
 * An ECS client whose calls each wait for a token of their throttling group first. When the
 * SDK gives up on a throttled call (or a server error on a read), the call is tried again after
 * a pause (1, 2, 4, 8 s): under sustained throttling the SDK's per-client retry quota runs out
 * long before the function's timeout. UpdateService is retried only when it was throttled or the
 * service was unavailable (503), which mean it was not applied.
 */
export function pacedEcs(
  ecs: EcsLike,
  buckets: Buckets = ecsBuckets(),
  wait: (ms: number) => Promise<void> = sleep,
): EcsLike {
  return {
    send: (async (command: object, ...rest: unknown[]) => {
      const group = GROUP_OF.get(command.constructor);
      for (let attempt = 0; ; attempt += 1) {
        if (group) await buckets[group].take();
        try {
          return await (ecs.send as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
        } catch (error) {
          const name = errorName(error);
          // A write is retried only when the answer says it was not processed.
          const retryable =
            THROTTLED.has(name) ||
            name === 'ServiceUnavailable' ||
            (SERVER.has(name) && group !== 'updates' && group !== undefined);
          if (!retryable || attempt >= EXTRA_ATTEMPTS) throw error;
          await wait(1000 * 2 ** attempt);
        }
      }
    }) as EcsLike['send'],
  };
}
