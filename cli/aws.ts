/**
 * AWS clients for the CLI: the caller's credentials (SDK default chain, or `--profile`) and one
 * Region, resolved before any call so a missing Region gets a clear message.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeServicesCommand,
  type DescribeServicesCommandOutput,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListClustersCommand,
  ListServicesCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { SecretsManagerLike } from '../functions/redeploy/secrets.js';
import type { EcsLike } from '../functions/redeploy/task-definitions.js';
import type { DynamoLike } from '../functions/rollout/store.js';
import { isRegion } from '../functions/redeploy/partition.js';
import { AwsCallError, MissingRegionError, UsageError } from './errors.js';

export type { DynamoLike, EcsLike, SecretsManagerLike };
export type SsmLike = Pick<SSMClient, 'send'>;
export type SqsLike = Pick<SQSClient, 'send'>;
export type LambdaLike = Pick<LambdaClient, 'send'>;
export type CloudFormationLike = Pick<CloudFormationClient, 'send'>;

export interface Clients {
  readonly secretsManager: SecretsManagerLike;
  readonly ssm: SsmLike;
  readonly ecs: EcsLike;
  readonly sqs: SqsLike;
  readonly lambda: LambdaLike;
  readonly cloudFormation: CloudFormationLike;
  /** The rollout table (`status`, and `rotate` when rollouts are on). */
  readonly dynamodb: DynamoLike;
}

/** Clients for one Region; credentials from `profile`, or the SDK's default chain. */
export function createClients(region: string, profile?: string): Clients {
  const config = { region, ...(profile !== undefined && { profile }) };
  return {
    secretsManager: new SecretsManagerClient(config),
    ssm: new SSMClient(config),
    ecs: new ECSClient(config),
    sqs: new SQSClient(config),
    lambda: new LambdaClient(config),
    cloudFormation: new CloudFormationClient(config),
    dynamodb: new DynamoDBClient(config),
  };
}

/** The Region of the profile in ~/.aws/config (as the SDK reads it), if it names one. */
export async function profileRegion(profile?: string): Promise<string | undefined> {
  try {
    const client = new SecretsManagerClient(profile === undefined ? {} : { profile });
    const region = await client.config.region();
    return region === '' ? undefined : region;
  } catch {
    return undefined; // no Region anywhere: the caller says so
  }
}

export interface RegionSources {
  /** `--region`. */
  readonly option?: string | undefined;
  /** The Region of the ARN the operator passed, if any: that is where the resource lives. */
  readonly fromArn?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The profile's Region, read only when nothing else names one. */
  readonly fromProfile: () => Promise<string | undefined>;
}

/**
 * `--region`, else the Region of an ARN argument, else `AWS_REGION`, `AWS_DEFAULT_REGION`, the
 * profile's Region. Empty values count as unset.
 */
export async function resolveRegion(sources: RegionSources): Promise<string> {
  const nonEmpty = (value: string | undefined): string | undefined =>
    value === undefined || value.trim() === '' ? undefined : value.trim();
  const option = nonEmpty(sources.option);
  const fromArn = nonEmpty(sources.fromArn);
  if (option !== undefined && fromArn !== undefined && option !== fromArn) {
    throw new UsageError(
      `The ARN names Region ${fromArn} but --region is ${option}: drop --region or use ${fromArn}`,
    );
  }
  const region =
    option ??
    fromArn ??
    nonEmpty(sources.env.AWS_REGION) ??
    nonEmpty(sources.env.AWS_DEFAULT_REGION) ??
    nonEmpty(await sources.fromProfile());
  if (region === undefined) throw new MissingRegionError();
  if (!isRegion(region)) {
    throw new UsageError(`"${region}" is not an AWS Region name (like eu-west-1)`);
  }
  return region;
}

/** The partition of a Region (events carry no partition). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  return 'aws';
}

// ---------------------------------------------------------------------------------------------
// A read-only view of ECS for the shared domain code
// ---------------------------------------------------------------------------------------------

type EcsCommand = Parameters<EcsLike['send']>[0];

const READ_ONLY_COMMANDS = [
  ListClustersCommand,
  ListServicesCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
] as const;

/** Thrown when the domain code tries a mutating ECS call through a read-only client. */
export class ReadOnlyViolationError extends Error {
  override name = 'ReadOnlyViolationError';
}

function commandName(command: object): string {
  return command.constructor.name.replace(/Command$/, '');
}

/**
 * Wraps an ECS client for `plan` and `rotate`: only discovery calls pass (any other call fails,
 * so a change can never be made even if dry-run handling regressed), every service described is
 * remembered (for cluster names and deployment states), and every failed call is kept with its
 * IAM action, for clear access-denied messages.
 */
export class ReadOnlyEcs {
  /** Every service DescribeServices returned, by ARN (last description wins). */
  readonly services = new Map<string, Service>();
  /** Every call that failed, with its IAM action. */
  readonly errors: AwsCallError[] = [];
  readonly client: EcsLike;

  constructor(ecs: EcsLike) {
    const send = async (command: EcsCommand): Promise<unknown> => {
      const action = `ecs:${commandName(command)}`;
      if (!READ_ONLY_COMMANDS.some((allowed) => command instanceof allowed)) {
        throw new ReadOnlyViolationError(`${action} refused: this command makes no changes`);
      }
      try {
        const output = await ecs.send(command);
        if (command instanceof DescribeServicesCommand) {
          for (const service of (output as DescribeServicesCommandOutput).services ?? []) {
            if (service.serviceArn !== undefined) this.services.set(service.serviceArn, service);
          }
        }
        return output;
      } catch (error) {
        this.errors.push(new AwsCallError(action, error));
        throw error;
      }
    };
    // The SDK's `send` is overloaded (promise and callback styles); the domain code uses only the
    // promise style, which `send` implements.
    this.client = { send: send as EcsLike['send'] };
  }
}
