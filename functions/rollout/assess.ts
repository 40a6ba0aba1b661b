/**
 * How a watched deployment ended, read from what DescribeServices shows now. Pure: the caller
 * fetches the service and writes the result.
 *
 * ECS behaviour relied on (ECS developer guide, deployment circuit breaker; DescribeServices):
 * - a forced deployment is the PRIMARY deployment until a newer one replaces it;
 * - `rolloutState` moves IN_PROGRESS → COMPLETED, or → FAILED when the circuit breaker gives up;
 * - with rollback, ECS then starts a new PRIMARY deployment of the previous task definition whose
 *   reason says it is rolling back, and ours becomes ACTIVE, then disappears;
 * - without the circuit breaker a failing deployment stays IN_PROGRESS: only a time-out ends it;
 * - a newer deployment (someone else's UpdateService, a release) makes ours ACTIVE: that one is
 *   watched instead, since it started after the change too;
 * - BLUE_GREEN, LINEAR and CANARY deployments stay IN_PROGRESS through their bake time (and the
 *   canary's or linear steps' bakes), so the time-out counts from the end of those.
 */
import type { DeploymentView, ServiceSummary } from '../redeploy/discovery.js';
import type { ServiceRecord, ServiceState } from './model.js';

export interface AssessOptions {
  /** A deployment not ended this long after it started is STUCK. */
  readonly stuckAfterMs: number;
}

export interface Assessment {
  readonly state: ServiceState;
  /** The deployment to watch from now on (superseded), when it changes. */
  readonly deploymentId?: string;
  readonly supersededBy?: string;
  readonly reason?: string;
  /** A failure whose tasks' stopped reasons are worth fetching. */
  readonly failedDeploymentId?: string;
}

const ROLLING_BACK = /rolling back|roll(ed)? ?back/i;

/**
 * Whether the newer deployment is the circuit breaker rolling back ours. A forced redeploy's
 * rollback runs the same task definition, so only the reason (or our FAILED state) tells.
 */
function isRollbackOf(candidate: DeploymentView, ours: DeploymentView | undefined): boolean {
  return ROLLING_BACK.test(candidate.rolloutStateReason ?? '') || ours?.rolloutState === 'FAILED';
}

/**
 * The new state of a watched service, or undefined while its deployment is still rolling out.
 * `record` is DEPLOYING or SUPERSEDED with a known `deploymentId`.
 */
export function assess(
  record: ServiceRecord,
  service: ServiceSummary | undefined,
  now: Date,
  options: AssessOptions,
): Assessment | undefined {
  if (service === undefined || service.status === 'INACTIVE') {
    return { state: 'SKIPPED', reason: 'the service was deleted during the rollout' };
  }
  const watched = record.deploymentId;
  const deployments = service.deployments ?? [];
  const ours = deployments.find((d) => d.id === watched);
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  const since = Date.parse(record.watchingSince ?? record.deployingAt ?? record.updatedAt);

  if (ours?.status === 'PRIMARY' || (ours !== undefined && primary === undefined)) {
    switch (ours.rolloutState) {
      case 'COMPLETED':
        return { state: 'COMPLETED' };
      case 'FAILED':
        return {
          state: 'FAILED',
          reason: ours.rolloutStateReason ?? 'the deployment failed',
          ...(ours.id !== undefined && { failedDeploymentId: ours.id }),
        };
      case undefined:
        // AWS-compatible APIs without rollout states: done once every task runs and no older
        // deployment is left.
        if (
          deployments.length === 1 &&
          ours.desiredCount !== undefined &&
          ours.runningCount >= ours.desiredCount
        ) {
          return { state: 'COMPLETED' };
        }
        break;
      default:
        break;
    }
    // The blue/green family bakes after its tasks are up: that time is part of the budget.
    const bakeMs = (service.bakeMinutes ?? 0) * 60_000;
    if (now.getTime() - since >= options.stuckAfterMs + bakeMs) {
      const minutes = Math.round((options.stuckAfterMs + bakeMs) / 60_000);
      return {
        state: 'STUCK',
        reason:
          `no end after ${minutes} min` +
          (bakeMs > 0
            ? ` (${Math.round(bakeMs / 60_000)} of them the ${service.strategy ?? ''} bake time)`
            : '') +
          (ours.failedTasks ? ` (${ours.failedTasks} task(s) failed to start)` : '') +
          (service.circuitBreaker === false
            ? '; the service has no deployment circuit breaker, so ECS keeps retrying'
            : ''),
        ...(ours.failedTasks && ours.id !== undefined && { failedDeploymentId: ours.id }),
      };
    }
    return undefined;
  }

  // Ours is no longer the PRIMARY deployment (or no longer listed at all).
  if (primary === undefined) {
    return now.getTime() - since >= options.stuckAfterMs
      ? { state: 'STUCK', reason: 'ECS lists no deployment for the service' }
      : undefined;
  }
  if (primary.id === watched) return undefined; // unreachable: handled above
  const primaryAt = primary.createdAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const oursAt = ours?.createdAt?.getTime() ?? since;
  if (primaryAt < oursAt) {
    // The PRIMARY deployment predates ours: ours vanished without a trace (not expected).
    return now.getTime() - since >= options.stuckAfterMs
      ? { state: 'STUCK', reason: `deployment ${watched ?? '?'} is no longer listed by ECS` }
      : undefined;
  }
  if (isRollbackOf(primary, ours)) {
    return {
      state: 'ROLLED_BACK',
      reason:
        ours?.rolloutStateReason ??
        primary.rolloutStateReason ??
        'the deployment failed and ECS rolled back to the previous one',
      ...(watched !== undefined && { failedDeploymentId: watched }),
    };
  }
  return {
    state: 'SUPERSEDED',
    ...(primary.id !== undefined && { deploymentId: primary.id, supersededBy: primary.id }),
    reason: `deployment ${watched ?? '?'} was replaced by ${primary.id ?? 'a newer deployment'}, which is watched now`,
  };
}
