/**
 * The Lambda entry point, imported fresh for each test: it reads its configuration and builds its
 * clients at module scope, so the environment is stubbed before a dynamic import.
 * aws-sdk-client-mock patches the client classes, so those module-scope clients are mocked too.
 */
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { awsError } from '../../helpers/aws-errors.js';
import {
  ACCOUNT,
  REGION,
  type EcsWorld,
  serveEcs,
  service,
  serviceArn,
  taskDefinition,
  taskDefinitionArn,
} from '../../helpers/ecs.js';
import { type JsonObject, detailOf, relocatedFixture } from '../../helpers/fixtures.js';
import { captureOutput, lambdaContext, loadHandler } from '../../helpers/lambda.js';

const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);

const PLANTED = 'hunter2-PLANTED';
const SM = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret`;
const HERE = { region: REGION, account: ACCOUNT };

const tds = {
  orders: taskDefinitionArn('orders', 7),
  billing: taskDefinitionArn('billing', 3),
  other: taskDefinitionArn('other', 1),
};

function world(): EcsWorld {
  return {
    clusters: {
      prod: [
        service({ cluster: 'prod', name: 'orders', taskDefinition: tds.orders }),
        service({ cluster: 'prod', name: 'billing', taskDefinition: tds.billing }),
        service({ cluster: 'prod', name: 'other', taskDefinition: tds.other }),
      ],
    },
    taskDefinitions: [
      taskDefinition(
        tds.orders,
        { DB_PASSWORD: `${SM}:mySecret-a1b2c3:password::` },
        {
          containers: [
            { name: 'worker', environment: [{ name: 'LEGACY_API_KEY', value: PLANTED }] },
          ],
        },
      ),
      taskDefinition(tds.billing, { DB: `${SM}:mySecret` }),
      taskDefinition(tds.other, { DB: `${SM}:otherSecret-AbCdEf` }),
    ],
  };
}

/** The documented Secret Label Updated sample (mySecret-a1b2c3), moved to the home scope. */
const labelUpdated = (): JsonObject =>
  relocatedFixture(
    'secretsmanager/eventbridge-SecretLabelUpdated-native.awsdocs.json',
    { region: 'us-west-2', account: '012345678901' },
    HERE,
  );

/** A manual PutSecretValue naming mySecret by name only: the secret must be described. */
function putSecretValueByName(): JsonObject {
  const event = relocatedFixture(
    'secretsmanager/eventbridge-PutSecretValue.external-secrets-reloader-2024.json',
    { region: 'eu-west-1', account: '123456789012' },
    HERE,
  );
  const detail = detailOf(event);
  detail.requestParameters = {
    secretId: 'mySecret',
    clientRequestToken: '4d383ea9-084a-49c9-8722-cbfb0f25c456',
  };
  detail.responseElements = null;
  return event;
}

let output: () => string;

beforeEach(() => {
  ecsMock.reset();
  smMock.reset();
  output = captureOutput();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
});

describe('handler', () => {
  it('forces a new deployment of the referencing services and returns the report', async () => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler();

    const report = await handler(labelUpdated());

    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 2);
    expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, {
      service: serviceArn('prod', 'orders'),
      forceNewDeployment: true,
    });
    expect(report).toMatchObject({
      outcome: 'handled',
      redeployed: [serviceArn('prod', 'billing'), serviceArn('prod', 'orders')],
      failed: [],
    });
  });

  it('throws RedeployFailedError when a redeploy failed, after redeploying the rest', async () => {
    serveEcs(ecsMock, world());
    ecsMock
      .on(UpdateServiceCommand, { service: serviceArn('prod', 'billing') })
      .rejects(awsError('AccessDeniedException', 'not authorized to perform: ecs:UpdateService'));
    const { handler, errors } = await loadHandler();

    const invocation = handler(labelUpdated());

    await expect(invocation).rejects.toBeInstanceOf(errors.RedeployFailedError);
    await expect(invocation).rejects.toThrow(
      `${serviceArn('prod', 'billing')}: AccessDeniedException: not authorized to perform: ecs:UpdateService`,
    );
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 2);
    expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, {
      service: serviceArn('prod', 'orders'),
    });
  });

  it.each([
    ['null', null],
    ['a string', 'hello'],
    ['an object that is not an EventBridge event', { Records: [{ body: '{}' }] }],
  ])('returns an ignored report for %s, without throwing or calling AWS', async (_case, event) => {
    const { handler } = await loadHandler();

    const report = await handler(event);

    expect(report).toEqual({
      outcome: 'ignored',
      code: 'malformed',
      reason: expect.any(String) as string,
    });
    expect(ecsMock).not.toHaveReceivedAnyCommand();
    expect(smMock).not.toHaveReceivedAnyCommand();
    expect(output()).toContain('event ignored');
  });

  it('rethrows an AWS error resolving the secret, so Lambda retries the event', async () => {
    serveEcs(ecsMock, world());
    smMock.on(DescribeSecretCommand).rejects(awsError('AccessDeniedException', 'denied'));
    const { handler } = await loadHandler();

    await expect(handler(putSecretValueByName())).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  it('makes no UpdateService call when DRY_RUN is set', async () => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler({ DRY_RUN: 'true' });

    const report = await handler(labelUpdated());

    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
    expect(report).toMatchObject({ dryRun: true, redeployed: expect.any(Array) as unknown[] });
  });

  it('only looks at the clusters named in CLUSTERS', async () => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler({ CLUSTERS: 'staging' });

    const report = await handler(labelUpdated());

    expect(report).toMatchObject({ redeployed: [], clustersScanned: 1, servicesScanned: 0 });
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  it('fails the cold start with a ConfigError naming an invalid variable', async () => {
    await expect(loadHandler({ REDEPLOY_CONCURRENCY: '500' })).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining('REDEPLOY_CONCURRENCY') as string,
    });
  });

  it('takes its own account from the Lambda context: a name from another account is not described', async () => {
    serveEcs(ecsMock, world());
    smMock.on(DescribeSecretCommand).resolves({ ARN: `${SM}:mySecret-a1b2c3` });
    const { handler } = await loadHandler();

    await handler(
      putSecretValueByName(),
      lambdaContext(`arn:aws:lambda:${REGION}:210987654321:function:ecs-secret-redeployer`),
    );
    expect(smMock).not.toHaveReceivedCommand(DescribeSecretCommand);

    await handler(
      putSecretValueByName(),
      lambdaContext(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:ecs-secret-redeployer`),
    );
    expect(smMock).toHaveReceivedCommandExactlyOnceWith(DescribeSecretCommand, {
      SecretId: 'mySecret',
    });
  });

  it('never writes a secret value to its logs, its report or its errors', async () => {
    serveEcs(ecsMock, world());
    smMock.on(DescribeSecretCommand).resolves({
      ARN: `${SM}:mySecret-a1b2c3`,
      Name: 'mySecret',
      Description: `rotated by ops; current password ${PLANTED}`,
      Tags: [{ Key: 'break-glass-password', Value: PLANTED }],
      VersionIdsToStages: { '4d383ea9-084a-49c9-8722-cbfb0f25c456': ['AWSCURRENT'] },
    });
    ecsMock
      .on(UpdateServiceCommand, { service: serviceArn('prod', 'billing') })
      .rejects(awsError('InvalidParameterException', 'Unable to assume the service linked role'));
    const { handler } = await loadHandler();
    const context = lambdaContext(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:redeployer`);
    const event = putSecretValueByName();

    const failure: unknown = await handler(event, context).then(
      () => undefined,
      (error: unknown) => error,
    );
    const ignored = await handler({ ...event, detail: { secretString: PLANTED } }, context);
    const handled = await handler(labelUpdated(), context).catch((error: unknown) => error);

    expect(smMock).toHaveReceivedCommand(DescribeSecretCommand);
    expect(failure).toBeInstanceOf(Error);
    const logs = output();
    // The capture works: the handler logged both events by id.
    expect(logs).toContain(String(event.id));
    expect(logs).toContain('6a7e8feb-b491-4cf7-a9f1-bf3703467718');
    expect(logs).not.toContain(PLANTED);
    expect(JSON.stringify([ignored, handled])).not.toContain(PLANTED);
    expect(String(failure)).not.toContain(PLANTED);
  });
});
