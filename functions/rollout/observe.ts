/**
 * One look at a rollout, as the engine takes it on every wake-up: describe the services still
 * owed, record how their deployments ended, deploy the ones whose hold is over, settle lost
 * answers. All state is read from and written to the store, so a look can be repeated (a retried
 * step, a restarted engine) without doing anything twice.
 */
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { type ServiceSummary, summarise } from '../redeploy/discovery.js';
import { errorMessage } from '../redeploy/errors.js';
import { createLimiter } from '../redeploy/limit.js';
import type { EcsLike } from '../redeploy/task-definitions.js';
import { assess } from './assess.js';
import {
  type DeployDependencies,
  type RolloutRef,
  deployOnce,
  findOurs,
  omit,
  resolveUnconfirmed,
} from './deploy.js';
import {
  type RolloutStatus,
  type ServiceRecord,
  type ServiceState,
  WATCHED_STATES,
  countStates,
  isTerminal,
} from './model.js';

/** What the engine needs to know after a look. */
export interface Look {
  /** Every service reached an end (or the rollout was closed): time to finish. */
  readonly done: boolean;
  readonly status: RolloutStatus | 'MISSING';
  /** When to look again, in seconds. */
  readonly nextLookSeconds: number;
  /** Deployments are in flight: ECS events may wake the engine before `nextLookSeconds`. */
  readonly watching: boolean;
  readonly counts: Partial<Record<ServiceState, number>>;
}

const iso = (date: Date): string => date.toISOString();

/** Describes services, ten per call per cluster; a service ECS does not know maps to undefined. */
export async function describeServices(
  ecs: EcsLike,
  records: readonly Pick<ServiceRecord, 'serviceArn' | 'clusterArn'>[],
): Promise<Map<string, ServiceSummary | undefined>> {
  const byCluster = new Map<string, string[]>();
  for (const record of records) {
    const list = byCluster.get(record.clusterArn) ?? [];
    list.push(record.serviceArn);
    byCluster.set(record.clusterArn, list);
  }
  const views = new Map<string, ServiceSummary | undefined>();
  const limit = createLimiter(5);
  const batches: Promise<void>[] = [];
  for (const [cluster, arns] of byCluster) {
    for (let i = 0; i < arns.length; i += 10) {
      const batch = arns.slice(i, i + 10);
      batches.push(
        limit.run(async () => {
          const { services = [], failures = [] } = await ecs.send(
            new DescribeServicesCommand({ cluster, services: batch }),
          );
          for (const service of services) {
            const summary = summarise(service);
            if (summary) views.set(summary.arn, summary);
          }
          for (const failure of failures) {
            if (failure.reason === 'MISSING' && failure.arn) views.set(failure.arn, undefined);
          }
        }),
      );
    }
  }
  await Promise.all(batches);
  return views;
}

/**
 * Why the tasks of a failed deployment stopped, as ECS tells it: the stopped reason and the
 * exit codes of up to three distinct failures. Best effort: undefined if ECS does not say.
 */
export async function stoppedTaskReasons(
  ecs: EcsLike,
  clusterArn: string,
  deploymentId: string,
): Promise<string | undefined> {
  try {
    const { taskArns = [] } = await ecs.send(
      new ListTasksCommand({
        cluster: clusterArn,
        startedBy: deploymentId,
        desiredStatus: 'STOPPED',
        maxResults: 10,
      }),
    );
    if (taskArns.length === 0) return undefined;
    const { tasks = [] } = await ecs.send(
      new DescribeTasksCommand({ cluster: clusterArn, tasks: taskArns }),
    );
    const reasons = new Set<string>();
    for (const task of tasks) {
      const exits = (task.containers ?? [])
        .filter((c) => c.exitCode !== undefined && c.exitCode !== 0)
        .map((c) => `${c.name ?? 'container'} exit code ${c.exitCode}`);
      const reason = [task.stoppedReason, ...exits].filter(Boolean).join('; ');
      if (reason) reasons.add(reason);
    }
    return reasons.size === 0 ? undefined : [...reasons].slice(0, 3).join(' | ').slice(0, 800);
  } catch {
    return undefined;
  }
}

/** Takes one look at the rollout and acts on what it sees. */
export async function observeRollout(deps: DeployDependencies, rolloutId: string): Promise<Look> {
  const rollout = await deps.store.rollout(rolloutId);
  const idle = { nextLookSeconds: 0, watching: false };
  if (!rollout) return { done: true, status: 'MISSING', counts: {}, ...idle };
  if (rollout.status !== 'OPEN') {
    const records = await deps.store.services(rolloutId);
    return { done: true, status: rollout.status, counts: countStates(records), ...idle };
  }
  const ref: RolloutRef = { rolloutId, changeTime: new Date(rollout.changeTime) };
  const records = await deps.store.services(rolloutId);
  const now = deps.now();
  const due = (record: ServiceRecord): boolean =>
    !isTerminal(record.state) &&
    (record.state !== 'HELD' || Date.parse(record.heldUntil ?? '') <= now.getTime());
  const views = await describeServices(deps.ecs, records.filter(due));

  // The fleet cap counts what every open rollout has in flight, this one's as it goes.
  const cap = deps.settings.maxDeploymentsInProgress;
  let inFlight = records.filter((r) => WATCHED_STATES.has(r.state)).length;
  if (cap > 0) {
    const others = await deps.store.rollouts({ open: true, limit: 200 });
    for (const other of others) {
      if (other.rolloutId !== rolloutId) inFlight += other.inFlight ?? 0;
    }
  }

  const next: ServiceRecord[] = [];
  for (const record of records) {
    if (!due(record)) {
      next.push(record);
      continue;
    }
    const view = views.get(record.serviceArn);
    try {
      const advanced = await advance(deps, ref, record, view, views.has(record.serviceArn), () => {
        if (cap > 0 && inFlight >= cap) return false;
        inFlight += 1;
        return true;
      });
      next.push(advanced);
    } catch (error) {
      // One service's trouble does not stop the others; it is looked at again next time.
      next.push({ ...record, reason: `could not be checked: ${errorMessage(error)}` });
    }
  }

  const watching = next.some((r) => WATCHED_STATES.has(r.state));
  const held = next.filter((r) => r.state === 'HELD');
  const busy = next.some((r) => WATCHED_STATES.has(r.state) || r.state === 'PLANNED');
  const done = next.every((r) => isTerminal(r.state));
  let nextLookSeconds = deps.settings.pollSeconds;
  if (!busy && held.length > 0) {
    const soonest = Math.min(...held.map((r) => Date.parse(r.heldUntil ?? '')));
    nextLookSeconds = Math.max(1, Math.ceil((soonest - deps.now().getTime()) / 1000));
  }
  const lookedAt = deps.now();
  await deps.store.updateRollout(rolloutId, {
    observedAt: iso(lookedAt),
    nextLookAt: iso(new Date(lookedAt.getTime() + (done ? 0 : nextLookSeconds) * 1000)),
    inFlight: next.filter((r) => WATCHED_STATES.has(r.state)).length,
  });
  return {
    done,
    status: 'OPEN',
    nextLookSeconds: done ? 0 : nextLookSeconds,
    watching,
    counts: countStates(next),
  };
}

/** Moves one due service on; returns its (written) record. */
async function advance(
  deps: DeployDependencies,
  ref: RolloutRef,
  record: ServiceRecord,
  view: ServiceSummary | undefined,
  described: boolean,
  takeSlot: () => boolean,
): Promise<ServiceRecord> {
  const now = deps.now();
  const save = async (changed: ServiceRecord): Promise<ServiceRecord> => {
    const written = await deps.store.putService(ref.rolloutId, changed, now, {
      states: [record.state],
      updatedAt: record.updatedAt,
    });
    // Someone else moved it meanwhile (an event's handler, a retried intake): read theirs.
    return written
      ? changed
      : ((await deps.store.service(ref.rolloutId, record.serviceArn)) ?? record);
  };
  if (described && view === undefined) {
    return save({
      ...omit(record, 'unconfirmed', 'heldUntil', 'holdReason'),
      state: 'SKIPPED',
      code: 'service-gone',
      reason: 'the service was deleted during the rollout',
      updatedAt: iso(now),
      endedAt: iso(now),
    });
  }
  if (view === undefined) return record; // not described this time (throttled batch): next look

  switch (record.state) {
    case 'PLANNED':
    case 'HELD': {
      if (!takeSlot()) {
        return save({
          ...record,
          state: 'HELD',
          holdReason: 'cap',
          heldUntil: iso(new Date(now.getTime() + deps.settings.brakeRetryMs)),
          reason: `the fleet cap of ${deps.settings.maxDeploymentsInProgress} forced deployments in flight is reached`,
          updatedAt: iso(now),
        });
      }
      const outcome = await deployOnce(deps, ref, view, record);
      return outcome.record;
    }
    case 'DEPLOYING':
    case 'SUPERSEDED': {
      if (record.unconfirmed) return resolveUnconfirmed(deps, ref, record, view);
      if (record.deploymentId === undefined) {
        // Started without knowing the deployment id (an empty answer, or covered by a rollout
        // whose call was still unanswered): adopt the deployment ECS shows since then.
        const found = findOurs(view, record);
        if (found !== undefined)
          return save({ ...record, deploymentId: found, updatedAt: iso(now) });
        const waited = now.getTime() - Date.parse(record.deployingAt ?? record.updatedAt);
        if (waited < deps.settings.confirmAfterMs) return record;
        // Nothing appeared: whatever covered it did not happen. Deploy it ourselves.
        return save({
          ...omit(record, 'coveredBy', 'deployingAt', 'watchingSince', 'claimToken'),
          state: 'PLANNED',
          reason: 'the deployment that was to cover this change never appeared',
          updatedAt: iso(now),
        });
      }
      const result = assess(record, view, now, { stuckAfterMs: deps.settings.stuckAfterMs });
      if (result === undefined) return record;
      if (result.state === 'SUPERSEDED') {
        return save({
          ...record,
          state: 'SUPERSEDED',
          ...(result.deploymentId !== undefined && { deploymentId: result.deploymentId }),
          ...(result.supersededBy !== undefined && { supersededBy: result.supersededBy }),
          ...(result.reason !== undefined && { reason: result.reason }),
          watchingSince: iso(now),
          updatedAt: iso(now),
        });
      }
      let reason = result.reason;
      if (result.failedDeploymentId !== undefined) {
        const tasks = await stoppedTaskReasons(
          deps.ecs,
          record.clusterArn,
          result.failedDeploymentId,
        );
        if (tasks !== undefined) reason = `${reason ?? 'failed'}; stopped tasks: ${tasks}`;
      }
      return save({
        ...omit(record, 'claimToken'),
        state: result.state,
        ...(reason !== undefined && { reason }),
        ...(result.state === 'SKIPPED' && { code: 'service-gone' }),
        updatedAt: iso(now),
        endedAt: iso(now),
      });
    }
    default:
      return record;
  }
}
