/**
 * `rotate <secret>`: starts a rotation, waits for AWSCURRENT to move to the new version, then
 * waits until every service that references the secret was redeployed (by the deployed
 * redeployer function) and is stable again. Reports per service; exits 1 if anything failed.
 *
 * The CLI itself never redeploys: it checks that the redeployer did.
 *
 * How a rotation is judged (Secrets Manager reports no "rotation in progress" flag):
 * - success: the version RotateSecret returned carries AWSCURRENT;
 * - failure: that version carried AWSPENDING and then lost it, or vanished, without becoming
 *   AWSCURRENT (the rotation was cancelled or cleaned up); the secret was deleted or scheduled
 *   for deletion; or AWSCURRENT has not moved within `--rotation-timeout`. A failed rotation
 *   step usually just leaves AWSPENDING where it is, so most failures surface as the timeout.
 *
 * When AWSCURRENT moved: the earlier of (a) the start of the last DescribeSecret poll that did not
 * show the move yet (local clock) and (b) the secret's LastChangedDate (AWS's clock, ignored when
 * implausibly old). Deployments created at or after that time count as redeploys for the change,
 * so a prompt redeploy is never missed because of polling delay or a slightly fast local clock.
 *
 * How the services are judged depends on whether the redeployer records rollouts (its stack has
 * a RolloutTableName output, or `--table` names the table):
 * - with rollouts, the rollout of the change (secret ARN, AWSCURRENT, the new version) is the
 *   truth: rotate waits for it to appear, then until it is no longer OPEN, and reports each
 *   service from its record. Only COMPLETED and SKIPPED count as success.
 * - without, it watches the ECS services itself (below): a deployment created after the move
 *   that is PRIMARY and COMPLETED.
 */
import { type Deployment, DescribeServicesCommand, type Service } from '@aws-sdk/client-ecs';
import {
  type DescribeSecretCommandOutput,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { parseArn } from '../functions/redeploy/arn.js';
import { AWSCURRENT, AWSPENDING } from '../functions/redeploy/change.js';
import { errorName } from '../functions/redeploy/errors.js';
import {
  type ChangeSummary,
  type RolloutRecord,
  type ServiceRecord,
  isSettled,
} from '../functions/rollout/model.js';
import type { CloudFormationLike, EcsLike, SecretsManagerLike } from './aws.js';
import type { Clock } from './clock.js';
import {
  CliError,
  EXIT_FAILURE,
  EXIT_OK,
  StackNotFoundError,
  UnknownTargetError,
  UsageError,
  awsCall,
  describeError,
  isAccessDenied,
  isFatal,
} from './errors.js';
import { type ChangePlan, failureLines, planChange, secretChange } from './plan.js';
import { type Output, formatDuration, plural, shortName, table } from './output.js';
import {
  RolloutReader,
  type RolloutStoreFactory,
  countsText,
  deploymentMs,
  reasonText,
  sameSecretArn,
  serviceLabel,
} from './rollouts.js';
import { DEFAULT_STACK, OUTPUTS, stackOutputs } from './stack.js';
import { type SecretTarget, describeSecret, parseTarget, secretTarget } from './targets.js';

/** The rotation did not complete; the message says why and where to look. */
export class RotationFailedError extends CliError {
  override name = 'RotationFailedError';
}

export interface RotateOptions {
  /** The secret: a name, or a partial or full ARN. */
  readonly secret: string;
  /** Cluster names or ARNs; empty: every cluster. */
  readonly clusters: readonly string[];
  /** Time between polls. @default 5 s */
  readonly intervalMs: number;
  /** How long AWSCURRENT may take to move. @default 10 minutes */
  readonly rotationTimeoutMs: number;
  /** How long the services may take to be redeployed and stable, from the move. @default 30 minutes */
  readonly deployTimeoutMs: number;
  readonly region: string;
  /**
   * The redeployer's stack: its RolloutTableName output turns on following the rollout, its
   * FunctionName output names the log group in failure messages. @default SecretRedeployer
   */
  readonly stack?: string;
  /** The rollout table to follow; skips the stack's RolloutTableName output. */
  readonly table?: string;
}

export const ROTATE_DEFAULTS = {
  intervalMs: 5_000,
  rotationTimeoutMs: 10 * 60_000,
  deployTimeoutMs: 30 * 60_000,
} as const;

export interface RotateDependencies {
  readonly clients: {
    readonly secretsManager: SecretsManagerLike;
    readonly ecs: EcsLike;
    readonly cloudFormation?: CloudFormationLike;
  };
  readonly output: Output;
  readonly clock: Clock;
  /** Opens the rollout table. Absent: rollouts are not followed; the services are watched in ECS. */
  readonly rolloutStore?: RolloutStoreFactory;
}

/** Runs `rotate`. Returns the exit code. */
export async function rotate(options: RotateOptions, deps: RotateDependencies): Promise<number> {
  const { clients, output, clock } = deps;
  const { secretId } = parseTarget(options.secret);
  if (secretId === undefined) {
    throw new UsageError(`${options.secret} is not a secret name or ARN: rotate works on secrets`);
  }
  const described = await describeSecret(clients.secretsManager, secretId);
  if (described === undefined) {
    throw new UnknownTargetError(options.secret, options.region, 'secret');
  }
  const target = secretTarget(described);
  if (target.deletedDate !== undefined) {
    throw new CliError(`${target.name} is scheduled for deletion: it cannot be rotated`);
  }

  // Before anything changes: whether the redeployer records rollouts to follow.
  const stack = new StackLookup(options, clients.cloudFormation);
  const tableName = await rolloutTable(options, stack, output);
  const rollouts =
    tableName === undefined || deps.rolloutStore === undefined
      ? undefined
      : new RolloutReader(deps.rolloutStore(tableName), options.region);

  const startedAt = clock.now();
  const versionId = await startRotation(target, clients.secretsManager);
  output.line(`Rotation of ${target.name} started: new version ${versionId}.`);

  const movedAt = await waitForAwsCurrent(target, versionId, startedAt, options, deps);
  output.line(
    `AWSCURRENT moved to the new version (after ${formatDuration(clock.now().getTime() - startedAt.getTime())}).`,
  );

  if (rollouts !== undefined) {
    return followRollout(target, versionId, rollouts, stack, options, deps);
  }
  const plan = await planChange(
    secretChange(target, movedAt, 'rotate (AWSCURRENT)'),
    clients.ecs,
    options.clusters,
  );
  const results = await waitForServices(plan, movedAt, stack, options, deps);
  return report(target, plan, results, output);
}

type StackOutputs =
  | { readonly ok: true; readonly outputs: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly error: unknown };

/** The redeployer stack's outputs, read once (or the error that kept them from being read). */
class StackLookup {
  readonly name: string;
  private read?: Promise<StackOutputs>;

  constructor(
    private readonly options: RotateOptions,
    private readonly cloudFormation: CloudFormationLike | undefined,
  ) {
    this.name = options.stack ?? DEFAULT_STACK;
  }

  /** The outputs, or the error that kept them from being read. */
  lookup(): Promise<StackOutputs> {
    const { cloudFormation } = this;
    if (cloudFormation === undefined) return Promise.resolve({ ok: true, outputs: {} });
    this.read ??= stackOutputs(cloudFormation, this.name, this.options.region).then(
      (outputs): StackOutputs => ({ ok: true, outputs }),
      (error: unknown): StackOutputs => ({ ok: false, error }),
    );
    return this.read;
  }
}

/**
 * `--table`, else the stack's RolloutTableName output. No table (rollouts off, or the stack could
 * not be read; the latter says so): the services are watched in ECS.
 */
async function rolloutTable(
  options: RotateOptions,
  stack: StackLookup,
  output: Output,
): Promise<string | undefined> {
  if (options.table !== undefined) return options.table;
  const lookup = await stack.lookup();
  if (!lookup.ok) {
    const { error } = lookup;
    if (isFatal(error) && !isAccessDenied(error)) throw error;
    output.warn(
      (error instanceof StackNotFoundError
        ? `Note: no stack ${stack.name} in ${options.region}`
        : `Note: could not read stack ${stack.name} (${describeError(error).message})`) +
        ', so no rollout table: watching the ECS services directly. Pass --table NAME ' +
        "(or --stack NAME) to follow the redeployer's rollout instead.",
    );
    return undefined;
  }
  return lookup.outputs[OUTPUTS.rolloutTableName];
}

async function startRotation(
  target: SecretTarget,
  secretsManager: SecretsManagerLike,
): Promise<string> {
  try {
    const { VersionId } = await awsCall('secretsmanager:RotateSecret', () =>
      secretsManager.send(new RotateSecretCommand({ SecretId: target.arn })),
    );
    if (VersionId === undefined) throw new CliError('RotateSecret returned no VersionId');
    return VersionId;
  } catch (error) {
    const cause = error instanceof Error && 'cause' in error ? error.cause : error;
    if (errorName(cause) === 'InvalidRequestException' && cause instanceof Error) {
      // No rotation configured, a previous rotation not finished, …: Secrets Manager says which.
      throw new CliError(
        `Secrets Manager did not start a rotation of ${target.name}: ${cause.message}`,
      );
    }
    throw error;
  }
}

/** LastChangedDate earlier than this before the rotation started cannot be the move. */
const PLAUSIBLE_CLOCK_SKEW_MS = 15 * 60_000;

async function waitForAwsCurrent(
  target: SecretTarget,
  versionId: string,
  startedAt: Date,
  options: RotateOptions,
  deps: RotateDependencies,
): Promise<Date> {
  const { clients, output, clock } = deps;
  let notMovedAt = startedAt; // start of the last poll that did not show the move
  let seenPending = false;
  const fail: (why: string, described?: DescribeSecretCommandOutput) => never = (
    why,
    described,
  ) => {
    output.endProgress();
    throw new RotationFailedError(
      `Rotation of ${target.name} failed: ${why}. ${rotationLogHint(described)}`,
    );
  };
  for (;;) {
    const pollStartedAt = clock.now();
    const described = await describeSecret(clients.secretsManager, target.arn);
    if (described === undefined) fail('the secret was deleted');
    const stages = described.VersionIdsToStages ?? {};
    const labels = stages[versionId];
    if (labels?.includes(AWSCURRENT)) {
      output.endProgress();
      const changed = described.LastChangedDate;
      const plausible =
        changed !== undefined && changed.getTime() >= startedAt.getTime() - PLAUSIBLE_CLOCK_SKEW_MS;
      return plausible && changed < notMovedAt ? changed : notMovedAt;
    }
    if (described.DeletedDate !== undefined)
      fail('the secret was scheduled for deletion', described);
    if (labels?.includes(AWSPENDING)) {
      seenPending = true;
    } else if (seenPending) {
      fail(
        labels === undefined
          ? `version ${versionId} disappeared without becoming AWSCURRENT`
          : `version ${versionId} lost AWSPENDING without becoming AWSCURRENT ` +
              `(its labels: ${labels.join(', ') || 'none'})`,
        described,
      );
    }
    notMovedAt = pollStartedAt;
    const elapsed = clock.now().getTime() - startedAt.getTime();
    if (elapsed >= options.rotationTimeoutMs) {
      fail(
        `AWSCURRENT did not move to version ${versionId} within ` +
          `${formatDuration(options.rotationTimeoutMs)} (the version is ` +
          `${labels === undefined ? 'not created yet' : `labelled ${labels.join(', ') || 'nothing'}`}). ` +
          'Until AWSPENDING is cleared, Secrets Manager starts no other rotation of this secret',
        described,
      );
    }
    output.progress(
      `Waiting for AWSCURRENT to move to the new version (${formatDuration(elapsed)}; ` +
        `${labels === undefined ? 'version not created yet' : `version labelled ${labels.join(', ') || 'nothing'}`})`,
    );
    await clock.sleep(options.intervalMs);
  }
}

function rotationLogHint(described: DescribeSecretCommandOutput | undefined): string {
  const fn = described?.RotationLambdaARN;
  const name = fn === undefined ? undefined : parseArn(fn)?.resource.split(':')[1];
  if (name !== undefined) {
    return `See the rotation function's logs: log group /aws/lambda/${name}.`;
  }
  return "See the secret's rotation status in the Secrets Manager console.";
}

// ---------------------------------------------------------------------------------------------
// Waiting for the services
// ---------------------------------------------------------------------------------------------

/** Where a service stands relative to the change. */
export type ServiceState =
  | { readonly kind: 'not-redeployed' }
  | { readonly kind: 'rolling-out'; readonly detail: string }
  | { readonly kind: 'stable'; readonly detail: string }
  | { readonly kind: 'failed'; readonly detail: string }
  | { readonly kind: 'gone'; readonly detail: string };

/**
 * Stable: its PRIMARY deployment was created at or after `since` and has rolloutState COMPLETED
 * (or, when ECS reports no rolloutState, it is the only deployment and runs its desired count).
 * Failed: a deployment created since the change has rolloutState FAILED (a circuit-breaker
 * rollback leaves the failed deployment ACTIVE beside the rollback).
 */
export function assessService(service: Service | undefined, since: Date): ServiceState {
  if (service === undefined) return { kind: 'gone', detail: 'service no longer exists' };
  if ((service.status ?? 'ACTIVE') !== 'ACTIVE') {
    return { kind: 'gone', detail: `service is ${service.status ?? '?'}` };
  }
  const deployments = service.deployments ?? [];
  const fresh = (d: Deployment): boolean =>
    d.createdAt !== undefined && d.createdAt.getTime() >= since.getTime();
  const failed = deployments.find((d) => fresh(d) && d.rolloutState === 'FAILED');
  if (failed !== undefined) {
    return {
      kind: 'failed',
      detail: `deployment ${failed.id ?? '?'} FAILED: ${failed.rolloutStateReason ?? 'no reason given'}`,
    };
  }
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  if (primary === undefined || !fresh(primary)) return { kind: 'not-redeployed' };
  const tasks = `${primary.runningCount ?? 0}/${primary.desiredCount ?? 0} tasks running`;
  if (primary.rolloutState === 'COMPLETED') {
    return { kind: 'stable', detail: `deployment ${primary.id ?? '?'} COMPLETED (${tasks})` };
  }
  if (
    primary.rolloutState === undefined &&
    deployments.length === 1 &&
    primary.runningCount === primary.desiredCount
  ) {
    return { kind: 'stable', detail: `deployment ${primary.id ?? '?'} steady (${tasks})` };
  }
  return {
    kind: 'rolling-out',
    detail: `deployment ${primary.id ?? '?'} ${primary.rolloutState ?? 'in progress'} (${tasks})`,
  };
}

export type ResultKind = 'succeeded' | 'failed' | 'needs-action' | 'skipped';

export interface ServiceResult {
  readonly service: string;
  readonly name: string;
  readonly cluster: string;
  readonly result: ResultKind;
  readonly detail: string;
}

interface Watched {
  readonly arn: string;
  readonly name: string;
  readonly cluster: string;
  readonly clusterArn: string;
  state: ServiceState;
}

const FINAL = new Set<ServiceState['kind']>(['stable', 'failed', 'gone']);

async function waitForServices(
  plan: ChangePlan,
  since: Date,
  stack: StackLookup,
  options: RotateOptions,
  deps: RotateDependencies,
): Promise<ServiceResult[]> {
  const { clients, output, clock } = deps;
  const results: ServiceResult[] = [];
  const watched: Watched[] = [];
  for (const row of plan.rows) {
    const described = plan.services.get(row.service);
    const base = { service: row.service, name: row.name, cluster: row.cluster };
    if (row.outcome === 'needs-action') {
      results.push({ ...base, result: 'needs-action', detail: row.reason ?? '' });
    } else if (
      row.outcome === 'redeploy' ||
      (row.outcome === 'skip' && (described?.status ?? 'ACTIVE') === 'ACTIVE')
    ) {
      // `skip` of an ACTIVE service: already deployed after the change; check it too.
      watched.push({
        arn: row.service,
        name: row.name,
        cluster: row.cluster,
        clusterArn: described?.clusterArn ?? row.cluster,
        state: { kind: 'not-redeployed' },
      });
    } else {
      results.push({ ...base, result: 'skipped', detail: row.reason ?? '' });
    }
  }
  const referencing = plan.rows.length;
  output.line(
    `${plural(referencing, 'service')} of ${plan.report.servicesScanned} scanned reference ` +
      `the secret; waiting for ${plural(watched.length, 'service')} to be redeployed and stable ` +
      `(timeout ${formatDuration(options.deployTimeoutMs)}).`,
  );
  if (watched.length === 0) return results;

  const startedAt = clock.now();
  let lastError: string | undefined;
  for (;;) {
    lastError = await pollServices(
      watched.filter((w) => !FINAL.has(w.state.kind)),
      since,
      clients.ecs,
      (service) => {
        output.line(`  ${service.name} (${service.cluster}): ${stateText(service.state)}`);
      },
    );
    const open = watched.filter((w) => !FINAL.has(w.state.kind));
    const elapsed = clock.now().getTime() - startedAt.getTime();
    if (open.length === 0 || elapsed >= options.deployTimeoutMs) break;
    output.progress(progressText(watched, elapsed, lastError));
    await clock.sleep(options.intervalMs);
  }
  output.endProgress();

  let notRedeployed = 0;
  for (const service of watched) {
    const base = { service: service.arn, name: service.name, cluster: service.cluster };
    const { state } = service;
    switch (state.kind) {
      case 'stable':
        results.push({ ...base, result: 'succeeded', detail: state.detail });
        break;
      case 'failed':
        results.push({ ...base, result: 'failed', detail: state.detail });
        break;
      case 'gone':
        results.push({ ...base, result: 'skipped', detail: state.detail });
        break;
      case 'rolling-out':
        results.push({
          ...base,
          result: 'failed',
          detail: `redeployed, but not stable within ${formatDuration(options.deployTimeoutMs)}: ${state.detail}`,
        });
        break;
      case 'not-redeployed':
        notRedeployed += 1;
        results.push({
          ...base,
          result: 'failed',
          detail: `not redeployed within ${formatDuration(options.deployTimeoutMs)}`,
        });
        break;
    }
  }
  if (notRedeployed > 0) {
    output.warn(
      `${plural(notRedeployed, 'service was', 'services were')} not redeployed: the redeployer ` +
        `may not be deployed in ${options.region}, may run in dry-run mode, or may be failing. ` +
        `${await redeployerLogHint(stack)} Events it could not handle ` +
        'wait in its dead-letter queue: see `ecs-redeployer redrive --list`.',
    );
  }
  return results;
}

/**
 * One round of DescribeServices for the open services. Calls `settled` for each service that
 * reaches a final state. Returns the error of a failed call (not fatal: the next poll retries).
 */
async function pollServices(
  open: readonly Watched[],
  since: Date,
  ecs: EcsLike,
  settled: (service: Watched) => void,
): Promise<string | undefined> {
  const byCluster = new Map<string, Watched[]>();
  for (const service of open) {
    byCluster.set(service.clusterArn, [...(byCluster.get(service.clusterArn) ?? []), service]);
  }
  let lastError: string | undefined;
  for (const [cluster, services] of byCluster) {
    for (let i = 0; i < services.length; i += 10) {
      const batch = services.slice(i, i + 10);
      try {
        const { services: described = [] } = await awsCall('ecs:DescribeServices', () =>
          ecs.send(new DescribeServicesCommand({ cluster, services: batch.map((s) => s.arn) })),
        );
        for (const service of batch) {
          const found = described.find((d) => d.serviceArn === service.arn);
          service.state = assessService(found, since);
          if (FINAL.has(service.state.kind)) settled(service);
        }
      } catch (error) {
        if (isFatal(error)) throw error;
        lastError = describeError(error).message;
      }
    }
  }
  return lastError;
}

function stateText(state: ServiceState): string {
  switch (state.kind) {
    case 'not-redeployed':
      return 'not redeployed yet';
    case 'stable':
      return `stable, ${state.detail}`;
    case 'rolling-out':
      return `rolling out, ${state.detail}`;
    case 'failed':
      return `FAILED, ${state.detail}`;
    case 'gone':
      return `skipped, ${state.detail}`;
  }
}

function progressText(watched: readonly Watched[], elapsedMs: number, error?: string): string {
  const count = (kind: ServiceState['kind']): number =>
    watched.filter((w) => w.state.kind === kind).length;
  const parts = [
    `${count('stable')} stable`,
    `${count('rolling-out')} rolling out`,
    `${count('not-redeployed')} not redeployed yet`,
  ];
  if (count('failed') > 0) parts.push(`${count('failed')} failed`);
  return (
    `Waiting for ${plural(watched.length, 'service')} (${formatDuration(elapsedMs)}): ` +
    parts.join(', ') +
    (error === undefined ? '' : ` [last poll failed: ${error}]`)
  );
}

async function redeployerLogHint(stack: StackLookup): Promise<string> {
  // Only a hint: a stack that cannot be read gives the generic one.
  const lookup = await stack.lookup();
  const name = lookup.ok ? lookup.outputs[OUTPUTS.functionName] : undefined;
  if (name !== undefined) return `See its logs: log group /aws/lambda/${name}.`;
  return `See its logs: log group /aws/lambda/<the ${OUTPUTS.functionName} output of stack ${stack.name}>.`;
}

function report(
  target: SecretTarget,
  plan: ChangePlan,
  results: readonly ServiceResult[],
  output: Output,
): number {
  const sorted = [...results].sort(
    (a, b) => a.cluster.localeCompare(b.cluster) || a.name.localeCompare(b.name),
  );
  if (sorted.length > 0) {
    output.line();
    for (const line of table(
      ['SERVICE', 'CLUSTER', 'RESULT', 'DETAIL'],
      sorted.map((r) => [r.name, r.cluster, r.result.replace('-', ' '), r.detail]),
    )) {
      output.line(line);
    }
  }
  const count = (kind: ResultKind): number => results.filter((r) => r.result === kind).length;
  const failures = failureLines(plan);
  if (failures.length > 0) {
    output.warn('Could not read everything, so some services may not have been checked:');
    for (const line of failures) output.warn(line);
  }
  const failed = count('failed') > 0 || failures.length > 0;
  output.line();
  output.line(
    `Rotation of ${target.name}: AWSCURRENT moved; ` +
      `${count('succeeded')} redeployed and stable, ${count('failed')} failed, ` +
      `${count('needs-action')} needing action, ${count('skipped')} skipped.` +
      (failed ? ' FAILED.' : ''),
  );
  if (count('needs-action') > 0) {
    output.warn(
      'Services that need action keep running tasks with the previous value until you deploy them.',
    );
  }
  return failed ? EXIT_FAILURE : EXIT_OK;
}

// ---------------------------------------------------------------------------------------------
// Following the redeployer's rollout (rollouts on)
// ---------------------------------------------------------------------------------------------

/**
 * Waits for the rollout of the change to appear, then until it is no longer OPEN (or, with
 * --clusters, until every service in those clusters reached an end), within --deploy-timeout from
 * the move; reports each service from its record. Exit 1 unless every service COMPLETED or was
 * SKIPPED and the rollout ended in time.
 */
async function followRollout(
  target: SecretTarget,
  versionId: string,
  rollouts: RolloutReader,
  stack: StackLookup,
  options: RotateOptions,
  deps: RotateDependencies,
): Promise<number> {
  const { output, clock } = deps;
  const startedAt = clock.now();
  const elapsed = (): number => clock.now().getTime() - startedAt.getTime();
  const timeout = formatDuration(options.deployTimeoutMs);
  /** A failed read is retried at the next poll, unless it will fail every time. */
  const retry = async <T>(read: () => Promise<T>): Promise<{ value?: T; error?: string }> => {
    try {
      return { value: await read() };
    } catch (error) {
      if (error instanceof CliError || isFatal(error)) throw error;
      return { error: describeError(error).message };
    }
  };
  const failedPoll = (error: string | undefined): string =>
    error === undefined ? '' : ` [last poll failed: ${error}]`;

  output.line(
    `Following the redeployer's rollout of the change in table ${rollouts.tableName} ` +
      `(timeout ${timeout}).`,
  );
  const isOurs = (change: ChangeSummary): boolean =>
    change.type === 'secret' &&
    sameSecretArn(change.arn, target.arn) &&
    change.label === AWSCURRENT &&
    change.version === versionId;
  let rollout: RolloutRecord | undefined;
  for (;;) {
    const found = await retry(() => rollouts.newest(isOurs));
    rollout = found.value;
    if (rollout !== undefined || elapsed() >= options.deployTimeoutMs) break;
    output.progress(
      `Waiting for the redeployer to open the rollout of version ${versionId} ` +
        `(${formatDuration(elapsed())})${failedPoll(found.error)}`,
    );
    await clock.sleep(options.intervalMs);
  }
  output.endProgress();
  if (rollout === undefined) {
    output.warn(
      `The redeployer opened no rollout for version ${versionId} within ${timeout}: it may ` +
        `not be deployed in ${options.region}, may run in dry-run mode, or may be failing. ` +
        `${await redeployerLogHint(stack)} Events it could not handle wait in its dead-letter ` +
        'queue: see `ecs-redeployer redrive --list`.',
    );
    output.line();
    output.line(
      `Rotation of ${target.name}: AWSCURRENT moved; no rollout of the change was recorded. FAILED.`,
    );
    return EXIT_FAILURE;
  }
  const { rolloutId } = rollout;
  output.line(
    `Rollout ${rolloutId} opened by the redeployer` +
      (rollout.engine === undefined ? '' : ` (engine execution ${rollout.engine.name})`) +
      '.',
  );

  const selected = (records: readonly ServiceRecord[]): ServiceRecord[] =>
    options.clusters.length === 0
      ? [...records]
      : records.filter((r) =>
          options.clusters.some((c) => c === r.clusterArn || c === shortName(r.clusterArn)),
        );
  let services: ServiceRecord[] = [];
  const settled = new Set<string>();
  let shown: string | undefined;
  let done = false;
  for (;;) {
    const read = await retry(async () => ({
      rollout: await rollouts.rollout(rolloutId),
      services: await rollouts.services(rolloutId),
    }));
    if (read.value !== undefined) {
      rollout = read.value.rollout ?? rollout;
      services = selected(read.value.services);
    }
    for (const record of services) {
      if (!isSettled(record) || settled.has(record.serviceArn)) continue;
      settled.add(record.serviceArn);
      const reason = reasonText(record);
      output.line(
        `  ${serviceLabel(record)}: ${record.state}${reason === '' ? '' : `, ${reason}`}`,
      );
    }
    done =
      rollout.status !== 'OPEN' ||
      (options.clusters.length > 0 && services.length > 0 && services.every(isSettled));
    // A halted rollout waits for a person: waiting longer here changes nothing.
    if (done || rollout.halted !== undefined || elapsed() >= options.deployTimeoutMs) break;
    const progress = `Rollout ${rolloutId}: ${countsText(services)}${failedPoll(read.error)}`;
    if (progress !== shown) {
      output.progress(`${progress} (${formatDuration(elapsed())})`);
      shown = progress;
    }
    await clock.sleep(options.intervalMs);
  }
  output.endProgress();
  return reportRollout(target, rollout, services, done, options, output, clock.now());
}

/** A service's record as a result: only COMPLETED succeeded, SKIPPED is skipped. */
function rolloutResult(
  record: ServiceRecord,
  rollout: RolloutRecord,
  done: boolean,
  options: RotateOptions,
  now: Date,
): ServiceResult {
  const base = {
    service: record.serviceArn,
    name: shortName(record.serviceArn),
    cluster: shortName(record.clusterArn),
  };
  const reason = reasonText(record);
  const deployment = record.deploymentId === undefined ? '' : `deployment ${record.deploymentId} `;
  switch (record.state) {
    case 'COMPLETED': {
      const ms = deploymentMs(record, now);
      return {
        ...base,
        result: 'succeeded',
        detail: `${deployment}COMPLETED${ms === undefined ? '' : ` in ${formatDuration(ms)}`}`,
      };
    }
    case 'SKIPPED':
      return { ...base, result: 'skipped', detail: reason || 'skipped' };
    case 'NEEDS_ACTION':
      return { ...base, result: 'needs-action', detail: reason || 'needs action' };
    case 'FAILED':
    case 'ROLLED_BACK':
    case 'STUCK':
      return {
        ...base,
        result: 'failed',
        detail: `${deployment}${record.state}: ${reason || 'no reason recorded'}`,
      };
    default: {
      const why = done
        ? `left ${record.state} when the rollout ended (${rollout.status})`
        : rollout.halted !== undefined
          ? `held back: the rollout halted (${record.state}, wave ${record.wave ?? 1})`
          : `not finished within ${formatDuration(options.deployTimeoutMs)}: ${record.state}`;
      return { ...base, result: 'failed', detail: `${why}${reason === '' ? '' : `, ${reason}`}` };
    }
  }
}

function reportRollout(
  target: SecretTarget,
  rollout: RolloutRecord,
  services: readonly ServiceRecord[],
  done: boolean,
  options: RotateOptions,
  output: Output,
  now: Date,
): number {
  const results = services
    .map((record) => rolloutResult(record, rollout, done, options, now))
    .sort((a, b) => a.cluster.localeCompare(b.cluster) || a.name.localeCompare(b.name));
  output.line();
  if (results.length === 0) {
    output.line('No service references the secret.');
  } else {
    for (const line of table(
      ['SERVICE', 'CLUSTER', 'RESULT', 'DETAIL'],
      results.map((r) => [r.name, r.cluster, r.result.replace('-', ' '), r.detail]),
    )) {
      output.line(line);
    }
  }
  const count = (kind: ResultKind): number => results.filter((r) => r.result === kind).length;
  const failed = !done || results.some((r) => r.result === 'failed' || r.result === 'needs-action');
  if (!done && rollout.halted !== undefined) {
    output.warn(
      `Rollout ${rollout.rolloutId} HALTED in wave ${rollout.halted.wave}: ` +
        `${rollout.halted.reason}. Nothing more is deployed until you fix the cause and run ` +
        `\`ecs-redeployer resume ${rollout.rolloutId}\`, or stop it with ` +
        `\`ecs-redeployer abort ${rollout.rolloutId}\`.`,
    );
  } else if (!done) {
    output.warn(
      `Rollout ${rollout.rolloutId} is still ${rollout.status} after ` +
        `${formatDuration(options.deployTimeoutMs)}. The redeployer goes on with it; follow it ` +
        `with \`ecs-redeployer status ${rollout.rolloutId}\`.`,
    );
  }
  output.line();
  output.line(
    `Rotation of ${target.name}: AWSCURRENT moved; rollout ${rollout.rolloutId} ` +
      `${rollout.status}; ${count('succeeded')} redeployed and stable, ${count('failed')} ` +
      `failed, ${count('needs-action')} needing action, ${count('skipped')} skipped.` +
      (failed ? ' FAILED.' : ''),
  );
  output.line(`Details: ecs-redeployer status ${rollout.rolloutId}`);
  if (count('needs-action') > 0) {
    output.warn(
      'Services that need action keep running tasks with the previous value until you deploy them.',
    );
  }
  return failed ? EXIT_FAILURE : EXIT_OK;
}
