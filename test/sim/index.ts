/**
 * One simulated AWS account and Region for every test layer and the benchmarks: real AWS SDK v3
 * clients talk to it (requests are serialised, signed and deserialised by the SDK exactly as in
 * Lambda, and never leave the process), or a child process reaches it over HTTP through
 * `AWS_ENDPOINT_URL`.
 *
 * It models ECS (with the rolling and blue/green-family deployment life cycles, pause hooks and
 * their EventBridge events), Secrets Manager and SSM Parameter Store metadata (never values),
 * DynamoDB, SQS, SNS Publish, Lambda Invoke / durable execution callbacks and CloudWatch metric
 * alarm states; every request is logged, any operation it does not implement is
 * answered AccessDeniedException, and faults (errors, resets, hangs, applied-then-lost answers)
 * can be injected per request. Time is a manual clock. See each service's file for the AWS
 * behaviour it models and where that behaviour is documented.
 *
 * @example
 * const sim = new SimulatedAws();
 * const td = sim.addTaskDefinition({ family: 'web', containerDefinitions: [{ name: 'app' }] });
 * sim.addService({ cluster: 'prod', name: 'web', taskDefinition: td });
 * const ecs = sim.client(ECSClient);
 * await ecs.send(new UpdateServiceCommand({ cluster: 'prod', service: 'web', forceNewDeployment: true }));
 * sim.advance(5 * 60_000); // the deployment completes
 * sim.takeEvents();        // IN_PROGRESS, COMPLETED
 */
import { performance } from 'node:perf_hooks';
import {
  CallLog,
  type CallFilter,
  type CallRecord,
  type MutableCall,
  type Outcome,
} from './calls.js';
import { type ClockMode, SimClock } from './clock.js';
import { type AlarmOptions, type AlarmState, CloudWatchSim } from './cloudwatch.js';
import type { SimContext, SimService } from './context.js';
import { DynamoDbSim, type TableHandle, type TableSeed } from './dynamodb.js';
import {
  type DeploymentBehaviour,
  type DeploymentState,
  EcsSim,
  type ServiceSeed,
  type TaskDefinitionSeed,
} from './ecs.js';
import { AwsError, notImplemented, SimUnsupportedError } from './errors.js';
import { EventLog, type SimEvent } from './events.js';
import {
  type AbortSignalLike,
  connectionReset,
  type FaultHandle,
  type FaultRule,
  Faults,
  HungRequests,
} from './faults.js';
import { LambdaSim, type LambdaHandler } from './lambda.js';
import { type ParameterSeed, SsmSim } from './ssm.js';
import { type QueueMessage, type QueueOptions, SqsSim } from './sqs.js';
import { simRetryStrategy, type SimRetryStrategy } from './retries.js';
import { type Publication, SnsSim } from './sns.js';
import { type SecretSeed, SecretsSim } from './secrets.js';
import { BUCKET_OF, ECS_BUCKETS, Throttle } from './throttle.js';
import {
  type Answer,
  encodeAnswer,
  encodeError,
  type HttpEndpoint,
  route,
  type Routed,
  type SimRequestHandler,
  sdkRequestHandler,
  serveHttp,
  type WireRequest,
  type WireResponse,
} from './transport.js';
import { Ids } from './util.js';

export type { CallFilter, CallRecord, Outcome } from './calls.js';
export type { AlarmOptions, AlarmState } from './cloudwatch.js';
export type { ClockMode } from './clock.js';
export type { AttributeValue, Item } from './dynamodb-expressions.js';
export type { KeySpec, TableHandle, TableSeed } from './dynamodb.js';
export type {
  DeploymentBehaviour,
  DeploymentConfigurationSeed,
  DeploymentState,
  DeploymentStrategy,
  LifecycleHookSeed,
  LifecycleHookStage,
  ServiceSeed,
  TaskDefinitionSeed,
} from './ecs.js';
export { AwsError, SimUnsupportedError } from './errors.js';
export type {
  EcsDeploymentDetail,
  EcsHookDetail,
  ParameterStoreChangeDetail,
  SecretLabelUpdatedDetail,
  SimEvent,
} from './events.js';
export {
  ACCESS_DENIED,
  type FaultHandle,
  type FaultReply,
  type FaultRule,
  HANG,
  INTERNAL_ERROR,
  LOST,
  RESET,
  THROTTLED,
  UNAVAILABLE,
} from './faults.js';
export type {
  CallbackCall,
  DurableExecution,
  InvocationContext,
  Invocation,
  LambdaHandler,
  StopCall,
} from './lambda.js';
export type { SimRetryStrategy, SimRetryToken } from './retries.js';
export type { ParameterSeed } from './ssm.js';
export type { MessageAttribute, QueueMessage, QueueOptions } from './sqs.js';
export type { Publication } from './sns.js';
export type { SecretSeed } from './secrets.js';
export { BUCKET_OF, type BucketSpec, ECS_BUCKETS } from './throttle.js';
export type { Json } from './util.js';
export type { HttpEndpoint, SimRequestHandler } from './transport.js';

/** How the simulated account is set up. */
export interface SimOptions {
  /** @default '123456789012' */
  readonly account?: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default 'aws' */
  readonly partition?: 'aws';
  /** The clock's start. @default 2026-01-01T00:00:00Z */
  readonly start?: Date;
  /** `manual` (tests: time moves only with `advance`) or `real` (benchmarks). @default 'manual' */
  readonly clockMode?: ClockMode;
  /** Delay before each request is handled (through `sleep`). @default 0 */
  readonly latencyMs?: number;
  /** Apply ECS's throttling buckets (refilled with the sim clock). @default false */
  readonly throttling?: boolean;
  /**
   * Waits `ms`; used only when `latencyMs > 0`. Pass `(ms) => { sim.advance(ms); … }`-style
   * functions to spend latency in sim time. @default a real `setTimeout`
   */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Secrets Manager also emits CloudTrail-delivered events (a trail exists). @default false */
  readonly cloudTrail?: boolean;
  /** DescribeParameters leaves out `ARN`, as some emulators do. @default false */
  readonly ssmOmitArn?: boolean;
}

/** The configuration `client()` gives an SDK client. */
export interface SimClientConfig {
  /** The sim's Region. */
  region: string;
  /** Static test credentials. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The sim's in-process handler. */
  requestHandler: SimRequestHandler;
  /** 1 unless the caller says otherwise. */
  maxAttempts: number;
  /** Any other client option the caller passes. */
  [option: string]: unknown;
}

/** A client class of the AWS SDK v3 (`ECSClient`, `DynamoDBClient`, …). */
export type ClientClass<C> = new (config: SimClientConfig) => C;

const TEST_CREDENTIALS = { accessKeyId: 'AKIASIMULATEDTEST', secretAccessKey: 'simulated-secret' };

/** A simulated AWS account and Region, answering real SDK clients in-process or over HTTP. */
export class SimulatedAws {
  /** The account id. */
  readonly account: string;
  /** The Region. */
  readonly region: string;
  /** The partition. */
  readonly partition: string;
  /** The simulated ECS (seeding and inspection beyond the shortcuts below). */
  readonly ecs: EcsSim;
  /** The simulated Secrets Manager. */
  readonly secretsManager: SecretsSim;
  /** The simulated Parameter Store. */
  readonly ssm: SsmSim;
  /** The simulated DynamoDB. */
  readonly dynamodb: DynamoDbSim;
  /** The simulated SQS. */
  readonly sqs: SqsSim;
  /** The simulated SNS. */
  readonly sns: SnsSim;
  /** The simulated Lambda. */
  readonly lambda: LambdaSim;
  /** The simulated CloudWatch (metric alarms). */
  readonly cloudwatch: CloudWatchSim;
  /** The object SDK clients take as `requestHandler` (in-process; nothing leaves the process). */
  readonly handler: SimRequestHandler;
  /** Requests answered `[sim]` ValidationException because the sim does not model them. */
  readonly unsupported: { readonly call: CallRecord; readonly message: string }[] = [];
  /** Unexpected errors inside the sim (answered 500 InternalFailure): sim bugs. */
  readonly internalErrors: { readonly call: CallRecord; readonly error: unknown }[] = [];

  private readonly clock: SimClock;
  private readonly ids: Ids;
  private readonly eventLog: EventLog;
  private readonly log = new CallLog();
  private readonly faults = new Faults();
  private readonly hung = new HungRequests();
  private readonly throttle: Throttle;
  private readonly services: Readonly<Record<string, SimService>>;
  private readonly endpoints = new Set<HttpEndpoint>();
  private latencyMs: number;
  private throttling: boolean;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Milliseconds spent computing answers (the sim's share of a benchmark's CPU). */
  private busyMs = 0;

  constructor(options: SimOptions = {}) {
    this.account = options.account ?? '123456789012';
    this.region = options.region ?? 'us-east-1';
    this.partition = options.partition ?? 'aws';
    this.clock = new SimClock(
      options.start ?? new Date('2026-01-01T00:00:00Z'),
      options.clockMode ?? 'manual',
    );
    this.ids = new Ids(`${this.account}|${this.region}`);
    this.eventLog = new EventLog(this.clock, this.ids, this.account, this.region);
    const ctx: SimContext = {
      account: this.account,
      region: this.region,
      partition: this.partition,
      clock: this.clock,
      ids: this.ids,
      events: this.eventLog,
    };
    this.ecs = new EcsSim(ctx);
    this.secretsManager = new SecretsSim(ctx);
    this.secretsManager.cloudTrail = options.cloudTrail ?? false;
    this.ssm = new SsmSim(ctx);
    this.ssm.omitArn = options.ssmOmitArn ?? false;
    this.dynamodb = new DynamoDbSim(ctx);
    this.sqs = new SqsSim(ctx);
    this.sns = new SnsSim(ctx);
    this.lambda = new LambdaSim(ctx);
    this.cloudwatch = new CloudWatchSim(ctx);
    this.services = {
      ecs: this.ecs,
      secretsmanager: this.secretsManager,
      ssm: this.ssm,
      dynamodb: this.dynamodb,
      sqs: this.sqs,
      sns: this.sns,
      lambda: this.lambda,
      cloudwatch: this.cloudwatch,
    };
    this.latencyMs = options.latencyMs ?? 0;
    this.throttling = options.throttling ?? false;
    this.sleep =
      options.sleep ??
      ((ms) =>
        new Promise((resolve) => {
          setTimeout(resolve, ms);
        }));
    this.throttle = new Throttle(ECS_BUCKETS, BUCKET_OF, this.clock.nowMs());
    this.handler = sdkRequestHandler((request, signal) => this.handleWire(request, signal));
  }

  // -------------------------------------------------------------------------------------------
  // Clock
  // -------------------------------------------------------------------------------------------

  /** The sim's current time. */
  now(): Date {
    return this.clock.now();
  }

  /** Moves time forward by `ms`, running what falls due (deployments, message delays) in order. */
  advance(ms: number): void {
    this.clock.advance(ms);
  }

  /** Runs `run` when the clock reaches `at`: a test scripts what happens meanwhile. */
  at(at: Date, run: () => void): void {
    this.clock.schedule(at.getTime(), run);
  }

  /** Moves time forward to `date`. */
  advanceTo(date: Date): void {
    this.clock.advanceTo(date);
  }

  // -------------------------------------------------------------------------------------------
  // Clients and doors
  // -------------------------------------------------------------------------------------------

  /**
   * A real SDK client answered by this sim: static test credentials, the sim's Region,
   * `maxAttempts` 1 unless `config` says otherwise, and the in-process request handler.
   */
  client<C>(ClientClass: ClientClass<C>, config: Readonly<Record<string, unknown>> = {}): C {
    return new ClientClass({
      region: this.region,
      credentials: TEST_CREDENTIALS,
      maxAttempts: 1,
      ...config,
      requestHandler: this.handler,
    });
  }

  /**
   * A retry strategy with the SDK's standard decisions whose backoff advances the sim clock
   * instead of sleeping: `sim.client(ECSClient, { retryStrategy: sim.retryStrategy(3) })`.
   */
  retryStrategy(maxAttempts = 3): SimRetryStrategy {
    return simRetryStrategy(maxAttempts, (ms) => {
      this.advance(ms);
    });
  }

  /** Serves the sim over HTTP on 127.0.0.1 (a random port): the value for `AWS_ENDPOINT_URL`. */
  async listen(): Promise<HttpEndpoint> {
    const served = await serveHttp((request, signal) => this.handleWire(request, signal));
    this.sqs.urlBase = served.endpoint;
    const endpoint: HttpEndpoint = {
      endpoint: served.endpoint,
      close: async () => {
        this.endpoints.delete(endpoint);
        await served.close();
      },
    };
    this.endpoints.add(endpoint);
    return endpoint;
  }

  /** Releases hanging requests and closes every HTTP endpoint. */
  async close(): Promise<void> {
    this.hung.release();
    await Promise.all([...this.endpoints].map((e) => e.close()));
  }

  /** Changes the per-request latency and throttling (e.g. between benchmark phases). */
  configure(options: { readonly latencyMs?: number; readonly throttling?: boolean }): void {
    if (options.latencyMs !== undefined) this.latencyMs = options.latencyMs;
    if (options.throttling !== undefined) this.throttling = options.throttling;
  }

  /** Fills every throttling bucket, as after a long quiet period. */
  refillBuckets(): void {
    this.throttle.refill(this.clock.nowMs());
  }

  /** Milliseconds the sim spent computing answers since the start (or `resetBusy`). */
  get simulatorMs(): number {
    return this.busyMs;
  }

  /** Restarts the `simulatorMs` count. */
  resetBusy(): void {
    this.busyMs = 0;
  }

  // -------------------------------------------------------------------------------------------
  // Calls, events and faults
  // -------------------------------------------------------------------------------------------

  /** Requests received (matching `filter`: `'ecs.UpdateService'`, `'ecs.*'` or an object). */
  calls(filter?: CallFilter): CallRecord[] {
    return this.log.list(filter);
  }

  /** How many requests match (`count('ecs.UpdateService')`, optionally with an outcome). */
  count(operation: CallFilter, outcome?: Outcome): number {
    if (outcome === undefined) return this.log.count(operation);
    const filter =
      typeof operation === 'string' ? { operation, outcome } : { ...operation, outcome };
    return this.log.count(filter);
  }

  /**
   * Resolves once `count` matching requests have been answered, refused, reset or left hanging
   * (no polling, no timers): e.g. wait until a request hangs, then abort or release it.
   */
  whenCalled(filter: CallFilter, count = 1): Promise<void> {
    return this.log.when(filter, count);
  }

  /** Forgets the call log. */
  clearCalls(): void {
    this.log.clear();
  }

  /** Every EventBridge event emitted and not yet taken, in order. */
  get events(): readonly SimEvent[] {
    return this.eventLog.events;
  }

  /** Removes and returns the events emitted so far. */
  takeEvents(): SimEvent[] {
    return this.eventLog.take();
  }

  /** Injects a fault into matching requests; first added, first matched. */
  fault(rule: FaultRule): FaultHandle {
    return this.faults.add(rule);
  }

  /** Withdraws every fault rule. */
  clearFaults(): void {
    this.faults.clear();
  }

  /** Drops every request left hanging (the callers see `socket hang up`); returns how many. */
  releaseHung(): number {
    return this.hung.release();
  }

  /** How many requests are hanging now. */
  get hanging(): number {
    return this.hung.size;
  }

  // -------------------------------------------------------------------------------------------
  // Seeding shortcuts (the service objects above have more)
  // -------------------------------------------------------------------------------------------

  /** Creates an ECS cluster; returns its ARN. */
  addCluster(name: string): string {
    return this.ecs.addCluster(name);
  }

  /** Registers the next revision of a task definition family; returns its ARN. */
  addTaskDefinition(seed: TaskDefinitionSeed): string {
    return this.ecs.addTaskDefinition(seed);
  }

  /** Creates an ECS service (and its cluster if needed) with one COMPLETED deployment. */
  addService(seed: ServiceSeed): string {
    return this.ecs.addService(seed);
  }

  /** Changes what happens to a service's next deployments (by ARN, or by name if unique). */
  setBehaviour(service: string, behaviour: DeploymentBehaviour): void {
    this.ecs.setBehaviour(service, behaviour);
  }

  /** Every deployment of a service, oldest first, INACTIVE ones included. */
  deployments(service: string): DeploymentState[] {
    return this.ecs.deployments(service);
  }

  /** Creates a secret; returns its full ARN. */
  addSecret(seed: SecretSeed): string {
    return this.secretsManager.addSecret(seed);
  }

  /** PutSecretValue: a new version takes `stages` (default AWSCURRENT); emits its events. */
  putSecretValue(
    name: string,
    options?: { readonly versionId?: string; readonly stages?: readonly string[] },
  ): string {
    return this.secretsManager.putSecretValue(name, options);
  }

  /** UpdateSecretVersionStage: moves `label` to `toVersionId`; emits its events. */
  moveLabel(name: string, label: string, toVersionId: string): void {
    this.secretsManager.moveLabel(name, label, toVersionId);
  }

  /** UpdateSecretVersionStage with only RemoveFromVersionId. */
  removeLabel(name: string, label: string): void {
    this.secretsManager.removeLabel(name, label);
  }

  /** A full rotation (AWSPENDING written, then promoted to AWSCURRENT); returns the version id. */
  rotate(name: string, options?: { readonly versionId?: string }): string {
    return this.secretsManager.rotate(name, options);
  }

  /** DeleteSecret (scheduled, or at once with `force`). */
  deleteSecret(name: string, options?: { readonly force?: boolean }): void {
    this.secretsManager.deleteSecret(name, options);
  }

  /** Creates a parameter (no event); returns its ARN. */
  addParameter(seed: ParameterSeed): string {
    return this.ssm.addParameter(seed);
  }

  /** PutParameter with Overwrite: bumps the version and emits Create/Update; returns the version. */
  putParameter(
    name: string,
    options?: {
      readonly type?: 'String' | 'StringList' | 'SecureString';
      readonly description?: string;
    },
  ): number {
    return this.ssm.putParameter(name, options);
  }

  /** DeleteParameter, with its Delete event. */
  deleteParameter(name: string): void {
    this.ssm.deleteParameter(name);
  }

  /** Creates a DynamoDB table; returns its ARN. */
  createTable(seed: TableSeed): string {
    return this.dynamodb.createTable(seed);
  }

  /** A DynamoDB table's items, for assertions. */
  table(name: string): TableHandle {
    return this.dynamodb.table(name);
  }

  /** Creates an SQS queue; returns its URL. */
  createQueue(name: string, options?: QueueOptions): string {
    return this.sqs.createQueue(name, options);
  }

  /** An SQS queue's messages (not deleted), in send order. */
  messages(queueName: string): QueueMessage[] {
    return this.sqs.messages(queueName);
  }

  /** Messages published to SNS (optionally to one topic). */
  published(topicArn?: string): Publication[] {
    return this.sns.published(topicArn);
  }

  /** Registers a Lambda function, optionally with an in-process handler run on Invoke. */
  addFunction(name: string, handler?: LambdaHandler): string {
    return this.lambda.addFunction(name, handler);
  }

  /** Creates a CloudWatch metric alarm in `state` (default OK); returns its ARN. */
  addAlarm(name: string, state: AlarmState = 'OK', options?: AlarmOptions): string {
    return this.cloudwatch.addAlarm(name, state, options);
  }

  /** SetAlarmState: the alarm takes `state` now (`reason` defaults to a threshold message). */
  setAlarmState(name: string, state: AlarmState, reason?: string): void {
    this.cloudwatch.setAlarmState(name, state, reason);
  }

  // -------------------------------------------------------------------------------------------
  // The request pipeline
  // -------------------------------------------------------------------------------------------

  private async handleWire(request: WireRequest, signal?: AbortSignalLike): Promise<WireResponse> {
    const started = performance.now();
    let routed = await route(request);
    if (routed.service === 'sns') routed = { ...routed, input: SnsSim.structure(routed.input) };
    const call = this.log.arrive(routed.service, routed.operation, routed.input, this.clock.now());
    const requestId = this.ids.uuid('request');
    const name = `${routed.service}.${routed.operation}`;
    const finish = (outcome: Outcome): void => {
      this.log.settle(call, outcome);
    };
    const fail = (error: AwsError): WireResponse => {
      finish(error.code);
      return encodeError(routed, error, requestId);
    };
    this.busyMs += performance.now() - started;

    if (this.latencyMs > 0) await this.sleep(this.latencyMs);

    if (routed.error) return fail(routed.error);
    const fault = this.faults.take(name, routed.input);
    if (fault) call.fault = fault.kind;
    switch (fault?.kind) {
      case 'error':
        return fail(new AwsError(fault.code, fault.message ?? fault.code, fault.status ?? 400));
      case 'reset':
        finish('reset');
        throw connectionReset();
      case 'hang':
        finish('hang');
        return this.hung.hang(signal);
      case 'lost': {
        await this.dispatch(routed, request, call);
        const then = fault.then ?? 'error';
        if (then === 'reset') {
          finish('reset');
          throw connectionReset();
        }
        if (then === 'hang') {
          finish('hang');
          return this.hung.hang(signal);
        }
        return fail(
          new AwsError(
            'InternalFailure',
            'We encountered an internal error. Please try again.',
            500,
          ),
        );
      }
      case undefined:
        break;
    }
    if (this.throttling && !this.throttle.admit(name, this.clock.nowMs())) {
      return fail(new AwsError('ThrottlingException', 'Rate exceeded'));
    }
    const answer = await this.dispatch(routed, request, call);
    if (answer instanceof AwsError) return fail(answer);
    finish('ok');
    return encodeAnswer(routed, answer, requestId);
  }

  /** Runs the operation against the account; an error answer is returned, not thrown. */
  private async dispatch(
    routed: Routed,
    request: WireRequest,
    call: MutableCall,
  ): Promise<Answer | AwsError> {
    const started = performance.now();
    try {
      const service = this.services[routed.service];
      if (!service) throw notImplemented(routed.service, routed.operation, this.account);
      const pending = service.handle(routed.operation, routed.input, request);
      this.busyMs += performance.now() - started;
      const answer = await pending;
      call.applied = true;
      return answer;
    } catch (error) {
      this.busyMs += performance.now() - started;
      if (
        error instanceof SimUnsupportedError ||
        (error instanceof AwsError && error.message.startsWith('[sim]'))
      ) {
        this.unsupported.push({ call: { ...call }, message: error.message });
      }
      if (error instanceof AwsError) return error;
      this.internalErrors.push({ call: { ...call }, error });
      return new AwsError('InternalFailure', `[sim] internal error: ${String(error)}`, 500);
    }
  }
}
