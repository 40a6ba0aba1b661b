import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { RedeployerStack } from '../../infra/redeployer-stack.js';
import { SecretRedeployer } from '../../infra/secret-redeployer.js';
import { nagFindings, newApp, stackTemplate } from './synth.js';

describe('RedeployerStack configuration from context', () => {
  it('builds the product with defaults from an empty context', () => {
    const template = stackTemplate();
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.resourceCountIs('AWS::Events::Rule', 3);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ CLUSTERS: '', DRY_RUN: 'false', REDEPLOY_CONCURRENCY: '10' }),
      },
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
      template.resourceCountIs('AWS::Events::Rule', 4);
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

  it('find nothing unacknowledged with every option set', () => {
    const { violations, error } = nagFindings(
      (app) => new RedeployerStack(app, 'SecretRedeployer'),
      {
        'redeployer:clusters': ['prod', 'staging'],
        'redeployer:secretNamePrefixes': ['prod/'],
        'redeployer:parameterNamePrefixes': ['/prod/'],
        'redeployer:enableCloudTrailRule': true,
        'redeployer:alarmTopicArn': 'arn:aws:sns:us-east-1:123456789012:ops-alerts',
      },
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
  it('bundles the handler offline with the local esbuild into one ES module', () => {
    const app = newApp({}, true);
    new RedeployerStack(app, 'SecretRedeployer');
    const assembly = app.synth();
    const assets = readdirSync(assembly.directory).filter((name) => name.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    const bundle = join(assembly.directory, assets[0] ?? '', 'index.mjs');
    expect(existsSync(bundle)).toBe(true);
    const code = readFileSync(bundle, 'utf8');
    expect(code).toMatch(/export\s*\{[^}]*handler/);
    // The SDK is bundled in, not left to the runtime's copy.
    expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
  });
});
