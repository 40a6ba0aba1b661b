/**
 * An in-memory SQS queue behind an `aws-sdk-client-mock` stub of SQSClient, with the semantics
 * redrive relies on: received messages are hidden until deleted or made visible again; a receipt
 * handle is only valid for the latest receive. Every call is appended to a shared log, so tests
 * can check the order of invocations and deletions.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  type ChangeMessageVisibilityBatchCommandInput,
  ChangeMessageVisibilityCommand,
  type ChangeMessageVisibilityCommandInput,
  DeleteMessageCommand,
  type DeleteMessageCommandInput,
  type Message,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { awsError } from '../helpers/aws-errors.js';

export const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/SecretRedeployer-DLQ';

interface Stored {
  readonly id: string;
  readonly body: string;
  readonly attributes: Record<string, string>;
  readonly messageAttributes: Message['MessageAttributes'];
  hidden: boolean;
  receives: number;
  handle?: string;
}

export class FakeQueue {
  private readonly stored: Stored[] = [];
  /** `receive`, `visibility:ID:SECONDS`, `delete:ID`, and whatever tests add (`invoke:ID`). */
  readonly log: string[] = [];
  /** VisibilityTimeout of every ReceiveMessage. */
  readonly receiveVisibility: number[] = [];

  add(
    id: string,
    body: string,
    messageAttributes: Message['MessageAttributes'] = {},
    sentAt = new Date('2026-03-01T10:00:00Z'),
  ): void {
    this.stored.push({
      id,
      body,
      attributes: { SentTimestamp: String(sentAt.getTime()), ApproximateReceiveCount: '0' },
      messageAttributes,
      hidden: false,
      receives: 0,
    });
  }

  /** Ids of the messages still in the queue, visible or not. */
  get ids(): string[] {
    return this.stored.map((m) => m.id);
  }

  /** Ids of the messages a consumer could receive now. */
  get visibleIds(): string[] {
    return this.stored.filter((m) => !m.hidden).map((m) => m.id);
  }

  /** The message id a body belongs to. */
  idOfBody(body: string): string {
    return this.stored.find((m) => m.body === body)?.id ?? '?';
  }

  private byHandle(handle: string | undefined): Stored {
    const found = this.stored.find((m) => m.handle !== undefined && m.handle === handle);
    if (!found) throw awsError('ReceiptHandleIsInvalid', 'The input receipt handle is invalid.');
    return found;
  }

  serve(sqsMock: AwsClientStub<SQSClient>): void {
    sqsMock.on(ReceiveMessageCommand).callsFake((input: ReceiveMessageCommandInput) => {
      this.log.push('receive');
      this.receiveVisibility.push(input.VisibilityTimeout ?? -1);
      const max = input.MaxNumberOfMessages ?? 1;
      const picked = this.stored.filter((m) => !m.hidden).slice(0, max);
      return {
        Messages: picked.map((m): Message => {
          m.receives += 1;
          m.handle = `${m.id}#${m.receives}`;
          m.hidden = (input.VisibilityTimeout ?? 30) > 0;
          return {
            MessageId: m.id,
            ReceiptHandle: m.handle,
            Body: m.body,
            Attributes: { ...m.attributes, ApproximateReceiveCount: String(m.receives) },
            MessageAttributes: m.messageAttributes,
          };
        }),
      };
    });
    sqsMock
      .on(ChangeMessageVisibilityCommand)
      .callsFake((input: ChangeMessageVisibilityCommandInput) => {
        const message = this.byHandle(input.ReceiptHandle);
        this.log.push(`visibility:${message.id}:${input.VisibilityTimeout ?? '?'}`);
        message.hidden = (input.VisibilityTimeout ?? 0) > 0;
        return {};
      });
    sqsMock
      .on(ChangeMessageVisibilityBatchCommand)
      .callsFake((input: ChangeMessageVisibilityBatchCommandInput) => {
        const Successful: { Id: string }[] = [];
        const Failed: { Id: string; Code: string; SenderFault: boolean }[] = [];
        for (const entry of input.Entries ?? []) {
          try {
            const message = this.byHandle(entry.ReceiptHandle);
            this.log.push(`visibility:${message.id}:${entry.VisibilityTimeout ?? '?'}`);
            message.hidden = (entry.VisibilityTimeout ?? 0) > 0;
            Successful.push({ Id: entry.Id ?? '' });
          } catch {
            Failed.push({ Id: entry.Id ?? '', Code: 'ReceiptHandleIsInvalid', SenderFault: true });
          }
        }
        return { Successful, Failed };
      });
    sqsMock.on(DeleteMessageCommand).callsFake((input: DeleteMessageCommandInput) => {
      const message = this.byHandle(input.ReceiptHandle);
      this.log.push(`delete:${message.id}`);
      this.stored.splice(this.stored.indexOf(message), 1);
      return {};
    });
  }
}
