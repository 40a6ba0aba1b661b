/**
 * Reading the redeployer's rollouts (functions/rollout/) for `status` and `rotate`: which table,
 * the store's reads with IAM actions and clear not-found errors, which rollouts are about a
 * secret or parameter the operator named, and how a service's part in a rollout reads.
 *
 * Read-only: only GetItem and Query (the table and its ByTime index). Never reads a value.
 */
import { parameterIdFromArn, sameParameter } from '../functions/redeploy/arn.js';
import {
  type ChangeSummary,
  type RolloutRecord,
  type ServiceRecord,
  type ServiceState,
  countStates,
} from '../functions/rollout/model.js';
import type { RolloutStore } from '../functions/rollout/store.js';
import type { CloudFormationLike } from './aws.js';
import { CliError, RolloutTableNotFoundError, awsCall, isNotFound } from './errors.js';
import { formatDuration, plural, shortName } from './output.js';
import { DEFAULT_STACK, OUTPUTS, stackOutputs } from './stack.js';
import { parseTarget } from './targets.js';

/** The reads of RolloutStore the CLI makes. */
export type RolloutSource = Pick<RolloutStore, 'tableName' | 'rollout' | 'rollouts' | 'services'>;

/** Opens the rollout table of that name (main.ts: a RolloutStore over the CLI's DynamoDB client). */
export type RolloutStoreFactory = (tableName: string) => RolloutSource;

/** How many of the newest rollouts are searched for one of a given change. */
export const SEARCH_LIMIT = 1000;

/**
 * The rollout table: `--table`, else the RolloutTableName output of the stack. Throws a CliError
 * when the stack has no such output (rollouts are turned off, or the stack predates them).
 */
export async function rolloutTableName(
  options: { readonly table?: string; readonly stack?: string; readonly region: string },
  cloudFormation: CloudFormationLike,
): Promise<string> {
  if (options.table !== undefined) return options.table;
  const stack = options.stack ?? DEFAULT_STACK;
  const outputs = await stackOutputs(cloudFormation, stack, options.region, 'pass --table NAME');
  const table = outputs[OUTPUTS.rolloutTableName];
  if (table === undefined) {
    throw new CliError(
      `Stack ${stack} in ${options.region} has no ${OUTPUTS.rolloutTableName} output: rollouts ` +
        'are turned off there, or the stack predates them. Update it (npx cdk deploy) or pass ' +
        '--table NAME',
    );
  }
  return table;
}

/** The store's reads, each naming its IAM action, and a missing table said plainly. */
export class RolloutReader {
  constructor(
    private readonly source: RolloutSource,
    readonly region: string,
  ) {}

  get tableName(): string {
    return this.source.tableName;
  }

  private async call<T>(action: string, read: () => Promise<T>): Promise<T> {
    try {
      return await awsCall(action, read);
    } catch (error) {
      if (isNotFound(error)) throw new RolloutTableNotFoundError(this.tableName, this.region);
      throw error;
    }
  }

  rollout(rolloutId: string): Promise<RolloutRecord | undefined> {
    return this.call('dynamodb:GetItem', () => this.source.rollout(rolloutId));
  }

  services(rolloutId: string): Promise<ServiceRecord[]> {
    return this.call('dynamodb:Query', () => this.source.services(rolloutId));
  }

  /** Newest first. */
  recent(limit: number): Promise<RolloutRecord[]> {
    return this.call('dynamodb:Query', () => this.source.rollouts({ limit }));
  }

  /** The newest rollout whose change `matches`, among the newest SEARCH_LIMIT. */
  async newest(matches: (change: ChangeSummary) => boolean): Promise<RolloutRecord | undefined> {
    return (await this.recent(SEARCH_LIMIT)).find((rollout) => matches(rollout.change));
  }
}

/** Rollout ids (functions/rollout/identity.ts): `s-` or `p-`, a slug, 20 hex digits. */
const ROLLOUT_ID = /^[sp]-[A-Za-z0-9-]*-[0-9a-f]{20}$/;

export function looksLikeRolloutId(value: string): boolean {
  return ROLLOUT_ID.test(value);
}

const SECRET_SUFFIX = /^-[A-Za-z0-9]{6}$/;

/**
 * Whether two secret ARNs name the same secret: equal, or one is the partial ARN (no random
 * suffix) of the other.
 */
export function sameSecretArn(a: string, b: string): boolean {
  if (a === b) return true;
  const [shorter, longer] = a.length <= b.length ? [a, b] : [b, a];
  return longer.startsWith(shorter) && SECRET_SUFFIX.test(longer.slice(shorter.length));
}

/**
 * Which changes are about the secret or parameter `input` names: a secret name, a partial or
 * full secret ARN, a parameter name (with or without the leading slash) or ARN, read as
 * `plan` reads them. Throws a UsageError for what can be neither.
 */
export function changeMatcher(input: string): (change: ChangeSummary) => boolean {
  const value = input.trim();
  const { secretId, parameterNames } = parseTarget(value);
  const parameterArn = value.startsWith('arn:') ? parameterIdFromArn(value) : undefined;
  return (change) => {
    if (change.type === 'secret') {
      if (secretId === undefined) return false;
      return secretId.startsWith('arn:')
        ? sameSecretArn(change.arn, secretId)
        : change.name === secretId;
    }
    if (parameterArn !== undefined) {
      const stored = parameterIdFromArn(change.arn);
      return stored !== undefined && sameParameter(stored, parameterArn);
    }
    return parameterNames?.includes(change.name) === true;
  };
}

// ---------------------------------------------------------------------------------------------
// How a rollout and its services read
// ---------------------------------------------------------------------------------------------

/** States in the order a rollout moves through them (model.ts). */
export const STATE_ORDER: readonly ServiceState[] = [
  'PLANNED',
  'HELD',
  'DEPLOYING',
  'SUPERSEDED',
  'COMPLETED',
  'SKIPPED',
  'NEEDS_ACTION',
  'FAILED',
  'ROLLED_BACK',
  'STUCK',
];

/** `2 COMPLETED, 1 FAILED`, in STATE_ORDER; `no services` when there are none. */
export function countsText(services: readonly ServiceRecord[]): string {
  const counts = countStates(services);
  const parts = STATE_ORDER.flatMap((state) => {
    const count = counts[state];
    return count === undefined ? [] : [`${count} ${state}`];
  });
  return parts.length === 0 ? 'no services' : parts.join(', ');
}

/** `cluster/name` of a service's record (long ARN format). */
export function serviceLabel(record: ServiceRecord): string {
  return `${shortName(record.clusterArn)}/${shortName(record.serviceArn)}`;
}

/** The service's deployment time: from UpdateService (or adoption) to its end, or to `now`. */
export function deploymentMs(record: ServiceRecord, now: Date): number | undefined {
  if (record.deployingAt === undefined) return undefined;
  const end = record.endedAt === undefined ? now.getTime() : Date.parse(record.endedAt);
  const ms = end - Date.parse(record.deployingAt);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

const HOLDS: Readonly<Record<NonNullable<ServiceRecord['holdReason']>, string>> = {
  cap: 'fleet cap',
  'flap-guard': 'flap guard',
};

/** Why the service is in its state: when a hold ends, ECS's failure reason, the next step. */
export function reasonText(record: ServiceRecord): string {
  const parts: string[] = [];
  if (record.state === 'HELD' && record.heldUntil !== undefined) {
    const why = record.holdReason === undefined ? '' : ` (${HOLDS[record.holdReason]})`;
    parts.push(`held until ${record.heldUntil}${why}`);
  }
  if (record.reason !== undefined && record.reason !== '') parts.push(record.reason);
  if (record.state === 'PLANNED' && record.attempts > 0) {
    parts.push(`${plural(record.attempts, 'UpdateService attempt')} so far`);
  }
  if (record.unconfirmed === true) parts.push('UpdateService unconfirmed');
  return parts.join('; ');
}

/** Whether a rollout ended with every service delivered (COMPLETED) or rightly left (SKIPPED). */
export function delivered(services: readonly ServiceRecord[]): boolean {
  return services.every((s) => s.state === 'COMPLETED' || s.state === 'SKIPPED');
}

/** `5m02s` from two ISO times, or undefined. */
export function durationBetween(from: string, to: string): string | undefined {
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? formatDuration(ms) : undefined;
}
