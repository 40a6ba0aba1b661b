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
  type RolloutRecord,
  type RolloutStatus,
  type ServiceRecord,
  type ServiceState,
  HOOK_AWAITING,
  countStates,
  isAwaitingHook,
  isSettled,
  isWatched,
} from './model.js';
import { hookReason, pausedHook } from './hooks.js';
import { HALTING_STATES, type WaveStep, nextWaveStep } from './waves.js';

/** What the engine needs to know after a look. */
export interface Look {
  /** Every service reached an end (or the rollout was closed or aborted): time to finish. */
  readonly done: boolean;
  readonly status: RolloutStatus | 'MISSING';
  /** A failure or an alarm stopped the rollout: it waits for an operator (resume or abort). */
  readonly halted?: boolean;
  /** The halt was not notified yet. */
  readonly haltPending?: boolean;
  /** An operator's resume was applied in this look. */
  readonly resumed?: boolean;
  /** A deployment paused at a lifecycle hook was not notified yet. */
  readonly hookPending?: boolean;
  /** Waves: the wave started last, of how many. */
  readonly wave?: { readonly current: number; readonly count: number };
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

/** The state of a CloudWatch alarm a rollout watches. */
export interface AlarmState {
  readonly name: string;
  /** OK, ALARM or INSUFFICIENT_DATA. */
  readonly state: string;
  readonly reason?: string;
}

export interface ObserveDependencies extends DeployDependencies {
  /** Reads the watched alarms' states (waves); absent: no alarm is watched. */
  readonly alarms?: (names: readonly string[]) => Promise<readonly AlarmState[]>;
}

/** Waves advanced in one look at most (each starts the next wave's deployments at once). */
const MAX_WAVES_PER_LOOK = 20;

/** Takes one look at the rollout and acts on what it sees. */
export async function observeRollout(deps: ObserveDependencies, rolloutId: string): Promise<Look> {
  let rollout = await deps.store.rollout(rolloutId);
  const idle = { nextLookSeconds: 0, watching: false };
  if (!rollout) return { done: true, status: 'MISSING', counts: {}, ...idle };
  if (rollout.status !== 'OPEN') {
    const records = await deps.store.services(rolloutId);
    return { done: true, status: rollout.status, counts: countStates(records), ...idle };
  }
  if (rollout.control?.action === 'abort') {
    // Left as they are: deployments in flight go on, nothing else is started.
    const records = await deps.store.services(rolloutId);
    return { done: true, status: 'ABORTED', counts: countStates(records), ...idle };
  }
  const resumed = rollout.control?.action === 'resume';
  if (resumed) {
    await resume(deps, rollout);
    rollout = (await deps.store.rollout(rolloutId)) ?? rollout;
    if (rollout.status !== 'OPEN' || rollout.control?.action === 'abort') {
      return observeRollout(deps, rolloutId); // closed or aborted meanwhile
    }
  }
  const ref: RolloutRef = { rolloutId, changeTime: new Date(rollout.changeTime) };
  let records = await deps.store.services(rolloutId);
  const waves = rollout.waves;
  let currentWave = rollout.currentWave ?? 1;
  let halted = rollout.halted;
  let bakeUntil = rollout.bakeUntil;

  // The fleet cap counts what every open rollout has in flight, this one's as it goes.
  const cap = deps.settings.maxDeploymentsInProgress;
  let inFlight = records.filter(isWatched).length;
  if (cap > 0) {
    const others = await deps.store.rollouts({ open: true, limit: 200 });
    for (const other of others) {
      if (other.rolloutId !== rolloutId) inFlight += other.inFlight ?? 0;
    }
  }
  const takeSlot = (): boolean => {
    if (cap > 0 && inFlight >= cap) return false;
    inFlight += 1;
    return true;
  };

  for (let round = 0; round < MAX_WAVES_PER_LOOK; round += 1) {
    const now = deps.now();
    const due = (record: ServiceRecord): boolean => {
      if (isWatched(record)) return true; // always watched to its end
      if (isSettled(record)) return false;
      // Not yet started: only in a started wave, never while halted.
      if (halted !== undefined || (waves && (record.wave ?? 1) > currentWave)) return false;
      return record.state !== 'HELD' || Date.parse(record.heldUntil ?? '') <= now.getTime();
    };
    const views = await describeServices(deps.ecs, records.filter(due));
    const next: ServiceRecord[] = [];
    for (const record of records) {
      if (!due(record)) {
        next.push(record);
        continue;
      }
      try {
        const view = views.get(record.serviceArn);
        next.push(await advance(deps, ref, record, view, views.has(record.serviceArn), takeSlot));
      } catch (error) {
        // One service's trouble does not stop the others; it is looked at again next time.
        next.push({ ...record, reason: `could not be checked: ${errorMessage(error)}` });
      }
    }
    records = next;
    if (!waves || halted !== undefined) break;

    let step: WaveStep = nextWaveStep(
      records,
      currentWave,
      deps.now(),
      waves.bakeSeconds,
      bakeUntil,
    );
    if (step.kind !== 'halt' && step.kind !== 'done') {
      // The alarms gate the next wave: watched while a wave deploys and bakes.
      const alarm = await alarmGoneOff(deps, waves.alarms);
      if (alarm !== undefined) {
        step = {
          kind: 'halt',
          reason: `alarm ${alarm.name} is ${alarm.state}${alarm.reason ? `: ${alarm.reason}` : ''} (wave ${currentWave})`,
          services: [],
        };
      }
    }
    if (step.kind === 'halt') {
      const record = {
        wave: currentWave,
        reason: step.reason,
        at: deps.now().toISOString(),
        services: [...step.services],
      };
      if (await deps.store.updateRollout(rolloutId, { halted: record }, { onlyIf: 'not-halted' })) {
        halted = record;
      } else {
        halted = (await deps.store.rollout(rolloutId))?.halted ?? record;
      }
      break;
    }
    if (step.kind === 'bake') {
      if (bakeUntil === undefined) {
        bakeUntil = step.until.toISOString();
        await deps.store.updateRollout(rolloutId, { bakeUntil });
      }
      break;
    }
    if (step.kind !== 'advance') break;
    currentWave = step.to;
    bakeUntil = undefined;
    await deps.store.updateRollout(rolloutId, { currentWave }, { remove: ['bakeUntil'] });
  }

  const now = deps.now();
  const watching = records.some(isWatched);
  const startable = (r: ServiceRecord): boolean =>
    halted === undefined && (!waves || (r.wave ?? 1) <= currentWave);
  const held = records.filter((r) => r.state === 'HELD' && startable(r));
  const busy = watching || records.some((r) => r.state === 'PLANNED' && startable(r));
  const done = halted === undefined && records.every(isSettled);
  let nextLookSeconds = deps.settings.pollSeconds;
  if (!busy && held.length > 0) {
    const soonest = Math.min(...held.map((r) => Date.parse(r.heldUntil ?? '')));
    nextLookSeconds = Math.max(1, Math.ceil((soonest - now.getTime()) / 1000));
  }
  const active = records.filter(isWatched);
  const pending = records.some(
    (r) => (r.state === 'PLANNED' || r.state === 'HELD') && startable(r),
  );
  if (active.length > 0 && active.every(isAwaitingHook) && !pending) {
    // Only deployments paused at hooks: a person acts (its hook event wakes the engine), or the
    // hook times out. Look at least hourly, and just after the first time-out.
    const expiries = active
      .map((r) => Date.parse(r.hook?.expiresAt ?? ''))
      .filter((t) => Number.isFinite(t));
    const untilExpiry =
      expiries.length > 0
        ? Math.ceil((Math.min(...expiries) - now.getTime()) / 1000) + 60
        : Number.POSITIVE_INFINITY;
    nextLookSeconds = Math.max(
      deps.settings.pollSeconds,
      Math.min(deps.settings.operatorLookSeconds, untilExpiry),
    );
  }
  if (halted !== undefined && !watching) {
    // Nothing moves until an operator resumes or aborts (which wakes the engine at once).
    nextLookSeconds = deps.settings.operatorLookSeconds;
  }
  if (!busy && bakeUntil !== undefined && halted === undefined) {
    // Baking: look again when it ends, and meanwhile as often as the poll (alarms).
    const left = Math.ceil((Date.parse(bakeUntil) - now.getTime()) / 1000);
    nextLookSeconds = Math.max(1, Math.min(nextLookSeconds, left));
  }
  await deps.store.updateRollout(rolloutId, {
    observedAt: iso(now),
    nextLookAt: iso(new Date(now.getTime() + (done ? 0 : nextLookSeconds) * 1000)),
    inFlight: records.filter(isWatched).length,
  });
  return {
    done,
    status: 'OPEN',
    nextLookSeconds: done ? 0 : nextLookSeconds,
    watching,
    counts: countStates(records),
    ...(halted !== undefined && { halted: true, haltPending: halted.notified !== true }),
    ...(resumed && { resumed: true }),
    ...(records.some((r) => isAwaitingHook(r) && r.hook?.notified !== true) && {
      hookPending: true,
    }),
    ...(waves && { wave: { current: currentWave, count: waves.count } }),
  };
}

/** The first watched alarm that is not OK (INSUFFICIENT_DATA is not a failure). */
async function alarmGoneOff(
  deps: ObserveDependencies,
  names: readonly string[],
): Promise<AlarmState | undefined> {
  if (names.length === 0 || !deps.alarms) return undefined;
  const states = await deps.alarms(names);
  return states.find((alarm) => alarm.state === 'ALARM');
}

/**
 * Applies an operator's resume: the services that failed in the halted wave are deployed again
 * (their claim given back first), the halt is lifted, and the waves go on.
 */
async function resume(deps: DeployDependencies, rollout: RolloutRecord): Promise<void> {
  const now = deps.now();
  const failed = new Set(rollout.halted?.services ?? []);
  for (const record of await deps.store.services(rollout.rolloutId)) {
    if (!failed.has(record.serviceArn) || !HALTING_STATES.has(record.state)) continue;
    await deps.store.dropClaim(record.serviceArn, rollout.rolloutId);
    await deps.store.putService(
      rollout.rolloutId,
      {
        ...omit(
          record,
          'deploymentId',
          'deployingAt',
          'watchingSince',
          'endedAt',
          'claimToken',
          'supersededBy',
          'coveredBy',
          'unconfirmed',
        ),
        state: 'PLANNED',
        attempts: 0,
        reason: `${record.state} before; deployed again after the rollout was resumed`,
        updatedAt: iso(now),
      },
      now,
    );
  }
  // Only if the request is still this resume: an abort that came meanwhile is kept (and wins).
  await deps.store.updateRollout(
    rollout.rolloutId,
    {},
    {
      remove: ['halted', 'control', 'operatorCallbackId', 'bakeUntil'],
      onlyIf: 'open',
      ...(rollout.control && { controlAt: rollout.control.at }),
    },
  );
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
    case 'NEEDS_ACTION':
    case 'DEPLOYING':
    case 'SUPERSEDED': {
      if (record.state === 'NEEDS_ACTION' && !isAwaitingHook(record)) return record;
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
      const paused = isAwaitingHook(record);
      // While paused at a hook, the time-out waits: the hook has its own (and its action).
      const result = paused
        ? assess({ ...record, state: 'DEPLOYING' }, view, now, { stuckAfterMs: Infinity })
        : assess(record, view, now, { stuckAfterMs: deps.settings.stuckAfterMs });
      if (result === undefined) {
        if (!view.pauseHooks) return record;
        const hook = await pausedHook(deps.ecs, record);
        if (hook !== undefined) {
          if (paused && record.hook?.hookId === hook.hookId) return record;
          return save({
            ...record,
            state: 'NEEDS_ACTION',
            code: HOOK_AWAITING,
            hook,
            reason: hookReason(hook),
            updatedAt: iso(now),
          });
        }
        if (!paused) return record;
        return save({
          ...omit(record, 'hook', 'code'),
          state: 'DEPLOYING',
          reason: 'the lifecycle hook was acted on: the deployment is watched to its end',
          watchingSince: iso(now),
          updatedAt: iso(now),
        });
      }
      // A paused deployment's reason was the hook's: it no longer applies.
      const rest = paused ? omit(record, 'hook', 'code', 'reason') : omit(record, 'hook', 'code');
      if (result.state === 'SUPERSEDED') {
        return save({
          ...rest,
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
        ...omit(rest, 'claimToken'),
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
