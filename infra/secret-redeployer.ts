/**
 * SecretRedeployer: EventBridge rules for Parameter Store and Secrets Manager changes, a change
 * queue whose delivery delay is the settle window, and the Lambda function that force-deploys
 * exactly the ECS services that reference what changed, with brakes, a flap guard, a scheduled
 * sweep for missed events, notifications, metrics, alarms and a dashboard. With rollouts (the
 * default), each change is seen through to its end by the rollout engine (rollout-engine.ts),
 * woken by ECS deployment events.
 *
 * The constructor reads as a table of contents: each part is built by a private builder below.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as eventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FUNCTION_RUNTIME, functionCode } from './bundling.js';
import {
  deploymentStateChangePattern,
  hookStateChangePattern,
  parameterChangePattern,
  parameterExpirationPattern,
  secretCloudTrailPattern,
  secretLabelUpdatedPattern,
  validatePrefixes,
} from './event-patterns.js';
import { isRegion } from '../functions/redeploy/partition.js';
import { acknowledgeWildcard } from './nag.js';
import {
  RolloutEngine,
  type RolloutOptions,
  type RolloutSettings,
  rolloutSettings,
} from './rollout-engine.js';
import { checkInteger, checkRange, wholeSeconds } from './validation.js';
import { type WaveOptions, type WaveSettings, waveEnvironment, waveSettings } from './waves.js';

export { FUNCTION_RUNTIME };
export { DEFAULT_ROLLOUTS, type RolloutOptions } from './rollout-engine.js';
export { DEFAULT_WAVES, type WaveOptions, type WaveSize, type WavesAppliesTo } from './waves.js';

/** The CloudWatch namespace the function writes its embedded-format metrics to by default. */
export const DEFAULT_METRICS_NAMESPACE = 'EcsSecretRedeployer';

/** A service tagged with this key and the value `true` is never redeployed. */
export const EXCLUDE_TAG = 'secret-redeployer:exclude';
/** In opt-in mode, only services tagged with this key and the value `true` are redeployed. */
export const INCLUDE_TAG = 'secret-redeployer:include';

/** Receives of one change message (the first try and two retries) before it is dead-lettered. */
export const CHANGE_MAX_RECEIVE_COUNT = 3;
/** SQS's limit for a delivery delay and for a message's delay. */
const MAX_SQS_DELAY = Duration.minutes(15);

/**
 * The metrics the functions write (embedded metric format), all of unit Count but
 * `RolloutDuration` (Seconds). The change handler writes the first ten; the rollout engine
 * writes the others (`ENGINE_METRICS`) when a rollout ends, under its own function name.
 */
export type RedeployerMetricName =
  | 'ChangesSeen'
  | 'ChangesIgnored'
  | 'ServicesRedeployed'
  | 'ServicesSkipped'
  | 'ServicesFailed'
  | 'ServicesBraked'
  | 'ServicesFlapGuarded'
  | 'ServicesNeedingAction'
  | 'RolloutsUnwatched'
  | 'SweepErrors'
  | 'RolloutsEnded'
  | 'RolloutDuration'
  | 'DeploymentsCompleted'
  | 'DeploymentsFailed'
  | 'DeploymentsRolledBack'
  | 'DeploymentsStuck'
  | 'ServicesOwed'
  | 'RolloutsHalted';

/** The metrics the rollout engine writes (dimension `FunctionName` = the engine's name). */
export const ENGINE_METRICS: ReadonlySet<RedeployerMetricName> = new Set<RedeployerMetricName>([
  'RolloutsEnded',
  'RolloutDuration',
  'DeploymentsCompleted',
  'DeploymentsFailed',
  'DeploymentsRolledBack',
  'DeploymentsStuck',
  'ServicesOwed',
  'RolloutsHalted',
]);

/** Flap guard: how many forced deployments of one service a period allows. */
export interface FlapGuardOptions {
  /** Forced deployments of one service allowed within `period` (1 or more). */
  readonly maxDeployments: number;
  /** The sliding period the deployments are counted in (whole seconds, 1 minute to 31 days). */
  readonly period: Duration;
}

/** The scheduled sweep for changes whose events were missed. */
export interface SweepOptions {
  /** Time between sweeps (whole minutes, at least 5 minutes). */
  readonly interval: Duration;
}

/** Flap guard used when the `flapGuard` prop is not given. */
export const DEFAULT_FLAP_GUARD: FlapGuardOptions = {
  maxDeployments: 3,
  period: Duration.hours(1),
};
/** Sweep used when the `sweep` prop is not given. */
export const DEFAULT_SWEEP: SweepOptions = { interval: Duration.hours(1) };

export interface SecretRedeployerProps {
  /**
   * The ECS clusters whose services are redeployed. `ecs:UpdateService` is scoped to their
   * services, and (when the stack's account and Region are known at synth time) the rule for ECS
   * deployment events to their services.
   * @default - every cluster of the stack's account and Region
   */
  readonly clusters?: readonly ecs.ICluster[];

  /**
   * Only secrets whose name starts with one of these prefixes trigger redeploys. The filter is
   * part of the rule patterns, so other secrets never reach the change queue.
   * @default - every secret
   */
  readonly secretNamePrefixes?: readonly string[];

  /**
   * Only parameters whose name starts with one of these prefixes trigger redeploys (`/app/` and
   * `app/` are the same prefix).
   * @default - every parameter
   */
  readonly parameterNamePrefixes?: readonly string[];

  /**
   * Plan and report every redeploy without making any mutating call.
   * @default false
   */
  readonly dryRun?: boolean;

  /**
   * Also react to Secrets Manager calls recorded by CloudTrail (`PutSecretValue`,
   * `UpdateSecret`, `UpdateSecretVersionStage`, `RotationSucceeded`, `DeleteSecret`). Needs a
   * CloudTrail trail with management events in the account; the native `Secret Label Updated`
   * rule already covers every change of `AWSCURRENT` without one.
   * @default false
   */
  readonly enableCloudTrailRule?: boolean;

  /**
   * Services force-deployed at once by one invocation (`UpdateService` is throttled at
   * 50 burst / 5 per second per account and Region).
   * @default 10
   */
  readonly concurrency?: number;

  /**
   * Settle window: every change waits this long in the change queue (its delivery delay) before
   * the function sees it, so all changes that reach one service within the window produce one
   * deployment of it, after the last of them. `Duration.seconds(0)` handles changes at once.
   * Whole seconds, at most 15 minutes (SQS's limit).
   * @default Duration.seconds(30)
   */
  readonly settleWindow?: Duration;

  /**
   * Brake across invocations: the most forced deployments that may be in progress at once in
   * the watched clusters, so a widely shared secret rolls the fleet in waves. With rollouts, a
   * service that would exceed it stays owed by its rollout and the engine deploys it once
   * deployments end; without, the change is put back on the change queue and retried after
   * `brakeRetryDelay`. `0` means no cap.
   * @default 20
   */
  readonly maxDeploymentsInProgress?: number;

  /**
   * How long a braked service (or, without rollouts, a braked change) waits before it is tried
   * again (whole seconds, 1 second to 15 minutes).
   * @default Duration.minutes(1)
   */
  readonly brakeRetryDelay?: Duration;

  /**
   * The most function instances the change queue invokes at once (the SQS event source
   * mapping's maximum concurrency, 2 to 1000). With `concurrency`, this caps the forced
   * deployments started at the same moment.
   * @default 2
   */
  readonly maxConcurrentInvocations?: number;

  /**
   * Flap guard: a service force-deployed `maxDeployments` times within `period` is not
   * redeployed again until the period has passed; each refusal is logged, counted
   * (`ServicesFlapGuarded`) and alarmed. Keeps its counts in a DynamoDB table. `false` turns it
   * off (no table).
   * @default { maxDeployments: 3, period: Duration.hours(1) }
   */
  readonly flapGuard?: FlapGuardOptions | false;

  /**
   * Missed-event sweep: on this schedule the function finds services whose newest deployment
   * predates the last change of a secret or parameter they reference, and redeploys them
   * through the same path (brakes, flap guard, opt-in/out). With rollouts it compares the
   * version each secret label and parameter holds now with the one last handled, and restarts
   * the engine of any rollout nobody watches. `false` turns it off (then, without rollouts, the
   * flap guard must be off too: nothing would redeploy the services it held back).
   * @default { interval: Duration.hours(1) }
   */
  readonly sweep?: SweepOptions | false;

  /**
   * Rollouts: each change is owned by a rollout, recorded in a DynamoDB table, until every
   * referencing service runs the new value, and the rollout engine (a Lambda durable function,
   * one execution per rollout) watches the forced deployments to their end: completed, failed,
   * rolled back by the circuit breaker, or stuck, each counted and alarmed. Services held back
   * by the fleet cap or the flap guard stay owed and the engine deploys them when their hold is
   * over; ECS deployment events (a rule to the function) wake it early. Closed rollouts are kept
   * 35 days (DynamoDB TTL).
   *
   * `false`: no table, no engine, no ECS event rule (the behaviour before rollouts): braked
   * changes go back on the change queue, and how a forced deployment ends is not watched.
   * @default - on, with the defaults of `RolloutOptions`
   */
  readonly rollouts?: RolloutOptions | false;

  /**
   * Waves (rollouts only): a change goes to a canary first, then to waves of growing size,
   * each once the one before completed (and baked, with `alarms` OK). A failed, rolled-back or
   * stuck deployment, or a watched alarm, halts the rollout: nothing more is touched, one
   * notification says what failed and how to resume or abort (`ecs-redeployer resume|abort`),
   * and `haltedRolloutsAlarm` fires. Only for changes where holding services back is safe (see
   * `WaveOptions.appliesTo`). `false`: every service at once.
   * @default - sizes 1, 10%, 50%, no bake, no alarms, for tagged changes
   */
  readonly waves?: WaveOptions | false;

  /**
   * Opt-in mode: only services tagged `secret-redeployer:include` = `true` are redeployed.
   * In either mode, `secret-redeployer:exclude` = `true` excludes a service.
   * @default false
   */
  readonly optIn?: boolean;

  /**
   * Also redeploy services that use a changed secret only as `repositoryCredentials`. ECS reads
   * those when it pulls an image: running tasks never need the new value and new tasks pull with
   * it, so by default such services are reported as skipped (`image-pull-only`), not redeployed.
   * @default false
   */
  readonly redeployForRepositoryCredentials?: boolean;

  /**
   * Receives one readable message per change handled (what changed, which services were
   * redeployed, skipped, braked, failed); with rollouts, the engine sends it when the rollout
   * ended, with how each deployment ended. The functions are granted `sns:Publish` on it only: a
   * topic encrypted with a customer managed key must allow their roles in its key policy (or
   * use the AWS managed key `alias/aws/sns`).
   * @default - no notifications
   */
  readonly notificationTopic?: sns.ITopic;

  /**
   * CloudWatch namespace of the functions' embedded-format metrics.
   * @default 'EcsSecretRedeployer'
   */
  readonly metricsNamespace?: string;

  /**
   * Other AWS accounts whose change events are accepted (when a cross-account event bus
   * forwards them). Events from any other account are ignored by the function and, when the
   * stack's account is known at synth time, not even matched by the rules.
   * @default - only the stack's own account
   */
  readonly sourceAccounts?: readonly string[];

  /**
   * Other Regions whose change events are accepted (cross-Region event buses).
   * @default - only the stack's own Region
   */
  readonly sourceRegions?: readonly string[];

  /**
   * Create a CloudWatch dashboard of the metrics, the function and the queues.
   * @default true
   */
  readonly dashboard?: boolean;

  /**
   * Memory of the function (the change handler; the rollout engine has 256 MiB), in MiB.
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * Function timeout: long enough to walk every service of a large account. The change queue's
   * visibility timeout is six times this. (Each invocation of the rollout engine is one short
   * look: its timeout is 5 minutes.)
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;

  /**
   * How long the functions' logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * How long EventBridge keeps trying to deliver an event (to the change queue, or a sweep or an
   * ECS deployment event to the function), and how long such an invocation may wait for a
   * retry, before it goes to the dead-letter queue.
   * @default Duration.hours(6)
   */
  readonly maxEventAge?: Duration;

  /**
   * Retries of a failed sweep or ECS deployment event invocation (0-2) before it goes to the
   * dead-letter queue. (A change from the queue is received at most three times before it is
   * dead-lettered.)
   * @default 2
   */
  readonly retryAttempts?: number;

  /**
   * Where the alarms (function errors, dead-lettered events, failed deployments, braking,
   * services needing a person; with rollouts, deployments that failed, rolled back or got stuck,
   * rollouts not watched, engine errors and sweep errors) send notifications.
   * @default - the alarms have no action
   */
  readonly alarmTopic?: sns.ITopic;
}

/** CloudWatch: 1-255 ASCII characters; `AWS/` is reserved for AWS services. */
const NAMESPACE = /^[A-Za-z0-9 ._#:/-]{1,255}$/;

/** The props, checked, with every default filled in. */
interface Settings {
  readonly clusters: readonly ecs.ICluster[];
  readonly secretPrefixes: readonly string[];
  readonly parameterPrefixes: readonly string[];
  readonly concurrency: number;
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
  readonly timeoutSeconds: number;
  readonly settleWindow: Duration;
  readonly maxDeploymentsInProgress: number;
  readonly brakeRetrySeconds: number;
  readonly maxConcurrentInvocations: number;
  readonly flapGuard: FlapGuardOptions | false;
  readonly sweep: SweepOptions | false;
  readonly rollouts: RolloutSettings | false;
  readonly waves: WaveSettings | false;
  readonly metricsNamespace: string;
  readonly sourceAccounts: readonly string[];
  readonly sourceRegions: readonly string[];
}

/** Checks the props (every error names the prop) and fills in the defaults. */
function settingsOf(props: SecretRedeployerProps): Settings {
  const secretPrefixes = props.secretNamePrefixes ?? [];
  const parameterPrefixes = props.parameterNamePrefixes ?? [];
  validatePrefixes('secret', secretPrefixes);
  validatePrefixes('parameter', parameterPrefixes);
  const sourceAccounts = props.sourceAccounts ?? [];
  const sourceRegions = props.sourceRegions ?? [];
  for (const account of sourceAccounts) {
    if (!/^\d{12}$/.test(account)) {
      throw new Error(`sourceAccounts: "${account}" is not a 12-digit account id`);
    }
  }
  for (const region of sourceRegions) {
    if (!isRegion(region)) {
      throw new Error(`sourceRegions: "${region}" is not a Region name`);
    }
  }
  const concurrency = props.concurrency ?? 10;
  checkInteger('concurrency', concurrency, 1, 50);
  const retryAttempts = props.retryAttempts ?? 2;
  if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 2) {
    throw new Error(`retryAttempts must be 0, 1 or 2, got ${retryAttempts}`);
  }
  const settleWindow = props.settleWindow ?? Duration.seconds(30);
  checkRange('settleWindow', settleWindow, Duration.seconds(0), MAX_SQS_DELAY);
  const maxDeploymentsInProgress = props.maxDeploymentsInProgress ?? 20;
  checkInteger('maxDeploymentsInProgress', maxDeploymentsInProgress, 0, 10_000);
  const brakeRetrySeconds = checkRange(
    'brakeRetryDelay',
    props.brakeRetryDelay ?? Duration.minutes(1),
    Duration.seconds(1),
    MAX_SQS_DELAY,
  );
  const maxConcurrentInvocations = props.maxConcurrentInvocations ?? 2;
  checkInteger('maxConcurrentInvocations', maxConcurrentInvocations, 2, 1000);
  const flapGuard = props.flapGuard === undefined ? DEFAULT_FLAP_GUARD : props.flapGuard;
  if (flapGuard !== false) {
    checkInteger('flapGuard.maxDeployments', flapGuard.maxDeployments, 1, 1000);
    checkRange('flapGuard.period', flapGuard.period, Duration.minutes(1), Duration.days(31));
  }
  const sweep = props.sweep === undefined ? DEFAULT_SWEEP : props.sweep;
  if (sweep !== false) {
    checkRange('sweep.interval', sweep.interval, Duration.minutes(5));
    if (sweep.interval.toSeconds() % 60 !== 0) {
      throw new Error(
        `sweep.interval must be a whole number of minutes, got ${sweep.interval.toHumanString()}`,
      );
    }
  }
  const rollouts =
    props.rollouts === false
      ? false
      : rolloutSettings(props.rollouts ?? {}, flapGuard === false ? undefined : flapGuard.period);
  if (rollouts === false && flapGuard !== false && sweep === false) {
    throw new Error(
      'rollouts: false with the flap guard on needs the sweep: a service the flap guard holds ' +
        'back is redeployed only by a later sweep, so with sweep: false nothing would ever ' +
        'redeploy it. Turn rollouts or the sweep on, or the flap guard off.',
    );
  }
  if (rollouts === false && props.waves !== undefined && props.waves !== false) {
    throw new Error('waves need rollouts: a halted rollout is what holds the services back');
  }
  const waves =
    rollouts === false || props.waves === false ? false : waveSettings(props.waves ?? {});
  const metricsNamespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
  if (!NAMESPACE.test(metricsNamespace) || metricsNamespace.startsWith('AWS/')) {
    throw new Error(
      `metricsNamespace must be 1-255 letters, digits or . _ # : / - and not start with AWS/, ` +
        `got "${metricsNamespace}"`,
    );
  }
  return {
    clusters: props.clusters ?? [],
    secretPrefixes,
    parameterPrefixes,
    concurrency,
    retryAttempts,
    maxEventAge: props.maxEventAge ?? Duration.hours(6),
    // Lambda rejects a timeout above 15 minutes itself; six times that is within SQS's 12 hours.
    timeoutSeconds: wholeSeconds('timeout', props.timeout ?? Duration.minutes(5)),
    settleWindow,
    maxDeploymentsInProgress,
    brakeRetrySeconds,
    maxConcurrentInvocations,
    flapGuard,
    sweep,
    rollouts,
    waves,
    metricsNamespace,
    sourceAccounts,
    sourceRegions,
  };
}

/** The resources the function and the engine act on, scoped to the configuration. */
interface ScopedArns {
  /** The services that may be described and force-deployed. */
  readonly serviceArns: readonly string[];
  /** The secrets whose metadata may be read. */
  readonly secretArns: readonly string[];
  /** The parameters whose tags may be read (waves). */
  readonly parameterArns: readonly string[];
}

/** The alarms, by member (`errors` is `errorsAlarm`…); the rollout ones only with rollouts. */
interface Alarms {
  readonly errors: cloudwatch.Alarm;
  readonly deadLetter: cloudwatch.Alarm;
  readonly failures: cloudwatch.Alarm;
  readonly braking: cloudwatch.Alarm;
  readonly needsAction: cloudwatch.Alarm;
  readonly deploymentProblems?: cloudwatch.Alarm;
  readonly unwatchedRollouts?: cloudwatch.Alarm;
  readonly haltedRollouts?: cloudwatch.Alarm;
  readonly engineErrors?: cloudwatch.Alarm;
  readonly sweepErrors?: cloudwatch.Alarm;
}

export class SecretRedeployer extends Construct {
  /** The function that finds and redeploys the referencing services (the change handler). */
  public readonly function: nodejs.NodejsFunction;
  /**
   * Every change event waits here for the settle window (its delivery delay), then the function
   * consumes it through an SQS event source mapping. Encrypted, TLS only, dead-letters to
   * `deadLetterQueue` after three receives.
   */
  public readonly changeQueue: sqs.Queue;
  /** Events that could not be delivered or handled, after retries. Encrypted. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Every EventBridge rule that sends changes to the change queue. */
  public readonly rules: readonly events.Rule[];
  /** The scheduled rule that invokes the missed-event sweep; absent when the sweep is off. */
  public readonly sweepRule?: events.Rule;
  /**
   * The rule that sends the end of each ECS deployment in the watched clusters
   * (`SERVICE_DEPLOYMENT_COMPLETED`, `SERVICE_DEPLOYMENT_FAILED`) straight to the function (not
   * through the change queue, whose delay is the settle window), which wakes the rollouts
   * watching the service. Absent when rollouts are off.
   */
  public readonly deploymentEventRule?: events.Rule;
  /**
   * The rule for `ECS Hook State Change` events (a deployment paused at a lifecycle hook, or the
   * hook ended), straight to the function, which wakes the rollouts watching the service.
   * Absent when rollouts are off.
   */
  public readonly hookEventRule?: events.Rule;
  /** Recent forced deployments per service, for the flap guard; absent when it is off. */
  public readonly flapTable?: dynamodb.Table;
  /**
   * The rollouts (each change, each service's part in it, the claims on services, the version
   * each secret label or parameter was last handled at). Closed rollouts expire after 35 days.
   * Absent when rollouts are off.
   */
  public readonly rolloutTable?: dynamodb.Table;
  /**
   * The rollout engine: a Lambda durable function, one execution per rollout, that watches its
   * forced deployments to their end. Absent when rollouts are off.
   */
  public readonly engine?: nodejs.NodejsFunction;
  /** The engine's `live` alias, through which the function starts executions. */
  public readonly engineAlias?: lambda.Alias;
  /** Fires when an invocation fails (a redeploy failed or AWS errors persisted). */
  public readonly errorsAlarm: cloudwatch.Alarm;
  /** Fires when an event lands in the dead-letter queue. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** Fires when a forced deployment of a service failed (`ServicesFailed` ≥ 1). */
  public readonly failuresAlarm: cloudwatch.Alarm;
  /**
   * Fires when a service was held back by a brake or the flap guard
   * (`ServicesBraked + ServicesFlapGuarded` ≥ 1, one metric-math alarm).
   */
  public readonly brakingAlarm: cloudwatch.Alarm;
  /**
   * Fires when a referencing service cannot be force-deployed by `UpdateService` (CODE_DEPLOY
   * or EXTERNAL deployment controller): a person must roll it (`ServicesNeedingAction` ≥ 1).
   */
  public readonly needsActionAlarm: cloudwatch.Alarm;
  /**
   * Fires when a forced deployment of a rollout failed, was rolled back by the circuit breaker
   * or got stuck (`DeploymentsFailed + DeploymentsRolledBack + DeploymentsStuck` ≥ 1, one
   * metric-math alarm). Absent when rollouts are off.
   */
  public readonly deploymentProblemsAlarm?: cloudwatch.Alarm;
  /**
   * Fires when the engine of a rollout could not be started (`RolloutsUnwatched` ≥ 1): the
   * change waits for the next sweep to restart it. Absent when rollouts are off.
   */
  public readonly unwatchedRolloutsAlarm?: cloudwatch.Alarm;
  /**
   * Fires while a rollout in waves is halted, waiting for a person to resume or abort it
   * (`RolloutsHalted` ≥ 1). Absent when rollouts or waves are off.
   */
  public readonly haltedRolloutsAlarm?: cloudwatch.Alarm;
  /** Fires when an invocation of the rollout engine fails. Absent when rollouts are off. */
  public readonly engineErrorsAlarm?: cloudwatch.Alarm;
  /**
   * Fires when a sweep could not check something (`SweepErrors` ≥ 1: access denied, an
   * unreadable task definition…). Absent unless both rollouts and the sweep are on.
   */
  public readonly sweepErrorsAlarm?: cloudwatch.Alarm;
  /** Graphs of the metrics, the functions and the queues; absent with `dashboard: false`. */
  public readonly dashboard?: cloudwatch.Dashboard;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  /** The CloudWatch namespace of the functions' metrics. */
  public readonly metricsNamespace: string;

  constructor(scope: Construct, id: string, props: SecretRedeployerProps = {}) {
    super(scope, id);
    const settings = settingsOf(props);
    this.metricsNamespace = settings.metricsNamespace;
    const resources = this.scopeOf(settings);

    this.deadLetterQueue = this.createDeadLetterQueue();
    this.changeQueue = this.createChangeQueue(settings);
    if (settings.flapGuard !== false) this.flapTable = this.createFlapTable();
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    const rollouts =
      settings.rollouts === false
        ? undefined
        : this.createRolloutEngine(props, settings, settings.rollouts, resources);
    this.rolloutTable = rollouts?.table;
    this.engine = rollouts?.function;
    this.engineAlias = rollouts?.alias;

    const role = this.createRole(props, settings, resources, rollouts);
    this.function = this.createFunction(props, settings, role, rollouts);
    // Grants the consume actions on the change queue to the function's role.
    this.function.addEventSource(
      new eventSources.SqsEventSource(this.changeQueue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: settings.maxConcurrentInvocations,
      }),
    );

    const origin = this.originPattern(settings);
    this.rules = this.createChangeRules(props, settings, origin);
    if (settings.sweep !== false) {
      this.sweepRule = this.createSweepRule(settings, settings.sweep);
    }
    if (rollouts) {
      this.deploymentEventRule = this.createDeploymentEventRule(settings, origin);
      this.hookEventRule = this.createHookEventRule(settings, origin);
    }

    const alarms = this.createAlarms(settings, rollouts);
    this.errorsAlarm = alarms.errors;
    this.deadLetterAlarm = alarms.deadLetter;
    this.failuresAlarm = alarms.failures;
    this.brakingAlarm = alarms.braking;
    this.needsActionAlarm = alarms.needsAction;
    this.deploymentProblemsAlarm = alarms.deploymentProblems;
    this.unwatchedRolloutsAlarm = alarms.unwatchedRollouts;
    this.haltedRolloutsAlarm = alarms.haltedRollouts;
    this.engineErrorsAlarm = alarms.engineErrors;
    this.sweepErrorsAlarm = alarms.sweepErrors;
    const all = [
      alarms.errors,
      alarms.deadLetter,
      alarms.failures,
      alarms.braking,
      alarms.needsAction,
      alarms.deploymentProblems,
      alarms.unwatchedRollouts,
      alarms.haltedRollouts,
      alarms.engineErrors,
      alarms.sweepErrors,
    ].filter((alarm) => alarm !== undefined);
    if (props.alarmTopic) {
      const action = new cloudwatchActions.SnsAction(props.alarmTopic);
      for (const alarm of all) alarm.addAlarmAction(action);
    }

    if (props.dashboard ?? true) {
      this.dashboard = this.createDashboard(all, settings);
    }
  }

  /**
   * A metric the functions write (embedded metric format), for the dimension `FunctionName`: the
   * change handler's, or the rollout engine's for `ENGINE_METRICS`. Statistic Sum over 5 minutes
   * unless `props` says otherwise. `props.dimensionsMap` is added to `FunctionName` (give
   * `Reason` for the by-reason breakdowns of `ChangesIgnored` and `ServicesSkipped`). Throws for
   * an engine metric when rollouts are off (nothing writes it).
   */
  public metric(
    metricName: RedeployerMetricName,
    props: cloudwatch.MetricOptions = {},
  ): cloudwatch.Metric {
    const writer = ENGINE_METRICS.has(metricName) ? this.engine : this.function;
    if (writer === undefined) {
      throw new Error(`${metricName} is written by the rollout engine, and rollouts are off`);
    }
    return new cloudwatch.Metric({
      namespace: this.metricsNamespace,
      metricName,
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...props,
      dimensionsMap: { FunctionName: writer.functionName, ...props.dimensionsMap },
    });
  }

  /** Changes (events and sweep findings) the function received. */
  public metricChangesSeen(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ChangesSeen', props);
  }

  /** Changes ignored (malformed, not live, out of scope…); by reason with a `Reason` dimension. */
  public metricChangesIgnored(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ChangesIgnored', props);
  }

  /** Services force-deployed. */
  public metricServicesRedeployed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ServicesRedeployed', props);
  }

  /** Referencing services not redeployed (draining, already newer, excluded by tag…). */
  public metricServicesSkipped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ServicesSkipped', props);
  }

  /** Services whose forced deployment failed. */
  public metricServicesFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ServicesFailed', props);
  }

  /** Services held back because deployments in progress reached the cap. */
  public metricServicesBraked(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ServicesBraked', props);
  }

  /** Services not redeployed because they were force-deployed too often (flap guard). */
  public metricServicesFlapGuarded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ServicesFlapGuarded', props);
  }

  /** Services `UpdateService` cannot force-deploy (CODE_DEPLOY, EXTERNAL controllers). */
  public metricServicesNeedingAction(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ServicesNeedingAction', props);
  }

  /**
   * Open rollouts halted and waiting for a person: a gauge the engine writes (statistic Maximum
   * over 5 minutes unless `props` says otherwise). Engine.
   */
  public metricRolloutsHalted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RolloutsHalted', { statistic: 'Maximum', ...props });
  }

  /** Rollouts whose engine could not be started (the next sweep restarts them). */
  public metricRolloutsUnwatched(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RolloutsUnwatched', props);
  }

  /** What a sweep could not check (access denied, unreadable task definitions…). */
  public metricSweepErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SweepErrors', props);
  }

  /** Rollouts that ended (every service delivered, failed, or left to a person). Engine. */
  public metricRolloutsEnded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RolloutsEnded', props);
  }

  /**
   * Seconds from a rollout's start to its end: the Average over 5 minutes unless `props` says
   * otherwise. Engine.
   */
  public metricRolloutDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RolloutDuration', { statistic: 'Average', ...props });
  }

  /** Forced deployments of rollouts that completed. Engine. */
  public metricDeploymentsCompleted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('DeploymentsCompleted', props);
  }

  /** Forced deployments of rollouts that failed (circuit breaker, rollback off). Engine. */
  public metricDeploymentsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('DeploymentsFailed', props);
  }

  /** Forced deployments of rollouts the circuit breaker rolled back. Engine. */
  public metricDeploymentsRolledBack(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('DeploymentsRolledBack', props);
  }

  /** Forced deployments of rollouts with no end within `rollouts.stuckAfter`. Engine. */
  public metricDeploymentsStuck(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('DeploymentsStuck', props);
  }

  /** Services that had not received their change when its rollout ended. Engine. */
  public metricServicesOwed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ServicesOwed', props);
  }

  // -------------------------------------------------------------------------------------------
  // Builders, in the order the constructor calls them
  // -------------------------------------------------------------------------------------------

  /** The services and secrets the functions may act on, scoped to the configuration. */
  private scopeOf(settings: Settings): ScopedArns {
    const stack = Stack.of(this);
    const serviceArns =
      settings.clusters.length === 0
        ? [stack.formatArn({ service: 'ecs', resource: 'service', resourceName: '*' })]
        : settings.clusters.map((cluster) =>
            stack.formatArn({
              service: 'ecs',
              resource: 'service',
              resourceName: `${cluster.clusterName}/*`,
            }),
          );
    const prefixes = settings.secretPrefixes.length === 0 ? [''] : settings.secretPrefixes;
    const secretArns = prefixes.map((prefix) =>
      stack.formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${prefix}*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    const parameterPrefixes =
      settings.parameterPrefixes.length === 0 ? [''] : settings.parameterPrefixes;
    const parameterArns = parameterPrefixes.map((prefix) =>
      stack.formatArn({
        service: 'ssm',
        resource: 'parameter',
        // Parameter ARNs name `parameter/a/b` for `/a/b` and `parameter/ab` for `ab`.
        resourceName: `${prefix.replace(/^\//, '')}*`,
      }),
    );
    return { serviceArns, secretArns, parameterArns };
  }

  private createDeadLetterQueue(): sqs.Queue {
    const queue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the rules, the change queue and the function.',
    });
    return queue;
  }

  /**
   * The settle window is the queue's delivery delay: a managed timer that survives the function
   * being cold or restarted. The visibility timeout is six times the function timeout, as
   * Lambda recommends for SQS event sources.
   */
  private createChangeQueue(settings: Settings): sqs.Queue {
    return new sqs.Queue(this, 'ChangeQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deliveryDelay: settings.settleWindow,
      visibilityTimeout: Duration.seconds(settings.timeoutSeconds * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: CHANGE_MAX_RECEIVE_COUNT },
    });
  }

  private createFlapTable(): dynamodb.Table {
    return new dynamodb.Table(this, 'FlapTable', {
      partitionKey: { name: 'serviceArn', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      // Counts of recent deployments: disposable, rebuilt as services are redeployed.
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /** The rollout table and engine; nothing of the function is passed in (no cycle). */
  private createRolloutEngine(
    props: SecretRedeployerProps,
    settings: Settings,
    rollouts: RolloutSettings,
    resources: ScopedArns,
  ): RolloutEngine {
    return new RolloutEngine(this, 'Rollouts', {
      settings: rollouts,
      serviceArns: resources.serviceArns,
      clusters: settings.clusters,
      ...(this.flapTable &&
        settings.flapGuard !== false && {
          flapGuard: {
            table: this.flapTable,
            maxDeployments: settings.flapGuard.maxDeployments,
            periodSeconds: settings.flapGuard.period.toSeconds(),
          },
        }),
      maxDeploymentsInProgress: settings.maxDeploymentsInProgress,
      brakeRetrySeconds: settings.brakeRetrySeconds,
      watchedAlarms: settings.waves === false ? [] : settings.waves.alarms,
      ...(props.notificationTopic && { notificationTopic: props.notificationTopic }),
      metricsNamespace: settings.metricsNamespace,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
  }

  /** An explicit role instead of AWSLambdaBasicExecutionRole: logs go to this log group only. */
  private createRole(
    props: SecretRedeployerProps,
    settings: Settings,
    resources: ScopedArns,
    rollouts: RolloutEngine | undefined,
  ): iam.Role {
    const { clusters, sweep } = settings;
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'ECS secret redeployer: reads ECS and secret metadata, forces deployments',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    if (clusters.length === 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ListClusters',
          actions: ['ecs:ListClusters'],
          resources: ['*'],
        }),
      );
    }
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListServices',
        actions: ['ecs:ListServices'],
        resources: ['*'],
        ...(clusters.length > 0 && {
          conditions: { ArnEquals: { 'ecs:cluster': clusters.map((c) => c.clusterArn) } },
        }),
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeAndRedeployServices',
        // ListTagsForResource: DescribeServices with `include: ['TAGS']` (opt-in/opt-out tags).
        actions: ['ecs:DescribeServices', 'ecs:ListTagsForResource', 'ecs:UpdateService'],
        resources: [...resources.serviceArns],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeTaskDefinitions',
        actions: ['ecs:DescribeTaskDefinition'],
        resources: ['*'],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeSecrets',
        // Metadata only: never GetSecretValue, GetParameter* or kms:Decrypt. The sweep reads
        // when each secret's AWSCURRENT last moved from its version list.
        actions: [
          'secretsmanager:DescribeSecret',
          ...(sweep !== false ? ['secretsmanager:ListSecretVersionIds'] : []),
        ],
        resources: [...resources.secretArns],
      }),
    );
    if (sweep !== false || rollouts) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'DescribeParameters',
          // Metadata only (names, versions and last-modified dates), never a value.
          actions: ['ssm:DescribeParameters'],
          resources: ['*'],
        }),
      );
    }
    if (settings.waves !== false && settings.waves.appliesTo === 'tagged') {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadParameterTags',
          // The secret-redeployer:waves tag of a changed parameter (tags only, never a value).
          actions: ['ssm:ListTagsForResource'],
          resources: [...resources.parameterArns],
        }),
      );
      for (const arn of resources.parameterArns) {
        acknowledgeWildcard(
          role,
          arn,
          'The tags of a changed parameter say whether its change goes in waves; the parameter ' +
            'is only known when the event arrives. Scoped to the name prefixes.',
        );
      }
    }
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RequeueBrakedChanges',
        actions: ['sqs:SendMessage'],
        resources: [this.changeQueue.queueArn],
      }),
    );
    if (this.flapTable) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'FlapGuardState',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          resources: [this.flapTable.tableArn],
        }),
      );
    }
    if (props.notificationTopic) {
      // Not topic.grantPublish(): for a topic with a customer managed key it would also grant
      // kms:Decrypt, which this role never has. The key policy grants that instead (README).
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'PublishNotifications',
          actions: ['sns:Publish'],
          resources: [props.notificationTopic.topicArn],
        }),
      );
    }
    rollouts?.grantChangeHandler(role);

    const parameterReaders = [
      ...(sweep !== false ? ['the missed-event sweep'] : []),
      ...(rollouts ? ['rollouts (the version a change is for)'] : []),
    ];
    const describeParameters =
      parameterReaders.length === 0
        ? ''
        : ' Neither does ssm:DescribeParameters, which reads parameter names, versions and ' +
          `last-modified dates (metadata only, never a value) for ${parameterReaders.join(' and ')}.`;
    acknowledgeWildcard(
      role,
      '*',
      'ecs:ListClusters, ecs:ListServices and ecs:DescribeTaskDefinition support no resource-level ' +
        'permissions (ListServices is narrowed by the ecs:cluster condition when clusters are set).' +
        describeParameters,
    );
    for (const arn of resources.serviceArns) {
      acknowledgeWildcard(
        role,
        arn,
        'Services are discovered at run time: every service of the watched clusters may reference ' +
          'the secret that changed, so each may need describing, its tags reading and a forced ' +
          'deployment.',
      );
    }
    for (const arn of resources.secretArns) {
      acknowledgeWildcard(
        role,
        arn,
        'DescribeSecret (metadata only, never the value) resolves the name in an event to the ' +
          'full ARN; the secret is only known when the event arrives. Scoped to the name prefixes.',
      );
    }
    return role;
  }

  private createFunction(
    props: SecretRedeployerProps,
    settings: Settings,
    role: iam.Role,
    rollouts: RolloutEngine | undefined,
  ): nodejs.NodejsFunction {
    const { flapGuard } = settings;
    return new nodejs.NodejsFunction(this, 'Function', {
      ...functionCode('functions/redeploy/handler.ts'),
      memorySize: props.memorySize ?? 256,
      timeout: Duration.seconds(settings.timeoutSeconds),
      description: 'Forces new deployments of the ECS services that reference a changed secret',
      role,
      logGroup: this.logGroup,
      // Only the sweep and ECS deployment events invoke the function asynchronously; changes
      // arrive from the queue.
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: settings.retryAttempts,
      maxEventAge: settings.maxEventAge,
      environment: {
        CLUSTERS: settings.clusters.map((cluster) => cluster.clusterArn).join(','),
        DRY_RUN: String(props.dryRun ?? false),
        REDEPLOY_CONCURRENCY: String(settings.concurrency),
        SECRET_NAME_PREFIXES: settings.secretPrefixes.join(','),
        PARAMETER_NAME_PREFIXES: settings.parameterPrefixes.join(','),
        CHANGE_QUEUE_URL: this.changeQueue.queueUrl,
        MAX_DEPLOYMENTS_IN_PROGRESS: String(settings.maxDeploymentsInProgress),
        BRAKE_RETRY_SECONDS: String(settings.brakeRetrySeconds),
        FLAP_TABLE_NAME: this.flapTable?.tableName ?? '',
        ...(flapGuard !== false && {
          FLAP_MAX_DEPLOYMENTS: String(flapGuard.maxDeployments),
          FLAP_PERIOD_SECONDS: String(flapGuard.period.toSeconds()),
        }),
        OPT_IN: String(props.optIn ?? false),
        REDEPLOY_FOR_REPOSITORY_CREDENTIALS: String(
          props.redeployForRepositoryCredentials ?? false,
        ),
        NOTIFICATION_TOPIC_ARN: props.notificationTopic?.topicArn ?? '',
        METRICS_NAMESPACE: settings.metricsNamespace,
        SOURCE_ACCOUNTS: settings.sourceAccounts.join(','),
        SOURCE_REGIONS: settings.sourceRegions.join(','),
        RESTRICT_EVENT_SOURCES: 'true',
        // ROLLOUT_TABLE_NAME, ROLLOUT_ENGINE_ARN (the alias), STUCK_AFTER_SECONDS,
        // ROLLOUT_POLL_SECONDS, CONFIRM_AFTER_SECONDS.
        ...rollouts?.changeHandlerEnvironment,
        // WAVES, WAVE_BAKE_SECONDS, WAVE_ALARMS, WAVES_FOR: the change handler plans the waves.
        ...(rollouts && waveEnvironment(settings.waves)),
        LOG_LEVEL: 'INFO',
        // Read by the SDK's default configuration: ride out ECS throttling in large accounts.
        AWS_MAX_ATTEMPTS: '10',
      },
    });
  }

  /**
   * Only this account's and Region's events (plus configured sources). Written into the
   * patterns only when both are known at synth time: an environment-agnostic template keeps
   * plain patterns, and the function enforces the same rule either way.
   */
  private originPattern(settings: Settings): events.EventPattern {
    const stack = Stack.of(this);
    return Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region)
      ? {}
      : {
          account: [...new Set([stack.account, ...settings.sourceAccounts])],
          region: [...new Set([stack.region, ...settings.sourceRegions])],
        };
  }

  /** The rules that send every change of a watched secret or parameter to the change queue. */
  private createChangeRules(
    props: SecretRedeployerProps,
    settings: Settings,
    origin: events.EventPattern,
  ): events.Rule[] {
    const target = new targets.SqsQueue(this.changeQueue, {
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 20,
      maxEventAge: settings.maxEventAge,
    });
    const rule = (ruleId: string, description: string, eventPattern: events.EventPattern) =>
      new events.Rule(this, ruleId, {
        description,
        eventPattern: { ...eventPattern, ...origin },
        targets: [target],
      });
    const rules = [
      rule(
        'ParameterChangeRule',
        'Parameter Store Create/Update/Delete of a watched parameter',
        parameterChangePattern(settings.parameterPrefixes),
      ),
      rule(
        'ParameterExpirationRule',
        'Parameter Store Expiration policy deleted a watched parameter',
        parameterExpirationPattern(settings.parameterPrefixes),
      ),
      rule(
        'SecretLabelUpdatedRule',
        'Secrets Manager moved a staging label (AWSCURRENT: a new value is live)',
        secretLabelUpdatedPattern(settings.secretPrefixes),
      ),
    ];
    if (props.enableCloudTrailRule) {
      rules.push(
        rule(
          'SecretCloudTrailRule',
          'Secrets Manager calls recorded by CloudTrail that change or delete a secret',
          secretCloudTrailPattern(settings.secretPrefixes),
        ),
      );
    }
    return rules;
  }

  /** A direct, asynchronous invocation of the function, retried, then dead-lettered. */
  private functionTarget(
    settings: Settings,
    options: Pick<targets.LambdaFunctionProps, 'event'> = {},
  ): targets.LambdaFunction {
    return new targets.LambdaFunction(this.function, {
      ...options,
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 20,
      maxEventAge: settings.maxEventAge,
    });
  }

  private createSweepRule(settings: Settings, sweep: SweepOptions): events.Rule {
    return new events.Rule(this, 'SweepRule', {
      description: 'Sweep for services still running a secret or parameter value that changed',
      schedule: events.Schedule.rate(sweep.interval),
      targets: [
        this.functionTarget(settings, {
          event: events.RuleTargetInput.fromObject({
            action: 'sweep',
            id: events.EventField.eventId,
            time: events.EventField.time,
          }),
        }),
      ],
    });
  }

  /**
   * ECS deployment ends, straight to the function: the change queue's delivery delay is the
   * settle window, which would only make the engines look later.
   */
  private createDeploymentEventRule(settings: Settings, origin: events.EventPattern): events.Rule {
    return new events.Rule(this, 'DeploymentEventRule', {
      description: 'An ECS deployment in a watched cluster ended: wake the rollouts watching it',
      eventPattern: {
        ...deploymentStateChangePattern(this.servicePrefixes(settings)),
        ...origin,
      },
      targets: [this.functionTarget(settings)],
    });
  }

  /** Lifecycle hooks paused or ended, straight to the function (as deployment ends). */
  private createHookEventRule(settings: Settings, origin: events.EventPattern): events.Rule {
    return new events.Rule(this, 'HookEventRule', {
      description:
        'An ECS deployment in a watched cluster paused at a lifecycle hook, or the hook ended: ' +
        'wake the rollouts watching it',
      eventPattern: {
        ...hookStateChangePattern(this.servicePrefixes(settings)),
        ...origin,
      },
      targets: [this.functionTarget(settings)],
    });
  }

  /**
   * The ARN prefix of the services of each watched cluster (`arn:<partition>:ecs:<Region>:
   * <account>:service/<cluster>/`), for the deployment event rule. None (every service) without
   * clusters, or when the stack's account or Region is not known at synth time. Services still on
   * the old ARN format (`service/<name>`, no cluster) are not matched; the engine's poll covers
   * them, as it covers any missed event.
   */
  private servicePrefixes(settings: Settings): string[] {
    const stack = Stack.of(this);
    if (Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region)) return [];
    return settings.clusters.map((cluster) => {
      // An imported cluster says where it is in its ARN; a cluster of this stack is here.
      const arn = Token.isUnresolved(cluster.clusterArn)
        ? undefined
        : stack.splitArn(cluster.clusterArn, ArnFormat.SLASH_RESOURCE_NAME);
      const partition = arn?.partition ?? stack.partition;
      const region = arn?.region ?? stack.region;
      const account = arn?.account ?? stack.account;
      const name = arn?.resourceName ?? cluster.clusterName;
      return `arn:${partition}:ecs:${region}:${account}:service/${name}/`;
    });
  }

  /** Every alarm: ≥ 1 in one period, missing data not breaching (see `alarm`). */
  private createAlarms(settings: Settings, rollouts: RolloutEngine | undefined): Alarms {
    const alarms: Alarms = {
      errors: this.alarm(
        'ErrorsAlarm',
        'The ECS secret redeployer failed to handle a change; see its logs for the services',
        this.function.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
      ),
      deadLetter: this.alarm(
        'DeadLetterAlarm',
        'A secret or parameter change was dead-lettered: services may run stale credentials',
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
      ),
      failures: this.alarm(
        'FailuresAlarm',
        'A forced deployment of an ECS service failed: it may still run a stale secret or parameter',
        this.metricServicesFailed({ period: Duration.minutes(1) }),
      ),
      braking: this.alarm(
        'BrakingAlarm',
        'The redeployer held services back: deployments in progress reached the cap (they roll ' +
          'in waves) or a service was force-deployed too often (flap guard); see its logs',
        new cloudwatch.MathExpression({
          expression: 'FILL(braked, 0) + FILL(flapGuarded, 0)',
          usingMetrics: {
            braked: this.metricServicesBraked(),
            flapGuarded: this.metricServicesFlapGuarded(),
          },
          label: 'Services braked or flap-guarded',
          period: Duration.minutes(5),
        }),
      ),
      needsAction: this.alarm(
        'NeedsActionAlarm',
        'A service references a changed secret or parameter but UpdateService cannot ' +
          'force-deploy it (CODE_DEPLOY or EXTERNAL deployment controller): roll it by hand; see ' +
          'the logs',
        this.metricServicesNeedingAction(),
      ),
    };
    if (!rollouts) return alarms;
    return {
      ...alarms,
      deploymentProblems: this.alarm(
        'DeploymentProblemsAlarm',
        'A forced deployment of a rollout failed, was rolled back or got stuck: the service may ' +
          'still run a stale secret or parameter; see the rollout engine logs',
        new cloudwatch.MathExpression({
          expression: 'FILL(failed, 0) + FILL(rolledBack, 0) + FILL(stuck, 0)',
          usingMetrics: {
            failed: this.metricDeploymentsFailed(),
            rolledBack: this.metricDeploymentsRolledBack(),
            stuck: this.metricDeploymentsStuck(),
          },
          label: 'Deployments failed, rolled back or stuck',
          period: Duration.minutes(5),
        }),
      ),
      ...(settings.waves !== false && {
        haltedRollouts: new cloudwatch.Alarm(this, 'HaltedRolloutsAlarm', {
          alarmDescription:
            'A rollout in waves halted (a deployment failed, rolled back or got stuck, or a ' +
            'watched alarm went off) and waits for a person: resume or abort it ' +
            '(ecs-redeployer resume|abort); the notification says why',
          // A gauge the engine writes as it waits (hourly) and when a halt begins or ends: the
          // alarm keeps its state between writes.
          metric: this.metricRolloutsHalted(),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.IGNORE,
        }),
      }),
      unwatchedRollouts: this.alarm(
        'UnwatchedRolloutsAlarm',
        'The rollout engine could not be started for a change: its services wait for the next ' +
          'sweep to restart it',
        this.metricRolloutsUnwatched(),
      ),
      engineErrors: this.alarm(
        'EngineErrorsAlarm',
        'An invocation of the rollout engine failed; see its logs',
        rollouts.function.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
      ),
      ...(settings.sweep !== false && {
        sweepErrors: this.alarm(
          'SweepErrorsAlarm',
          'The missed-event sweep could not check some secrets, parameters or task ' +
            'definitions; see the function logs',
          this.metricSweepErrors(),
        ),
      }),
    };
  }

  /** An alarm for `metric` ≥ 1 in one period; missing data is not breaching. */
  private alarm(
    id: string,
    alarmDescription: string,
    metric: cloudwatch.IMetric,
  ): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this, id, {
      alarmDescription,
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  private createDashboard(
    alarms: readonly cloudwatch.Alarm[],
    settings: Settings,
  ): cloudwatch.Dashboard {
    const byReason = (metricName: RedeployerMetricName): cloudwatch.MathExpression =>
      new cloudwatch.MathExpression({
        expression:
          `SEARCH('{${this.metricsNamespace},FunctionName,Reason} MetricName="${metricName}" ` +
          `FunctionName="${this.function.functionName}"', 'Sum', 300)`,
        label: '',
        period: Duration.minutes(5),
      });
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      right: cloudwatch.IMetric[] = [],
    ): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(1),
    });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...alarms], width: 24 }),
    );
    dashboard.addWidgets(
      graph('Changes', [this.metricChangesSeen(), this.metricChangesIgnored()]),
      graph('Services', [
        this.metricServicesRedeployed(),
        this.metricServicesSkipped(),
        this.metricServicesFailed(),
        this.metricServicesNeedingAction(),
      ]),
      graph('Brakes', [this.metricServicesBraked(), this.metricServicesFlapGuarded()]),
    );
    dashboard.addWidgets(
      graph('Ignored changes by reason', [byReason('ChangesIgnored')]),
      graph('Skipped services by reason', [byReason('ServicesSkipped')]),
      graph(
        'Function errors and duration',
        [this.function.metricErrors({ statistic: 'Sum' })],
        [this.function.metricDuration({ statistic: 'Maximum' })],
      ),
    );
    if (this.engine) {
      dashboard.addWidgets(
        new cloudwatch.TextWidget({ markdown: '## Rollouts', width: 24, height: 1 }),
      );
      dashboard.addWidgets(
        graph(
          'Rollouts ended and their duration',
          [this.metricRolloutsEnded()],
          [
            this.metricRolloutDuration({ label: 'Duration (average, s)' }),
            this.metricRolloutDuration({ statistic: 'Maximum', label: 'Duration (maximum, s)' }),
          ],
        ),
        graph('Forced deployments by end', [
          this.metricDeploymentsCompleted(),
          this.metricDeploymentsFailed(),
          this.metricDeploymentsRolledBack(),
          this.metricDeploymentsStuck(),
        ]),
        graph(
          'Owed, halted and unwatched',
          [
            this.metricServicesOwed(),
            this.metricRolloutsUnwatched(),
            ...(settings.waves !== false ? [this.metricRolloutsHalted()] : []),
            ...(settings.sweep !== false ? [this.metricSweepErrors()] : []),
          ],
          [this.engine.metricErrors({ statistic: 'Sum', label: 'Engine errors' })],
        ),
      );
    }
    dashboard.addWidgets(
      graph(
        'Queues',
        [
          this.changeQueue.metricApproximateNumberOfMessagesVisible({
            label: 'Change queue: waiting',
          }),
          this.changeQueue.metricApproximateNumberOfMessagesDelayed({
            label: 'Change queue: settling (delayed)',
          }),
          this.changeQueue.metricApproximateNumberOfMessagesNotVisible({
            label: 'Change queue: in flight',
          }),
          this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            label: 'Dead-letter queue depth',
          }),
        ],
        [
          this.changeQueue.metricApproximateAgeOfOldestMessage({
            label: 'Change queue: oldest message age',
          }),
        ],
      ),
    );
    return dashboard;
  }
}
