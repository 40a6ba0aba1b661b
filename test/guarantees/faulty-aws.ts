/**
 * Real SDK clients against an in-process AWS (bench/aws-sim.ts: ECS and Secrets Manager answered
 * on the SDK's own wire format), with faults injected per request: throttling, 5xx, a reset
 * connection, access denied, a call that never returns. Requests are serialised, signed, retried
 * and deserialised by the SDK exactly as in Lambda, so the retry path under test is the SDK's
 * own (standard mode, `AWS_MAX_ATTEMPTS` from the environment).
 *
 * The same handler is served over HTTP (`listen`) for tests of the Lambda entry point, whose
 * module-scope clients reach it through `AWS_ENDPOINT_URL`; a reset connection is then a real
 * destroyed socket.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SimulatedAws } from '../../bench/aws-sim.js';
import type { Json } from './support.js';

/** `ecs.UpdateService`, `secretsmanager.DescribeSecret`, `ssm.DescribeParameters`, … */
export type Operation = string;

export interface Call {
  readonly operation: Operation;
  readonly body: Json;
  /** 1 for the first time this exact request (operation and body) arrives, 2 for its retry, … */
  readonly attempt: number;
}

export type Reply =
  /** An AWS error response. */
  | {
      readonly kind: 'error';
      readonly status: number;
      readonly code: string;
      readonly message?: string;
    }
  /** The connection is reset before any response (ECONNRESET). */
  | { readonly kind: 'reset' }
  /**
   * No response until `kill()`: the invocation is cut off while waiting. With `applied`, the
   * request reached the account and took effect first; only its answer is lost.
   */
  | { readonly kind: 'hang'; readonly applied?: boolean };

/** Decides the fate of a call; `undefined` lets it through. */
export type Fault = (call: Call) => Reply | undefined;

export interface Attempt extends Call {
  /** `ok`, the error code, `reset`, `hang` or `dead`. */
  readonly outcome: string;
}

interface SdkRequest {
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

interface SdkResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

const SERVICES: Readonly<Record<string, string>> = {
  AmazonEC2ContainerServiceV20141113: 'ecs',
  secretsmanager: 'secretsmanager',
  AmazonSSM: 'ssm',
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function reply(status: number, payload: unknown): { response: SdkResponse } {
  const body = encoder.encode(JSON.stringify(payload));
  return {
    response: {
      statusCode: status,
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'content-length': String(body.byteLength),
        'x-amzn-requestid': '00000000-0000-4000-8000-000000000000',
      },
      body,
    },
  };
}

function header(headers: Readonly<Record<string, string>>, name: string): string {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return '';
}

const epochSeconds = (date: Date): number => date.getTime() / 1000;

/** A network error as Node.js raises it when the peer resets the connection. */
export function connectionReset(): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104 });
}

export class FaultyAws {
  readonly sim = new SimulatedAws({ latencyMs: 0, throttling: false });
  readonly faults: Fault[] = [];
  /** Every request that arrived, with its outcome. */
  readonly attempts: Attempt[] = [];
  /** ListSecretVersionIds answers, by SecretId (full or partial ARN). */
  readonly secretVersions = new Map<string, Json>();
  /** DescribeParameters: name (as stored) → last modified. */
  readonly parameters = new Map<string, Date>();
  /** Rewrites successful answers (e.g. a service missing from DescribeServices). */
  readonly answerFilters: ((call: Call, payload: Json) => Json | undefined)[] = [];

  private readonly seen = new Map<string, number>();
  private readonly hanging: ((error: Error) => void)[] = [];
  private readonly arrivals: (() => void)[] = [];
  private dead = false;
  private server?: Server;

  /** SDK clients configured like the function's (maxAttempts from AWS_MAX_ATTEMPTS). */
  clients(): { ecs: ECSClient; secretsManager: SecretsManagerClient; ssm: SSMClient } {
    const requestHandler = {
      handle: (request: SdkRequest) => this.handle(request),
      updateHttpClientConfig: (): void => undefined,
      httpHandlerConfigs: (): Json => ({}),
      destroy: (): void => undefined,
    };
    return {
      ecs: new ECSClient({ requestHandler }),
      secretsManager: new SecretsManagerClient({ requestHandler }),
      ssm: new SSMClient({ requestHandler }),
    };
  }

  /** Attempts of an operation (with the given outcome). */
  count(operation: Operation, outcome?: string): number {
    return this.attempts.filter(
      (a) => a.operation === operation && (outcome === undefined || a.outcome === outcome),
    ).length;
  }

  /** The `service` of every UpdateService call that took effect, sorted. */
  updatedServices(): string[] {
    return this.attempts
      .filter(
        (a) =>
          a.operation === 'ecs.UpdateService' &&
          (a.outcome === 'ok' || a.outcome === 'applied-hang'),
      )
      .map((a) => String(a.body.service))
      .sort();
  }

  /** Resolves once `count` requests of `operation` have arrived. */
  async arrived(operation: Operation, count: number): Promise<void> {
    while (this.count(operation) < count) {
      await new Promise<void>((resolve) => this.arrivals.push(resolve));
    }
  }

  /**
   * The invocation is over (Lambda timed out): calls waiting for an answer fail, and every later
   * call fails before reaching the account, so nothing the dead invocation still does has effect.
   */
  kill(): void {
    this.dead = true;
    for (const fail of this.hanging.splice(0)) {
      fail(Object.assign(new Error('the invocation timed out'), { name: 'AbortError' }));
    }
  }

  /** A new invocation after the timeout: calls reach the account again, without faults. */
  revive(): void {
    this.dead = false;
    this.faults.length = 0;
  }

  async handle(request: SdkRequest): Promise<{ response: SdkResponse }> {
    const target = header(request.headers, 'x-amz-target');
    const dot = target.lastIndexOf('.');
    const operation = `${SERVICES[target.slice(0, dot)] ?? 'unknown'}.${target.slice(dot + 1)}`;
    const text =
      typeof request.body === 'string'
        ? request.body
        : request.body instanceof Uint8Array
          ? decoder.decode(request.body)
          : '';
    const body = (text === '' ? {} : JSON.parse(text)) as Json;
    const key = `${operation} ${text}`;
    const attempt = (this.seen.get(key) ?? 0) + 1;
    this.seen.set(key, attempt);
    const call: Call = { operation, body, attempt };
    const record = (outcome: string): void => {
      this.attempts.push({ ...call, outcome });
      for (const wake of this.arrivals.splice(0)) wake();
    };

    if (this.dead) {
      record('dead');
      throw Object.assign(new Error('the invocation timed out'), { name: 'AbortError' });
    }
    let fault: Reply | undefined;
    for (const decide of this.faults) {
      fault = decide(call);
      if (fault) break;
    }
    if (fault?.kind === 'error') {
      record(fault.code);
      return reply(fault.status, { __type: fault.code, message: fault.message ?? fault.code });
    }
    if (fault?.kind === 'reset') {
      record('reset');
      throw connectionReset();
    }
    if (fault?.kind === 'hang') {
      if (fault.applied) await this.simulate(request);
      record(fault.applied ? 'applied-hang' : 'hang');
      return new Promise((_resolve, reject) => this.hanging.push(reject));
    }

    const extra = this.extraOperation(operation, body);
    if (extra) {
      const payload = JSON.parse(decoder.decode(extra.response.body)) as Json;
      record(extra.response.statusCode === 200 ? 'ok' : String(payload.__type));
      return extra;
    }
    const answer = await this.simulate(request);
    const payload = JSON.parse(decoder.decode(answer.response.body)) as Json;
    if (answer.response.statusCode !== 200) {
      record(String(payload.__type));
      return answer;
    }
    let filtered = payload;
    for (const filter of this.answerFilters) filtered = filter(call, filtered) ?? filtered;
    record('ok');
    return filtered === payload ? answer : reply(200, filtered);
  }

  /** The simulated account's answer (bench/aws-sim.ts's request handler). */
  private simulate(request: SdkRequest): Promise<{ response: SdkResponse }> {
    const handler = this.sim.requestHandler() as {
      handle(request: SdkRequest): Promise<{ response: SdkResponse }>;
    };
    return handler.handle(request);
  }

  /** Operations the simulation does not implement: the sweep's metadata reads. */
  private extraOperation(operation: Operation, body: Json): { response: SdkResponse } | undefined {
    if (operation === 'secretsmanager.ListSecretVersionIds') {
      const found = this.secretVersions.get(String(body.SecretId));
      return found
        ? reply(200, found)
        : reply(400, {
            __type: 'ResourceNotFoundException',
            message: "Secrets Manager can't find the specified secret.",
          });
    }
    if (operation === 'ssm.DescribeParameters') {
      const filters = (body.ParameterFilters ?? []) as { Values?: string[] }[];
      const wanted = new Set(filters.flatMap((f) => f.Values ?? []));
      return reply(200, {
        Parameters: [...this.parameters]
          .filter(([name]) => wanted.has(name))
          .map(([Name, at]) => ({ Name, Type: 'String', LastModifiedDate: epochSeconds(at) })),
      });
    }
    return undefined;
  }

  /** Serves the same handler over HTTP on 127.0.0.1; returns the endpoint URL. */
  async listen(): Promise<string> {
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
      void this.serveHttp(request, response);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }

  private async serveHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(request.headers)) {
      if (typeof value === 'string') headers[key] = value;
    }
    try {
      const { response: answer } = await this.handle({
        headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      response.writeHead(answer.statusCode, answer.headers);
      response.end(Buffer.from(answer.body));
    } catch {
      // A reset (or a dead invocation): the client sees the connection drop.
      request.socket.destroy();
    }
  }
}

/** Every request of the listed operations fails `times` times with `reply`, then succeeds. */
export function failEachRequest(
  operations: readonly Operation[] | 'all',
  times: number,
  fault: Reply,
): Fault {
  return (call) =>
    (operations === 'all' || operations.includes(call.operation)) && call.attempt <= times
      ? fault
      : undefined;
}

export const THROTTLED: Reply = {
  kind: 'error',
  status: 400,
  code: 'ThrottlingException',
  message: 'Rate exceeded',
};
