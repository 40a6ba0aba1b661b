/**
 * Exactly one forced deployment per service per change.
 *
 * The protocol, for one service of one rollout:
 * 1. **Claim** the service (store.ts): a conditional write that only succeeds if no deployment
 *    was claimed after the change. Covered: watch that deployment instead, start none.
 * 2. **Flap guard**: refused services are HELD until the guard's window ends, the claim given back.
 * 3. **Record the intent** (DEPLOYING, unconfirmed) before the call, so any retry knows the call
 *    may have happened.
 * 4. **UpdateService**, sent once: the client used has the SDK's retries off, and only throttling
 *    (the request was refused, so it did not happen) is retried by the caller's pacing. A refusal
 *    gives the claim back; an answer that never came (time-out, reset, 5xx) is **ambiguous**.
 * 5. **Ambiguity** is settled by looking, never by sending again: a PRIMARY deployment created
 *    since the intent that was not there before is ours. If ECS shows none yet, the service stays
 *    unconfirmed and the engine looks again; only when nothing appeared within the confirmation
 *    window is the call sent again (ECS has lost nothing it answered: DescribeServices is only
 *    briefly behind).
 */
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { type ServiceSummary, summarise } from '../redeploy/discovery.js';
import type { FlapGuard } from '../redeploy/flap-guard.js';
import {
  EVENT_TIME_PRECISION_MS,
  type SendResult,
  freshness,
  sendUpdate,
} from '../redeploy/redeploy.js';
import type { EcsLike } from '../redeploy/task-definitions.js';
import type { ServiceRecord } from './model.js';
import type { Claim, RolloutStore } from './store.js';

export interface RolloutSettings {
  /** A deployment not ended this long after it started is STUCK. @default 30 min */
  readonly stuckAfterMs: number;
  /** How often the engine looks at deployments in flight (ECS events wake it earlier). */
  readonly pollSeconds: number;
  /** How long an unanswered UpdateService may stay invisible before it is sent again. */
  readonly confirmAfterMs: number;
  /** UpdateService calls per service per rollout before it is FAILED. */
  readonly maxAttempts: number;
  /** Fleet-wide cap on forced deployments in flight across rollouts; 0: none. */
  readonly maxDeploymentsInProgress: number;
  /** How long a service held by the cap waits before it is tried again. */
  readonly brakeRetryMs: number;
  /**
   * A halted rollout looks again this often while it waits for an operator (a resume or abort
   * wakes it at once); each look also re-counts the halted rollouts for the alarm.
   */
  readonly operatorLookSeconds: number;
}

export const DEFAULT_ROLLOUT_SETTINGS: RolloutSettings = {
  stuckAfterMs: 30 * 60_000,
  pollSeconds: 60,
  confirmAfterMs: 120_000,
  maxAttempts: 3,
  maxDeploymentsInProgress: 0,
  brakeRetryMs: 60_000,
  operatorLookSeconds: 3600,
};

export interface DeployDependencies {
  /** Reads (paced to ECS's buckets). */
  readonly ecs: EcsLike;
  /** UpdateService: paced, with the SDK's own retries off. */
  readonly ecsUpdate: EcsLike;
  readonly store: RolloutStore;
  readonly flapGuard?: FlapGuard;
  readonly now: () => Date;
  readonly newToken: () => string;
  readonly settings: RolloutSettings;
}

/** The rollout a service is deployed for. */
export interface RolloutRef {
  readonly rolloutId: string;
  /** When the change happened: a deployment claimed or created after it delivers it. */
  readonly changeTime: Date;
}

/** What happened to the service, for the caller's report. */
export type DeployOutcome =
  | { readonly kind: 'started'; readonly record: ServiceRecord }
  | { readonly kind: 'covered'; readonly record: ServiceRecord }
  | { readonly kind: 'held'; readonly record: ServiceRecord }
  | { readonly kind: 'gone'; readonly record: ServiceRecord }
  | { readonly kind: 'refused'; readonly record: ServiceRecord; readonly error: string }
  /** Handled by an earlier attempt of this rollout: nothing done now. */
  | { readonly kind: 'unchanged'; readonly record: ServiceRecord };

const iso = (date: Date): string => date.toISOString();

/**
 * A claim whose holder wrote no intent this long after taking it is abandoned (the invocation
 * died between the two writes): far longer than the milliseconds between them.
 */
const CLAIM_TAKEOVER_MS = 2 * 60_000;

/** ECS clock and ours differ a little: a deployment created this much before our intent is ours. */
const CLOCK_SKEW_MS = 5000;

/** The PRIMARY deployment of a service, as described now. */
async function describe(ecs: EcsLike, service: Pick<ServiceRecord, 'serviceArn' | 'clusterArn'>) {
  const { services = [] } = await ecs.send(
    new DescribeServicesCommand({ cluster: service.clusterArn, services: [service.serviceArn] }),
  );
  const found = services[0];
  return found ? summarise(found) : undefined;
}

/** The deployment ECS created for our intent, if it shows one: newer than `before`, not older than the intent. */
export function findOurs(
  service: ServiceSummary | undefined,
  record: Pick<ServiceRecord, 'beforeDeploymentId' | 'deployingAt'>,
): string | undefined {
  const primary = service?.deployments?.find((d) => d.status === 'PRIMARY');
  if (!primary?.id || primary.id === record.beforeDeploymentId) return undefined;
  // A PRIMARY deployment other than the one before our call: ours, or a newer one that delivers
  // the change as well. Without a "before", only one created since the call qualifies.
  if (record.beforeDeploymentId === undefined) {
    const since = Date.parse(record.deployingAt ?? '') - CLOCK_SKEW_MS;
    if (primary.createdAt === undefined || primary.createdAt.getTime() < since) return undefined;
  }
  return primary.id;
}

const primaryId = (service: ServiceSummary): string | undefined =>
  service.deployments?.find((d) => d.status === 'PRIMARY')?.id;

/** A fresh record for a service the rollout sees for the first time. */
export function newRecord(service: ServiceSummary, now: Date): ServiceRecord {
  return {
    serviceArn: service.arn,
    clusterArn: service.clusterArn,
    state: 'PLANNED',
    plannedAt: iso(now),
    updatedAt: iso(now),
    attempts: 0,
    ...(service.circuitBreaker !== undefined && { circuitBreaker: service.circuitBreaker }),
  };
}

/** A copy of `record` without `keys`. */
export function omit<T extends object, K extends keyof T>(record: T, ...keys: K[]): Omit<T, K> {
  const dropped = new Set<PropertyKey>(keys);
  return Object.fromEntries(Object.entries(record).filter(([key]) => !dropped.has(key))) as Omit<
    T,
    K
  >;
}

/** The record without the fields of a previous state. */
function clean(record: ServiceRecord): ServiceRecord {
  return omit(record, 'heldUntil', 'holdReason', 'reason', 'code', 'unconfirmed');
}

/**
 * Starts (or joins) the forced deployment of `service` for the rollout. Writes the service's
 * record and returns what happened. `existing` is the service's current record, if any.
 */
export async function deployOnce(
  deps: DeployDependencies,
  rollout: RolloutRef,
  service: ServiceSummary,
  existing: ServiceRecord | undefined,
): Promise<DeployOutcome> {
  const now = deps.now();
  const base = existing ?? newRecord(service, now);
  if (existing && existing.state !== 'PLANNED' && existing.state !== 'HELD') {
    return { kind: 'unchanged', record: existing };
  }
  const write = async (record: ServiceRecord): Promise<ServiceRecord> => {
    await deps.store.putService(rollout.rolloutId, record, deps.now());
    return record;
  };

  // A deployment started after the change (by a release, a person, an earlier rollout) delivers
  // it if it does not fail: watch it rather than start another.
  const fresh = freshness(service, rollout.changeTime);
  if (fresh.fresh && fresh.deployment?.rolloutState !== 'COMPLETED' && fresh.deployment?.id) {
    const record = await write({
      ...clean(base),
      state: 'DEPLOYING',
      deploymentId: fresh.deployment.id,
      deployingAt: iso(now),
      watchingSince: iso(now),
      updatedAt: iso(now),
      reason: `a deployment started after the change is rolling out (${fresh.deployment.id})`,
    });
    await deps.store.watch(service.arn, rollout.rolloutId);
    return { kind: 'covered', record };
  }
  if (fresh.fresh) {
    const record = await write({
      ...clean(base),
      state: 'SKIPPED',
      code: 'already-deployed',
      reason: `already deployed after the change (${fresh.reason})`,
      updatedAt: iso(now),
      endedAt: iso(now),
    });
    return { kind: 'unchanged', record };
  }

  const token = base.claimToken ?? deps.newToken();
  const claim = await deps.store.claim(service.arn, {
    rolloutId: rollout.rolloutId,
    token,
    at: now,
    cutoff: rollout.changeTime.getTime() + EVENT_TIME_PRECISION_MS,
  });
  if (claim.kind === 'covered') {
    const record = await write({
      ...clean(base),
      state: 'DEPLOYING',
      coveredBy: claim.claim.rolloutId,
      ...(claim.claim.deploymentId !== undefined && { deploymentId: claim.claim.deploymentId }),
      deployingAt: iso(now),
      watchingSince: iso(now),
      updatedAt: iso(now),
      reason: `covered by the deployment rollout ${claim.claim.rolloutId} started after this change`,
    });
    return { kind: 'covered', record };
  }
  if (claim.kind === 'busy') {
    // Another invocation of this rollout holds the claim. It records its intent before it
    // sends: with a record, it is deploying (or did); without one long after its claim, it died
    // before sending, and the claim is taken over.
    const current = await deps.store.service(rollout.rolloutId, service.arn);
    if (current !== undefined && current.state !== 'PLANNED' && current.state !== 'HELD') {
      return { kind: 'unchanged', record: current };
    }
    const abandoned = now.getTime() - claim.claim.claimAt > CLAIM_TAKEOVER_MS;
    if (!abandoned || !(await deps.store.takeOverClaim(service.arn, claim.claim.token, token))) {
      return { kind: 'unchanged', record: current ?? base };
    }
  }
  const myToken = claim.kind === 'mine' ? claim.claim.token : token;
  const previous: Claim | undefined = claim.kind === 'claimed' ? claim.previous : undefined;

  const guard = deps.flapGuard;
  if (guard) {
    let verdict: Awaited<ReturnType<FlapGuard['admit']>> = 'admitted';
    try {
      verdict = await guard.admit(service.arn, now);
    } catch {
      verdict = 'admitted'; // the guard fails open; its table is only a brake
    }
    if (verdict !== 'admitted') {
      await deps.store.releaseClaim(service.arn, myToken, previous);
      const until =
        (await guard.retryAt(service.arn, now).catch(() => undefined)) ??
        new Date(now.getTime() + guard.periodSeconds * 1000);
      const record = await write({
        ...clean(base),
        state: 'HELD',
        holdReason: 'flap-guard',
        heldUntil: iso(until),
        updatedAt: iso(now),
        reason:
          `force-deployed ${guard.maxDeployments} times within ${guard.periodSeconds} s: ` +
          `held until ${iso(until)}, then deployed`,
      });
      return { kind: 'held', record };
    }
  }

  const before = primaryId(service);
  const intent: ServiceRecord = {
    ...clean(base),
    state: 'DEPLOYING',
    unconfirmed: true,
    claimToken: myToken,
    ...(before !== undefined && { beforeDeploymentId: before }),
    deployingAt: iso(now),
    watchingSince: iso(now),
    attempts: base.attempts + 1,
    updatedAt: iso(now),
  };
  await write(intent);
  const sent = await sendUpdate(deps.ecsUpdate, service);
  return settle(deps, rollout, service, intent, sent, previous);
}

/** Records what UpdateService's answer (or its absence) means. */
async function settle(
  deps: DeployDependencies,
  rollout: RolloutRef,
  service: ServiceSummary,
  intent: ServiceRecord,
  sent: SendResult,
  previous: Claim | undefined,
): Promise<DeployOutcome> {
  const now = deps.now();
  const token = intent.claimToken ?? '';
  const write = async (record: ServiceRecord): Promise<ServiceRecord> => {
    await deps.store.putService(rollout.rolloutId, record, now);
    return record;
  };
  const giveBack = async (): Promise<void> => {
    await deps.store.releaseClaim(service.arn, token, previous);
    await deps.flapGuard?.release(service.arn).catch(() => undefined);
  };
  switch (sent.kind) {
    case 'applied': {
      const record: ServiceRecord = {
        ...omit(intent, 'unconfirmed'),
        ...(sent.deploymentId !== undefined && { deploymentId: sent.deploymentId }),
        updatedAt: iso(now),
      };
      // Two items, no order between them: written at once.
      await Promise.all([
        sent.deploymentId !== undefined &&
          deps.store.confirmClaim(service.arn, token, sent.deploymentId),
        write(record),
      ]);
      return { kind: 'started', record };
    }
    case 'gone': {
      await giveBack();
      const rest = omit(intent, 'unconfirmed', 'claimToken');
      const record = await write({
        ...rest,
        state: 'SKIPPED',
        code: 'service-gone',
        reason: sent.reason,
        updatedAt: iso(now),
        endedAt: iso(now),
      });
      return { kind: 'gone', record };
    }
    case 'refused': {
      await giveBack();
      const rest = omit(intent, 'unconfirmed', 'claimToken', 'deployingAt', 'watchingSince');
      const failedForGood = intent.attempts >= deps.settings.maxAttempts;
      const record = await write({
        ...rest,
        state: failedForGood ? 'FAILED' : 'PLANNED',
        reason: `UpdateService refused: ${sent.error}`,
        updatedAt: iso(now),
        ...(failedForGood && { endedAt: iso(now) }),
      });
      return { kind: 'refused', record, error: sent.error };
    }
    case 'unknown': {
      // The answer was lost: look, do not send again.
      let found: string | undefined;
      try {
        found = findOurs(await describe(deps.ecs, intent), intent);
      } catch {
        found = undefined; // the engine looks again
      }
      if (found !== undefined) {
        await deps.store.confirmClaim(service.arn, token, found);
        const confirmed = omit(intent, 'unconfirmed');
        const record = await write({ ...confirmed, deploymentId: found, updatedAt: iso(now) });
        return { kind: 'started', record };
      }
      const record = await write({
        ...intent,
        reason: `UpdateService answer lost (${sent.error}); whether ECS applied it is checked again`,
        updatedAt: iso(now),
      });
      return { kind: 'started', record };
    }
  }
}

/**
 * Settles a service whose UpdateService answer was lost: adopts the deployment ECS shows for it,
 * or, once the confirmation window has passed with none, sends the call again (or gives up).
 */
export async function resolveUnconfirmed(
  deps: DeployDependencies,
  rollout: RolloutRef,
  record: ServiceRecord,
  service: ServiceSummary,
): Promise<ServiceRecord> {
  const now = deps.now();
  const found = findOurs(service, record);
  if (found !== undefined) {
    if (record.claimToken) await deps.store.confirmClaim(service.arn, record.claimToken, found);
    const confirmed = omit(record, 'unconfirmed');
    const next = { ...confirmed, deploymentId: found, updatedAt: iso(now) };
    await deps.store.putService(rollout.rolloutId, next, now);
    return next;
  }
  const waited = now.getTime() - Date.parse(record.deployingAt ?? record.updatedAt);
  if (waited < deps.settings.confirmAfterMs) return record;
  if (record.attempts >= deps.settings.maxAttempts) {
    const next: ServiceRecord = {
      ...omit(record, 'unconfirmed'),
      state: 'FAILED',
      reason: `UpdateService was sent ${record.attempts} times without an answer and ECS shows no new deployment`,
      updatedAt: iso(now),
      endedAt: iso(now),
    };
    await deps.store.putService(rollout.rolloutId, next, now);
    return next;
  }
  // Not applied: ECS would show it by now. Send it again under the same claim.
  const intent: ServiceRecord = {
    ...record,
    attempts: record.attempts + 1,
    deployingAt: iso(now),
    watchingSince: iso(now),
    updatedAt: iso(now),
    ...(primaryId(service) !== undefined && { beforeDeploymentId: primaryId(service) }),
  };
  await deps.store.putService(rollout.rolloutId, intent, now);
  const sent = await sendUpdate(deps.ecsUpdate, service);
  const outcome = await settle(deps, rollout, service, intent, sent, undefined);
  return outcome.record;
}
