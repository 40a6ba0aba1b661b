/**
 * CloudWatch metrics in embedded metric format (EMF): one JSON log line per report, which
 * CloudWatch turns into metrics without any API call. Namespace and names are a contract with
 * the construct's metricXxx() methods (infra/secret-redeployer.ts).
 */
import type { LogSink } from './log.js';

export const METRIC = {
  changesSeen: 'ChangesSeen',
  changesIgnored: 'ChangesIgnored',
  servicesRedeployed: 'ServicesRedeployed',
  servicesSkipped: 'ServicesSkipped',
  servicesFailed: 'ServicesFailed',
  servicesBraked: 'ServicesBraked',
  servicesFlapGuarded: 'ServicesFlapGuarded',
  servicesNeedingAction: 'ServicesNeedingAction',
  rolloutsUnwatched: 'RolloutsUnwatched',
  sweepErrors: 'SweepErrors',
  // Written by the rollout engine when a rollout ends.
  rolloutsEnded: 'RolloutsEnded',
  rolloutDuration: 'RolloutDuration',
  deploymentsCompleted: 'DeploymentsCompleted',
  deploymentsFailed: 'DeploymentsFailed',
  deploymentsRolledBack: 'DeploymentsRolledBack',
  deploymentsStuck: 'DeploymentsStuck',
  servicesOwed: 'ServicesOwed',
  rolloutsHalted: 'RolloutsHalted',
} as const;

/** Units other than Count. */
const UNITS: Readonly<Partial<Record<string, string>>> = { RolloutDuration: 'Seconds' };

export interface MetricCounts {
  readonly changesSeen?: number;
  readonly changesIgnored?: number;
  readonly servicesRedeployed?: number;
  readonly servicesSkipped?: number;
  readonly servicesFailed?: number;
  readonly servicesBraked?: number;
  readonly servicesFlapGuarded?: number;
  readonly servicesNeedingAction?: number;
  /** Rollouts whose engine could not be started (the sweep restarts them). */
  readonly rolloutsUnwatched?: number;
  /** What a sweep could not check (access denied, unreadable task definitions…). */
  readonly sweepErrors?: number;
  /** Rollouts that ended (every service delivered, failed, or needing a person). */
  readonly rolloutsEnded?: number;
  /** Seconds from a rollout's start to its end. */
  readonly rolloutDuration?: number;
  /** Forced deployments that reached COMPLETED. */
  readonly deploymentsCompleted?: number;
  /** Forced deployments that FAILED (circuit breaker, rollback off). */
  readonly deploymentsFailed?: number;
  /** Forced deployments the circuit breaker rolled back. */
  readonly deploymentsRolledBack?: number;
  /** Forced deployments with no end within the time-out. */
  readonly deploymentsStuck?: number;
  /** Services that did not receive a change when its rollout ended. */
  readonly servicesOwed?: number;
  /**
   * A gauge: open rollouts halted and waiting for a person, counted by the engine as it waits
   * and by every sweep (alarm on its Maximum).
   */
  readonly rolloutsHalted?: number;
  /** Ignored changes by reason code. */
  readonly ignoredBy?: Readonly<Record<string, number>>;
  /** Skipped services by reason code. */
  readonly skippedBy?: Readonly<Record<string, number>>;
}

export class MetricsWriter {
  constructor(
    private readonly namespace: string,
    private readonly functionName: string,
    private readonly sink: LogSink = process.stdout,
    private readonly now: () => number = Date.now,
  ) {}

  write(counts: MetricCounts): void {
    const totals: Record<string, number> = {};
    for (const [key, name] of Object.entries(METRIC)) {
      const value = counts[key as keyof typeof METRIC];
      if (value !== undefined) totals[name] = value;
    }
    this.emit(['FunctionName'], totals, {});
    for (const [reason, value] of Object.entries(counts.ignoredBy ?? {})) {
      this.emit(['FunctionName', 'Reason'], { [METRIC.changesIgnored]: value }, { Reason: reason });
    }
    for (const [reason, value] of Object.entries(counts.skippedBy ?? {})) {
      this.emit(
        ['FunctionName', 'Reason'],
        { [METRIC.servicesSkipped]: value },
        { Reason: reason },
      );
    }
  }

  private emit(
    dimensions: string[],
    values: Record<string, number>,
    extraDimensions: Record<string, string>,
  ): void {
    const names = Object.keys(values);
    if (names.length === 0) return;
    const document = {
      _aws: {
        Timestamp: this.now(),
        CloudWatchMetrics: [
          {
            Namespace: this.namespace,
            Dimensions: [dimensions],
            Metrics: names.map((Name) => ({ Name, Unit: UNITS[Name] ?? 'Count' })),
          },
        ],
      },
      FunctionName: this.functionName,
      ...extraDimensions,
      ...values,
    };
    this.sink.write(`${JSON.stringify(document)}\n`);
  }
}
