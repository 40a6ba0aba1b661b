import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  type InvokeCommandInput,
  type InvokeCommandOutput,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsCallError, CliError, StackNotFoundError } from '../../cli/errors.js';
import { type RedriveOptions, redrive } from '../../cli/redrive.js';
import { awsError } from '../helpers/aws-errors.js';
import { type JsonObject, detailOf, loadFixture } from '../helpers/fixtures.js';
import { FakeQueue, QUEUE_URL } from './fake-queue.js';
import { MemoryOutput } from './helpers.js';

const sqsMock = mockClient(SQSClient);
const lambdaMock = mockClient(LambdaClient);
const cfnMock = mockClient(CloudFormationClient);
const clients = {
  sqs: new SQSClient({ region: 'us-east-1' }),
  lambda: new LambdaClient({ region: 'us-east-1' }),
  cloudFormation: new CloudFormationClient({ region: 'us-east-1' }),
};
const FUNCTION_NAME = 'SecretRedeployer-Function12AB';
/** Something only the event's detail holds: it must never be printed. */
const DETAIL_MARKER = 'DETAIL-ONLY-do-not-print';

let queue: FakeQueue;
/** What the function does with an event, by message id. */
let behaviour: (id: string) => InvokeCommandOutput | Error;

const encode = (value: unknown): InvokeCommandOutput['Payload'] =>
  // The SDK's payload type is a Uint8Array with helper methods; redrive only reads the bytes.
  new TextEncoder().encode(JSON.stringify(value)) as InvokeCommandOutput['Payload'];

const handled = (): InvokeCommandOutput => ({
  $metadata: {},
  StatusCode: 200,
  Payload: encode({ outcome: 'handled', redeployed: ['a', 'b'], skipped: [], needsAction: [] }),
});

const functionError = (message: string): InvokeCommandOutput => ({
  $metadata: {},
  StatusCode: 200,
  FunctionError: 'Unhandled',
  Payload: encode({ errorType: 'RedeployFailedError', errorMessage: message, trace: [] }),
});

/** A Secret Label Updated event for secret `name`, with its own id. */
function secretEvent(id: string, name: string): JsonObject {
  const event = loadFixture('secretsmanager/eventbridge-SecretLabelUpdated-native.awsdocs.json');
  const detail = detailOf(event);
  event.id = id;
  event.resources = [`arn:aws:secretsmanager:us-west-2:012345678901:secret:${name}-a1b2c3`];
  detail.name = name;
  detail.description = DETAIL_MARKER;
  return event;
}

function fill(count: number): void {
  for (let i = 1; i <= count; i += 1) {
    queue.add(`m${i}`, JSON.stringify(secretEvent(`event-${i}`, `app/secret-${i}`)));
  }
}

beforeEach(() => {
  sqsMock.reset();
  lambdaMock.reset();
  cfnMock.reset();
  queue = new FakeQueue();
  queue.serve(sqsMock);
  behaviour = handled;
  lambdaMock.on(GetFunctionConfigurationCommand).resolves({ Timeout: 300 });
  lambdaMock.on(InvokeCommand).callsFake((input: InvokeCommandInput) => {
    const { Payload } = input;
    const body =
      typeof Payload === 'string' ? Payload : new TextDecoder().decode(Payload as Uint8Array);
    const id = queue.idOfBody(body);
    const result = behaviour(id);
    queue.log.push(
      `invoke:${id}:${result instanceof Error || result.FunctionError ? 'error' : 'ok'}`,
    );
    if (result instanceof Error) throw result;
    return result;
  });
  cfnMock.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'SecretRedeployer',
        CreationTime: new Date(),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: [
          { OutputKey: 'FunctionName', OutputValue: FUNCTION_NAME },
          { OutputKey: 'DeadLetterQueueUrl', OutputValue: QUEUE_URL },
        ],
      },
    ],
  });
});

afterEach(() => {
  // Never a deletion before the invocation of that message succeeded.
  queue.log.forEach((entry, index) => {
    const deleted = /^delete:(.+)$/.exec(entry)?.[1];
    if (deleted === undefined) return;
    const invocations = queue.log.slice(0, index).filter((e) => e.startsWith(`invoke:${deleted}:`));
    expect(invocations.at(-1), `deletion of ${deleted}`).toBe(`invoke:${deleted}:ok`);
  });
});

async function run(
  options: Partial<RedriveOptions> = {},
): Promise<{ code: number; output: MemoryOutput }> {
  const output = new MemoryOutput();
  const code = await redrive(
    { list: false, json: false, region: 'us-east-1', ...options },
    { clients, output },
  );
  return { code, output };
}

describe('redrive --list', () => {
  beforeEach(() => {
    queue.add('m1', JSON.stringify(secretEvent('event-1', 'prod/db')), {
      ErrorCode: { DataType: 'String', StringValue: '200' },
      ErrorMessage: { DataType: 'String', StringValue: 'RedeployFailedError: 1 failure(s)' },
    });
    queue.add('m2', JSON.stringify(loadFixture('ssm/parameter-store-change-update.awsdocs.json')));
    queue.add('m3', 'this is not JSON');
  });

  it('lists the waiting events (envelope and name only), deletes nothing and makes them visible again', async () => {
    const { code, output } = await run({ list: true });

    expect(code).toBe(0);
    expect(output.stdout).toContain(`3 events waiting in ${QUEUE_URL}:`);
    expect(output.stdout).toMatch(
      /^event-1\s+2024-02-06T16:43:48Z\s+Secret Label Updated\s+aws\.secretsmanager\s+prod\/db\s+2026-03-01T10:00:00\.000Z\s+200: RedeployFailedError: 1 failure\(s\)$/m,
    );
    expect(output.stdout).toMatch(
      /^9547ef2d-3b7e-4057-b6cb-5fdf09ee7c8f\s+2017-05-22T16:44:48Z\s+Parameter Store Change\s+aws\.ssm\s+MyExampleParameter\s/m,
    );
    expect(output.stdout).toMatch(/^\(message m3\)\s+-\s+-\s+-\s+\(the body is not JSON\)\s/m);
    expect(output.all).not.toContain(DETAIL_MARKER);
    expect(output.all).not.toContain('Sample Parameter'); // the parameter event's description
    expect(output.all).not.toContain('EXAMPLE11111'); // the secret event's versionId
    expect(sqsMock).not.toHaveReceivedCommand(DeleteMessageCommand);
    expect(lambdaMock).not.toHaveReceivedAnyCommand();
    expect(queue.receiveVisibility.every((seconds) => seconds === 30)).toBe(true);
    expect(queue.visibleIds).toEqual(['m1', 'm2', 'm3']);
  });

  it('prints JSON with --json', async () => {
    const { output } = await run({ list: true, json: true });

    const parsed = JSON.parse(output.stdout) as { messages: JsonObject[] };
    expect(parsed.messages).toHaveLength(3);
    expect(parsed.messages[0]).toMatchObject({
      messageId: 'm1',
      eventId: 'event-1',
      detailType: 'Secret Label Updated',
      source: 'aws.secretsmanager',
      name: 'prod/db',
    });
    expect(output.stdout).not.toContain(DETAIL_MARKER);
  });

  it('stops at --max', async () => {
    const { output } = await run({ list: true, max: 2 });

    expect(output.stdout).toContain('2 events waiting');
    expect(output.stdout).toContain('Stopped at --max 2: more may be waiting.');
    expect(queue.visibleIds).toEqual(['m1', 'm2', 'm3']);
  });

  it('says when the queue is empty', async () => {
    queue = new FakeQueue();
    queue.serve(sqsMock);

    const { code, output } = await run({ list: true });

    expect(code).toBe(0);
    expect(output.stdout).toBe(`The dead-letter queue is empty (${QUEUE_URL}).`);
  });
});

describe('redrive', () => {
  it('invokes the function synchronously with each body, in batches of 10, deleting each once handled', async () => {
    fill(12);

    const { code, output } = await run();

    expect(code).toBe(0);
    expect(queue.ids).toEqual([]);
    expect(sqsMock).toHaveReceivedCommandWith(ReceiveMessageCommand, {
      QueueUrl: QUEUE_URL,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 360, // the function's 300 s timeout and a margin
    });
    expect(lambdaMock).toHaveReceivedCommandTimes(InvokeCommand, 12);
    expect(lambdaMock).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: FUNCTION_NAME,
      InvocationType: 'RequestResponse',
    });
    const first = lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input.Payload;
    expect(new TextDecoder().decode(first as Uint8Array)).toBe(
      JSON.stringify(secretEvent('event-1', 'app/secret-1')),
    );
    expect(output.stdout).toContain(
      'Redrove event event-1 (Secret Label Updated, app/secret-1): handled: 2 redeployed, ' +
        '0 skipped, 0 need action, 0 still referencing. Deleted from the queue.',
    );
    expect(output.stdout).toContain('12 events handled and deleted, 0 left in the queue.');
  });

  it('leaves a message the function failed on, reports the error and exits 1', async () => {
    fill(3);
    behaviour = (id) =>
      id === 'm2'
        ? functionError('1 failure(s) handling event event-2: ThrottlingException')
        : handled();

    const { code, output } = await run();

    expect(code).toBe(1);
    expect(queue.ids).toEqual(['m2']);
    expect(queue.visibleIds).toEqual(['m2']);
    expect(output.stderr).toContain(
      'Left event event-2 (Secret Label Updated, app/secret-2) in the queue: the function failed: ' +
        'RedeployFailedError: 1 failure(s) handling event event-2: ThrottlingException',
    );
    expect(output.stdout).toContain('2 events handled and deleted, 1 left in the queue.');
  });

  it('reports an unparsable body and leaves it, without invoking the function', async () => {
    fill(1);
    queue.add('garbage', '{"truncated":');

    const { code, output } = await run();

    expect(code).toBe(1);
    expect(queue.ids).toEqual(['garbage']);
    expect(queue.visibleIds).toEqual(['garbage']);
    expect(lambdaMock).toHaveReceivedCommandTimes(InvokeCommand, 1);
    expect(output.stderr).toContain(
      'Left event in message garbage in the queue: the body is not JSON.',
    );
  });

  it('leaves a message whose invocation failed (throttled), and carries on with the others', async () => {
    fill(3);
    behaviour = (id) =>
      id === 'm1' ? awsError('TooManyRequestsException', 'Rate exceeded') : handled();

    const { code, output } = await run();

    expect(code).toBe(1);
    expect(queue.ids).toEqual(['m1']);
    expect(output.stderr).toContain(
      'in the queue: lambda:InvokeFunction failed: TooManyRequestsException: Rate exceeded',
    );
  });

  it('stops at --max', async () => {
    fill(5);

    const { code, output } = await run({ max: 2 });

    expect(code).toBe(0);
    expect(lambdaMock).toHaveReceivedCommandTimes(InvokeCommand, 2);
    expect(queue.ids).toEqual(['m3', 'm4', 'm5']);
    expect(queue.visibleIds).toEqual(['m3', 'm4', 'm5']);
    expect(output.stdout).toContain(
      '2 events handled and deleted, 0 left in the queue; stopped at --max 2.',
    );
  });

  describe('interrupted after invoking message 3 of 5', () => {
    it('by Ctrl-C (abort signal): finishes message 3 and leaves 4 and 5 in the queue, visible', async () => {
      fill(5);
      const controller = new AbortController();
      behaviour = (id) => {
        if (id === 'm3') controller.abort();
        return handled();
      };

      const { code, output } = await run({ signal: controller.signal });

      expect(code).toBe(130);
      expect(queue.ids).toEqual(['m4', 'm5']);
      expect(queue.visibleIds).toEqual(['m4', 'm5']);
      expect(lambdaMock).toHaveReceivedCommandTimes(InvokeCommand, 3);
      expect(output.stdout).toContain(
        '3 events handled and deleted, 0 left in the queue; interrupted before the queue was empty.',
      );
    });

    it('by an exception: deletes nothing it has not handled, and every other message stays', async () => {
      fill(5);
      behaviour = (id) =>
        id === 'm3'
          ? awsError(
              'AccessDeniedException',
              'User: arn:aws:iam::123456789012:user/bob is not authorized to perform: lambda:InvokeFunction',
            )
          : handled();

      const result = run();

      await expect(result).rejects.toThrow(AwsCallError);
      expect(queue.ids).toEqual(['m3', 'm4', 'm5']);
      expect(queue.visibleIds).toEqual(['m3', 'm4', 'm5']);
      expect(queue.log.filter((e) => e.startsWith('delete:'))).toEqual(['delete:m1', 'delete:m2']);
    });

    it('by an exception while deleting it: message 3 stays too', async () => {
      fill(5);
      sqsMock
        .on(DeleteMessageCommand, { ReceiptHandle: 'm3#1' })
        .rejects(awsError('AccessDenied', 'not authorized to perform: sqs:deletemessage'));

      await expect(run()).rejects.toThrow(AwsCallError);

      expect(queue.ids).toEqual(['m3', 'm4', 'm5']);
      expect(queue.visibleIds).toEqual(['m3', 'm4', 'm5']);
    });
  });

  it('hides messages for the longest function timeout when it cannot read the function', async () => {
    fill(1);
    lambdaMock
      .on(GetFunctionConfigurationCommand)
      .rejects(
        awsError(
          'AccessDeniedException',
          'not authorized to perform: lambda:GetFunctionConfiguration',
        ),
      );

    const { code, output } = await run();

    expect(code).toBe(0);
    expect(queue.receiveVisibility).toContain(960);
    expect(output.stderr).toContain("Could not read the function's timeout");
  });

  it('says when the function does not exist', async () => {
    fill(1);
    lambdaMock
      .on(GetFunctionConfigurationCommand)
      .rejects(awsError('ResourceNotFoundException', `Function not found: ${FUNCTION_NAME}`));

    await expect(run()).rejects.toThrow(
      `No Lambda function named ${FUNCTION_NAME} in us-east-1: pass --function or --stack`,
    );
    expect(queue.visibleIds).toEqual(['m1']);
  });
});

describe('finding the queue and the function', () => {
  it('reads both from the outputs of the stack', async () => {
    fill(1);

    await run({ stack: 'MyRedeployer' });

    expect(cfnMock).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'MyRedeployer' });
    expect(sqsMock).toHaveReceivedCommandWith(ReceiveMessageCommand, { QueueUrl: QUEUE_URL });
    expect(lambdaMock).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: FUNCTION_NAME });
  });

  it('needs no stack when --queue-url and --function are given', async () => {
    fill(1);

    await run({ queueUrl: QUEUE_URL, functionName: 'other-function' });

    expect(cfnMock).not.toHaveReceivedAnyCommand();
    expect(lambdaMock).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: 'other-function' });
  });

  it('says when the stack does not exist', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(awsError('ValidationError', 'Stack with id SecretRedeployer does not exist'));

    const result = run({ list: true });

    await expect(result).rejects.toThrow(StackNotFoundError);
    await expect(result).rejects.toThrow(
      'No CloudFormation stack named SecretRedeployer in us-east-1: deploy the redeployer there',
    );
  });

  it('says when the stack lacks an output', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'SecretRedeployer',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [{ OutputKey: 'DeadLetterQueueUrl', OutputValue: QUEUE_URL }],
        },
      ],
    });

    const result = run();

    await expect(result).rejects.toThrow(CliError);
    await expect(result).rejects.toThrow(
      'Stack SecretRedeployer has no FunctionName output: update it (npx cdk deploy) or pass --function',
    );
  });
});
