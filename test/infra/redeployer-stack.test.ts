import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { CONTEXT, RedeployerStack } from '../../infra/redeployer-stack.js';
import { SecretRedeployer } from '../../infra/secret-redeployer.js';
import { nagFindings, newApp, stackTemplate } from './synth.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

describe('RedeployerStack configuration from context', () => {
  it('builds the product with defaults from an empty context', () => {
    const template = stackTemplate();
    // The change handler and the rollout engine.
    template.resourceCountIs('AWS::Lambda::Function', 2);
    // Three pattern rules, the hourly sweep, the ECS deployment events and hook events.
    template.resourceCountIs('AWS::Events::Rule', 6);
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CLUSTERS: '',
          DRY_RUN: 'false',
          REDEPLOY_CONCURRENCY: '10',
          MAX_DEPLOYMENTS_IN_PROGRESS: '20',
          FLAP_MAX_DEPLOYMENTS: '3',
          FLAP_PERIOD_SECONDS: '3600',
          OPT_IN: 'false',
          NOTIFICATION_TOPIC_ARN: '',
        }),
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { DelaySeconds: 30 });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    // The flap table and the rollout table.
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      DurableConfig: { ExecutionTimeout: 3600 + 1800 + 86400, RetentionPeriodInDays: 14 },
      Environment: {
        Variables: Match.objectLike({ STUCK_AFTER_SECONDS: '1800', ROLLOUT_POLL_SECONDS: '60' }),
      },
    });
  });

  it('ships cdk.json with the construct defaults', () => {
    const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as {
      context: Record<string, unknown>;
    };
    const redeployerContext = Object.fromEntries(
      Object.entries(cdkJson.context).filter(([key]) => key.startsWith('redeployer:')),
    );
    expect(redeployerContext).toMatchObject({
      [CONTEXT.settleWindowSeconds]: 30,
      [CONTEXT.maxDeploymentsInProgress]: 20,
      [CONTEXT.maxConcurrentInvocations]: 2,
      [CONTEXT.flapGuardMaxDeployments]: 3,
      [CONTEXT.flapGuardPeriodMinutes]: 60,
      [CONTEXT.sweepIntervalMinutes]: 60,
      [CONTEXT.optIn]: false,
      [CONTEXT.notificationTopicArn]: '',
      [CONTEXT.rollouts]: true,
      [CONTEXT.stuckAfterMinutes]: 30,
      [CONTEXT.rolloutPollSeconds]: 60,
    });
    // Every key in cdk.json is one the stack reads, and it builds what no context builds.
    const known: string[] = Object.values(CONTEXT);
    for (const key of Object.keys(redeployerContext)) expect(known).toContain(key);
    expect(stackTemplate(redeployerContext).toJSON()).toEqual(stackTemplate().toJSON());
  });

  it('reads every scale option from context, as -c strings too', () => {
    const template = stackTemplate({
      [CONTEXT.settleWindowSeconds]: '0',
      [CONTEXT.maxDeploymentsInProgress]: '0',
      [CONTEXT.maxConcurrentInvocations]: '5',
      [CONTEXT.flapGuardMaxDeployments]: '4',
      [CONTEXT.flapGuardPeriodMinutes]: '30',
      [CONTEXT.sweepIntervalMinutes]: '15',
      [CONTEXT.optIn]: 'true',
      [CONTEXT.notificationTopicArn]: 'arn:aws:sns:us-east-1:123456789012:redeploys',
    });
    template.hasResourceProperties('AWS::SQS::Queue', { DelaySeconds: 0 });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          MAX_DEPLOYMENTS_IN_PROGRESS: '0',
          FLAP_MAX_DEPLOYMENTS: '4',
          FLAP_PERIOD_SECONDS: '1800',
          OPT_IN: 'true',
          NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:redeploys',
        }),
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'PublishNotifications',
            Effect: 'Allow',
            Action: 'sns:Publish',
            Resource: 'arn:aws:sns:us-east-1:123456789012:redeploys',
          },
        ]),
      },
    });
  });

  it.each([0, '0', false, 'false'])('turns the flap guard and the sweep off with %j', (off) => {
    const template = stackTemplate({
      [CONTEXT.flapGuardPeriodMinutes]: off,
      [CONTEXT.sweepIntervalMinutes]: off,
    });
    // The rollout table only; the change rules and the ECS deployment and hook events, which
    // alone may invoke the function directly.
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::Events::Rule', 5);
    template.resourceCountIs('AWS::Lambda::Permission', 2);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ FLAP_TABLE_NAME: '' }) },
    });
  });

  it.each([false, 'false'])(
    'turns rollouts off with %j: no table, no engine, no ECS rule',
    (off) => {
      const template = stackTemplate({ [CONTEXT.rollouts]: off });
      template.resourceCountIs('AWS::Lambda::Function', 1);
      template.resourceCountIs('AWS::Lambda::Alias', 0);
      // The flap table only; the change rules and the sweep.
      template.resourceCountIs('AWS::DynamoDB::Table', 1);
      template.resourceCountIs('AWS::Events::Rule', 4);
      const outputs = Object.keys(template.findOutputs('*'));
      expect(outputs).not.toContain('RolloutTableName');
      expect(outputs).not.toContain('EngineFunctionName');
      // The rollout settings shipped in cdk.json are ignored, not rejected.
      const withSettings = stackTemplate({
        [CONTEXT.rollouts]: off,
        [CONTEXT.stuckAfterMinutes]: 30,
        [CONTEXT.rolloutPollSeconds]: 60,
      });
      expect(withSettings.toJSON()).toEqual(template.toJSON());
    },
  );

  it('reads the rollout settings from context, as -c strings too', () => {
    const template = stackTemplate({
      [CONTEXT.rollouts]: 'true',
      [CONTEXT.stuckAfterMinutes]: '45',
      [CONTEXT.rolloutPollSeconds]: '30',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      DurableConfig: { ExecutionTimeout: 3600 + 2700 + 86400 },
      Environment: {
        Variables: Match.objectLike({ STUCK_AFTER_SECONDS: '2700', ROLLOUT_POLL_SECONDS: '30' }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CHANGE_QUEUE_URL: Match.anyValue(),
          STUCK_AFTER_SECONDS: '2700',
          ROLLOUT_POLL_SECONDS: '30',
        }),
      },
    });
  });

  it('rejects rollouts off with the flap guard on and the sweep off', () => {
    expect(() =>
      stackTemplate({ [CONTEXT.rollouts]: false, [CONTEXT.sweepIntervalMinutes]: 0 }),
    ).toThrow(/rollouts: false with the flap guard on needs the sweep/);
    // Either one off is fine.
    expect(() =>
      stackTemplate({
        [CONTEXT.rollouts]: false,
        [CONTEXT.sweepIntervalMinutes]: 0,
        [CONTEXT.flapGuardPeriodMinutes]: 0,
      }),
    ).not.toThrow();
  });

  it('outputs the change queue URL', () => {
    stackTemplate().hasOutput('ChangeQueueUrl', {
      Value: { Ref: Match.stringLikeRegexp('^RedeployerChangeQueue') },
    });
  });

  it('outputs the rollout table and the engine function names, for the CLI', () => {
    const template = stackTemplate();
    template.hasOutput('RolloutTableName', {
      Value: { Ref: Match.stringLikeRegexp('^RedeployerRolloutsTable') },
    });
    template.hasOutput('EngineFunctionName', {
      Value: { Ref: Match.stringLikeRegexp('^RedeployerRolloutsFunction') },
    });
  });

  it('reads lists as JSON arrays (cdk.json) or comma-separated strings (-c)', () => {
    for (const clusters of [
      ['prod', 'arn:aws:ecs:us-east-1:123456789012:cluster/ops'],
      'prod, arn:aws:ecs:us-east-1:123456789012:cluster/ops',
    ]) {
      const template = stackTemplate({
        'redeployer:clusters': clusters,
        'redeployer:secretNamePrefixes': 'prod/,shared/',
        'redeployer:dryRun': 'true',
        'redeployer:enableCloudTrailRule': true,
        'redeployer:concurrency': '4',
      });
      template.resourceCountIs('AWS::Events::Rule', 7);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            CLUSTERS: {
              'Fn::Join': [
                '',
                Match.arrayWith([
                  Match.stringLikeRegexp(
                    ':cluster/prod,arn:aws:ecs:us-east-1:123456789012:cluster/ops$',
                  ),
                ]),
              ],
            },
            DRY_RUN: 'true',
            REDEPLOY_CONCURRENCY: '4',
            SECRET_NAME_PREFIXES: 'prod/,shared/',
          }),
        },
      });
    }
  });

  it('sends alarms to the topic named in context', () => {
    const template = stackTemplate({
      'redeployer:alarmTopicArn': 'arn:aws:sns:us-east-1:123456789012:ops-alerts',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: ['arn:aws:sns:us-east-1:123456789012:ops-alerts'],
    });
  });

  it.each([
    ['redeployer:dryRun', 'maybe', /dryRun must be true or false/],
    ['redeployer:concurrency', 'ten', /concurrency must be a whole number/],
    ['redeployer:clusters', 42, /clusters must be a list of strings/],
    ['redeployer:secretNamePrefixes', ['has space'], /Invalid secret name prefix/],
    [CONTEXT.settleWindowSeconds, -1, /settleWindowSeconds must be 0 or more/],
    [CONTEXT.settleWindowSeconds, '901', /settleWindow must be from 0 to 15 minutes/],
    [CONTEXT.settleWindowSeconds, 'soon', /settleWindowSeconds must be a whole number/],
    [CONTEXT.maxDeploymentsInProgress, -5, /maxDeploymentsInProgress must be 0 or more/],
    [CONTEXT.maxConcurrentInvocations, 1, /maxConcurrentInvocations must be a whole number/],
    [CONTEXT.maxConcurrentInvocations, 'two', /maxConcurrentInvocations must be a whole number/],
    [CONTEXT.flapGuardMaxDeployments, 0, /flapGuard.maxDeployments/],
    [CONTEXT.flapGuardPeriodMinutes, 'hourly', /flapGuardPeriodMinutes must be a whole number/],
    [CONTEXT.flapGuardPeriodMinutes, -60, /flapGuardPeriodMinutes must be 0 or more/],
    [CONTEXT.sweepIntervalMinutes, 2, /sweep.interval must be at least 5 minutes/],
    [CONTEXT.sweepIntervalMinutes, true, /sweepIntervalMinutes must be a whole number/],
    [CONTEXT.optIn, 'yes', /optIn must be true or false/],
    [CONTEXT.notificationTopicArn, 'redeploys', /notificationTopicArn must be an SNS topic ARN/],
    [
      CONTEXT.notificationTopicArn,
      'arn:aws:sqs:us-east-1:123456789012:q',
      /notificationTopicArn must be an SNS topic ARN/,
    ],
    [CONTEXT.alarmTopicArn, 42, /alarmTopicArn must be an SNS topic ARN/],
    [CONTEXT.rollouts, 'sometimes', /rollouts must be true or false/],
    [CONTEXT.stuckAfterMinutes, 'half an hour', /stuckAfterMinutes must be a whole number/],
    [CONTEXT.stuckAfterMinutes, 0, /rollouts.stuckAfter must be from 1 minute to 7 days/],
    [CONTEXT.stuckAfterMinutes, 7 * 24 * 60 + 1, /rollouts.stuckAfter must be from 1 minute/],
    [CONTEXT.rolloutPollSeconds, 4, /rollouts.pollInterval must be from 5 seconds to 1 hour/],
    [CONTEXT.rolloutPollSeconds, '1.5', /rolloutPollSeconds must be a whole number/],
  ])('rejects an invalid %s', (key, value, message) => {
    expect(() => stackTemplate({ [key]: value })).toThrow(message);
  });
});

describe('cdk-nag AwsSolutions checks', () => {
  it('find nothing unacknowledged in the default deployable stack', () => {
    const { violations, error } = nagFindings(
      (app) => new RedeployerStack(app, 'SecretRedeployer'),
    );
    expect(violations).toEqual([]);
    expect(error).toBeUndefined();
  });

  it.each<[string, Record<string, unknown>]>([
    [
      'every option set',
      {
        'redeployer:clusters': ['prod', 'staging'],
        'redeployer:secretNamePrefixes': ['prod/'],
        'redeployer:parameterNamePrefixes': ['/prod/'],
        'redeployer:enableCloudTrailRule': true,
        'redeployer:alarmTopicArn': 'arn:aws:sns:us-east-1:123456789012:ops-alerts',
        [CONTEXT.settleWindowSeconds]: 0,
        [CONTEXT.maxDeploymentsInProgress]: 50,
        [CONTEXT.maxConcurrentInvocations]: 4,
        [CONTEXT.flapGuardMaxDeployments]: 2,
        [CONTEXT.flapGuardPeriodMinutes]: 120,
        [CONTEXT.sweepIntervalMinutes]: 5,
        [CONTEXT.optIn]: true,
        [CONTEXT.notificationTopicArn]: 'arn:aws:sns:us-east-1:123456789012:redeploys',
        [CONTEXT.stuckAfterMinutes]: 10,
        [CONTEXT.rolloutPollSeconds]: 15,
      },
    ],
    [
      'the flap guard and the sweep off',
      { [CONTEXT.flapGuardPeriodMinutes]: false, [CONTEXT.sweepIntervalMinutes]: 0 },
    ],
    ['rollouts off', { [CONTEXT.rollouts]: false }],
  ])('find nothing unacknowledged with %s', (_name, context) => {
    const { violations, error } = nagFindings(
      (app) => new RedeployerStack(app, 'SecretRedeployer'),
      context,
    );
    expect(violations).toEqual([]);
    expect(error).toBeUndefined();
  });

  it('still report a wildcard the construct did not justify', () => {
    // Proves the check is live: an extra wildcard grant on the same role is reported.
    const { violations } = nagFindings((app) => {
      const stack = new Stack(app, 'S');
      const redeployer = new SecretRedeployer(stack, 'R', {
        clusters: [
          ecs.Cluster.fromClusterArn(stack, 'C', 'arn:aws:ecs:us-east-1:123456789012:cluster/prod'),
        ],
        alarmTopic: new sns.Topic(stack, 'T', { enforceSSL: true }),
      });
      redeployer.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: ['arn:aws:s3:::bucket/*'],
        }),
      );
    });
    expect(violations.map((v) => v.ruleName)).toContain(
      'AwsSolutions-IAM5[Resource::arn:aws:s3:::bucket/*]',
    );
  });
});

describe('bundling', () => {
  it('bundles each handler (the change handler, the rollout engine) offline with the local esbuild into one ES module', () => {
    const app = newApp({}, true);
    new RedeployerStack(app, 'SecretRedeployer');
    const assembly = app.synth();
    const assets = readdirSync(assembly.directory).filter((name) => name.startsWith('asset.'));
    expect(assets).toHaveLength(2);
    const codes = assets.map((asset) => {
      const bundle = join(assembly.directory, asset, 'index.mjs');
      expect(existsSync(bundle)).toBe(true);
      return readFileSync(bundle, 'utf8');
    });
    for (const code of codes) {
      expect(code).toMatch(/export\s*\{[^}]*handler/);
      // The SDK is bundled in, not left to the runtime's copy.
      expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
    }
    // One of them is the engine (functions/rollout/handler.ts logs under its own name).
    expect(codes.filter((code) => code.includes('ecs-secret-redeployer-rollout'))).toHaveLength(1);
  });
});
