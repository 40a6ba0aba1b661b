/**
 * Running the Lambda entry point in tests: a fresh module per load (it reads its configuration
 * and builds its clients at module scope), a Lambda context, SQS batches, and the JSON lines it
 * writes (logs and EMF metrics).
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { vi } from 'vitest';
import { ACCOUNT, REGION } from './ecs.js';

/**
 * Imports the handler with `env` set, as a cold start does: each call is a new execution
 * environment (its own configuration, caches and warm state). The AWS SDK clients it builds are
 * still the ones `mockClient(...)` patched.
 */
export async function loadHandler(env: Record<string, string> = {}) {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const { handler } = await import('../../functions/redeploy/handler.js');
  const errors = await import('../../functions/redeploy/errors.js');
  return { handler, errors };
}

/** Everything written to stdout, stderr or the console while a test runs. */
export function captureOutput(): () => string {
  const chunks: string[] = [];
  const record = (chunk: unknown): void => {
    chunks.push(
      typeof chunk === 'string'
        ? chunk
        : chunk instanceof Uint8Array
          ? Buffer.from(chunk).toString('utf8')
          : JSON.stringify(chunk),
    );
  };
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      record(chunk);
      return true;
    });
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      args.forEach(record);
    });
  }
  return () => chunks.join('\n');
}

export type JsonLine = Record<string, unknown>;

const isJsonLine = (value: unknown): value is JsonLine =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The JSON objects among the output lines (other lines are skipped). */
export function jsonLines(output: string): JsonLine[] {
  return output.split('\n').flatMap((line): JsonLine[] => {
    if (!line.trim().startsWith('{')) return [];
    try {
      const parsed: unknown = JSON.parse(line);
      return isJsonLine(parsed) ? [parsed] : [];
    } catch {
      return [];
    }
  });
}

/** Log entries: JSON lines with a level and a message. */
export function logEntries(output: string): JsonLine[] {
  return jsonLines(output).filter((line) => 'level' in line && 'message' in line);
}

export interface EmfDocument extends JsonLine {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit?: string }[];
    }[];
  };
}

/** Embedded-metric-format documents among the output lines. */
export function emfDocuments(output: string): EmfDocument[] {
  return jsonLines(output).filter((line): line is EmfDocument => '_aws' in line);
}

export const FUNCTION_NAME = 'ecs-secret-redeployer';
export const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${FUNCTION_NAME}`;

export function lambdaContext(functionArn: string = FUNCTION_ARN): Context {
  const context: Omit<Context, 'done' | 'fail' | 'succeed'> = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: functionArn.split(':').pop() ?? FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${FUNCTION_NAME}`,
    logStreamName: '2025/03/14/[$LATEST]abcdef0123456789',
    getRemainingTimeInMillis: () => 60_000,
  };
  // The deprecated callbacks (done, fail, succeed) are left out: the handler returns a promise.
  return context as Context;
}

export const CHANGE_QUEUE_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/change-queue`;
const CHANGE_QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:change-queue`;

let messages = 0;

/**
 * An SQS batch as the event source mapping delivers it: each body is one EventBridge event
 * (a string body is sent as it is). Message ids are `msg-1`, `msg-2`, … unless given.
 */
export function sqsEvent(
  bodies: readonly unknown[],
  messageIds: readonly string[] = bodies.map(() => `msg-${String((messages += 1))}`),
): SQSEvent {
  const now = String(Date.now());
  return {
    Records: bodies.map((body, i): SQSRecord => ({
      messageId: messageIds[i] ?? `msg-${String(i)}`,
      receiptHandle: `receipt-${String(i)}`,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: now,
        SenderId: 'AIDAIENQZJOLO23YVJ4VO',
        ApproximateFirstReceiveTimestamp: now,
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: CHANGE_QUEUE_ARN,
      awsRegion: REGION,
    })),
  };
}
