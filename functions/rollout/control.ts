/**
 * An operator's say over a rollout: resume a halted one (its failed services are deployed
 * again, then the waves go on) or abort one (nothing more is started; what was not deployed is
 * reported as owed). The request is written to the rollout's record first, so it is never lost;
 * waking the engine only makes it act at once instead of at its next look.
 */
import type { EngineControl } from './engine-client.js';
import type { RolloutRecord } from './model.js';
import type { RolloutStore } from './store.js';
import type { ControlRequest } from './workflow.js';

export interface ControlDependencies {
  readonly store: RolloutStore;
  readonly now: () => Date;
  /** Wakes the engine; absent: the request waits for the engine's next look. */
  readonly engine?: Pick<EngineControl, 'wake'>;
}

export type ControlOutcome =
  | {
      readonly accepted: true;
      readonly rollout: RolloutRecord;
      /** The engine was woken; false: it acts at its next look. */
      readonly woke: boolean;
    }
  | { readonly accepted: false; readonly reason: string };

/** Why a request cannot apply to this rollout, or undefined when it can. */
export function refusal(
  rollout: RolloutRecord | undefined,
  request: ControlRequest,
  rolloutId: string,
): string | undefined {
  if (!rollout) return `no rollout ${rolloutId}`;
  if (rollout.status !== 'OPEN') {
    return `rollout ${rolloutId} ended already (${rollout.status}${rollout.endedAt ? ` at ${rollout.endedAt}` : ''})`;
  }
  if (request.action === 'resume' && rollout.halted === undefined) {
    return `rollout ${rolloutId} is not halted: there is nothing to resume`;
  }
  return undefined;
}

/**
 * Records the request on the open rollout and wakes its engine (`wake: false` when the engine
 * itself records a request that came with its wake-up).
 */
export async function requestControl(
  deps: ControlDependencies,
  rolloutId: string,
  request: ControlRequest,
  options: { readonly wake: boolean } = { wake: true },
): Promise<ControlOutcome> {
  const rollout = await deps.store.rollout(rolloutId);
  const reason = refusal(rollout, request, rolloutId);
  if (reason !== undefined || !rollout) return { accepted: false, reason: reason ?? '' };
  const control = {
    action: request.action,
    at: deps.now().toISOString(),
    ...(request.by !== undefined && { by: request.by }),
  };
  if (!(await deps.store.updateRollout(rolloutId, { control }, { onlyIf: 'open' }))) {
    return { accepted: false, reason: `rollout ${rolloutId} ended meanwhile` };
  }
  let woke = false;
  if (options.wake && deps.engine) {
    const why = `${request.action}${request.by ? ` by ${request.by}` : ''}`;
    // Halted: the engine waits for an operator. Otherwise it watches deployments in flight.
    for (const id of [rollout.operatorCallbackId, rollout.wakeCallbackId]) {
      if (id !== undefined && !woke) woke = await deps.engine.wake(id, why);
    }
  }
  return { accepted: true, rollout: { ...rollout, control }, woke };
}
