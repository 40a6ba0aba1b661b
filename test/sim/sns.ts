/**
 * Amazon SNS Publish over the awsQuery protocol (SNS API reference: Publish; the SDK sends
 * `Action=Publish&Version=2010-03-31&TopicArn=…&Message=…&Subject=…` and
 * `MessageAttributes.entry.N.Name` / `.Value.DataType` / `.Value.StringValue`, and reads an XML
 * `<PublishResponse><PublishResult><MessageId>`). Any well-formed topic ARN of the account's
 * partition is accepted; nothing is delivered to subscribers: publications are recorded for
 * tests (`SimulatedAws.published`).
 */
import type { SimContext, SimService } from './context.js';
import { AwsError, notImplemented } from './errors.js';
import type { Answer } from './transport.js';
import type { Json } from './util.js';

/** A message published to a topic. */
export interface Publication {
  readonly messageId: string;
  readonly topicArn: string;
  readonly subject?: string;
  readonly message: string;
  readonly messageAttributes: Readonly<
    Record<string, { readonly DataType: string; readonly StringValue?: string }>
  >;
  readonly messageGroupId?: string;
  readonly messageDeduplicationId?: string;
  /** Sim time of publication. */
  readonly at: Date;
}

/** The simulated SNS of one account and Region. */
export class SnsSim implements SimService {
  private readonly publications: Publication[] = [];

  constructor(private readonly ctx: SimContext) {}

  /** Every message published so far (optionally to one topic), in order. */
  published(topicArn?: string): Publication[] {
    return this.publications
      .filter((p) => topicArn === undefined || p.topicArn === topicArn)
      .map((p) => ({ ...p }));
  }

  /** Answers one SNS request. */
  handle(operation: string, input: Json): Answer {
    if (operation === 'Publish') return this.publish(input);
    throw notImplemented('sns', operation, this.ctx.account);
  }

  /** The structured form of a Publish request's flat form parameters (what the log records). */
  static structure(params: Json): Json {
    const attributes: Record<string, Json> = {};
    const out: Json = {};
    for (const [key, value] of Object.entries(params)) {
      const match =
        /^MessageAttributes\.entry\.(\d+)\.(Name|Value\.DataType|Value\.StringValue|Value\.BinaryValue)$/.exec(
          key,
        );
      if (!match) {
        out[key] = value;
        continue;
      }
      const slot = (attributes[match[1] ?? ''] ??= {});
      slot[match[2] ?? ''] = value;
    }
    const messageAttributes: Record<string, Json> = {};
    for (const slot of Object.values(attributes)) {
      const name = slot.Name;
      if (typeof name !== 'string') continue;
      messageAttributes[name] = {
        DataType: slot['Value.DataType'],
        ...(slot['Value.StringValue'] !== undefined && { StringValue: slot['Value.StringValue'] }),
        ...(slot['Value.BinaryValue'] !== undefined && { BinaryValue: slot['Value.BinaryValue'] }),
      };
    }
    if (Object.keys(messageAttributes).length > 0) out.MessageAttributes = messageAttributes;
    return out;
  }

  private publish(input: Json): Json {
    const params = SnsSim.structure(input);
    const topicArn =
      typeof params.TopicArn === 'string'
        ? params.TopicArn
        : typeof params.TargetArn === 'string'
          ? params.TargetArn
          : undefined;
    if (topicArn === undefined) {
      throw new AwsError(
        'InvalidParameter',
        'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter',
      );
    }
    if (
      !new RegExp(`^arn:${this.ctx.partition}:sns:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_.-]{1,256}$`).test(
        topicArn,
      )
    ) {
      throw new AwsError('InvalidParameter', 'Invalid parameter: TopicArn');
    }
    const message = params.Message;
    if (typeof message !== 'string' || message === '') {
      throw new AwsError('InvalidParameter', 'Invalid parameter: Message Reason: Empty message');
    }
    const subject = typeof params.Subject === 'string' ? params.Subject : undefined;
    if (subject !== undefined && (subject.length > 100 || /[\r\n]/.test(subject))) {
      throw new AwsError('InvalidParameter', 'Invalid parameter: Subject');
    }
    const messageId = this.ctx.ids.uuid('sns-message');
    this.publications.push({
      messageId,
      topicArn,
      ...(subject !== undefined && { subject }),
      message,
      messageAttributes: (params.MessageAttributes ?? {}) as Publication['messageAttributes'],
      ...(typeof params.MessageGroupId === 'string' && { messageGroupId: params.MessageGroupId }),
      ...(typeof params.MessageDeduplicationId === 'string' && {
        messageDeduplicationId: params.MessageDeduplicationId,
      }),
      at: this.ctx.clock.now(),
    });
    return { MessageId: messageId };
  }
}
