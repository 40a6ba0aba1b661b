/**
 * A rollout: the durable record that owns one change until every service that uses it runs the
 * new value, or a person has been told why not. Plain data, no AWS calls.
 *
 * Service states and how they move:
 *
 *   PLANNED ──► DEPLOYING ──► COMPLETED | FAILED | ROLLED_BACK | STUCK
 *      │  ▲         │
 *      ▼  │         └──► SUPERSEDED (a newer deployment replaced ours; it is watched instead)
 *     HELD                    └──► COMPLETED | FAILED | ROLLED_BACK | STUCK
 *
 * and, decided at once, SKIPPED (already fresh, draining, excluded by tag, gone) or
 * NEEDS_ACTION (CODE_DEPLOY or EXTERNAL controller, a deleted secret still referenced). A
 * deployment paused at a lifecycle hook is NEEDS_ACTION too, but still watched: once someone
 * acts on the hook it is DEPLOYING again. Only COMPLETED counts as delivered.
 */
import type { PausedHook } from './hooks.js';

export type ServiceState =
  /** To be force-deployed; a failed UpdateService leaves it here with `attempts` and `reason`. */
  | 'PLANNED'
  /** Held back by a brake or the flap guard until `heldUntil`; still owed. */
  | 'HELD'
  /** Our forced deployment (or one that covers the change) is rolling out. */
  | 'DEPLOYING'
  /** A newer deployment replaced ours before it ended; that one is watched now. */
  | 'SUPERSEDED'
  | 'COMPLETED'
  | 'FAILED'
  | 'ROLLED_BACK'
  /** No end within the per-service time-out. */
  | 'STUCK'
  | 'NEEDS_ACTION'
  | 'SKIPPED';

export const TERMINAL_STATES: ReadonlySet<ServiceState> = new Set<ServiceState>([
  'COMPLETED',
  'FAILED',
  'ROLLED_BACK',
  'STUCK',
  'NEEDS_ACTION',
  'SKIPPED',
]);

/** Terminal states that leave the change undelivered: a person is told. */
export const UNDELIVERED_STATES: ReadonlySet<ServiceState> = new Set<ServiceState>([
  'FAILED',
  'ROLLED_BACK',
  'STUCK',
  'NEEDS_ACTION',
]);

/** States in which a deployment is rolling out and watched. */
export const WATCHED_STATES: ReadonlySet<ServiceState> = new Set<ServiceState>([
  'DEPLOYING',
  'SUPERSEDED',
]);

export const isTerminal = (state: ServiceState): boolean => TERMINAL_STATES.has(state);

/** The code of a NEEDS_ACTION service whose deployment is paused at a lifecycle hook. */
export const HOOK_AWAITING = 'hook-awaiting-action';

/** A deployment paused at a hook needs a person, but is not over: it is still watched. */
export const isAwaitingHook = (record: Pick<ServiceRecord, 'state' | 'code'>): boolean =>
  record.state === 'NEEDS_ACTION' && record.code === HOOK_AWAITING;

/** The service reached its end in the rollout (nothing more will happen to it by itself). */
export const isSettled = (record: Pick<ServiceRecord, 'state' | 'code'>): boolean =>
  isTerminal(record.state) && !isAwaitingHook(record);

/** A deployment of the service is rolling out (or paused) and watched. */
export const isWatched = (record: Pick<ServiceRecord, 'state' | 'code'>): boolean =>
  WATCHED_STATES.has(record.state) || isAwaitingHook(record);

/** One service's part in a rollout. Times are ISO strings (they are stored as such). */
export interface ServiceRecord {
  readonly serviceArn: string;
  readonly clusterArn: string;
  readonly state: ServiceState;
  /** When the rollout first saw the service. */
  readonly plannedAt: string;
  readonly updatedAt: string;
  /** When our UpdateService was sent (or the covering deployment was adopted). */
  readonly deployingAt?: string;
  /** When the deployment watched now started to be watched (differs once superseded). */
  readonly watchingSince?: string;
  readonly endedAt?: string;
  /** The deployment watched: ours, or the one that covers or superseded it. */
  readonly deploymentId?: string;
  /** The PRIMARY deployment before our UpdateService: a different one afterwards is ours. */
  readonly beforeDeploymentId?: string;
  /** Our claim on the service (see store.ts); set while the UpdateService is ours. */
  readonly claimToken?: string;
  /** UpdateService was sent but its answer was lost: whether ECS applied it is still unknown. */
  readonly unconfirmed?: boolean;
  /** Another rollout's deployment, started after this change, delivers it too. */
  readonly coveredBy?: string;
  /** The deployment that replaced ours. */
  readonly supersededBy?: string;
  readonly heldUntil?: string;
  readonly holdReason?: 'cap' | 'flap-guard';
  /** UpdateService calls sent for this rollout (our own retries included). */
  readonly attempts: number;
  /** Why it is in its state (skip reason, ECS's failure reason, the next step for a person). */
  readonly reason?: string;
  /** Machine-readable reason: a skip code, `code-deploy`, `external`, `deleted`… */
  readonly code?: string;
  /** The service's deployment circuit breaker is on. */
  readonly circuitBreaker?: boolean;
  /** Its wave (1 = the canary); absent: no waves. */
  readonly wave?: number;
  /** The lifecycle hook its deployment is paused at (NEEDS_ACTION, HOOK_AWAITING). */
  readonly hook?: PausedHook & {
    /** The pause was notified. */
    readonly notified?: boolean;
  };
}

export type RolloutStatus = 'OPEN' | 'DONE' | 'ABORTED';

/** What changed, as the rollout records it (value-free). */
export interface ChangeSummary {
  readonly type: 'secret' | 'parameter';
  /** Secret ARN (or name) / parameter ARN. */
  readonly arn: string;
  readonly name: string;
  /** The staging label that moved (secrets), or `deleted`. */
  readonly label?: string;
  /** The version that now holds the label / the parameter version. */
  readonly version: string;
  readonly action: 'redeploy' | 'warn' | 'label-removed';
  readonly trigger: string;
  readonly eventId: string;
}

export interface RolloutRecord {
  readonly rolloutId: string;
  readonly change: ChangeSummary;
  /** When the change happened: only deployments created after it deliver it. */
  readonly changeTime: string;
  readonly createdAt: string;
  readonly status: RolloutStatus;
  /** The engine execution that watches it; absent until started. */
  readonly engine?: {
    readonly name: string;
    readonly attempt: number;
    readonly startedAt?: string;
    readonly error?: string;
  };
  /** Callback that wakes the waiting engine early (ECS deployment events). */
  readonly wakeCallbackId?: string;
  /** Last time the engine looked at the rollout. */
  readonly observedAt?: string;
  /** When the engine means to look next: a rollout not looked at well after it lost its engine. */
  readonly nextLookAt?: string;
  readonly endedAt?: string;
  /** Services deploying or held at the last look (for the fleet cap across rollouts). */
  readonly inFlight?: number;
  /** Operator's note when the rollout was aborted. */
  readonly abortedBy?: string;
  /** Waves: how many, the bake time after each, the alarms that must stay OK. */
  readonly waves?: {
    readonly count: number;
    readonly bakeSeconds: number;
    readonly alarms: readonly string[];
    /** Why this change is rolled out in waves (waves.ts wavesApply). */
    readonly why?: string;
  };
  /** Waves are configured, but not for this change: why (a held service would break). */
  readonly noWaves?: string;
  /** The wave started last (1 = the canary). */
  readonly currentWave?: number;
  /** When the current wave's bake ends, once it started. */
  readonly bakeUntil?: string;
  /** Set when a failure or an alarm stopped the rollout: nothing more is started until resumed. */
  readonly halted?: {
    readonly wave: number;
    readonly reason: string;
    readonly at: string;
    readonly services: readonly string[];
    /** The halt notification went out. */
    readonly notified?: boolean;
  };
  /** An operator's request, applied by the engine's next look. */
  readonly control?: {
    readonly action: 'resume' | 'abort';
    readonly by?: string;
    readonly at: string;
  };
  /** Callback that ends the halted engine's wait for an operator (resume or abort). */
  readonly operatorCallbackId?: string;
}

/** Counts per state, for reports and notifications. */
export function countStates(
  services: readonly ServiceRecord[],
): Partial<Record<ServiceState, number>> {
  const counts: Partial<Record<ServiceState, number>> = {};
  for (const service of services) counts[service.state] = (counts[service.state] ?? 0) + 1;
  return counts;
}

/** Whether every service of the rollout reached an end. */
export function allEnded(services: readonly ServiceRecord[]): boolean {
  return services.every((service) => isTerminal(service.state));
}
