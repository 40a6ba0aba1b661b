/**
 * The deployable stack: one SecretRedeployer configured from CDK context (cdk.json, or
 * `-c redeployer:dryRun=true` on the command line).
 */
import { Arn, ArnFormat, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import {
  DEFAULT_FLAP_GUARD,
  type FlapGuardOptions,
  type RolloutOptions,
  SecretRedeployer,
  type SecretRedeployerProps,
  type SweepOptions,
  type WaveOptions,
  type WaveSize,
  type WavesAppliesTo,
} from './secret-redeployer.js';

/** Context keys read by RedeployerStack; each is a row of README's configuration table. */
export const CONTEXT = {
  clusters: 'redeployer:clusters',
  secretNamePrefixes: 'redeployer:secretNamePrefixes',
  parameterNamePrefixes: 'redeployer:parameterNamePrefixes',
  dryRun: 'redeployer:dryRun',
  enableCloudTrailRule: 'redeployer:enableCloudTrailRule',
  concurrency: 'redeployer:concurrency',
  alarmTopicArn: 'redeployer:alarmTopicArn',
  settleWindowSeconds: 'redeployer:settleWindowSeconds',
  maxDeploymentsInProgress: 'redeployer:maxDeploymentsInProgress',
  maxConcurrentInvocations: 'redeployer:maxConcurrentInvocations',
  flapGuardMaxDeployments: 'redeployer:flapGuardMaxDeployments',
  flapGuardPeriodMinutes: 'redeployer:flapGuardPeriodMinutes',
  sweepIntervalMinutes: 'redeployer:sweepIntervalMinutes',
  optIn: 'redeployer:optIn',
  redeployForRepositoryCredentials: 'redeployer:redeployForRepositoryCredentials',
  notificationTopicArn: 'redeployer:notificationTopicArn',
  sourceAccounts: 'redeployer:sourceAccounts',
  sourceRegions: 'redeployer:sourceRegions',
  rollouts: 'redeployer:rollouts',
  stuckAfterMinutes: 'redeployer:stuckAfterMinutes',
  rolloutPollSeconds: 'redeployer:rolloutPollSeconds',
  waves: 'redeployer:waves',
  wavesFor: 'redeployer:wavesFor',
  waveBakeMinutes: 'redeployer:waveBakeMinutes',
  waveAlarmNames: 'redeployer:waveAlarmNames',
} as const;

/** A context value given as a JSON list (cdk.json) or a comma-separated string (`-c`). */
function stringList(value: unknown, key: string): string[] {
  if (value === undefined || value === null || value === '') return [];
  if (typeof value === 'string') {
    return value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    return value.map((item: string) => item.trim()).filter((item) => item !== '');
  }
  throw new Error(`Context ${key} must be a list of strings or a comma-separated string`);
}

function bool(value: unknown, key: string): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`Context ${key} must be true or false, got ${JSON.stringify(value)}`);
}

function integer(value: unknown, key: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  // Number(true) is 1: only numbers and strings can be whole numbers here.
  const number =
    typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isInteger(number)) {
    throw new Error(`Context ${key} must be a whole number, got ${JSON.stringify(value)}`);
  }
  return number;
}

/** A whole number that is 0 or more. */
function count(value: unknown, key: string): number | undefined {
  const number = integer(value, key);
  if (number !== undefined && number < 0) {
    throw new Error(`Context ${key} must be 0 or more, got ${JSON.stringify(value)}`);
  }
  return number;
}

/** Whole minutes, where `0` or `false` turns the feature off. */
function minutesOrOff(value: unknown, key: string): number | false | undefined {
  if (value === false || value === 'false') return false;
  const minutes = count(value, key);
  return minutes === 0 ? false : minutes;
}

/** An SNS topic ARN from context, or undefined when the key is unset or empty. */
function topicArn(value: unknown, key: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    throw new Error(`Context ${key} must be an SNS topic ARN, got ${JSON.stringify(value)}`);
  }
  let service: string | undefined;
  try {
    service = Arn.split(value, ArnFormat.NO_RESOURCE_NAME).service;
  } catch {
    service = undefined;
  }
  if (service !== 'sns') {
    throw new Error(`Context ${key} must be an SNS topic ARN, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Wave sizes: `1,10%,50%` or a JSON list; `off` or `false` turns waves off. */
function waveSizes(value: unknown, key: string): WaveSize[] | false | undefined {
  if (value === false || value === 'false' || value === 'off') return false;
  const items: unknown[] =
    typeof value === 'number' ? [value] : Array.isArray(value) ? value : stringList(value, key);
  if (items.length === 0) return undefined;
  return items.map((item) => {
    if (typeof item === 'number') return item;
    const text = String(item).trim();
    if (/^\d+$/.test(text)) return Number(text);
    if (/^\d+%$/.test(text)) return text as `${number}%`;
    throw new Error(
      `Context ${key} must list numbers of services or percentages (1,10%,50%), got ${JSON.stringify(item)}`,
    );
  });
}

function appliesTo(value: unknown, key: string): WavesAppliesTo | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === 'all' || value === 'tagged') return value;
  throw new Error(`Context ${key} must be "all" or "tagged", got ${JSON.stringify(value)}`);
}

export class RedeployerStack extends Stack {
  public readonly redeployer: SecretRedeployer;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const context = (key: string): unknown => this.node.tryGetContext(key);
    /** Reads a context key with a parser that names the key in its errors. */
    const read = <T>(parse: (value: unknown, key: string) => T, key: string): T =>
      parse(context(key), key);

    const clusters = read(stringList, CONTEXT.clusters).map((cluster, i) =>
      cluster.startsWith('arn:')
        ? ecs.Cluster.fromClusterArn(this, `Cluster${i}`, cluster)
        : ecs.Cluster.fromClusterArn(
            this,
            `Cluster${i}`,
            this.formatArn({ service: 'ecs', resource: 'cluster', resourceName: cluster }),
          ),
    );
    const alarmTopicArn = read(topicArn, CONTEXT.alarmTopicArn);
    const alarmTopic = alarmTopicArn
      ? sns.Topic.fromTopicArn(this, 'AlarmTopic', alarmTopicArn)
      : undefined;
    const notificationTopicArn = read(topicArn, CONTEXT.notificationTopicArn);
    const notificationTopic = notificationTopicArn
      ? sns.Topic.fromTopicArn(this, 'NotificationTopic', notificationTopicArn)
      : undefined;

    const dryRun = read(bool, CONTEXT.dryRun);
    const enableCloudTrailRule = read(bool, CONTEXT.enableCloudTrailRule);
    const concurrency = read(integer, CONTEXT.concurrency);
    const settleWindowSeconds = read(count, CONTEXT.settleWindowSeconds);
    const maxDeploymentsInProgress = read(count, CONTEXT.maxDeploymentsInProgress);
    const maxConcurrentInvocations = read(integer, CONTEXT.maxConcurrentInvocations);
    const optIn = read(bool, CONTEXT.optIn);
    const redeployForRepositoryCredentials = read(bool, CONTEXT.redeployForRepositoryCredentials);

    const flapMaxDeployments = read(integer, CONTEXT.flapGuardMaxDeployments);
    const flapPeriodMinutes = read(minutesOrOff, CONTEXT.flapGuardPeriodMinutes);
    let flapGuard: FlapGuardOptions | false | undefined;
    if (flapPeriodMinutes === false) {
      flapGuard = false;
    } else if (flapPeriodMinutes !== undefined || flapMaxDeployments !== undefined) {
      flapGuard = {
        maxDeployments: flapMaxDeployments ?? DEFAULT_FLAP_GUARD.maxDeployments,
        period:
          flapPeriodMinutes !== undefined
            ? Duration.minutes(flapPeriodMinutes)
            : DEFAULT_FLAP_GUARD.period,
      };
    }

    const sweepMinutes = read(minutesOrOff, CONTEXT.sweepIntervalMinutes);
    const sweep: SweepOptions | false | undefined =
      sweepMinutes === undefined || sweepMinutes === false
        ? sweepMinutes
        : { interval: Duration.minutes(sweepMinutes) };

    // Rollouts are on unless turned off; their settings are ignored when they are off (cdk.json
    // ships them, and `-c redeployer:rollouts=false` alone must be enough).
    const rolloutsOn = read(bool, CONTEXT.rollouts) ?? true;
    const stuckAfterMinutes = read(integer, CONTEXT.stuckAfterMinutes);
    const rolloutPollSeconds = read(integer, CONTEXT.rolloutPollSeconds);
    const rollouts: RolloutOptions | false = rolloutsOn && {
      ...(stuckAfterMinutes !== undefined && { stuckAfter: Duration.minutes(stuckAfterMinutes) }),
      ...(rolloutPollSeconds !== undefined && {
        pollInterval: Duration.seconds(rolloutPollSeconds),
      }),
    };

    // Waves need rollouts; like their settings, ignored when rollouts are off.
    const sizes = read(waveSizes, CONTEXT.waves);
    const wavesFor = read(appliesTo, CONTEXT.wavesFor);
    const bakeMinutes = read(count, CONTEXT.waveBakeMinutes);
    const alarmNames = read(stringList, CONTEXT.waveAlarmNames);
    const waves: WaveOptions | false | undefined = !rolloutsOn
      ? undefined
      : sizes === false
        ? false
        : {
            ...(sizes !== undefined && { sizes }),
            ...(wavesFor !== undefined && { appliesTo: wavesFor }),
            ...(bakeMinutes !== undefined && { bake: Duration.minutes(bakeMinutes) }),
            ...(alarmNames.length > 0 && {
              alarms: alarmNames.map((name, i) =>
                cloudwatch.Alarm.fromAlarmName(this, `WaveAlarm${i}`, name),
              ),
            }),
          };

    const props2: SecretRedeployerProps = {
      clusters,
      secretNamePrefixes: read(stringList, CONTEXT.secretNamePrefixes),
      parameterNamePrefixes: read(stringList, CONTEXT.parameterNamePrefixes),
      ...(dryRun !== undefined && { dryRun }),
      ...(enableCloudTrailRule !== undefined && { enableCloudTrailRule }),
      ...(concurrency !== undefined && { concurrency }),
      ...(alarmTopic && { alarmTopic }),
      ...(settleWindowSeconds !== undefined && {
        settleWindow: Duration.seconds(settleWindowSeconds),
      }),
      ...(maxDeploymentsInProgress !== undefined && { maxDeploymentsInProgress }),
      ...(maxConcurrentInvocations !== undefined && { maxConcurrentInvocations }),
      ...(flapGuard !== undefined && { flapGuard }),
      ...(sweep !== undefined && { sweep }),
      ...(optIn !== undefined && { optIn }),
      ...(redeployForRepositoryCredentials !== undefined && { redeployForRepositoryCredentials }),
      sourceAccounts: read(stringList, CONTEXT.sourceAccounts),
      sourceRegions: read(stringList, CONTEXT.sourceRegions),
      ...(notificationTopic && { notificationTopic }),
      rollouts,
      ...(waves !== undefined && { waves }),
    };
    this.redeployer = new SecretRedeployer(this, 'Redeployer', props2);

    // Read by the operator CLI (`redrive`) and handy in the console.
    new CfnOutput(this, 'FunctionName', {
      value: this.redeployer.function.functionName,
      description: 'The redeployer Lambda function',
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      value: this.redeployer.deadLetterQueue.queueUrl,
      description: 'Change events that could not be handled; see README, Operations',
    });
    new CfnOutput(this, 'ChangeQueueUrl', {
      value: this.redeployer.changeQueue.queueUrl,
      description: 'Change events waiting for the settle window or a brake',
    });
    // Read by the operator CLI (`status`): what each change's rollout did, and who watches it.
    const { rolloutTable, engine } = this.redeployer;
    if (rolloutTable && engine) {
      new CfnOutput(this, 'RolloutTableName', {
        value: rolloutTable.tableName,
        description: 'The rollouts: each change, its services, and how their deployments ended',
      });
      new CfnOutput(this, 'EngineFunctionName', {
        value: engine.functionName,
        description: 'The rollout engine (a durable function, one execution per rollout)',
      });
    }
  }
}
