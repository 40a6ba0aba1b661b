/**
 * The exact sweep (rollouts on). Events are best effort, so on a schedule the sweep compares
 * what is live with what the last handled change recorded, for everything a running service
 * references:
 *
 * - each secret label referenced (AWSCURRENT, and any custom label a reference is pinned to):
 *   the version that holds it now (DescribeSecret) against the pointer of the last change handled;
 * - each parameter: its version (DescribeParameters) against its pointer.
 *
 * A difference is a change whose event was missed: a rollback, a stage-then-promote, a custom
 * label moved. It is handled as if its event had arrived (one rollout, the same brakes), dated by
 * when AWS says the secret or parameter last changed. A label or parameter never handled before
 * is dated by when its version was created, as the first sweep of a new install must (it then
 * only redeploys services whose newest deployment is older than that).
 *
 * Then it resumes rollouts that are owed but not watched: an engine that could not be started,
 * or one that stopped looking.
 */
import {
  DescribeSecretCommand,
  ListSecretVersionIdsCommand,
} from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand } from '@aws-sdk/client-ssm';
import {
  type ParameterId,
  type SecretId,
  parameterArn,
  sameScope,
  secretArn,
  secretIdFromFullArn,
  secretLookupId,
} from '../redeploy/arn.js';
import { AWSCURRENT, AWSPREVIOUS, type Change } from '../redeploy/change.js';
import type { ServiceSummary } from '../redeploy/discovery.js';
import { errorMessage, errorName } from '../redeploy/errors.js';
import {
  type ChangeReport,
  type Dependencies,
  type FailureEntry,
  RedeployRun,
  type ServiceEntry,
} from '../redeploy/process.js';
import type { Reference } from '../redeploy/references.js';
import type { SsmLike } from '../redeploy/sweep.js';
import { ChangeRollout, type RolloutDependencies } from './intake.js';
import { observeRollout } from './observe.js';
import { type FinishDependencies, announce, finishRollout } from './summary.js';

export interface ExactSweepDependencies extends Dependencies {
  readonly ssm: SsmLike;
  readonly rollouts: RolloutDependencies;
  /** Reports a rollout the sweep itself brought to its end (no engine configured). */
  readonly finish?: Omit<FinishDependencies, 'store' | 'now'>;
}

/** DescribeParameters takes at most 50 filter values; each name is asked in both forms. */
const PARAMETER_BATCH = 25;

/** A rollout whose engine has not looked this long after it meant to is resumed. */
const GRACE_MS = 15 * 60_000;

interface InUse {
  readonly service: ServiceSummary;
  readonly references: Reference[];
}

function matchesPrefix(name: string, prefixes: readonly string[]): boolean {
  return prefixes.length === 0 || prefixes.some((prefix) => name.startsWith(prefix));
}

/** Own keys only: an id such as `__proto__` must not reach Object.prototype. */
function holderOf(map: Record<string, string[]> | undefined, label: string): string | undefined {
  if (!map) return undefined;
  return Object.keys(map).find((id) => Object.hasOwn(map, id) && map[id]?.includes(label));
}

export async function runExactSweep(
  deps: ExactSweepDependencies,
  sweepId: string,
): Promise<ChangeReport> {
  const { config, home } = deps;
  const store = deps.rollouts.store;
  const now = deps.now?.() ?? new Date();
  const walk = new RedeployRun(deps);
  const inUse: InUse[] = [];
  const errors: string[] = [];
  await walk.discover(async (service) => {
    const { references, errors: unread } = await walk.references(service);
    errors.push(...unread.map((e) => `${e.target}: ${e.error}`));
    inUse.push({ service, references });
  });
  errors.push(...walk.failed.map((f) => `${f.target}: ${f.error}`));

  // What running services reference, in this account and Region.
  const secretLabels = new Map<string, Set<string>>(); // secret resource -> labels
  const parameters = new Map<string, ParameterId>();
  for (const { references } of inUse) {
    for (const ref of references) {
      if (ref.kind === 'secret') {
        if (!sameScope(ref.target, home) || ref.versionId !== undefined) continue;
        if (!matchesPrefix(ref.target.resource, config.secretNamePrefixes)) continue;
        const stage = ref.versionStage ?? AWSCURRENT;
        const label = stage === AWSPREVIOUS ? AWSCURRENT : stage; // AWSPREVIOUS moves with it
        const labels = secretLabels.get(ref.target.resource) ?? new Set<string>();
        labels.add(label);
        secretLabels.set(ref.target.resource, labels);
      } else if (
        sameScope(ref.parameter, home) &&
        matchesPrefix(ref.parameter.name, config.parameterNamePrefixes)
      ) {
        parameters.set(ref.parameter.name, ref.parameter);
      }
    }
  }

  const missed: Change[] = [];
  const base = { eventId: sweepId, action: 'redeploy' as const };
  for (const [resource, labels] of secretLabels) {
    const secretIdText = secretLookupId({ ...home, resource });
    try {
      const described = await deps.secretsManager.send(
        new DescribeSecretCommand({ SecretId: secretIdText }),
      );
      const id = described.ARN ? secretIdFromFullArn(described.ARN) : undefined;
      if (!id) continue;
      for (const label of labels) {
        const holder = holderOf(described.VersionIdsToStages, label);
        const pointer = await store.pointer(`${secretArn(id)}#${label}`);
        if (holder === undefined) {
          // On no version: references pinned to the label fail at their next task start.
          if (pointer?.version === 'removed') continue; // reported when it happened
          missed.push({
            eventId: sweepId,
            action: 'label-removed',
            kind: 'secret',
            secret: id,
            stages: [label],
            time: described.LastChangedDate ?? now,
            trigger: `Sweep: label ${label} of ${id.name} is on no version`,
          });
          continue;
        }
        if (pointer !== undefined && pointer.version === holder && pointer.baseline !== true) {
          continue;
        }
        const time =
          pointer === undefined
            ? await versionCreated(deps, secretArn(id), holder)
            : described.LastChangedDate;
        missed.push(secretChange(base, id, label, holder, time ?? now, pointer === undefined));
      }
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') continue; // deleted: DeleteSecret tells
      errors.push(`secret ${resource}: ${errorMessage(error)}`);
    }
  }

  const names = [...parameters.keys()];
  for (let i = 0; i < names.length; i += PARAMETER_BATCH) {
    const batch = names.slice(i, i + PARAMETER_BATCH);
    try {
      for (const found of await describeParameters(deps.ssm, batch)) {
        const parameter = parameters.get(found.name);
        if (!parameter) continue;
        const pointer = await store.pointer(parameterArn(parameter));
        if (
          pointer !== undefined &&
          pointer.version === found.version &&
          pointer.baseline !== true
        ) {
          continue;
        }
        missed.push({
          ...base,
          kind: 'parameter',
          parameter,
          time: found.modifiedAt ?? now,
          trigger:
            pointer === undefined
              ? `Sweep: first look at ${found.name} (version ${found.version})`
              : `Sweep: ${found.name} is at version ${found.version}, the last change handled was ${pointer.version}`,
        });
      }
    } catch (error) {
      errors.push(`parameters ${batch.join(', ')}: ${errorMessage(error)}`);
    }
  }

  // Each missed change, as if its event had arrived (one rollout, the same brakes).
  const combined = new Combined();
  const complete = walk.failed.length === 0;
  for (const change of missed) {
    try {
      const rollout = await ChangeRollout.open(deps.rollouts, change);
      if (rollout.ended) continue;
      const run = new RedeployRun(deps, rollout);
      await run.applyTo(inUse, change, walk.deploymentsInProgress);
      await rollout.handOver({ complete });
      combined.add(run, rollout.rolloutId);
    } catch (error) {
      errors.push(`${change.trigger}: ${errorMessage(error)}`);
    }
  }

  const resumed = await resumeOwedRollouts(deps, now).catch((error: unknown) => {
    errors.push(`owed rollouts could not be listed: ${errorMessage(error)}`);
    return [];
  });

  return {
    outcome: 'handled',
    change: {
      type: 'sweep',
      eventId: sweepId,
      time: now.toISOString(),
      secretsChecked: secretLabels.size,
      parametersChecked: parameters.size,
      missedChanges: missed.length,
      rollouts: combined.rollouts,
      rolloutsResumed: resumed,
    },
    dryRun: false,
    redeployed: combined.redeployed.sort(),
    skipped: combined.skipped,
    needsAction: combined.needsAction,
    stillReferenced: combined.stillReferenced,
    braked: combined.braked,
    flapGuarded: combined.flapGuarded,
    failed: combined.failed,
    warnings: [...combined.warnings, ...errors],
    sweepErrors: errors,
    clustersScanned: walk.stats.clusters,
    servicesScanned: walk.stats.services,
  };
}

function secretChange(
  base: { eventId: string; action: 'redeploy' },
  secret: SecretId,
  label: string,
  holder: string,
  time: Date,
  firstLook: boolean,
): Change {
  return {
    ...base,
    kind: 'secret',
    secret,
    stages: label === AWSCURRENT ? [AWSCURRENT, AWSPREVIOUS] : [label],
    versionId: holder,
    time,
    trigger: firstLook
      ? `Sweep: first look at ${secret.name} ${label} (version ${holder})`
      : `Sweep: ${secret.name} ${label} moved to version ${holder}, and no event of it was handled`,
  };
}

/** When a secret version was created (the first sweep dates a label by it). */
async function versionCreated(
  deps: ExactSweepDependencies,
  arn: string,
  versionId: string,
): Promise<Date | undefined> {
  let nextToken: string | undefined;
  do {
    const page = await deps.secretsManager.send(
      new ListSecretVersionIdsCommand({ SecretId: arn, MaxResults: 100, NextToken: nextToken }),
    );
    const found = page.Versions?.find((v) => v.VersionId === versionId);
    if (found) return found.CreatedDate;
    nextToken = page.NextToken;
  } while (nextToken);
  return undefined;
}

async function describeParameters(
  ssm: SsmLike,
  names: readonly string[],
): Promise<{ name: string; version: string; modifiedAt?: Date }[]> {
  const found: { name: string; version: string; modifiedAt?: Date }[] = [];
  const values = names.flatMap((name) => [name, `/${name}`]);
  let nextToken: string | undefined;
  do {
    const page = await ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: values }],
        MaxResults: 50,
        NextToken: nextToken,
      }),
    );
    for (const parameter of page.Parameters ?? []) {
      if (parameter.Name === undefined || parameter.Version === undefined) continue;
      found.push({
        name: parameter.Name.replace(/^\//, ''),
        version: String(parameter.Version),
        ...(parameter.LastModifiedDate && { modifiedAt: parameter.LastModifiedDate }),
      });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return found;
}

/** The runs of several changes, reported as one. */
class Combined {
  readonly redeployed: string[] = [];
  readonly skipped: ServiceEntry[] = [];
  readonly needsAction: ServiceEntry[] = [];
  readonly stillReferenced: ServiceEntry[] = [];
  readonly braked: ServiceEntry[] = [];
  readonly flapGuarded: ServiceEntry[] = [];
  readonly failed: FailureEntry[] = [];
  readonly warnings: string[] = [];
  readonly rollouts: string[] = [];

  add(run: RedeployRun, rolloutId: string): void {
    this.redeployed.push(...run.redeployed);
    this.skipped.push(...run.skipped);
    this.needsAction.push(...run.needsAction);
    this.stillReferenced.push(...run.stillReferenced);
    this.braked.push(...run.braked);
    this.flapGuarded.push(...run.flapGuarded);
    this.failed.push(...run.failed);
    this.warnings.push(...run.warnings);
    if (run.redeployed.length + run.braked.length + run.flapGuarded.length > 0) {
      this.rollouts.push(rolloutId);
    }
  }
}

/**
 * Restarts the engine of every open rollout nobody is watching: one whose engine could not be
 * started, or whose engine has not looked well after it meant to. Without an engine, the sweep
 * takes the look itself and finishes rollouts that ended.
 */
export async function resumeOwedRollouts(
  deps: ExactSweepDependencies,
  now: Date,
): Promise<string[]> {
  const rollouts = deps.rollouts;
  const resumed: string[] = [];
  for (const rollout of await rollouts.store.rollouts({ open: true })) {
    const lookDue = Date.parse(rollout.nextLookAt ?? rollout.createdAt);
    const unwatched =
      rollout.engine === undefined ||
      rollout.engine.error !== undefined ||
      now.getTime() > lookDue + GRACE_MS;
    if (!unwatched) continue;
    if (rollouts.engine) {
      const previous = rollout.engine;
      // An engine that never started keeps its name; one that stopped looking gets a new one.
      const attempt =
        previous === undefined
          ? 1
          : previous.error !== undefined
            ? previous.attempt
            : previous.attempt + 1;
      const name = await rollouts.engine.start(rollout.rolloutId, attempt);
      await rollouts.store.updateRollout(rollout.rolloutId, {
        engine: { name, attempt, startedAt: now.toISOString() },
        nextLookAt: now.toISOString(),
      });
    } else {
      const look = await observeRollout(rollouts, rollout.rolloutId);
      if (look.haltPending === true || look.hookPending === true) {
        await announce(
          {
            store: rollouts.store,
            now: rollouts.now,
            ...(deps.finish?.notify && { notify: deps.finish.notify }),
          },
          rollout.rolloutId,
        );
      }
      if (look.done) {
        await finishRollout(
          { ...deps.finish, store: rollouts.store, now: rollouts.now },
          rollout.rolloutId,
        );
      }
    }
    resumed.push(rollout.rolloutId);
  }
  return resumed;
}
