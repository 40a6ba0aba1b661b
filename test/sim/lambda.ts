/**
 * AWS Lambda invocations and durable executions over restJson1 (Lambda API reference: Invoke,
 * SendDurableExecutionCallbackSuccess / Failure / Heartbeat, StopDurableExecution; developer
 * guide: "Durable functions", "Idempotency" of durable executions):
 *
 * - Invoke: `POST /2015-03-31/functions/{FunctionName}/invocations`, `X-Amz-Invocation-Type`
 *   RequestResponse (200, the result as payload), Event (202, empty) or DryRun (204);
 *   `Qualifier` in the query string; the payload must be JSON. A function must be registered
 *   (`addFunction`), else 404 ResourceNotFoundException. A registered in-process handler runs
 *   on Invoke (Event invocations run it after answering; `settled()` awaits them); an error it
 *   throws is answered as Lambda does (`X-Amz-Function-Error: Unhandled`, error JSON payload).
 * - `X-Amz-Durable-Execution-Name` starts a durable execution named so within the function;
 *   the answer carries `X-Amz-Durable-Execution-Arn`. Invoking again with the same name and the
 *   same payload is idempotent (the existing execution, no new run); with a different payload it
 *   is 409 DurableExecutionAlreadyStartedException. (The sim applies this whatever the existing
 *   execution's state, and to any registered function.)
 * - Callback and stop calls are recorded and succeed (use faults to make them fail, e.g. a
 *   CallbackTimeoutException for an unknown or finished callback).
 */
import type { SimContext, SimService } from './context.js';
import { AwsError, notImplemented } from './errors.js';
import { type Answer, RawAnswer } from './transport.js';
import { epochSeconds, isJson, type Json, optionalString } from './util.js';

/** What an in-process Lambda handler receives besides its event. */
export interface InvocationContext {
  /** The function name (unqualified). */
  readonly functionName: string;
  /** The version or alias invoked, if any. */
  readonly qualifier?: string;
  /** How it was invoked. */
  readonly invocationType: 'RequestResponse' | 'Event';
  /** The durable execution name, if one was given. */
  readonly durableExecutionName?: string;
  /** The durable execution started (or repeated). */
  readonly durableExecutionArn?: string;
  /** A request id (UUID). */
  readonly requestId: string;
}

/** An in-process function body run on Invoke. */
export type LambdaHandler = (event: unknown, context: InvocationContext) => unknown;

/** One Invoke the sim accepted. */
export interface Invocation {
  /** The function name (unqualified). */
  readonly functionName: string;
  /** The version or alias invoked, if any. */
  readonly qualifier?: string;
  readonly invocationType: 'RequestResponse' | 'Event' | 'DryRun';
  /** The raw payload. */
  readonly payload: string;
  /** The payload parsed as JSON. */
  readonly event: unknown;
  /** The durable execution name, if one was given. */
  readonly durableExecutionName?: string;
  /** The durable execution started (or repeated). */
  readonly durableExecutionArn?: string;
  /** An idempotent repeat of a durable start (no new execution, no handler run). */
  readonly repeated: boolean;
  readonly at: Date;
}

/** A durable execution started by Invoke. */
export interface DurableExecution {
  readonly arn: string;
  readonly name: string;
  /** The function name (unqualified). */
  readonly functionName: string;
  readonly payload: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'STOPPED' | 'TIMED_OUT';
  readonly startedAt: Date;
  result?: string;
}

/** A durable execution callback call. */
export interface CallbackCall {
  readonly callbackId: string;
  readonly kind: 'success' | 'failure' | 'heartbeat';
  /** The raw result (success). */
  readonly result?: string;
  /** The error object (failure). */
  readonly error?: Json;
  readonly at: Date;
}

/** A StopDurableExecution call. */
export interface StopCall {
  readonly durableExecutionArn: string;
  readonly error?: Json;
  readonly at: Date;
}

interface LambdaFunction {
  readonly name: string;
  readonly arn: string;
  handler?: LambdaHandler;
}

/** The simulated Lambda of one account and Region. */
export class LambdaSim implements SimService {
  private readonly functions = new Map<string, LambdaFunction>();
  private readonly executions = new Map<string, DurableExecution>();
  private readonly executionsByArn = new Map<string, DurableExecution>();
  private readonly pending = new Set<Promise<unknown>>();
  /** Every Invoke accepted, in order. */
  readonly invocations: Invocation[] = [];
  /** Every callback call, in order. */
  readonly callbacks: CallbackCall[] = [];
  /** Every StopDurableExecution call, in order. */
  readonly stops: StopCall[] = [];
  /** Errors thrown by handlers of Event invocations (nobody else sees them). */
  readonly asyncErrors: unknown[] = [];

  constructor(private readonly ctx: SimContext) {}

  /** Registers a function (optionally with an in-process handler); returns its ARN. */
  addFunction(name: string, handler?: LambdaHandler): string {
    const arn = `arn:${this.ctx.partition}:lambda:${this.ctx.region}:${this.ctx.account}:function:${name}`;
    const existing = this.functions.get(name);
    if (existing) {
      if (handler) existing.handler = handler;
      return existing.arn;
    }
    this.functions.set(name, { name, arn, ...(handler && { handler }) });
    return arn;
  }

  /** A durable execution by ARN. */
  execution(arn: string): DurableExecution | undefined {
    return this.executionsByArn.get(arn);
  }

  /** Every durable execution started, in order. */
  allExecutions(): DurableExecution[] {
    return [...this.executionsByArn.values()];
  }

  /** Resolves when every Event invocation's handler has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Answers one Lambda request (asynchronously when a handler runs). */
  handle(operation: string, input: Json): Answer | Promise<Answer> {
    switch (operation) {
      case 'Invoke':
        return this.invoke(input);
      case 'SendDurableExecutionCallbackSuccess':
        this.callbacks.push({
          callbackId: String(input.CallbackId),
          kind: 'success',
          ...(typeof input.Result === 'string' && { result: input.Result }),
          at: this.ctx.clock.now(),
        });
        return {};
      case 'SendDurableExecutionCallbackFailure':
        this.callbacks.push({
          callbackId: String(input.CallbackId),
          kind: 'failure',
          ...(isJson(input.Error) && { error: input.Error }),
          at: this.ctx.clock.now(),
        });
        return {};
      case 'SendDurableExecutionCallbackHeartbeat':
        this.callbacks.push({
          callbackId: String(input.CallbackId),
          kind: 'heartbeat',
          at: this.ctx.clock.now(),
        });
        return {};
      case 'StopDurableExecution': {
        const arn = String(input.DurableExecutionArn);
        this.stops.push({
          durableExecutionArn: arn,
          ...(isJson(input.Error) && { error: input.Error }),
          at: this.ctx.clock.now(),
        });
        const execution = this.executionsByArn.get(arn);
        if (execution?.status === 'RUNNING') execution.status = 'STOPPED';
        return { StopTimestamp: epochSeconds(this.ctx.clock.nowMs()) };
      }
      default:
        throw notImplemented('lambda', operation, this.ctx.account);
    }
  }

  /** `name`, `name:qualifier`, `123456789012:function:name`, or a function ARN. */
  private parseName(reference: string): { name: string; qualifier?: string } {
    const arn = /^(?:arn:[^:]+:lambda:[^:]+:)?\d{12}:function:([^:]+)(?::(.+))?$/.exec(reference);
    const [name = reference, qualifier] = arn ? [arn[1], arn[2]] : reference.split(':');
    return { name, ...(qualifier !== undefined && { qualifier }) };
  }

  private invoke(input: Json): Answer | Promise<Answer> {
    const reference = optionalString(input, 'FunctionName') ?? '';
    const parsed = this.parseName(reference);
    const qualifier = optionalString(input, 'Qualifier') ?? parsed.qualifier;
    const fn = this.functions.get(parsed.name);
    if (!fn) {
      throw new AwsError(
        'ResourceNotFoundException',
        `Function not found: ${this.addressOf(parsed.name, qualifier)}`,
        404,
      );
    }
    const invocationType = optionalString(input, 'InvocationType') ?? 'RequestResponse';
    if (
      invocationType !== 'RequestResponse' &&
      invocationType !== 'Event' &&
      invocationType !== 'DryRun'
    ) {
      throw new AwsError(
        'InvalidParameterValueException',
        `Invalid invocation type: ${invocationType}`,
      );
    }
    const payload = typeof input.Payload === 'string' ? input.Payload : '';
    let event: unknown = {};
    if (payload !== '') {
      try {
        event = JSON.parse(payload) as unknown;
      } catch {
        throw new AwsError(
          'InvalidRequestContentException',
          'Could not parse request body into json: Could not parse payload into json',
        );
      }
    }
    const version = qualifier ?? '$LATEST';
    const headers: Record<string, string> = { 'x-amz-executed-version': version };
    const status =
      invocationType === 'RequestResponse' ? 200 : invocationType === 'Event' ? 202 : 204;
    const name = optionalString(input, 'DurableExecutionName');
    const at = this.ctx.clock.now();
    const record = (extra: Partial<Invocation>): void => {
      this.invocations.push({
        functionName: fn.name,
        ...(qualifier !== undefined && { qualifier }),
        invocationType,
        payload,
        event,
        ...(name !== undefined && { durableExecutionName: name }),
        repeated: false,
        at,
        ...extra,
      });
    };
    if (invocationType === 'DryRun') {
      record({});
      return new RawAnswer(204, headers, '');
    }

    let execution: DurableExecution | undefined;
    if (name !== undefined) {
      const key = `${fn.name}|${name}`;
      const existing = this.executions.get(key);
      if (existing) {
        if (existing.payload !== payload) {
          throw new AwsError(
            'DurableExecutionAlreadyStartedException',
            `Durable execution with name ${name} already started with a different input.`,
            409,
          );
        }
        headers['x-amz-durable-execution-arn'] = existing.arn;
        record({ durableExecutionArn: existing.arn, repeated: true });
        return new RawAnswer(
          status,
          headers,
          invocationType === 'Event' ? '' : (existing.result ?? 'null'),
        );
      }
      execution = {
        arn: `${this.addressOf(fn.name, version)}/durable-execution/${name}/${this.ctx.ids.uuid('durable-execution')}`,
        name,
        functionName: fn.name,
        payload,
        status: 'RUNNING',
        startedAt: at,
      };
      this.executions.set(key, execution);
      this.executionsByArn.set(execution.arn, execution);
      headers['x-amz-durable-execution-arn'] = execution.arn;
    }
    record(execution ? { durableExecutionArn: execution.arn } : {});

    const handler = fn.handler;
    if (!handler) return new RawAnswer(status, headers, invocationType === 'Event' ? '' : 'null');
    const context: InvocationContext = {
      functionName: fn.name,
      ...(qualifier !== undefined && { qualifier }),
      invocationType,
      ...(execution && {
        durableExecutionName: execution.name,
        durableExecutionArn: execution.arn,
      }),
      requestId: this.ctx.ids.uuid('lambda-request'),
    };
    const run = async (): Promise<{ ok: true; result: string } | { ok: false; error: unknown }> => {
      try {
        const result: unknown = await handler(event, context);
        const text = JSON.stringify(result ?? null);
        if (execution) {
          execution.status = 'SUCCEEDED';
          execution.result = text;
        }
        return { ok: true, result: text };
      } catch (error) {
        if (execution) execution.status = 'FAILED';
        return { ok: false, error };
      }
    };
    if (invocationType === 'Event') {
      const promise = Promise.resolve()
        .then(run)
        .then((outcome) => {
          if (!outcome.ok) this.asyncErrors.push(outcome.error);
        });
      this.pending.add(promise);
      void promise.finally(() => this.pending.delete(promise));
      return new RawAnswer(202, headers, '');
    }
    return run().then((outcome) => {
      if (outcome.ok) return new RawAnswer(200, headers, outcome.result);
      const error = outcome.error;
      return new RawAnswer(
        200,
        { ...headers, 'x-amz-function-error': 'Unhandled' },
        JSON.stringify({
          errorType: error instanceof Error ? error.name : 'Error',
          errorMessage: error instanceof Error ? error.message : String(error),
          trace: error instanceof Error ? (error.stack ?? '').split('\n') : [],
        }),
      );
    });
  }

  private addressOf(name: string, qualifier?: string): string {
    const base = `arn:${this.ctx.partition}:lambda:${this.ctx.region}:${this.ctx.account}:function:${name}`;
    return qualifier === undefined ? base : `${base}:${qualifier}`;
  }
}
