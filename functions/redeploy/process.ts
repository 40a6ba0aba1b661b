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
import type { FlapGuard } from './flap-guard.js';
import { type Limiter, createLimiter } from './limit.js';
import type { Reference } from './references.js';
import { RecentDeployments, type SkipCode, decide, forceNewDeployment } from './redeploy.js';
import { type SecretsManagerLike, resolveSecretChange } from './secrets.js';
import { type EcsLike, TaskDefinitionReader } from './task-definitions.js';
import { changeVersion } from '../rollout/identity.js';
import { ChangeRollout, type Handover, type RolloutDependencies } from '../rollout/intake.js';
import { type HoldHint, type WavePreview, previewWaves } from '../rollout/waves.js';

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
  /** Refuses services force-deployed too often; absent: no flap guard. */
  readonly flapGuard?: FlapGuard;
  /** The clock (tests). @default () => new Date() */
  readonly now?: () => Date;
  /**
   * Rollouts: every change gets a durable record that owns it until each affected service runs
   * the new value (see functions/rollout/). Absent: redeploy and report, nothing more.
   */
  readonly rollouts?: RolloutDependencies;
  /** UpdateService without the SDK's own retries (it is not idempotent). @default ecs */
  readonly ecsUpdate?: EcsLike;
  /**
   * Dry runs with waves: what the secret or parameter says about holding services back, when
   * the caller knows it (the CLI's plan); otherwise it is read (DescribeSecret, tags).
   */
  readonly holdHint?: HoldHint;
}

export interface ServiceEntry {
  readonly service: string;
  readonly reason: string;
  /** Machine-readable reason, for skipped services. */
  readonly code?: SkipCode;
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
  /** Services held back by the cap on deployments in progress; the change is retried later. */
  readonly braked: readonly ServiceEntry[];
  /** Services held back because they were force-deployed too often (flap guard). */
  readonly flapGuarded: readonly ServiceEntry[];
  readonly failed: readonly FailureEntry[];
  /** Non-fatal problems, e.g. the flap guard's table could not be read (it failed open). */
  readonly warnings: readonly string[];
  /** What a sweep could not check (access denied, unreadable task definitions…): alarmed. */
  readonly sweepErrors?: readonly string[];
  /** Services planned for a later wave of the rollout (deployed by its engine). */
  readonly planned?: readonly ServiceEntry[];
  /** Dry run with waves configured: the waves the services to redeploy would go in. */
  readonly waves?: WavePreview;
  readonly clustersScanned: number;
  readonly servicesScanned: number;
  /** The change's rollout, when rollouts are on. */
  readonly rollout?: {
    readonly id: string;
    /** This event opened it (false: it joined the rollout another event of the change opened). */
    readonly created: boolean;
    /** The rollout had ended before: the change was handled in full, nothing was done now. */
    readonly ended?: boolean;
  } & Partial<Handover>;
}

/** Why an event was ignored, in a form metrics can count. */
export type IgnoredCode = 'malformed' | 'not-applicable' | 'outside-prefixes' | 'foreign-source';

export interface IgnoredReport {
  readonly outcome: 'ignored';
  readonly code: IgnoredCode;
  readonly reason: string;
  /** Set when the event was at least a well-formed EventBridge event. */
  readonly event?: { readonly id: string; readonly source: string; readonly detailType: string };
}

export type Report = ChangeReport | IgnoredReport;

/** Handles one event. Throws only for failures a retry can fix (AWS errors resolving the secret). */
export async function processEvent(event: unknown, deps: Dependencies): Promise<Report> {
  const envelope = parseEnvelope(event);
  if (typeof envelope === 'string') {
    return { outcome: 'ignored', code: 'malformed', reason: envelope };
  }
  const about = { id: envelope.id, source: envelope.source, detailType: envelope.detailType };
  const ignored = (code: IgnoredCode, reason: string): IgnoredReport => ({
    outcome: 'ignored',
    code,
    reason,
    event: about,
  });
  const foreign = foreignSource(envelope, deps);
  if (foreign !== undefined) return ignored('foreign-source', foreign);

  const interpretation = interpret(envelope, deps.home.partition);
  if (interpretation.kind === 'ignored') return ignored('not-applicable', interpretation.reason);
  let change: Change;
  if (interpretation.change.kind === 'secret') {
    const resolved = await resolveSecretChange(
      interpretation.change,
      deps.secretsManager,
      deps.home,
    );
    if (resolved.kind === 'ignored') return ignored('not-applicable', resolved.reason);
    change = resolved.change;
  } else {
    change = interpretation.change;
  }

  const filtered = outsidePrefixes(change, deps.config);
  if (filtered !== undefined) return ignored('outside-prefixes', filtered);
  return handleChange(change, deps);
}

/**
 * Applies a change: through its rollout when rollouts are on (and it is not a dry run), which
 * makes every event of one change join one rollout and deploy each service once.
 */
export async function handleChange(change: Change, deps: Dependencies): Promise<ChangeReport> {
  if (!deps.rollouts || deps.config.dryRun) return applyChange(change, deps);
  // Opened while the fleet is walked: nothing waits for it until a service needs it.
  const opening = ChangeRollout.open(deps.rollouts, change);
  opening.catch(() => undefined); // awaited by applyChange, which reports the failure
  return applyChange(change, deps, opening);
}

/**
 * Events are accepted only from the function's own account and Region, unless that account or
 * Region is configured as a source (cross-account or cross-Region event buses). The rules
 * filter the same way when the stack's account and Region are known at synth time.
 */
function foreignSource(
  envelope: { account: string; region: string },
  deps: Dependencies,
): string | undefined {
  const { home, config } = deps;
  if (!config.restrictEventSources) return undefined;
  if (
    home.region !== '' &&
    envelope.region !== home.region &&
    !config.sourceRegions.includes(envelope.region)
  ) {
    return `the event comes from Region ${envelope.region}, not ${home.region}`;
  }
  if (
    home.account !== '' &&
    envelope.account !== home.account &&
    !config.sourceAccounts.includes(envelope.account)
  ) {
    return `the event comes from account ${envelope.account}, which is not a configured source`;
  }
  return undefined;
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
 * One pass over the fleet: the decisions, redeploys and brakes for any number of (service,
 * change) pairs, with the caps shared by all of them. Used by a change event (one change) and by
 * the sweep (a change per stale reference).
 */
export class RedeployRun {
  readonly redeployed: string[] = [];
  readonly skipped: ServiceEntry[] = [];
  readonly needsAction: ServiceEntry[] = [];
  readonly stillReferenced: ServiceEntry[] = [];
  readonly braked: ServiceEntry[] = [];
  readonly flapGuarded: ServiceEntry[] = [];
  readonly failed: FailureEntry[] = [];
  /** Services planned for a later wave: deployed once the waves before them completed. */
  readonly planned: ServiceEntry[] = [];
  /** Dry run: the services that would be force-deployed, as described. */
  readonly wouldDeploy: ServiceSummary[] = [];
  readonly warnings: string[] = [];
  /** Services to deploy in waves, planned once discovery has seen them all. */
  private readonly waveCandidates: ServiceSummary[] = [];
  readonly stats = { clusters: 0, services: 0 };
  private readonly updates: Limiter;
  private readonly recent: RecentDeployments;
  private readonly handled = new Set<string>();
  /** Services to redeploy once discovery has seen the whole fleet (when a cap applies). */
  private readonly waiting: ServiceSummary[] = [];
  private discovered = false;
  /** Forced redeploys rolling out in the watched clusters: seen by discovery, or started here. */
  private inProgress = 0;

  /** The change's rollout: decisions are recorded in it, deployments go through it. */
  private readonly rollout?: Promise<ChangeRollout>;

  constructor(
    private readonly deps: Dependencies,
    rollout?: ChangeRollout | Promise<ChangeRollout>,
  ) {
    this.updates = createLimiter(deps.config.concurrency);
    this.recent = deps.recentDeployments ?? new RecentDeployments();
    if (rollout !== undefined) this.rollout = Promise.resolve(rollout);
  }

  /** Every described service passes here first: it may be rolling out already. */
  observe(described: ServiceSummary): ServiceSummary {
    if (described.forcedRollout) this.inProgress += 1;
    return this.recent.apply(described);
  }

  /** The references of the service's current task definitions; unreadable ones as failures. */
  async references(
    service: ServiceSummary,
  ): Promise<{ references: Reference[]; errors: FailureEntry[] }> {
    const scope = scopeOfArn(service.clusterArn) ?? this.deps.home;
    const reads = await Promise.all(
      service.taskDefinitions.map((arn) =>
        this.deps.taskDefinitions.references(this.deps.ecs, arn, scope).then(
          (references) => ({ arn, references, error: undefined }),
          (error: unknown) => ({ arn, references: [], error: errorMessage(error) }),
        ),
      ),
    );
    return {
      references: reads.flatMap((read) => [...read.references]),
      errors: reads.flatMap((read) =>
        read.error === undefined
          ? []
          : [
              {
                target: service.arn,
                error: `task definition ${read.arn} could not be read: ${read.error}`,
              },
            ],
      ),
    };
  }

  /**
   * Decides for a service affected by `change` (through `affected`, its references the change
   * touches), and redeploys it if it should. Never throws.
   */
  async handle(
    service: ServiceSummary,
    change: Change,
    affected: readonly Reference[] = [],
  ): Promise<void> {
    const { config } = this.deps;
    try {
      if (this.handled.has(service.arn)) return; // one deployment per service per run
      const rollout = await this.rollout;
      if (rollout?.ended) return; // the change was handled in full before: nothing to do
      const decision = decide(service, change, {
        optIn: config.optIn,
        affected,
        redeployForImagePull: config.redeployForRepositoryCredentials,
      });
      switch (decision.kind) {
        case 'skip':
          if (rollout && decision.code === 'already-deployed') {
            // A deployment after the change delivers it only once it completes: the rollout
            // watches it (or finds it was ours, started by an earlier attempt).
            this.handled.add(service.arn);
            await this.viaRollout(rollout, service);
            return;
          }
          this.skipped.push({ service: service.arn, reason: decision.reason, code: decision.code });
          await rollout?.decided(service, 'SKIPPED', decision.reason, decision.code);
          return;
        case 'needs-action':
          this.needsAction.push({ service: service.arn, reason: decision.reason });
          await rollout?.decided(service, 'NEEDS_ACTION', decision.reason, decision.code);
          return;
        case 'still-referenced':
          this.stillReferenced.push({ service: service.arn, reason: decision.reason });
          await rollout?.decided(service, 'NEEDS_ACTION', decision.reason, 'deleted');
          return;
        case 'redeploy':
          break;
      }
      this.handled.add(service.arn);
      if (rollout?.inWaves) {
        // The wave plan needs every service that must be deployed: planned after discovery.
        this.waveCandidates.push(service);
        return;
      }
      if (config.maxDeploymentsInProgress > 0 && !this.discovered) {
        // The cap compares with every rollout in the fleet: wait until all of it is described.
        this.waiting.push(service);
        return;
      }
      await this.deploy(service);
    } catch (error) {
      this.failed.push({ target: service.arn, error: errorMessage(error) });
    }
  }

  /** Applies the caps and the flap guard, then forces the deployment. */
  private async deploy(service: ServiceSummary): Promise<void> {
    const { config } = this.deps;
    try {
      const cap = config.maxDeploymentsInProgress;
      if (cap > 0 && this.inProgress >= cap) {
        const reason = `${this.inProgress} forced redeploys rolling out (cap ${cap}): retried later`;
        this.braked.push({ service: service.arn, reason });
        const now = this.deps.now?.() ?? new Date();
        await (
          await this.rollout
        )?.hold(service, new Date(now.getTime() + config.brakeRetrySeconds * 1000), reason);
        return;
      }
      this.inProgress += 1; // claimed synchronously: concurrent handlers see it
      if (config.dryRun) {
        this.redeployed.push(service.arn);
        this.wouldDeploy.push(service);
        return;
      }
      const rollout = await this.rollout;
      if (rollout) {
        if (!(await this.updates.run(() => this.viaRollout(rollout, service)))) {
          this.inProgress -= 1;
        }
        return;
      }
      if (!(await this.admitted(service))) {
        this.inProgress -= 1;
        return;
      }
      const outcome = await this.updates.run(async () => {
        // Taken before the call: the deployment is certainly created after it.
        const startedAt = new Date();
        const result = await forceNewDeployment(this.deps.ecs, service, this.deps.ecsUpdate);
        if (result.kind === 'redeployed') {
          this.recent.record(service.arn, result.deploymentAt ?? startedAt);
        }
        return result;
      });
      if (outcome.kind === 'redeployed') {
        this.redeployed.push(service.arn);
        return;
      }
      this.inProgress -= 1;
      await this.deps.flapGuard?.release(service.arn).catch((error: unknown) => {
        this.warnings.push(`flap guard not updated for ${service.arn}: ${errorMessage(error)}`);
      });
      if (outcome.kind === 'skip') {
        this.skipped.push({ service: service.arn, reason: outcome.reason, code: outcome.code });
      } else {
        this.failed.push({ target: service.arn, error: outcome.error });
      }
    } catch (error) {
      this.failed.push({ target: service.arn, error: errorMessage(error) });
    }
  }

  /**
   * Deploys through the rollout's exactly-once protocol and reports what happened. Returns
   * whether a deployment is now rolling out for the service.
   */
  private async viaRollout(rollout: ChangeRollout, service: ServiceSummary): Promise<boolean> {
    const outcome = await rollout.deploy(service);
    const { record } = outcome;
    const entry = { service: service.arn, reason: record.reason ?? '' };
    switch (outcome.kind) {
      case 'started':
        this.redeployed.push(service.arn);
        return true;
      case 'covered':
        this.skipped.push({ ...entry, code: 'already-deployed' });
        return true;
      case 'held':
        this.flapGuarded.push(entry);
        return false;
      case 'gone':
        this.skipped.push({ ...entry, code: 'service-gone' });
        return false;
      case 'refused':
        // Owed by the rollout: its engine sends it again (and fails it after a few attempts).
        this.warnings.push(`${service.arn}: ${outcome.error} (the rollout retries it)`);
        return false;
      case 'unchanged':
        this.skipped.push({
          ...entry,
          reason: `${record.state} in rollout ${rollout.rolloutId}${record.reason ? `: ${record.reason}` : ''}`,
          code: 'already-deployed',
        });
        return false;
    }
  }

  /** The flap guard's verdict; if its table cannot be reached it fails open, with a warning. */
  private async admitted(service: ServiceSummary): Promise<boolean> {
    const guard = this.deps.flapGuard;
    if (!guard) return true;
    try {
      const now = this.deps.now?.() ?? new Date();
      if ((await guard.admit(service.arn, now)) === 'admitted') return true;
      this.flapGuarded.push({
        service: service.arn,
        reason:
          `force-deployed ${guard.maxDeployments} times within ${guard.periodSeconds} s: ` +
          'left alone until the period has passed (the sweep catches up then)',
      });
      return false;
    } catch (error) {
      this.warnings.push(`flap guard unavailable for ${service.arn}: ${errorMessage(error)}`);
      return true;
    }
  }

  /** Forced redeploys rolling out in the watched clusters, as counted so far. */
  get deploymentsInProgress(): number {
    return this.inProgress;
  }

  /**
   * Handles services described by an earlier walk (the sweep's) for one change: every service
   * whose references the change affects. `inProgress` is the fleet's count of forced redeploys
   * rolling out, for the cap.
   */
  async applyTo(
    described: readonly {
      readonly service: ServiceSummary;
      readonly references: readonly Reference[];
    }[],
    change: Change,
    inProgress: number,
  ): Promise<void> {
    this.discovered = true;
    this.inProgress = inProgress;
    await Promise.all(
      described
        .map(({ service, references }) => ({
          service,
          affected: references.filter((ref) => isAffected(ref, change)),
        }))
        .filter(({ affected }) => affected.length > 0)
        .map(({ service, affected }) => this.handle(service, change, affected)),
    );
    await this.afterDiscovery();
  }

  /** Walks the fleet, passing each described service to `visit` after `observe`. */
  async discover(visit: (service: ServiceSummary) => Promise<void>): Promise<void> {
    const failures: DiscoveryFailure[] = await discoverServices(
      this.deps.ecs,
      {
        clusters: this.deps.config.clusters,
        ...(this.deps.serviceDirectory && { directory: this.deps.serviceDirectory }),
      },
      (described) => visit(this.observe(described)),
      this.stats,
    );
    this.failed.push(...failures.map(({ target, error }) => ({ target, error })));
    this.discovered = true;
    await this.afterDiscovery();
  }

  /** Deploys what waited for the whole fleet: services held for the cap, the first wave. */
  private async afterDiscovery(): Promise<void> {
    await Promise.all(this.waiting.splice(0).map((service) => this.deploy(service)));
    const candidates = this.waveCandidates.splice(0);
    if (candidates.length === 0) return;
    const rollout = await this.rollout;
    if (!rollout) return;
    const { now: first, later } = await rollout.planWaves(candidates);
    for (const { service, wave } of later) {
      this.planned.push({
        service: service.arn,
        reason: `wave ${wave}: deployed once the waves before it completed`,
      });
    }
    await Promise.all(first.map((service) => this.deploy(service)));
  }

  report(change: Record<string, unknown>, rollout?: ChangeReport['rollout']): ChangeReport {
    const byService = (a: ServiceEntry, b: ServiceEntry): number =>
      a.service.localeCompare(b.service);
    return {
      outcome: 'handled',
      change,
      dryRun: this.deps.config.dryRun,
      redeployed: [...this.redeployed].sort(),
      skipped: [...this.skipped].sort(byService),
      needsAction: [...this.needsAction].sort(byService),
      stillReferenced: [...this.stillReferenced].sort(byService),
      braked: [...this.braked].sort(byService),
      flapGuarded: [...this.flapGuarded].sort(byService),
      failed: [...this.failed].sort((a, b) => a.target.localeCompare(b.target)),
      ...(this.planned.length > 0 && { planned: [...this.planned].sort(byService) }),
      warnings: [...this.warnings],
      clustersScanned: this.stats.clusters,
      servicesScanned: this.stats.services,
      ...(rollout && { rollout }),
    };
  }
}

/**
 * Finds the services whose current task definitions are affected by `change` and handles each:
 * redeploy (bounded concurrency and caps), skip, or report. Never throws; failures are in the
 * report.
 */
export async function applyChange(
  change: Change,
  deps: Dependencies,
  opening?: ChangeRollout | Promise<ChangeRollout>,
): Promise<ChangeReport> {
  const rollout = opening;
  const run = new RedeployRun(deps, rollout);
  await run.discover(async (service) => {
    try {
      const { references, errors } = await run.references(service);
      const affected = references.filter((ref) => isAffected(ref, change));
      if (affected.length > 0) {
        await run.handle(service, change, affected);
      } else {
        // Unreadable and possibly affected: a retry may read it; make it visible meanwhile.
        run.failed.push(...errors);
      }
    } catch (error) {
      run.failed.push({ target: service.arn, error: errorMessage(error) });
    }
  });
  if (!rollout) {
    const report = run.report(describeChange(change));
    if (!deps.config.dryRun || deps.config.waves.length === 0) return report;
    return { ...report, waves: await dryRunWaves(change, deps, run.wouldDeploy) };
  }
  const ready = await rollout;
  if (ready.ended) {
    return new RedeployRun(deps).report(describeChange(change), {
      id: ready.rolloutId,
      created: false,
      ended: true,
    });
  }
  // A failed discovery may have missed services: the change is retried (it joins the rollout)
  // before the rollout is closed as complete.
  const handover = await ready.handOver({ complete: run.failed.length === 0 });
  return run.report(describeChange(change), {
    id: ready.rolloutId,
    created: ready.created,
    ...handover,
  });
}

/**
 * The waves a dry run would deploy in. What the secret or parameter says about holding services
 * back is read as the rollout would read it (metadata only); unreadable, the policy decides.
 */
async function dryRunWaves(
  change: Change,
  deps: Dependencies,
  services: readonly ServiceSummary[],
): Promise<WavePreview> {
  const { config } = deps;
  let hint = deps.holdHint;
  if (hint === undefined) {
    try {
      hint = (
        await changeVersion(change, {
          secretsManager: deps.secretsManager,
          ...(deps.rollouts?.ssm && { ssm: deps.rollouts.ssm }),
          home: deps.home,
          parameterTags: config.wavesFor === 'tagged',
        })
      ).hint;
    } catch {
      hint = undefined;
    }
  }
  return previewWaves(services, config.waves, config.wavesFor, hint);
}
