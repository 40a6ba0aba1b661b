/**
 * A world for rollout tests, on the simulated AWS account (test/sim): a cluster whose services
 * `api` and `worker` reference the secret prod/orders/db (by partial ARN), an unrelated
 * service `other`, the rollout and flap-guard tables, and the rollout engine registered as a
 * Lambda function. Real SDK clients talk to the sim; time is the sim's clock, which the engine
 * driver advances when the workflow waits.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Scope } from '../../functions/redeploy/arn.js';
import { type RedeployerConfig, loadConfig } from '../../functions/redeploy/config.js';
import { DynamoFlapGuard } from '../../functions/redeploy/flap-guard.js';
import type { Dependencies } from '../../functions/redeploy/process.js';
import { TaskDefinitionReader } from '../../functions/redeploy/task-definitions.js';
import { DEFAULT_ROLLOUT_SETTINGS, type RolloutSettings } from '../../functions/rollout/deploy.js';
import { alarmStates } from '../../functions/rollout/alarms.js';
import type { Look } from '../../functions/rollout/observe.js';
import { LambdaEngineControl } from '../../functions/rollout/engine-client.js';
import { waveSettings } from '../../functions/rollout/settings.js';
import type { RolloutDependencies } from '../../functions/rollout/intake.js';
import { RolloutStore } from '../../functions/rollout/store.js';
import { type StepDependencies, rolloutSteps } from '../../functions/rollout/steps.js';
import type { RolloutSummary } from '../../functions/rollout/summary.js';
import { type Engine, type WorkflowResult, runRollout } from '../../functions/rollout/workflow.js';
import type { ServiceSeed } from '../sim/ecs.js';
import { SimulatedAws } from '../sim/index.js';

/** Ends a drive when the rollout waits for an operator and the test gave none. */
class HaltedStop extends Error {}

export const START = new Date('2026-03-01T12:00:00Z');
export const DB = 'prod/orders/db';
export const DB_SUFFIX = 'AbC123';
export const ROLLOUT_TABLE = 'rollouts';
export const FLAP_TABLE = 'flap';
export const ENGINE = 'rollout-engine';

export interface WorldOptions {
  /** Services referencing the secret, in cluster `prod`. @default ['api', 'worker'] */
  readonly users?: readonly string[];
  readonly circuitBreaker?: { readonly enable: boolean; readonly rollback: boolean };
  /** @default true */
  readonly flapGuard?: boolean;
  /** Tags of the secret prod/orders/db. */
  readonly secretTags?: Readonly<Record<string, string>>;
  /** The secret's rotation function (DescribeSecret's RotationLambdaARN). */
  readonly rotationLambdaArn?: string;
  /** The service managing the secret (DescribeSecret's OwningService). */
  readonly owningService?: string;
  /** Per user service: more of its seed (tags, deployment configuration, controller). */
  readonly services?: Readonly<
    Record<string, Partial<Omit<ServiceSeed, 'cluster' | 'name' | 'taskDefinition'>>>
  >;
}

export class RolloutWorld {
  readonly sim = new SimulatedAws({ start: START });
  readonly home: Scope;
  readonly ecs: ECSClient;
  readonly dynamodb: DynamoDBClient;
  readonly secretsManager: SecretsManagerClient;
  readonly ssm: SSMClient;
  readonly lambda: LambdaClient;
  readonly sns: SNSClient;
  readonly cloudwatch: CloudWatchClient;
  readonly store: RolloutStore;
  readonly secretArn: string;
  readonly engineArn: string;
  readonly users: readonly string[];
  /** Notifications the engine sent: subject and message. */
  readonly notifications: { subject: string; message: string }[] = [];
  /** Values of the RolloutsHalted gauge the engine wrote, in order. */
  readonly haltedGauge: number[] = [];
  private tokens = 0;
  private readonly flapGuardOn: boolean;

  constructor(options: WorldOptions = {}) {
    const { sim } = this;
    this.home = { partition: 'aws', region: sim.region, account: sim.account };
    this.users = options.users ?? ['api', 'worker'];
    this.flapGuardOn = options.flapGuard ?? true;
    sim.createTable({
      name: ROLLOUT_TABLE,
      partitionKey: 'pk',
      sortKey: 'sk',
      ttlAttribute: 'expiresAt',
      indexes: [{ name: 'ByTime', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' }],
    });
    sim.createTable({ name: FLAP_TABLE, partitionKey: 'serviceArn', ttlAttribute: 'expiresAt' });
    this.secretArn = sim.addSecret({
      name: DB,
      suffix: DB_SUFFIX,
      ...(options.secretTags && { tags: options.secretTags }),
      ...(options.rotationLambdaArn && { rotationLambdaArn: options.rotationLambdaArn }),
      ...(options.owningService && { owningService: options.owningService }),
      versions: {
        'v-jan': { stages: ['AWSPREVIOUS'], createdAt: new Date('2026-01-05T00:00:00Z') },
        'v-feb': { stages: ['AWSCURRENT'], createdAt: new Date('2026-02-01T00:00:00Z') },
      },
    });
    const partial = `arn:aws:secretsmanager:${sim.region}:${sim.account}:secret:${DB}`;
    const users = sim.addTaskDefinition({
      family: 'orders',
      containerDefinitions: [
        {
          name: 'app',
          image: 'app',
          secrets: [{ name: 'DB', valueFrom: `${partial}:password::` }],
        },
      ],
    });
    const other = sim.addTaskDefinition({
      family: 'other',
      containerDefinitions: [{ name: 'app', image: 'app' }],
    });
    for (const name of this.users) {
      sim.addService({
        cluster: 'prod',
        name,
        taskDefinition: users,
        deployedAt: new Date('2026-02-10T00:00:00Z'),
        ...(options.circuitBreaker && { circuitBreaker: options.circuitBreaker }),
        ...options.services?.[name],
      });
    }
    sim.addService({ cluster: 'prod', name: 'other', taskDefinition: other });
    this.engineArn = `${sim.addFunction(ENGINE)}:live`;

    this.ecs = sim.client(ECSClient);
    this.dynamodb = sim.client(DynamoDBClient);
    this.secretsManager = sim.client(SecretsManagerClient);
    this.ssm = sim.client(SSMClient);
    this.lambda = sim.client(LambdaClient);
    this.sns = sim.client(SNSClient);
    this.cloudwatch = sim.client(CloudWatchClient);
    this.store = new RolloutStore(this.dynamodb, ROLLOUT_TABLE);
  }

  serviceArn(name: string): string {
    return `arn:aws:ecs:${this.sim.region}:${this.sim.account}:service/prod/${name}`;
  }

  get userArns(): string[] {
    return this.users.map((name) => this.serviceArn(name)).sort();
  }

  /** Services UpdateService was sent for, once per request that reached the account. */
  updates(): string[] {
    return this.sim
      .calls({ service: 'ecs', operation: 'UpdateService' })
      .filter((call) => call.applied)
      .map((call) => String((call.input as { service?: string }).service))
      .sort();
  }

  /** UpdateService requests sent, whatever their outcome. */
  updatesSent(): number {
    return this.sim.count('ecs.UpdateService');
  }

  config(env: Record<string, string> = {}): RedeployerConfig {
    return loadConfig({
      ROLLOUT_TABLE_NAME: ROLLOUT_TABLE,
      ROLLOUT_ENGINE_ARN: this.engineArn,
      ...(this.flapGuardOn && { FLAP_TABLE_NAME: FLAP_TABLE }),
      ...env,
    });
  }

  flapGuard(config: RedeployerConfig): DynamoFlapGuard | undefined {
    return config.flapTableName
      ? new DynamoFlapGuard(
          this.dynamodb,
          config.flapTableName,
          config.flapMaxDeployments,
          config.flapPeriodSeconds,
        )
      : undefined;
  }

  rolloutDeps(
    config: RedeployerConfig = this.config(),
    settings: Partial<RolloutSettings> = {},
  ): RolloutDependencies {
    const flapGuard = this.flapGuard(config);
    return {
      ecs: this.ecs,
      ecsUpdate: this.ecs,
      store: this.store,
      ...(flapGuard && { flapGuard }),
      now: () => this.sim.now(),
      newToken: () => `token-${(this.tokens += 1)}`,
      settings: {
        ...DEFAULT_ROLLOUT_SETTINGS,
        maxDeploymentsInProgress: config.maxDeploymentsInProgress,
        brakeRetryMs: config.brakeRetrySeconds * 1000,
        ...settings,
      },
      secretsManager: this.secretsManager,
      ssm: this.ssm,
      home: this.home,
      engine: new LambdaEngineControl(this.lambda, this.engineArn),
      waves: waveSettings(config),
    };
  }

  /** The change handler's dependencies, as a new execution environment would build them. */
  deps(env: Record<string, string> = {}, settings: Partial<RolloutSettings> = {}): Dependencies {
    const config = this.config(env);
    const rollouts = config.rolloutTableName ? this.rolloutDeps(config, settings) : undefined;
    const flapGuard = this.flapGuard(config);
    return {
      ecs: this.ecs,
      ecsUpdate: this.ecs,
      secretsManager: this.secretsManager,
      config,
      home: this.home,
      taskDefinitions: new TaskDefinitionReader(),
      now: () => this.sim.now(),
      ...(flapGuard && { flapGuard }),
      ...(rollouts && { rollouts }),
    };
  }

  /** An engine whose waits advance the sim's clock (deployments progress meanwhile). */
  simEngine(log: { waits: number[] } = { waits: [] }): Engine {
    const sim = this.sim;
    return {
      step: (_name, work) => work(),
      async wait(_name, seconds, arm) {
        log.waits.push(seconds);
        if (arm) await arm(`wake-${log.waits.length}`);
        sim.advance(seconds * 1000);
        return undefined;
      },
    };
  }

  /** The steps the engine runs, wired as the engine's handler wires them, on the sim. */
  steps(config: RedeployerConfig, settings: Partial<RolloutSettings> = {}): StepDependencies {
    return {
      ...this.rolloutDeps(config, settings),
      alarms: (names) => alarmStates(this.cloudwatch, names),
      tableName: ROLLOUT_TABLE,
      notify: (subject, message) => {
        this.notifications.push({ subject, message });
        return Promise.resolve();
      },
      recordHalted: (count) => {
        this.haltedGauge.push(count);
      },
    };
  }

  /**
   * Runs the rollout's engine on the sim's clock until it ends, or until it halts and waits for
   * an operator: then `operator` is asked what to do (it may write a request through the CLI's
   * path, and returns the callback payload, if any); without `operator` the drive stops there
   * with status `HALTED`, as an execution that is left waiting.
   */
  async drive(
    rolloutId: string,
    settings: Partial<RolloutSettings> = {},
    env: Record<string, string> = {},
    options: {
      readonly operator?: (rolloutId: string) => Promise<string | undefined>;
      /** Called after every look: a test observes, or acts as a person would. */
      readonly onLook?: (look: Look) => Promise<void>;
    } = {},
  ): Promise<{ result: WorkflowResult; summary?: RolloutSummary; waits: number[] }> {
    const deps = this.steps(this.config(env), settings);
    const log = { waits: [] as number[] };
    const steps = rolloutSteps(deps);
    let summary: RolloutSummary | undefined;
    // Set by armOperator during a wait (the analysis cannot see that callback write it).
    const state = { operatorWait: false };
    const waitingForOperator = (): boolean => state.operatorWait;
    const sim = this.sim;
    const engine: Engine = {
      step: (_name, work) => work(),
      async wait(_name, seconds, arm) {
        log.waits.push(seconds);
        state.operatorWait = false;
        if (arm) await arm(`wake-${log.waits.length}`);
        if (waitingForOperator()) {
          if (!options.operator) throw new HaltedStop();
          sim.advance(60_000); // the person takes a minute
          return options.operator(rolloutId);
        }
        sim.advance(seconds * 1000);
        return undefined;
      },
    };
    try {
      const result = await runRollout(
        engine,
        {
          ...steps,
          observe: async (id) => {
            const look = await steps.observe(id);
            await options.onLook?.(look);
            return look;
          },
          armOperator: async (id, wakeId) => {
            state.operatorWait = true;
            await steps.armOperator(id, wakeId);
          },
          finish: async (id) => {
            summary = await steps.finish(id);
            return summary;
          },
        },
        { rolloutId },
      );
      return { result, ...(summary && { summary }), waits: log.waits };
    } catch (error) {
      if (!(error instanceof HaltedStop)) throw error;
      return { result: { rolloutId, status: 'HALTED', looks: log.waits.length }, waits: log.waits };
    }
  }

  /** The engine executions the change handler started (durable execution names). */
  enginesStarted(): string[] {
    return this.sim.lambda.invocations
      .map((invocation) => invocation.durableExecutionName)
      .filter((name): name is string => name !== undefined);
  }

  /** A native Secret Label Updated event for prod/orders/db. */
  labelUpdated(versionId: string, at: Date = this.sim.now(), label = 'AWSCURRENT'): object {
    return {
      version: '0',
      id: `evt-${label}-${versionId}-${at.getTime()}`,
      'detail-type': 'Secret Label Updated',
      source: 'aws.secretsmanager',
      account: this.sim.account,
      time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.sim.region,
      resources: [this.secretArn],
      detail: { name: DB, labelUpdated: label, versionId },
    };
  }
}
