/**
 * An in-memory account behind aws-sdk-client-mock stubs: ECS clusters, services and task
 * definitions, Secrets Manager secrets and SSM parameters (metadata only).
 *
 * Unlike test/helpers/ecs.ts, UpdateService changes the world: the service gets a new PRIMARY
 * deployment created at `world.now` (a clock the test controls), exactly as ECS records a forced
 * deployment, so a later DescribeServices sees it. That is what makes redelivered and retried
 * events countable: the function must rely on ECS's own record, not on memory.
 */
import {
  DescribeServicesCommand,
  type DescribeServicesCommandInput,
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandInput,
  type ECSClient,
  type KeyValuePair,
  ListClustersCommand,
  ListServicesCommand,
  type ListServicesCommandInput,
  type Service,
  type TaskDefinition,
  UpdateServiceCommand,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import {
  DescribeSecretCommand,
  type DescribeSecretCommandInput,
  ListSecretVersionIdsCommand,
  type ListSecretVersionIdsCommandInput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  DescribeParametersCommand,
  type DescribeParametersCommandInput,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { awsError } from '../helpers/aws-errors.js';
import { ACCOUNT, REGION } from './support.js';

export const clusterArn = (name: string): string =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${name}`;
export const serviceArn = (cluster: string, name: string): string =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster}/${name}`;
export const taskDefinitionArn = (family: string, revision = 1): string =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revision}`;
export const secretArn = (name: string, suffix: string, region = REGION, account = ACCOUNT) =>
  `arn:aws:secretsmanager:${region}:${account}:secret:${name}-${suffix}`;
export const partialSecretArn = (name: string, region = REGION, account = ACCOUNT) =>
  `arn:aws:secretsmanager:${region}:${account}:secret:${name}`;

export interface ServiceOptions {
  /** `NAME` → `valueFrom` of the one container's `secrets`. */
  readonly secrets: Readonly<Record<string, string>>;
  /** Plain environment variables of the container (values a log must never show). */
  readonly environment?: readonly KeyValuePair[];
  readonly status?: string;
  readonly controller?: 'ECS' | 'CODE_DEPLOY' | 'EXTERNAL';
  /** Creation time of the PRIMARY deployment. @default 2016-01-01 (before every sample event) */
  readonly deployedAt?: Date;
  readonly tags?: Readonly<Record<string, string>>;
}

interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  versionIdsToStages: Record<string, string[]>;
  /** When each version was created (ListSecretVersionIds). */
  readonly versionCreated: Record<string, Date>;
  readonly extra: Record<string, unknown>;
}

interface StoredParameter {
  readonly name: string;
  lastModified: Date;
  readonly extra: Record<string, unknown>;
}

export class MockWorld {
  /** The clock UpdateService stamps new deployments with. */
  now = new Date('2025-03-14T12:00:00Z');
  /** Successful UpdateService calls, in order. */
  readonly updates: { readonly service: string; readonly at: Date }[] = [];
  /** Every UpdateService call, failed ones included. */
  readonly updateAttempts: string[] = [];
  /** An error to answer UpdateService of a service with, instead of updating it. */
  failUpdate: (service: string) => Error | undefined = () => undefined;
  /** Extra fields merged into every DescribeSecret answer (planted values). */
  describeSecretExtra: Record<string, unknown> = {};

  private readonly clusters = new Map<string, Service[]>();
  private readonly taskDefinitions = new Map<string, TaskDefinition>();
  private readonly secrets: StoredSecret[] = [];
  private readonly parameters: StoredParameter[] = [];

  addCluster(name: string): void {
    if (!this.clusters.has(name)) this.clusters.set(name, []);
  }

  /** A service whose task definition (family = name, revision 1) has one container. */
  addService(cluster: string, name: string, options: ServiceOptions): string {
    this.addCluster(cluster);
    const td = taskDefinitionArn(`${cluster}-${name}`);
    this.taskDefinitions.set(td, {
      taskDefinitionArn: td,
      family: `${cluster}-${name}`,
      revision: 1,
      status: 'ACTIVE',
      containerDefinitions: [
        {
          name: 'app',
          image: 'public.ecr.aws/docker/library/nginx:latest',
          secrets: Object.entries(options.secrets).map(([key, valueFrom]) => ({
            name: key,
            valueFrom,
          })),
          environment: [...(options.environment ?? [])],
        },
      ],
      volumes: [],
    });
    const deployedAt = options.deployedAt ?? new Date('2016-01-01T00:00:00Z');
    const arn = serviceArn(cluster, name);
    this.clusters.get(cluster)?.push({
      serviceArn: arn,
      serviceName: name,
      clusterArn: clusterArn(cluster),
      status: options.status ?? 'ACTIVE',
      taskDefinition: td,
      deploymentController: { type: options.controller ?? 'ECS' },
      deployments: [
        {
          id: `ecs-svc/${name}-0`,
          status: 'PRIMARY',
          taskDefinition: td,
          createdAt: deployedAt,
          updatedAt: deployedAt,
          rolloutState: 'COMPLETED',
        },
      ],
      tags: Object.entries(options.tags ?? {}).map(([key, value]) => ({ key, value })),
    });
    return arn;
  }

  /** The task definition of a service added with `addService` (to plant values in it). */
  taskDefinitionOf(cluster: string, name: string): TaskDefinition {
    const found = this.taskDefinitions.get(taskDefinitionArn(`${cluster}-${name}`));
    if (!found) throw new Error(`no service ${cluster}/${name}`);
    return found;
  }

  addSecret(
    name: string,
    suffix: string,
    versionIdsToStages: Record<string, string[]> = { 'v-current': ['AWSCURRENT'] },
    versionCreated: Record<string, Date> = {},
    extra: Record<string, unknown> = {},
  ): string {
    const arn = secretArn(name, suffix);
    this.secrets.push({ name, arn, versionIdsToStages, versionCreated, extra });
    return arn;
  }

  addParameter(name: string, lastModified: Date, extra: Record<string, unknown> = {}): void {
    this.parameters.push({ name, lastModified, extra });
  }

  /** Every forced rollout completes: only the PRIMARY deployment of each service is left. */
  settle(): void {
    for (const services of this.clusters.values()) {
      for (const service of services) {
        service.deployments = (service.deployments ?? []).filter((d) => d.status === 'PRIMARY');
      }
    }
  }

  /** Removes a service (deleted by its owner). */
  deleteService(cluster: string, name: string): void {
    const services = this.clusters.get(cluster) ?? [];
    const index = services.findIndex((s) => s.serviceName === name);
    if (index >= 0) services.splice(index, 1);
  }

  /** Service ARNs successfully updated, sorted. */
  updatedServices(): string[] {
    return this.updates.map((u) => u.service).sort();
  }

  private servicesOf(cluster: string | undefined): Service[] {
    const name = (cluster ?? 'default').split('/').pop() ?? '';
    return this.clusters.get(name) ?? [];
  }

  serveEcs(ecsMock: AwsClientStub<ECSClient>): void {
    ecsMock
      .on(ListClustersCommand)
      .callsFake(() => ({ clusterArns: [...this.clusters.keys()].map((c) => clusterArn(c)) }));
    ecsMock.on(ListServicesCommand).callsFake((input: ListServicesCommandInput) => ({
      serviceArns: this.servicesOf(input.cluster)
        .filter((s) => s.status !== 'INACTIVE')
        .map((s) => s.serviceArn),
    }));
    ecsMock.on(DescribeServicesCommand).callsFake((input: DescribeServicesCommandInput) => {
      const known = this.servicesOf(input.cluster);
      const wanted = input.services ?? [];
      return {
        services: structuredClone(known.filter((s) => wanted.includes(s.serviceArn ?? ''))),
        failures: wanted
          .filter((arn) => !known.some((s) => s.serviceArn === arn))
          .map((arn) => ({ arn, reason: 'MISSING' })),
      };
    });
    ecsMock
      .on(DescribeTaskDefinitionCommand)
      .callsFake((input: DescribeTaskDefinitionCommandInput) => {
        const found = this.taskDefinitions.get(input.taskDefinition ?? '');
        if (!found) throw awsError('ClientException', 'Unable to describe task definition.');
        return { taskDefinition: structuredClone(found) };
      });
    ecsMock.on(UpdateServiceCommand).callsFake((input: UpdateServiceCommandInput) => {
      const arn = input.service ?? '';
      this.updateAttempts.push(arn);
      const failure = this.failUpdate(arn);
      if (failure) throw failure;
      const found = this.servicesOf(input.cluster).find((s) => s.serviceArn === arn);
      if (!found) throw awsError('ServiceNotFoundException', 'Service not found.');
      if (found.status !== 'ACTIVE') {
        throw awsError('ServiceNotActiveException', 'Service was not ACTIVE.');
      }
      const at = new Date(this.now);
      found.deployments = [
        {
          id: `ecs-svc/${found.serviceName ?? ''}-${this.updates.length + 1}`,
          status: 'PRIMARY',
          taskDefinition: found.taskDefinition,
          createdAt: at,
          updatedAt: at,
          rolloutState: 'IN_PROGRESS',
        },
        ...(found.deployments ?? []).map((d) => ({ ...d, status: 'ACTIVE' })),
      ];
      this.updates.push({ service: arn, at });
      return { service: structuredClone(found) };
    });
  }

  private findSecret(id: string): StoredSecret | undefined {
    return this.secrets.find(
      (s) => s.name === id || s.arn === id || partialSecretArn(s.name) === id,
    );
  }

  serveSecretsManager(smMock: AwsClientStub<SecretsManagerClient>): void {
    smMock.on(DescribeSecretCommand).callsFake((input: DescribeSecretCommandInput) => {
      const id = input.SecretId ?? '';
      // Secrets Manager API model: SecretId is 1 to 2048 characters.
      if (id.length < 1 || id.length > 2048) {
        throw awsError(
          'ValidationException',
          "1 validation error detected: Value at 'secretId' failed to satisfy constraint: " +
            'Member must have length less than or equal to 2048',
        );
      }
      const secret = this.findSecret(id);
      if (!secret) {
        throw awsError(
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret.",
        );
      }
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionIdsToStages: structuredClone(secret.versionIdsToStages),
        ...secret.extra,
        ...this.describeSecretExtra,
      };
    });
    smMock.on(ListSecretVersionIdsCommand).callsFake((input: ListSecretVersionIdsCommandInput) => {
      const secret = this.findSecret(input.SecretId ?? '');
      if (!secret) {
        throw awsError(
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret.",
        );
      }
      return {
        ARN: secret.arn,
        Name: secret.name,
        Versions: Object.entries(secret.versionIdsToStages).map(([VersionId, VersionStages]) => ({
          VersionId,
          VersionStages,
          CreatedDate: secret.versionCreated[VersionId] ?? new Date('2016-01-01T00:00:00Z'),
          ...secret.extra,
        })),
      };
    });
  }

  serveSsm(ssmMock: AwsClientStub<SSMClient>): void {
    ssmMock.on(DescribeParametersCommand).callsFake((input: DescribeParametersCommandInput) => {
      const wanted = new Set(input.ParameterFilters?.flatMap((f) => f.Values ?? []) ?? []);
      return {
        Parameters: this.parameters
          .filter((p) => wanted.has(p.name))
          .map((p) => ({ Name: p.name, LastModifiedDate: p.lastModified, ...p.extra })),
      };
    });
  }
}
