/**
 * SecretRedeployer at scale: the change queue (settle window), brakes, flap guard, missed-event
 * sweep, opt-in/out, notifications, metrics, alarms and dashboard.
 */
import { type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_METRICS_NAMESPACE,
  EXCLUDE_TAG,
  INCLUDE_TAG,
  type RedeployerMetricName,
  SecretRedeployer,
  type SecretRedeployerProps,
} from '../../infra/secret-redeployer.js';
import {
  VALUE_READING_ACTIONS,
  grantedActions,
  grants,
  roleStatements,
  statements,
} from './iam.js';
import { constructTemplate, nagFindings, newApp } from './synth.js';

type Resource = { Properties: Record<string, unknown> };

/** The logical id of a role of the template (fails the test for a missing role). */
function logicalIdOf(stack: Stack, role: iam.IRole | undefined): string {
  expect(role).toBeDefined();
  return stack.getLogicalId((role as iam.Role).node.defaultChild as CfnElement);
}

/** The only resource of `type` in the template. */
function only(template: Template, type: string): Resource {
  const resources = Object.values(template.findResources(type)) as Resource[];
  expect(resources).toHaveLength(1);
  return resources[0] as Resource;
}

/** The change queue's properties (the queue with a redrive policy). */
function changeQueue(template: Template): Record<string, unknown> {
  const queues = Object.values(
    template.findResources('AWS::SQS::Queue', {
      Properties: { RedrivePolicy: Match.anyValue() },
    }),
  ) as Resource[];
  expect(queues).toHaveLength(1);
  return (queues[0] as Resource).Properties;
}

/** The environment variables of the function (the change handler: the one with the queue). */
function environment(template: Template): Record<string, unknown> {
  const functions = (Object.values(template.findResources('AWS::Lambda::Function')) as Resource[])
    .map((fn) => (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables)
    .filter((variables) => 'CHANGE_QUEUE_URL' in variables);
  expect(functions).toHaveLength(1);
  return functions[0] as Record<string, unknown>;
}

/** The flap table's resource (keyed by service ARN). */
function flapTables(template: Template): Resource[] {
  return Object.values(
    template.findResources('AWS::DynamoDB::Table', {
      Properties: { KeySchema: [{ AttributeName: 'serviceArn', KeyType: 'HASH' }] },
    }),
  ) as Resource[];
}

/** A stack holding a topic and a redeployer built with `props(topic)`. */
function withTopic(props: (topic: sns.ITopic) => SecretRedeployerProps): {
  stack: Stack;
  template: Template;
  redeployer: SecretRedeployer;
  topic: sns.Topic;
} {
  const app = newApp();
  const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
  const topic = new sns.Topic(stack, 'Topic', { enforceSSL: true });
  const redeployer = new SecretRedeployer(stack, 'R', props(topic));
  return { stack, template: Template.fromStack(stack), redeployer, topic };
}

describe('change queue and settle window', () => {
  it('delays every change by the default settle window of 30 seconds', () => {
    expect(changeQueue(constructTemplate().template)).toMatchObject({ DelaySeconds: 30 });
  });

  it.each([
    [Duration.seconds(0), 0],
    [Duration.seconds(10), 10],
    [Duration.minutes(15), 900],
  ])('makes the delivery delay equal the settle window %s', (settleWindow, seconds) => {
    expect(changeQueue(constructTemplate({ settleWindow }).template)).toMatchObject({
      DelaySeconds: seconds,
    });
  });

  it('encrypts the change queue and sets its visibility timeout to six function timeouts', () => {
    expect(changeQueue(constructTemplate().template)).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 1800,
    });
    expect(changeQueue(constructTemplate({ timeout: Duration.minutes(2) }).template)).toMatchObject(
      { VisibilityTimeout: 720 },
    );
  });

  it('dead-letters a change after three receives to the dead-letter queue', () => {
    const { template } = constructTemplate();
    expect(changeQueue(template).RedrivePolicy).toEqual({
      deadLetterTargetArn: {
        'Fn::GetAtt': [expect.stringMatching(/^RedeployerDeadLetterQueue/), 'Arn'],
      },
      maxReceiveCount: 3,
    });
  });

  it('refuses plain-text access to the change queue', () => {
    const { template, stack, redeployer } = constructTemplate();
    const queueId = stack.resolve(redeployer.changeQueue.queueUrl) as unknown;
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [queueId],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('consumes the queue in batches of 10, reporting item failures, at most 2 invocations at once', () => {
    const { template } = constructTemplate();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('caps concurrent invocations at maxConcurrentInvocations', () => {
    constructTemplate({ maxConcurrentInvocations: 7 }).template.hasResourceProperties(
      'AWS::Lambda::EventSourceMapping',
      { ScalingConfig: { MaximumConcurrency: 7 } },
    );
  });

  it('tells the function the queue URL and lets it send braked changes back', () => {
    const { template, stack, redeployer } = constructTemplate();
    expect(environment(template).CHANGE_QUEUE_URL).toEqual(
      stack.resolve(redeployer.changeQueue.queueUrl),
    );
    expect(statements(template)).toContainEqual({
      Sid: 'RequeueBrakedChanges',
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: stack.resolve(redeployer.changeQueue.queueArn) as unknown,
    });
  });
});

describe('brakes', () => {
  it('passes the default caps to the function', () => {
    expect(environment(constructTemplate().template)).toMatchObject({
      MAX_DEPLOYMENTS_IN_PROGRESS: '20',
      BRAKE_RETRY_SECONDS: '60',
      REDEPLOY_CONCURRENCY: '10',
    });
  });

  it('passes configured caps, 0 meaning no cap', () => {
    const { template } = constructTemplate({
      maxDeploymentsInProgress: 0,
      brakeRetryDelay: Duration.minutes(15),
      concurrency: 3,
    });
    expect(environment(template)).toMatchObject({
      MAX_DEPLOYMENTS_IN_PROGRESS: '0',
      BRAKE_RETRY_SECONDS: '900',
      REDEPLOY_CONCURRENCY: '3',
    });
  });
});

describe('flap guard', () => {
  it('keeps its counts in an on-demand, encrypted table with point-in-time recovery and a TTL', () => {
    const { template } = constructTemplate();
    // The flap table, and the rollout table (rollout-engine.test.ts).
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    expect(flapTables(template)).toHaveLength(1);
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [{ AttributeName: 'serviceArn', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'serviceArn', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
      DeletionPolicy: 'Delete',
    });
  });

  it('grants exactly GetItem, PutItem and UpdateItem on the table, to the function and the engine', () => {
    const { template, stack, redeployer } = constructTemplate();
    const table = redeployer.flapTable;
    expect(table).toBeDefined();
    const flapGuardState = {
      Sid: 'FlapGuardState',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: stack.resolve(table?.tableArn) as unknown,
    };
    const onTable = statements(template).filter((statement) =>
      JSON.stringify(statement.Resource).includes(JSON.stringify(flapGuardState.Resource)),
    );
    expect(onTable).toEqual([flapGuardState, flapGuardState]);
    for (const role of [redeployer.function.role, redeployer.engine?.role]) {
      expect(roleStatements(template, logicalIdOf(stack, role))).toContainEqual(flapGuardState);
    }
  });

  it('grants no DynamoDB action outside the flap table with rollouts off', () => {
    expect(
      grantedActions(constructTemplate({ rollouts: false }).template)
        .filter((action) => action.startsWith('dynamodb:'))
        .sort(),
    ).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
  });

  it('passes the table and the default limits to the function', () => {
    const { template, stack, redeployer } = constructTemplate();
    expect(environment(template)).toMatchObject({
      FLAP_TABLE_NAME: stack.resolve(redeployer.flapTable?.tableName) as unknown,
      FLAP_MAX_DEPLOYMENTS: '3',
      FLAP_PERIOD_SECONDS: '3600',
    });
  });

  it('passes configured limits', () => {
    const { template } = constructTemplate({
      flapGuard: { maxDeployments: 5, period: Duration.hours(2) },
    });
    expect(environment(template)).toMatchObject({
      FLAP_MAX_DEPLOYMENTS: '5',
      FLAP_PERIOD_SECONDS: '7200',
    });
  });

  it('creates no table and grants no DynamoDB access when off (and rollouts off)', () => {
    const { template, redeployer } = constructTemplate({ flapGuard: false, rollouts: false });
    expect(redeployer.flapTable).toBeUndefined();
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(environment(template).FLAP_TABLE_NAME).toBe('');
    expect(grantedActions(template).filter((action) => action.startsWith('dynamodb:'))).toEqual([]);
  });

  it('creates no flap table and grants no access to one when off with rollouts on', () => {
    const { template, redeployer } = constructTemplate({ flapGuard: false });
    expect(redeployer.flapTable).toBeUndefined();
    expect(flapTables(template)).toEqual([]);
    expect(environment(template).FLAP_TABLE_NAME).toBe('');
    expect(statements(template).map((statement) => statement.Sid)).not.toContain('FlapGuardState');
  });
});

describe('missed-event sweep', () => {
  const sweepRules = (template: Template) =>
    Object.values(
      template.findResources('AWS::Events::Rule', {
        Properties: { ScheduleExpression: Match.anyValue() },
      }),
    ) as Resource[];

  it('invokes the function every hour with a sweep request', () => {
    const { template, stack, redeployer } = constructTemplate();
    expect(redeployer.sweepRule).toBeDefined();
    const rules = sweepRules(template);
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: stack.resolve(redeployer.function.functionArn) as unknown,
          InputTransformer: {
            InputPathsMap: { id: '$.id', time: '$.time' },
            InputTemplate: '{"action":"sweep","id":<id>,"time":<time>}',
          },
          RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 21600 },
          DeadLetterConfig: {
            Arn: stack.resolve(redeployer.deadLetterQueue.queueArn) as unknown,
          },
        },
      ],
    });
  });

  it('runs at the configured interval', () => {
    const rules = sweepRules(
      constructTemplate({ sweep: { interval: Duration.minutes(15) } }).template,
    );
    expect(rules[0]?.Properties.ScheduleExpression).toBe('rate(15 minutes)');
  });

  it('reads only metadata: ListSecretVersionIds and DescribeSecret, DescribeParameters', () => {
    const { template } = constructTemplate({ secretNamePrefixes: ['prod/'] });
    expect(statements(template)).toEqual(
      expect.arrayContaining([
        {
          Sid: 'DescribeSecrets',
          Effect: 'Allow',
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:ListSecretVersionIds'],
          Resource: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/*',
        },
        {
          Sid: 'DescribeParameters',
          Effect: 'Allow',
          Action: 'ssm:DescribeParameters',
          Resource: '*',
        },
      ]),
    );
  });

  it('creates no schedule and grants no sweep permissions when off (rollouts and flap guard off)', () => {
    const { template, redeployer } = constructTemplate({
      sweep: false,
      rollouts: false,
      flapGuard: false,
    });
    expect(redeployer.sweepRule).toBeUndefined();
    expect(sweepRules(template)).toEqual([]);
    const actions = grantedActions(template);
    expect(actions).not.toContain('secretsmanager:ListSecretVersionIds');
    expect(actions).not.toContain('ssm:DescribeParameters');
  });

  it('keeps DescribeParameters when off with rollouts on: a rollout reads the version it is for', () => {
    const { template, redeployer } = constructTemplate({ sweep: false });
    expect(redeployer.sweepRule).toBeUndefined();
    expect(sweepRules(template)).toEqual([]);
    const actions = grantedActions(template);
    expect(actions).not.toContain('secretsmanager:ListSecretVersionIds');
    expect(actions).toContain('ssm:DescribeParameters');
  });
});

describe('opt-in and opt-out by tag', () => {
  it('names the tags', () => {
    expect(EXCLUDE_TAG).toBe('secret-redeployer:exclude');
    expect(INCLUDE_TAG).toBe('secret-redeployer:include');
  });

  it('passes the mode to the function, opt-out by default', () => {
    expect(environment(constructTemplate().template).OPT_IN).toBe('false');
    expect(environment(constructTemplate({ optIn: true }).template).OPT_IN).toBe('true');
  });

  it('lets the function read service tags on the services it may describe', () => {
    const { template, stack, redeployer } = constructTemplate();
    const statement = roleStatements(template, logicalIdOf(stack, redeployer.function.role)).find(
      (s) => s.Sid === 'DescribeAndRedeployServices',
    );
    expect(statement?.Action).toEqual([
      'ecs:DescribeServices',
      'ecs:ListTagsForResource',
      'ecs:UpdateService',
    ]);
  });
});

describe('notifications', () => {
  it('sends none and grants no SNS access by default', () => {
    const { template } = constructTemplate();
    expect(environment(template).NOTIFICATION_TOPIC_ARN).toBe('');
    expect(grantedActions(template).filter((action) => action.startsWith('sns:'))).toEqual([]);
  });

  it('passes the topic to the function and the engine and grants each only sns:Publish on it', () => {
    const { template, stack, topic, redeployer } = withTopic((notificationTopic) => ({
      notificationTopic,
    }));
    expect(environment(template).NOTIFICATION_TOPIC_ARN).toEqual(stack.resolve(topic.topicArn));
    const publish = {
      Sid: 'PublishNotifications',
      Effect: 'Allow',
      Action: 'sns:Publish',
      Resource: stack.resolve(topic.topicArn) as unknown,
    };
    for (const role of [redeployer.function.role, redeployer.engine?.role]) {
      expect(roleStatements(template, logicalIdOf(stack, role))).toContainEqual(publish);
    }
    expect(grantedActions(template).filter((action) => action.startsWith('sns:'))).toEqual([
      'sns:Publish',
      'sns:Publish',
    ]);
  });

  it('grants no KMS action, even for a topic encrypted with a customer managed key', () => {
    const app = newApp();
    const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const masterKey = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const topic = new sns.Topic(stack, 'Topic', { masterKey, enforceSSL: true });
    new SecretRedeployer(stack, 'R', { notificationTopic: topic, alarmTopic: topic });
    const template = Template.fromStack(stack);
    const actions = grantedActions(template);
    expect(actions.filter((action) => action.toLowerCase().startsWith('kms:'))).toEqual([]);
    for (const forbidden of VALUE_READING_ACTIONS) {
      expect(actions.filter((action) => grants(action, forbidden))).toEqual([]);
    }
    // Nor does the key policy name the function's role: that is the key owner's decision.
    const keyPolicy = JSON.stringify(only(template, 'AWS::KMS::Key').Properties.KeyPolicy);
    expect(keyPolicy).not.toMatch(/RRole/);
  });
});

describe('metrics', () => {
  const METHODS: [keyof SecretRedeployer, RedeployerMetricName][] = [
    ['metricChangesSeen', 'ChangesSeen'],
    ['metricChangesIgnored', 'ChangesIgnored'],
    ['metricServicesRedeployed', 'ServicesRedeployed'],
    ['metricServicesSkipped', 'ServicesSkipped'],
    ['metricServicesFailed', 'ServicesFailed'],
    ['metricServicesBraked', 'ServicesBraked'],
    ['metricServicesFlapGuarded', 'ServicesFlapGuarded'],
    ['metricServicesNeedingAction', 'ServicesNeedingAction'],
  ];
  const metricOf = (
    redeployer: SecretRedeployer,
    method: keyof SecretRedeployer,
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric =>
    (redeployer[method] as (p?: cloudwatch.MetricOptions) => cloudwatch.Metric).call(
      redeployer,
      props,
    );

  it.each(METHODS)(
    '%s is the Sum over 5 minutes of %s by FunctionName in EcsSecretRedeployer',
    (method, name) => {
      const { stack, redeployer } = constructTemplate();
      const metric = metricOf(redeployer, method);
      expect(metric.metricName).toBe(name);
      expect(metric.namespace).toBe(DEFAULT_METRICS_NAMESPACE);
      expect(metric.namespace).toBe('EcsSecretRedeployer');
      expect(metric.statistic).toBe('Sum');
      expect(metric.period.toSeconds()).toBe(300);
      expect(stack.resolve(metric.dimensions)).toEqual({
        FunctionName: stack.resolve(redeployer.function.functionName) as unknown,
      });
    },
  );

  it("lets the caller's options win, and adds the caller's dimensions to FunctionName", () => {
    const { stack, redeployer } = constructTemplate();
    const metric = redeployer.metricServicesSkipped({
      period: Duration.minutes(1),
      statistic: 'Maximum',
      label: 'skipped (draining)',
      dimensionsMap: { Reason: 'draining' },
    });
    expect(metric.period.toSeconds()).toBe(60);
    expect(metric.statistic).toBe('Maximum');
    expect(metric.label).toBe('skipped (draining)');
    expect(stack.resolve(metric.dimensions)).toEqual({
      FunctionName: stack.resolve(redeployer.function.functionName) as unknown,
      Reason: 'draining',
    });
    expect(redeployer.metric('ChangesIgnored').metricName).toBe('ChangesIgnored');
  });

  it('uses the configured namespace for the metrics and tells the function', () => {
    const { template, redeployer } = constructTemplate({ metricsNamespace: 'Platform/Redeploy' });
    expect(redeployer.metricServicesFailed().namespace).toBe('Platform/Redeploy');
    expect(environment(template).METRICS_NAMESPACE).toBe('Platform/Redeploy');
    expect(environment(constructTemplate().template).METRICS_NAMESPACE).toBe('EcsSecretRedeployer');
  });
});

describe('alarms', () => {
  it('alarms when a forced deployment failed', () => {
    constructTemplate().template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'EcsSecretRedeployer',
      MetricName: 'ServicesFailed',
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when services were braked or flap-guarded, with one metric-math alarm', () => {
    const { template } = constructTemplate();
    const metric = (name: string) =>
      Match.objectLike({
        MetricStat: Match.objectLike({
          Metric: Match.objectLike({ Namespace: 'EcsSecretRedeployer', MetricName: name }),
          Stat: 'Sum',
        }),
        ReturnData: false,
      });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(braked, 0) + FILL(flapGuarded, 0)' }),
        metric('ServicesBraked'),
        metric('ServicesFlapGuarded'),
      ]),
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when a service needs a person (CODE_DEPLOY or EXTERNAL controller)', () => {
    constructTemplate({ rollouts: false }).template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      {
        Namespace: 'EcsSecretRedeployer',
        MetricName: 'ServicesNeedingAction',
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      },
    );
  });

  it('exposes all ten alarms and sends each to the alarm topic', () => {
    const { template, redeployer, stack, topic } = withTopic((alarmTopic) => ({ alarmTopic }));
    const alarms = [
      redeployer.errorsAlarm,
      redeployer.deadLetterAlarm,
      redeployer.failuresAlarm,
      redeployer.brakingAlarm,
      redeployer.needsActionAlarm,
      redeployer.deploymentProblemsAlarm,
      redeployer.unwatchedRolloutsAlarm,
      redeployer.haltedRolloutsAlarm,
      redeployer.engineErrorsAlarm,
      redeployer.sweepErrorsAlarm,
    ];
    expect(alarms).not.toContain(undefined);
    expect(new Set(alarms).size).toBe(10);
    const resources = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[];
    expect(resources).toHaveLength(10);
    for (const alarm of resources) {
      expect(alarm.Properties.AlarmActions).toEqual([stack.resolve(topic.topicArn)]);
    }
  });
});

describe('dashboard', () => {
  it('graphs the metrics, the function errors and duration, and the queue depths', () => {
    const { template, redeployer } = constructTemplate();
    expect(redeployer.dashboard).toBeDefined();
    const body = JSON.stringify(only(template, 'AWS::CloudWatch::Dashboard').Properties);
    for (const name of [
      'ChangesSeen',
      'ChangesIgnored',
      'ServicesRedeployed',
      'ServicesSkipped',
      'ServicesFailed',
      'ServicesBraked',
      'ServicesFlapGuarded',
      'ServicesNeedingAction',
      'Errors',
      'Duration',
      'ApproximateNumberOfMessagesVisible',
      'ApproximateNumberOfMessagesDelayed',
      'ApproximateAgeOfOldestMessage',
    ]) {
      expect(body).toContain(`\\"${name}\\"`);
    }
    expect(body).toContain('AWS/Lambda');
    expect(body).toContain('AWS/SQS');
    // Reason breakdowns through SEARCH.
    expect(body).toContain('SEARCH(');
    expect(body).toContain('{EcsSecretRedeployer,FunctionName,Reason}');
    expect(body).toMatch(/RedeployerDeadLetterQueue[0-9A-F]+","QueueName/);
  });

  it('is not created with dashboard: false', () => {
    const { template, redeployer } = constructTemplate({ dashboard: false });
    expect(redeployer.dashboard).toBeUndefined();
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });
});

describe('invalid props', () => {
  it.each<[SecretRedeployerProps, RegExp]>([
    [{ settleWindow: Duration.minutes(16) }, /settleWindow must be from 0 to 15 minutes/],
    [{ settleWindow: Duration.millis(1500) }, /settleWindow must be a whole number of seconds/],
    [{ maxDeploymentsInProgress: -1 }, /maxDeploymentsInProgress/],
    [{ maxDeploymentsInProgress: 2.5 }, /maxDeploymentsInProgress/],
    [{ brakeRetryDelay: Duration.seconds(0) }, /brakeRetryDelay/],
    [{ brakeRetryDelay: Duration.minutes(16) }, /brakeRetryDelay/],
    [{ maxConcurrentInvocations: 1 }, /maxConcurrentInvocations/],
    [{ maxConcurrentInvocations: 1001 }, /maxConcurrentInvocations/],
    [{ maxConcurrentInvocations: 2.5 }, /maxConcurrentInvocations/],
    [{ flapGuard: { maxDeployments: 0, period: Duration.hours(1) } }, /flapGuard.maxDeployments/],
    [{ flapGuard: { maxDeployments: 3, period: Duration.seconds(30) } }, /flapGuard.period/],
    [{ flapGuard: { maxDeployments: 3, period: Duration.days(32) } }, /flapGuard.period/],
    [{ sweep: { interval: Duration.minutes(4) } }, /sweep.interval must be at least 5 minutes/],
    [{ sweep: { interval: Duration.seconds(330) } }, /sweep.interval must be a whole number/],
    [{ metricsNamespace: '' }, /metricsNamespace/],
    [{ metricsNamespace: 'AWS/Lambda' }, /metricsNamespace/],
    [{ metricsNamespace: 'has,comma' }, /metricsNamespace/],
  ])('rejects %j', (props, message) => {
    expect(() => constructTemplate(props)).toThrow(message);
  });

  it('rejects a negative settle window (CDK refuses to build one)', () => {
    expect(() => constructTemplate({ settleWindow: Duration.seconds(-1) })).toThrow();
  });
});

describe('cdk-nag AwsSolutions checks of the construct', () => {
  const nagStack = (props: (topic: sns.ITopic) => SecretRedeployerProps) =>
    nagFindings((app) => {
      const stack = new Stack(app, 'S', {
        env: { account: '123456789012', region: 'eu-west-1' },
      });
      const masterKey = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      const topic = new sns.Topic(stack, 'Topic', { masterKey, enforceSSL: true });
      new SecretRedeployer(stack, 'R', props(topic));
    });

  it.each<[string, (topic: sns.ITopic) => SecretRedeployerProps]>([
    ['defaults', () => ({})],
    [
      'every option on',
      (topic) => ({
        notificationTopic: topic,
        alarmTopic: topic,
        optIn: true,
        settleWindow: Duration.seconds(0),
        maxDeploymentsInProgress: 5,
        maxConcurrentInvocations: 10,
        flapGuard: { maxDeployments: 2, period: Duration.minutes(30) },
        sweep: { interval: Duration.minutes(5) },
        enableCloudTrailRule: true,
        secretNamePrefixes: ['prod/'],
        parameterNamePrefixes: ['/prod/'],
      }),
    ],
    [
      'flap guard, sweep and dashboard off',
      () => ({ flapGuard: false, sweep: false, dashboard: false }),
    ],
  ])('find nothing unacknowledged: %s', (_name, props) => {
    const { violations, error } = nagStack(props);
    expect(violations).toEqual([]);
    expect(error).toBeUndefined();
  });
});
