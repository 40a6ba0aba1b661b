/**
 * The workflow's steps, wired to the domain: the engine's handler and the tests build them the
 * same way, so what the tests drive is what runs.
 */
import { requestControl } from './control.js';
import { type ObserveDependencies, observeRollout } from './observe.js';
import { type RolloutSummary, announce, countHalted, finishRollout } from './summary.js';
import type { WorkflowSteps } from './workflow.js';

export interface StepDependencies extends ObserveDependencies {
  /** Sends a notification (SNS); absent: none. */
  readonly notify?: (subject: string, message: string) => Promise<void>;
  /** Writes the metrics of an ended rollout. */
  readonly record?: (summary: RolloutSummary) => void;
  /** Writes the `RolloutsHalted` gauge: open rollouts waiting for a person. */
  readonly recordHalted?: (count: number) => void;
  /** Logs what a person should see in the logs too. */
  readonly log?: (
    level: 'info' | 'warn' | 'error',
    message: string,
    data: Record<string, unknown>,
  ) => void;
  /** The rollout table's name, for the operator's instructions without the CLI. */
  readonly tableName?: string;
}

export function rolloutSteps(deps: StepDependencies): WorkflowSteps {
  const gauge = async (): Promise<void> => {
    if (deps.recordHalted) deps.recordHalted(await countHalted(deps.store));
  };
  return {
    async observe(rolloutId) {
      const look = await observeRollout(deps, rolloutId);
      if (look.halted === true || look.resumed === true) await gauge();
      return look;
    },
    async finish(rolloutId) {
      const summary = await finishRollout(deps, rolloutId);
      if (summary) {
        deps.log?.(summary.owed.length > 0 ? 'error' : 'info', 'rollout ended', { summary });
        if (summary.status === 'ABORTED') await gauge();
      }
      return summary;
    },
    async arm(rolloutId, wakeId) {
      await deps.store.updateRollout(rolloutId, { wakeCallbackId: wakeId });
    },
    async armOperator(rolloutId, wakeId) {
      await deps.store.updateRollout(rolloutId, { operatorCallbackId: wakeId }, { onlyIf: 'open' });
    },
    async announce(rolloutId) {
      const { halted, paused } = await announce(deps, rolloutId);
      if (halted) {
        deps.log?.('error', 'rollout halted: waiting for an operator to resume or abort it', {
          rolloutId,
          halted,
        });
      }
      if (paused > 0) {
        deps.log?.('warn', 'deployments paused at a lifecycle hook: waiting for a person', {
          rolloutId,
          paused,
        });
      }
    },
    async control(rolloutId, request) {
      const outcome = await requestControl(deps, rolloutId, request, { wake: false });
      deps.log?.(outcome.accepted ? 'info' : 'warn', 'operator request', {
        rolloutId,
        request,
        ...(!outcome.accepted && { refused: outcome.reason }),
      });
    },
  };
}
