/**
 * Amazon ECS, as far as redeploying services needs it (ECS API reference: ListClusters,
 * DescribeClusters, ListServices, DescribeServices, DescribeTaskDefinition, UpdateService,
 * ListTasks, DescribeTasks, ListServiceDeployments, DescribeServiceDeployments,
 * ContinueServiceDeployment), with the rolling
 * deployment life cycle driven by the sim clock (ECS developer guide: "Deploy Amazon ECS services
 * by replacing tasks", "How the Amazon ECS deployment circuit breaker detects failures",
 * "Amazon ECS service deployment state change events"):
 *
 * - A seeded service has one PRIMARY deployment, rolloutState COMPLETED, created at `deployedAt`,
 *   running `desiredCount` tasks.
 * - UpdateService with `forceNewDeployment` (or a different task definition) adds a PRIMARY
 *   deployment (IN_PROGRESS, `createdAt` now, its tasks PENDING); the previous PRIMARY becomes
 *   ACTIVE and keeps its tasks. ECS emits SERVICE_DEPLOYMENT_IN_PROGRESS.
 * - What happens next is the service's `behaviour`, fixed for each deployment when it starts:
 *   `complete` (default, after 5 minutes): tasks RUNNING, rolloutState COMPLETED, every other
 *   deployment drained (INACTIVE, no longer listed), SERVICE_DEPLOYMENT_COMPLETED.
 *   `fail`: tasks stop with `stoppedReason`. With the circuit breaker on, after `afterMs` the
 *   deployment is FAILED once `threshold` tasks failed (threshold = clamp(ceil(desired / 2),
 *   3, 200)), SERVICE_DEPLOYMENT_FAILED (ERROR) is emitted, and with `rollback` a new PRIMARY
 *   deployment of the last COMPLETED task definition starts (SERVICE_DEPLOYMENT_IN_PROGRESS with
 *   reason "ECS deployment circuit breaker: rolling back to deploymentId …"), which completes
 *   after `rollbackAfterMs`; without rollback the failed deployment stays PRIMARY and the old
 *   one ACTIVE. Without the circuit breaker the deployment stays IN_PROGRESS for ever, a batch
 *   of `desiredCount` tasks failing every `afterMs` (failedTasks grows), and no event is sent:
 *   ECS sends SERVICE_DEPLOYMENT_FAILED only for services with the circuit breaker.
 *   `hang`: IN_PROGRESS for ever, tasks PENDING.
 * - A new deployment while one is IN_PROGRESS supersedes it (it becomes ACTIVE, its timer stops).
 * - Stopped tasks stay visible to ListTasks/DescribeTasks for one hour of sim time, as ECS keeps
 *   them "for at least one hour".
 *
 * Native deployment strategies (ECS developer guide: "Amazon ECS blue/green deployments",
 * "Lifecycle hooks for Amazon ECS service deployments", "Pause hooks for Amazon ECS service
 * deployments"; API reference: DeploymentConfiguration, ContinueServiceDeployment):
 *
 * - `ROLLING` (the default) is the life cycle above; ECS ignores `bakeTimeInMinutes` for it, and
 *   so does the sim. Lifecycle hooks are modelled for the blue/green family only (seeding them on
 *   a ROLLING service throws).
 * - `BLUE_GREEN`, `LINEAR` and `CANARY` walk the lifecycle stages of ServiceDeployment
 *   `lifecycleStage`, on a simplified timeline: RECONCILE_SERVICE (only when more than one
 *   revision is active at the start), PRE_SCALE_UP and SCALE_UP at the start; the behaviour's
 *   `afterMs` later the new tasks are RUNNING, and POST_SCALE_UP, TEST_TRAFFIC_SHIFT,
 *   POST_TEST_TRAFFIC_SHIFT, then PRE_PRODUCTION_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT once
 *   per traffic-shift step (1 for BLUE_GREEN, 2 for CANARY, ceil(100 / stepPercent) for LINEAR,
 *   10 by default), POST_PRODUCTION_TRAFFIC_SHIFT and BAKE_TIME follow at once (traffic shifts
 *   take no time; the canary and linear step bake times are returned but not waited for). The
 *   deployment stays IN_PROGRESS, the old revision still running, for `bakeTimeInMinutes`; then
 *   CLEAN_UP drains the old revision and the deployment is COMPLETED. A failing or hanging
 *   deployment fails or hangs in SCALE_UP as a rolling one does.
 * - A PAUSE hook pauses the deployment when it reaches one of the hook's stages: a hook
 *   (`ecs-pause-…`) is AWAITING_ACTION until `expiresAt` (now + `timeoutInMinutes`, default 1440)
 *   and "ECS Hook State Change" HOOK_AWAITING_ACTION is emitted. ContinueServiceDeployment
 *   CONTINUE (HOOK_SUCCEEDED) resumes the timeline once every hook of that stage is continued;
 *   ROLLBACK (HOOK_FAILED) rolls back at once, as the circuit breaker does: the deployment is
 *   FAILED (SERVICE_DEPLOYMENT_FAILED), a new PRIMARY deployment of the last COMPLETED task
 *   definition starts and completes after the behaviour's `rollbackAfterMs`, and the service
 *   deployment goes ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL. At `expiresAt` the hook is
 *   TIMED_OUT (HOOK_TIMED_OUT) and its timeout action (default ROLLBACK) applies. Hooks still
 *   awaiting action when their deployment is superseded or rolled back become FAILED silently.
 *   AWS_LAMBDA hooks are not modelled (seeding one throws).
 *
 * Service deployments and the DescribeServices deployment ids. The service deployment ARN is
 * `arn:…:service-deployment/CLUSTER/SERVICE/ID` with a random 21-character ID, as in every ECS
 * sample (`NCWGC2ZR-taawPAYrIaU5`); AWS documents no field linking it to the `ecs-svc/…`
 * deployment id. The sim assumes what the samples' shapes suggest: the target service revision
 * ARN (`arn:…:service-revision/CLUSTER/SERVICE/N`) ends with the same 19 digits N as the
 * deployment `ecs-svc/N` that rolls it out, so `targetServiceRevisionArn` links the two. A
 * circuit-breaker or hook rollback is a new `ecs-svc/` deployment that belongs to the service
 * deployment it rolls back (no service deployment of its own); its revision is the source
 * revision named in `rollback.serviceRevisionArn`.
 *
 * Lookups are map accesses; task definitions are serialised once.
 */
import type {
  ContainerDefinition,
  DeploymentLifecycleHookStage,
  Volume,
} from '@aws-sdk/client-ecs';
import type { Timer } from './clock.js';
import type { SimContext, SimService } from './context.js';
import { AwsError, notImplemented } from './errors.js';
import type { EcsDeploymentDetail, EcsHookDetail } from './events.js';
import type { Answer } from './transport.js';
import {
  epochSeconds,
  isoSeconds,
  type Json,
  optionalNumber,
  optionalString,
  optionalStrings,
  page,
} from './util.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** How long stopped tasks stay visible (ECS: "at least one hour"). */
const STOPPED_TASK_RETENTION_MS = HOUR;
/** Service event messages kept per service (ECS keeps the latest 100). */
const SERVICE_EVENTS_KEPT = 100;

/** What happens to each new deployment of a service as the clock advances. */
export type DeploymentBehaviour =
  /**
   * Tasks start and the deployment completes after `afterMs` (default 5 minutes; for the
   * blue/green family its tasks are up then, and the bake time follows). A pause-hook rollback
   * completes after `rollbackAfterMs` (default 5 minutes).
   */
  | { readonly outcome: 'complete'; readonly afterMs?: number; readonly rollbackAfterMs?: number }
  /**
   * Tasks fail to start (or exit): with the circuit breaker, the deployment FAILS after `afterMs`
   * (default 2 minutes) and rolls back if configured (the rollback completes after
   * `rollbackAfterMs`, default 5 minutes); without it, a batch of tasks fails every `afterMs`.
   */
  | {
      readonly outcome: 'fail';
      readonly afterMs?: number;
      /** @default 'ResourceInitializationError: unable to pull secrets or registry auth: …' */
      readonly stoppedReason?: string;
      /** The essential container's exit code (a container that started, then exited). */
      readonly exitCode?: number;
      readonly rollbackAfterMs?: number;
    }
  /** The deployment never ends. */
  | { readonly outcome: 'hang' };

/** A task definition to register. */
export interface TaskDefinitionSeed {
  /** The family; each registration is its next revision. */
  readonly family: string;
  /** As RegisterTaskDefinition takes them (defaults filled in). */
  readonly containerDefinitions: readonly ContainerDefinition[];
  /** Task volumes (FSx `authorizationConfig` included). */
  readonly volumes?: readonly Volume[];
  /** @default an hour before the sim clock's start */
  readonly registeredAt?: Date;
  /** @default a role named after the family */
  readonly taskRoleArn?: string;
  /** @default a role named after the family */
  readonly executionRoleArn?: string;
  /** Returned by DescribeTaskDefinition with `include: ['TAGS']`. */
  readonly tags?: Readonly<Record<string, string>>;
}

/** An ECS deployment strategy (DeploymentConfiguration `strategy`). */
export type DeploymentStrategy = 'ROLLING' | 'BLUE_GREEN' | 'LINEAR' | 'CANARY';

/** A lifecycle stage a hook can run at (DeploymentLifecycleHook `lifecycleStages`). */
export type LifecycleHookStage = DeploymentLifecycleHookStage;

/** A deployment lifecycle hook, as DeploymentConfiguration `lifecycleHooks` has it. */
export interface LifecycleHookSeed {
  /** Only `PAUSE` is modelled; `AWS_LAMBDA` (ECS's default) throws. */
  readonly targetType: 'PAUSE' | 'AWS_LAMBDA';
  /** Not TEST_TRAFFIC_SHIFT nor PRODUCTION_TRAFFIC_SHIFT for PAUSE hooks (ECS refuses them). */
  readonly lifecycleStages: readonly LifecycleHookStage[];
  readonly timeoutConfiguration?: {
    /** 1 to 20160. @default 1440 */
    readonly timeoutInMinutes?: number;
    /** @default 'ROLLBACK' */
    readonly action?: 'ROLLBACK' | 'CONTINUE';
  };
}

/** A service's deployment configuration beyond the circuit breaker. */
export interface DeploymentConfigurationSeed {
  /** @default 'ROLLING' */
  readonly strategy?: DeploymentStrategy;
  /** How long the blue/green family keeps both revisions after the traffic shift. @default 0 */
  readonly bakeTimeInMinutes?: number;
  /** At most 10 pause hooks (blue/green family only). */
  readonly lifecycleHooks?: readonly LifecycleHookSeed[];
  /** LINEAR only: the step count is ceil(100 / stepPercent) (default 10); bake not waited for. */
  readonly linearConfiguration?: {
    readonly stepPercent?: number;
    readonly stepBakeTimeInMinutes?: number;
  };
  /** CANARY only: two traffic-shift steps; the canary bake time is not waited for. */
  readonly canaryConfiguration?: {
    readonly canaryPercent?: number;
    readonly canaryBakeTimeInMinutes?: number;
  };
}

/** A service to create. */
export interface ServiceSeed {
  /** Cluster name (created if it does not exist). */
  readonly cluster: string;
  /** The service name (unique in its cluster). */
  readonly name: string;
  /** Task definition ARN, `family:revision` or `family` (latest revision). */
  readonly taskDefinition: string;
  /** @default 'ECS' */
  readonly deploymentController?: 'ECS' | 'CODE_DEPLOY' | 'EXTERNAL';
  /** @default { enable: false, rollback: false } (ECS's API default) */
  readonly circuitBreaker?: { readonly enable: boolean; readonly rollback: boolean };
  /**
   * Strategy, bake time and lifecycle hooks; DescribeServices returns them in
   * `deploymentConfiguration` beside the circuit breaker. @default { strategy: 'ROLLING' }
   */
  readonly deploymentConfiguration?: DeploymentConfigurationSeed;
  /** Returned by DescribeServices with `include: ['TAGS']`. */
  readonly tags?: Readonly<Record<string, string>>;
  /** @default 'ACTIVE' */
  readonly status?: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  /** Creation time of the current (COMPLETED) deployment. @default one day before now */
  readonly deployedAt?: Date;
  /** @default 2 */
  readonly desiredCount?: number;
  /** @default { outcome: 'complete', afterMs: 300_000 } */
  readonly behaviour?: DeploymentBehaviour;
}

/** A deployment as the sim holds it, for assertions (`SimulatedAws.deployments`). */
export interface DeploymentState {
  /** `ecs-svc/` and 19 digits. */
  readonly id: string;
  /** INACTIVE once drained (DescribeServices no longer lists it). */
  readonly status: 'PRIMARY' | 'ACTIVE' | 'INACTIVE';
  /** Task definition ARN. */
  readonly taskDefinition: string;
  /** Tasks it wants. */
  readonly desiredCount: number;
  /** Tasks RUNNING. */
  readonly runningCount: number;
  /** Tasks PENDING. */
  readonly pendingCount: number;
  /** Tasks that failed to start or exited. */
  readonly failedTasks: number;
  /** When it started. */
  readonly createdAt: Date;
  /** Its last change. */
  readonly updatedAt: Date;
  /** Where the rollout is. */
  readonly rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  /** As ECS words it. */
  readonly rolloutStateReason: string;
  /**
   * The service deployment (ListServiceDeployments) it rolls out, or, for a rollback deployment,
   * the one it rolls back.
   */
  readonly serviceDeploymentArn: string;
  /** That service deployment's lifecycle stage (blue/green family only). */
  readonly lifecycleStage: string | undefined;
}

type ServiceDeploymentStatus =
  'IN_PROGRESS' | 'SUCCESSFUL' | 'STOPPED' | 'ROLLBACK_IN_PROGRESS' | 'ROLLBACK_SUCCESSFUL';

/** Every ServiceDeploymentStatus ECS knows (ListServiceDeployments `status` filter values). */
const SERVICE_DEPLOYMENT_STATUSES: readonly string[] = [
  'PENDING',
  'SUCCESSFUL',
  'STOPPED',
  'STOP_REQUESTED',
  'IN_PROGRESS',
  'ROLLBACK_REQUESTED',
  'ROLLBACK_IN_PROGRESS',
  'ROLLBACK_SUCCESSFUL',
  'ROLLBACK_FAILED',
];

type LifecycleStage =
  | 'RECONCILE_SERVICE'
  | 'PRE_SCALE_UP'
  | 'SCALE_UP'
  | 'POST_SCALE_UP'
  | 'TEST_TRAFFIC_SHIFT'
  | 'POST_TEST_TRAFFIC_SHIFT'
  | 'PRE_PRODUCTION_TRAFFIC_SHIFT'
  | 'PRODUCTION_TRAFFIC_SHIFT'
  | 'POST_PRODUCTION_TRAFFIC_SHIFT'
  | 'BAKE_TIME'
  | 'CLEAN_UP';

/** The stages a hook can be configured at, in the order ECS reaches them. */
const HOOK_STAGES: readonly LifecycleHookStage[] = [
  'RECONCILE_SERVICE',
  'PRE_SCALE_UP',
  'POST_SCALE_UP',
  'TEST_TRAFFIC_SHIFT',
  'POST_TEST_TRAFFIC_SHIFT',
  'PRE_PRODUCTION_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
];

/** A service's deployment configuration, validated, with what the timeline needs. */
interface DeploymentConfig {
  readonly strategy: DeploymentStrategy;
  readonly bakeMs: number;
  /** Traffic-shift steps (PRE_/PRODUCTION_TRAFFIC_SHIFT run once per step). */
  readonly steps: number;
  readonly pauseHooks: readonly {
    readonly stages: readonly LifecycleHookStage[];
    readonly timeoutMs: number;
    readonly action: 'ROLLBACK' | 'CONTINUE';
  }[];
  /** The DeploymentConfiguration members other than the circuit breaker and percentages. */
  readonly json: Json;
}

interface PauseHook {
  readonly hookId: string;
  readonly stage: LifecycleStage;
  readonly deployment: Deployment;
  status: 'AWAITING_ACTION' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  readonly expiresAt: number;
  readonly timeoutAction: 'ROLLBACK' | 'CONTINUE';
  timer?: Timer;
}

interface Cluster {
  readonly name: string;
  readonly arn: string;
  readonly services: Service[];
  /** Service name, ARN and old-format ARN → service. */
  readonly byRef: Map<string, Service>;
  tasks: Task[];
}

interface TaskDefinition {
  readonly arn: string;
  readonly family: string;
  readonly revision: number;
  readonly containerNames: readonly string[];
  readonly images: readonly string[];
  /** The DescribeTaskDefinition `taskDefinition` member. */
  readonly json: Json;
  readonly tags: readonly { key: string; value: string }[];
}

interface Task {
  readonly arn: string;
  readonly cluster: Cluster;
  readonly service: Service;
  readonly deployment: Deployment;
  readonly taskDefinition: TaskDefinition;
  readonly createdAt: number;
  lastStatus: 'PROVISIONING' | 'PENDING' | 'RUNNING' | 'STOPPED';
  desiredStatus: 'RUNNING' | 'STOPPED';
  startedAt?: number;
  stoppingAt?: number;
  stoppedAt?: number;
  stoppedReason?: string;
  stopCode?: string;
  exitCode?: number;
}

interface ServiceDeploymentRecord {
  readonly arn: string;
  readonly revisionArn: string;
  /** The configuration it was started with. */
  readonly config: DeploymentConfig;
  /** Blue/green family: the stage reached. */
  lifecycleStage?: LifecycleStage;
  /** Pause hooks opened so far, oldest first. */
  readonly hooks: PauseHook[];
  readonly sourceRevisions: readonly { arn: string; deployment: Deployment }[];
  status: ServiceDeploymentStatus;
  statusReason?: string;
  finishedAt?: number;
  stoppedAt?: number;
  updatedAt: number;
  rollback?: { reason: string; startedAt: number; deployment: Deployment };
  circuitBreaker: { status: 'MONITORING' | 'TRIGGERED' | 'MONITORING_COMPLETE' | 'DISABLED' };
}

interface Deployment {
  readonly id: string;
  readonly service: Service;
  status: 'PRIMARY' | 'ACTIVE' | 'INACTIVE';
  readonly taskDefinition: TaskDefinition;
  desiredCount: number;
  failedTasks: number;
  readonly createdAt: number;
  updatedAt: number;
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  rolloutStateReason: string;
  /** Tasks not stopped yet. */
  live: Task[];
  timer?: Timer;
  /** The service deployment (ListServiceDeployments) this deployment is, or rolls back. */
  readonly record: ServiceDeploymentRecord;
  readonly isRollback: boolean;
  /** What happens to it as the clock advances (the service's behaviour when it started). */
  readonly behaviour: DeploymentBehaviour;
  /** Blue/green family: its lifecycle stages in order (undefined for rolling and rollbacks). */
  readonly plan: readonly LifecycleStage[] | undefined;
  /** Index in `plan` of the stage it is at. */
  stageIndex: number;
  /** The pause hooks of the current stage while it waits for them. */
  waiting: PauseHook[];
}

interface Service {
  readonly name: string;
  readonly arn: string;
  readonly cluster: Cluster;
  readonly controller: 'ECS' | 'CODE_DEPLOY' | 'EXTERNAL';
  readonly circuitBreaker: { readonly enable: boolean; readonly rollback: boolean };
  readonly config: DeploymentConfig;
  readonly tags: readonly { key: string; value: string }[];
  readonly createdAt: number;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  desiredCount: number;
  taskDefinition: TaskDefinition;
  /** Current deployments (PRIMARY first, then ACTIVE). */
  deployments: Deployment[];
  /** Every deployment ever, oldest first. */
  readonly history: Deployment[];
  lastCompleted: Deployment | undefined;
  behaviour: DeploymentBehaviour;
  /** Service event messages, newest first. */
  events: { id: string; createdAt: number; message: string }[];
}

const DEFAULT_BEHAVIOUR: DeploymentBehaviour = { outcome: 'complete', afterMs: 5 * MINUTE };
const DEFAULT_STOPPED_REASON =
  'ResourceInitializationError: unable to pull secrets or registry auth: execution resource ' +
  'retrieval failed: unable to retrieve secret from asm: service call has been retried 1 ' +
  'time(s): failed to fetch secret from asm: AccessDeniedException: User is not authorized ' +
  'to perform: secretsmanager:GetSecretValue';
const CIRCUIT_BREAKER_FAILED = 'ECS deployment circuit breaker: tasks failed to start.';
/** ECS's default pause hook timeout: 24 hours. */
const DEFAULT_HOOK_TIMEOUT_MINUTES = 1440;

/** Validates a service's deployment configuration as CreateService would; throws if it is wrong. */
function deploymentConfig(seed: DeploymentConfigurationSeed = {}): DeploymentConfig {
  const strategy = seed.strategy ?? 'ROLLING';
  const fail = (message: string): never => {
    throw new Error(`sim: deploymentConfiguration: ${message}`);
  };
  const bake = seed.bakeTimeInMinutes;
  if (bake !== undefined && (!Number.isInteger(bake) || bake < 0 || bake > 1440)) {
    fail(`bakeTimeInMinutes ${String(bake)} is not an integer from 0 to 1440`);
  }
  const hooks = seed.lifecycleHooks ?? [];
  if (hooks.length > 0 && strategy === 'ROLLING') {
    fail('lifecycle hooks are modelled for BLUE_GREEN, LINEAR and CANARY only');
  }
  if (hooks.length > 10) fail('at most 10 pause hooks per service');
  for (const hook of hooks) {
    if (hook.targetType !== 'PAUSE') fail('AWS_LAMBDA lifecycle hooks are not modelled');
    if (hook.lifecycleStages.length === 0) fail('a hook needs at least one lifecycle stage');
    for (const stage of hook.lifecycleStages) {
      if (!HOOK_STAGES.includes(stage)) fail(`${stage} is not a lifecycle hook stage`);
      if (stage === 'TEST_TRAFFIC_SHIFT' || stage === 'PRODUCTION_TRAFFIC_SHIFT') {
        fail(`pause hooks cannot be configured at ${stage}`);
      }
    }
    const timeout = hook.timeoutConfiguration?.timeoutInMinutes;
    if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1 || timeout > 20160)) {
      fail(`timeoutInMinutes ${String(timeout)} is not an integer from 1 to 20160`);
    }
  }
  if (seed.linearConfiguration && strategy !== 'LINEAR') fail('linearConfiguration needs LINEAR');
  if (seed.canaryConfiguration && strategy !== 'CANARY') fail('canaryConfiguration needs CANARY');
  const stepPercent = seed.linearConfiguration?.stepPercent ?? 10;
  if (stepPercent < 3 || stepPercent > 100) fail(`stepPercent ${String(stepPercent)} is not 3-100`);
  const steps =
    strategy === 'LINEAR' ? Math.ceil(100 / stepPercent) : strategy === 'CANARY' ? 2 : 1;
  return {
    strategy,
    bakeMs: strategy === 'ROLLING' ? 0 : (bake ?? 0) * MINUTE,
    steps,
    pauseHooks: hooks.map((hook) => ({
      stages: [...hook.lifecycleStages],
      timeoutMs:
        (hook.timeoutConfiguration?.timeoutInMinutes ?? DEFAULT_HOOK_TIMEOUT_MINUTES) * MINUTE,
      action: hook.timeoutConfiguration?.action ?? 'ROLLBACK',
    })),
    json: {
      strategy,
      ...(bake !== undefined && { bakeTimeInMinutes: bake }),
      ...(hooks.length > 0 && { lifecycleHooks: structuredClone(hooks) }),
      ...(seed.linearConfiguration && {
        linearConfiguration: structuredClone(seed.linearConfiguration),
      }),
      ...(seed.canaryConfiguration && {
        canaryConfiguration: structuredClone(seed.canaryConfiguration),
      }),
    },
  };
}

/** The simulated ECS of one account and Region. */
export class EcsSim implements SimService {
  private readonly clusters = new Map<string, Cluster>();
  private readonly taskDefinitions = new Map<string, TaskDefinition>();
  private readonly families = new Map<string, TaskDefinition[]>();
  private readonly servicesByArn = new Map<string, Service>();
  private readonly servicesByName = new Map<string, Service[]>();
  private readonly tasks = new Map<string, Task>();
  private readonly serviceDeployments = new Map<
    string,
    { service: Service; deployment: Deployment }
  >();

  constructor(private readonly ctx: SimContext) {}

  private arn(resource: string): string {
    return `arn:${this.ctx.partition}:ecs:${this.ctx.region}:${this.ctx.account}:${resource}`;
  }

  // -------------------------------------------------------------------------------------------
  // Seeding
  // -------------------------------------------------------------------------------------------

  /** Creates a cluster (no-op if it exists); returns its ARN. */
  addCluster(name: string): string {
    let cluster = this.clusters.get(name);
    if (!cluster) {
      cluster = {
        name,
        arn: this.arn(`cluster/${name}`),
        services: [],
        byRef: new Map(),
        tasks: [],
      };
      this.clusters.set(name, cluster);
    }
    return cluster.arn;
  }

  /** Registers the next revision of a family; returns its ARN. */
  addTaskDefinition(seed: TaskDefinitionSeed): string {
    const revisions = this.families.get(seed.family) ?? [];
    const revision = revisions.length + 1;
    const arn = this.arn(`task-definition/${seed.family}:${String(revision)}`);
    const account = this.ctx.account;
    const registeredAt = seed.registeredAt?.getTime() ?? this.ctx.clock.nowMs() - HOUR;
    const containerDefinitions = seed.containerDefinitions.map((c, i) => ({
      image: `${account}.dkr.ecr.${this.ctx.region}.amazonaws.com/${seed.family}:${String(revision)}`,
      cpu: 0,
      essential: true,
      environment: [],
      mountPoints: [],
      volumesFrom: [],
      ...structuredClone(c),
      name: c.name ?? `container-${String(i)}`,
    }));
    const td: TaskDefinition = {
      arn,
      family: seed.family,
      revision,
      containerNames: containerDefinitions.map((c) => c.name),
      images: containerDefinitions.map((c) => c.image),
      json: {
        taskDefinitionArn: arn,
        family: seed.family,
        revision,
        status: 'ACTIVE',
        containerDefinitions,
        volumes: structuredClone(seed.volumes ?? []),
        taskRoleArn:
          seed.taskRoleArn ?? `arn:${this.ctx.partition}:iam::${account}:role/${seed.family}-task`,
        executionRoleArn:
          seed.executionRoleArn ??
          `arn:${this.ctx.partition}:iam::${account}:role/${seed.family}-execution`,
        networkMode: 'awsvpc',
        requiresAttributes: [
          { name: 'ecs.capability.execution-role-awslogs' },
          { name: 'ecs.capability.secrets.asm.environment-variables' },
          { name: 'ecs.capability.task-eni' },
        ],
        placementConstraints: [],
        requiresCompatibilities: ['FARGATE'],
        compatibilities: ['EC2', 'FARGATE'],
        cpu: '256',
        memory: '512',
        registeredAt: epochSeconds(registeredAt),
        registeredBy: `arn:${this.ctx.partition}:sts::${account}:assumed-role/cdk-deploy/session`,
      },
      tags: Object.entries(seed.tags ?? {}).map(([key, value]) => ({ key, value })),
    };
    revisions.push(td);
    this.families.set(seed.family, revisions);
    this.taskDefinitions.set(arn, td);
    return arn;
  }

  /** Creates a service with one COMPLETED deployment; returns its ARN. */
  addService(seed: ServiceSeed): string {
    this.addCluster(seed.cluster);
    const cluster = this.clusterNamed(seed.cluster);
    if (cluster.byRef.has(seed.name)) {
      throw new Error(`sim: service ${seed.name} already exists in cluster ${seed.cluster}`);
    }
    const td = this.findTaskDefinition(seed.taskDefinition);
    if (!td) throw new Error(`sim: no task definition ${seed.taskDefinition}`);
    const now = this.ctx.clock.nowMs();
    const deployedAt = seed.deployedAt?.getTime() ?? now - 24 * HOUR;
    const arn = this.arn(`service/${cluster.name}/${seed.name}`);
    const service: Service = {
      name: seed.name,
      arn,
      cluster,
      controller: seed.deploymentController ?? 'ECS',
      circuitBreaker: seed.circuitBreaker ?? { enable: false, rollback: false },
      config: deploymentConfig(seed.deploymentConfiguration),
      tags: Object.entries(seed.tags ?? {}).map(([key, value]) => ({ key, value })),
      createdAt: Math.min(deployedAt, now) - 30 * 24 * HOUR,
      status: seed.status ?? 'ACTIVE',
      desiredCount: seed.desiredCount ?? 2,
      taskDefinition: td,
      deployments: [],
      history: [],
      lastCompleted: undefined,
      behaviour: seed.behaviour ?? DEFAULT_BEHAVIOUR,
      events: [],
    };
    const deployment = this.newDeployment(service, td, deployedAt, undefined, undefined);
    deployment.rolloutState = 'COMPLETED';
    deployment.rolloutStateReason = `ECS deployment ${deployment.id} completed.`;
    deployment.record.status = 'SUCCESSFUL';
    deployment.record.finishedAt = deployedAt;
    if (service.config.strategy !== 'ROLLING') deployment.record.lifecycleStage = 'CLEAN_UP';
    deployment.record.circuitBreaker.status = service.circuitBreaker.enable
      ? 'MONITORING_COMPLETE'
      : 'DISABLED';
    if (service.status !== 'INACTIVE') {
      for (let i = 0; i < deployment.desiredCount; i += 1) {
        const task = this.newTask(deployment, deployedAt);
        task.lastStatus = 'RUNNING';
        task.startedAt = deployedAt;
      }
    } else {
      deployment.desiredCount = 0;
    }
    service.deployments = [deployment];
    service.lastCompleted = deployment;
    cluster.services.push(service);
    for (const ref of [seed.name, arn, this.arn(`service/${seed.name}`)])
      cluster.byRef.set(ref, service);
    this.servicesByArn.set(arn, service);
    this.servicesByName.set(seed.name, [...(this.servicesByName.get(seed.name) ?? []), service]);
    return arn;
  }

  /** Changes what happens to the service's next deployments. */
  setBehaviour(service: string, behaviour: DeploymentBehaviour): void {
    this.serviceRef(service).behaviour = behaviour;
  }

  /** Every deployment of a service, oldest first, INACTIVE ones included. */
  deployments(service: string): DeploymentState[] {
    return this.serviceRef(service).history.map((d) => ({
      id: d.id,
      status: d.status,
      taskDefinition: d.taskDefinition.arn,
      desiredCount: d.desiredCount,
      runningCount: count(d.live, 'RUNNING'),
      pendingCount: pending(d.live),
      failedTasks: d.failedTasks,
      createdAt: new Date(d.createdAt),
      updatedAt: new Date(d.updatedAt),
      rolloutState: d.rolloutState,
      rolloutStateReason: d.rolloutStateReason,
      serviceDeploymentArn: d.record.arn,
      lifecycleStage: d.record.lifecycleStage,
    }));
  }

  /** The service's task definition ARN now. */
  taskDefinitionOf(service: string): string {
    return this.serviceRef(service).taskDefinition.arn;
  }

  /** A service by ARN, or by name when the name is unique across clusters. */
  private serviceRef(reference: string): Service {
    const byArn = this.servicesByArn.get(reference);
    if (byArn) return byArn;
    const byName = this.servicesByName.get(reference) ?? [];
    if (byName.length === 1 && byName[0]) return byName[0];
    throw new Error(
      byName.length === 0
        ? `sim: no service ${reference}`
        : `sim: service name ${reference} is in several clusters; use its ARN`,
    );
  }

  // -------------------------------------------------------------------------------------------
  // The deployment life cycle
  // -------------------------------------------------------------------------------------------

  private newDeployment(
    service: Service,
    td: TaskDefinition,
    at: number,
    rollbackOf: Deployment | undefined,
    plan: readonly LifecycleStage[] | undefined,
  ): Deployment {
    const id = `ecs-svc/${this.ctx.ids.digits(19, 'deployment')}`;
    const numeric = id.slice('ecs-svc/'.length);
    const where = `${service.cluster.name}/${service.name}`;
    const record: ServiceDeploymentRecord = rollbackOf?.record ?? {
      arn: this.arn(
        `service-deployment/${where}/${this.ctx.ids.urlSafe(21, 'service-deployment')}`,
      ),
      // The same digits as the `ecs-svc/` id: the link between the two APIs (module comment).
      revisionArn: this.arn(`service-revision/${where}/${numeric}`),
      config: service.config,
      hooks: [],
      sourceRevisions: service.deployments.map((d) => ({
        arn: d.record.revisionArn,
        deployment: d,
      })),
      status: 'IN_PROGRESS',
      updatedAt: at,
      circuitBreaker: { status: service.circuitBreaker.enable ? 'MONITORING' : 'DISABLED' },
    };
    const deployment: Deployment = {
      id,
      service,
      status: 'PRIMARY',
      taskDefinition: td,
      desiredCount: service.desiredCount,
      failedTasks: 0,
      createdAt: at,
      updatedAt: at,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: `ECS deployment ${id} in progress.`,
      live: [],
      record,
      isRollback: rollbackOf !== undefined,
      behaviour: rollbackOf
        ? {
            outcome: 'complete',
            afterMs:
              rollbackOf.behaviour.outcome === 'hang'
                ? 5 * MINUTE
                : (rollbackOf.behaviour.rollbackAfterMs ?? 5 * MINUTE),
          }
        : service.behaviour,
      plan,
      stageIndex: 0,
      waiting: [],
    };
    service.history.push(deployment);
    if (!rollbackOf) this.serviceDeployments.set(record.arn, { service, deployment });
    return deployment;
  }

  private newTask(deployment: Deployment, at: number): Task {
    const service = deployment.service;
    const id = this.ctx.ids.hex(32, 'task');
    const task: Task = {
      arn: this.arn(`task/${service.cluster.name}/${id}`),
      cluster: service.cluster,
      service,
      deployment,
      taskDefinition: deployment.taskDefinition,
      createdAt: at,
      lastStatus: 'PENDING',
      desiredStatus: 'RUNNING',
    };
    deployment.live.push(task);
    service.cluster.tasks.push(task);
    this.tasks.set(task.arn, task);
    return task;
  }

  private stopTask(
    task: Task,
    at: number,
    reason: string,
    stopCode: string,
    exitCode?: number,
  ): void {
    task.lastStatus = 'STOPPED';
    task.desiredStatus = 'STOPPED';
    task.stoppingAt = at;
    task.stoppedAt = at;
    task.stoppedReason = reason;
    task.stopCode = stopCode;
    if (exitCode !== undefined) task.exitCode = exitCode;
    const live = task.deployment.live;
    const index = live.indexOf(task);
    if (index >= 0) live.splice(index, 1);
  }

  private serviceEvent(service: Service, message: string): void {
    service.events.unshift({
      id: this.ctx.ids.uuid('service-event'),
      createdAt: this.ctx.clock.nowMs(),
      message: `(service ${service.name}) ${message}`,
    });
    if (service.events.length > SERVICE_EVENTS_KEPT) service.events.length = SERVICE_EVENTS_KEPT;
  }

  private emit(
    deployment: Deployment,
    eventName: EcsDeploymentDetail['eventName'],
    reason: string,
  ): void {
    const detail: EcsDeploymentDetail = {
      eventType: eventName === 'SERVICE_DEPLOYMENT_FAILED' ? 'ERROR' : 'INFO',
      eventName,
      deploymentId: deployment.id,
      updatedAt: new Date(deployment.updatedAt).toISOString(),
      reason,
    };
    this.ctx.events.emit(
      'aws.ecs',
      'ECS Deployment State Change',
      [deployment.service.arn],
      detail,
    );
  }

  /** Emits an "ECS Hook State Change" event about a pause hook. */
  private emitHook(hook: PauseHook, eventName: EcsHookDetail['eventName']): void {
    const service = hook.deployment.service;
    const detail: EcsHookDetail = {
      eventType: eventName === 'HOOK_FAILED' || eventName === 'HOOK_TIMED_OUT' ? 'ERROR' : 'INFO',
      eventName,
      hookId: hook.hookId,
      hookType: 'PAUSE',
      expiresAt: isoSeconds(hook.expiresAt),
      lifecycleStage: hook.stage,
      clusterArn: service.cluster.arn,
      serviceArn: service.arn,
      serviceDeploymentArn: hook.deployment.record.arn,
      updatedAt: new Date(this.ctx.clock.nowMs()).toISOString(),
    };
    this.ctx.events.emit('aws.ecs', 'ECS Hook State Change', [hook.deployment.record.arn], detail);
  }

  /** The lifecycle stages of a new blue/green-family deployment (undefined for ROLLING). */
  private stagePlan(service: Service): LifecycleStage[] | undefined {
    const config = service.config;
    if (config.strategy === 'ROLLING') return undefined;
    const plan: LifecycleStage[] = [];
    // "Only happens when you start a new service deployment with more than 1 service revision
    // in an ACTIVE state."
    if (service.deployments.length > 1) plan.push('RECONCILE_SERVICE');
    plan.push('PRE_SCALE_UP', 'SCALE_UP', 'POST_SCALE_UP');
    plan.push('TEST_TRAFFIC_SHIFT', 'POST_TEST_TRAFFIC_SHIFT');
    for (let step = 0; step < config.steps; step += 1) {
      plan.push('PRE_PRODUCTION_TRAFFIC_SHIFT', 'PRODUCTION_TRAFFIC_SHIFT');
    }
    plan.push('POST_PRODUCTION_TRAFFIC_SHIFT', 'BAKE_TIME', 'CLEAN_UP');
    return plan;
  }

  /**
   * Starts a new PRIMARY deployment of `td` (UpdateService, or a rollback by the circuit breaker
   * or a pause hook, with the reason ECS gives).
   */
  private startDeployment(
    service: Service,
    td: TaskDefinition,
    rollback?: { of: Deployment; to: Deployment; reason: string },
  ): Deployment {
    const now = this.ctx.clock.nowMs();
    const plan = rollback ? undefined : this.stagePlan(service);
    for (const previous of service.deployments) {
      if (previous.status !== 'PRIMARY') continue;
      previous.status = 'ACTIVE';
      previous.updatedAt = now;
      previous.timer?.cancel();
      previous.timer = undefined;
      if (previous.rolloutState === 'IN_PROGRESS' && !rollback) {
        // Superseded: its service deployment stops.
        previous.record.status = 'STOPPED';
        previous.record.statusReason = 'Service deployment superseded by a newer deployment.';
        previous.record.stoppedAt = now;
        previous.record.updatedAt = now;
        this.abandonHooks(previous);
      }
    }
    const deployment = this.newDeployment(service, td, now, rollback?.of, plan);
    service.deployments = [deployment, ...service.deployments];
    service.taskDefinition = td;
    let reason = deployment.rolloutStateReason;
    if (rollback) {
      reason = rollback.reason;
      deployment.rolloutStateReason = reason;
      rollback.of.record.rollback = { reason, startedAt: now, deployment };
      rollback.of.record.status = 'ROLLBACK_IN_PROGRESS';
      rollback.of.record.updatedAt = now;
      this.serviceEvent(service, `rolling back to deployment ${rollback.to.id}.`);
    }
    this.emit(deployment, 'SERVICE_DEPLOYMENT_IN_PROGRESS', reason);
    if (plan) this.enterStage(deployment, 0);
    else this.launch(deployment);
    return deployment;
  }

  /** Starts the deployment's tasks and what its behaviour makes of them. */
  private launch(deployment: Deployment): void {
    const service = deployment.service;
    const now = this.ctx.clock.nowMs();
    for (let i = 0; i < deployment.desiredCount; i += 1) this.newTask(deployment, now);
    if (!deployment.isRollback) {
      this.serviceEvent(service, `has started ${String(deployment.desiredCount)} tasks.`);
    }
    const behaviour = deployment.behaviour;
    switch (behaviour.outcome) {
      case 'complete':
        deployment.timer = this.ctx.clock.after(behaviour.afterMs ?? 5 * MINUTE, () => {
          deployment.timer = undefined;
          if (deployment.plan) {
            this.tasksUp(deployment);
            this.enterStage(deployment, deployment.stageIndex + 1);
          } else {
            this.complete(deployment);
          }
        });
        break;
      case 'fail': {
        const every = behaviour.afterMs ?? 2 * MINUTE;
        if (service.circuitBreaker.enable) {
          deployment.timer = this.ctx.clock.after(every, () => {
            this.failWithCircuitBreaker(deployment, behaviour);
          });
        } else {
          const loop = (): void => {
            this.failBatch(deployment, behaviour, deployment.desiredCount, true);
            deployment.timer = this.ctx.clock.after(every, loop);
          };
          deployment.timer = this.ctx.clock.after(every, loop);
        }
        break;
      }
      case 'hang':
        break;
    }
  }

  /** The deployment's tasks are RUNNING. */
  private tasksUp(deployment: Deployment): void {
    const now = this.ctx.clock.nowMs();
    for (const task of deployment.live) {
      if (task.lastStatus !== 'RUNNING') {
        task.lastStatus = 'RUNNING';
        task.startedAt = now;
      }
    }
    deployment.updatedAt = now;
  }

  /** The deployment reaches stage `index` of its plan: it pauses for its hooks, or works on. */
  private enterStage(deployment: Deployment, index: number): void {
    const stage = deployment.plan?.[index];
    if (stage === undefined) return;
    const record = deployment.record;
    deployment.stageIndex = index;
    record.lifecycleStage = stage;
    record.updatedAt = this.ctx.clock.nowMs();
    const hooks = record.config.pauseHooks.filter((h) =>
      (h.stages as readonly string[]).includes(stage),
    );
    if (hooks.length === 0) {
      this.workStage(deployment);
      return;
    }
    deployment.waiting = hooks.map((h) => this.openHook(deployment, stage, h));
  }

  /** Does the current stage's work, then enters the next stage (now or later). */
  private workStage(deployment: Deployment): void {
    switch (deployment.plan?.[deployment.stageIndex]) {
      case 'SCALE_UP':
        this.launch(deployment);
        return;
      case 'BAKE_TIME': {
        const bakeMs = deployment.record.config.bakeMs;
        if (bakeMs > 0) {
          deployment.timer = this.ctx.clock.after(bakeMs, () => {
            deployment.timer = undefined;
            this.enterStage(deployment, deployment.stageIndex + 1);
          });
          return;
        }
        break;
      }
      case 'CLEAN_UP':
        this.complete(deployment);
        return;
      default:
        break;
    }
    this.enterStage(deployment, deployment.stageIndex + 1);
  }

  /** Opens a pause hook at the deployment's current stage (HOOK_AWAITING_ACTION). */
  private openHook(
    deployment: Deployment,
    stage: LifecycleStage,
    config: DeploymentConfig['pauseHooks'][number],
  ): PauseHook {
    const now = this.ctx.clock.nowMs();
    const hook: PauseHook = {
      hookId: `ecs-pause-${this.ctx.ids.urlSafe(43, 'pause-hook')}`,
      stage,
      deployment,
      status: 'AWAITING_ACTION',
      expiresAt: now + config.timeoutMs,
      timeoutAction: config.action,
    };
    hook.timer = this.ctx.clock.schedule(hook.expiresAt, () => {
      hook.timer = undefined;
      hook.status = 'TIMED_OUT';
      this.emitHook(hook, 'HOOK_TIMED_OUT');
      this.afterHook(hook, hook.timeoutAction);
    });
    deployment.record.hooks.push(hook);
    this.emitHook(hook, 'HOOK_AWAITING_ACTION');
    return hook;
  }

  /** ContinueServiceDeployment on a hook awaiting action. */
  private actOnHook(hook: PauseHook, action: 'CONTINUE' | 'ROLLBACK'): void {
    hook.timer?.cancel();
    hook.timer = undefined;
    hook.status = action === 'CONTINUE' ? 'SUCCEEDED' : 'FAILED';
    this.emitHook(hook, action === 'CONTINUE' ? 'HOOK_SUCCEEDED' : 'HOOK_FAILED');
    this.afterHook(hook, action);
  }

  /** A hook was continued, rolled back or timed out: the deployment goes on or rolls back. */
  private afterHook(hook: PauseHook, action: 'CONTINUE' | 'ROLLBACK'): void {
    const deployment = hook.deployment;
    if (action === 'ROLLBACK') {
      this.rollBackFromHook(hook);
      return;
    }
    // Every hook of the stage must be continued before the deployment proceeds.
    if (deployment.waiting.some((h) => h.status === 'AWAITING_ACTION')) return;
    deployment.waiting = [];
    this.workStage(deployment);
  }

  /** Hooks still awaiting action on a deployment that stops waiting fail (no event). */
  private abandonHooks(deployment: Deployment): void {
    for (const hook of deployment.waiting) {
      if (hook.status !== 'AWAITING_ACTION') continue;
      hook.timer?.cancel();
      hook.timer = undefined;
      hook.status = 'FAILED';
    }
    deployment.waiting = [];
  }

  /** A pause hook asked for (or timed out into) a rollback: as the circuit breaker rolls back. */
  private rollBackFromHook(hook: PauseHook): void {
    const deployment = hook.deployment;
    const service = deployment.service;
    const now = this.ctx.clock.nowMs();
    this.abandonHooks(deployment);
    deployment.timer?.cancel();
    deployment.timer = undefined;
    const why = hook.status === 'TIMED_OUT' ? 'timed out' : 'requested a rollback';
    const reason = `ECS deployment lifecycle hook ${hook.hookId} ${why} at ${hook.stage}.`;
    deployment.rolloutState = 'FAILED';
    deployment.rolloutStateReason = reason;
    deployment.updatedAt = now;
    const record = deployment.record;
    record.statusReason = reason;
    record.updatedAt = now;
    this.serviceEvent(service, `(deployment ${deployment.id}) deployment failed: ${reason}`);
    this.emit(deployment, 'SERVICE_DEPLOYMENT_FAILED', reason);
    const target = service.lastCompleted;
    if (target) {
      this.startDeployment(service, target.taskDefinition, {
        of: deployment,
        to: target,
        reason: `ECS deployment lifecycle hook: rolling back to deploymentId ${target.id}.`,
      });
    } else {
      record.status = 'STOPPED';
      record.stoppedAt = now;
    }
  }

  private complete(deployment: Deployment): void {
    const service = deployment.service;
    const now = this.ctx.clock.nowMs();
    deployment.timer = undefined;
    this.tasksUp(deployment);
    deployment.rolloutState = 'COMPLETED';
    deployment.rolloutStateReason = `ECS deployment ${deployment.id} completed.`;
    deployment.updatedAt = now;
    for (const old of service.deployments) {
      if (old === deployment) continue;
      old.status = 'INACTIVE';
      old.updatedAt = now;
      old.timer?.cancel();
      old.timer = undefined;
      for (const task of [...old.live]) {
        this.stopTask(
          task,
          now,
          `Scaling activity initiated by (deployment ${deployment.id})`,
          'ServiceSchedulerInitiated',
        );
      }
    }
    service.deployments = [deployment];
    service.lastCompleted = deployment;
    const record = deployment.record;
    record.updatedAt = now;
    record.finishedAt = now;
    record.status = deployment.isRollback ? 'ROLLBACK_SUCCESSFUL' : 'SUCCESSFUL';
    if (record.config.strategy !== 'ROLLING') record.lifecycleStage = 'CLEAN_UP';
    if (!deployment.isRollback && service.circuitBreaker.enable) {
      record.circuitBreaker.status = 'MONITORING_COMPLETE';
    }
    this.serviceEvent(service, `(deployment ${deployment.id}) deployment completed.`);
    this.serviceEvent(service, 'has reached a steady state.');
    this.emit(deployment, 'SERVICE_DEPLOYMENT_COMPLETED', deployment.rolloutStateReason);
  }

  /** `size` tasks of the deployment fail (its pending ones first), and as many replace them. */
  private failBatch(
    deployment: Deployment,
    behaviour: Extract<DeploymentBehaviour, { outcome: 'fail' }>,
    size: number,
    replace: boolean,
  ): void {
    const now = this.ctx.clock.nowMs();
    const reason =
      behaviour.exitCode === undefined
        ? (behaviour.stoppedReason ?? DEFAULT_STOPPED_REASON)
        : (behaviour.stoppedReason ?? 'Essential container in task exited');
    const stopCode =
      behaviour.exitCode === undefined ? 'TaskFailedToStart' : 'EssentialContainerExited';
    for (let i = 0; i < size; i += 1) {
      const task =
        deployment.live.find((t) => t.lastStatus !== 'RUNNING') ?? this.newTask(deployment, now);
      if (behaviour.exitCode !== undefined) task.startedAt = now;
      this.stopTask(task, now, reason, stopCode, behaviour.exitCode);
      deployment.failedTasks += 1;
    }
    deployment.updatedAt = now;
    this.serviceEvent(
      deployment.service,
      `(deployment ${deployment.id}) ${String(size)} tasks failed to start: ${reason}`,
    );
    // The scheduler keeps trying: the deployment is back to `desiredCount` pending tasks.
    while (replace && deployment.live.length < deployment.desiredCount)
      this.newTask(deployment, now);
  }

  private failWithCircuitBreaker(
    deployment: Deployment,
    behaviour: Extract<DeploymentBehaviour, { outcome: 'fail' }>,
  ): void {
    const service = deployment.service;
    const now = this.ctx.clock.nowMs();
    deployment.timer = undefined;
    const threshold = Math.min(200, Math.max(3, Math.ceil(deployment.desiredCount * 0.5)));
    // Enough tasks fail to trip the breaker, every pending one among them; then it stops
    // launching, so no pending task is left.
    this.failBatch(deployment, behaviour, Math.max(threshold, pending(deployment.live)), false);
    deployment.rolloutState = 'FAILED';
    deployment.rolloutStateReason = CIRCUIT_BREAKER_FAILED;
    deployment.updatedAt = now;
    const record = deployment.record;
    record.circuitBreaker.status = 'TRIGGERED';
    record.updatedAt = now;
    record.statusReason = CIRCUIT_BREAKER_FAILED;
    this.serviceEvent(
      service,
      `(deployment ${deployment.id}) deployment failed: tasks failed to start.`,
    );
    this.emit(deployment, 'SERVICE_DEPLOYMENT_FAILED', CIRCUIT_BREAKER_FAILED);
    const target = service.lastCompleted;
    if (service.circuitBreaker.rollback && target) {
      this.startDeployment(service, target.taskDefinition, {
        of: deployment,
        to: target,
        reason: `ECS deployment circuit breaker: rolling back to deploymentId ${target.id}.`,
      });
    } else {
      record.status = 'STOPPED';
      record.stoppedAt = now;
    }
  }

  // -------------------------------------------------------------------------------------------
  // The API
  // -------------------------------------------------------------------------------------------

  /** Answers one ECS request. */
  handle(operation: string, input: Json): Answer {
    switch (operation) {
      case 'ListClusters':
        return this.listClusters(input);
      case 'DescribeClusters':
        return this.describeClusters(input);
      case 'ListServices':
        return this.listServices(input);
      case 'DescribeServices':
        return this.describeServices(input);
      case 'DescribeTaskDefinition':
        return this.describeTaskDefinition(input);
      case 'UpdateService':
        return this.updateService(input);
      case 'ListTasks':
        return this.listTasks(input);
      case 'DescribeTasks':
        return this.describeTasks(input);
      case 'ListServiceDeployments':
        return this.listServiceDeployments(input);
      case 'DescribeServiceDeployments':
        return this.describeServiceDeployments(input);
      case 'ContinueServiceDeployment':
        return this.continueServiceDeployment(input);
      default:
        throw notImplemented('ecs', operation, this.ctx.account);
    }
  }

  private clusterNamed(name: string): Cluster {
    const cluster = this.clusters.get(name);
    if (!cluster) throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
    return cluster;
  }

  /** The request's `cluster` (name or ARN; `default` when absent). */
  private requestCluster(input: Json): Cluster {
    const reference = optionalString(input, 'cluster') ?? 'default';
    if (!reference.startsWith('arn:')) return this.clusterNamed(reference);
    const name = reference.slice(reference.indexOf(':cluster/') + ':cluster/'.length);
    const cluster = this.clusters.get(name);
    if (!reference.includes(':cluster/') || !cluster || cluster.arn !== reference) {
      throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
    }
    return cluster;
  }

  private maxResults(input: Json, fallback: number, max = 100): number {
    const value = optionalNumber(input, 'maxResults') ?? fallback;
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new AwsError(
        'InvalidParameterException',
        `maxResults must be between 1 and ${String(max)}.`,
      );
    }
    return value;
  }

  private findTaskDefinition(reference: string): TaskDefinition | undefined {
    const direct = this.taskDefinitions.get(reference);
    if (direct) return direct;
    if (reference.startsWith('arn:')) return undefined;
    const [family = '', revision] = reference.split(':');
    const revisions = this.families.get(family);
    if (!revisions) return undefined;
    return revision === undefined ? revisions.at(-1) : revisions[Number(revision) - 1];
  }

  private listClusters(input: Json): Json {
    const { items, nextToken } = page(
      [...this.clusters.values()].map((c) => c.arn),
      {
        token: optionalString(input, 'nextToken'),
        size: this.maxResults(input, 100),
        scope: 'clusters',
        errorCode: 'InvalidParameterException',
      },
    );
    return { clusterArns: items, ...(nextToken !== undefined && { nextToken }) };
  }

  private describeClusters(input: Json): Json {
    const references = optionalStrings(input, 'clusters') ?? ['default'];
    const clusters: Json[] = [];
    const failures: Json[] = [];
    for (const reference of references) {
      const name = reference.startsWith('arn:') ? (reference.split('/').pop() ?? '') : reference;
      const cluster = this.clusters.get(name);
      if (!cluster || (reference.startsWith('arn:') && cluster.arn !== reference)) {
        failures.push({
          arn: reference.startsWith('arn:') ? reference : this.arn(`cluster/${reference}`),
          reason: 'MISSING',
        });
        continue;
      }
      const active = cluster.services.filter((s) => s.status === 'ACTIVE');
      clusters.push({
        clusterArn: cluster.arn,
        clusterName: cluster.name,
        status: 'ACTIVE',
        activeServicesCount: active.length,
        runningTasksCount: active.reduce(
          (n, s) => n + s.deployments.reduce((m, d) => m + count(d.live, 'RUNNING'), 0),
          0,
        ),
        pendingTasksCount: active.reduce(
          (n, s) => n + s.deployments.reduce((m, d) => m + pending(d.live), 0),
          0,
        ),
        registeredContainerInstancesCount: 0,
        statistics: [],
        tags: [],
        settings: [{ name: 'containerInsights', value: 'disabled' }],
        capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
        defaultCapacityProviderStrategy: [],
      });
    }
    return { clusters, failures };
  }

  private listServices(input: Json): Json {
    const cluster = this.requestCluster(input);
    const arns = cluster.services.filter((s) => s.status !== 'INACTIVE').map((s) => s.arn);
    // Without maxResults ListServices returns up to 10 results (ECS API reference).
    const { items, nextToken } = page(arns, {
      token: optionalString(input, 'nextToken'),
      size: this.maxResults(input, 10),
      scope: `services|${cluster.arn}`,
      errorCode: 'InvalidParameterException',
    });
    return { serviceArns: items, ...(nextToken !== undefined && { nextToken }) };
  }

  private describeServices(input: Json): Json {
    const cluster = this.requestCluster(input);
    const references = optionalStrings(input, 'services');
    if (!references || references.length === 0) {
      throw new AwsError('InvalidParameterException', 'Services cannot be empty.');
    }
    if (references.length > 10) {
      throw new AwsError('InvalidParameterException', 'service names can have at most 10 items.');
    }
    const withTags = (optionalStrings(input, 'include') ?? []).includes('TAGS');
    const services: Json[] = [];
    const failures: Json[] = [];
    for (const reference of references) {
      const service = cluster.byRef.get(reference);
      if (service) services.push(this.serviceJson(service, withTags));
      else {
        failures.push({
          arn: reference.startsWith('arn:')
            ? reference
            : this.arn(`service/${cluster.name}/${reference}`),
          reason: 'MISSING',
        });
      }
    }
    return { services, failures };
  }

  private describeTaskDefinition(input: Json): Json {
    const reference = optionalString(input, 'taskDefinition');
    if (reference === undefined) {
      throw new AwsError('ClientException', 'Task definition cannot be empty.');
    }
    const td = this.findTaskDefinition(reference);
    if (!td) throw new AwsError('ClientException', 'Unable to describe task definition.');
    const withTags = (optionalStrings(input, 'include') ?? []).includes('TAGS');
    return { taskDefinition: td.json, ...(withTags && { tags: td.tags }) };
  }

  private updateService(input: Json): Json {
    const cluster = this.requestCluster(input);
    const reference = optionalString(input, 'service');
    if (reference === undefined) {
      throw new AwsError('InvalidParameterException', 'Service cannot be empty.');
    }
    const service = cluster.byRef.get(reference);
    if (!service) throw new AwsError('ServiceNotFoundException', 'Service not found.');
    if (service.status !== 'ACTIVE') {
      throw new AwsError('ServiceNotActiveException', 'Service was not ACTIVE.');
    }
    const force = input.forceNewDeployment === true;
    const tdReference = optionalString(input, 'taskDefinition');
    if (service.controller !== 'ECS' && force) {
      throw new AwsError(
        'InvalidParameterException',
        service.controller === 'CODE_DEPLOY'
          ? 'Cannot force a new deployment on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.'
          : 'Cannot force a new deployment on services with a EXTERNAL deployment controller. Use a new task set to deploy.',
      );
    }
    if (service.controller !== 'ECS' && tdReference !== undefined) {
      throw new AwsError(
        'InvalidParameterException',
        `Unable to update task definition on services with a ${service.controller} deployment controller.`,
      );
    }
    const td =
      tdReference === undefined ? service.taskDefinition : this.findTaskDefinition(tdReference);
    if (!td) throw new AwsError('InvalidParameterException', 'TaskDefinition not found.');
    const desiredCount = optionalNumber(input, 'desiredCount');
    if (desiredCount !== undefined) {
      if (!Number.isInteger(desiredCount) || desiredCount < 0) {
        throw new AwsError(
          'InvalidParameterException',
          'desiredCount must be a non-negative integer.',
        );
      }
      service.desiredCount = desiredCount;
      const primary = service.deployments[0];
      if (primary) primary.desiredCount = desiredCount;
    }
    if (force || td !== service.taskDefinition) this.startDeployment(service, td);
    return { service: this.serviceJson(service, false) };
  }

  private pruneStopped(cluster: Cluster): void {
    const cutoff = this.ctx.clock.nowMs() - STOPPED_TASK_RETENTION_MS;
    if (!cluster.tasks.some((t) => t.stoppedAt !== undefined && t.stoppedAt < cutoff)) return;
    cluster.tasks = cluster.tasks.filter((t) => {
      const keep = t.stoppedAt === undefined || t.stoppedAt >= cutoff;
      if (!keep) this.tasks.delete(t.arn);
      return keep;
    });
  }

  private listTasks(input: Json): Json {
    const cluster = this.requestCluster(input);
    this.pruneStopped(cluster);
    const desiredStatus = optionalString(input, 'desiredStatus') ?? 'RUNNING';
    const serviceName = optionalString(input, 'serviceName');
    const startedBy = optionalString(input, 'startedBy');
    const family = optionalString(input, 'family');
    let service: Service | undefined;
    if (serviceName !== undefined) {
      service = cluster.byRef.get(serviceName);
      if (!service) throw new AwsError('ServiceNotFoundException', 'Service not found.');
    }
    const arns = cluster.tasks
      .filter(
        (t) =>
          (desiredStatus === 'PENDING'
            ? t.lastStatus === 'PENDING'
            : t.desiredStatus === desiredStatus) &&
          (service === undefined || t.service === service) &&
          (startedBy === undefined || t.deployment.id === startedBy) &&
          (family === undefined || t.taskDefinition.family === family),
      )
      .map((t) => t.arn);
    const { items, nextToken } = page(arns, {
      token: optionalString(input, 'nextToken'),
      size: this.maxResults(input, 100),
      scope: `tasks|${cluster.arn}`,
      errorCode: 'InvalidParameterException',
    });
    return { taskArns: items, ...(nextToken !== undefined && { nextToken }) };
  }

  private describeTasks(input: Json): Json {
    const cluster = this.requestCluster(input);
    this.pruneStopped(cluster);
    const references = optionalStrings(input, 'tasks');
    if (!references || references.length === 0) {
      throw new AwsError('InvalidParameterException', 'Tasks cannot be empty.');
    }
    if (references.length > 100) {
      throw new AwsError('InvalidParameterException', 'Tasks can have at most 100 items.');
    }
    const tasks: Json[] = [];
    const failures: Json[] = [];
    for (const reference of references) {
      const arn = reference.startsWith('arn:')
        ? reference
        : this.arn(`task/${cluster.name}/${reference}`);
      const task = this.tasks.get(arn);
      if (task && task.cluster === cluster) tasks.push(this.taskJson(task));
      else failures.push({ arn, reason: 'MISSING' });
    }
    return { tasks, failures };
  }

  private serviceDeploymentSummary(entry: { service: Service; deployment: Deployment }): Json {
    const { service, deployment } = entry;
    const record = deployment.record;
    return {
      serviceDeploymentArn: record.arn,
      serviceArn: service.arn,
      clusterArn: service.cluster.arn,
      createdAt: epochSeconds(deployment.createdAt),
      startedAt: epochSeconds(deployment.createdAt),
      ...(record.finishedAt !== undefined && { finishedAt: epochSeconds(record.finishedAt) }),
      targetServiceRevisionArn: record.revisionArn,
      status: record.status,
      ...(record.statusReason !== undefined && { statusReason: record.statusReason }),
    };
  }

  private listServiceDeployments(input: Json): Json {
    const cluster = this.requestCluster(input);
    const reference = optionalString(input, 'service');
    if (reference === undefined)
      throw new AwsError('InvalidParameterException', 'Service cannot be empty.');
    const service = cluster.byRef.get(reference);
    if (!service) throw new AwsError('ServiceNotFoundException', 'Service not found.');
    const statuses = optionalStrings(input, 'status');
    for (const status of statuses ?? []) {
      if (!SERVICE_DEPLOYMENT_STATUSES.includes(status)) {
        throw new AwsError('InvalidParameterException', `Invalid status: ${status}.`);
      }
    }
    const createdAt = input.createdAt as { before?: number; after?: number } | undefined;
    const entries = service.history
      .filter((d) => !d.isRollback)
      .filter((d) => statuses === undefined || statuses.includes(d.record.status))
      .filter(
        (d) =>
          (createdAt?.after === undefined || d.createdAt >= createdAt.after * 1000) &&
          (createdAt?.before === undefined || d.createdAt <= createdAt.before * 1000),
      )
      .reverse()
      .map((deployment) => this.serviceDeploymentSummary({ service, deployment }));
    const { items, nextToken } = page(entries, {
      token: optionalString(input, 'nextToken'),
      size: this.maxResults(input, 20),
      scope: `service-deployments|${service.arn}`,
      errorCode: 'InvalidParameterException',
    });
    return { serviceDeployments: items, ...(nextToken !== undefined && { nextToken }) };
  }

  private describeServiceDeployments(input: Json): Json {
    const arns = optionalStrings(input, 'serviceDeploymentArns');
    if (!arns || arns.length === 0) {
      throw new AwsError('InvalidParameterException', 'serviceDeploymentArns cannot be empty.');
    }
    if (arns.length > 20) {
      throw new AwsError(
        'InvalidParameterException',
        'serviceDeploymentArns can have at most 20 items.',
      );
    }
    const serviceDeployments: Json[] = [];
    const failures: Json[] = [];
    for (const arn of arns) {
      const entry = this.serviceDeployments.get(arn);
      if (!entry) {
        failures.push({ arn, reason: 'MISSING' });
        continue;
      }
      const { service, deployment } = entry;
      const record = deployment.record;
      const threshold = Math.min(200, Math.max(3, Math.ceil(deployment.desiredCount * 0.5)));
      serviceDeployments.push({
        ...this.serviceDeploymentSummary(entry),
        updatedAt: epochSeconds(record.updatedAt),
        ...(record.stoppedAt !== undefined && { stoppedAt: epochSeconds(record.stoppedAt) }),
        sourceServiceRevisions: record.sourceRevisions.map((s) => ({
          arn: s.arn,
          requestedTaskCount: s.deployment.desiredCount,
          runningTaskCount: count(s.deployment.live, 'RUNNING'),
          pendingTaskCount: pending(s.deployment.live),
        })),
        targetServiceRevision: {
          arn: record.revisionArn,
          requestedTaskCount: deployment.desiredCount,
          runningTaskCount: count(deployment.live, 'RUNNING'),
          pendingTaskCount: pending(deployment.live),
        },
        ...(record.lifecycleStage !== undefined && { lifecycleStage: record.lifecycleStage }),
        ...(record.hooks.length > 0 && {
          lifecycleHookDetails: record.hooks.map((hook) => ({
            hookId: hook.hookId,
            targetType: 'PAUSE',
            status: hook.status,
            expiresAt: epochSeconds(hook.expiresAt),
            timeoutAction: hook.timeoutAction,
          })),
        }),
        deploymentConfiguration: this.deploymentConfiguration(service, record.config),
        ...(record.rollback && {
          rollback: {
            reason: record.rollback.reason,
            startedAt: epochSeconds(record.rollback.startedAt),
            serviceRevisionArn: record.sourceRevisions.find(
              (s) => s.deployment.taskDefinition === record.rollback?.deployment.taskDefinition,
            )?.arn,
          },
        }),
        deploymentCircuitBreaker: {
          status: record.circuitBreaker.status,
          failureCount: deployment.failedTasks,
          threshold,
        },
      });
    }
    return { serviceDeployments, failures };
  }

  private continueServiceDeployment(input: Json): Json {
    const arn = optionalString(input, 'serviceDeploymentArn');
    if (arn === undefined || arn === '') {
      throw new AwsError('InvalidParameterException', 'serviceDeploymentArn cannot be empty.');
    }
    const hookId = optionalString(input, 'hookId');
    if (hookId === undefined || hookId === '') {
      throw new AwsError('InvalidParameterException', 'hookId cannot be empty.');
    }
    const action = optionalString(input, 'action') ?? 'CONTINUE';
    if (action !== 'CONTINUE' && action !== 'ROLLBACK') {
      throw new AwsError(
        'InvalidParameterException',
        `Invalid action: ${action}. Valid values are CONTINUE and ROLLBACK.`,
      );
    }
    const entry = this.serviceDeployments.get(arn);
    if (!entry) {
      throw new AwsError('ServiceDeploymentNotFoundException', 'Service deployment not found.');
    }
    const hook = entry.deployment.record.hooks.find((h) => h.hookId === hookId);
    if (!hook) {
      throw new AwsError(
        'InvalidParameterException',
        `Lifecycle hook ${hookId} was not found in service deployment ${arn}.`,
      );
    }
    if (hook.status !== 'AWAITING_ACTION' || entry.deployment.record.status !== 'IN_PROGRESS') {
      throw new AwsError(
        'InvalidParameterException',
        `Lifecycle hook ${hookId} is not awaiting action (status ${hook.status}).`,
      );
    }
    this.actOnHook(hook, action);
    return { serviceDeploymentArn: arn };
  }

  // -------------------------------------------------------------------------------------------
  // Output shapes
  // -------------------------------------------------------------------------------------------

  private deploymentConfiguration(service: Service, config = service.config): Json {
    return {
      deploymentCircuitBreaker: { ...service.circuitBreaker },
      maximumPercent: 200,
      minimumHealthyPercent: 100,
      ...structuredClone(config.json),
    };
  }

  private serviceJson(service: Service, withTags: boolean): Json {
    const current = service.deployments;
    const running = current.reduce((n, d) => n + count(d.live, 'RUNNING'), 0);
    const pendingCount = current.reduce((n, d) => n + pending(d.live), 0);
    const network = {
      awsvpcConfiguration: {
        subnets: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'],
        securityGroups: ['sg-0a1b2c3d4e5f60003'],
        assignPublicIp: 'DISABLED',
      },
    };
    const common: Json = {
      serviceArn: service.arn,
      serviceName: service.name,
      clusterArn: service.cluster.arn,
      status: service.status,
      desiredCount: service.desiredCount,
      runningCount: running,
      pendingCount,
      launchType: 'FARGATE',
      platformVersion: 'LATEST',
      platformFamily: 'Linux',
      taskDefinition: service.taskDefinition.arn,
      deploymentConfiguration: this.deploymentConfiguration(service),
      deploymentController: { type: service.controller },
      roleArn: `arn:${this.ctx.partition}:iam::${this.ctx.account}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`,
      createdAt: epochSeconds(service.createdAt),
      createdBy: `arn:${this.ctx.partition}:iam::${this.ctx.account}:role/cdk-deploy`,
      schedulingStrategy: 'REPLICA',
      enableECSManagedTags: false,
      propagateTags: 'NONE',
      enableExecuteCommand: false,
      healthCheckGracePeriodSeconds: 0,
      networkConfiguration: network,
      loadBalancers: [],
      serviceRegistries: [],
      placementConstraints: [],
      placementStrategy: [],
      events: service.events.map((e) => ({
        id: e.id,
        createdAt: epochSeconds(e.createdAt),
        message: e.message,
      })),
      ...(withTags && { tags: service.tags }),
    };
    if (service.controller !== 'ECS') {
      // CODE_DEPLOY and EXTERNAL services run task sets; `deployments` is empty.
      return {
        ...common,
        deployments: [],
        taskSets: current.map((d) => ({
          id: `ecs-svc/${d.id.slice('ecs-svc/'.length)}`,
          taskSetArn: this.arn(
            `task-set/${service.cluster.name}/${service.name}/${d.id.slice('ecs-svc/'.length)}`,
          ),
          serviceArn: service.arn,
          clusterArn: service.cluster.arn,
          status: d.status,
          taskDefinition: d.taskDefinition.arn,
          computedDesiredCount: d.desiredCount,
          pendingCount: pending(d.live),
          runningCount: count(d.live, 'RUNNING'),
          createdAt: epochSeconds(d.createdAt),
          updatedAt: epochSeconds(d.updatedAt),
          launchType: 'FARGATE',
          stabilityStatus: 'STEADY_STATE',
        })),
      };
    }
    return {
      ...common,
      deployments: current.map((d) => ({
        id: d.id,
        status: d.status,
        taskDefinition: d.taskDefinition.arn,
        desiredCount: d.desiredCount,
        pendingCount: pending(d.live),
        runningCount: count(d.live, 'RUNNING'),
        failedTasks: d.failedTasks,
        createdAt: epochSeconds(d.createdAt),
        updatedAt: epochSeconds(d.updatedAt),
        launchType: 'FARGATE',
        platformVersion: '1.4.0',
        platformFamily: 'Linux',
        networkConfiguration: network,
        rolloutState: d.rolloutState,
        rolloutStateReason: d.rolloutStateReason,
      })),
    };
  }

  private taskJson(task: Task): Json {
    const td = task.taskDefinition;
    return {
      taskArn: task.arn,
      clusterArn: task.cluster.arn,
      taskDefinitionArn: td.arn,
      group: `service:${task.service.name}`,
      startedBy: task.deployment.id,
      lastStatus: task.lastStatus,
      desiredStatus: task.desiredStatus,
      launchType: 'FARGATE',
      platformVersion: '1.4.0',
      platformFamily: 'Linux',
      cpu: '256',
      memory: '512',
      availabilityZone: `${this.ctx.region}a`,
      connectivity: task.lastStatus === 'RUNNING' ? 'CONNECTED' : undefined,
      createdAt: epochSeconds(task.createdAt),
      ...(task.startedAt !== undefined && { startedAt: epochSeconds(task.startedAt) }),
      ...(task.stoppingAt !== undefined && { stoppingAt: epochSeconds(task.stoppingAt) }),
      ...(task.stoppedAt !== undefined && { stoppedAt: epochSeconds(task.stoppedAt) }),
      ...(task.stoppedReason !== undefined && { stoppedReason: task.stoppedReason }),
      ...(task.stopCode !== undefined && { stopCode: task.stopCode }),
      containers: td.containerNames.map((name, i) => ({
        containerArn: this.arn(
          `container/${task.cluster.name}/${task.arn.split('/').pop() ?? ''}/${String(i)}`,
        ),
        taskArn: task.arn,
        name,
        image: td.images[i],
        lastStatus: task.lastStatus,
        ...(i === 0 && task.exitCode !== undefined && { exitCode: task.exitCode }),
        ...(task.lastStatus === 'STOPPED' &&
          task.exitCode === undefined && { reason: task.stoppedReason }),
      })),
      version: task.lastStatus === 'STOPPED' ? 3 : task.lastStatus === 'RUNNING' ? 2 : 1,
      tags: [],
    };
  }
}

function count(tasks: readonly Task[], status: Task['lastStatus']): number {
  let n = 0;
  for (const task of tasks) if (task.lastStatus === status) n += 1;
  return n;
}

function pending(tasks: readonly Task[]): number {
  let n = 0;
  for (const task of tasks)
    if (task.lastStatus === 'PENDING' || task.lastStatus === 'PROVISIONING') n += 1;
  return n;
}
