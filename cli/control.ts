/**
 * `resume` and `abort`: an operator's say over a rollout in waves that halted (or, for abort, any
 * open rollout). The request is written to the rollout's record, then its engine is woken
 * (SendDurableExecutionCallbackSuccess on the callback it waits on); if nothing could be woken,
 * the engine applies it at its next look. Never reads a secret or parameter value.
 */
import { userInfo } from 'node:os';
import { wakeEngine } from '../functions/rollout/engine-client.js';
import { type ControlOutcome, requestControl } from '../functions/rollout/control.js';
import type { RolloutRecord } from '../functions/rollout/model.js';
import type { RolloutStore } from '../functions/rollout/store.js';
import type { CloudFormationLike, LambdaLike } from './aws.js';
import type { Clock } from './clock.js';
import {
  CliError,
  EXIT_FAILURE,
  EXIT_OK,
  RolloutNotFoundError,
  awsCall,
  isNotFound,
} from './errors.js';
import type { Output } from './output.js';
import {
  RolloutReader,
  SEARCH_LIMIT,
  changeMatcher,
  looksLikeRolloutId,
  rolloutTableName,
} from './rollouts.js';

export type ControlAction = 'resume' | 'abort';

export interface ControlOptions {
  readonly action: ControlAction;
  /** A rollout id, or a secret or parameter: its newest open rollout. */
  readonly change?: string;
  /** The newest open rollout. */
  readonly latest: boolean;
  /** Who asks (recorded, and in the notification). @default the local user name */
  readonly by?: string;
  readonly json: boolean;
  readonly region: string;
  readonly stack?: string;
  readonly table?: string;
}

export interface ControlDependencies {
  readonly clients: { readonly cloudFormation: CloudFormationLike; readonly lambda: LambdaLike };
  /** The rollout store over the CLI's DynamoDB client (reads and the one conditional write). */
  readonly controlStore: (tableName: string) => RolloutStore;
  readonly output: Output;
  readonly clock: Clock;
  /** The local user name. @default os.userInfo().username */
  readonly user?: () => string;
}

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'cli';
  }
}

/** Runs `resume` or `abort`. Returns the exit code: 0 accepted, 1 refused or not found. */
export async function control(options: ControlOptions, deps: ControlDependencies): Promise<number> {
  const matches = options.change === undefined ? undefined : changeMatcher(options.change);
  const tableName = await rolloutTableName(options, deps.clients.cloudFormation);
  const store = deps.controlStore(tableName);
  const reader = new RolloutReader(store, options.region);
  const rollout = await find(reader, options, matches, tableName);
  const by = options.by ?? `${(deps.user ?? localUser)()} (ecs-redeployer ${options.action})`;
  let outcome: ControlOutcome;
  try {
    outcome = await awsCall(
      `dynamodb:UpdateItem and lambda:SendDurableExecutionCallbackSuccess`,
      () =>
        requestControl(
          {
            store,
            now: () => deps.clock.now(),
            engine: { wake: (id, reason) => wakeEngine(deps.clients.lambda, id, reason) },
          },
          rollout.rolloutId,
          { action: options.action, by },
        ),
    );
  } catch (error) {
    if (isNotFound(error)) {
      throw new CliError(`The rollout table ${tableName} does not exist in ${options.region}`);
    }
    throw error;
  }
  const { output } = deps;
  if (options.json) {
    output.line(
      JSON.stringify(
        outcome.accepted
          ? {
              rolloutId: rollout.rolloutId,
              action: options.action,
              by,
              accepted: true,
              woke: outcome.woke,
            }
          : {
              rolloutId: rollout.rolloutId,
              action: options.action,
              accepted: false,
              reason: outcome.reason,
            },
        null,
        2,
      ),
    );
    return outcome.accepted ? EXIT_OK : EXIT_FAILURE;
  }
  if (!outcome.accepted) {
    output.warn(`Not done: ${outcome.reason}.`);
    return EXIT_FAILURE;
  }
  output.line(`Rollout ${rollout.rolloutId} (${rollout.change.type} ${rollout.change.name}):`);
  output.line(
    options.action === 'resume'
      ? `  resume recorded (by ${by}). The services that failed in wave ${rollout.halted?.wave ?? '?'} are deployed again, then the next waves.`
      : `  abort recorded (by ${by}). Nothing more is started; deployments in flight go on. The services not deployed are reported as owed.`,
  );
  output.line(
    outcome.woke
      ? '  The rollout engine was woken: it acts now.'
      : '  The rollout engine could not be woken (it is between looks, or not running): it acts at its next look, within the hour, or the next sweep restarts it.',
  );
  output.line(`  Follow it: ecs-redeployer status ${rollout.rolloutId}`);
  return EXIT_OK;
}

/** The rollout named: by id, else the newest open rollout of the change (or of any, --latest). */
async function find(
  reader: RolloutReader,
  options: ControlOptions,
  matches: ReturnType<typeof changeMatcher> | undefined,
  tableName: string,
): Promise<RolloutRecord> {
  const change = options.change;
  if (change !== undefined && looksLikeRolloutId(change)) {
    const byId = await reader.rollout(change);
    if (byId !== undefined) return byId;
  }
  const recent = await reader.recent(SEARCH_LIMIT);
  const open = recent.filter((r) => r.status === 'OPEN');
  const found = options.latest
    ? open[0]
    : matches === undefined
      ? undefined
      : (open.find((r) => matches(r.change)) ?? recent.find((r) => matches(r.change)));
  if (found !== undefined) return found;
  throw new RolloutNotFoundError(
    options.latest ? 'open rollout' : `rollout of ${change ?? '?'}`,
    tableName,
    options.region,
  );
}
