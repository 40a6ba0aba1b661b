/**
 * Faults injected per request, as a client in Lambda meets them (SDK retry behaviour:
 * @smithy/core retry `isTransientError`/`isThrottlingError`; Node.js network errors as
 * @smithy/node-http-handler surfaces them):
 * - an AWS error response (throttling, 5xx, access denied, any code);
 * - `reset`: the connection drops before any response; the SDK sees Node's `read ECONNRESET`,
 *   which its HTTP handler renames `TimeoutError` (a transient, retried error);
 * - `hang`: no answer at all, until the caller's abort signal fires (an `AbortError`, as the SDK
 *   raises it), `releaseHung()` is called (the socket is dropped: `socket hang up`, ECONNRESET)
 *   or the HTTP server closes;
 * - `lost`: the request IS applied to the account, then its answer is lost (a 500
 *   InternalFailure, a reset or a hang): the case where a retry repeats a write that happened.
 */
import type { Json } from './util.js';

/** The reply a fault gives instead of (or after) the account's answer. */
export type FaultReply =
  /** An AWS error response. */
  | {
      readonly kind: 'error';
      /** `ThrottlingException`, `InternalFailure`, `ServiceUnavailableException`, … */
      readonly code: string;
      /** @default 400 */
      readonly status?: number;
      /** @default the code */
      readonly message?: string;
    }
  /** The connection is reset before any response (ECONNRESET). */
  | { readonly kind: 'reset' }
  /** No response until the caller aborts or `releaseHung()`. */
  | { readonly kind: 'hang' }
  /** The request is applied, then its answer is lost as `then` says. */
  | {
      readonly kind: 'lost';
      /** @default 'error' (500 InternalFailure) */
      readonly then?: 'error' | 'reset' | 'hang';
    };

/** Which requests a fault applies to, and what they get. */
export interface FaultRule {
  /** `ecs.UpdateService`, `ecs.*` (every ECS operation) or `*` (every request). */
  readonly operation: string;
  /** Only requests whose decoded input this accepts. */
  readonly where?: (input: Json) => boolean;
  /** How many matching requests get the fault; `Infinity` for all. @default 1 */
  readonly times?: number;
  /** What they get. */
  readonly reply: FaultReply;
}

/** A fault in force, as `SimulatedAws.fault` returns it. */
export interface FaultHandle {
  /** Requests that got the fault so far. */
  readonly hits: number;
  /** Matching requests that will still get it. */
  readonly remaining: number;
  /** Withdraws the fault. */
  cancel(): void;
}

/** `ThrottlingException` (400), as ECS answers an empty throttling bucket. */
export const THROTTLED: FaultReply = {
  kind: 'error',
  code: 'ThrottlingException',
  status: 400,
  message: 'Rate exceeded',
};
/** `InternalFailure` (500). */
export const INTERNAL_ERROR: FaultReply = {
  kind: 'error',
  code: 'InternalFailure',
  status: 500,
  message: 'We encountered an internal error. Please try again.',
};
/** `ServiceUnavailableException` (503). */
export const UNAVAILABLE: FaultReply = {
  kind: 'error',
  code: 'ServiceUnavailableException',
  status: 503,
  message: 'Service Unavailable',
};
/** `AccessDeniedException` (400). */
export const ACCESS_DENIED: FaultReply = {
  kind: 'error',
  code: 'AccessDeniedException',
  status: 400,
  message: 'User is not authorized to perform this operation',
};
/** The connection is reset before any response. */
export const RESET: FaultReply = { kind: 'reset' };
/** No response until the caller aborts or `releaseHung()`. */
export const HANG: FaultReply = { kind: 'hang' };
/** Applied, then answered 500 InternalFailure. */
export const LOST: FaultReply = { kind: 'lost' };

interface ActiveRule {
  readonly rule: FaultRule;
  left: number;
  hits: number;
}

/** The fault rules in force, first added first matched. */
export class Faults {
  private rules: ActiveRule[] = [];

  /** Adds a rule (after the existing ones). */
  add(rule: FaultRule): FaultHandle {
    const times = rule.times ?? 1;
    if (!(times > 0)) throw new RangeError('fault: times must be positive');
    const active: ActiveRule = { rule, left: times, hits: 0 };
    this.rules.push(active);
    return {
      get hits() {
        return active.hits;
      },
      get remaining() {
        return active.left;
      },
      cancel: () => {
        this.rules = this.rules.filter((r) => r !== active);
      },
    };
  }

  /** The reply for this request, consuming one use of the first matching rule. */
  take(operation: string, input: Json): FaultReply | undefined {
    for (const active of this.rules) {
      if (active.left <= 0 || !operationMatches(active.rule.operation, operation)) continue;
      if (active.rule.where && !active.rule.where(input)) continue;
      active.left -= 1;
      active.hits += 1;
      if (active.left <= 0) this.rules = this.rules.filter((r) => r !== active);
      return active.rule.reply;
    }
    return undefined;
  }

  /** Withdraws every rule. */
  clear(): void {
    this.rules = [];
  }
}

function operationMatches(pattern: string, operation: string): boolean {
  if (pattern === '*' || pattern === operation) return true;
  return pattern.endsWith('.*') && operation.startsWith(pattern.slice(0, -1));
}

/** A network error as Node.js raises it and @smithy/node-http-handler passes it on. */
export function connectionReset(message = 'read ECONNRESET'): Error {
  return Object.assign(new Error(message), {
    name: 'TimeoutError',
    code: 'ECONNRESET',
    errno: -104,
    syscall: 'read',
  });
}

/** The error @smithy/node-http-handler raises when the caller's abort signal fires. */
export function abortError(reason?: unknown): Error {
  const error = new Error(typeof reason === 'string' ? reason : 'Request aborted');
  error.name = 'AbortError';
  if (reason instanceof Error) error.cause = reason;
  return error;
}

/** The minimal abort signal shape the SDK hands its request handler. */
export interface AbortSignalLike {
  /** Whether the caller gave up already. */
  readonly aborted: boolean;
  /** Why it gave up. */
  readonly reason?: unknown;
  /** Standard `AbortSignal` listener registration. */
  addEventListener?: (type: 'abort', listener: () => void, options?: { once?: boolean }) => void;
  /** Standard `AbortSignal` listener removal. */
  removeEventListener?: (type: 'abort', listener: () => void) => void;
  /** Older SDK signals (no `addEventListener`) call this on abort. */
  onabort?: unknown;
}

/** Requests left without an answer by a `hang` fault. */
export class HungRequests {
  private readonly waiting = new Set<(error: Error) => void>();

  /** How many requests are hanging now. */
  get size(): number {
    return this.waiting.size;
  }

  /** A promise that never resolves; it rejects on abort or `release`. */
  hang(signal: AbortSignalLike | undefined): Promise<never> {
    return new Promise<never>((_resolve, reject) => {
      let onAbort: (() => void) | undefined;
      const fail = (error: Error): void => {
        this.waiting.delete(fail);
        if (onAbort) signal?.removeEventListener?.('abort', onAbort);
        reject(error);
      };
      if (signal?.aborted) {
        reject(abortError(signal.reason));
        return;
      }
      this.waiting.add(fail);
      if (signal) {
        onAbort = () => {
          fail(abortError(signal.reason));
        };
        if (typeof signal.addEventListener === 'function') {
          signal.addEventListener('abort', onAbort, { once: true });
        } else {
          signal.onabort = onAbort;
        }
      }
    });
  }

  /** Drops every hanging request (the client sees `socket hang up`); returns how many. */
  release(): number {
    const all = [...this.waiting];
    for (const fail of all) fail(connectionReset('socket hang up'));
    return all.length;
  }
}
