/**
 * Nothing lost: every failure path ends in a retry or in the dead-letter queue, and the
 * dead-letter queue is alarmed.
 *
 * - Infrastructure (synthesised construct): each EventBridge target retries and dead-letters;
 *   the change queue redrives to the dead-letter queue; the sweep's asynchronous invocations
 *   retry and dead-letter; alarms watch the dead-letter queue and the function's errors.
 * - Function: a failing record is returned as a batch item failure (SQS delivers it again, then
 *   dead-letters it); a failing direct or sweep invocation throws (Lambda retries it, then
 *   dead-letters it); a change held back by the brakes goes back to the queue, and if that fails
 *   the record fails.
 * - CLI: `redrive` deletes a dead-lettered event only once the function handled it, whatever
 *   interrupts it.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  type InvokeCommandInput,
  type InvokeCommandOutput,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  SQSClient,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RedriveOptions, redrive } from '../../cli/redrive.js';
import { SecretRedeployer } from '../../infra/secret-redeployer.js';
import type { Report } from '../../functions/redeploy/process.js';
import { FakeQueue, QUEUE_URL } from '../cli/fake-queue.js';
import { MemoryOutput } from '../cli/helpers.js';
import { awsError } from '../helpers/aws-errors.js';
import { type JsonObject, detailOf, relocatedFixture } from '../helpers/fixtures.js';
import { newApp } from '../infra/synth.js';
import { MockWorld, partialSecretArn, serviceArn } from './mock-world.js';
import { ACCOUNT, REGION, captureOutput, lambdaContext, loadHandler, sqsBatch } from './support.js';

// ---------------------------------------------------------------------------------------------
// Infrastructure
// ---------------------------------------------------------------------------------------------

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

describe('infrastructure: every failure path ends in a retry or the dead-letter queue', () => {
  let template: Template;
  let resources: Resources;
  let dlq: string;
  let changeQueue: string;
  let fn: string;
  let topic: string;

  beforeAll(() => {
    const app = newApp();
    const stack = new Stack(app, 'Guarantees', {
      env: { account: ACCOUNT, region: 'eu-west-1' },
    });
    const alarmTopic = new sns.Topic(stack, 'Ops');
    new SecretRedeployer(stack, 'Redeployer', {
      enableCloudTrailRule: true,
      alarmTopic,
      timeout: Duration.minutes(5),
    });
    template = Template.fromStack(stack);
    resources = (template.toJSON() as { Resources: Resources }).Resources;
    const logicalId = (type: string, where: (p: Record<string, unknown>) => boolean): string => {
      const found = Object.entries(resources).filter(
        ([, r]) => r.Type === type && where(r.Properties),
      );
      expect(found, type).toHaveLength(1);
      return found[0]?.[0] ?? '';
    };
    changeQueue = logicalId('AWS::SQS::Queue', (p) => p.RedrivePolicy !== undefined);
    dlq = logicalId('AWS::SQS::Queue', (p) => p.RedrivePolicy === undefined);
    fn = logicalId('AWS::Lambda::Function', (p) =>
      JSON.stringify(p.Environment ?? {}).includes('CHANGE_QUEUE_URL'),
    );
    topic = logicalId('AWS::SNS::Topic', () => true);
  });

  const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
  const rules = () => Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Events::Rule');

  it('every rule target (the change rules and the sweep schedule) retries, then dead-letters', () => {
    const all = rules();
    expect(all.length).toBeGreaterThanOrEqual(5); // 4 change rules with CloudTrail, and the sweep
    for (const [id, rule] of all) {
      const targets = rule.Properties.Targets as Record<string, unknown>[];
      expect(targets.length, id).toBeGreaterThan(0);
      for (const target of targets) {
        expect(target.DeadLetterConfig, id).toEqual({ Arn: arnOf(dlq) });
        expect(target.RetryPolicy, id).toEqual({
          MaximumRetryAttempts: expect.any(Number) as unknown,
          MaximumEventAgeInSeconds: expect.any(Number) as unknown,
        });
        const policy = target.RetryPolicy as { MaximumRetryAttempts: number };
        expect(policy.MaximumRetryAttempts, id).toBeGreaterThan(0);
      }
    }
  });

  it('every change rule delivers to the change queue, never straight to the function', () => {
    let changeRules = 0;
    for (const [id, rule] of rules()) {
      if (rule.Properties.EventPattern === undefined) continue; // the sweep schedule
      const pattern = rule.Properties.EventPattern as { source?: string[] };
      // ECS deployment events only wake rollout engines: they skip the settle window, and go
      // straight to the function (retried, then dead-lettered, like the sweep; tested below).
      if (pattern.source?.includes('aws.ecs')) continue;
      changeRules += 1;
      for (const target of rule.Properties.Targets as Record<string, unknown>[]) {
        expect(target.Arn, id).toEqual(arnOf(changeQueue));
      }
    }
    expect(changeRules).toBeGreaterThanOrEqual(3);
  });

  it('EventBridge may send to the dead-letter queue (else a failed delivery would be dropped)', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlq }],
      PolicyDocument: {
        Statement: Match.arrayWith(
          rules().map(([id]) =>
            Match.objectLike({
              Action: 'sqs:SendMessage',
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Condition: { ArnEquals: { 'aws:SourceArn': arnOf(id) } },
            }),
          ),
        ),
      },
    });
  });

  it('the change queue redrives to the dead-letter queue after three receives, and keeps a message hidden while it is handled', () => {
    const queue = resources[changeQueue]?.Properties ?? {};
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: arnOf(dlq), maxReceiveCount: 3 });
    const timeout = resources[fn]?.Properties.Timeout as number;
    expect(queue.VisibilityTimeout as number).toBeGreaterThanOrEqual(timeout);
  });

  it('the dead-letter queue keeps events 14 days, longer than any retry takes', () => {
    const retention = resources[dlq]?.Properties.MessageRetentionPeriod as number;
    expect(retention).toBe(14 * 24 * 3600);
    for (const [, rule] of rules()) {
      for (const target of rule.Properties.Targets as {
        RetryPolicy: { MaximumEventAgeInSeconds: number };
      }[]) {
        expect(retention).toBeGreaterThan(target.RetryPolicy.MaximumEventAgeInSeconds);
      }
    }
  });

  it('the function consumes the change queue reporting batch item failures (only failed records come back)', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(changeQueue),
      FunctionName: { Ref: fn },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('asynchronous invocations (the sweep) are retried twice, then go to the dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fn },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: Match.anyValue(),
    });
    expect(resources[fn]?.Properties.DeadLetterConfig).toEqual({ TargetArn: arnOf(dlq) });
    // Lambda sends to the function's dead-letter queue with the function's role.
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'sqs:SendMessage', Effect: 'Allow', Resource: arnOf(dlq) }),
        ]),
      },
    });
  });

  it('the SDK retries each call up to 10 times (AWS_MAX_ATTEMPTS, as faults.test.ts relies on)', () => {
    expect(resources[fn]?.Properties.Environment).toMatchObject({
      Variables: { AWS_MAX_ATTEMPTS: '10' },
    });
  });

  it('an alarm fires as soon as an event is in the dead-letter queue, and notifies the alarm topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      AlarmActions: [{ Ref: topic }],
    });
  });

  it('an alarm fires when an invocation fails, and notifies the alarm topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: topic }],
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The function: failures end in a retry
// ---------------------------------------------------------------------------------------------

const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);
const ssmMock = mockClient(SSMClient);
const sqsMock = mockClient(SQSClient);
const lambdaMock = mockClient(LambdaClient);
const cfnMock = mockClient(CloudFormationClient);

const CHANGE_QUEUE = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/SecretRedeployer-ChangeQueue`;
const T = Date.parse('2025-03-14T11:00:05Z');

/** A Secret Label Updated event (the documented sample, home Region) for secret `name`. */
function secretEvent(id: string, name: string, suffix: string): JsonObject {
  const event = relocatedFixture(
    'secretsmanager/eventbridge-SecretLabelUpdated-native.awsdocs.json',
    { region: 'us-west-2', account: '012345678901' },
    { region: REGION, account: ACCOUNT },
  );
  event.id = id;
  event.time = new Date(T).toISOString().replace(/\.\d{3}Z$/, 'Z');
  event.resources = [`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${suffix}`];
  detailOf(event).name = name;
  return event;
}

describe('the function: every failure ends in a retry', () => {
  let world: MockWorld;

  beforeEach(() => {
    for (const mock of [ecsMock, smMock, ssmMock, sqsMock]) mock.reset();
    world = new MockWorld();
    world.now = new Date(T + 31_000);
    world.addService('prod', 'orders', { secrets: { DB: partialSecretArn('orders-db') } });
    world.addService('prod', 'billing', { secrets: { DB: partialSecretArn('billing-db') } });
    for (let i = 1; i <= 3; i += 1) {
      world.addService('prod', `web-${i}`, { secrets: { DB: partialSecretArn('web-db') } });
    }
    world.serveEcs(ecsMock);
    world.serveSecretsManager(smMock);
    world.serveSsm(ssmMock);
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'requeued-1' });
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
    captureOutput();
  });

  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  const orders = () => secretEvent('evt-orders', 'orders-db', 'OrDeRs');
  const billing = () => secretEvent('evt-billing', 'billing-db', 'BiLlIn');
  const web = () => secretEvent('evt-web', 'web-db', 'WeBdBx');

  it('from the change queue: only the failing record is a batch item failure; the others are done', async () => {
    world.failUpdate = (service) =>
      service === serviceArn('prod', 'billing') ? awsError('AccessDeniedException') : undefined;
    const { handler } = await loadHandler({ CHANGE_QUEUE_URL: CHANGE_QUEUE });

    const response = (await handler(
      sqsBatch([JSON.stringify(orders()), JSON.stringify(billing()), JSON.stringify(web())]),
      lambdaContext(),
    )) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'message-2' }]);
    expect(world.updatedServices()).toEqual(
      [
        serviceArn('prod', 'orders'),
        ...[1, 2, 3].map((i) => serviceArn('prod', `web-${i}`)),
      ].sort(),
    );
  });

  it('a direct invocation (redrive, asynchronous retry) that fails throws, so Lambda retries it', async () => {
    world.failUpdate = () => awsError('AccessDeniedException');
    const { handler, errors } = await loadHandler();

    await expect(handler(orders(), lambdaContext())).rejects.toBeInstanceOf(
      errors.RedeployFailedError,
    );
  });

  it('a sweep that fails throws, so Lambda retries it and finally dead-letters it', async () => {
    ssmMock.on(DescribeParametersCommand).resolves({ Parameters: [] });
    world.addSecret('orders-db', 'OrDeRs', { v2: ['AWSCURRENT'] }, { v2: new Date(T) });
    world.failUpdate = () => awsError('AccessDeniedException');
    const { handler, errors } = await loadHandler();

    await expect(
      handler({ action: 'sweep', id: 'sweep-1' }, lambdaContext()),
    ).rejects.toBeInstanceOf(errors.RedeployFailedError);
    expect(world.updateAttempts).toEqual([serviceArn('prod', 'orders')]);
  });

  it('a change held back by the brakes is sent back to the change queue, unchanged, delayed', async () => {
    const { handler } = await loadHandler({
      CHANGE_QUEUE_URL: CHANGE_QUEUE,
      MAX_DEPLOYMENTS_IN_PROGRESS: '1',
    });
    const event = web();

    const response = (await handler(
      sqsBatch([JSON.stringify(event)]),
      lambdaContext(),
    )) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([]);
    expect(world.updateAttempts).toHaveLength(1);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: CHANGE_QUEUE,
      MessageBody: JSON.stringify(event),
      DelaySeconds: expect.any(Number) as number,
    });
  });

  it('if sending it back fails, the record fails (SQS delivers it again): the held-back services are not lost', async () => {
    sqsMock
      .on(SendMessageCommand)
      .rejects(awsError('AccessDenied', 'not authorized: sqs:SendMessage'));
    const { handler } = await loadHandler({
      CHANGE_QUEUE_URL: CHANGE_QUEUE,
      MAX_DEPLOYMENTS_IN_PROGRESS: '1',
    });

    const response = (await handler(
      sqsBatch([JSON.stringify(web())]),
      lambdaContext(),
    )) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'message-1' }]);
  });

  it('a malformed record is logged and dropped (no retry can help): the only record not retried', async () => {
    const output = captureOutput();
    const { handler } = await loadHandler({ CHANGE_QUEUE_URL: CHANGE_QUEUE });

    const response = (await handler(
      sqsBatch(['{"truncated":']),
      lambdaContext(),
    )) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([]);
    expect(output.entries()).toContainEqual(
      expect.objectContaining({ message: 'event ignored', code: 'malformed' }),
    );
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  it('a report that was handled is returned (what redrive deletes a message on)', async () => {
    const { handler } = await loadHandler();

    const report = (await handler(orders(), lambdaContext())) as Report;

    expect(report).toMatchObject({
      outcome: 'handled',
      redeployed: [serviceArn('prod', 'orders')],
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The CLI's redrive: nothing lost when interrupted
// ---------------------------------------------------------------------------------------------

const FUNCTION_NAME = 'SecretRedeployer-Function12AB';
const clients = {
  sqs: new SQSClient({ region: REGION }),
  lambda: new LambdaClient({ region: REGION }),
  cloudFormation: new CloudFormationClient({ region: REGION }),
};

/** What the function (or Lambda) does with one message. */
type Fate =
  | 'handled'
  | 'function-error' // the function threw: FunctionError
  | 'throttled' // Invoke rejected, not fatal: redrive carries on
  | 'denied' // Invoke rejected, fatal: redrive stops
  | 'delete-fails' // handled, then DeleteMessage fails (not fatal)
  | 'delete-denied'; // handled, then DeleteMessage denied (fatal)

const encode = (value: unknown): InvokeCommandOutput['Payload'] =>
  // The SDK's payload type is a Uint8Array with helper methods; redrive only reads the bytes.
  new TextEncoder().encode(JSON.stringify(value)) as InvokeCommandOutput['Payload'];

interface RedriveRun {
  readonly queue: FakeQueue;
  readonly code?: number;
  readonly error?: unknown;
  /** `invoke:ID:ok|error` and the queue's own log, in order. */
  readonly log: readonly string[];
}

async function runRedrive(fates: readonly Fate[], abortDuring?: number): Promise<RedriveRun> {
  sqsMock.reset();
  lambdaMock.reset();
  cfnMock.reset();
  const queue = new FakeQueue();
  queue.serve(sqsMock);
  fates.forEach((_fate, i) => {
    queue.add(
      `m${i + 1}`,
      JSON.stringify(secretEvent(`event-${i + 1}`, `app/secret-${i + 1}`, 'AbCdEf')),
    );
  });
  const fateOf = (id: string): Fate => fates[Number(id.slice(1)) - 1] ?? 'handled';
  fates.forEach((fate, i) => {
    if (fate === 'delete-fails' || fate === 'delete-denied') {
      sqsMock
        .on(DeleteMessageCommand, { ReceiptHandle: `m${i + 1}#1` })
        .rejects(
          fate === 'delete-fails'
            ? awsError('InternalError', 'We encountered an internal error.')
            : awsError('AccessDenied', 'not authorized to perform: sqs:deletemessage'),
        );
    }
  });
  const controller = new AbortController();
  let invocations = 0;
  lambdaMock.on(GetFunctionConfigurationCommand).resolves({ Timeout: 300 });
  lambdaMock.on(InvokeCommand).callsFake((input: InvokeCommandInput) => {
    const body = new TextDecoder().decode(input.Payload as Uint8Array);
    const id = queue.idOfBody(body);
    invocations += 1;
    if (invocations === abortDuring) controller.abort(); // Ctrl-C while this one runs
    const fate = fateOf(id);
    const ok = !['function-error', 'throttled', 'denied'].includes(fate);
    queue.log.push(`invoke:${id}:${ok ? 'ok' : 'error'}`);
    if (fate === 'throttled') throw awsError('TooManyRequestsException', 'Rate exceeded');
    if (fate === 'denied')
      throw awsError('AccessDeniedException', 'not authorized: lambda:InvokeFunction');
    if (fate === 'function-error') {
      return {
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: encode({ errorType: 'RedeployFailedError', errorMessage: '1 failure(s)' }),
      };
    }
    return { StatusCode: 200, Payload: encode({ outcome: 'handled', redeployed: ['a'] }) };
  });
  const options: RedriveOptions = {
    list: false,
    json: false,
    region: REGION,
    queueUrl: QUEUE_URL,
    functionName: FUNCTION_NAME,
    signal: controller.signal,
  };
  try {
    const code = await redrive(options, { clients, output: new MemoryOutput() });
    return { queue, code, log: queue.log };
  } catch (error) {
    return { queue, error, log: queue.log };
  }
}

/** The guarantees, whatever happened: see the assertions. */
function expectNothingLost(run: RedriveRun, count: number): void {
  const { queue, log } = run;
  const all = Array.from({ length: count }, (_, i) => `m${i + 1}`);
  const deleted = log.flatMap((e) => /^delete:(.+)$/.exec(e)?.[1] ?? []);
  // 1. A message is deleted only after an invocation of it succeeded.
  for (const id of deleted) {
    const before = log.slice(0, log.indexOf(`delete:${id}`));
    expect(before.filter((e) => e.startsWith(`invoke:${id}:`)).at(-1), id).toBe(`invoke:${id}:ok`);
  }
  // 2. Every message not deleted is still in the queue, and visible again at once.
  expect(queue.ids.sort()).toEqual(all.filter((id) => !deleted.includes(id)).sort());
  expect(queue.visibleIds.sort()).toEqual(queue.ids.sort());
  // 3. No message was invoked twice in one run.
  const invoked = log.filter((e) => e.startsWith('invoke:')).map((e) => e.split(':')[1]);
  expect(new Set(invoked).size).toBe(invoked.length);
  // 4. Success is only claimed for an empty queue.
  if (run.code === 0) expect(queue.ids).toEqual([]);
}

describe("the CLI's redrive: nothing lost when it is interrupted", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('Ctrl-C during message 3 of 5: messages 4 and 5 stay in the queue, visible; exit 130', async () => {
    const run = await runRedrive(['handled', 'handled', 'handled', 'handled', 'handled'], 3);

    expect(run.code).toBe(130);
    expect(run.queue.ids).toEqual(['m4', 'm5']);
    expect(run.queue.visibleIds).toEqual(['m4', 'm5']);
    expectNothingLost(run, 5);
  });

  it('a fatal error at message 3 of 5: messages 3, 4 and 5 stay in the queue, visible', async () => {
    const run = await runRedrive(['handled', 'handled', 'denied', 'handled', 'handled']);

    expect(run.error).toBeDefined();
    expect(run.queue.ids).toEqual(['m3', 'm4', 'm5']);
    expectNothingLost(run, 5);
  });

  it('any mix of failures and an interruption at any point: nothing lost (property)', async () => {
    const fateArb = fc.constantFrom<Fate>(
      'handled',
      'handled',
      'function-error',
      'throttled',
      'denied',
      'delete-fails',
      'delete-denied',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fateArb, { minLength: 1, maxLength: 12 }),
        fc.option(fc.integer({ min: 1, max: 12 })),
        async (fates, abortDuring) => {
          const run = await runRedrive(fates, abortDuring ?? undefined);
          expectNothingLost(run, fates.length);
        },
      ),
      { numRuns: 150, seed: 6 },
    );
  });
});
