/**
 * RolloutEngine: the part of SecretRedeployer that sees each change through to its end.
 *
 * Every change the change handler takes on gets a rollout, recorded in a DynamoDB table, that
 * owns the change until each referencing service runs the new value. The engine, a Lambda
 * durable function started by the change handler (one execution per rollout, named after it),
 * watches the rollout's forced deployments: it waits on a durable timer (woken early by ECS
 * deployment events, through the change handler), looks at the services, deploys the ones whose
 * hold is over, and records how each deployment ended; when every service reached an end it
 * notifies once and writes the rollout's metrics.
 *
 * The change handler starts the engine through the `live` alias (a durable execution needs a
 * qualified ARN) and wakes it with `SendDurableExecutionCallbackSuccess`; nothing of the change
 * handler is referenced here, so the two functions never depend on each other in a cycle.
 */
import { Annotations, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { functionCode } from './bundling.js';
import { acknowledgeWildcard } from './nag.js';
import { checkRange } from './validation.js';

/**
 * Rollouts: how the engine watches the forced deployments of a change.
 *
 * The rollout table keeps a closed rollout, and each service's part in it, for 35 days after its
 * last write (DynamoDB TTL on `expiresAt`, set by the functions), long enough for the CLI to
 * report on last month's changes.
 */
export interface RolloutOptions {
  /**
   * A forced deployment still running this long after it started is STUCK: reported, counted
   * (`DeploymentsStuck`), alarmed, and no longer waited for. Whole seconds, 1 minute to 7 days.
   * @default Duration.minutes(30)
   */
  readonly stuckAfter?: Duration;

  /**
   * How often the engine looks at the deployments in flight when no ECS deployment event wakes
   * it earlier (events are best effort; `SERVICE_DEPLOYMENT_FAILED` is sent only for services
   * with the deployment circuit breaker on). Whole seconds, 5 seconds to 1 hour.
   * @default Duration.seconds(60)
   */
  readonly pollInterval?: Duration;

  /**
   * How long an `UpdateService` whose answer was lost may stay invisible in the service before
   * it is sent again. Whole seconds, 10 seconds to 1 hour.
   * @default Duration.minutes(2)
   */
  readonly confirmAfter?: Duration;

  /**
   * The longest one engine execution may run. A rollout lasts as long as its services are held
   * (flap guard, fleet cap) plus its slowest deployment; an execution that runs out is restarted
   * by the next missed-event sweep. Whole seconds, 1 day to 366 days, longer than `stuckAfter`.
   * @default - the flap guard's period + `stuckAfter` + 1 day
   */
  readonly executionTimeout?: Duration;
}

/** Rollout defaults, used for every option not given. */
export const DEFAULT_ROLLOUTS = {
  stuckAfter: Duration.minutes(30),
  pollInterval: Duration.seconds(60),
  confirmAfter: Duration.minutes(2),
} as const;

/** Days the rollout table keeps a closed rollout (set by the functions, not configurable). */
export const ROLLOUT_RETENTION_DAYS = 35;
/** The engine's alias: the change handler starts durable executions through it. */
export const ENGINE_ALIAS = 'live';
/** The rollout table's index of rollouts by creation time (functions/rollout/store.ts). */
export const BY_TIME_INDEX = 'ByTime';
/** How long Lambda keeps the history of an ended durable execution. */
const EXECUTION_RETENTION = Duration.days(14);
/** Durable execution time-out limits: at least a day, at most Lambda's 366 days. */
const MIN_EXECUTION_TIMEOUT = Duration.days(1);
const MAX_EXECUTION_TIMEOUT = Duration.days(366);

/** The checked rollout settings, in the units the functions read. */
export interface RolloutSettings {
  readonly stuckAfterSeconds: number;
  readonly pollSeconds: number;
  readonly confirmAfterSeconds: number;
  readonly executionTimeout: Duration;
}

/**
 * Checks `options` (errors name the prop) and fills in the defaults. `flapPeriod` is the flap
 * guard's period, `undefined` when it is off: the default execution time-out covers a service
 * held for a whole period.
 */
export function rolloutSettings(
  options: RolloutOptions,
  flapPeriod: Duration | undefined,
): RolloutSettings {
  const stuckAfterSeconds = checkRange(
    'rollouts.stuckAfter',
    options.stuckAfter ?? DEFAULT_ROLLOUTS.stuckAfter,
    Duration.minutes(1),
    Duration.days(7),
  );
  const pollSeconds = checkRange(
    'rollouts.pollInterval',
    options.pollInterval ?? DEFAULT_ROLLOUTS.pollInterval,
    Duration.seconds(5),
    Duration.hours(1),
  );
  const confirmAfterSeconds = checkRange(
    'rollouts.confirmAfter',
    options.confirmAfter ?? DEFAULT_ROLLOUTS.confirmAfter,
    Duration.seconds(10),
    Duration.hours(1),
  );
  const executionTimeout =
    options.executionTimeout ??
    Duration.seconds(
      (flapPeriod?.toSeconds() ?? 0) + stuckAfterSeconds + MIN_EXECUTION_TIMEOUT.toSeconds(),
    );
  const timeoutSeconds = checkRange(
    'rollouts.executionTimeout',
    executionTimeout,
    MIN_EXECUTION_TIMEOUT,
    MAX_EXECUTION_TIMEOUT,
  );
  if (timeoutSeconds <= stuckAfterSeconds) {
    throw new Error(
      `rollouts.executionTimeout (${executionTimeout.toHumanString()}) must be longer than ` +
        `rollouts.stuckAfter (${Duration.seconds(stuckAfterSeconds).toHumanString()})`,
    );
  }
  return { stuckAfterSeconds, pollSeconds, confirmAfterSeconds, executionTimeout };
}

export interface RolloutEngineProps {
  /** The checked rollout settings (see `rolloutSettings`). */
  readonly settings: RolloutSettings;

  /** The services the engine may describe and force-deploy: the change handler's, exactly. */
  readonly serviceArns: readonly string[];

  /**
   * The watched clusters: the engine lists and describes the stopped tasks of failed
   * deployments in these only.
   * @default - every cluster of the stack's account and Region
   */
  readonly clusters?: readonly ecs.ICluster[];

  /**
   * The flap guard the engine applies to the services it deploys itself (held ones).
   * @default - no flap guard
   */
  readonly flapGuard?: {
    readonly table: dynamodb.ITable;
    readonly maxDeployments: number;
    readonly periodSeconds: number;
  };

  /** Fleet-wide cap on forced deployments in flight; 0: no cap. */
  readonly maxDeploymentsInProgress: number;

  /** How long a service held by the fleet cap waits before it is tried again, in seconds. */
  readonly brakeRetrySeconds: number;

  /** The alarms rollouts in waves watch (`cloudwatch:DescribeAlarms` on these only). */
  readonly watchedAlarms?: readonly cloudwatch.IAlarm[];

  /**
   * Receives one message per rollout when it ends (`sns:Publish` only, no KMS action).
   * @default - no notifications
   */
  readonly notificationTopic?: sns.ITopic;

  /** The CloudWatch namespace of the engine's embedded-format metrics. */
  readonly metricsNamespace: string;

  /** How long the engine's logs are kept. */
  readonly logRetention: logs.RetentionDays;
}

export class RolloutEngine extends Construct {
  /**
   * The rollouts: one item per rollout, one per service in it, the last claim on each service,
   * and the version each secret label or parameter was last handled at.
   */
  public readonly table: dynamodb.Table;
  /** The engine: a Lambda durable function, one execution per rollout. */
  public readonly function: nodejs.NodejsFunction;
  /** `live`, the alias durable executions are started through (it follows each new version). */
  public readonly alias: lambda.Alias;
  /** The engine's role: its own log group, the tables, ECS, its durable executions. */
  public readonly role: iam.Role;
  /** The engine's log group. */
  public readonly logGroup: logs.LogGroup;
  /** What the change handler needs to know about rollouts (its environment variables). */
  public readonly changeHandlerEnvironment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: RolloutEngineProps) {
    super(scope, id);
    const { settings } = props;

    this.table = this.createTable();
    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention });
    this.role = this.createRole(props);

    const rolloutEnvironment = {
      ROLLOUT_TABLE_NAME: this.table.tableName,
      STUCK_AFTER_SECONDS: String(settings.stuckAfterSeconds),
      ROLLOUT_POLL_SECONDS: String(settings.pollSeconds),
      CONFIRM_AFTER_SECONDS: String(settings.confirmAfterSeconds),
    };
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      ...functionCode('functions/rollout/handler.ts'),
      memorySize: 256,
      // Each invocation of a durable function is one short look; the waits between looks are
      // durable timers that cost no invocation time.
      timeout: Duration.minutes(5),
      description: 'Watches the forced deployments of a secret or parameter change to their end',
      role: this.role,
      logGroup: this.logGroup,
      // An execution replays on the version it started on: a deployment must never delete the
      // version a running rollout needs (deleted with the function, on `cdk destroy`).
      currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
      durableConfig: {
        executionTimeout: settings.executionTimeout,
        retentionPeriod: EXECUTION_RETENTION,
      },
      environment: {
        ...rolloutEnvironment,
        FLAP_TABLE_NAME: props.flapGuard?.table.tableName ?? '',
        ...(props.flapGuard && {
          FLAP_MAX_DEPLOYMENTS: String(props.flapGuard.maxDeployments),
          FLAP_PERIOD_SECONDS: String(props.flapGuard.periodSeconds),
        }),
        MAX_DEPLOYMENTS_IN_PROGRESS: String(props.maxDeploymentsInProgress),
        BRAKE_RETRY_SECONDS: String(props.brakeRetrySeconds),
        NOTIFICATION_TOPIC_ARN: props.notificationTopic?.topicArn ?? '',
        METRICS_NAMESPACE: props.metricsNamespace,
        LOG_LEVEL: 'INFO',
        // Read by the SDK's default configuration: ride out ECS throttling in large accounts.
        AWS_MAX_ATTEMPTS: '10',
      },
    });

    Annotations.of(this.function).acknowledgeInfo(
      'aws-lambda:Function.DurableConfig',
      'The engine is a durable function from its first deployment: it is never converted, so ' +
        'never replaced for it.',
    );

    // Durable executions run on a version: the alias is what the change handler invokes. Each
    // deployment that changes the engine publishes a version and moves the alias; an execution
    // keeps the version it started on (retained above).
    this.alias = new lambda.Alias(this, 'LiveAlias', {
      aliasName: ENGINE_ALIAS,
      version: this.function.currentVersion,
    });
    this.allowDurableExecution();

    this.changeHandlerEnvironment = {
      ...rolloutEnvironment,
      ROLLOUT_ENGINE_ARN: this.alias.functionArn,
    };
  }

  /**
   * Lets the change handler's role use the rollout table, start the engine (only through its
   * alias) and wake its executions. Nothing else: it never checkpoints or reads their state.
   */
  public grantChangeHandler(role: iam.Role): void {
    role.addToPolicy(this.tableStatement());
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'StartRolloutEngine',
        actions: ['lambda:InvokeFunction'],
        resources: [this.alias.functionArn],
      }),
    );
    const executions = this.executionsArn();
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WakeRolloutEngine',
        actions: ['lambda:SendDurableExecutionCallbackSuccess'],
        resources: [executions],
      }),
    );
    acknowledgeWildcard(
      role,
      executions,
      'The durable executions of the rollout engine (this one function only): an ECS deployment ' +
        'event ends the wait of the executions watching the service. Execution ARNs carry the ' +
        'version and a generated id, so they are only known at run time.',
    );
  }

  private createTable(): dynamodb.Table {
    const table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      // DESTROY, like the flap table, on purpose. What the table records is owed only to this
      // stack's functions: once the stack is gone nothing reads it, and a retained table would
      // never be adopted by a new deployment (which creates a new table under a new name). A new
      // install rebuilds what matters: its first missed-event sweep takes every live version as
      // its baseline and redeploys the services older than the secrets and parameters they
      // reference, so a change whose rollout was lost with the table is redone. An accidental
      // deletion is covered by point-in-time recovery (DynamoDB keeps a system backup of a table
      // deleted with PITR on for 35 days).
      removalPolicy: RemovalPolicy.DESTROY,
    });
    table.addGlobalSecondaryIndex({
      indexName: BY_TIME_INDEX,
      partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    return table;
  }

  /** Every request the rollout store makes, on the table and its index. */
  private tableStatement(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'RolloutState',
      actions: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
      ],
      resources: [this.table.tableArn, `${this.table.tableArn}/index/${BY_TIME_INDEX}`],
    });
  }

  /** The durable executions of every version of the engine (`<function ARN>:*`). */
  private executionsArn(): string {
    return `${this.function.functionArn}:*`;
  }

  /** An explicit role instead of AWSLambdaBasicDurableExecutionRolePolicy. */
  private createRole(props: RolloutEngineProps): iam.Role {
    const stack = Stack.of(this);
    const clusters = props.clusters ?? [];
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'ECS secret redeployer rollout engine: watches and forces deployments',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    role.addToPolicy(this.tableStatement());
    if (props.flapGuard) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'FlapGuardState',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          resources: [props.flapGuard.table.tableArn],
        }),
      );
    }
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeAndRedeployServices',
        actions: ['ecs:DescribeServices', 'ecs:UpdateService'],
        resources: [...props.serviceArns],
      }),
    );
    // Blue/green, linear and canary deployments: the pause hooks a deployment waits at.
    const serviceDeploymentArns = props.serviceArns.map((arn) =>
      arn.replace(/:service\//, ':service-deployment/'),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadServiceDeployments',
        actions: ['ecs:ListServiceDeployments', 'ecs:DescribeServiceDeployments'],
        resources: [...props.serviceArns, ...serviceDeploymentArns],
      }),
    );
    const alarms = props.watchedAlarms ?? [];
    if (alarms.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadWatchedAlarms',
          actions: ['cloudwatch:DescribeAlarms'],
          resources: alarms.map((alarm) => alarm.alarmArn),
        }),
      );
    }
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListStoppedTasks',
        actions: ['ecs:ListTasks'],
        resources: ['*'],
        ...(clusters.length > 0 && {
          conditions: { ArnEquals: { 'ecs:cluster': clusters.map((c) => c.clusterArn) } },
        }),
      }),
    );
    const taskArns = (clusters.length === 0 ? [undefined] : clusters).map((cluster) =>
      stack.formatArn({
        service: 'ecs',
        resource: 'task',
        resourceName: cluster === undefined ? '*' : `${cluster.clusterName}/*`,
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeStoppedTasks',
        actions: ['ecs:DescribeTasks'],
        resources: taskArns,
      }),
    );
    if (props.notificationTopic) {
      // Not topic.grantPublish(): that would also grant kms:Decrypt for a customer managed key.
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'PublishNotifications',
          actions: ['sns:Publish'],
          resources: [props.notificationTopic.topicArn],
        }),
      );
    }

    acknowledgeWildcard(
      role,
      '*',
      'ecs:ListTasks supports no resource-level permission; it is narrowed by the ecs:cluster ' +
        'condition when clusters are set. The engine lists the stopped tasks of a failed ' +
        'deployment to report why they stopped.',
    );
    for (const arn of props.serviceArns) {
      acknowledgeWildcard(
        role,
        arn,
        'The services of a rollout are discovered at run time in the watched clusters: the ' +
          'engine describes them and force-deploys the ones held back (flap guard, fleet cap).',
      );
    }
    for (const arn of serviceDeploymentArns) {
      acknowledgeWildcard(
        role,
        arn,
        'The service deployments of the watched services: a blue/green, linear or canary ' +
          'deployment paused at a lifecycle hook is found and reported; their ids are only known ' +
          'at run time.',
      );
    }
    for (const arn of taskArns) {
      acknowledgeWildcard(
        role,
        arn,
        'The stopped tasks of a failed deployment in the watched clusters, described to report ' +
          'why they stopped (stopped reason, exit codes); task ids are only known at run time.',
      );
    }
    return role;
  }

  /**
   * The checkpoint APIs on the engine's own executions, in a policy of their own: the function
   * depends on its role's default policy, so a statement there naming the function's ARN would
   * be a circular reference. The alias waits for this policy, so no execution starts before it.
   */
  private allowDurableExecution(): void {
    const executions = this.executionsArn();
    const policy = new iam.Policy(this, 'DurableExecutionPolicy', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'DurableExecution',
          actions: ['lambda:CheckpointDurableExecution', 'lambda:GetDurableExecutionState'],
          resources: [executions],
        }),
      ],
    });
    this.alias.node.addDependency(policy);
    acknowledgeWildcard(
      policy,
      executions,
      'Lambda authorizes checkpoints against the durable execution ARN, which extends the ' +
        'function ARN with the version and execution (AWS Lambda developer guide, ' +
        'durable-security): this function’s own executions, every version.',
    );
  }
}
