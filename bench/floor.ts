/**
 * The floor: the fewest calls an account's shape allows, and the least time the throttling
 * buckets and the unavoidable sequence of calls need for them.
 *
 * Calls: ListClusters pages (when no cluster is configured), ListServices pages of 100,
 * DescribeServices batches of 10, each task definition in use read once (none when the cache
 * already holds them all), one UpdateService per service that must really be redeployed.
 *
 * Time: every bucket serves its calls in parallel with the others, at best
 * `max(0, calls - burst) / rate` seconds after the first; on top of that the calls that must
 * happen one after another each take the fixed latency: the ListClusters pages, the ListServices
 * pages of the largest cluster, then one DescribeServices, one DescribeTaskDefinition (cold
 * only) and one UpdateService.
 *   T_floor = max over buckets (max(0, N_b - burst_b) / rate_b) + steps × latency
 */
import { BUCKET_OF, ECS_BUCKETS } from './aws-sim.js';

export interface FloorInput {
  readonly servicesByCluster: readonly number[];
  /** Clusters named in the configuration; when false, ListClusters finds them. */
  readonly clustersConfigured: boolean;
  /** Task definitions that must be described (0 when all are cached). */
  readonly taskDefinitionsToRead: number;
  /** Services that must be force-deployed. */
  readonly updates: number;
  readonly latencyMs: number;
}

export interface Floor {
  /** Calls per `service.Operation`. */
  readonly calls: Readonly<Record<string, number>>;
  /** Seconds each bucket needs beyond its burst. */
  readonly bucketSeconds: Readonly<Record<string, number>>;
  /** Calls on the critical path. */
  readonly sequentialSteps: number;
  readonly seconds: number;
}

export const OPERATIONS = [
  'ecs.ListClusters',
  'ecs.ListServices',
  'ecs.DescribeServices',
  'ecs.DescribeTaskDefinition',
  'ecs.UpdateService',
  'secretsmanager.DescribeSecret',
] as const;

export function floorOf(input: FloorInput): Floor {
  const clusters = input.servicesByCluster.length;
  const listClusterPages = input.clustersConfigured ? 0 : Math.max(1, Math.ceil(clusters / 100));
  const pagesPerCluster = input.servicesByCluster.map((n) => Math.max(1, Math.ceil(n / 100)));
  const calls: Record<string, number> = {
    'ecs.ListClusters': listClusterPages,
    'ecs.ListServices': sum(pagesPerCluster),
    'ecs.DescribeServices': sum(input.servicesByCluster.map((n) => Math.ceil(n / 10))),
    'ecs.DescribeTaskDefinition': input.taskDefinitionsToRead,
    'ecs.UpdateService': input.updates,
    'secretsmanager.DescribeSecret': 0,
  };

  const perBucket: Record<string, number> = {};
  for (const [operation, count] of Object.entries(calls)) {
    const bucket = BUCKET_OF[operation];
    if (bucket !== undefined) perBucket[bucket] = (perBucket[bucket] ?? 0) + count;
  }
  const bucketSeconds: Record<string, number> = {};
  for (const [bucket, count] of Object.entries(perBucket)) {
    const spec = ECS_BUCKETS[bucket];
    if (spec) bucketSeconds[bucket] = Math.max(0, count - spec.burst) / spec.ratePerSecond;
  }

  const sequentialSteps =
    listClusterPages +
    Math.max(0, ...pagesPerCluster) +
    1 +
    (input.taskDefinitionsToRead > 0 ? 1 : 0) +
    (input.updates > 0 ? 1 : 0);
  const seconds =
    Math.max(0, ...Object.values(bucketSeconds)) + (sequentialSteps * input.latencyMs) / 1000;
  return { calls, bucketSeconds, sequentialSteps, seconds };
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
