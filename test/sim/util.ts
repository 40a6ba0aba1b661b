/**
 * Small helpers shared by the simulated services: the JSON shape every protocol decodes to,
 * AWS timestamp formats, deterministic identifiers and opaque pagination tokens.
 *
 * Identifiers are deterministic (counters hashed into the shapes AWS uses) so two runs of the
 * same test or benchmark see the same ids; nothing in AWS promises any particular id, only its
 * shape (UUID v4 for message and event ids, 32 hex digits for ECS task ids, 19 digits after
 * `ecs-svc/` for ECS deployment ids, 21 base64url characters for ECS service deployment ids).
 */
import { createHash } from 'node:crypto';
import { AwsError } from './errors.js';

/** A decoded request or response body. */
export type Json = Record<string, unknown>;

/** Epoch seconds with millisecond precision: how AWS JSON protocols send timestamps. */
export const epochSeconds = (ms: number): number => Math.round(ms) / 1000;

/** ISO 8601 without milliseconds (`2026-01-01T00:00:00Z`): EventBridge's `time` format. */
export const isoSeconds = (ms: number): string =>
  new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Deterministic identifiers in AWS's shapes, unique within one simulated account. */
export class Ids {
  private counter = 0;

  constructor(private readonly seed: string) {}

  private digest(kind: string): string {
    this.counter += 1;
    return createHash('sha256')
      .update(`${this.seed}|${kind}|${String(this.counter)}`)
      .digest('hex');
  }

  /** A version 4 UUID. */
  uuid(kind = 'uuid'): string {
    const h = this.digest(kind);
    const variant = '89ab'[Number.parseInt(h[16] ?? '0', 16) % 4] ?? '8';
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  /** `length` lower-case hex digits. */
  hex(length: number, kind = 'hex'): string {
    return this.digest(kind).slice(0, length);
  }

  /** `length` decimal digits, the first one not zero. */
  digits(length: number, kind = 'digits'): string {
    const h = this.digest(kind);
    let out = String((Number.parseInt(h.slice(0, 2), 16) % 9) + 1);
    for (let i = 2; out.length < length; i += 2) {
      out += String(Number.parseInt(h.slice(i % 60, (i % 60) + 2), 16) % 10);
    }
    return out;
  }

  /**
   * Up to 43 characters from the base64url alphabet [A-Za-z0-9_-]: an ECS service deployment id
   * (21, e.g. `NCWGC2ZR-taawPAYrIaU5`) or the body of a pause hook id (43).
   */
  urlSafe(length: number, kind = 'url-safe'): string {
    if (length > 43) throw new RangeError('urlSafe: at most 43 characters');
    return Buffer.from(this.digest(kind), 'hex').toString('base64url').slice(0, length);
  }

  /** `length` characters from [A-Za-z] (the random suffix of a Secrets Manager ARN). */
  letters(length: number, kind = 'letters'): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    const h = this.digest(kind);
    let out = '';
    for (let i = 0; out.length < length; i += 2) {
      out += alphabet[Number.parseInt(h.slice(i, i + 2), 16) % alphabet.length] ?? 'a';
    }
    return out;
  }
}

/** An opaque token for offset pagination (AWS tokens are opaque; their content is ours). */
export function encodeToken(offset: number, scope: string): string {
  return Buffer.from(JSON.stringify({ o: offset, s: scope }), 'utf8').toString('base64');
}

/** The offset a token carries; `errorCode` if the token is not one of ours for this scope. */
export function decodeToken(token: string, scope: string, errorCode: string): number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    if (isJson(parsed) && typeof parsed.o === 'number' && parsed.s === scope) return parsed.o;
  } catch {
    // fall through
  }
  throw new AwsError(errorCode, 'The pagination token is invalid.');
}

/** One page of `items` and the token of the next one. */
export function page<T>(
  items: readonly T[],
  options: {
    readonly token: string | undefined;
    readonly size: number;
    readonly scope: string;
    readonly errorCode: string;
  },
): { items: T[]; nextToken?: string } {
  const start =
    options.token === undefined ? 0 : decodeToken(options.token, options.scope, options.errorCode);
  const end = start + options.size;
  return {
    items: items.slice(start, end),
    ...(end < items.length && { nextToken: encodeToken(end, options.scope) }),
  };
}

/** `body[key]` if it is a string; a SerializationException if it is something else. */
export function optionalString(body: Json, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new AwsError('SerializationException', `${key} must be a string`);
  }
  return value;
}

/** `body[key]` as a required string (`code` when missing). */
export function requiredString(
  body: Json,
  key: string,
  code = 'InvalidParameterException',
): string {
  const value = optionalString(body, key);
  if (value === undefined || value === '') {
    throw new AwsError(code, `${key} is required.`);
  }
  return value;
}

/** `body[key]` if it is a number. */
export function optionalNumber(body: Json, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') {
    throw new AwsError('SerializationException', `${key} must be a number`);
  }
  return value;
}

/** `body[key]` if it is an array of strings. */
export function optionalStrings(body: Json, key: string): string[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new AwsError('SerializationException', `${key} must be a list of strings`);
  }
  return value;
}

/** Whether `value` is a plain JSON object. */
export const isJson = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
