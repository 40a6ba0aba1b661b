/**
 * A small account for the CLI tests: one secret (prod/db), one parameter (/app/url), and ECS
 * services that reference them in every way the plan distinguishes.
 */
import type { Service } from '@aws-sdk/client-ecs';
import {
  DescribeSecretCommand,
  type DescribeSecretCommandInput,
  type DescribeSecretCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import {
  DescribeParametersCommand,
  type DescribeParametersCommandInput,
  type ParameterMetadata,
} from '@aws-sdk/client-ssm';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { awsError } from '../helpers/aws-errors.js';
import {
  ACCOUNT,
  type EcsWorld,
  REGION,
  service,
  taskDefinition,
  taskDefinitionArn,
} from '../helpers/ecs.js';

export const SM = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret`;
export const DB_NAME = 'prod/db';
export const DB_ARN = `${SM}:${DB_NAME}-AbC123`;
export const DB_PARTIAL_ARN = `${SM}:${DB_NAME}`;
export const VERSION_CURRENT = '11111111-1111-4111-8111-111111111111';
export const VERSION_NEW = '22222222-2222-4222-8222-222222222222';
export const ROTATION_FUNCTION = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:prod-db-rotation`;

export const URL_PARAMETER = '/app/url';
export const URL_PARAMETER_ARN = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/app/url`;

export const td = {
  api: taskDefinitionArn('api', 1),
  worker: taskDefinitionArn('worker', 2),
  legacy: taskDefinitionArn('legacy', 1),
  old: taskDefinitionArn('old', 1),
  blue: taskDefinitionArn('blue', 1),
  pinned: taskDefinitionArn('pinned', 1),
  reader: taskDefinitionArn('reader', 3),
  web: taskDefinitionArn('web', 4),
  other: taskDefinitionArn('other', 1),
};

/**
 * prod: api (full ARN, JSON key), worker (partial ARN), legacy (CODE_DEPLOY), old (DRAINING),
 * blue (pinned to the `blue` label), pinned (pinned to a version);
 * staging: reader (/aws/reference/secretsmanager/prod/db), web (the parameter), other.
 */
export function world(): EcsWorld & { clusters: Record<string, Service[]> } {
  return {
    clusters: {
      prod: [
        service({ cluster: 'prod', name: 'api', taskDefinition: td.api }),
        service({ cluster: 'prod', name: 'worker', taskDefinition: td.worker }),
        service({
          cluster: 'prod',
          name: 'legacy',
          taskDefinition: td.legacy,
          controller: 'CODE_DEPLOY',
        }),
        service({ cluster: 'prod', name: 'old', taskDefinition: td.old, status: 'DRAINING' }),
        service({ cluster: 'prod', name: 'blue', taskDefinition: td.blue }),
        service({ cluster: 'prod', name: 'pinned', taskDefinition: td.pinned }),
      ],
      staging: [
        service({ cluster: 'staging', name: 'reader', taskDefinition: td.reader }),
        service({ cluster: 'staging', name: 'web', taskDefinition: td.web }),
        service({ cluster: 'staging', name: 'other', taskDefinition: td.other }),
      ],
    },
    taskDefinitions: [
      taskDefinition(td.api, { DB_PASSWORD: `${DB_ARN}:password::` }),
      taskDefinition(td.worker, { DB: DB_PARTIAL_ARN }),
      taskDefinition(td.legacy, { DB: DB_ARN }),
      taskDefinition(td.old, { DB: DB_ARN }),
      taskDefinition(td.blue, { DB: `${DB_ARN}::blue:` }),
      taskDefinition(td.pinned, { DB: `${DB_ARN}:::${VERSION_CURRENT}` }),
      taskDefinition(td.reader, { DB: `/aws/reference/secretsmanager/${DB_NAME}` }),
      taskDefinition(td.web, { URL: URL_PARAMETER }),
      taskDefinition(td.other, { KEY: `${SM}:other-XyZ789` }),
    ],
  };
}

export interface SecretState {
  versions: Record<string, string[]>;
  deletedDate?: Date;
  lastChangedDate?: Date;
}

/** The described secret prod/db; `state` is read at each call, so tests can change it. */
export function serveSecret(
  smMock: AwsClientStub<SecretsManagerClient>,
  state: SecretState = { versions: { [VERSION_CURRENT]: ['AWSCURRENT'] } },
  onDescribe: () => void = () => undefined,
): void {
  smMock.on(DescribeSecretCommand).callsFake((input: DescribeSecretCommandInput) => {
    onDescribe();
    if (![DB_NAME, DB_ARN, DB_PARTIAL_ARN].includes(input.SecretId ?? '')) {
      throw awsError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    }
    const output: DescribeSecretCommandOutput = {
      $metadata: {},
      ARN: DB_ARN,
      Name: DB_NAME,
      RotationEnabled: true,
      RotationLambdaARN: ROTATION_FUNCTION,
      VersionIdsToStages: structuredClone(state.versions),
      ...(state.deletedDate && { DeletedDate: state.deletedDate }),
      ...(state.lastChangedDate && { LastChangedDate: state.lastChangedDate }),
    };
    return output;
  });
}

/** Parameter Store knows `parameters`; DescribeParameters filters on Name Equals. */
export function serveParameters(
  ssmMock: AwsClientStub<SSMClient>,
  parameters: readonly ParameterMetadata[] = [{ Name: URL_PARAMETER, ARN: URL_PARAMETER_ARN }],
): void {
  ssmMock.on(DescribeParametersCommand).callsFake((input: DescribeParametersCommandInput) => {
    const wanted = input.ParameterFilters?.find((f) => f.Key === 'Name')?.Values ?? [];
    return { Parameters: parameters.filter((p) => wanted.includes(p.Name ?? '')) };
  });
}
