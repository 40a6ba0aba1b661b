/**
 * Shared test support for the guarantee tests: the Lambda entry point loaded fresh (a new
 * execution environment), a Lambda context, and a capture of everything written to stdout,
 * stderr and the console.
 */
import type { Context, SQSEvent } from 'aws-lambda';
import { vi } from 'vitest';
import type { Scope } from '../../functions/redeploy/arn.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const HOME: Scope = { partition: 'aws', region: REGION, account: ACCOUNT };
export const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ecs-secret-redeployer`;

export type Json = Record<string, unknown>;

type HandlerModule = typeof import('../../functions/redeploy/handler.js');
type ErrorsModule = typeof import('../../functions/redeploy/errors.js');

export interface LoadedHandler {
  readonly handler: HandlerModule['handler'];
  /** The error classes of the same module instance (for `instanceof`). */
  readonly errors: ErrorsModule;
}

/**
 * Imports the handler with `env` set, in a fresh module registry: a new execution environment
 * (cold start, empty caches, new SDK clients). aws-sdk-client-mock patches the client classes, so
 * the module-scope clients are mocked wherever a test file called `mockClient`.
 */
export async function loadHandler(
  env: Readonly<Record<string, string>> = {},
): Promise<LoadedHandler> {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const { handler } = await import('../../functions/redeploy/handler.js');
  const errors = await import('../../functions/redeploy/errors.js');
  return { handler, errors };
}

/** The context Lambda passes: the function's ARN gives its partition, Region and account. */
export function lambdaContext(functionArn = FUNCTION_ARN): Context {
  const context: Omit<Context, 'done' | 'fail' | 'succeed'> = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'ecs-secret-redeployer',
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: '/aws/lambda/ecs-secret-redeployer',
    logStreamName: '2025/03/14/[$LATEST]abcdef0123456789',
    getRemainingTimeInMillis: () => 300_000,
  };
  // The deprecated callbacks (done, fail, succeed) are left out: the handler returns a promise.
  return context as Context;
}

/** An SQS batch as the change queue's event source mapping delivers it. */
export function sqsBatch(bodies: readonly string[]): SQSEvent {
  return {
    Records: bodies.map((body, index) => ({
      messageId: `message-${index + 1}`,
      receiptHandle: `handle-${index + 1}`,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '1710410400000',
        SenderId: 'AIDAEXAMPLE',
        ApproximateFirstReceiveTimestamp: '1710410430000',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:SecretRedeployer-ChangeQueue`,
      awsRegion: REGION,
    })),
  };
}

export interface CapturedOutput {
  /** Every chunk written (stdout, stderr, console), in order. */
  readonly chunks: string[];
  /** Every line written. */
  lines(): string[];
  /** The log entries (JSON lines with a `message`), metrics lines left out. */
  entries(): Json[];
  /** Forgets what was captured so far. */
  clear(): void;
}

/** Text of whatever was written or logged. */
function describeChunk(chunk: unknown): string {
  if (typeof chunk === 'string') return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk).toString('utf8');
  if (chunk instanceof Error) return `${chunk.name}: ${chunk.message}`;
  const json: unknown = JSON.stringify(chunk);
  return typeof json === 'string' ? json : String(chunk);
}

/** Captures everything written to stdout, stderr or the console until `vi.restoreAllMocks()`. */
export function captureOutput(): CapturedOutput {
  const chunks: string[] = [];
  const record = (chunk: unknown): void => {
    chunks.push(describeChunk(chunk));
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
  const lines = (): string[] =>
    chunks
      .join('\n')
      .split('\n')
      .filter((line) => line !== '');
  return {
    chunks,
    lines,
    entries: () =>
      lines().flatMap((line) => {
        try {
          const parsed = JSON.parse(line) as Json | null;
          return typeof parsed === 'object' && parsed !== null && typeof parsed.message === 'string'
            ? [parsed]
            : [];
        } catch {
          return [];
        }
      }),
    clear: () => {
      chunks.length = 0;
    },
  };
}

/** The log entries that say what became of an event: `event ignored` or `change handled`. */
export function outcomeEntries(entries: readonly Json[]): Json[] {
  return entries.filter((e) => e.message === 'event ignored' || e.message === 'change handled');
}

/** A deep copy of a JSON value. */
export function copy<T>(value: T): T {
  return structuredClone(value);
}
