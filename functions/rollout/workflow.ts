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
   * whoever may end the wait (the ECS event handler) finds it.
   */
  wait(name: string, seconds: number, arm?: (wakeId: string) => Promise<void>): Promise<void>;
}

export interface WorkflowSteps {
  readonly observe: (rolloutId: string) => Promise<Look>;
  readonly finish: (rolloutId: string) => Promise<RolloutSummary | undefined>;
  /** Stores the id that wakes the engine early. */
  readonly arm: (rolloutId: string, wakeId: string) => Promise<void>;
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
    await engine.wait(
      `wait-${looks}`,
      look.nextLookSeconds,
      look.watching ? (wakeId) => steps.arm(rolloutId, wakeId) : undefined,
    );
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
