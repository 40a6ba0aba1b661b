import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONCURRENCY,
  ENV,
  MAX_CONCURRENCY,
  loadConfig,
} from '../../../functions/redeploy/config.js';
import { ConfigError } from '../../../functions/redeploy/errors.js';

describe('loadConfig', () => {
  it('defaults to every cluster, real deployments, 10 at a time, and no name filter', () => {
    expect(loadConfig({})).toEqual({
      clusters: [],
      dryRun: false,
      concurrency: 10,
      secretNamePrefixes: [],
      parameterNamePrefixes: [],
      changeQueueUrl: '',
      maxDeploymentsInProgress: 0,
      brakeRetrySeconds: 60,
      flapTableName: '',
      flapMaxDeployments: 3,
      flapPeriodSeconds: 3600,
      optIn: false,
      notificationTopicArn: '',
      metricsNamespace: 'EcsSecretRedeployer',
      sourceAccounts: [],
      sourceRegions: [],
      restrictEventSources: false,
      rolloutTableName: '',
      rolloutEngineArn: '',
      stuckAfterSeconds: 1800,
      pollSeconds: 60,
      confirmAfterSeconds: 120,
      redeployForRepositoryCredentials: false,
      // No waves unless configured (the construct configures 1, 10%, 50% for tagged changes).
      waves: [],
      waveBakeSeconds: 0,
      waveAlarms: [],
      wavesFor: 'all',
    });
    expect(DEFAULT_CONCURRENCY).toBe(10);
  });

  it('reads waves: counts and percentages, a bake, alarm names, which changes', () => {
    expect(
      loadConfig({
        WAVES: ' 1, 10% ,50%',
        WAVE_BAKE_SECONDS: '900',
        WAVE_ALARMS: 'orders-5xx, payments 5xx',
        WAVES_FOR: 'tagged',
      }),
    ).toMatchObject({
      waves: [{ count: 1 }, { percent: 10 }, { percent: 50 }],
      waveBakeSeconds: 900,
      waveAlarms: ['orders-5xx', 'payments 5xx'],
      wavesFor: 'tagged',
    });
    expect(loadConfig({ WAVES: 'off' }).waves).toEqual([]);
    expect(loadConfig({ WAVES: 'OFF' }).waves).toEqual([]);
  });

  it.each([
    [{ WAVES: '0' }, /WAVES: "0" is neither a number of services/],
    [{ WAVES: '1,150%' }, /WAVES: "150%"/],
    [{ WAVES: '1,abc' }, /WAVES: "abc"/],
    [{ WAVE_BAKE_SECONDS: '-1' }, /WAVE_BAKE_SECONDS/],
    [{ WAVE_BAKE_SECONDS: '86401' }, /WAVE_BAKE_SECONDS/],
    [{ WAVES_FOR: 'some' }, /WAVES_FOR: "some" is neither "all" nor "tagged"/],
    [{ WAVE_ALARMS: 'x'.repeat(256) }, /WAVE_ALARMS/],
  ])('rejects %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reads the rollout settings, and rejects an engine ARN without a qualifier', () => {
    const engine = 'arn:aws:lambda:us-east-1:123456789012:function:rollout-engine:live';
    expect(
      loadConfig({
        ROLLOUT_TABLE_NAME: ' rollouts ',
        ROLLOUT_ENGINE_ARN: engine,
        STUCK_AFTER_SECONDS: '600',
        ROLLOUT_POLL_SECONDS: '30',
        CONFIRM_AFTER_SECONDS: '90',
      }),
    ).toMatchObject({
      rolloutTableName: 'rollouts',
      rolloutEngineArn: engine,
      stuckAfterSeconds: 600,
      pollSeconds: 30,
      confirmAfterSeconds: 90,
    });
    expect(() =>
      loadConfig({
        ROLLOUT_ENGINE_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:rollout-engine',
      }),
    ).toThrow(
      'ROLLOUT_ENGINE_ARN: "arn:aws:lambda:us-east-1:123456789012:function:rollout-engine" is not a qualified',
    );
    expect(() => loadConfig({ STUCK_AFTER_SECONDS: '10' })).toThrow('STUCK_AFTER_SECONDS');
  });

  it('treats empty and blank variables as unset', () => {
    expect(
      loadConfig({
        CLUSTERS: ' ',
        DRY_RUN: '',
        REDEPLOY_CONCURRENCY: '  ',
        SECRET_NAME_PREFIXES: '',
        PARAMETER_NAME_PREFIXES: ' , ',
      }),
    ).toEqual(loadConfig({}));
  });

  it('reads clusters by name or ARN, separated by commas or whitespace', () => {
    expect(
      loadConfig({
        CLUSTERS: 'prod, staging\narn:aws:ecs:us-east-1:123456789012:cluster/batch-jobs',
      }).clusters,
    ).toEqual(['prod', 'staging', 'arn:aws:ecs:us-east-1:123456789012:cluster/batch-jobs']);
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    [' 1 ', true],
    ['false', false],
    ['0', false],
  ])('reads DRY_RUN=%j as %s', (value, dryRun) => {
    expect(loadConfig({ DRY_RUN: value }).dryRun).toBe(dryRun);
  });

  it.each(['1', '25', String(MAX_CONCURRENCY)])('accepts REDEPLOY_CONCURRENCY=%s', (value) => {
    expect(loadConfig({ REDEPLOY_CONCURRENCY: value }).concurrency).toBe(Number(value));
  });

  it('keeps the concurrency within the UpdateService throttling bucket of 50', () => {
    expect(MAX_CONCURRENCY).toBe(50);
  });

  it('reads name prefixes, and drops the leading slash of parameter prefixes', () => {
    const config = loadConfig({
      SECRET_NAME_PREFIXES: 'prod/,shared/',
      PARAMETER_NAME_PREFIXES: '/prod/ /shared/',
    });
    expect(config.secretNamePrefixes).toEqual(['prod/', 'shared/']);
    expect(config.parameterNamePrefixes).toEqual(['prod/', 'shared/']);
  });

  it.each([
    [ENV.clusters, 'prod,my/cluster'],
    [ENV.clusters, 'arn:aws:ecs:us-east-1:123456789012:service/prod/web'],
    [ENV.clusters, 'arn:aws:ecs:us-east-1:1234:cluster/prod'],
    [ENV.dryRun, 'yes'],
    [ENV.dryRun, 'maybe'],
    [ENV.concurrency, '0'],
    [ENV.concurrency, '-3'],
    [ENV.concurrency, '51'],
    [ENV.concurrency, '2.5'],
    [ENV.concurrency, 'ten'],
  ])('rejects %s=%j with a ConfigError naming the variable', (name, value) => {
    const load = (): unknown => loadConfig({ [name]: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(new RegExp(`^${name}: `));
  });

  it('quotes the offending cluster in the message', () => {
    expect(() => loadConfig({ CLUSTERS: 'prod my/cluster' })).toThrow('"my/cluster"');
  });

  it('names the error ConfigError, a RedeployerError', () => {
    try {
      loadConfig({ DRY_RUN: 'perhaps' });
      expect.unreachable('loadConfig should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).name).toBe('ConfigError');
    }
  });
});

describe('loadConfig: brakes, flap guard, opt-in, notifications', () => {
  it('reads every option', () => {
    expect(
      loadConfig({
        CHANGE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/changes',
        MAX_DEPLOYMENTS_IN_PROGRESS: '0',
        BRAKE_RETRY_SECONDS: '900',
        FLAP_TABLE_NAME: 'flaps',
        FLAP_MAX_DEPLOYMENTS: '5',
        FLAP_PERIOD_SECONDS: '7200',
        OPT_IN: 'true',
        NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:changes',
        METRICS_NAMESPACE: 'Custom',
      }),
    ).toMatchObject({
      changeQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/changes',
      maxDeploymentsInProgress: 0,
      brakeRetrySeconds: 900,
      flapTableName: 'flaps',
      flapMaxDeployments: 5,
      flapPeriodSeconds: 7200,
      optIn: true,
      notificationTopicArn: 'arn:aws:sns:us-east-1:123456789012:changes',
      metricsNamespace: 'Custom',
    });
  });

  it.each([
    ['BRAKE_RETRY_SECONDS', '901'],
    ['MAX_DEPLOYMENTS_IN_PROGRESS', '-1'],
    ['FLAP_MAX_DEPLOYMENTS', '0'],
    ['FLAP_PERIOD_SECONDS', '59'],
    ['OPT_IN', 'yes'],
  ])('rejects %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}:`));
  });
});
