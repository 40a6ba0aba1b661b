/**
 * The identity of a change, so every event that announces it joins one rollout: secret ARN +
 * staging label + the version that now holds the label, or parameter ARN + version.
 *
 * Events of one rotation (Secret Label Updated, UpdateSecretVersionStage, RotationSucceeded)
 * carry different fields, and some none of the version: the version is read from AWS
 * (DescribeSecret's VersionIdsToStages, DescribeParameters' Version; metadata only) whenever the
 * secret or parameter lives in the function's own account and Region. Reading it now, rather
 * than trusting the event, also makes a late duplicate of an older event join the rollout of what
 * is live now instead of opening one for a value that is no longer current.
 *
 * A label can move back to a version it held before (a rollback with UpdateSecretVersionStage).
 * That is a new change with the same (ARN, label, version), so a pointer per (ARN, label) counts
 * generations: it records the version last handled, and moving it to another version opens the
 * next generation. The pointer lives in the rollout table (store.ts).
 */
import { createHash } from 'node:crypto';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand, ListTagsForResourceCommand } from '@aws-sdk/client-ssm';
import { type Scope, parameterArn, sameScope, secretArn } from '../redeploy/arn.js';
import { AWSCURRENT, AWSPREVIOUS, type Change } from '../redeploy/change.js';
import { errorName } from '../redeploy/errors.js';
import type { SecretsManagerLike } from '../redeploy/secrets.js';
import type { SsmLike } from '../redeploy/sweep.js';
import type { ChangeSummary } from './model.js';
import { type HoldHint, WAVES_TAG, hintFromSecret, wavesTag } from './waves.js';

/** What a change is, before its generation is known. */
export interface ChangeVersion {
  readonly summary: ChangeSummary;
  /** Key of the pointer that counts generations; absent for changes that cannot recur. */
  readonly pointerKey?: string;
  /** When AWS says the secret or parameter last changed (DescribeSecret, DescribeParameters). */
  readonly lastChangedAt?: Date;
  /** What bears on holding services back (waves.ts), as far as AWS said. */
  readonly hint?: HoldHint;
}

/** The label whose move the change is about: AWSCURRENT if it moved, else the custom label. */
export function primaryLabel(stages: readonly string[]): string | undefined {
  if (stages.includes(AWSCURRENT)) return AWSCURRENT;
  return stages.find((stage) => stage !== AWSPREVIOUS) ?? stages[0];
}

/** Own keys only: an id such as `__proto__` must not reach Object.prototype. */
function holderOf(map: Record<string, string[]> | undefined, label: string): string | undefined {
  if (!map) return undefined;
  return Object.keys(map).find((id) => Object.hasOwn(map, id) && map[id]?.includes(label));
}

export interface VersionLookups {
  readonly secretsManager: SecretsManagerLike;
  readonly ssm?: SsmLike;
  readonly home: Scope;
  /** Read a parameter's tags too (ListTagsForResource): only when waves depend on them. */
  readonly parameterTags?: boolean;
}

/**
 * Reads what the change made live. Falls back to the event's version id, then to the event's
 * time, when AWS cannot say (another account or Region, deleted meanwhile, no SSM client).
 */
export async function changeVersion(
  change: Change,
  lookups: VersionLookups,
): Promise<ChangeVersion> {
  const base = { action: change.action, trigger: change.trigger, eventId: change.eventId };
  const at = change.time.toISOString();
  if (change.kind === 'secret') {
    const arn = secretArn(change.secret);
    if (change.action === 'warn') {
      return {
        summary: {
          ...base,
          type: 'secret',
          arn,
          name: change.secret.name,
          label: 'deleted',
          version: `deleted@${at}`,
        },
      };
    }
    const label = primaryLabel(change.stages) ?? AWSCURRENT;
    if (change.action === 'label-removed') {
      // On no version any more: one identity per removal (the pointer moves to `removed`, and a
      // later move of the label back opens the next generation).
      return {
        summary: {
          ...base,
          type: 'secret',
          arn,
          name: change.secret.name,
          label,
          version: 'removed',
        },
        pointerKey: `${arn}#${label}`,
      };
    }
    let version = change.versionId;
    let lastChangedAt: Date | undefined;
    let hint: HoldHint | undefined;
    if (change.secret.suffix !== undefined && sameScope(change.secret, lookups.home)) {
      try {
        const described = await lookups.secretsManager.send(
          new DescribeSecretCommand({ SecretId: arn }),
        );
        const holder = holderOf(described.VersionIdsToStages, label);
        if (holder !== undefined) version = holder;
        if (described.LastChangedDate instanceof Date) lastChangedAt = described.LastChangedDate;
        hint = hintFromSecret(described);
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw error;
      }
    }
    return {
      summary: {
        ...base,
        type: 'secret',
        arn,
        name: change.secret.name,
        label,
        version: version ?? `at:${at}`,
      },
      ...(version !== undefined && { pointerKey: `${arn}#${label}` }),
      ...(lastChangedAt && { lastChangedAt }),
      ...(hint && { hint }),
    };
  }
  const arn = parameterArn(change.parameter);
  const summary = { ...base, type: 'parameter' as const, arn, name: change.parameter.name };
  if (change.action === 'warn') {
    return {
      summary: { ...summary, label: 'deleted', version: `deleted@${at}` },
    };
  }
  let version: string | undefined;
  let lastChangedAt: Date | undefined;
  let hint: HoldHint | undefined;
  if (lookups.ssm && sameScope(change.parameter, lookups.home)) {
    const name = change.parameter.name;
    const page = await lookups.ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name, `/${name}`] }],
      }),
    );
    const found = (page.Parameters ?? []).find((p) => p.Name?.replace(/^\//, '') === name);
    if (found?.Version !== undefined) version = String(found.Version);
    if (found?.LastModifiedDate instanceof Date) lastChangedAt = found.LastModifiedDate;
    if (found?.Name !== undefined && lookups.parameterTags) {
      hint = await parameterHint(lookups.ssm, found.Name);
    }
  }
  return {
    summary: { ...summary, version: version ?? `at:${at}` },
    ...(version !== undefined && { pointerKey: arn }),
    ...(lastChangedAt && { lastChangedAt }),
    ...(hint && { hint }),
  };
}

/**
 * A parameter's `secret-redeployer:waves` tag. Without the permission, or if the parameter went
 * meanwhile, there is no tag (and the policy decides).
 */
async function parameterHint(ssm: SsmLike, name: string): Promise<HoldHint> {
  try {
    const { TagList = [] } = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }),
    );
    const tag = wavesTag(TagList.find((t) => t.Key === WAVES_TAG)?.Value);
    return tag === undefined ? {} : { tag };
  } catch (error) {
    const name = errorName(error);
    if (name === 'InvalidResourceId' || /AccessDenied/.test(name)) return {};
    throw error; // throttled or unavailable: the change is retried
  }
}

/** Durable execution names: 1-64 characters of `A-Za-z0-9-_`. */
const NAME_SAFE = /[^A-Za-z0-9]+/g;

/** A rollout id: readable prefix, and a hash of the identity and its generation. */
export function rolloutIdOf(summary: ChangeSummary, generation: number): string {
  const hash = createHash('sha256')
    .update([summary.arn, summary.label ?? '', summary.version, String(generation)].join('\n'))
    .digest('hex')
    .slice(0, 20);
  const slug = summary.name
    .replace(NAME_SAFE, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 30);
  return `${summary.type === 'secret' ? 's' : 'p'}-${slug}-${hash}`;
}

/** The engine execution's name for the given attempt (restarts get a new name). */
export function executionName(rolloutId: string, attempt: number): string {
  return attempt <= 1 ? rolloutId : `${rolloutId}-${attempt}`;
}
