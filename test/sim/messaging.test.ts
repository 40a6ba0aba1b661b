import {
  InvokeCommand,
  LambdaClient,
  SendDurableExecutionCallbackFailureCommand,
  SendDurableExecutionCallbackSuccessCommand,
  StopDurableExecutionCommand,
} from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { SimulatedAws } from './index.js';

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

describe('SQS', () => {
  it('honours DelaySeconds and the visibility timeout with the sim clock', async () => {
    const sim = new SimulatedAws();
    const url = sim.createQueue('changes', { visibilityTimeout: 30 });
    const sqs = sim.client(SQSClient);
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: '{"hello":"world"}',
        DelaySeconds: 60,
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'retry' } },
      }),
    );
    expect(sent.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);

    const receive = () =>
      sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
    expect((await receive()).Messages).toBeUndefined();
    expect(sim.messages('changes')[0]).toMatchObject({ visible: false, receiveCount: 0 });
    sim.advance(59_999);
    expect((await receive()).Messages).toBeUndefined();
    sim.advance(1);
    const [message] = (await receive()).Messages ?? [];
    expect(message).toMatchObject({
      Body: '{"hello":"world"}',
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'retry' } },
      Attributes: { ApproximateReceiveCount: '1' },
    });

    // In flight for 30 s, then visible again; ChangeMessageVisibility extends it.
    expect((await receive()).Messages).toBeUndefined();
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: message?.ReceiptHandle,
        VisibilityTimeout: 120,
      }),
    );
    sim.advance(119_000);
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
    );
    expect(attributes.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '1',
    });
    sim.advance(1000);
    const again = (await receive()).Messages?.[0];
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('2');
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: again?.ReceiptHandle }),
    );
    expect(sim.messages('changes')).toEqual([]);
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: `${url}-gone`, MessageBody: 'x' })),
    ).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives', async () => {
    const sim = new SimulatedAws();
    sim.createQueue('dlq');
    const url = sim.createQueue('work', {
      visibilityTimeout: 1,
      redrive: { deadLetterQueue: 'dlq', maxReceiveCount: 2 },
    });
    const sqs = sim.client(SQSClient);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    for (let i = 0; i < 2; i += 1) {
      expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages).toHaveLength(
        1,
      );
      sim.advance(1000);
    }
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages).toBeUndefined();
    expect(sim.messages('dlq').map((m) => m.body)).toEqual(['poison']);
  });
});

describe('SNS', () => {
  it('publishes over awsQuery and records the message', async () => {
    const sim = new SimulatedAws();
    const sns = sim.client(SNSClient);
    const topic = 'arn:aws:sns:us-east-1:123456789012:alerts';
    const answer = await sns.send(
      new PublishCommand({
        TopicArn: topic,
        Subject: 'Redeploy failed',
        Message: 'service web & friends <failed>',
        MessageAttributes: { severity: { DataType: 'String', StringValue: 'high' } },
      }),
    );
    expect(answer.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sim.published(topic)).toEqual([
      {
        messageId: answer.MessageId,
        topicArn: topic,
        subject: 'Redeploy failed',
        message: 'service web & friends <failed>',
        messageAttributes: { severity: { DataType: 'String', StringValue: 'high' } },
        at: sim.now(),
      },
    ]);
    expect(sim.calls('sns.Publish')[0]?.input).toMatchObject({
      TopicArn: topic,
      Subject: 'Redeploy failed',
    });
    await expect(
      sns.send(new PublishCommand({ TopicArn: 'not-an-arn', Message: 'x' })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
  });
});

describe('Lambda', () => {
  it('starts a durable execution once per name and payload', async () => {
    const sim = new SimulatedAws();
    const seen: unknown[] = [];
    sim.addFunction('rollout', (event, context) => {
      seen.push([event, context.durableExecutionName]);
      return { accepted: true };
    });
    const lambda = sim.client(LambdaClient);
    const start = (payload: unknown) =>
      lambda.send(
        new InvokeCommand({
          FunctionName: 'rollout',
          Qualifier: 'live',
          InvocationType: 'Event',
          DurableExecutionName: 'secret-db-v2',
          Payload: encode(payload),
        }),
      );
    const first = await start({ secret: 'db', version: 'v2' });
    expect(first.StatusCode).toBe(202);
    expect(first.DurableExecutionArn).toMatch(
      /^arn:aws:lambda:us-east-1:123456789012:function:rollout:live\/durable-execution\/secret-db-v2\/[0-9a-f-]{36}$/,
    );
    const repeat = await start({ secret: 'db', version: 'v2' });
    expect(repeat.DurableExecutionArn).toBe(first.DurableExecutionArn);
    await expect(start({ secret: 'db', version: 'v3' })).rejects.toMatchObject({
      name: 'DurableExecutionAlreadyStartedException',
      $metadata: { httpStatusCode: 409 },
    });
    await sim.lambda.settled();
    expect(seen).toEqual([[{ secret: 'db', version: 'v2' }, 'secret-db-v2']]);
    expect(sim.lambda.invocations.map((i) => [i.invocationType, i.qualifier, i.repeated])).toEqual([
      ['Event', 'live', false],
      ['Event', 'live', true],
    ]);
    expect(sim.calls('lambda.Invoke').map((c) => c.outcome)).toEqual([
      'ok',
      'ok',
      'DurableExecutionAlreadyStartedException',
    ]);
    expect(sim.calls('lambda.Invoke')[0]?.input).toMatchObject({
      FunctionName: 'rollout',
      Qualifier: 'live',
      InvocationType: 'Event',
      DurableExecutionName: 'secret-db-v2',
    });
  });

  it('answers synchronous invocations with the handler’s result or its error', async () => {
    const sim = new SimulatedAws();
    sim.addFunction('echo', (event) => ({ echoed: event }));
    sim.addFunction('broken', () => {
      throw new TypeError('boom');
    });
    const lambda = sim.client(LambdaClient);
    const ok = await lambda.send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:echo',
        Payload: encode({ a: 1 }),
      }),
    );
    expect(ok.StatusCode).toBe(200);
    expect(JSON.parse(decode(ok.Payload))).toEqual({ echoed: { a: 1 } });
    const failed = await lambda.send(
      new InvokeCommand({ FunctionName: 'broken', Payload: encode({}) }),
    );
    expect(failed.FunctionError).toBe('Unhandled');
    expect(JSON.parse(decode(failed.Payload))).toMatchObject({
      errorType: 'TypeError',
      errorMessage: 'boom',
    });
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'missing' }))).rejects.toMatchObject(
      {
        name: 'ResourceNotFoundException',
      },
    );
  });

  it('records durable execution callbacks and stops', async () => {
    const sim = new SimulatedAws();
    const lambda = sim.client(LambdaClient);
    await lambda.send(
      new SendDurableExecutionCallbackSuccessCommand({
        CallbackId: 'cb/1=',
        Result: encode({ done: true }),
      }),
    );
    await lambda.send(
      new SendDurableExecutionCallbackFailureCommand({
        CallbackId: 'cb-2',
        Error: { ErrorType: 'Failed', ErrorMessage: 'nope' },
      }),
    );
    sim.fault({
      operation: 'lambda.SendDurableExecutionCallbackSuccess',
      reply: { kind: 'error', code: 'CallbackTimeoutException', status: 400 },
    });
    await expect(
      lambda.send(
        new SendDurableExecutionCallbackSuccessCommand({ CallbackId: 'late', Result: encode(1) }),
      ),
    ).rejects.toMatchObject({ name: 'CallbackTimeoutException' });
    const stopped = await lambda.send(
      new StopDurableExecutionCommand({
        DurableExecutionArn:
          'arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST/durable-execution/n/id',
      }),
    );
    expect(stopped.StopTimestamp).toEqual(sim.now());
    expect(sim.lambda.callbacks).toEqual([
      { callbackId: 'cb/1=', kind: 'success', result: '{"done":true}', at: sim.now() },
      {
        callbackId: 'cb-2',
        kind: 'failure',
        error: { ErrorType: 'Failed', ErrorMessage: 'nope' },
        at: sim.now(),
      },
    ]);
    expect(sim.lambda.stops).toHaveLength(1);
    expect(sim.count('lambda.SendDurableExecutionCallbackSuccess')).toBe(2);
  });
});
