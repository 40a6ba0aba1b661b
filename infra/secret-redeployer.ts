/**
 * SecretRedeployer: EventBridge rules for Parameter Store and Secrets Manager changes, and the
 * Lambda function that force-deploys exactly the ECS services that reference what changed.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
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

export interface SecretRedeployerProps {
  /**
   * The ECS clusters whose services are redeployed. `ecs:UpdateService` is scoped to their
   * services.
   * @default - every cluster of the stack's account and Region
   */
  readonly clusters?: readonly ecs.ICluster[];

  /**
   * Only secrets whose name starts with one of these prefixes trigger redeploys. The filter is
   * part of the rule patterns, so other secrets never invoke the function.
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
   * Memory of the function, in MiB.
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * Function timeout: long enough to walk every service of a large account.
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;

  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * How long an event may wait for delivery or a retry before it goes to the dead-letter queue.
   * @default Duration.hours(6)
   */
  readonly maxEventAge?: Duration;

  /**
   * Retries of a failed invocation (0-2) before the event goes to the dead-letter queue.
   * @default 2
   */
  readonly retryAttempts?: number;

  /**
   * Where the alarms (function errors, dead-lettered events) send notifications.
   * @default - the alarms have no action
   */
  readonly alarmTopic?: sns.ITopic;
}

export class SecretRedeployer extends Construct {
  /** The function that finds and redeploys the referencing services. */
  public readonly function: nodejs.NodejsFunction;
  /** Events that could not be delivered or handled, after retries. Encrypted. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Every EventBridge rule that invokes the function. */
  public readonly rules: readonly events.Rule[];
  /** Fires when an invocation fails (a redeploy failed or AWS errors persisted). */
  public readonly errorsAlarm: cloudwatch.Alarm;
  /** Fires when an event lands in the dead-letter queue. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: SecretRedeployerProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const clusters = props.clusters ?? [];
    const secretPrefixes = props.secretNamePrefixes ?? [];
    const parameterPrefixes = props.parameterNamePrefixes ?? [];
    const concurrency = props.concurrency ?? 10;
    const retryAttempts = props.retryAttempts ?? 2;
    const maxEventAge = props.maxEventAge ?? Duration.hours(6);
    validatePrefixes('secret', secretPrefixes);
    validatePrefixes('parameter', parameterPrefixes);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 50) {
      throw new Error(`concurrency must be a whole number from 1 to 50, got ${concurrency}`);
    }
    if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 2) {
      throw new Error(`retryAttempts must be 0, 1 or 2, got ${retryAttempts}`);
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the rules and the function.',
    });

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
        actions: ['ecs:DescribeServices', 'ecs:UpdateService'],
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
        // Metadata only: never GetSecretValue, GetParameter* or kms:Decrypt.
        actions: ['secretsmanager:DescribeSecret'],
        resources: secretArns,
      }),
    );

    const acknowledgeWildcard = (resource: string, reason: string): void => {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${flattenCfnReference(stack.resolve(resource))}]`,
        reason,
      });
    };
    acknowledgeWildcard(
      '*',
      'ecs:ListClusters, ecs:ListServices and ecs:DescribeTaskDefinition support no resource-level ' +
        'permissions (ListServices is narrowed by the ecs:cluster condition when clusters are set).',
    );
    for (const arn of serviceArns) {
      acknowledgeWildcard(
        arn,
        'Services are discovered at run time: every service of the watched clusters may reference ' +
          'the secret that changed, so each may need describing and a forced deployment.',
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
      timeout: props.timeout ?? Duration.minutes(5),
      description: 'Forces new deployments of the ECS services that reference a changed secret',
      role,
      logGroup: this.logGroup,
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts,
      maxEventAge,
      environment: {
        CLUSTERS: clusters.map((cluster) => cluster.clusterArn).join(','),
        DRY_RUN: String(props.dryRun ?? false),
        REDEPLOY_CONCURRENCY: String(concurrency),
        SECRET_NAME_PREFIXES: secretPrefixes.join(','),
        PARAMETER_NAME_PREFIXES: parameterPrefixes.join(','),
        LOG_LEVEL: 'INFO',
        // Read by the SDK's default configuration: ride out ECS throttling in large accounts.
        AWS_MAX_ATTEMPTS: '10',
      },
      bundling: BUNDLING,
    });

    const target = new targets.LambdaFunction(this.function, {
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 20,
      maxEventAge,
    });
    const rule = (ruleId: string, description: string, eventPattern: events.EventPattern) =>
      new events.Rule(this, ruleId, { description, eventPattern, targets: [target] });
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
    if (props.alarmTopic) {
      const action = new cloudwatchActions.SnsAction(props.alarmTopic);
      this.errorsAlarm.addAlarmAction(action);
      this.deadLetterAlarm.addAlarmAction(action);
    }
  }
}
