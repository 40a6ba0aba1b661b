import { App, type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import {
  parameterChangePattern,
  parameterExpirationPattern,
  secretCloudTrailPattern,
  secretLabelUpdatedPattern,
} from '../../infra/event-patterns.js';
import { SecretRedeployer } from '../../infra/secret-redeployer.js';
import { VALUE_READING_ACTIONS, grantedActions, grants, statements } from './iam.js';
import { constructTemplate, newApp } from './synth.js';

describe('SecretRedeployer function', () => {
  it('runs on the newest Node.js runtime, arm64, bundled as an ES module handler', () => {
    const { template } = constructTemplate();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Forces new deployments'),
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 256,
      Timeout: 300,
    });
  });

  it('redeploys for repositoryCredentials only when told to, and takes Sovereign Cloud Regions as sources', () => {
    const off = constructTemplate().template;
    off.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ REDEPLOY_FOR_REPOSITORY_CREDENTIALS: 'false' }),
      },
    });
    const on = constructTemplate({
      redeployForRepositoryCredentials: true,
      sourceRegions: ['eusc-de-east-1', 'us-isob-east-1'],
    }).template;
    on.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          REDEPLOY_FOR_REPOSITORY_CREDENTIALS: 'true',
          SOURCE_REGIONS: 'eusc-de-east-1,us-isob-east-1',
        }),
      },
    });
    expect(() => constructTemplate({ sourceRegions: ['eusc-de-east'] })).toThrow(
      'sourceRegions: "eusc-de-east" is not a Region name',
    );
  });

  it('passes its configuration through the environment', () => {
    const app = newApp();
    const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const cluster = ecs.Cluster.fromClusterArn(
      stack,
      'C',
      'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
    );
    new SecretRedeployer(stack, 'R', {
      clusters: [cluster],
      dryRun: true,
      concurrency: 7,
      secretNamePrefixes: ['prod/', 'shared/'],
      parameterNamePrefixes: ['/prod/'],
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CLUSTERS: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
          DRY_RUN: 'true',
          REDEPLOY_CONCURRENCY: '7',
          SECRET_NAME_PREFIXES: 'prod/,shared/',
          PARAMETER_NAME_PREFIXES: '/prod/',
        }),
      },
    });
  });

  it('watches every cluster and redeploys for real when not configured', () => {
    constructTemplate().template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CLUSTERS: '', DRY_RUN: 'false' }) },
    });
  });

  it('retries failed asynchronous (sweep) invocations, then dead-letters them to the encrypted queue', () => {
    const { template } = constructTemplate({ retryAttempts: 1, maxEventAge: Duration.hours(2) });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 1,
      MaximumEventAgeInSeconds: 7200,
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      DeadLetterConfig: {
        TargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] },
      },
    });
  });

  it('keeps its logs for the configured retention in its own log group', () => {
    constructTemplate().template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 30,
    });
    constructTemplate({ logRetention: logs.RetentionDays.ONE_YEAR }).template.hasResourceProperties(
      'AWS::Logs::LogGroup',
      { RetentionInDays: 365 },
    );
  });

  it.each([
    [{ concurrency: 0 }, /concurrency/],
    [{ concurrency: 51 }, /concurrency/],
    [{ concurrency: 2.5 }, /concurrency/],
    [{ retryAttempts: 3 }, /retryAttempts/],
    [{ secretNamePrefixes: ['bad prefix'] }, /secret name prefix/],
    [{ parameterNamePrefixes: ['/'] }, /parameter name prefix/],
    [{ parameterNamePrefixes: ['has:colon'] }, /parameter name prefix/],
  ])('rejects invalid props %j', (props, message) => {
    expect(() => constructTemplate(props)).toThrow(message);
  });
});

describe('SecretRedeployer rules', () => {
  it('creates the native rules, each with the expected pattern, the sweep schedule and the deployment and hook event rules', () => {
    const { template, redeployer } = constructTemplate();
    expect(redeployer.rules).toHaveLength(3);
    // The three change rules, the missed-event sweep's schedule and (rollouts on) the rules for
    // ECS deployment events and lifecycle hook events.
    template.resourceCountIs('AWS::Events::Rule', 6);
    for (const pattern of [
      parameterChangePattern(),
      parameterExpirationPattern(),
      secretLabelUpdatedPattern(),
    ]) {
      template.hasResourceProperties('AWS::Events::Rule', { EventPattern: pattern });
    }
  });

  it('adds the CloudTrail rule only when asked', () => {
    const { template, redeployer } = constructTemplate({ enableCloudTrailRule: true });
    expect(redeployer.rules).toHaveLength(4);
    template.resourceCountIs('AWS::Events::Rule', 7);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: secretCloudTrailPattern(),
    });
  });

  it('puts the name prefixes into the patterns', () => {
    const { template } = constructTemplate({
      secretNamePrefixes: ['prod/'],
      parameterNamePrefixes: ['/prod/'],
      enableCloudTrailRule: true,
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'detail-type': ['Parameter Store Change'],
        detail: Match.objectLike({ name: [{ prefix: '/prod/' }, { prefix: 'prod/' }] }),
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'detail-type': ['Parameter Store Policy Action'],
        detail: Match.objectLike({
          'parameter-name': [{ prefix: '/prod/' }, { prefix: 'prod/' }],
        }),
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'detail-type': ['Secret Label Updated'],
        detail: Match.objectLike({ name: [{ prefix: 'prod/' }] }),
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: secretCloudTrailPattern(['prod/']),
    });
  });

  it('sends every change to the change queue, with a retry policy, a maximum event age and the dead-letter queue', () => {
    const { template, stack, redeployer } = constructTemplate({ enableCloudTrailRule: true });
    const changeRuleIds = new Set(
      redeployer.rules.map((rule) => stack.getLogicalId(rule.node.defaultChild as CfnElement)),
    );
    const rules = Object.entries(
      template.findResources('AWS::Events::Rule', {
        Properties: { EventPattern: Match.anyValue() },
      }),
    );
    // The four change rules, and the deployment and hook event rules (to the function, below).
    expect(rules).toHaveLength(6);
    const changeRules = rules.filter(([id]) => changeRuleIds.has(id)).map(([, rule]) => rule);
    expect(changeRules).toHaveLength(4);
    for (const rule of changeRules) {
      const targets = (rule.Properties as { Targets: Record<string, unknown>[] }).Targets;
      expect(targets).toHaveLength(1);
      expect(targets[0]).toMatchObject({
        Arn: { 'Fn::GetAtt': [expect.stringMatching(/^RedeployerChangeQueue/), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 21600 },
        DeadLetterConfig: {
          Arn: { 'Fn::GetAtt': [expect.stringMatching(/DeadLetterQueue/), 'Arn'] },
        },
      });
    }
  });

  it('lets only EventBridge invoke the function, and only from the sweep schedule and the deployment and hook event rules', () => {
    const { template, stack, redeployer } = constructTemplate({ enableCloudTrailRule: true });
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
    expect(permissions).toHaveLength(3);
    for (const permission of permissions) {
      expect(permission.Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        FunctionName: stack.resolve(redeployer.function.functionArn) as unknown,
        Principal: 'events.amazonaws.com',
      });
    }
    expect(
      permissions.map((permission) => (permission.Properties as { SourceArn: unknown }).SourceArn),
    ).toEqual(
      expect.arrayContaining([
        { 'Fn::GetAtt': [expect.stringMatching(/^RedeployerSweepRule/), 'Arn'] },
        { 'Fn::GetAtt': [expect.stringMatching(/^RedeployerDeploymentEventRule/), 'Arn'] },
        { 'Fn::GetAtt': [expect.stringMatching(/^RedeployerHookEventRule/), 'Arn'] },
      ]),
    );
  });

  it('lets only the deployment and hook event rules invoke the function directly when the sweep is off', () => {
    const { template } = constructTemplate({ enableCloudTrailRule: true, sweep: false });
    template.resourceCountIs('AWS::Lambda::Permission', 2);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      SourceArn: {
        'Fn::GetAtt': [Match.stringLikeRegexp('^RedeployerDeploymentEventRule'), 'Arn'],
      },
    });
  });

  it('lets nothing invoke the function directly with the sweep and rollouts off', () => {
    const { template } = constructTemplate({
      enableCloudTrailRule: true,
      sweep: false,
      rollouts: false,
      flapGuard: false,
    });
    template.resourceCountIs('AWS::Lambda::Permission', 0);
  });

  it('lets EventBridge only send to the change queue, from its own rules, and only the function consume it', () => {
    const { template, stack, redeployer } = constructTemplate({ enableCloudTrailRule: true });
    const queueId = stack.getLogicalId(redeployer.changeQueue.node.defaultChild as CfnElement);
    const ruleIds = redeployer.rules.map((rule) =>
      stack.getLogicalId(rule.node.defaultChild as CfnElement),
    );
    const policy = Object.values(
      template.findResources('AWS::SQS::QueuePolicy', {
        Properties: { Queues: [{ Ref: queueId }] },
      }),
    );
    expect(policy).toHaveLength(1);
    const allows = (
      policy[0]?.Properties as { PolicyDocument: { Statement: Record<string, unknown>[] } }
    ).PolicyDocument.Statement.filter((statement) => statement.Effect === 'Allow');
    expect(allows.map((statement) => statement.Condition)).toEqual(
      ruleIds.map((id) => ({ ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [id, 'Arn'] } } })),
    );
    for (const statement of allows) {
      expect(statement.Principal).toEqual({ Service: 'events.amazonaws.com' });
      expect(statement.Action).toEqual([
        'sqs:SendMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
      ]);
    }
    // Receiving is granted to the function's role only, for its event source mapping.
    const receivers = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties).includes('sqs:ReceiveMessage'),
    );
    expect(receivers).toHaveLength(1);
    expect(JSON.stringify(receivers[0]?.Properties)).toMatch(/"Ref":"RedeployerRole/);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
    });
  });
});

describe('SecretRedeployer dead-letter queue and alarms', () => {
  it('encrypts the dead-letter queue and refuses plain-text access', () => {
    const { template } = constructTemplate();
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('lets EventBridge deliver to the dead-letter queue only from its own rules', () => {
    const { template } = constructTemplate();
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('alarms on function errors and on dead-lettered events', () => {
    const { template } = constructTemplate();
    // With the failed-deployment, braking and needs-action alarms, and the rollout alarms (see
    // secret-redeployer-scale.test.ts and rollout-engine.test.ts).
    template.resourceCountIs('AWS::CloudWatch::Alarm', 10);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
    });
  });

  it('sends alarms to the given topic', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'S');
    const alarmTopic = new sns.Topic(stack, 'Topic');
    new SecretRedeployer(stack, 'R', { alarmTopic });
    const alarms = Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm');
    expect(Object.values(alarms)).toHaveLength(10);
    for (const alarm of Object.values(alarms)) {
      expect((alarm.Properties as { AlarmActions: unknown[] }).AlarmActions).toEqual([
        // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- asymmetric matcher
        { Ref: expect.stringMatching(/^Topic/) },
      ]);
    }
  });
});

describe('SecretRedeployer permissions', () => {
  it('grants nothing that reads a secret or parameter value', () => {
    for (const props of [{}, { enableCloudTrailRule: true, secretNamePrefixes: ['a/'] }]) {
      const actions = grantedActions(constructTemplate(props).template);
      expect(actions.length).toBeGreaterThan(0);
      for (const forbidden of VALUE_READING_ACTIONS) {
        expect(actions.filter((action) => grants(action, forbidden))).toEqual([]);
      }
    }
  });

  it('grants exactly the metadata reads, ECS reads, UpdateService and queue and table access it uses', () => {
    const actions = grantedActions(constructTemplate({ rollouts: false }).template);
    expect([...new Set(actions)].sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'ecs:DescribeServices',
      'ecs:DescribeTaskDefinition',
      'ecs:ListClusters',
      'ecs:ListServices',
      'ecs:ListTagsForResource',
      'ecs:UpdateService',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:DescribeSecret',
      'secretsmanager:ListSecretVersionIds',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
      'ssm:DescribeParameters',
    ]);
  });

  it('grants only the event-path essentials with the flap guard, the sweep and rollouts off', () => {
    const actions = grantedActions(
      constructTemplate({ flapGuard: false, sweep: false, rollouts: false }).template,
    );
    expect([...new Set(actions)].sort()).toEqual([
      'ecs:DescribeServices',
      'ecs:DescribeTaskDefinition',
      'ecs:ListClusters',
      'ecs:ListServices',
      'ecs:ListTagsForResource',
      'ecs:UpdateService',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:DescribeSecret',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
    ]);
  });

  it('uses no managed policy', () => {
    const roles = constructTemplate().template.findResources('AWS::IAM::Role');
    for (const role of Object.values(roles)) {
      expect(
        (role.Properties as { ManagedPolicyArns?: unknown }).ManagedPolicyArns,
      ).toBeUndefined();
    }
  });

  it('scopes UpdateService and DescribeServices to the services of the configured clusters', () => {
    const app = newApp();
    const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const clusters = ['prod', 'staging'].map((name) =>
      ecs.Cluster.fromClusterArn(stack, name, `arn:aws:ecs:eu-west-1:123456789012:cluster/${name}`),
    );
    new SecretRedeployer(stack, 'R', { clusters });
    const template = Template.fromStack(stack);
    expect(statements(template)).toEqual(
      expect.arrayContaining([
        {
          Sid: 'DescribeAndRedeployServices',
          Effect: 'Allow',
          Action: ['ecs:DescribeServices', 'ecs:ListTagsForResource', 'ecs:UpdateService'],
          Resource: [
            'arn:aws:ecs:eu-west-1:123456789012:service/prod/*',
            'arn:aws:ecs:eu-west-1:123456789012:service/staging/*',
          ],
        },
        {
          Sid: 'ListServices',
          Effect: 'Allow',
          Action: 'ecs:ListServices',
          Resource: '*',
          Condition: {
            ArnEquals: {
              'ecs:cluster': [
                'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
                'arn:aws:ecs:eu-west-1:123456789012:cluster/staging',
              ],
            },
          },
        },
      ]),
    );
    expect(grantedActions(template)).not.toContain('ecs:ListClusters');
  });

  it('scopes DescribeSecret to the secret name prefixes', () => {
    const { template } = constructTemplate({ secretNamePrefixes: ['prod/', 'db-'] });
    expect(statements(template)).toContainEqual({
      Sid: 'DescribeSecrets',
      Effect: 'Allow',
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:ListSecretVersionIds'],
      Resource: [
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/*',
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-*',
      ],
    });
  });
});
