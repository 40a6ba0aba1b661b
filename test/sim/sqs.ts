/**
 * Amazon SQS standard queues over the JSON protocol (SQS API reference: SendMessage,
 * SendMessageBatch, ReceiveMessage, DeleteMessage, DeleteMessageBatch, ChangeMessageVisibility,
 * GetQueueUrl, GetQueueAttributes; developer guide: "Visibility timeout", "Delay queues",
 * "Dead-letter queues", "Calculating the MD5 message digest for message attributes"):
 *
 * - `DelaySeconds` (per message, else the queue's) hides a message until the sim clock passes
 *   it; a received message is invisible for its visibility timeout; both run on the sim clock.
 * - Answers carry the MD5 digests the SDK checks (`MD5OfMessageBody`, `MD5OfBody`) and
 *   `MD5OfMessageAttributes` computed as SQS documents it.
 * - A redrive policy moves a message to its dead-letter queue when it would be received more
 *   than `maxReceiveCount` times.
 * - Long polling does not wait: ReceiveMessage answers at once with what is visible.
 * - Queue URLs are `https://sqs.<region>.amazonaws.com/<account>/<name>`, or under the HTTP
 *   endpoint once the sim listens (the SDK sends requests to a QueueUrl's host); any URL whose
 *   path ends in `/<account>/<name>` finds the queue.
 */
import { createHash } from 'node:crypto';
import type { SimContext, SimService } from './context.js';
import { AwsError, notImplemented } from './errors.js';
import type { Answer } from './transport.js';
import {
  epochSeconds,
  isJson,
  type Json,
  optionalNumber,
  optionalString,
  optionalStrings,
} from './util.js';

/** Options of a queue to create. */
export interface QueueOptions {
  /** Seconds. @default 30 */
  readonly visibilityTimeout?: number;
  /** Seconds. @default 0 */
  readonly delaySeconds?: number;
  /** Messages received more than `maxReceiveCount` times move to `deadLetterQueue` (a name). */
  readonly redrive?: { readonly deadLetterQueue: string; readonly maxReceiveCount: number };
}

/** A message attribute as SQS carries it. */
export interface MessageAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  /** Base64. */
  readonly BinaryValue?: string;
}

/** A message in a queue, as `SimulatedAws.messages` shows it. */
export interface QueueMessage {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, MessageAttribute>>;
  readonly sentAt: Date;
  /** When it is (or was) visible again. */
  readonly visibleAt: Date;
  /** Visible now (not delayed, not in flight). */
  readonly visible: boolean;
  readonly receiveCount: number;
}

interface Message {
  readonly id: string;
  readonly body: string;
  readonly bodyMd5: string;
  readonly attributes: Record<string, MessageAttribute>;
  readonly attributesMd5?: string;
  readonly sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  receiptHandle?: string;
  /** Received at least once and not yet visible again. */
  inFlight: boolean;
}

interface Queue {
  readonly name: string;
  readonly arn: string;
  readonly createdAt: number;
  readonly visibilityTimeout: number;
  readonly delaySeconds: number;
  readonly redrive?: { readonly deadLetterQueue: string; readonly maxReceiveCount: number };
  /** Messages in send order. */
  messages: Message[];
}

const md5 = (data: Uint8Array | string): string => createHash('md5').update(data).digest('hex');

/** MD5 of message attributes as SQS computes it (sorted by name, length-prefixed fields). */
function attributesMd5(attributes: Readonly<Record<string, MessageAttribute>>): string {
  const parts: Buffer[] = [];
  const field = (bytes: Buffer): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const attribute = attributes[name];
    if (!attribute) continue;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(attribute.DataType, 'utf8'));
    if (attribute.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      field(Buffer.from(attribute.BinaryValue, 'base64'));
    } else {
      parts.push(Buffer.from([1]));
      field(Buffer.from(attribute.StringValue ?? '', 'utf8'));
    }
  }
  return md5(Buffer.concat(parts));
}

/** The simulated SQS of one account and Region. */
export class SqsSim implements SimService {
  private readonly queues = new Map<string, Queue>();
  private readonly byReceipt = new Map<string, { queue: Queue; message: Message }>();
  /** The origin queue URLs use (set to the HTTP endpoint when the sim listens). */
  urlBase: string;

  constructor(private readonly ctx: SimContext) {
    this.urlBase = `https://sqs.${ctx.region}.amazonaws.com`;
  }

  /** Creates a queue; returns its URL. */
  createQueue(name: string, options: QueueOptions = {}): string {
    if (!this.queues.has(name)) {
      this.queues.set(name, {
        name,
        arn: `arn:${this.ctx.partition}:sqs:${this.ctx.region}:${this.ctx.account}:${name}`,
        createdAt: this.ctx.clock.nowMs(),
        visibilityTimeout: options.visibilityTimeout ?? 30,
        delaySeconds: options.delaySeconds ?? 0,
        ...(options.redrive && { redrive: options.redrive }),
        messages: [],
      });
    }
    return this.queueUrl(name);
  }

  /** A queue's URL. */
  queueUrl(name: string): string {
    return `${this.urlBase}/${this.ctx.account}/${name}`;
  }

  /** A queue's messages (not deleted), in send order. */
  messages(name: string): QueueMessage[] {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`sim: no queue ${name}`);
    const now = this.ctx.clock.nowMs();
    return queue.messages.map((m) => ({
      messageId: m.id,
      body: m.body,
      attributes: structuredClone(m.attributes),
      sentAt: new Date(m.sentAt),
      visibleAt: new Date(m.visibleAt),
      visible: m.visibleAt <= now,
      receiveCount: m.receiveCount,
    }));
  }

  /** Answers one SQS request. */
  handle(operation: string, input: Json): Answer {
    switch (operation) {
      case 'SendMessage':
        return this.sendMessage(input);
      case 'SendMessageBatch':
        return this.sendMessageBatch(input);
      case 'ReceiveMessage':
        return this.receiveMessage(input);
      case 'DeleteMessage':
        return this.deleteMessage(input);
      case 'DeleteMessageBatch':
        return this.deleteMessageBatch(input);
      case 'ChangeMessageVisibility':
        return this.changeMessageVisibility(input);
      case 'GetQueueUrl': {
        const name = optionalString(input, 'QueueName') ?? '';
        if (!this.queues.has(name)) throw queueDoesNotExist();
        return { QueueUrl: this.queueUrl(name) };
      }
      case 'GetQueueAttributes':
        return this.getQueueAttributes(input);
      default:
        throw notImplemented('sqs', operation, this.ctx.account);
    }
  }

  private requestQueue(input: Json): Queue {
    const url = optionalString(input, 'QueueUrl');
    if (url === undefined)
      throw new AwsError('MissingParameter', 'The request must contain the parameter QueueUrl.');
    const match = /\/(\d{12})\/([^/?]+)\/?(?:\?.*)?$/.exec(url);
    const queue = match?.[1] === this.ctx.account ? this.queues.get(match[2] ?? '') : undefined;
    if (!queue) throw queueDoesNotExist();
    return queue;
  }

  private send(queue: Queue, entry: Json): Json {
    const body = optionalString(entry, 'MessageBody');
    if (body === undefined || body === '') {
      throw new AwsError('MissingParameter', 'The request must contain the parameter MessageBody.');
    }
    if (Buffer.byteLength(body) > 1024 * 1024) {
      throw new AwsError(
        'InvalidParameterValue',
        'One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.',
      );
    }
    const delay = optionalNumber(entry, 'DelaySeconds') ?? queue.delaySeconds;
    if (!Number.isInteger(delay) || delay < 0 || delay > 900) {
      throw new AwsError(
        'InvalidParameterValue',
        `Value ${String(delay)} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.`,
      );
    }
    const attributes = isJson(entry.MessageAttributes)
      ? (structuredClone(entry.MessageAttributes) as Record<string, MessageAttribute>)
      : {};
    const now = this.ctx.clock.nowMs();
    const hasAttributes = Object.keys(attributes).length > 0;
    const message: Message = {
      id: this.ctx.ids.uuid('sqs-message'),
      body,
      bodyMd5: md5(body),
      attributes,
      ...(hasAttributes && { attributesMd5: attributesMd5(attributes) }),
      sentAt: now,
      visibleAt: now + delay * 1000,
      receiveCount: 0,
      inFlight: false,
    };
    queue.messages.push(message);
    return {
      MessageId: message.id,
      MD5OfMessageBody: message.bodyMd5,
      ...(message.attributesMd5 !== undefined && { MD5OfMessageAttributes: message.attributesMd5 }),
    };
  }

  private sendMessage(input: Json): Json {
    return this.send(this.requestQueue(input), input);
  }

  private batchEntries(input: Json): Json[] {
    const entries = Array.isArray(input.Entries) ? input.Entries.filter(isJson) : [];
    if (entries.length === 0)
      throw new AwsError(
        'EmptyBatchRequest',
        'There should be at least one SendMessageBatchRequestEntry in the request.',
      );
    if (entries.length > 10)
      throw new AwsError(
        'TooManyEntriesInBatchRequest',
        'Maximum number of entries per request are 10.',
      );
    const ids = entries.map((e) => optionalString(e, 'Id') ?? '');
    if (new Set(ids).size !== ids.length)
      throw new AwsError('BatchEntryIdsNotDistinct', 'Id must be distinct.');
    return entries;
  }

  private sendMessageBatch(input: Json): Json {
    const queue = this.requestQueue(input);
    const successful: Json[] = [];
    const failed: Json[] = [];
    for (const entry of this.batchEntries(input)) {
      const id = optionalString(entry, 'Id') ?? '';
      try {
        successful.push({ Id: id, ...this.send(queue, entry) });
      } catch (error) {
        if (!(error instanceof AwsError)) throw error;
        failed.push({ Id: id, SenderFault: true, Code: error.code, Message: error.message });
      }
    }
    return { Successful: successful, Failed: failed };
  }

  private receiveMessage(input: Json): Json {
    const queue = this.requestQueue(input);
    const max = optionalNumber(input, 'MaxNumberOfMessages') ?? 1;
    if (!Number.isInteger(max) || max < 1 || max > 10) {
      throw new AwsError(
        'InvalidParameterValue',
        `Value ${String(max)} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`,
      );
    }
    const visibility = optionalNumber(input, 'VisibilityTimeout') ?? queue.visibilityTimeout;
    const systemNames = [
      ...(optionalStrings(input, 'AttributeNames') ?? []),
      ...(optionalStrings(input, 'MessageSystemAttributeNames') ?? []),
    ];
    const attributeNames = optionalStrings(input, 'MessageAttributeNames') ?? [];
    const now = this.ctx.clock.nowMs();
    const received: Json[] = [];
    for (const message of [...queue.messages]) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      if (queue.redrive && message.receiveCount >= queue.redrive.maxReceiveCount) {
        const dlq = this.queues.get(queue.redrive.deadLetterQueue);
        if (dlq) {
          queue.messages = queue.messages.filter((m) => m !== message);
          message.visibleAt = now;
          message.inFlight = false;
          dlq.messages.push(message);
          continue;
        }
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + visibility * 1000;
      message.inFlight = true;
      const handle = Buffer.from(
        `${queue.name}|${message.id}|${this.ctx.ids.hex(24, 'receipt')}`,
      ).toString('base64');
      message.receiptHandle = handle;
      this.byReceipt.set(handle, { queue, message });
      const wantsAll = (names: readonly string[]): boolean =>
        names.includes('All') || names.includes('.*');
      const system: Record<string, string> = {
        SenderId: 'AIDASIMULATEDSENDER',
        SentTimestamp: String(message.sentAt),
        ApproximateReceiveCount: String(message.receiveCount),
        ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
      };
      const selectedSystem = Object.fromEntries(
        Object.entries(system).filter(([k]) => wantsAll(systemNames) || systemNames.includes(k)),
      );
      const selectedAttributes = Object.fromEntries(
        Object.entries(message.attributes).filter(
          ([k]) => wantsAll(attributeNames) || attributeNames.includes(k),
        ),
      );
      const hasSelected = Object.keys(selectedAttributes).length > 0;
      received.push({
        MessageId: message.id,
        ReceiptHandle: handle,
        MD5OfBody: message.bodyMd5,
        Body: message.body,
        ...(Object.keys(selectedSystem).length > 0 && { Attributes: selectedSystem }),
        ...(hasSelected && {
          MessageAttributes: selectedAttributes,
          MD5OfMessageAttributes: attributesMd5(selectedAttributes),
        }),
      });
    }
    return received.length > 0 ? { Messages: received } : {};
  }

  private deleteOne(queue: Queue, handle: string | undefined): void {
    const found = handle === undefined ? undefined : this.byReceipt.get(handle);
    if (!found || found.queue !== queue) {
      throw new AwsError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${handle ?? ''}" is not a valid receipt handle.`,
      );
    }
    queue.messages = queue.messages.filter((m) => m !== found.message);
  }

  private deleteMessage(input: Json): Json {
    this.deleteOne(this.requestQueue(input), optionalString(input, 'ReceiptHandle'));
    return {};
  }

  private deleteMessageBatch(input: Json): Json {
    const queue = this.requestQueue(input);
    const successful: Json[] = [];
    const failed: Json[] = [];
    for (const entry of this.batchEntries(input)) {
      const id = optionalString(entry, 'Id') ?? '';
      try {
        this.deleteOne(queue, optionalString(entry, 'ReceiptHandle'));
        successful.push({ Id: id });
      } catch (error) {
        if (!(error instanceof AwsError)) throw error;
        failed.push({ Id: id, SenderFault: true, Code: error.code, Message: error.message });
      }
    }
    return { Successful: successful, Failed: failed };
  }

  private changeMessageVisibility(input: Json): Json {
    const queue = this.requestQueue(input);
    const handle = optionalString(input, 'ReceiptHandle');
    const timeout = optionalNumber(input, 'VisibilityTimeout');
    if (timeout === undefined || !Number.isInteger(timeout) || timeout < 0 || timeout > 43_200) {
      throw new AwsError(
        'InvalidParameterValue',
        'Value for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.',
      );
    }
    const found = handle === undefined ? undefined : this.byReceipt.get(handle);
    if (!found || found.queue !== queue || !queue.messages.includes(found.message)) {
      throw new AwsError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${handle ?? ''}" is not a valid receipt handle.`,
      );
    }
    const now = this.ctx.clock.nowMs();
    if (found.message.visibleAt <= now || found.message.receiptHandle !== handle) {
      throw new AwsError(
        'MessageNotInflight',
        'Message does not exist or is not available for visibility timeout change.',
      );
    }
    found.message.visibleAt = now + timeout * 1000;
    return {};
  }

  private getQueueAttributes(input: Json): Json {
    const queue = this.requestQueue(input);
    const names = optionalStrings(input, 'AttributeNames') ?? [];
    const now = this.ctx.clock.nowMs();
    const visible = queue.messages.filter((m) => m.visibleAt <= now).length;
    const inFlight = queue.messages.filter((m) => m.visibleAt > now && m.inFlight).length;
    const delayed = queue.messages.filter((m) => m.visibleAt > now && !m.inFlight).length;
    const all: Record<string, string> = {
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(visible),
      ApproximateNumberOfMessagesNotVisible: String(inFlight),
      ApproximateNumberOfMessagesDelayed: String(delayed),
      VisibilityTimeout: String(queue.visibilityTimeout),
      DelaySeconds: String(queue.delaySeconds),
      CreatedTimestamp: String(Math.floor(epochSeconds(queue.createdAt))),
      LastModifiedTimestamp: String(Math.floor(epochSeconds(queue.createdAt))),
      MaximumMessageSize: '1048576',
      MessageRetentionPeriod: '345600',
      ReceiveMessageWaitTimeSeconds: '0',
      ...(queue.redrive && {
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: this.queues.get(queue.redrive.deadLetterQueue)?.arn,
          maxReceiveCount: queue.redrive.maxReceiveCount,
        }),
      }),
    };
    const selected = names.includes('All')
      ? all
      : Object.fromEntries(Object.entries(all).filter(([k]) => names.includes(k)));
    return Object.keys(selected).length > 0 ? { Attributes: selected } : {};
  }
}

function queueDoesNotExist(): AwsError {
  return new AwsError('QueueDoesNotExist', 'The specified queue does not exist.');
}
