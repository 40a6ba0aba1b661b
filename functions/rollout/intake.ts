/**
 * The change handler's side of a rollout: open (or join) the rollout of a change, record what
 * is decided for each referencing service, deploy through the exactly-once protocol, and hand
 * what is still owed to the engine.
 */
import type { Scope } from '../redeploy/arn.js';
import type { Change } from '../redeploy/change.js';
import type { ServiceSummary } from '../redeploy/discovery.js';
import type { SecretsManagerLike } from '../redeploy/secrets.js';
import type { SsmLike } from '../redeploy/sweep.js';
import { type DeployDependencies, type DeployOutcome, deployOnce, newRecord } from './deploy.js';
import type { EngineControl } from './engine-client.js';
import type { WaveSize } from '../redeploy/config.js';
import { changeVersion, executionName, rolloutIdOf } from './identity.js';
import { planWaves, wavesApply } from './waves.js';
import { type RolloutRecord, type ServiceRecord, type ServiceState, isSettled } from './model.js';

export interface RolloutDependencies extends DeployDependencies {
  readonly secretsManager: SecretsManagerLike;
  readonly ssm?: SsmLike;
  readonly home: Scope;
  /** Absent: rollouts are recorded but not watched until a sweep restarts them. */
  readonly engine?: EngineControl;
  /** Waves (waves.ts); absent or no sizes: every service at once. */
  readonly waves?: {
    readonly sizes: readonly WaveSize[];
    readonly bakeSeconds: number;
    readonly alarms: readonly string[];
    /** Which changes: all, or only those whose secret or parameter says holding is safe. */
    readonly for: 'all' | 'tagged';
  };
}

export interface Handover {
  /** Services still owed (deploying, held, planned) when the handler is done. */
  readonly owed: number;
  /** The engine execution that watches them; absent when nothing is owed or it could not start. */
  readonly execution?: string;
  /** Why the engine could not be started (the rollout waits for the sweep to restart it). */
  readonly engineError?: string;
}

/**
 * One change's rollout, as seen by one invocation of the change handler. Every method is safe
 * to repeat: a retried or concurrent invocation of the same change joins the same rollout and
 * finds what the first one did.
 */
export class ChangeRollout {
  /** Records this invocation wrote (the wave plan), so deploying does not read them back. */
  private readonly planned = new Map<string, ServiceRecord>();

  private constructor(
    private readonly deps: RolloutDependencies,
    readonly record: RolloutRecord,
    /** This invocation created the rollout (the first to see the change). */
    readonly created: boolean,
  ) {}

  get rolloutId(): string {
    return this.record.rolloutId;
  }

  /** The rollout ended already: the change was handled in full before. */
  get ended(): boolean {
    return this.record.status !== 'OPEN';
  }

  private get ref() {
    return { rolloutId: this.rolloutId, changeTime: new Date(this.record.changeTime) };
  }

  /** Opens the rollout of `change`, or joins it if another event of the change opened it. */
  static async open(deps: RolloutDependencies, change: Change): Promise<ChangeRollout> {
    const configured =
      deps.waves !== undefined && deps.waves.sizes.length > 0 ? deps.waves : undefined;
    const version = await changeVersion(change, {
      ...deps,
      parameterTags: configured?.for === 'tagged',
    });
    const waves = configured ? wavesApply(configured.for, version.hint) : undefined;
    const now = deps.now();
    const generation =
      version.pointerKey === undefined
        ? 0
        : await deps.store.advancePointer(version.pointerKey, version.summary.version, now);
    const rolloutId = rolloutIdOf(version.summary, generation);
    const { created, rollout } = await deps.store.openRollout(
      {
        rolloutId,
        change: version.summary,
        changeTime: change.time.toISOString(),
        createdAt: now.toISOString(),
        status: 'OPEN',
        // The execution the handler starts (handOver); recorded now to save a write then.
        ...(deps.engine && { engine: { name: executionName(rolloutId, 1), attempt: 1 } }),
        ...(deps.waves &&
          waves?.apply === true && {
            waves: {
              count: 0,
              bakeSeconds: deps.waves.bakeSeconds,
              alarms: deps.waves.alarms,
              why: waves.why,
            },
            currentWave: 1,
          }),
        ...(waves?.apply === false && { noWaves: waves.why }),
      },
      now,
    );
    return new ChangeRollout(deps, rollout, created);
  }

  /** Whether this rollout deploys in waves. */
  get inWaves(): boolean {
    return this.record.waves !== undefined;
  }

  /**
   * Plans the waves of the services to deploy, records each PLANNED with its wave, and returns
   * those to deploy now: the first wave, when this invocation opened the rollout. An invocation
   * that joined it deploys none: services it finds that the plan does not know yet join the last
   * wave, and the engine deploys them in turn.
   */
  async planWaves(services: readonly ServiceSummary[]): Promise<{
    now: ServiceSummary[];
    later: { service: ServiceSummary; wave: number }[];
  }> {
    const now = this.deps.now();
    const sizes = this.deps.waves?.sizes ?? [];
    if (!this.created) {
      const known = await this.deps.store.services(this.rolloutId);
      const last = Math.max(1, ...known.map((r) => r.wave ?? 1));
      const later: { service: ServiceSummary; wave: number }[] = [];
      for (const service of services) {
        if (known.some((r) => r.serviceArn === service.arn)) continue;
        await this.deps.store.putService(
          this.rolloutId,
          { ...newRecord(service, now), wave: last },
          now,
          'absent',
        );
        later.push({ service, wave: last });
      }
      return { now: [], later };
    }
    const plan = planWaves(services, sizes);
    const count = Math.max(0, ...plan.values());
    await Promise.all(
      services.map(async (service) => {
        const record = { ...newRecord(service, now), wave: plan.get(service.arn) ?? 1 };
        if (await this.deps.store.putService(this.rolloutId, record, now, 'absent')) {
          this.planned.set(service.arn, record);
        }
      }),
    );
    if (this.record.waves) {
      await this.deps.store.updateRollout(this.rolloutId, {
        waves: { ...this.record.waves, count },
      });
    }
    return {
      now: services.filter((service) => plan.get(service.arn) === 1),
      later: services
        .filter((service) => plan.get(service.arn) !== 1)
        .map((service) => ({ service, wave: plan.get(service.arn) ?? 1 })),
    };
  }

  /** Records a decision taken at once (skipped, needs action); never overwrites an earlier one. */
  async decided(
    service: ServiceSummary,
    state: Extract<ServiceState, 'SKIPPED' | 'NEEDS_ACTION'>,
    reason: string,
    code?: string,
  ): Promise<void> {
    const now = this.deps.now();
    await this.deps.store.putService(
      this.rolloutId,
      {
        ...newRecord(service, now),
        state,
        reason,
        ...(code !== undefined && { code }),
        endedAt: now.toISOString(),
      },
      now,
      'absent',
    );
  }

  /** Holds a service back (the fleet cap) until `until`; the engine deploys it then. */
  async hold(service: ServiceSummary, until: Date, reason: string): Promise<void> {
    const now = this.deps.now();
    const existing = await this.deps.store.service(this.rolloutId, service.arn);
    if (existing && existing.state !== 'PLANNED' && existing.state !== 'HELD') return;
    await this.deps.store.putService(
      this.rolloutId,
      {
        ...(existing ?? newRecord(service, now)),
        state: 'HELD',
        holdReason: 'cap',
        heldUntil: until.toISOString(),
        reason,
        updatedAt: now.toISOString(),
      },
      now,
    );
  }

  /** Deploys the service once for this change (see deploy.ts). */
  async deploy(service: ServiceSummary): Promise<DeployOutcome> {
    // A rollout this invocation just created has no service records to read; an invocation
    // racing it on the same service finds out through the claim (deploy.ts), never by this read.
    const existing =
      this.planned.get(service.arn) ??
      (this.created ? undefined : await this.deps.store.service(this.rolloutId, service.arn));
    return deployOnce(this.deps, this.ref, service, existing);
  }

  /**
   * Hands the rollout over: closes it at once if nothing is owed (and, with `complete`, every
   * service of the fleet was seen), otherwise starts the engine
   * (idempotent: one execution per rollout and attempt). An engine that cannot be started is
   * recorded, not thrown: the rollout stays owed and the sweep restarts it.
   */
  async handOver(options: { readonly complete: boolean } = { complete: true }): Promise<Handover> {
    const services = await this.deps.store.services(this.rolloutId);
    const owed = services.filter((s) => !isSettled(s)).length;
    if (owed === 0 && !options.complete) return { owed }; // not all services were seen: retried
    if (owed === 0) {
      await this.deps.store.closeRollout(this.rolloutId, 'DONE', this.deps.now());
      return { owed };
    }
    if (!this.deps.engine) return { owed, engineError: 'no rollout engine is configured' };
    const attempt = this.record.engine?.attempt ?? 1;
    try {
      const execution = await this.deps.engine.start(this.rolloutId, attempt);
      if (this.record.engine?.name !== execution || this.record.engine.error !== undefined) {
        await this.deps.store.updateRollout(this.rolloutId, {
          engine: { name: execution, attempt },
        });
      }
      return { owed, execution };
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      await this.deps.store
        .updateRollout(this.rolloutId, {
          engine: { name: '', attempt, error: message.slice(0, 500) },
        })
        .catch(() => undefined);
      return { owed, engineError: message };
    }
  }
}
