/**
 * ECS request throttling, per account and Region (ECS API reference, "Request throttling for the
 * Amazon ECS API"; /work/shared/aws-facts.md): token buckets with a burst size, refilled
 * continuously at a sustained rate. A request that finds its bucket empty is answered
 * `400 ThrottlingException` ("Rate exceeded"), and the SDK's retry strategy decides what next.
 * Buckets refill with the sim clock: in manual mode only when the test advances time.
 */

/** A throttling bucket: `burst` tokens, refilled continuously at `ratePerSecond`. */
export interface BucketSpec {
  readonly burst: number;
  readonly ratePerSecond: number;
}

/** ECS throttling buckets per account and Region. */
export const ECS_BUCKETS: Readonly<Record<string, BucketSpec>> = {
  'ListServices+DescribeServices': { burst: 100, ratePerSecond: 20 },
  DescribeTaskDefinition: { burst: 50, ratePerSecond: 20 },
  UpdateService: { burst: 50, ratePerSecond: 5 },
  'ListClusters+DescribeClusters': { burst: 50, ratePerSecond: 20 },
};

/** Which bucket an operation draws from; operations absent here are not throttled. */
export const BUCKET_OF: Readonly<Record<string, string>> = {
  'ecs.ListServices': 'ListServices+DescribeServices',
  'ecs.DescribeServices': 'ListServices+DescribeServices',
  'ecs.DescribeTaskDefinition': 'DescribeTaskDefinition',
  'ecs.UpdateService': 'UpdateService',
  'ecs.ListClusters': 'ListClusters+DescribeClusters',
  'ecs.DescribeClusters': 'ListClusters+DescribeClusters',
};

class TokenBucket {
  private tokens: number;

  constructor(
    private readonly spec: BucketSpec,
    private last: number,
  ) {
    this.tokens = spec.burst;
  }

  take(now: number): boolean {
    if (now > this.last) {
      this.tokens = Math.min(
        this.spec.burst,
        this.tokens + ((now - this.last) / 1000) * this.spec.ratePerSecond,
      );
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The account's throttling buckets. */
export class Throttle {
  private buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly specs: Readonly<Record<string, BucketSpec>>,
    private readonly of: Readonly<Record<string, string>>,
    now: number,
  ) {
    this.refill(now);
  }

  /** Fills every bucket, as after a quiet period longer than the slowest refill. */
  refill(now: number): void {
    this.buckets = new Map(
      Object.entries(this.specs).map(([name, spec]) => [name, new TokenBucket(spec, now)]),
    );
  }

  /** Takes a token for `operation` (`ecs.UpdateService`); false if its bucket is empty. */
  admit(operation: string, now: number): boolean {
    const name = this.of[operation];
    const bucket = name === undefined ? undefined : this.buckets.get(name);
    return bucket === undefined || bucket.take(now);
  }
}
