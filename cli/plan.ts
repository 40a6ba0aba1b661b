/**
 * `plan <secret-or-parameter>`: which services reference it and what a change would do to each.
 * Runs the function's own `applyChange` in dry-run mode through a read-only ECS client, so it
 * shares every decision with the function and can change nothing.
 */
import type { Service } from '@aws-sdk/client-ecs';
import { ListTagsForResourceCommand } from '@aws-sdk/client-ssm';
import type { Scope } from '../functions/redeploy/arn.js';
import {
  AWSCURRENT,
  type Change,
  type ParameterChange,
  type SecretChange,
  describeChange,
  stagesMovedBy,
} from '../functions/redeploy/change.js';
import { type RedeployerConfig, type WaveSize, loadConfig } from '../functions/redeploy/config.js';
import {
  type ChangeReport,
  type FailureEntry,
  applyChange,
} from '../functions/redeploy/process.js';
import { TaskDefinitionReader } from '../functions/redeploy/task-definitions.js';
import { type HoldHint, WAVES_TAG, wavesTag } from '../functions/rollout/waves.js';
import { type EcsLike, ReadOnlyEcs, type SecretsManagerLike, type SsmLike } from './aws.js';
import {
  type AwsCallError,
  EXIT_FAILURE,
  EXIT_OK,
  UsageError,
  accessDeniedMessage,
  isAccessDenied,
} from './errors.js';
import { type Output, plural, shortName, table } from './output.js';
import { type ParameterTarget, type SecretTarget, type Target, resolveTargets } from './targets.js';

/** The CLI's changes carry this instead of an EventBridge event id. */
export const CLI_EVENT_ID = 'ecs-redeployer-cli';

export type PlanOutcome = 'redeploy' | 'skip' | 'needs-action' | 'still-referenced';

/** One service that references the change, and what the function would do with it. */
export interface PlanRow {
  readonly service: string;
  readonly name: string;
  readonly cluster: string;
  readonly outcome: PlanOutcome;
  readonly reason?: string;
}

export interface ChangePlan {
  readonly change: Change;
  readonly report: ChangeReport;
  /** Referencing services, sorted by cluster then name. */
  readonly rows: readonly PlanRow[];
  /** Every service described during the scan, by ARN, as ECS returned it. */
  readonly services: ReadonlyMap<string, Service>;
  /** What could not be read: the plan may be incomplete. */
  readonly failures: readonly FailureEntry[];
  /** Access-denied errors met during the scan, with their IAM action. */
  readonly denied: readonly AwsCallError[];
}

/** A change of a secret's `stage` (default AWSCURRENT) at `time`; a deleted secret is a warning. */
export function secretChange(
  target: SecretTarget,
  time: Date,
  trigger: string,
  stage: string = AWSCURRENT,
): SecretChange {
  return {
    kind: 'secret',
    eventId: CLI_EVENT_ID,
    time,
    trigger,
    action: target.deletedDate === undefined ? 'redeploy' : 'warn',
    secret: target.id,
    stages: target.deletedDate === undefined ? stagesMovedBy([stage]) : [],
  };
}

export function parameterChange(
  target: ParameterTarget,
  time: Date,
  trigger: string,
): ParameterChange {
  return {
    kind: 'parameter',
    eventId: CLI_EVENT_ID,
    time,
    trigger,
    action: 'redeploy',
    parameter: target.id,
  };
}

/**
 * Finds the services `change` affects and decides for each, exactly as the function would, but
 * in dry-run mode and through a client that refuses every mutating call.
 */
export async function planChange(
  change: Change,
  ecs: EcsLike,
  clusters: readonly string[],
  waves?: WavesOption,
): Promise<ChangePlan> {
  const readOnly = new ReadOnlyEcs(ecs);
  // The function's defaults, in dry run, with no brakes: the plan shows every affected service.
  const config: RedeployerConfig = {
    ...loadConfig({}),
    clusters,
    dryRun: true,
    concurrency: 1,
    maxDeploymentsInProgress: 0,
    ...(waves && { waves: waves.sizes, wavesFor: waves.appliesTo }),
  };
  const id = change.kind === 'secret' ? change.secret : change.parameter;
  const home: Scope = { partition: id.partition, region: id.region, account: id.account };
  const report = await applyChange(change, {
    ecs: readOnly.client,
    secretsManager: unusedSecretsManager,
    config,
    home,
    taskDefinitions: new TaskDefinitionReader(),
    ...(waves?.hint && { holdHint: waves.hint }),
  });

  const row = (service: string, outcome: PlanOutcome, reason?: string): PlanRow => {
    const described = readOnly.services.get(service);
    const cluster = described?.clusterArn ?? clusterFromServiceArn(service);
    return {
      service,
      name: described?.serviceName ?? shortName(service),
      cluster: cluster === undefined ? '?' : shortName(cluster),
      outcome,
      ...(reason !== undefined && { reason }),
    };
  };
  const rows = [
    ...report.redeployed.map((service) => row(service, 'redeploy')),
    ...report.skipped.map((entry) => row(entry.service, 'skip', entry.reason)),
    ...report.needsAction.map((entry) => row(entry.service, 'needs-action', entry.reason)),
    ...report.stillReferenced.map((entry) => row(entry.service, 'still-referenced', entry.reason)),
  ].sort((a, b) => a.cluster.localeCompare(b.cluster) || a.name.localeCompare(b.name));

  return {
    change,
    report,
    rows,
    services: readOnly.services,
    failures: report.failed,
    denied: readOnly.errors.filter((error) => isAccessDenied(error)),
  };
}

/** The waves the plan shows: the deployment's sizes and policy, what the target says. */
export interface WavesOption {
  readonly sizes: readonly WaveSize[];
  readonly appliesTo: 'all' | 'tagged';
  readonly hint?: HoldHint;
}

/** The construct's default waves (infra/waves.ts DEFAULT_WAVES). */
export const DEFAULT_PLAN_WAVES = { text: '1,10%,50%', appliesTo: 'tagged' } as const;

/** `--waves 1,10%,50%` (or `off`), read with the function's own rules. */
export function parseWaves(value: string | undefined): readonly WaveSize[] {
  try {
    return loadConfig({ WAVES: value ?? DEFAULT_PLAN_WAVES.text }).waves;
  } catch (error) {
    throw new UsageError(`--waves: ${(error as Error).message.replace(/^WAVES: /, '')}`);
  }
}

/** `applyChange` never resolves secrets (the change is already resolved); fail loudly if it did. */
const unusedSecretsManager: SecretsManagerLike = {
  send: () => Promise.reject(new Error('applyChange made an unexpected Secrets Manager call')),
};

/** `arn:…:service/CLUSTER/NAME` (the long ARN format) names its cluster. */
function clusterFromServiceArn(arn: string): string | undefined {
  const parts = arn.split(':').slice(5).join(':').split('/');
  return parts.length === 3 ? parts[1] : undefined;
}

/** "redeploy", "skip: reason", "needs action: reason", "still referenced: reason". */
export function describeOutcome(row: PlanRow): string {
  const label = row.outcome.replace('-', ' ');
  return row.reason === undefined ? label : `${label}: ${row.reason}`;
}

/** The failures and access-denied messages of a plan, one line each. */
export function failureLines(plan: ChangePlan): string[] {
  const lines = plan.failures.map((failure) => `  ${failure.target}: ${failure.error}`);
  const actions = new Set<string>();
  for (const error of plan.denied) {
    if (actions.has(error.action)) continue;
    actions.add(error.action);
    lines.push(`  ${accessDeniedMessage(error, error.action)}`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------

export interface PlanOptions {
  /** A secret name or ARN, or a parameter name or ARN. */
  readonly target: string;
  /** Cluster names or ARNs; empty: every cluster. */
  readonly clusters: readonly string[];
  /** The staging label that would move (secrets only). @default AWSCURRENT */
  readonly stage?: string;
  /** Print JSON instead of tables. */
  readonly json: boolean;
  readonly region: string;
  /** Wave sizes to plan with (empty: no waves). @default the construct's 1, 10%, 50% */
  readonly waves?: readonly WaveSize[];
  /** Which changes go in waves. @default 'tagged' (the construct's default) */
  readonly wavesFor?: 'all' | 'tagged';
}

export interface PlanDependencies {
  readonly clients: {
    readonly secretsManager: SecretsManagerLike;
    readonly ssm: SsmLike;
    readonly ecs: EcsLike;
  };
  readonly output: Output;
  readonly now?: () => Date;
}

/** Runs `plan`. Returns the exit code: 0, or 1 when the scan could not read everything. */
export async function plan(options: PlanOptions, deps: PlanDependencies): Promise<number> {
  const { output, clients } = deps;
  const stage = options.stage ?? AWSCURRENT;
  if (stagesMovedBy([stage]).length === 0) {
    throw new UsageError(
      `--stage ${stage}: no running task reads that label, so a change of it redeploys nothing`,
    );
  }
  const targets = await resolveTargets(options.target, clients, options.region, output);
  if (targets.length > 1) {
    output.warn(`${options.target} is both a secret and a parameter: planning both.`);
  }
  const now = (deps.now ?? (() => new Date()))();
  const plans: { target: Target; plan: ChangePlan }[] = [];
  for (const target of targets) {
    if (target.kind === 'parameter' && options.stage !== undefined) {
      output.warn(`--stage applies to secrets only; ignored for parameter ${target.name}.`);
    }
    if (target.kind === 'secret' && target.deletedDate === undefined && stage !== AWSCURRENT) {
      const labels = Object.values(target.versionIdsToStages).flat();
      if (!labels.includes(stage)) {
        output.warn(`Note: no version of ${target.name} has the label ${stage} right now.`);
      }
    }
    const change =
      target.kind === 'secret'
        ? secretChange(target, now, `plan (${stage})`, stage)
        : parameterChange(target, now, 'plan (Update)');
    const appliesTo = options.wavesFor ?? DEFAULT_PLAN_WAVES.appliesTo;
    const sizes = options.waves ?? parseWaves(undefined);
    const hint =
      target.kind === 'secret'
        ? target.hint
        : sizes.length > 0 && appliesTo === 'tagged'
          ? await parameterHint(clients.ssm, target.name, output)
          : undefined;
    const waves: WavesOption = { sizes, appliesTo, ...(hint && { hint }) };
    plans.push({ target, plan: await planChange(change, clients.ecs, options.clusters, waves) });
  }

  const incomplete = plans.some(({ plan: p }) => p.failures.length > 0 || p.denied.length > 0);
  if (options.json) {
    output.line(JSON.stringify(planJson(options.region, plans), null, 2));
  } else {
    plans.forEach(({ target, plan: p }, index) => {
      if (index > 0) output.line();
      printPlan(target, p, stage, output);
    });
  }
  return incomplete ? EXIT_FAILURE : EXIT_OK;
}

function printPlan(target: Target, plan: ChangePlan, stage: string, output: Output): void {
  const { change, report, rows } = plan;
  output.line(
    `${target.kind === 'secret' ? 'Secret' : 'Parameter'} ${target.name} (${target.arn})`,
  );
  if (target.kind === 'secret' && target.deletedDate !== undefined) {
    output.line(
      `It is scheduled for deletion (since ${target.deletedDate.toISOString()}): ` +
        'services that still reference it will fail to start new tasks once it is gone.',
    );
  } else if (change.kind === 'secret') {
    output.line(`If ${stage} moved (references to ${change.stages.join(', ')} would change):`);
  } else {
    output.line('If its value changed (Create or Update):');
  }
  output.line();
  if (rows.length === 0) {
    output.line('No service references it.');
  } else {
    for (const line of table(
      ['SERVICE', 'CLUSTER', 'WHAT WOULD HAPPEN'],
      rows.map((row) => [row.name, row.cluster, describeOutcome(row)]),
    )) {
      output.line(line);
    }
  }
  printWaves(plan, output);
  output.line();
  output.line(
    `${plural(rows.length, 'service')} of ${report.servicesScanned} scanned ` +
      `(${plural(report.clustersScanned, 'cluster')}) reference it. ` +
      'Plan only: nothing was changed.',
  );
  const failures = failureLines(plan);
  if (failures.length > 0) {
    output.warn('Could not read everything, so the plan may be incomplete:');
    for (const line of failures) output.warn(line);
  }
}

/** The wave plan of the services to redeploy, as the rollout would deploy them. */
function printWaves(plan: ChangePlan, output: Output): void {
  const preview = plan.report.waves;
  if (preview === undefined || plan.report.redeployed.length === 0) return;
  const name = (arn: string): string => {
    const row = plan.rows.find((r) => r.service === arn);
    return row === undefined ? shortName(arn) : `${row.cluster}/${row.name}`;
  };
  output.line();
  if (!preview.applies) {
    output.line(`Waves: not for this change (${preview.why}): every service at once.`);
    return;
  }
  output.line(`Waves (${preview.why}): each starts once the one before completed.`);
  preview.waves.forEach((wave, i) => {
    output.line(
      `  ${i === 0 ? 'canary' : `wave ${i + 1}`} (${plural(wave.length, 'service')}): ` +
        wave.map(name).join(', '),
    );
  });
}

/** A parameter's waves tag; unreadable (no ssm:ListTagsForResource), the policy decides. */
async function parameterHint(
  ssm: SsmLike,
  name: string,
  output: Output,
): Promise<HoldHint | undefined> {
  try {
    const { TagList = [] } = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }),
    );
    const tag = wavesTag(TagList.find((t) => t.Key === WAVES_TAG)?.Value);
    return tag === undefined ? {} : { tag };
  } catch (error) {
    output.warn(
      `Note: could not read the tags of ${name} (${(error as Error).name}): the wave plan ` +
        'assumes it is not tagged secret-redeployer:waves.',
    );
    return undefined;
  }
}

function planJson(
  region: string,
  plans: readonly { target: Target; plan: ChangePlan }[],
): Record<string, unknown> {
  return {
    region,
    dryRun: true,
    plans: plans.map(({ target, plan: p }) => ({
      target: { kind: target.kind, name: target.name, arn: target.arn },
      change: describeChange(p.change),
      services: p.rows,
      ...(p.report.waves !== undefined && { waves: p.report.waves }),
      servicesScanned: p.report.servicesScanned,
      clustersScanned: p.report.clustersScanned,
      failed: [
        ...p.failures,
        ...p.denied.map((error) => ({ target: error.action, error: accessDeniedMessage(error) })),
      ],
    })),
  };
}
