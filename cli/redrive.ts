/**
 * `redrive`: sends the change events waiting in the dead-letter queue through the function again.
 * `redrive --list` only shows them.
 *
 * Nothing is ever lost: a message is deleted only after the function handled it (a synchronous
 * invocation that returned without FunctionError). Anything else (an unparsable body, a function
 * error, an interruption, an exception) leaves it in the queue; every message received but not
 * deleted is made visible again before the command ends.
 *
 * Both kinds of dead-lettered message hold the EventBridge event unchanged as their body: the
 * rules' target dead-letter queue and the function's asynchronous-invocation dead-letter queue.
 */
import { GetFunctionConfigurationCommand, InvokeCommand } from '@aws-sdk/client-lambda';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { interpret, parseEnvelope } from '../functions/redeploy/events.js';
import { type CloudFormationLike, type LambdaLike, type SqsLike, partitionOf } from './aws.js';
import {
  CliError,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  awsCall,
  describeError,
  isFatal,
  isNotFound,
} from './errors.js';
import { type Output, plural, table } from './output.js';
import { DEFAULT_STACK, OUTPUTS, stackOutputs } from './stack.js';

export interface RedriveOptions {
  /** Only list the waiting events; delete nothing. */
  readonly list: boolean;
  /** The dead-letter queue. @default the DeadLetterQueueUrl output of `stack` */
  readonly queueUrl?: string;
  /** The redeployer function. @default the FunctionName output of `stack` */
  readonly functionName?: string;
  /** @default SecretRedeployer */
  readonly stack?: string;
  /** Handle (or list) at most this many messages. @default no limit */
  readonly max?: number;
  /** `--list` only: print JSON. */
  readonly json: boolean;
  readonly region: string;
  /** Aborting stops before the next message; the one being invoked is finished first. */
  readonly signal?: AbortSignal;
}

export interface RedriveDependencies {
  readonly clients: {
    readonly sqs: SqsLike;
    readonly lambda: LambdaLike;
    readonly cloudFormation: CloudFormationLike;
  };
  readonly output: Output;
}

/** How long `--list` hides what it received before making it visible again. */
export const LIST_VISIBILITY_SECONDS = 30;
/** Lambda's maximum timeout, used when the function's own cannot be read. */
const MAX_FUNCTION_TIMEOUT_SECONDS = 900;
/** Added to the function timeout: a message stays hidden while it is being redriven. */
const VISIBILITY_MARGIN_SECONDS = 60;
const MAX_VISIBILITY_SECONDS = 43_200;

/** Runs `redrive` (or `redrive --list`). Returns the exit code. */
export async function redrive(options: RedriveOptions, deps: RedriveDependencies): Promise<number> {
  const { queueUrl, functionName } = await locate(options, deps.clients.cloudFormation);
  if (options.list) return listMessages(queueUrl, options, deps);
  return redriveMessages(queueUrl, functionName ?? '', options, deps);
}

async function locate(
  options: RedriveOptions,
  cloudFormation: CloudFormationLike,
): Promise<{ queueUrl: string; functionName?: string }> {
  let { queueUrl, functionName } = options;
  const needsFunction = !options.list && functionName === undefined;
  if (queueUrl === undefined || needsFunction) {
    const stack = options.stack ?? DEFAULT_STACK;
    const outputs = await stackOutputs(cloudFormation, stack, options.region);
    const output = (key: string, option: string): string => {
      const value = outputs[key];
      if (value === undefined) {
        throw new CliError(
          `Stack ${stack} has no ${key} output: update it (npx cdk deploy) or pass ${option}`,
        );
      }
      return value;
    };
    queueUrl ??= output(OUTPUTS.deadLetterQueueUrl, '--queue-url');
    if (needsFunction) functionName = output(OUTPUTS.functionName, '--function');
  }
  return { queueUrl, ...(functionName !== undefined && { functionName }) };
}

// ---------------------------------------------------------------------------------------------
// What a message is about
// ---------------------------------------------------------------------------------------------

/** What `--list` shows of a message: the envelope and the secret or parameter name only. */
export interface EventSummary {
  readonly messageId: string;
  readonly eventId?: string;
  readonly time?: string;
  readonly detailType?: string;
  readonly source?: string;
  /** The secret or parameter the event is about. */
  readonly name?: string;
  /** When the body is not an event the function would act on. */
  readonly note?: string;
  /** When SQS received the message (it was dead-lettered). */
  readonly deadLetteredAt?: string;
  readonly receiveCount?: number;
  /** The error the dead-letter attributes record (Lambda or EventBridge). */
  readonly error?: string;
  /** The body is not a JSON object: it cannot be sent to the function. */
  readonly unparsable: boolean;
}

function clip(value: string, max = 120): string {
  const line = value.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function envelopeField(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  return typeof value === 'string' && value !== '' ? clip(value) : undefined;
}

/** Summarises a message without reading anything from the event's detail but the name. */
export function summariseMessage(message: Message, partition: string): EventSummary {
  const attributes = message.Attributes ?? {};
  const sent = Number(attributes.SentTimestamp);
  const receives = Number(attributes.ApproximateReceiveCount);
  const attribute = (...names: string[]): string | undefined =>
    names.map((name) => message.MessageAttributes?.[name]?.StringValue).find((v) => v);
  const errorCode = attribute('ErrorCode', 'ERROR_CODE');
  const errorMessage = attribute('ErrorMessage', 'ERROR_MESSAGE');
  const base = {
    messageId: message.MessageId ?? '?',
    ...(Number.isFinite(sent) && sent > 0 && { deadLetteredAt: new Date(sent).toISOString() }),
    ...(Number.isFinite(receives) && receives > 0 && { receiveCount: receives }),
    ...((errorCode !== undefined || errorMessage !== undefined) && {
      error: clip([errorCode, errorMessage].filter((v) => v !== undefined).join(': '), 160),
    }),
  };

  let body: unknown;
  try {
    body = JSON.parse(message.Body ?? '');
  } catch {
    return { ...base, note: 'the body is not JSON', unparsable: true };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ...base, note: 'the body is not a JSON object', unparsable: true };
  }
  const record = body as Record<string, unknown>;
  const fields = {
    ...optional('eventId', envelopeField(record, 'id')),
    ...optional('time', envelopeField(record, 'time')),
    ...optional('detailType', envelopeField(record, 'detail-type')),
    ...optional('source', envelopeField(record, 'source')),
  };
  const envelope = parseEnvelope(body);
  if (typeof envelope === 'string') {
    return { ...base, ...fields, note: `not an EventBridge event: ${envelope}`, unparsable: false };
  }
  const interpretation = interpret(envelope, partition);
  if (interpretation.kind === 'ignored') {
    return { ...base, ...fields, note: 'the function ignores this event', unparsable: false };
  }
  const { change } = interpretation;
  const name =
    change.kind === 'parameter'
      ? change.parameter.name.includes('/')
        ? `/${change.parameter.name}`
        : change.parameter.name
      : (change.locator.arn?.name ?? change.locator.name ?? change.locator.reference);
  return { ...base, ...fields, ...optional('name', name), unparsable: false };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

function label(summary: EventSummary): string {
  const what = [summary.detailType, summary.name].filter((v) => v !== undefined).join(', ');
  return `event ${summary.eventId ?? `in message ${summary.messageId}`}${what === '' ? '' : ` (${what})`}`;
}

// ---------------------------------------------------------------------------------------------
// SQS helpers
// ---------------------------------------------------------------------------------------------

async function receive(
  sqs: SqsLike,
  queueUrl: string,
  count: number,
  visibilityTimeout: number,
): Promise<Message[]> {
  const { Messages = [] } = await awsCall('sqs:ReceiveMessage', () =>
    sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.max(1, Math.min(10, count)),
        VisibilityTimeout: visibilityTimeout,
        // Long polling asks every SQS server, so an empty answer means an empty queue.
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
        MessageAttributeNames: ['All'],
      }),
    ),
  );
  return Messages.filter((m) => m.MessageId !== undefined && m.ReceiptHandle !== undefined);
}

/** Makes received messages visible again at once. Best effort: they reappear anyway later. */
async function release(
  sqs: SqsLike,
  queueUrl: string,
  receiptHandles: readonly string[],
  output: Output,
): Promise<void> {
  for (let i = 0; i < receiptHandles.length; i += 10) {
    const entries = receiptHandles.slice(i, i + 10).map((handle, index) => ({
      Id: String(i + index),
      ReceiptHandle: handle,
      VisibilityTimeout: 0,
    }));
    try {
      const { Failed = [] } = await awsCall('sqs:ChangeMessageVisibilityBatch', () =>
        sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries })),
      );
      if (Failed.length > 0) {
        output.warn(
          `${plural(Failed.length, 'message')} could not be made visible again now; ` +
            'they reappear in the queue when their visibility timeout ends.',
        );
      }
    } catch (error) {
      output.warn(
        `Could not make ${plural(entries.length, 'message')} visible again now ` +
          `(${describeError(error).message}); they reappear when their visibility timeout ends.`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// --list
// ---------------------------------------------------------------------------------------------

async function listMessages(
  queueUrl: string,
  options: RedriveOptions,
  deps: RedriveDependencies,
): Promise<number> {
  const { sqs } = deps.clients;
  const { output } = deps;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const seen = new Map<string, Message>();
  const handles: string[] = [];
  try {
    while (seen.size < max && options.signal?.aborted !== true) {
      const messages = await receive(sqs, queueUrl, max - seen.size, LIST_VISIBILITY_SECONDS);
      let fresh = 0;
      for (const message of messages) {
        handles.push(message.ReceiptHandle ?? '');
        const id = message.MessageId ?? '';
        if (!seen.has(id) && seen.size < max) {
          seen.set(id, message);
          fresh += 1;
        }
      }
      if (fresh === 0) break;
    }
  } finally {
    await release(sqs, queueUrl, handles, output);
  }

  const partition = partitionOf(options.region);
  const summaries = [...seen.values()].map((message) => summariseMessage(message, partition));
  if (options.json) {
    output.line(JSON.stringify({ queueUrl, messages: summaries }, null, 2));
    return EXIT_OK;
  }
  if (summaries.length === 0) {
    output.line(`The dead-letter queue is empty (${queueUrl}).`);
    return EXIT_OK;
  }
  output.line(`${plural(summaries.length, 'event')} waiting in ${queueUrl}:`);
  output.line();
  for (const line of table(
    ['EVENT ID', 'TIME', 'DETAIL-TYPE', 'SOURCE', 'NAME', 'DEAD-LETTERED', 'ERROR'],
    summaries.map((s) => [
      s.eventId ?? `(message ${s.messageId})`,
      s.time ?? '-',
      s.detailType ?? '-',
      s.source ?? '-',
      s.name ?? (s.note === undefined ? '-' : `(${s.note})`),
      s.deadLetteredAt ?? '-',
      s.error ?? '-',
    ]),
  )) {
    output.line(line);
  }
  if (seen.size >= max) output.line(`Stopped at --max ${max}: more may be waiting.`);
  output.line(
    'Nothing was deleted. Run `ecs-redeployer redrive` to send them through the function.',
  );
  return EXIT_OK;
}

// ---------------------------------------------------------------------------------------------
// redrive
// ---------------------------------------------------------------------------------------------

/** Seconds a message stays hidden while it is being redriven: the function timeout and a margin. */
async function visibilityTimeout(
  lambda: LambdaLike,
  functionName: string,
  region: string,
  output: Output,
): Promise<number> {
  let timeout = MAX_FUNCTION_TIMEOUT_SECONDS;
  try {
    const configuration = await awsCall('lambda:GetFunctionConfiguration', () =>
      lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName })),
    );
    timeout = configuration.Timeout ?? timeout;
  } catch (error) {
    if (isNotFound(error)) {
      throw new CliError(
        `No Lambda function named ${functionName} in ${region}: pass --function or --stack`,
      );
    }
    output.warn(
      `Could not read the function's timeout (${describeError(error).message}); ` +
        `assuming the maximum, ${MAX_FUNCTION_TIMEOUT_SECONDS} s.`,
    );
  }
  return Math.min(timeout + VISIBILITY_MARGIN_SECONDS, MAX_VISIBILITY_SECONDS);
}

const decoder = new TextDecoder();

function parsePayload(payload: Uint8Array | undefined): unknown {
  if (payload === undefined || payload.length === 0) return undefined;
  try {
    return JSON.parse(decoder.decode(payload));
  } catch {
    return decoder.decode(payload);
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** The function's error, from its `{errorType, errorMessage}` payload. */
function functionErrorText(functionError: string, payload: unknown): string {
  const type = field(payload, 'errorType');
  const message = field(payload, 'errorMessage');
  if (typeof message === 'string') {
    return clip(`${typeof type === 'string' ? type : functionError}: ${message}`, 400);
  }
  return functionError;
}

/** What the function's report says it did. */
function outcomeText(payload: unknown): string {
  const outcome = field(payload, 'outcome');
  if (outcome === 'ignored') {
    const reason = field(payload, 'reason');
    return `ignored by the function${typeof reason === 'string' ? ` (${clip(reason)})` : ''}`;
  }
  if (outcome === 'handled') {
    const count = (key: string): number => {
      const list = field(payload, key);
      return Array.isArray(list) ? list.length : 0;
    };
    return (
      `handled: ${count('redeployed')} redeployed, ${count('skipped')} skipped, ` +
      `${count('needsAction')} need action, ${count('stillReferenced')} still referencing` +
      (field(payload, 'dryRun') === true ? ' (dry run)' : '')
    );
  }
  return 'handled';
}

async function redriveMessages(
  queueUrl: string,
  functionName: string,
  options: RedriveOptions,
  deps: RedriveDependencies,
): Promise<number> {
  const { sqs, lambda } = deps.clients;
  const { output } = deps;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const partition = partitionOf(options.region);
  const visibility = await visibilityTimeout(lambda, functionName, options.region, output);
  const encoder = new TextEncoder();

  /** Messages attempted in this run (never attempted twice). */
  const attempted = new Set<string>();
  /** Received and not deleted: message id to its latest receipt handle. */
  const held = new Map<string, string>();
  let handled = 0;
  let left = 0;
  let interrupted = false;
  const aborted = (): boolean => options.signal?.aborted === true;

  output.line(`Redriving ${queueUrl} through ${functionName}.`);
  try {
    receiving: while (attempted.size < max) {
      if (aborted()) {
        interrupted = true;
        break;
      }
      const messages = await receive(sqs, queueUrl, max - attempted.size, visibility);
      for (const message of messages)
        held.set(message.MessageId ?? '', message.ReceiptHandle ?? '');
      const fresh = messages.filter((message) => !attempted.has(message.MessageId ?? ''));
      if (fresh.length === 0) break; // empty, or only messages this run already left

      for (const message of fresh) {
        if (attempted.size >= max) break receiving;
        if (aborted()) {
          interrupted = true;
          break receiving;
        }
        const id = message.MessageId ?? '';
        const handle = message.ReceiptHandle ?? '';
        attempted.add(id);
        const summary = summariseMessage(message, partition);
        const what = label(summary);
        if (summary.unparsable) {
          output.warn(`Left ${what} in the queue: ${summary.note ?? 'unreadable body'}.`);
          left += 1;
          continue;
        }
        try {
          // Restart its visibility clock: it stays hidden for the whole invocation.
          await awsCall('sqs:ChangeMessageVisibility', () =>
            sqs.send(
              new ChangeMessageVisibilityCommand({
                QueueUrl: queueUrl,
                ReceiptHandle: handle,
                VisibilityTimeout: visibility,
              }),
            ),
          );
        } catch (error) {
          if (isFatal(error)) throw error;
          output.warn(`Skipped ${what}: ${describeError(error).message}. It stays in the queue.`);
          left += 1;
          continue;
        }

        let result;
        try {
          result = await awsCall('lambda:InvokeFunction', () =>
            lambda.send(
              new InvokeCommand({
                FunctionName: functionName,
                InvocationType: 'RequestResponse',
                Payload: encoder.encode(message.Body ?? ''),
              }),
            ),
          );
        } catch (error) {
          if (isFatal(error) || isNotFound(error)) throw error;
          output.warn(`Left ${what} in the queue: ${describeError(error).message}`);
          left += 1;
          continue;
        }
        const payload = parsePayload(result.Payload);
        if (result.FunctionError !== undefined || (result.StatusCode ?? 200) >= 300) {
          output.warn(
            `Left ${what} in the queue: the function failed: ` +
              functionErrorText(
                result.FunctionError ?? `status ${result.StatusCode ?? '?'}`,
                payload,
              ),
          );
          left += 1;
          continue;
        }

        try {
          await awsCall('sqs:DeleteMessage', () =>
            sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: handle })),
          );
          held.delete(id);
          handled += 1;
          output.line(`Redrove ${what}: ${outcomeText(payload)}. Deleted from the queue.`);
        } catch (error) {
          if (isFatal(error)) throw error;
          output.warn(
            `Redrove ${what}: ${outcomeText(payload)}, but could not delete it ` +
              `(${describeError(error).message}); it will be redriven again, which is harmless.`,
          );
          left += 1;
        }
      }
    }
  } finally {
    await release(sqs, queueUrl, [...held.values()], output);
  }

  const reachedMax = attempted.size >= max;
  output.line(
    `${plural(handled, 'event')} handled and deleted, ${left} left in the queue` +
      (interrupted ? '; interrupted before the queue was empty' : '') +
      (reachedMax && !interrupted ? `; stopped at --max ${max}` : '') +
      '.',
  );
  if (interrupted) return EXIT_INTERRUPTED;
  return left > 0 ? EXIT_FAILURE : EXIT_OK;
}
