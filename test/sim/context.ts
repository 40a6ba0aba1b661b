/**
 * What every simulated service shares: the account's identity (account id, Region, partition),
 * its clock, its id source and its event log; and the contract a service implements to answer
 * requests.
 */
import type { SimClock } from './clock.js';
import type { EventLog } from './events.js';
import type { Answer, WireRequest } from './transport.js';
import type { Ids, Json } from './util.js';

/** The account a simulated service belongs to. */
export interface SimContext {
  /** The account id. */
  readonly account: string;
  /** The Region. */
  readonly region: string;
  /** The ARN partition (`aws`). */
  readonly partition: string;
  /** The account's clock. */
  readonly clock: SimClock;
  /** Deterministic identifiers. */
  readonly ids: Ids;
  /** Where EventBridge events go. */
  readonly events: EventLog;
}

/** A simulated AWS service: answers the operations it implements, throws `AwsError` otherwise. */
export interface SimService {
  /**
   * Answers one request. Must apply its effect synchronously before returning or throwing (so
   * each request is atomic); only Lambda's in-process handlers make it asynchronous.
   */
  handle(operation: string, input: Json, request: WireRequest): Answer | Promise<Answer>;
}
