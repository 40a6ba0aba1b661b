/**
 * The redeployer stack's outputs (FunctionName, DeadLetterQueueUrl, RolloutTableName, …), read
 * with DescribeStacks.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { errorName } from '../functions/redeploy/errors.js';
import type { CloudFormationLike } from './aws.js';
import { StackNotFoundError, awsCall } from './errors.js';

/** The stack name `npx cdk deploy` gives the redeployer (infra/app.ts). */
export const DEFAULT_STACK = 'SecretRedeployer';

export const OUTPUTS = {
  functionName: 'FunctionName',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  changeQueueUrl: 'ChangeQueueUrl',
  /** Absent when rollouts are turned off. */
  rolloutTableName: 'RolloutTableName',
  /** The rollout engine (durable function); absent when rollouts are turned off. */
  engineFunctionName: 'EngineFunctionName',
} as const;

/**
 * Output key to value. Throws StackNotFoundError when the stack does not exist; `instead` is what
 * its message offers as an alternative to the stack (`pass --table NAME`).
 */
export async function stackOutputs(
  cloudFormation: CloudFormationLike,
  stack: string,
  region: string,
  instead?: string,
): Promise<Record<string, string>> {
  try {
    const { Stacks = [] } = await awsCall('cloudformation:DescribeStacks', () =>
      cloudFormation.send(new DescribeStacksCommand({ StackName: stack })),
    );
    const outputs: Record<string, string> = {};
    for (const output of Stacks[0]?.Outputs ?? []) {
      if (output.OutputKey !== undefined && output.OutputValue !== undefined) {
        outputs[output.OutputKey] = output.OutputValue;
      }
    }
    return outputs;
  } catch (error) {
    // CloudFormation reports a missing stack as `ValidationError: Stack with id X does not exist`.
    const cause = error instanceof Error && 'cause' in error ? error.cause : error;
    if (
      errorName(cause) === 'ValidationError' &&
      cause instanceof Error &&
      /does not exist/.test(cause.message)
    ) {
      throw new StackNotFoundError(stack, region, instead);
    }
    throw error;
  }
}
