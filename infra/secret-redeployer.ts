/**
 * SecretRedeployer: EventBridge rules for Parameter Store and Secrets Manager changes, a change
 * queue whose delivery delay is the settle window, and the Lambda function that force-deploys
 * exactly the ECS services that reference what changed, with brakes, a flap guard, a scheduled
 * sweep for missed events, notifications, metrics, alarms and a dashboard.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as eventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
// cdk-nag names an IAM5 finding after the flattened resource; reuse its own flattening so each
// acknowledgement covers exactly one wildcard resource we chose, not the whole rule.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import { BUNDLING } from './bundling.js';
import {
  parameterChangePattern,
  parameterExpirationPattern,
  secretCloudTrailPattern,
  secretLabelUpdatedPattern,
  validatePrefixes,
} from './event-patterns.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The newest Node.js runtime Lambda offers (nodejs20.x is deprecated there). */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

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

/** The metrics the function writes (embedded metric format), all of unit Count. */
export type RedeployerMetricName =
  | 'ChangesSeen'
  | 'ChangesIgnored'
  | 'ServicesRedeployed'
  | 'ServicesSkipped'
  | 'ServicesFailed'
  | 'ServicesBraked'
  | 'ServicesFlapGuarded'
  | 'ServicesNeedingAction';

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
   * services.
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
   * the watched clusters. A change that would exceed it is put back on the change queue and
   * retried after `brakeRetryDelay`, so a widely shared secret rolls the fleet in waves.
   * `0` means no cap.
   * @default 20
   */
  readonly maxDeploymentsInProgress?: number;

  /**
   * How long a braked change waits before it is tried again (whole seconds, 1 second to
   * 15 minutes).
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
   * through the same path (brakes, flap guard, opt-in/out). `false` turns it off.
   * @default { interval: Duration.hours(1) }
   */
  readonly sweep?: SweepOptions | false;

  /**
   * Opt-in mode: only services tagged `secret-redeployer:include` = `true` are redeployed.
   * In either mode, `secret-redeployer:exclude` = `true` excludes a service.
   * @default false
   */
  readonly optIn?: boolean;

  /**
   * Receives one readable message per change handled (what changed, which services were
   * redeployed, skipped, braked, failed). The function is granted `sns:Publish` on it only: a
   * topic encrypted with a customer managed key must allow the function's role in its key
   * policy (or use the AWS managed key `alias/aws/sns`).
   * @default - no notifications
   */
  readonly notificationTopic?: sns.ITopic;

  /**
   * CloudWatch namespace of the function's embedded-format metrics.
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
   * Memory of the function, in MiB.
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * Function timeout: long enough to walk every service of a large account. The change queue's
   * visibility timeout is six times this.
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;

  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * How long EventBridge keeps trying to deliver an event (to the change queue, or a sweep to
   * the function), and how long a sweep invocation may wait for a retry, before it goes to the
   * dead-letter queue.
   * @default Duration.hours(6)
   */
  readonly maxEventAge?: Duration;

  /**
   * Retries of a failed sweep invocation (0-2) before it goes to the dead-letter queue. (A
   * change from the queue is received at most three times before it is dead-lettered.)
   * @default 2
   */
  readonly retryAttempts?: number;

  /**
   * Where the alarms (function errors, dead-lettered events, failed deployments, braking) send
   * notifications.
   * @default - the alarms have no action
   */
  readonly alarmTopic?: sns.ITopic;
}

/** Whole seconds of `duration`, or an error naming the prop. */
function wholeSeconds(name: string, duration: Duration): number {
  const millis = duration.toMilliseconds();
  if (!Number.isInteger(millis / 1000)) {
    throw new Error(`${name} must be a whole number of seconds, got ${duration.toHumanString()}`);
  }
  return millis / 1000;
}

function checkRange(name: string, duration: Duration, min: Duration, max?: Duration): number {
  const seconds = wholeSeconds(name, duration);
  if (seconds < min.toSeconds() || (max !== undefined && seconds > max.toSeconds())) {
    const range =
      max === undefined
        ? `at least ${min.toHumanString()}`
        : `from ${min.toSeconds() === 0 ? '0' : min.toHumanString()} to ${max.toHumanString()}`;
    throw new Error(`${name} must be ${range}, got ${duration.toHumanString()}`);
  }
  return seconds;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
  }
}

/** CloudWatch: 1-255 ASCII characters; `AWS/` is reserved for AWS services. */
const NAMESPACE = /^[A-Za-z0-9 ._#:/-]{1,255}$/;

export class SecretRedeployer extends Construct {
  /** The function that finds and redeploys the referencing services. */
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
  /** Recent forced deployments per service, for the flap guard; absent when it is off. */
  public readonly flapTable?: dynamodb.Table;
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
  /** Graphs of the metrics, the function and the queues; absent with `dashboard: false`. */
  public readonly dashboard?: cloudwatch.Dashboard;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  /** The CloudWatch namespace of the function's metrics. */
  public readonly metricsNamespace: string;

  constructor(scope: Construct, id: string, props: SecretRedeployerProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const clusters = props.clusters ?? [];
    const secretPrefixes = props.secretNamePrefixes ?? [];
    const parameterPrefixes = props.parameterNamePrefixes ?? [];
    const concurrency = props.concurrency ?? 10;
    const retryAttempts = props.retryAttempts ?? 2;
    const maxEventAge = props.maxEventAge ?? Duration.hours(6);
    const timeout = props.timeout ?? Duration.minutes(5);
    const settleWindow = props.settleWindow ?? Duration.seconds(30);
    const maxDeploymentsInProgress = props.maxDeploymentsInProgress ?? 20;
    const brakeRetryDelay = props.brakeRetryDelay ?? Duration.minutes(1);
    const maxConcurrentInvocations = props.maxConcurrentInvocations ?? 2;
    const flapGuard = props.flapGuard === undefined ? DEFAULT_FLAP_GUARD : props.flapGuard;
    const sweep = props.sweep === undefined ? DEFAULT_SWEEP : props.sweep;
    this.metricsNamespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;

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
      if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
        throw new Error(`sourceRegions: "${region}" is not a Region name`);
      }
    }
    checkInteger('concurrency', concurrency, 1, 50);
    if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 2) {
      throw new Error(`retryAttempts must be 0, 1 or 2, got ${retryAttempts}`);
    }
    checkRange('settleWindow', settleWindow, Duration.seconds(0), MAX_SQS_DELAY);
    checkInteger('maxDeploymentsInProgress', maxDeploymentsInProgress, 0, 10_000);
    const brakeRetrySeconds = checkRange(
      'brakeRetryDelay',
      brakeRetryDelay,
      Duration.seconds(1),
      MAX_SQS_DELAY,
    );
    checkInteger('maxConcurrentInvocations', maxConcurrentInvocations, 2, 1000);
    if (flapGuard !== false) {
      checkInteger('flapGuard.maxDeployments', flapGuard.maxDeployments, 1, 1000);
      checkRange('flapGuard.period', flapGuard.period, Duration.minutes(1), Duration.days(31));
    }
    if (sweep !== false) {
      checkRange('sweep.interval', sweep.interval, Duration.minutes(5));
      if (sweep.interval.toSeconds() % 60 !== 0) {
        throw new Error(
          `sweep.interval must be a whole number of minutes, got ${sweep.interval.toHumanString()}`,
        );
      }
    }
    if (!NAMESPACE.test(this.metricsNamespace) || this.metricsNamespace.startsWith('AWS/')) {
      throw new Error(
        `metricsNamespace must be 1-255 letters, digits or . _ # : / - and not start with AWS/, ` +
          `got "${this.metricsNamespace}"`,
      );
    }
    // Lambda rejects a timeout above 15 minutes itself; six times that is within SQS's 12 hours.
    const timeoutSeconds = wholeSeconds('timeout', timeout);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the rules, the change queue and the function.',
    });

    // The settle window is the queue's delivery delay: a managed timer that survives the
    // function being cold or restarted. The visibility timeout is six times the function
    // timeout, as Lambda recommends for SQS event sources.
    this.changeQueue = new sqs.Queue(this, 'ChangeQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deliveryDelay: settleWindow,
      visibilityTimeout: Duration.seconds(timeoutSeconds * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: CHANGE_MAX_RECEIVE_COUNT },
    });

    if (flapGuard !== false) {
      this.flapTable = new dynamodb.Table(this, 'FlapTable', {
        partitionKey: { name: 'serviceArn', type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: 'expiresAt',
        // Counts of recent deployments: disposable, rebuilt as services are redeployed.
        removalPolicy: RemovalPolicy.DESTROY,
      });
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    // An explicit role instead of AWSLambdaBasicExecutionRole: logs go to this log group only.
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

    const serviceArns =
      clusters.length === 0
        ? [stack.formatArn({ service: 'ecs', resource: 'service', resourceName: '*' })]
        : clusters.map((cluster) =>
            stack.formatArn({
              service: 'ecs',
              resource: 'service',
              resourceName: `${cluster.clusterName}/*`,
            }),
          );
    const secretArns = (secretPrefixes.length === 0 ? [''] : secretPrefixes).map((prefix) =>
      stack.formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${prefix}*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
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
        resources: serviceArns,
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
        resources: secretArns,
      }),
    );
    if (sweep !== false) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'DescribeParameters',
          // Metadata only (names and last-modified dates), never a value.
          actions: ['ssm:DescribeParameters'],
          resources: ['*'],
        }),
      );
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

    const acknowledgeWildcard = (resource: string, reason: string): void => {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${flattenCfnReference(stack.resolve(resource))}]`,
        reason,
      });
    };
    acknowledgeWildcard(
      '*',
      'ecs:ListClusters, ecs:ListServices and ecs:DescribeTaskDefinition support no resource-level ' +
        'permissions (ListServices is narrowed by the ecs:cluster condition when clusters are set).' +
        (sweep !== false
          ? ' Neither does ssm:DescribeParameters, which the missed-event sweep uses to read ' +
            'parameter names and last-modified dates (metadata only, never a value).'
          : ''),
    );
    for (const arn of serviceArns) {
      acknowledgeWildcard(
        arn,
        'Services are discovered at run time: every service of the watched clusters may reference ' +
          'the secret that changed, so each may need describing, its tags reading and a forced ' +
          'deployment.',
      );
    }
    for (const arn of secretArns) {
      acknowledgeWildcard(
        arn,
        'DescribeSecret (metadata only, never the value) resolves the name in an event to the ' +
          'full ARN; the secret is only known when the event arrives. Scoped to the name prefixes.',
      );
    }

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: join(ROOT, 'functions/redeploy/handler.ts'),
      handler: 'handler',
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout,
      description: 'Forces new deployments of the ECS services that reference a changed secret',
      role,
      logGroup: this.logGroup,
      // Only the sweep invokes the function asynchronously; changes arrive from the queue.
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts,
      maxEventAge,
      environment: {
        CLUSTERS: clusters.map((cluster) => cluster.clusterArn).join(','),
        DRY_RUN: String(props.dryRun ?? false),
        REDEPLOY_CONCURRENCY: String(concurrency),
        SECRET_NAME_PREFIXES: secretPrefixes.join(','),
        PARAMETER_NAME_PREFIXES: parameterPrefixes.join(','),
        CHANGE_QUEUE_URL: this.changeQueue.queueUrl,
        MAX_DEPLOYMENTS_IN_PROGRESS: String(maxDeploymentsInProgress),
        BRAKE_RETRY_SECONDS: String(brakeRetrySeconds),
        FLAP_TABLE_NAME: this.flapTable?.tableName ?? '',
        ...(flapGuard !== false && {
          FLAP_MAX_DEPLOYMENTS: String(flapGuard.maxDeployments),
          FLAP_PERIOD_SECONDS: String(flapGuard.period.toSeconds()),
        }),
        OPT_IN: String(props.optIn ?? false),
        NOTIFICATION_TOPIC_ARN: props.notificationTopic?.topicArn ?? '',
        METRICS_NAMESPACE: this.metricsNamespace,
        SOURCE_ACCOUNTS: sourceAccounts.join(','),
        SOURCE_REGIONS: sourceRegions.join(','),
        RESTRICT_EVENT_SOURCES: 'true',
        LOG_LEVEL: 'INFO',
        // Read by the SDK's default configuration: ride out ECS throttling in large accounts.
        AWS_MAX_ATTEMPTS: '10',
      },
      bundling: BUNDLING,
    });

    // Grants the consume actions on the change queue to the function's role.
    this.function.addEventSource(
      new eventSources.SqsEventSource(this.changeQueue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: maxConcurrentInvocations,
      }),
    );

    const target = new targets.SqsQueue(this.changeQueue, {
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 20,
      maxEventAge,
    });
    // Only this account's and Region's events (plus configured sources). Written into the
    // patterns only when both are known at synth time: an environment-agnostic template keeps
    // plain patterns, and the function enforces the same rule either way.
    const origin: events.EventPattern =
      Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region)
        ? {}
        : {
            account: [...new Set([stack.account, ...sourceAccounts])],
            region: [...new Set([stack.region, ...sourceRegions])],
          };
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
        parameterChangePattern(parameterPrefixes),
      ),
      rule(
        'ParameterExpirationRule',
        'Parameter Store Expiration policy deleted a watched parameter',
        parameterExpirationPattern(parameterPrefixes),
      ),
      rule(
        'SecretLabelUpdatedRule',
        'Secrets Manager moved a staging label (AWSCURRENT: a new value is live)',
        secretLabelUpdatedPattern(secretPrefixes),
      ),
    ];
    if (props.enableCloudTrailRule) {
      rules.push(
        rule(
          'SecretCloudTrailRule',
          'Secrets Manager calls recorded by CloudTrail that change or delete a secret',
          secretCloudTrailPattern(secretPrefixes),
        ),
      );
    }
    this.rules = rules;

    if (sweep !== false) {
      this.sweepRule = new events.Rule(this, 'SweepRule', {
        description: 'Sweep for services still running a secret or parameter value that changed',
        schedule: events.Schedule.rate(sweep.interval),
        targets: [
          new targets.LambdaFunction(this.function, {
            event: events.RuleTargetInput.fromObject({
              action: 'sweep',
              id: events.EventField.eventId,
              time: events.EventField.time,
            }),
            deadLetterQueue: this.deadLetterQueue,
            retryAttempts: 20,
            maxEventAge,
          }),
        ],
      });
    }

    this.errorsAlarm = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription:
        'The ECS secret redeployer failed to handle a change; see its logs for the services',
      metric: this.function.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription:
        'A secret or parameter change was dead-lettered: services may run stale credentials',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failuresAlarm = new cloudwatch.Alarm(this, 'FailuresAlarm', {
      alarmDescription:
        'A forced deployment of an ECS service failed: it may still run a stale secret or parameter',
      metric: this.metricServicesFailed({ period: Duration.minutes(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.brakingAlarm = new cloudwatch.Alarm(this, 'BrakingAlarm', {
      alarmDescription:
        'The redeployer held services back: deployments in progress reached the cap (they roll ' +
        'in waves) or a service was force-deployed too often (flap guard); see its logs',
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(braked, 0) + FILL(flapGuarded, 0)',
        usingMetrics: {
          braked: this.metricServicesBraked(),
          flapGuarded: this.metricServicesFlapGuarded(),
        },
        label: 'Services braked or flap-guarded',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const alarms = [this.errorsAlarm, this.deadLetterAlarm, this.failuresAlarm, this.brakingAlarm];
    if (props.alarmTopic) {
      const action = new cloudwatchActions.SnsAction(props.alarmTopic);
      for (const alarm of alarms) alarm.addAlarmAction(action);
    }

    if (props.dashboard ?? true) {
      this.dashboard = this.createDashboard(alarms);
    }
  }

  /**
   * A metric the function writes (embedded metric format), for the dimension `FunctionName`:
   * statistic Sum over 5 minutes unless `props` says otherwise. `props.dimensionsMap` is added
   * to `FunctionName` (give `Reason` for the by-reason breakdowns of `ChangesIgnored` and
   * `ServicesSkipped`).
   */
  public metric(
    metricName: RedeployerMetricName,
    props: cloudwatch.MetricOptions = {},
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricsNamespace,
      metricName,
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...props,
      dimensionsMap: { FunctionName: this.function.functionName, ...props.dimensionsMap },
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

  /** Services put back on the queue because deployments in progress reached the cap. */
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

  private createDashboard(alarms: readonly cloudwatch.Alarm[]): cloudwatch.Dashboard {
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
