/**
 * The deployable stack: one SecretRedeployer configured from CDK context (cdk.json, or
 * `-c redeployer:dryRun=true` on the command line).
 */
import { Arn, ArnFormat, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { SecretRedeployer, type SecretRedeployerProps } from './secret-redeployer.js';

/** Context keys read by RedeployerStack; each is a row of README's configuration table. */
export const CONTEXT = {
  clusters: 'redeployer:clusters',
  secretNamePrefixes: 'redeployer:secretNamePrefixes',
  parameterNamePrefixes: 'redeployer:parameterNamePrefixes',
  dryRun: 'redeployer:dryRun',
  enableCloudTrailRule: 'redeployer:enableCloudTrailRule',
  concurrency: 'redeployer:concurrency',
  alarmTopicArn: 'redeployer:alarmTopicArn',
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
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(number)) {
    throw new Error(`Context ${key} must be a whole number, got ${JSON.stringify(value)}`);
  }
  return number;
}

export class RedeployerStack extends Stack {
  public readonly redeployer: SecretRedeployer;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const context = (key: string): unknown => this.node.tryGetContext(key);

    const clusters = stringList(context(CONTEXT.clusters), CONTEXT.clusters).map((cluster, i) =>
      cluster.startsWith('arn:')
        ? ecs.Cluster.fromClusterArn(this, `Cluster${i}`, cluster)
        : ecs.Cluster.fromClusterArn(
            this,
            `Cluster${i}`,
            this.formatArn({ service: 'ecs', resource: 'cluster', resourceName: cluster }),
          ),
    );
    const alarmTopicArn = context(CONTEXT.alarmTopicArn);
    const alarmTopic =
      typeof alarmTopicArn === 'string' && alarmTopicArn !== ''
        ? sns.Topic.fromTopicArn(this, 'AlarmTopic', alarmTopicArn)
        : undefined;
    if (alarmTopic) Arn.split(alarmTopicArn as string, ArnFormat.NO_RESOURCE_NAME);

    const dryRun = bool(context(CONTEXT.dryRun), CONTEXT.dryRun);
    const enableCloudTrailRule = bool(
      context(CONTEXT.enableCloudTrailRule),
      CONTEXT.enableCloudTrailRule,
    );
    const concurrency = integer(context(CONTEXT.concurrency), CONTEXT.concurrency);
    const props2: SecretRedeployerProps = {
      clusters,
      secretNamePrefixes: stringList(
        context(CONTEXT.secretNamePrefixes),
        CONTEXT.secretNamePrefixes,
      ),
      parameterNamePrefixes: stringList(
        context(CONTEXT.parameterNamePrefixes),
        CONTEXT.parameterNamePrefixes,
      ),
      ...(dryRun !== undefined && { dryRun }),
      ...(enableCloudTrailRule !== undefined && { enableCloudTrailRule }),
      ...(concurrency !== undefined && { concurrency }),
      ...(alarmTopic && { alarmTopic }),
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
  }
}
