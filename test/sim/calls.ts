/**
 * The record of every request the simulated account received, whatever became of it: answered,
 * refused, throttled, faulted, or never answered. A test proves a call was never attempted
 * (e.g. `secretsmanager.GetSecretValue`) by counting it here.
 */
import type { Json } from './util.js';

/** What became of a request. */
export type Outcome =
  /** Answered with a result. */
  | 'ok'
  /** The connection was reset before any response. */
  | 'reset'
  /** No response was sent (a hang fault); the caller aborted or the hang was released. */
  | 'hang'
  /** Still being handled (latency, or an in-process Lambda handler running). */
  | 'pending'
  /** Answered with this error code (`ThrottlingException`, `AccessDeniedException`, …). */
  | (string & {});

/** One request the account received. */
export interface CallRecord {
  /** Arrival order, from 1. */
  readonly seq: number;
  /** `ecs`, `secretsmanager`, `ssm`, `dynamodb`, `sqs`, `sns`, `lambda` (or a signing name). */
  readonly service: string;
  /** The API operation (`UpdateService`). */
  readonly operation: string;
  /** The decoded input: JSON body, form parameters, or Lambda path/query/header/body members. */
  readonly input: Json;
  /** Sim time of arrival. */
  readonly at: Date;
  /** What became of it (set once answered). */
  readonly outcome: Outcome;
  /** The request reached the account's state (ran), whether or not its answer arrived. */
  readonly applied: boolean;
  /** The kind of the fault injected into it, if any. */
  readonly fault?: 'error' | 'reset' | 'hang' | 'lost';
  /** 1 the first time this exact request (operation and input) arrives, 2 for a retry, … */
  readonly attempt: number;
}

/** What `SimulatedAws.calls` filters on; a string is `service.Operation` (or `service.*`). */
export type CallFilter =
  | string
  | {
      /** `ecs` */
      readonly service?: string;
      /** `UpdateService` or `ecs.UpdateService` */
      readonly operation?: string;
      readonly outcome?: Outcome;
      readonly applied?: boolean;
      /** Only calls whose input this accepts. */
      readonly where?: (input: Json) => boolean;
    };

/** A call record the log may still update (outcome, applied). */
export interface MutableCall {
  seq: number;
  service: string;
  operation: string;
  input: Json;
  at: Date;
  outcome: Outcome;
  applied: boolean;
  fault?: 'error' | 'reset' | 'hang' | 'lost';
  attempt: number;
}

function matches(call: MutableCall, filter: CallFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (typeof filter === 'string') {
    const [service, operation] = splitName(filter);
    return call.service === service && (operation === '*' || call.operation === operation);
  }
  if (filter.service !== undefined && call.service !== filter.service) return false;
  if (filter.operation !== undefined) {
    if (filter.operation.includes('.')) {
      const [service, operation] = splitName(filter.operation);
      if (call.service !== service || (operation !== '*' && call.operation !== operation)) {
        return false;
      }
    } else if (call.operation !== filter.operation) return false;
  }
  if (filter.outcome !== undefined && call.outcome !== filter.outcome) return false;
  if (filter.applied !== undefined && call.applied !== filter.applied) return false;
  return filter.where === undefined || filter.where(call.input);
}

function splitName(name: string): [string, string] {
  const dot = name.indexOf('.');
  return dot < 0 ? [name, '*'] : [name.slice(0, dot), name.slice(dot + 1)];
}

/** The account's call log. */
export class CallLog {
  private readonly records: MutableCall[] = [];
  private readonly seen = new Map<string, number>();
  private waiters: { filter: CallFilter; count: number; resolve: () => void }[] = [];

  /** Records a request that just arrived. */
  arrive(service: string, operation: string, input: Json, at: Date): MutableCall {
    const key = `${service}.${operation} ${JSON.stringify(input)}`;
    const attempt = (this.seen.get(key) ?? 0) + 1;
    this.seen.set(key, attempt);
    const call: MutableCall = {
      seq: this.records.length + 1,
      service,
      operation,
      input,
      at,
      outcome: 'pending',
      applied: false,
      attempt,
    };
    this.records.push(call);
    return call;
  }

  /** Sets a call's outcome and wakes the `when` waiters whose count is reached. */
  settle(call: MutableCall, outcome: Outcome): void {
    call.outcome = outcome;
    this.wake();
  }

  private settled(filter: CallFilter): number {
    let n = 0;
    for (const call of this.records)
      if (call.outcome !== 'pending' && matches(call, filter)) n += 1;
    return n;
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (this.settled(w.filter) < w.count) return true;
      w.resolve();
      return false;
    });
  }

  /** Copies of the matching records, in arrival order. */
  list(filter?: CallFilter): CallRecord[] {
    return this.records.filter((c) => matches(c, filter)).map((c) => ({ ...c }));
  }

  /** How many records match. */
  count(filter?: CallFilter): number {
    let n = 0;
    for (const call of this.records) if (matches(call, filter)) n += 1;
    return n;
  }

  /** Resolves once `count` matching requests have been answered, refused or left hanging. */
  when(filter: CallFilter, count: number): Promise<void> {
    if (this.settled(filter) >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ filter, count, resolve }));
  }

  /** Forgets every record. */
  clear(): void {
    this.records.length = 0;
    this.seen.clear();
  }
}
