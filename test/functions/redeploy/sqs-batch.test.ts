/**
 * The handler's SQS path: the change queue delivers batches (up to 10 records), each record's
 * body one EventBridge event. Records are handled one at a time; a record that fails is reported
 * in batchItemFailures (ReportBatchItemFailures) so only it is delivered again; a record that
 * can never be handled (malformed) is logged and dropped, not retried.
 */
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { awsError } from '../../helpers/aws-errors.js';
import { SM, parameterChanged, secretChanged } from '../../helpers/change-events.js';
import {
  type EcsWorld,
  serveEcs,
  service,
  serviceArn,
  taskDefinition,
  taskDefinitionArn,
} from '../../helpers/ecs.js';
import { detailOf } from '../../helpers/fixtures.js';
import {
  CHANGE_QUEUE_URL,
  captureOutput,
  lambdaContext,
  loadHandler,
  logEntries,
  sqsEvent,
} from '../../helpers/lambda.js';

const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);
const sqsMock = mockClient(SQSClient);

const T0 = Date.parse('2025-03-14T09:00:00Z');

function world(): EcsWorld {
  const td = (name: string) => taskDefinitionArn(name, 1);
  return {
    clusters: {
      prod: ['orders', 'billing', 'web'].map((name) =>
        service({ cluster: 'prod', name, taskDefinition: td(name) }),
      ),
    },
    taskDefinitions: [
      taskDefinition(td('orders'), { DB: `${SM}:orders-db-OrDeRs` }),
      taskDefinition(td('billing'), { DB: `${SM}:billing-db-BiLlIn` }),
      taskDefinition(td('web'), { FLAGS: '/web/flags' }),
    ],
  };
}

const orders = () =>
  secretChanged({ id: 'evt-orders', name: 'orders-db', suffix: 'OrDeRs', at: T0 });
const billing = () =>
  secretChanged({ id: 'evt-billing', name: 'billing-db', suffix: 'BiLlIn', at: T0 });
const web = () => parameterChanged({ id: 'evt-web', name: '/web/flags', at: T0 });

let output: () => string;

beforeEach(() => {
  ecsMock.reset();
  smMock.reset();
  sqsMock.reset();
  output = captureOutput();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
});

describe('the SQS batch path', () => {
  it('handles every record of a batch and reports no failures', async () => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler();

    const response = await handler(sqsEvent([orders(), billing(), web()]), lambdaContext());

    expect(response).toEqual({ batchItemFailures: [] });
    for (const name of ['orders', 'billing', 'web']) {
      expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, {
        service: serviceArn('prod', name),
      });
    }
  });

  it('reports a record whose redeploy failed in batchItemFailures, with that messageId only', async () => {
    serveEcs(ecsMock, world());
    ecsMock
      .on(UpdateServiceCommand, { service: serviceArn('prod', 'billing') })
      // Refused, not throttled: a throttled UpdateService is paced and retried for 15 s.
      .rejects(awsError('AccessDeniedException', 'not authorized to perform: ecs:UpdateService'));
    const { handler } = await loadHandler();

    const response = await handler(
      sqsEvent([orders(), billing(), web()], ['m-orders', 'm-billing', 'm-web']),
      lambdaContext(),
    );

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-billing' }] });
    // The records after the failed one were still handled.
    expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, {
      service: serviceArn('prod', 'web'),
    });
    const failure = logEntries(output()).find(
      (entry) => entry.message === 'change failed; it will be retried',
    );
    expect(failure).toMatchObject({
      level: 'ERROR',
      messageId: 'm-billing',
      correlation_id: 'evt-billing',
      error: expect.stringContaining('AccessDeniedException') as string,
    });
  });

  it('makes a failed record visible again after a minute, and tolerates failing to do so', async () => {
    serveEcs(ecsMock, world());
    ecsMock
      .on(UpdateServiceCommand, { service: serviceArn('prod', 'billing') })
      // Refused, not throttled: a throttled UpdateService is paced and retried for 15 s.
      .rejects(awsError('AccessDeniedException', 'not authorized to perform: ecs:UpdateService'));
    sqsMock.on(ChangeMessageVisibilityCommand).rejectsOnce(awsError('AccessDenied', 'denied'));
    const { handler } = await loadHandler({ CHANGE_QUEUE_URL });
    const batch = sqsEvent([orders(), billing()], ['m-orders', 'm-billing']);

    const first = await handler(batch);
    const second = await handler(batch);

    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-billing' }] });
    expect(second).toEqual(first);
    expect(sqsMock).toHaveReceivedCommandTimes(ChangeMessageVisibilityCommand, 2);
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, {
      QueueUrl: CHANGE_QUEUE_URL,
      ReceiptHandle: batch.Records[1]?.receiptHandle,
      VisibilityTimeout: 60,
    });
    expect(logEntries(output())).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: 'could not shorten the retry delay' }),
    );
  });

  it('reports a record whose secret could not be resolved (AWS error) as a failure, alone', async () => {
    serveEcs(ecsMock, world());
    smMock.on(DescribeSecretCommand).rejects(awsError('AccessDeniedException', 'denied'));
    // A change that names the secret only by name must be described first.
    const byName = orders();
    byName.resources = [];
    byName.id = 'evt-by-name';
    detailOf(byName).name = 'orders-db';

    const { handler } = await loadHandler();
    const response = await handler(sqsEvent([byName, web()], ['m-by-name', 'm-web']));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-by-name' }] });
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
  });

  it.each([
    ['a body that is not JSON', '{"version":"0","id":'],
    ['a JSON body that is not an EventBridge event', '{"hello":"world"}'],
    ['a JSON array', '[1,2,3]'],
  ])('drops %s with a warning instead of failing it', async (_case, body) => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler();

    const response = await handler(sqsEvent([body, web()], ['m-bad', 'm-web']));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 1); // web still handled
    expect(logEntries(output())).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: 'event ignored', code: 'malformed' }),
    );
  });

  it('does not fail an event it does not handle (a rotation still in progress)', async () => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler();
    const pending = orders();
    Object.assign(pending, { id: 'evt-pending' });
    detailOf(pending).labelUpdated = 'AWSPENDING';

    const response = await handler(sqsEvent([pending], ['m-pending']));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(ecsMock).not.toHaveReceivedAnyCommand();
  });

  it('still treats an object that is not an SQS batch as one EventBridge event', async () => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler();

    const report = await handler(web(), lambdaContext());

    expect(report).toMatchObject({ outcome: 'handled', redeployed: [serviceArn('prod', 'web')] });
  });
});
