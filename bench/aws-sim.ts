/**
 * An in-process simulation of the ECS and Secrets Manager APIs the function calls, plugged into
 * real SDK clients as their HTTP handler: requests are serialised, signed and retried by the SDK
 * exactly as in Lambda, but never leave the process.
 *
 * Each call waits a fixed latency and first takes a token from its API's throttling bucket
 * (shared/aws-facts.md, ECS API reference "request throttling"); a call that finds the bucket
 * empty is answered `400 {"__type":"ThrottlingException"}`, as ECS does, and the SDK's standard
 * retry strategy decides what happens next. Buckets refill continuously with the clock.
 *
 * Response shapes follow test/e2e/fake-aws.ts (the HTTP fake the end-to-end tests use), which
 * was checked against the SDK's JSON 1.1 protocol. That fake is not reused directly because it
 * only answers through a listening HTTP server and finds services by scanning every one of them;
 * at 2,000 services both would spend CPU inside the very process whose time is measured. Here
 * every lookup is a map access and every task definition is serialised once.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ContainerDefinitionSeed } from '../test/e2e/fake-aws.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

type Json = Record<string, unknown>;

/** A throttling bucket: `burst` tokens, refilled continuously at `ratePerSecond`. */
export interface BucketSpec {
  readonly burst: number;
  readonly ratePerSecond: number;
}

/** ECS request throttling per account and Region (shared/aws-facts.md). */
export const ECS_BUCKETS: Readonly<Record<string, BucketSpec>> = {
  'ListServices+DescribeServices': { burst: 100, ratePerSecond: 20 },
  DescribeTaskDefinition: { burst: 50, ratePerSecond: 20 },
  UpdateService: { burst: 50, ratePerSecond: 5 },
  'ListClusters+DescribeClusters': { burst: 50, ratePerSecond: 20 },
};

/** Which bucket an operation draws from; operations absent here are not throttled. */
export const BUCKET_OF: Readonly<Record<string, string>> = {
  'ecs.ListServices': 'ListServices+DescribeServices',
  'ecs.DescribeServices': 'ListServices+DescribeServices',
  'ecs.DescribeTaskDefinition': 'DescribeTaskDefinition',
  'ecs.UpdateService': 'UpdateService',
  'ecs.ListClusters': 'ListClusters+DescribeClusters',
  'ecs.DescribeClusters': 'ListClusters+DescribeClusters',
};

class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly spec: BucketSpec) {
    this.tokens = spec.burst;
    this.last = performance.now();
  }

  take(now: number): boolean {
    this.tokens = Math.min(
      this.spec.burst,
      this.tokens + ((now - this.last) / 1000) * this.spec.ratePerSecond,
    );
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Calls answered, per `service.Operation`. */
export interface OperationCounts {
  /** Requests received, throttled ones included. */
  attempts: number;
  /** Requests answered with a result. */
  ok: number;
  /** Requests answered with ThrottlingException. */
  throttled: number;
  /** Requests answered with any other error. */
  errors: number;
}

export interface SimOptions {
  /** Fixed latency of every call, throttled ones included. */
  latencyMs: number;
  /** Apply the throttling buckets. */
  throttling: boolean;
}

// ---------------------------------------------------------------------------------------------
// The account
// ---------------------------------------------------------------------------------------------

/** A container definition: the end-to-end fake's, plus the fields that give it a real size. */
export type ContainerSeed = ContainerDefinitionSeed & {
  readonly environment?: readonly { readonly name: string; readonly value: string }[];
  readonly portMappings?: readonly Json[];
};

export interface TaskDefinitionSeed {
  readonly family: string;
  readonly containerDefinitions: readonly ContainerSeed[];
}

export interface ServiceSeed {
  readonly cluster: string;
  readonly name: string;
  /** Task definition ARN. */
  readonly taskDefinition: string;
  readonly deploymentController?: 'ECS' | 'CODE_DEPLOY' | 'EXTERNAL';
  /** Creation time of the current deployment. */
  readonly deployedAt: Date;
}

interface Deployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  taskDefinition: string;
  createdAt: Date;
  updatedAt: Date;
}

interface Service {
  readonly name: string;
  readonly arn: string;
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly controller: 'ECS' | 'CODE_DEPLOY' | 'EXTERNAL';
  readonly createdAt: Date;
  taskDefinition: string;
  deployments: Deployment[];
}

interface Cluster {
  readonly name: string;
  readonly arn: string;
  readonly services: Service[];
}

interface Secret {
  readonly name: string;
  readonly arn: string;
  readonly versionIdsToStages: Readonly<Record<string, readonly string[]>>;
}

class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const epochSeconds = (date: Date): number => date.getTime() / 1000;

/** The minimal request the SDK hands its HTTP handler (an `HttpRequest`). */
interface SdkRequest {
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** The minimal response the SDK accepts from its HTTP handler (an `HttpResponse`). */
interface SdkResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

const TARGETS: Readonly<Record<string, string>> = {
  AmazonEC2ContainerServiceV20141113: 'ecs',
  secretsmanager: 'secretsmanager',
};

const encoder = new TextEncoder();

export class SimulatedAws {
  readonly account = ACCOUNT;
  readonly region = REGION;
  private readonly clusters = new Map<string, Cluster>();
  /** `clusterArn|service name or ARN` → service. */
  private readonly services = new Map<string, Service>();
  /** Task definition ARN → the serialised DescribeTaskDefinition result. */
  private readonly taskDefinitions = new Map<string, string>();
  private readonly familyRevisions = new Map<string, number>();
  private readonly secrets = new Map<string, Secret>();
  private buckets = new Map<string, TokenBucket>();
  private counts = new Map<string, OperationCounts>();
  /** Milliseconds the simulator spent computing answers (its share of the process's CPU). */
  private simMs = 0;

  constructor(private options: SimOptions) {
    this.refillBuckets();
  }

  configure(options: Partial<SimOptions>): void {
    this.options = { ...this.options, ...options };
  }

  /** Fills every bucket, as after a quiet period longer than the slowest refill. */
  refillBuckets(): void {
    this.buckets = new Map(
      Object.entries(ECS_BUCKETS).map(([name, spec]) => [name, new TokenBucket(spec)]),
    );
  }

  resetCounts(): void {
    this.counts = new Map();
    this.simMs = 0;
  }

  /** Calls per `service.Operation` since the last reset. */
  callCounts(): Record<string, OperationCounts> {
    return Object.fromEntries(this.counts);
  }

  get simulatorMs(): number {
    return this.simMs;
  }

  /** SDK clients configured from the environment, like the handler's, answered by this sim. */
  clients(): { ecs: ECSClient; secretsManager: SecretsManagerClient } {
    const requestHandler = this.requestHandler();
    return {
      ecs: new ECSClient({ requestHandler }),
      secretsManager: new SecretsManagerClient({ requestHandler }),
    };
  }

  /** The object SDK clients take as `requestHandler`. */
  requestHandler(): Record<string, unknown> {
    return {
      handle: (request: SdkRequest) => this.handle(request),
      updateHttpClientConfig: (): void => undefined,
      httpHandlerConfigs: (): Json => ({}),
      destroy: (): void => undefined,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Seeding
  // -------------------------------------------------------------------------------------------

  addCluster(name: string): string {
    const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${name}`;
    this.clusters.set(name, { name, arn, services: [] });
    return arn;
  }

  registerTaskDefinition(seed: TaskDefinitionSeed): string {
    const revision = (this.familyRevisions.get(seed.family) ?? 0) + 1;
    this.familyRevisions.set(seed.family, revision);
    const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${seed.family}:${revision}`;
    const registeredAt = epochSeconds(new Date(Date.now() - 30 * 86_400_000));
    this.taskDefinitions.set(
      arn,
      JSON.stringify({
        taskDefinition: {
          taskDefinitionArn: arn,
          family: seed.family,
          revision,
          status: 'ACTIVE',
          containerDefinitions: seed.containerDefinitions.map((c) => ({
            image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${seed.family}:1.${revision}.0`,
            cpu: 0,
            essential: true,
            environment: [],
            mountPoints: [],
            volumesFrom: [],
            ...c,
          })),
          volumes: [],
          taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/${seed.family}-task`,
          executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/${seed.family}-execution`,
          networkMode: 'awsvpc',
          requiresAttributes: [
            { name: 'com.amazonaws.ecs.capability.logging-driver.awslogs' },
            { name: 'ecs.capability.execution-role-awslogs' },
            { name: 'ecs.capability.secrets.asm.environment-variables' },
            { name: 'com.amazonaws.ecs.capability.docker-remote-api.1.19' },
            { name: 'ecs.capability.task-eni' },
          ],
          placementConstraints: [],
          requiresCompatibilities: ['FARGATE'],
          compatibilities: ['EC2', 'FARGATE'],
          cpu: '512',
          memory: '1024',
          registeredAt,
          registeredBy: `arn:aws:sts::${ACCOUNT}:assumed-role/cdk-deploy/session`,
        },
        tags: [],
      }),
    );
    return arn;
  }

  createService(seed: ServiceSeed): string {
    const cluster = this.clusters.get(seed.cluster);
    if (!cluster) throw new Error(`no cluster ${seed.cluster}`);
    if (!this.taskDefinitions.has(seed.taskDefinition)) {
      throw new Error(`no task definition ${seed.taskDefinition}`);
    }
    const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster.name}/${seed.name}`;
    const service: Service = {
      name: seed.name,
      arn,
      clusterArn: cluster.arn,
      clusterName: cluster.name,
      controller: seed.deploymentController ?? 'ECS',
      createdAt: new Date(seed.deployedAt.getTime() - 30 * 86_400_000),
      taskDefinition: seed.taskDefinition,
      deployments: [
        {
          id: deploymentId(),
          status: 'PRIMARY',
          taskDefinition: seed.taskDefinition,
          createdAt: seed.deployedAt,
          updatedAt: seed.deployedAt,
        },
      ],
    };
    cluster.services.push(service);
    for (const key of [arn, seed.name]) this.services.set(`${cluster.arn}|${key}`, service);
    return arn;
  }

  createSecret(name: string, suffix: string, versionIdsToStages: Record<string, string[]>): string {
    const arn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${suffix}`;
    const secret = { name, arn, versionIdsToStages };
    for (const key of [name, arn]) this.secrets.set(key, secret);
    return arn;
  }

  // -------------------------------------------------------------------------------------------
  // The HTTP handler
  // -------------------------------------------------------------------------------------------

  private count(operation: string): OperationCounts {
    let counts = this.counts.get(operation);
    if (!counts) {
      counts = { attempts: 0, ok: 0, throttled: 0, errors: 0 };
      this.counts.set(operation, counts);
    }
    return counts;
  }

  private async handle(request: SdkRequest): Promise<{ response: SdkResponse }> {
    const arrived = performance.now();
    const target = headerValue(request.headers, 'x-amz-target') ?? '';
    const dot = target.lastIndexOf('.');
    const service = TARGETS[target.slice(0, dot)] ?? 'unknown';
    const operation = `${service}.${target.slice(dot + 1)}`;
    const counts = this.count(operation);
    counts.attempts += 1;
    const bucketName = BUCKET_OF[operation];
    const bucket = bucketName === undefined ? undefined : this.buckets.get(bucketName);
    const admitted = !this.options.throttling || bucket === undefined || bucket.take(arrived);
    this.simMs += performance.now() - arrived;

    if (this.options.latencyMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));
    }

    const started = performance.now();
    let status = 200;
    let payload: string;
    if (!admitted) {
      counts.throttled += 1;
      status = 400;
      payload = '{"__type":"ThrottlingException","message":"Rate exceeded"}';
    } else {
      try {
        payload = this.dispatch(operation, parseBody(request.body));
        counts.ok += 1;
      } catch (error) {
        counts.errors += 1;
        status = 400;
        const aws =
          error instanceof AwsError ? error : new AwsError('InternalFailure', String(error));
        payload = JSON.stringify({ __type: aws.code, message: aws.message });
      }
    }
    const body = encoder.encode(payload);
    this.simMs += performance.now() - started;
    return {
      response: {
        statusCode: status,
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'content-length': String(body.byteLength),
          'x-amzn-requestid': randomUUID(),
        },
        body,
      },
    };
  }

  private dispatch(operation: string, body: Json): string {
    switch (operation) {
      case 'ecs.ListClusters':
        return this.listClusters(body);
      case 'ecs.ListServices':
        return this.listServices(body);
      case 'ecs.DescribeServices':
        return this.describeServices(body);
      case 'ecs.DescribeTaskDefinition':
        return this.describeTaskDefinition(body);
      case 'ecs.UpdateService':
        return this.updateService(body);
      case 'secretsmanager.DescribeSecret':
        return this.describeSecret(body);
      default:
        throw new AwsError('AccessDeniedException', `not simulated: ${operation}`);
    }
  }

  private cluster(body: Json): Cluster {
    const reference = optionalString(body, 'cluster') ?? 'default';
    const name = reference.startsWith('arn:') ? reference.split('/').pop() : reference;
    const cluster = name === undefined ? undefined : this.clusters.get(name);
    if (!cluster || (reference.startsWith('arn:') && cluster.arn !== reference)) {
      throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
    }
    return cluster;
  }

  private listClusters(body: Json): string {
    const arns = [...this.clusters.values()].map((c) => c.arn);
    const { items, nextToken } = paginate(arns, body, 100);
    return JSON.stringify({ clusterArns: items, ...(nextToken && { nextToken }) });
  }

  private listServices(body: Json): string {
    const arns = this.cluster(body).services.map((s) => s.arn);
    // Without maxResults ListServices returns up to 10 results (ECS API reference).
    const { items, nextToken } = paginate(arns, body, 10);
    return JSON.stringify({ serviceArns: items, ...(nextToken && { nextToken }) });
  }

  private describeServices(body: Json): string {
    const cluster = this.cluster(body);
    const references = body.services;
    if (
      !Array.isArray(references) ||
      references.length === 0 ||
      !references.every((r) => typeof r === 'string')
    ) {
      throw new AwsError('InvalidParameterException', 'Services cannot be empty.');
    }
    if (references.length > 10) {
      throw new AwsError('InvalidParameterException', 'service names can have at most 10 items.');
    }
    const services: Json[] = [];
    const failures: Json[] = [];
    for (const reference of references) {
      const service = this.services.get(`${cluster.arn}|${reference}`);
      if (service) services.push(serviceJson(service));
      else failures.push({ arn: reference, reason: 'MISSING' });
    }
    return JSON.stringify({ services, failures });
  }

  private describeTaskDefinition(body: Json): string {
    const reference = optionalString(body, 'taskDefinition') ?? '';
    const found = this.taskDefinitions.get(reference);
    if (found === undefined) {
      throw new AwsError('ClientException', 'Unable to describe task definition.');
    }
    return found;
  }

  private updateService(body: Json): string {
    const cluster = this.cluster(body);
    const service = this.services.get(`${cluster.arn}|${optionalString(body, 'service') ?? ''}`);
    if (!service) throw new AwsError('ServiceNotFoundException', 'Service not found.');
    if (body.forceNewDeployment === true) {
      if (service.controller !== 'ECS') {
        throw new AwsError(
          'InvalidParameterException',
          `Unable to update task definition on services with a ${service.controller} deployment controller.`,
        );
      }
      const now = new Date();
      for (const deployment of service.deployments) {
        if (deployment.status === 'PRIMARY') {
          deployment.status = 'ACTIVE';
          deployment.updatedAt = now;
        }
      }
      // Older ACTIVE deployments finish draining; keep the list as short as ECS keeps it.
      service.deployments = [
        {
          id: deploymentId(),
          status: 'PRIMARY',
          taskDefinition: service.taskDefinition,
          createdAt: now,
          updatedAt: now,
        },
        ...service.deployments.slice(0, 1),
      ];
    }
    return JSON.stringify({ service: serviceJson(service) });
  }

  private describeSecret(body: Json): string {
    const secret = this.secrets.get(optionalString(body, 'SecretId') ?? '');
    if (!secret) {
      throw new AwsError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    }
    return JSON.stringify({
      ARN: secret.arn,
      Name: secret.name,
      VersionIdsToStages: secret.versionIdsToStages,
    });
  }
}

/** A service as DescribeServices returns it, with a few service events as ECS keeps them. */
function serviceJson(service: Service): Json {
  const common = {
    serviceArn: service.arn,
    serviceName: service.name,
    clusterArn: service.clusterArn,
    status: 'ACTIVE',
    desiredCount: 2,
    runningCount: 2,
    pendingCount: 0,
    launchType: 'FARGATE',
    platformVersion: 'LATEST',
    platformFamily: 'Linux',
    taskDefinition: service.taskDefinition,
    deploymentConfiguration: {
      deploymentCircuitBreaker: { enable: true, rollback: true },
      maximumPercent: 200,
      minimumHealthyPercent: 100,
    },
    deploymentController: { type: service.controller },
    roleArn: `arn:aws:iam::${ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`,
    createdAt: epochSeconds(service.createdAt),
    createdBy: `arn:aws:iam::${ACCOUNT}:role/cdk-deploy`,
    schedulingStrategy: 'REPLICA',
    enableECSManagedTags: false,
    propagateTags: 'NONE',
    enableExecuteCommand: false,
    healthCheckGracePeriodSeconds: 60,
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'],
        securityGroups: ['sg-0a1b2c3d4e5f60003'],
        assignPublicIp: 'DISABLED',
      },
    },
    loadBalancers: [
      {
        targetGroupArn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/${service.name.slice(0, 20)}/0123456789abcdef`,
        containerName: 'app',
        containerPort: 8080,
      },
    ],
    serviceRegistries: [],
    placementConstraints: [],
    placementStrategy: [],
    events: [0, 1, 2, 3, 4].map((i) => ({
      id: `${service.name}-event-${i}`,
      createdAt: epochSeconds(service.createdAt) + i * 21_600,
      message: `(service ${service.name}) has reached a steady state.`,
    })),
  };
  if (service.controller !== 'ECS') {
    // CODE_DEPLOY and EXTERNAL services run task sets; `deployments` is empty.
    return {
      ...common,
      deployments: [],
      taskSets: service.deployments.map((d) => ({
        id: d.id,
        taskSetArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-set/${service.clusterName}/${service.name}/${d.id}`,
        serviceArn: service.arn,
        clusterArn: service.clusterArn,
        status: d.status,
        taskDefinition: d.taskDefinition,
        computedDesiredCount: 2,
        pendingCount: 0,
        runningCount: 2,
        createdAt: epochSeconds(d.createdAt),
        updatedAt: epochSeconds(d.updatedAt),
        launchType: 'FARGATE',
        stabilityStatus: 'STEADY_STATE',
      })),
    };
  }
  return {
    ...common,
    deployments: service.deployments.map((d) => ({
      id: d.id,
      status: d.status,
      taskDefinition: d.taskDefinition,
      desiredCount: 2,
      pendingCount: 0,
      runningCount: d.status === 'PRIMARY' ? 2 : 0,
      failedTasks: 0,
      createdAt: epochSeconds(d.createdAt),
      updatedAt: epochSeconds(d.updatedAt),
      launchType: 'FARGATE',
      rolloutState: d.status === 'PRIMARY' ? 'COMPLETED' : 'IN_PROGRESS',
    })),
  };
}

let deployments = 0;
function deploymentId(): string {
  deployments += 1;
  return `ecs-svc/${String(9_000_000_000_000 + deployments)}`;
}

function paginate(
  items: readonly string[],
  body: Json,
  defaultPageSize: number,
): { items: string[]; nextToken?: string } {
  const maxResults = body.maxResults ?? defaultPageSize;
  if (typeof maxResults !== 'number' || maxResults < 1 || maxResults > 100) {
    throw new AwsError('InvalidParameterException', 'maxResults must be between 1 and 100.');
  }
  const token = optionalString(body, 'nextToken');
  const start = token === undefined ? 0 : Number(token.replace(/^offset-/, ''));
  const end = start + maxResults;
  return {
    items: items.slice(start, end),
    ...(end < items.length && { nextToken: `offset-${end}` }),
  };
}

function parseBody(body: unknown): Json {
  const text =
    typeof body === 'string'
      ? body
      : body instanceof Uint8Array
        ? new TextDecoder().decode(body)
        : '{}';
  const parsed: unknown = text === '' ? {} : JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AwsError('SerializationException', 'the request body is not a JSON object');
  }
  return parsed as Json;
}

function optionalString(body: Json, key: string): string | undefined {
  const value = body[key];
  return typeof value === 'string' ? value : undefined;
}

function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}
