/**
 * From one EventBridge event to one report: interpret, resolve, discover, decide, redeploy.
 * Takes every client and collaborator as a parameter so tests and the CLI can supply their own.
 */
import { type Scope, scopeOfArn } from './arn.js';
import { type Change, describeChange, isAffected } from './change.js';
import type { RedeployerConfig } from './config.js';
import {
  type DiscoveryFailure,
  type ServiceDirectory,
  type ServiceSummary,
  discoverServices,
} from './discovery.js';
import { errorMessage } from './errors.js';
import { interpret, parseEnvelope } from './events.js';
import { createLimiter } from './limit.js';
import { RecentDeployments, decide, forceNewDeployment } from './redeploy.js';
import { type SecretsManagerLike, resolveSecretChange } from './secrets.js';
import { type EcsLike, TaskDefinitionReader } from './task-definitions.js';

export interface Dependencies {
  readonly ecs: EcsLike;
  readonly secretsManager: SecretsManagerLike;
  readonly config: RedeployerConfig;
  /** The function's own partition, Region and account. */
  readonly home: Scope;
  readonly taskDefinitions: TaskDefinitionReader;
  /** Deployments started by earlier invocations of this execution environment. */
  readonly recentDeployments?: RecentDeployments;
  /** Services listed by earlier invocations of this execution environment. */
  readonly serviceDirectory?: ServiceDirectory;
}

export interface ServiceEntry {
  readonly service: string;
  readonly reason: string;
}

export interface FailureEntry {
  readonly target: string;
  readonly error: string;
}

export interface ChangeReport {
  readonly outcome: 'handled';
  readonly change: Record<string, unknown>;
  readonly dryRun: boolean;
  /** Services force-deployed (in dry run: that would have been). */
  readonly redeployed: readonly string[];
  readonly skipped: readonly ServiceEntry[];
  /** Services that reference the change but cannot be force-deployed by UpdateService. */
  readonly needsAction: readonly ServiceEntry[];
  /** Services that still reference a deleted secret or parameter. */
  readonly stillReferenced: readonly ServiceEntry[];
  readonly failed: readonly FailureEntry[];
  readonly clustersScanned: number;
  readonly servicesScanned: number;
}

export interface IgnoredReport {
  readonly outcome: 'ignored';
  readonly reason: string;
  /** Set when the event was at least a well-formed EventBridge event. */
  readonly event?: { readonly id: string; readonly source: string; readonly detailType: string };
}

export type Report = ChangeReport | IgnoredReport;

/** Handles one event. Throws only for failures a retry can fix (AWS errors resolving the secret). */
export async function processEvent(event: unknown, deps: Dependencies): Promise<Report> {
  const envelope = parseEnvelope(event);
  if (typeof envelope === 'string') return { outcome: 'ignored', reason: envelope };
  const eventInfo = { id: envelope.id, source: envelope.source, detailType: envelope.detailType };

  const interpretation = interpret(envelope, deps.home.partition);
  if (interpretation.kind === 'ignored') {
    return { outcome: 'ignored', reason: interpretation.reason, event: eventInfo };
  }
  let change: Change;
  if (interpretation.change.kind === 'secret') {
    const resolved = await resolveSecretChange(
      interpretation.change,
      deps.secretsManager,
      deps.home,
    );
    if (resolved.kind === 'ignored') {
      return { outcome: 'ignored', reason: resolved.reason, event: eventInfo };
    }
    change = resolved.change;
  } else {
    change = interpretation.change;
  }

  const filtered = outsidePrefixes(change, deps.config);
  if (filtered !== undefined) return { outcome: 'ignored', reason: filtered, event: eventInfo };
  return applyChange(change, deps);
}

function outsidePrefixes(change: Change, config: RedeployerConfig): string | undefined {
  const [name, prefixes] =
    change.kind === 'secret'
      ? [change.secret.name, config.secretNamePrefixes]
      : [change.parameter.name, config.parameterNamePrefixes];
  if (prefixes.length === 0 || prefixes.some((prefix) => name.startsWith(prefix))) return undefined;
  return `${change.kind} ${name} is outside the configured name prefixes`;
}

/**
 * Finds the services whose current task definitions are affected by `change` and handles each:
 * redeploy (bounded concurrency), skip, or report. Never throws; failures are in the report.
 */
export async function applyChange(change: Change, deps: Dependencies): Promise<ChangeReport> {
  const { ecs, config, taskDefinitions } = deps;
  const redeployed: string[] = [];
  const skipped: ServiceEntry[] = [];
  const needsAction: ServiceEntry[] = [];
  const stillReferenced: ServiceEntry[] = [];
  const failed: FailureEntry[] = [];
  const updates = createLimiter(config.concurrency);
  const stats = { clusters: 0, services: 0 };

  const recent = deps.recentDeployments ?? new RecentDeployments();
  const visit = async (described: ServiceSummary): Promise<void> => {
    const service = recent.apply(described);
    try {
      const scope = scopeOfArn(service.clusterArn) ?? deps.home;
      const reads = await Promise.all(
        service.taskDefinitions.map((arn) =>
          taskDefinitions.references(ecs, arn, scope).then(
            (references) => ({ arn, references, error: undefined }),
            (error: unknown) => ({ arn, references: [], error: errorMessage(error) }),
          ),
        ),
      );
      const affected = reads.some((read) => read.references.some((ref) => isAffected(ref, change)));
      if (!affected) {
        // Unreadable and possibly affected: a retry may read it; make it visible meanwhile.
        for (const read of reads) {
          if (read.error !== undefined) {
            failed.push({
              target: service.arn,
              error: `task definition ${read.arn} could not be read: ${read.error}`,
            });
          }
        }
        return;
      }
      const decision = decide(service, change);
      switch (decision.kind) {
        case 'skip':
          skipped.push({ service: service.arn, reason: decision.reason });
          return;
        case 'needs-action':
          needsAction.push({ service: service.arn, reason: decision.reason });
          return;
        case 'still-referenced':
          stillReferenced.push({ service: service.arn, reason: decision.reason });
          return;
        case 'redeploy':
          break;
      }
      if (config.dryRun) {
        redeployed.push(service.arn);
        return;
      }
      const outcome = await updates.run(async () => {
        // Taken before the call: the deployment is certainly created after it.
        const startedAt = new Date();
        const result = await forceNewDeployment(ecs, service);
        if (result.kind === 'redeployed') {
          recent.record(service.arn, result.deploymentAt ?? startedAt);
        }
        return result;
      });
      if (outcome.kind === 'redeployed') redeployed.push(service.arn);
      else if (outcome.kind === 'skip')
        skipped.push({ service: service.arn, reason: outcome.reason });
      else failed.push({ target: service.arn, error: outcome.error });
    } catch (error) {
      failed.push({ target: service.arn, error: errorMessage(error) });
    }
  };

  const discoveryFailures: DiscoveryFailure[] = await discoverServices(
    ecs,
    {
      clusters: config.clusters,
      ...(deps.serviceDirectory && { directory: deps.serviceDirectory }),
    },
    visit,
    stats,
  );
  failed.push(...discoveryFailures.map(({ target, error }) => ({ target, error })));

  const byService = (a: ServiceEntry, b: ServiceEntry): number =>
    a.service.localeCompare(b.service);
  return {
    outcome: 'handled',
    change: describeChange(change),
    dryRun: config.dryRun,
    redeployed: redeployed.sort(),
    skipped: skipped.sort(byService),
    needsAction: needsAction.sort(byService),
    stillReferenced: stillReferenced.sort(byService),
    failed: failed.sort((a, b) => a.target.localeCompare(b.target)),
    clustersScanned: stats.clusters,
    servicesScanned: stats.services,
  };
}
