/**
 * A small in-memory AWS-compatible HTTP API for end-to-end tests of the bundled function: the
 * function reaches it through AWS_ENDPOINT_URL, exactly as it would reach moto or LocalStack.
 *
 * Wire format (checked against @aws-sdk/core's AwsJsonRpcProtocol and the ECS / Secrets Manager
 * clients' protocol settings, SDK 3.1164):
 * - every request is `POST /` with `Content-Type: application/x-amz-json-1.1` and
 *   `X-Amz-Target: <serviceTarget>.<Operation>`; serviceTarget is
 *   `AmazonEC2ContainerServiceV20141113` for ECS and `secretsmanager` for Secrets Manager;
 * - members keep their model names (`jsonName: false`): camelCase for ECS, PascalCase for
 *   Secrets Manager;
 * - timestamps are epoch seconds (JSON numbers) both ways (timestampFormat default 7);
 * - errors are HTTP 4xx with body `{"__type": "Code", "message": "…"}`; the SDK reads the code
 *   from `__type` (text after `#`, before `:`), then `code`, then the `X-Amzn-ErrorType` header.
 *
 * Implemented: ECS ListClusters, ListServices, DescribeServices, DescribeTaskDefinition,
 * UpdateService; Secrets Manager DescribeSecret. Every other operation of any service (notably
 * GetSecretValue and SSM GetParameter) is recorded and answered with AccessDeniedException, so a
 * test can prove it was never attempted.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export const ACCOUNT = '123456789012';
export const DEFAULT_REGION = 'us-east-1';

const TARGETS: Readonly<Record<string, string>> = {
  AmazonEC2ContainerServiceV20141113: 'ecs',
  secretsmanager: 'secretsmanager',
  AmazonSSM: 'ssm',
};

type Json = Record<string, unknown>;

/** One request the server received, whatever its outcome. */
export interface RecordedCall {
  /** `ecs`, `secretsmanager`, `ssm`, or the raw target prefix for anything else. */
  readonly service: string;
  readonly operation: string;
  /** Region from the SigV4 credential scope (the client's Region). */
  readonly region: string;
  /** The parsed JSON body. */
  readonly body: Json;
  /** HTTP status answered. */
  readonly status: number;
  /** Error code answered, if any. */
  readonly error?: string;
  /** The error was injected with `failNext`. */
  readonly injected?: boolean;
}

/** An error to answer instead of running the operation (see `FakeAws.failNext`). */
export interface FaultSeed {
  readonly operation: string;
  /** `ThrottlingException`, … */
  readonly code: string;
  readonly message?: string;
  /** HTTP status. @default 400 */
  readonly status?: number;
  /** How many matching calls fail. @default 1 */
  readonly times?: number;
  /** Only calls whose body this accepts. */
  readonly match?: (body: Readonly<Record<string, unknown>>) => boolean;
}

export interface ContainerDefinitionSeed {
  readonly name: string;
  readonly image?: string;
  readonly secrets?: readonly { readonly name: string; readonly valueFrom: string }[];
  readonly repositoryCredentials?: { readonly credentialsParameter: string };
  readonly logConfiguration?: {
    readonly logDriver: string;
    readonly options?: Readonly<Record<string, string>>;
    readonly secretOptions?: readonly { readonly name: string; readonly valueFrom: string }[];
  };
}

export interface TaskDefinitionSeed {
  readonly family: string;
  readonly containerDefinitions: readonly ContainerDefinitionSeed[];
  readonly volumes?: readonly Json[];
  readonly region?: string;
}

export interface DeploymentSeed {
  readonly status: 'PRIMARY' | 'ACTIVE';
  /** Task definition ARN or family:revision. */
  readonly taskDefinition: string;
  readonly createdAt: Date;
}

export interface ServiceSeed {
  readonly cluster: string;
  readonly name: string;
  /** Task definition ARN or family:revision of the service (and of its PRIMARY deployment). */
  readonly taskDefinition: string;
  readonly status?: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  readonly deploymentController?: 'ECS' | 'CODE_DEPLOY' | 'EXTERNAL';
  /** Creation time of the PRIMARY deployment (or task set). @default one day ago */
  readonly deployedAt?: Date;
  /** Explicit deployments, replacing the single PRIMARY one. */
  readonly deployments?: readonly DeploymentSeed[];
  readonly region?: string;
}

export interface SecretSeed {
  readonly name: string;
  /** The six random characters of the full ARN. */
  readonly suffix: string;
  readonly versionIdsToStages: Readonly<Record<string, readonly string[]>>;
  readonly region?: string;
}

interface Cluster {
  readonly region: string;
  readonly name: string;
  readonly arn: string;
}

interface TaskDefinition {
  readonly region: string;
  readonly family: string;
  readonly revision: number;
  readonly arn: string;
  readonly registeredAt: Date;
  readonly containerDefinitions: readonly ContainerDefinitionSeed[];
  readonly volumes: readonly Json[];
}

interface Deployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  taskDefinition: string;
  createdAt: Date;
  updatedAt: Date;
}

interface Service {
  readonly region: string;
  readonly cluster: Cluster;
  readonly name: string;
  readonly arn: string;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  readonly controller: 'ECS' | 'CODE_DEPLOY' | 'EXTERNAL';
  taskDefinition: string;
  readonly createdAt: Date;
  deployments: Deployment[];
}

interface Secret {
  readonly region: string;
  readonly name: string;
  readonly arn: string;
  versionIdsToStages: Record<string, string[]>;
  readonly createdAt: Date;
}

class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Epoch seconds with millisecond precision, as AWS JSON protocols send timestamps. */
const epochSeconds = (date: Date): number => Math.round(date.getTime()) / 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

export class FakeAws {
  readonly account = ACCOUNT;
  private readonly recorded: RecordedCall[] = [];
  private clusters: Cluster[] = [];
  private taskDefinitions: TaskDefinition[] = [];
  private services: Service[] = [];
  private secrets: Secret[] = [];

  private faults: { seed: FaultSeed; left: number }[] = [];
  private readonly server: Server;
  private port = 0;

  private constructor() {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(String(error));
      });
    });
  }

  /** Starts a server on 127.0.0.1 and an ephemeral port. */
  static async start(): Promise<FakeAws> {
    const fake = new FakeAws();
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(0, '127.0.0.1', () => {
        resolve();
      });
    });
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  /** The value for AWS_ENDPOINT_URL. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => {
      this.server.close((error) => {
        if (error) reject(error);
        else resolve();
      });
    });
  }

  /** Forgets every resource and every recorded call. */
  reset(): void {
    this.recorded.length = 0;
    this.clusters = [];
    this.taskDefinitions = [];
    this.services = [];
    this.secrets = [];
    this.faults = [];
  }

  /** Makes the next matching call(s) fail with `code`; they are recorded with `injected`. */
  failNext(seed: FaultSeed): void {
    this.faults.push({ seed, left: seed.times ?? 1 });
  }

  // -------------------------------------------------------------------------------------------
  // Seeding
  // -------------------------------------------------------------------------------------------

  clusterArn(name: string, region = DEFAULT_REGION): string {
    return `arn:aws:ecs:${region}:${ACCOUNT}:cluster/${name}`;
  }

  serviceArn(cluster: string, name: string, region = DEFAULT_REGION): string {
    return `arn:aws:ecs:${region}:${ACCOUNT}:service/${cluster}/${name}`;
  }

  addCluster(name: string, region = DEFAULT_REGION): string {
    const arn = this.clusterArn(name, region);
    this.clusters.push({ region, name, arn });
    return arn;
  }

  /** Registers the next revision of a family; returns its ARN. */
  registerTaskDefinition(seed: TaskDefinitionSeed): string {
    const region = seed.region ?? DEFAULT_REGION;
    const revision =
      this.taskDefinitions.filter((td) => td.region === region && td.family === seed.family)
        .length + 1;
    const arn = `arn:aws:ecs:${region}:${ACCOUNT}:task-definition/${seed.family}:${revision}`;
    this.taskDefinitions.push({
      region,
      family: seed.family,
      revision,
      arn,
      registeredAt: new Date(Date.now() - 2 * DAY_MS),
      containerDefinitions: structuredClone(seed.containerDefinitions),
      volumes: structuredClone(seed.volumes ?? []),
    });
    return arn;
  }

  createService(seed: ServiceSeed): string {
    const region = seed.region ?? DEFAULT_REGION;
    const cluster = this.findCluster(seed.cluster, region);
    const taskDefinition = this.findTaskDefinition(seed.taskDefinition, region).arn;
    const deployedAt = seed.deployedAt ?? new Date(Date.now() - DAY_MS);
    const deployments: Deployment[] = (
      seed.deployments ?? [{ status: 'PRIMARY', taskDefinition, createdAt: deployedAt }]
    ).map((d) => ({
      id: `ecs-svc/${randomDigits()}`,
      status: d.status,
      taskDefinition: this.findTaskDefinition(d.taskDefinition, region).arn,
      createdAt: d.createdAt,
      updatedAt: d.createdAt,
    }));
    const arn = this.serviceArn(cluster.name, seed.name, region);
    this.services.push({
      region,
      cluster,
      name: seed.name,
      arn,
      status: seed.status ?? 'ACTIVE',
      controller: seed.deploymentController ?? 'ECS',
      taskDefinition,
      createdAt: new Date(Date.now() - 30 * DAY_MS),
      deployments,
    });
    return arn;
  }

  /** Creates a secret; returns its full ARN. */
  createSecret(seed: SecretSeed): string {
    const region = seed.region ?? DEFAULT_REGION;
    const arn = `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:${seed.name}-${seed.suffix}`;
    this.secrets.push({
      region,
      name: seed.name,
      arn,
      versionIdsToStages: Object.fromEntries(
        Object.entries(seed.versionIdsToStages).map(([id, stages]) => [id, [...stages]]),
      ),
      createdAt: new Date(Date.now() - 30 * DAY_MS),
    });
    return arn;
  }

  /** Replaces a secret's staging labels (what PutSecretValue / UpdateSecretVersionStage do). */
  setVersionStages(
    name: string,
    versionIdsToStages: Readonly<Record<string, readonly string[]>>,
    region = DEFAULT_REGION,
  ): void {
    const secret = this.secrets.find((s) => s.region === region && s.name === name);
    if (!secret) throw new Error(`no secret ${name} in ${region}`);
    secret.versionIdsToStages = Object.fromEntries(
      Object.entries(versionIdsToStages).map(([id, stages]) => [id, [...stages]]),
    );
  }

  /** A copy of a service as DescribeServices would return it. */
  describeService(cluster: string, name: string, region = DEFAULT_REGION): Json {
    const service = this.services.find(
      (s) => s.region === region && s.cluster.name === cluster && s.name === name,
    );
    if (!service) throw new Error(`no service ${cluster}/${name}`);
    return serviceJson(service);
  }

  // -------------------------------------------------------------------------------------------
  // Inspection
  // -------------------------------------------------------------------------------------------

  /** Every call received, in order. */
  calls(): readonly RecordedCall[] {
    return [...this.recorded];
  }

  callsTo(operation: string, service?: string): readonly RecordedCall[] {
    return this.recorded.filter(
      (call) => call.operation === operation && (service === undefined || call.service === service),
    );
  }

  // -------------------------------------------------------------------------------------------
  // HTTP
  // -------------------------------------------------------------------------------------------

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const region = signingRegion(request.headers.authorization) ?? DEFAULT_REGION;
    const target = header(request, 'x-amz-target') ?? '';
    const dot = target.lastIndexOf('.');
    const prefix = dot < 0 ? '' : target.slice(0, dot);
    const operation =
      dot < 0 ? `${request.method ?? '?'} ${request.url ?? ''}` : target.slice(dot + 1);
    const service = TARGETS[prefix] ?? (prefix || 'unknown');

    let body: Json = {};
    let status = 200;
    let injected = false;
    let result: Json;
    try {
      if (request.method !== 'POST' || dot < 0) {
        throw new AwsError('AccessDeniedException', `not implemented: ${operation}`);
      }
      try {
        const parsed: unknown = text === '' ? {} : JSON.parse(text);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          throw new Error('not an object');
        }
        body = parsed as Json;
      } catch {
        throw new AwsError('SerializationException', 'the request body is not a JSON object');
      }
      const contentType = header(request, 'content-type') ?? '';
      if (contentType !== 'application/x-amz-json-1.1') {
        throw new AwsError('SerializationException', `unexpected Content-Type ${contentType}`);
      }
      const fault = this.faults.find(
        (f) => f.left > 0 && f.seed.operation === operation && (f.seed.match?.(body) ?? true),
      );
      if (fault) {
        fault.left -= 1;
        injected = true;
        throw new AwsError(
          fault.seed.code,
          fault.seed.message ?? 'Rate exceeded',
          fault.seed.status,
        );
      }
      result = this.dispatch(service, operation, region, body);
    } catch (error) {
      const aws =
        error instanceof AwsError ? error : new AwsError('InternalFailure', String(error), 500);
      status = aws.status;
      result = { __type: aws.code, message: aws.message };
    }
    this.recorded.push({
      service,
      operation,
      region,
      body,
      status,
      ...(status !== 200 && { error: String(result.__type) }),
      ...(injected && { injected }),
    });
    const payload = JSON.stringify(result);
    response.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(payload),
      'x-amzn-requestid': randomUUID(),
    });
    response.end(payload);
  }

  private dispatch(service: string, operation: string, region: string, body: Json): Json {
    if (service === 'ecs') {
      switch (operation) {
        case 'ListClusters':
          return this.listClusters(region, body);
        case 'ListServices':
          return this.listServices(region, body);
        case 'DescribeServices':
          return this.describeServices(region, body);
        case 'DescribeTaskDefinition':
          return this.describeTaskDefinition(region, body);
        case 'UpdateService':
          return this.updateService(region, body);
      }
    }
    if (service === 'secretsmanager' && operation === 'DescribeSecret') {
      return this.describeSecret(region, body);
    }
    throw new AwsError(
      'AccessDeniedException',
      `User is not authorized to perform: ${service}:${operation} (not implemented by the fake)`,
    );
  }

  // -------------------------------------------------------------------------------------------
  // ECS
  // -------------------------------------------------------------------------------------------

  private findCluster(reference: string, region: string): Cluster {
    const cluster = this.clusters.find(
      (c) => c.region === region && (c.name === reference || c.arn === reference),
    );
    if (!cluster) throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
    return cluster;
  }

  /** `cluster` member of a request; ECS uses the `default` cluster when it is absent. */
  private requestCluster(region: string, body: Json): Cluster {
    const reference = optionalString(body, 'cluster') ?? 'default';
    return this.findCluster(reference, region);
  }

  private findTaskDefinition(reference: string, region: string): TaskDefinition {
    const arn = /^arn:aws:ecs:([^:]+):(\d{12}):task-definition\/(.+)$/.exec(reference);
    const regionOf = arn?.[1] ?? region;
    const familyRevision = arn?.[3] ?? reference;
    const [family, revisionText] = familyRevision.split(':');
    const candidates = this.taskDefinitions.filter(
      (td) =>
        td.region === regionOf &&
        (arn === null || arn[2] === ACCOUNT) &&
        td.family === family &&
        (revisionText === undefined || String(td.revision) === revisionText),
    );
    const found = candidates.at(-1);
    if (!found) throw new AwsError('ClientException', 'Unable to describe task definition.');
    return found;
  }

  /** A service of `cluster` by name or ARN (new `service/CLUSTER/NAME` or old `service/NAME`). */
  private findService(cluster: Cluster, reference: string): Service | undefined {
    return this.services.find(
      (s) =>
        s.cluster === cluster &&
        (s.name === reference ||
          s.arn === reference ||
          reference === `arn:aws:ecs:${s.region}:${ACCOUNT}:service/${s.name}`),
    );
  }

  private listClusters(region: string, body: Json): Json {
    const arns = this.clusters.filter((c) => c.region === region).map((c) => c.arn);
    const { items, nextToken } = paginate(arns, body, 100);
    return { clusterArns: items, ...(nextToken !== undefined && { nextToken }) };
  }

  private listServices(region: string, body: Json): Json {
    const cluster = this.requestCluster(region, body);
    const arns = this.services
      .filter((s) => s.cluster === cluster && s.status !== 'INACTIVE')
      .map((s) => s.arn);
    // Without maxResults ListServices returns up to 10 results (ECS API reference).
    const { items, nextToken } = paginate(arns, body, 10);
    return { serviceArns: items, ...(nextToken !== undefined && { nextToken }) };
  }

  private describeServices(region: string, body: Json): Json {
    const cluster = this.requestCluster(region, body);
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
      const service = this.findService(cluster, reference);
      if (service) services.push(serviceJson(service));
      else {
        failures.push({
          arn: reference.startsWith('arn:')
            ? reference
            : `arn:aws:ecs:${region}:${ACCOUNT}:service/${cluster.name}/${reference}`,
          reason: 'MISSING',
        });
      }
    }
    return { services, failures };
  }

  private describeTaskDefinition(region: string, body: Json): Json {
    const reference = optionalString(body, 'taskDefinition');
    if (reference === undefined) {
      throw new AwsError('ClientException', 'Task definition cannot be empty.');
    }
    const td = this.findTaskDefinition(reference, region);
    return {
      taskDefinition: {
        taskDefinitionArn: td.arn,
        family: td.family,
        revision: td.revision,
        status: 'ACTIVE',
        containerDefinitions: td.containerDefinitions.map((c) => ({
          image: 'public.ecr.aws/docker/library/busybox:latest',
          essential: true,
          environment: [],
          mountPoints: [],
          volumesFrom: [],
          ...c,
        })),
        volumes: td.volumes,
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        compatibilities: ['EC2', 'FARGATE'],
        cpu: '256',
        memory: '512',
        executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecsTaskExecutionRole`,
        registeredAt: epochSeconds(td.registeredAt),
        registeredBy: `arn:aws:iam::${ACCOUNT}:root`,
      },
      tags: [],
    };
  }

  private updateService(region: string, body: Json): Json {
    const cluster = this.requestCluster(region, body);
    const reference = optionalString(body, 'service');
    if (reference === undefined)
      throw new AwsError('InvalidParameterException', 'Service cannot be empty.');
    const service = this.findService(cluster, reference);
    if (!service) throw new AwsError('ServiceNotFoundException', 'Service not found.');
    if (service.status !== 'ACTIVE') {
      throw new AwsError('ServiceNotActiveException', 'Service was not ACTIVE.');
    }
    const newTaskDefinition = optionalString(body, 'taskDefinition');
    const force = body.forceNewDeployment === true;
    if (service.controller !== 'ECS' && (force || newTaskDefinition !== undefined)) {
      throw new AwsError(
        'InvalidParameterException',
        `Unable to update task definition on services with a ${service.controller} deployment controller.`,
      );
    }
    if (force || newTaskDefinition !== undefined) {
      const taskDefinition =
        newTaskDefinition === undefined
          ? service.taskDefinition
          : this.findTaskDefinition(newTaskDefinition, region).arn;
      const now = new Date();
      for (const deployment of service.deployments) {
        if (deployment.status === 'PRIMARY') {
          deployment.status = 'ACTIVE';
          deployment.updatedAt = now;
        }
      }
      service.deployments.unshift({
        id: `ecs-svc/${randomDigits()}`,
        status: 'PRIMARY',
        taskDefinition,
        createdAt: now,
        updatedAt: now,
      });
      service.taskDefinition = taskDefinition;
    }
    return { service: serviceJson(service) };
  }

  // -------------------------------------------------------------------------------------------
  // Secrets Manager
  // -------------------------------------------------------------------------------------------

  private describeSecret(region: string, body: Json): Json {
    const id = optionalString(body, 'SecretId');
    if (id === undefined) throw new AwsError('InvalidParameterException', 'SecretId is required.');
    const secret = this.secrets.find(
      (s) =>
        s.region === region &&
        (s.name === id ||
          s.arn === id ||
          id === `arn:aws:secretsmanager:${s.region}:${ACCOUNT}:secret:${s.name}`),
    );
    if (!secret) {
      throw new AwsError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      CreatedDate: epochSeconds(secret.createdAt),
      LastChangedDate: epochSeconds(secret.createdAt),
      VersionIdsToStages: secret.versionIdsToStages,
    };
  }
}

function serviceJson(service: Service): Json {
  const launchType = 'FARGATE';
  const current = service.deployments; // PRIMARY and ACTIVE only
  const common = {
    serviceArn: service.arn,
    serviceName: service.name,
    clusterArn: service.cluster.arn,
    status: service.status,
    desiredCount: 1,
    runningCount: 1,
    pendingCount: 0,
    launchType,
    taskDefinition: service.taskDefinition,
    deploymentController: { type: service.controller },
    createdAt: epochSeconds(service.createdAt),
    schedulingStrategy: 'REPLICA',
    events: [],
    loadBalancers: [],
    serviceRegistries: [],
    placementConstraints: [],
    placementStrategy: [],
  };
  if (service.controller !== 'ECS') {
    // CODE_DEPLOY and EXTERNAL services run task sets; `deployments` is empty.
    return {
      ...common,
      deployments: [],
      taskSets: current.map((d) => ({
        id: d.id,
        taskSetArn: `arn:aws:ecs:${service.region}:${ACCOUNT}:task-set/${service.cluster.name}/${service.name}/${d.id.slice('ecs-svc/'.length)}`,
        serviceArn: service.arn,
        clusterArn: service.cluster.arn,
        status: d.status,
        taskDefinition: d.taskDefinition,
        computedDesiredCount: 1,
        pendingCount: 0,
        runningCount: 1,
        createdAt: epochSeconds(d.createdAt),
        updatedAt: epochSeconds(d.updatedAt),
        launchType,
        stabilityStatus: 'STEADY_STATE',
      })),
    };
  }
  return {
    ...common,
    deployments: current.map((d) => ({
      id: d.id,
      status: d.status,
      taskDefinition: d.taskDefinition,
      desiredCount: 1,
      pendingCount: 0,
      runningCount: d.status === 'PRIMARY' ? 1 : 0,
      failedTasks: 0,
      createdAt: epochSeconds(d.createdAt),
      updatedAt: epochSeconds(d.updatedAt),
      launchType,
      rolloutState: d.status === 'PRIMARY' ? 'IN_PROGRESS' : 'COMPLETED',
    })),
  };
}

function paginate(
  items: readonly string[],
  body: Json,
  defaultPageSize: number,
): { items: string[]; nextToken?: string } {
  const maxResults = body.maxResults ?? defaultPageSize;
  if (
    typeof maxResults !== 'number' ||
    !Number.isInteger(maxResults) ||
    maxResults < 1 ||
    maxResults > 100
  ) {
    throw new AwsError('InvalidParameterException', 'maxResults must be between 1 and 100.');
  }
  let start = 0;
  const token = optionalString(body, 'nextToken');
  if (token !== undefined) {
    const decoded = /^offset:(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'));
    if (!decoded?.[1]) throw new AwsError('InvalidParameterException', 'Invalid nextToken.');
    start = Number(decoded[1]);
  }
  const end = start + maxResults;
  return {
    items: items.slice(start, end),
    ...(end < items.length && {
      nextToken: Buffer.from(`offset:${end}`, 'utf8').toString('base64'),
    }),
  };
}

function optionalString(body: Json, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new AwsError('SerializationException', `${key} must be a string`);
  return value;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ecs/aws4_request, …` → `us-east-1`. */
function signingRegion(authorization: string | undefined): string | undefined {
  return authorization === undefined
    ? undefined
    : /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(authorization)?.[1];
}

function randomDigits(): string {
  return String(Math.floor(Math.random() * 1e12)).padStart(12, '0');
}
