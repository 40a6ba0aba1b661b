/**
 * What a scenario process (bench/scenario.ts) reports to bench/run.ts.
 */
import type { OperationCounts } from './aws-sim.js';

export const RESULT_MARKER = '@@BENCH-RESULT@@';

export type ScenarioName =
  | 'large-cold'
  | 'large-warm'
  /** large-warm with rollouts on: the bookkeeping's cost, side by side with large-warm. */
  | 'large-warm-rollouts'
  | 'baseline'
  | 'small-warm';

export interface ScenarioSpec {
  readonly name: ScenarioName;
  /** small-warm: measured invocations. */
  readonly runs?: number;
}

/** What the SDK reported for one operation, seen above its retry loop. */
export interface SdkOperationStats {
  /** Commands sent (each may have made several attempts). */
  commands: number;
  /** Attempts, as `$metadata.attempts` counts them. */
  attempts: number;
  /** Sum of the backoff delays the retry strategy slept. */
  retryDelayMs: number;
  maxAttempts: number;
  /** Errors that reached the caller, by name. */
  errors: Record<string, number>;
}

export interface MemoryStats {
  /** RSS after the simulated account was built and before the run (MiB). */
  readonly rssBeforeMb: number;
  /** Highest RSS sampled during the run (every 20 ms). */
  readonly rssPeakMb: number;
  /** The process's RSS high-water mark (`resourceUsage().maxRSS`), setup included. */
  readonly maxRssMb: number;
  /** Highest heapUsed sampled during the run minus heapUsed before it. */
  readonly heapGrowthMb: number;
  /** RSS the simulated account and its data added (measured while building it). */
  readonly simulatorRssMb: number;
  /** RSS before the account was built: Node.js, the SDK and the function's code. */
  readonly rssRuntimeMb: number;
}

export interface ScenarioResult {
  readonly name: ScenarioName;
  readonly wallMs: number;
  /** small-warm: each measured invocation. */
  readonly wallMsRuns?: readonly number[];
  /** Process CPU during the run (user + system), the simulator's share included. */
  readonly cpuMs: number;
  /** The simulator's own synchronous CPU share. */
  readonly simulatorMs: number;
  /** Per `service.Operation`, as the simulated AWS saw them. */
  readonly calls: Record<string, OperationCounts>;
  /** large-warm-rollouts: the rollout bookkeeping's calls (DynamoDB, Lambda, SSM), by operation. */
  readonly rolloutCalls?: Record<string, number>;
  /**
   * large-warm-rollouts: CPU the second simulated account (the rollout table's DynamoDB) spent in
   * this process; a real table answers from elsewhere, so it is taken off the wall time.
   */
  readonly rolloutSimulatorMs?: number;
  /** small-warm: calls of each measured invocation. */
  readonly callsPerRun?: readonly Record<string, number>[];
  /**
   * small-warm controls, one per measured invocation: the critical path's calls made directly
   * with the same SDK client, and bare timers of the same latency.
   */
  readonly controls?: {
    readonly sdkChainMs: readonly number[];
    readonly timersMs: readonly number[];
  };
  readonly sdk: Record<string, SdkOperationStats>;
  readonly memory: MemoryStats;
  readonly outcome: {
    readonly redeployed: number;
    readonly needsAction: number;
    readonly skipped: number;
    readonly stillReferenced: number;
    readonly failed: number;
    readonly failedSample: readonly string[];
  };
  readonly expected: { readonly redeployed: number; readonly needsAction: number };
  /** Redeployed and needs-action sets equal the expected ones and nothing failed. */
  readonly correct: boolean;
  readonly mismatches: readonly string[];
  readonly account: {
    readonly servicesByCluster: readonly number[];
    readonly taskDefinitionsInUse: number;
    readonly referencingServices: number;
    readonly pinned: number;
    readonly referencesByForm: Readonly<Record<string, number>>;
  };
  readonly clustersConfigured: boolean;
  readonly latencyMs: number;
}
