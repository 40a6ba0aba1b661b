/**
 * The rollout workflow: look, wait, look again, until every service reached an end; then report.
 * Written against a small `Engine` interface so the same code runs on Lambda durable functions
 * (durable.ts) and, in tests, on a driver that advances a simulated clock.
 *
 * Waiting is the engine's job: a wait is a durable timer (no compute while it runs), ended early
 * by a callback when ECS reports a deployment state change. Everything the workflow decides comes
 * from step results, which the engine records, so a replay takes the same path.
 */
import type { Look } from './observe.js';
import type { RolloutSummary } from './summary.js';

export interface Engine {
  /** Runs `work` once and records its result; a replay returns the recorded result. */
  step<T>(name: string, work: () => Promise<T>): Promise<T>;
  /**
   * Waits `seconds`. With `arm`, the wait can end early: `arm` receives an id, stored where
   * whoever may end the wait (the ECS event handler, an operator) finds it. Resolves to what the
   * waker sent (a JSON string), or undefined when the time ran out.
   */
  wait(
    name: string,
    seconds: number,
    arm?: (wakeId: string) => Promise<void>,
  ): Promise<string | undefined>;
}

/** An operator's decision on a halted rollout. */
export interface ControlRequest {
  readonly action: 'resume' | 'abort';
  /** Who asked (free text, for the record and the notification). */
  readonly by?: string;
}

export interface WorkflowSteps {
  readonly observe: (rolloutId: string) => Promise<Look>;
  readonly finish: (rolloutId: string) => Promise<RolloutSummary | undefined>;
  /** Stores the id that wakes the engine early (deployments in flight). */
  readonly arm: (rolloutId: string, wakeId: string) => Promise<void>;
  /** Stores the id an operator's resume or abort wakes the halted engine with. */
  readonly armOperator: (rolloutId: string, wakeId: string) => Promise<void>;
  /**
   * Tells people what needs them (once): the rollout halted and how to resume or abort it;
   * deployments paused at a lifecycle hook and how to continue them.
   */
  readonly announce: (rolloutId: string) => Promise<void>;
  /** Records an operator's decision that arrived with the wake-up itself. */
  readonly control: (rolloutId: string, request: ControlRequest) => Promise<void>;
}

/**
 * The operator's decision in a wake-up's payload: `{"action":"resume"}` or `{"action":"abort"}`,
 * optionally with `"by"`. Anything else (an ECS event's wake-up, a time-out) is no decision.
 */
export function parseControl(payload: string | undefined): ControlRequest | undefined {
  if (payload === undefined || payload === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { action, by } = value as Record<string, unknown>;
  if (action !== 'resume' && action !== 'abort') return undefined;
  return { action, ...(typeof by === 'string' && by !== '' && { by: by.slice(0, 200) }) };
}

export interface RolloutInput {
  readonly rolloutId: string;
}

export interface WorkflowResult {
  readonly rolloutId: string;
  /** `DONE`/`ABORTED`; `HANDED_OVER` when this execution stopped and left the rollout open. */
  readonly status: string;
  readonly looks: number;
  readonly counts?: Look['counts'];
}

/**
 * Looks an execution takes at most; a rollout still open then is left to a new execution (the
 * sweep restarts it), which keeps every execution's history short.
 */
export const MAX_LOOKS = 1000;

const ROLLOUT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Validates the engine's input; a reason string when it is unusable. */
export function parseRolloutInput(event: unknown): RolloutInput | string {
  if (typeof event !== 'object' || event === null) return 'the input is not a JSON object';
  const { rolloutId } = event as Record<string, unknown>;
  if (typeof rolloutId !== 'string' || !ROLLOUT_ID.test(rolloutId)) {
    return 'the input has no valid rolloutId';
  }
  return { rolloutId };
}

export async function runRollout(
  engine: Engine,
  steps: WorkflowSteps,
  input: RolloutInput,
): Promise<WorkflowResult> {
  const { rolloutId } = input;
  let look: Look | undefined;
  let looks = 0;
  for (; looks < MAX_LOOKS; looks += 1) {
    look = await engine.step(`look-${looks}`, () => steps.observe(rolloutId));
    if (look.done) break;
    if (look.haltPending === true || look.hookPending === true) {
      await engine.step(`announce-${looks}`, () => steps.announce(rolloutId));
    }
    // Halted with nothing in flight: only an operator moves it on. Otherwise ECS events may.
    const operator = look.halted === true && !look.watching;
    const arm = operator
      ? (wakeId: string) => steps.armOperator(rolloutId, wakeId)
      : look.watching
        ? (wakeId: string) => steps.arm(rolloutId, wakeId)
        : undefined;
    const woken = await engine.wait(`wait-${looks}`, look.nextLookSeconds, arm);
    const request = parseControl(woken);
    if (request) await engine.step(`control-${looks}`, () => steps.control(rolloutId, request));
  }
  if (!look?.done) {
    return { rolloutId, status: 'HANDED_OVER', looks, ...(look && { counts: look.counts }) };
  }
  const summary = await engine.step('finish', () => steps.finish(rolloutId));
  return {
    rolloutId,
    status: summary?.status ?? look.status,
    looks: looks + 1,
    counts: summary?.counts ?? look.counts,
  };
}
