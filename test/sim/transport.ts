/**
 * The wire between SDK clients and the simulated account: how a request is recognised and
 * decoded, and how answers and errors are encoded, per AWS protocol (checked against the
 * installed SDK's @aws-sdk/core protocols and each client's protocol settings, SDK 3.1164):
 *
 * - awsJson1_1 (ECS, Secrets Manager, SSM) and awsJson1_0 (DynamoDB, SQS, CloudWatch): `POST /`,
 *   `X-Amz-Target: <serviceTarget>.<Operation>`, `Content-Type: application/x-amz-json-1.x`,
 *   members under their model names, timestamps as epoch seconds. Errors are 4xx/5xx with
 *   `{"__type": "Code", "message": "…"}`. SQS and CloudWatch (`GraniteServiceVersion20100801`,
 *   awsJson1_0 in this SDK, not Smithy RPC v2 CBOR) are `awsQueryCompatible`: their errors also
 *   carry `x-amzn-query-error: <query code>;Sender` and a namespaced `__type`.
 * - awsQuery (SNS): form-encoded `Action=Publish&Version=2010-03-31&…`; answers are XML
 *   `<PublishResponse><PublishResult>…</PublishResult><ResponseMetadata>…`, errors
 *   `<ErrorResponse><Error><Type/><Code/><Message/></Error>`.
 * - restJson1 (Lambda): the operation is the HTTP method and path (e.g.
 *   `POST /2015-03-31/functions/{FunctionName}/invocations`), other members travel in headers
 *   (`X-Amz-Invocation-Type`, `X-Amz-Durable-Execution-Name`, …) and the query string
 *   (`Qualifier`); blob payloads are the raw body. Errors put the code in `X-Amzn-ErrorType`.
 *   The route table is read from the installed client's operation schemas, so every Lambda
 *   operation is recognised by name (and logged as such) even when not implemented.
 *
 * The same decoded request comes from two doors: `sdkRequestHandler` (the object SDK clients
 * take as `requestHandler`; nothing leaves the process) and `serveHttp` (a real HTTP server on
 * 127.0.0.1 for a child process reaching the sim through `AWS_ENDPOINT_URL`).
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsError } from './errors.js';
import type { AbortSignalLike } from './faults.js';
import { isJson, type Json } from './util.js';

/** The services the sim models (anything else is logged under its signing name). */
export type ServiceName =
  'ecs' | 'secretsmanager' | 'ssm' | 'dynamodb' | 'sqs' | 'sns' | 'lambda' | 'cloudwatch';

/** The wire protocol of a request. */
export type Protocol = 'json1.0' | 'json1.1' | 'query' | 'restJson';

/** An HTTP request as the sim sees it, whichever door it came through. */
export interface WireRequest {
  readonly method: string;
  /** The path without the query string, still URI-encoded. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** An HTTP response as the sim produces it. */
export interface WireResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

/** A recognised request: which service and operation, and its decoded input. */
export interface Routed {
  /** `ecs`, …; for unknown services, the SigV4 signing name or `unknown`. */
  readonly service: string;
  readonly operation: string;
  readonly protocol: Protocol;
  /** The decoded input (JSON body; form parameters; Lambda path, query, header and body members). */
  readonly input: Json;
  /** Set when the request could not be decoded: it is answered with this error. */
  readonly error?: AwsError;
}

/** An answer whose HTTP status, headers and body the service chose itself (restJson1). */
export class RawAnswer {
  constructor(
    readonly status: number,
    readonly headers: Readonly<Record<string, string>>,
    readonly body: Uint8Array | string,
  ) {}
}

/** What a simulated service answers: an output structure, or a raw HTTP answer. */
export type Answer = Json | RawAnswer;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const JSON_TARGETS: Readonly<Record<string, readonly [ServiceName, Protocol]>> = {
  AmazonEC2ContainerServiceV20141113: ['ecs', 'json1.1'],
  secretsmanager: ['secretsmanager', 'json1.1'],
  AmazonSSM: ['ssm', 'json1.1'],
  DynamoDB_20120810: ['dynamodb', 'json1.0'],
  AmazonSQS: ['sqs', 'json1.0'],
  GraniteServiceVersion20100801: ['cloudwatch', 'json1.0'],
};

/** SNS's XML namespace (client-sns protocol settings). */
const SNS_XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** Lambda members bound to headers (client-lambda operation schemas, `httpHeader` traits). */
const LAMBDA_HEADERS: Readonly<Record<string, string>> = {
  'x-amz-invocation-type': 'InvocationType',
  'x-amz-log-type': 'LogType',
  'x-amz-client-context': 'ClientContext',
  'x-amz-durable-execution-name': 'DurableExecutionName',
  'x-amz-tenant-id': 'TenantId',
};

/** Lambda operations whose body is a blob member, not a JSON structure. */
const LAMBDA_BLOBS: Readonly<Record<string, string>> = {
  Invoke: 'Payload',
  InvokeWithResponseStream: 'Payload',
  InvokeAsync: 'InvokeArgs',
  SendDurableExecutionCallbackSuccess: 'Result',
};

/** Lambda operations whose body is one structure member (`httpPayload`), not the input. */
const LAMBDA_STRUCTURE_PAYLOADS: Readonly<Record<string, string>> = {
  SendDurableExecutionCallbackFailure: 'Error',
  StopDurableExecution: 'Error',
};

interface LambdaRoute {
  readonly operation: string;
  readonly method: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly literal: number;
}

/** The routes of the Lambda operations the sim implements, used if the schemas are unreadable. */
const LAMBDA_FALLBACK: readonly (readonly [string, string, string])[] = [
  ['Invoke', 'POST', '/2015-03-31/functions/{FunctionName}/invocations'],
  [
    'SendDurableExecutionCallbackSuccess',
    'POST',
    '/2025-12-01/durable-execution-callbacks/{CallbackId}/succeed',
  ],
  [
    'SendDurableExecutionCallbackFailure',
    'POST',
    '/2025-12-01/durable-execution-callbacks/{CallbackId}/fail',
  ],
  [
    'SendDurableExecutionCallbackHeartbeat',
    'POST',
    '/2025-12-01/durable-execution-callbacks/{CallbackId}/heartbeat',
  ],
  ['StopDurableExecution', 'POST', '/2025-12-01/durable-executions/{DurableExecutionArn}/stop'],
  ['GetFunctionConfiguration', 'GET', '/2015-03-31/functions/{FunctionName}/configuration'],
];

let lambdaRoutes: Promise<readonly LambdaRoute[]> | undefined;

function compileRoute(operation: string, method: string, uri: string): LambdaRoute {
  const names: string[] = [];
  const path = uri.split('?')[0] ?? uri;
  let literal = 0;
  const source = path
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const label = /^\{([^}+]+)(\+?)\}$/.exec(part);
      if (label?.[1] !== undefined) {
        names.push(label[1]);
        return label[2] === '+' ? '(.+)' : '([^/]+)';
      }
      literal += part.length;
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { operation, method, pattern: new RegExp(`^${source}/?$`), names, literal };
}

/**
 * Every Lambda operation's HTTP binding, read from the installed client's exported operation
 * schemas (`Invoke$ = [9, ns, 'Invoke', { http: ['POST', '/2015-03-31/…', 200] }, …]`).
 */
function loadLambdaRoutes(): Promise<readonly LambdaRoute[]> {
  lambdaRoutes ??= (async () => {
    const routes = new Map<string, LambdaRoute>();
    try {
      const sdk: Record<string, unknown> = await import('@aws-sdk/client-lambda');
      for (const [key, schema] of Object.entries(sdk)) {
        if (!key.endsWith('$') || !Array.isArray(schema) || schema[0] !== 9) continue;
        const name: unknown = schema[2];
        const traits: unknown = schema[3];
        if (typeof name !== 'string' || !isJson(traits) || !Array.isArray(traits.http)) continue;
        const http = traits.http as unknown[];
        const [method, uri] = http;
        if (typeof method !== 'string' || typeof uri !== 'string') continue;
        routes.set(name, compileRoute(name, method, uri));
      }
    } catch {
      // The fallback table below still routes what the sim implements.
    }
    for (const [operation, method, uri] of LAMBDA_FALLBACK) {
      if (!routes.has(operation)) routes.set(operation, compileRoute(operation, method, uri));
    }
    return [...routes.values()].sort((a, b) => b.literal - a.literal);
  })();
  return lambdaRoutes;
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ecs/aws4_request, …` → `ecs`. */
function signingService(headers: Readonly<Record<string, string>>): string | undefined {
  const authorization = headers.authorization;
  return authorization === undefined
    ? undefined
    : /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(authorization)?.[1];
}

function parseJsonBody(text: string): Json | AwsError {
  if (text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (isJson(parsed)) return parsed;
  } catch {
    // answered below
  }
  return new AwsError('SerializationException', 'The request body is not a JSON object.');
}

/** Recognises a request's service and operation and decodes its input. */
export async function route(request: WireRequest): Promise<Routed> {
  const text = decoder.decode(request.body);
  const target = request.headers['x-amz-target'];
  if (target !== undefined) {
    const dot = target.lastIndexOf('.');
    const prefix = dot < 0 ? target : target.slice(0, dot);
    const operation = dot < 0 ? '' : target.slice(dot + 1);
    const known = JSON_TARGETS[prefix];
    const contentType = request.headers['content-type'] ?? '';
    const protocol: Protocol = known?.[1] ?? (contentType.includes('1.0') ? 'json1.0' : 'json1.1');
    const service = known?.[0] ?? signingService(request.headers) ?? prefix;
    const body = parseJsonBody(text);
    return body instanceof AwsError
      ? { service, operation, protocol, input: {}, error: body }
      : { service, operation, protocol, input: body };
  }

  const contentType = request.headers['content-type'] ?? '';
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    const params = new URLSearchParams(text);
    const operation = params.get('Action') ?? '';
    const input: Json = {};
    for (const [key, value] of params) {
      if (key !== 'Action' && key !== 'Version') input[key] = value;
    }
    return {
      service: signingService(request.headers) ?? 'sns',
      operation,
      protocol: 'query',
      input,
    };
  }

  for (const candidate of await loadLambdaRoutes()) {
    if (candidate.method !== request.method) continue;
    const match = candidate.pattern.exec(request.path);
    if (!match) continue;
    const input: Json = {};
    candidate.names.forEach((name, i) => {
      input[name] = decodeURIComponent(match[i + 1] ?? '');
    });
    for (const [key, value] of Object.entries(request.query)) input[key] = value;
    for (const [header, member] of Object.entries(LAMBDA_HEADERS)) {
      const value = request.headers[header];
      if (value !== undefined) input[member] = value;
    }
    const blob = LAMBDA_BLOBS[candidate.operation];
    if (blob !== undefined) {
      if (text !== '') input[blob] = text;
    } else {
      const body = parseJsonBody(text);
      if (body instanceof AwsError) {
        return {
          service: 'lambda',
          operation: candidate.operation,
          protocol: 'restJson',
          input,
          error: body,
        };
      }
      const payload = LAMBDA_STRUCTURE_PAYLOADS[candidate.operation];
      if (payload === undefined) Object.assign(input, body);
      else if (text !== '') input[payload] = body;
    }
    return { service: 'lambda', operation: candidate.operation, protocol: 'restJson', input };
  }

  return {
    service: signingService(request.headers) ?? 'unknown',
    operation: `${request.method} ${request.path}`,
    protocol: 'restJson',
    input: text === '' ? {} : { body: text },
  };
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function xmlMembers(value: Json): string {
  return Object.entries(value)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([key, v]) => `<${key}>${xmlValue(v)}</${key}>`)
    .join('');
}

function xmlValue(value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => `<member>${xmlValue(v)}</member>`).join('');
  if (isJson(value)) return xmlMembers(value);
  if (typeof value === 'string') return escapeXml(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}

/**
 * The awsQueryCompatible JSON services: the namespace of their `__type` and the query codes their
 * errors carry in `x-amzn-query-error` (each client's error schemas, `awsQueryError` trait).
 */
const QUERY_COMPATIBLE: Readonly<
  Record<string, { readonly namespace: string; readonly codes: Readonly<Record<string, string>> }>
> = {
  sqs: {
    namespace: 'com.amazonaws.sqs',
    codes: {
      QueueDoesNotExist: 'AWS.SimpleQueueService.NonExistentQueue',
      MessageNotInflight: 'AWS.SimpleQueueService.MessageNotInflight',
      QueueNameExists: 'QueueAlreadyExists',
      TooManyEntriesInBatchRequest: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
      EmptyBatchRequest: 'AWS.SimpleQueueService.EmptyBatchRequest',
      BatchEntryIdsNotDistinct: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
    },
  },
  cloudwatch: {
    namespace: 'com.amazonaws.cloudwatch',
    codes: {
      InvalidParameterValueException: 'InvalidParameterValue',
      InvalidParameterCombinationException: 'InvalidParameterCombination',
      MissingRequiredParameterException: 'MissingParameter',
      InvalidNextToken: 'InvalidNextToken',
      ResourceNotFound: 'ResourceNotFound',
    },
  },
};

function response(
  status: number,
  headers: Record<string, string>,
  body: string | Uint8Array,
): WireResponse {
  const bytes = typeof body === 'string' ? encoder.encode(body) : body;
  return {
    status,
    headers: { ...headers, 'content-length': String(bytes.byteLength) },
    body: bytes,
  };
}

/** The HTTP answer for a successful operation. */
export function encodeAnswer(routed: Routed, answer: Answer, requestId: string): WireResponse {
  if (answer instanceof RawAnswer) {
    return response(
      answer.status,
      { ...answer.headers, 'x-amzn-requestid': requestId },
      answer.body,
    );
  }
  switch (routed.protocol) {
    case 'json1.0':
    case 'json1.1':
      return response(
        200,
        {
          'content-type': `application/x-amz-json-${routed.protocol === 'json1.0' ? '1.0' : '1.1'}`,
          'x-amzn-requestid': requestId,
        },
        JSON.stringify(answer),
      );
    case 'query': {
      const op = routed.operation;
      return response(
        200,
        { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
        `<${op}Response xmlns="${SNS_XMLNS}"><${op}Result>${xmlMembers(answer)}</${op}Result>` +
          `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${op}Response>`,
      );
    }
    case 'restJson':
      return response(
        200,
        { 'content-type': 'application/json', 'x-amzn-requestid': requestId },
        JSON.stringify(answer),
      );
  }
}

/** The HTTP answer for an error, in the request's protocol. */
export function encodeError(routed: Routed, error: AwsError, requestId: string): WireResponse {
  switch (routed.protocol) {
    case 'json1.0':
    case 'json1.1': {
      const headers: Record<string, string> = {
        'content-type': `application/x-amz-json-${routed.protocol === 'json1.0' ? '1.0' : '1.1'}`,
        'x-amzn-requestid': requestId,
      };
      let type = error.code;
      const compatible = QUERY_COMPATIBLE[routed.service];
      if (compatible) {
        type = `${compatible.namespace}#${error.code}`;
        headers['x-amzn-query-error'] =
          `${compatible.codes[error.code] ?? error.code};${error.status >= 500 ? 'Receiver' : 'Sender'}`;
      }
      return response(
        error.status,
        headers,
        JSON.stringify({ ...error.extra, __type: type, message: error.message }),
      );
    }
    case 'query':
      return response(
        error.status,
        { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
        `<ErrorResponse xmlns="${SNS_XMLNS}"><Error><Type>${error.status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
          `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
          `<RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
    case 'restJson':
      return response(
        error.status,
        {
          'content-type': 'application/json',
          'x-amzn-errortype': error.code,
          'x-amzn-requestid': requestId,
        },
        JSON.stringify({
          ...error.extra,
          Type: error.status >= 500 ? 'Service' : 'User',
          message: error.message,
          Message: error.message,
        }),
      );
  }
}

// ---------------------------------------------------------------------------------------------
// The two doors
// ---------------------------------------------------------------------------------------------

/** Answers one request; rejects (reset, hang released, aborted) when no response is sent. */
export type WireHandler = (request: WireRequest, signal?: AbortSignalLike) => Promise<WireResponse>;

/** The request the SDK hands its HTTP handler (a @smithy `HttpRequest`). */
export interface SdkHttpRequest {
  readonly method: string;
  readonly path: string;
  readonly query?: Readonly<Record<string, string | readonly string[] | null | undefined>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** The response the SDK accepts from its HTTP handler (a @smithy `HttpResponse`). */
export interface SdkHttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

/**
 * The object SDK clients take as `requestHandler`: requests are answered in-process. It is a
 * type alias (not an interface) so it is assignable to the SDK's `Record<string, unknown>` input.
 */
export type SimRequestHandler = {
  /** Answers one request (the SDK calls it after serialising and signing). */
  handle(
    request: SdkHttpRequest,
    options?: { readonly abortSignal?: AbortSignalLike },
  ): Promise<{ response: SdkHttpResponse }>;
  /** Part of the SDK's handler contract; nothing to configure. */
  updateHttpClientConfig(): void;
  /** Part of the SDK's handler contract; nothing to configure. */
  httpHandlerConfigs(): Record<string, never>;
  /** Part of the SDK's handler contract; nothing to free. */
  destroy(): void;
};

async function bodyBytes(body: unknown): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array();
  if (typeof body === 'string') return encoder.encode(body);
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'object' && Symbol.asyncIterator in body) {
    const chunks: Uint8Array[] = [];
    for await (const chunk of body as AsyncIterable<unknown>) {
      chunks.push(typeof chunk === 'string' ? encoder.encode(chunk) : (chunk as Uint8Array));
    }
    return Buffer.concat(chunks);
  }
  throw new Error(`sim transport: unsupported request body type ${typeof body}`);
}

function lowerCaseHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) out[key.toLowerCase()] = value;
  return out;
}

/** Wraps a wire handler as an SDK `requestHandler`. */
export function sdkRequestHandler(handle: WireHandler): SimRequestHandler {
  return {
    handle: async (request, options) => {
      const query: Record<string, string> = {};
      for (const [key, value] of Object.entries(request.query ?? {})) {
        const first = Array.isArray(value) ? (value[0] as string | undefined) : value;
        if (typeof first === 'string') query[key] = first;
      }
      const answer = await handle(
        {
          method: request.method,
          path: request.path,
          query,
          headers: lowerCaseHeaders(request.headers),
          body: await bodyBytes(request.body),
        },
        options?.abortSignal,
      );
      return {
        response: { statusCode: answer.status, headers: answer.headers, body: answer.body },
      };
    },
    updateHttpClientConfig: (): void => undefined,
    httpHandlerConfigs: (): Record<string, never> => ({}),
    destroy: (): void => undefined,
  };
}

/** A running HTTP door to the sim. */
export interface HttpEndpoint {
  /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL`. */
  readonly endpoint: string;
  /** Stops the server, dropping open connections (hanging requests included). */
  close(): Promise<void>;
}

/** Serves a wire handler over HTTP on 127.0.0.1 and a random port. */
export async function serveHttp(handle: WireHandler): Promise<HttpEndpoint> {
  const server = createServer((request: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const query: Record<string, string> = {};
      for (const [key, value] of url.searchParams) query[key] ??= value;
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(request.headers)) {
        if (typeof value === 'string') headers[key] = value;
        else if (Array.isArray(value)) headers[key] = value.join(', ');
      }
      const controller = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) controller.abort();
      });
      try {
        const answer = await handle(
          {
            method: request.method ?? 'GET',
            path: url.pathname,
            query,
            headers,
            body: Buffer.concat(chunks),
          },
          controller.signal,
        );
        res.writeHead(answer.status, answer.headers);
        res.end(Buffer.from(answer.body));
      } catch {
        // A reset, a released hang or a client that went away: drop the connection.
        request.socket.destroy();
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${String(port)}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}
