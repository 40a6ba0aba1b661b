/**
 * A small in-memory ECS account for tests: clusters, services and task definitions, served
 * through an `aws-sdk-client-mock` stub of `ECSClient`.
 */
import {
  ClientException,
  type ContainerDefinition,
  DescribeServicesCommand,
  type DescribeServicesCommandInput,
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandInput,
  type ECSClient,
  ListClustersCommand,
  ListServicesCommand,
  type ListServicesCommandInput,
  type Service,
  type TaskDefinition,
  UpdateServiceCommand,
  type UpdateServiceCommandInput,
  type Volume,
} from '@aws-sdk/client-ecs';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import type { Scope } from '../../functions/redeploy/arn.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const HOME: Scope = { partition: 'aws', region: REGION, account: ACCOUNT };

export type EcsMock = AwsClientStub<ECSClient>;

export const clusterArn = (name: string): string =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${name}`;
export const serviceArn = (cluster: string, name: string): string =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster}/${name}`;
export const taskDefinitionArn = (family: string, revision: number): string =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revision}`;

export interface ServiceOptions {
  readonly cluster: string;
  readonly name: string;
  readonly taskDefinition: string;
  readonly status?: string;
  readonly controller?: 'ECS' | 'CODE_DEPLOY' | 'EXTERNAL';
  /** Creation time of the PRIMARY deployment. @default 2016-01-01T00:00:00Z (before every fixture event) */
  readonly deployedAt?: Date;
}

/** A service as DescribeServices returns it, with one PRIMARY deployment. */
export function service(options: ServiceOptions): Service {
  const deployedAt = options.deployedAt ?? new Date('2016-01-01T00:00:00Z');
  return {
    serviceArn: serviceArn(options.cluster, options.name),
    serviceName: options.name,
    clusterArn: clusterArn(options.cluster),
    status: options.status ?? 'ACTIVE',
    taskDefinition: options.taskDefinition,
    deploymentController: { type: options.controller ?? 'ECS' },
    deployments: [
      {
        id: `ecs-svc/${options.name}`,
        status: 'PRIMARY',
        taskDefinition: options.taskDefinition,
        createdAt: deployedAt,
        updatedAt: deployedAt,
      },
    ],
  };
}

/** A task definition whose one container `app` takes `secrets` (`NAME` to `valueFrom`). */
export function taskDefinition(
  arn: string,
  secrets: Readonly<Record<string, string>>,
  extra: { containers?: ContainerDefinition[]; volumes?: Volume[] } = {},
): TaskDefinition {
  return {
    taskDefinitionArn: arn,
    family: arn.split('/').pop()?.split(':')[0],
    containerDefinitions: [
      {
        name: 'app',
        image: 'public.ecr.aws/docker/library/nginx:latest',
        secrets: Object.entries(secrets).map(([name, valueFrom]) => ({ name, valueFrom })),
      },
      ...(extra.containers ?? []),
    ],
    volumes: extra.volumes ?? [],
  };
}

export interface EcsWorld {
  /** The services of each cluster (keyed by cluster name). */
  readonly clusters: Record<string, Service[]>;
  readonly taskDefinitions: readonly TaskDefinition[];
}

const nameOf = (nameOrArn: string): string => nameOrArn.split('/').pop() ?? nameOrArn;

/**
 * Answers ListClusters, ListServices, DescribeServices, DescribeTaskDefinition and UpdateService
 * from `world`. UpdateService succeeds and adds nothing to the world: tests that need a new
 * deployment to be visible change the world themselves.
 */
export function serveEcs(ecsMock: EcsMock, world: EcsWorld): void {
  const servicesOf = (cluster: string | undefined): Service[] =>
    world.clusters[nameOf(cluster ?? 'default')] ?? [];
  ecsMock
    .on(ListClustersCommand)
    .resolves({ clusterArns: Object.keys(world.clusters).map((name) => clusterArn(name)) });
  ecsMock.on(ListServicesCommand).callsFake((input: ListServicesCommandInput) => ({
    serviceArns: servicesOf(input.cluster).map((s) => s.serviceArn),
  }));
  ecsMock.on(DescribeServicesCommand).callsFake((input: DescribeServicesCommandInput) => {
    const known = servicesOf(input.cluster);
    const wanted = input.services ?? [];
    return {
      services: known.filter((s) => wanted.includes(s.serviceArn ?? '')),
      failures: wanted
        .filter((arn) => !known.some((s) => s.serviceArn === arn))
        .map((arn) => ({ arn, reason: 'MISSING' })),
    };
  });
  ecsMock
    .on(DescribeTaskDefinitionCommand)
    .callsFake((input: DescribeTaskDefinitionCommandInput) => {
      const found = world.taskDefinitions.find(
        (td) => td.taskDefinitionArn === input.taskDefinition,
      );
      if (!found) {
        throw new ClientException({
          message: 'Unable to describe task definition.',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return { taskDefinition: found };
    });
  ecsMock.on(UpdateServiceCommand).callsFake((input: UpdateServiceCommandInput) => {
    const found = servicesOf(input.cluster).find((s) => s.serviceArn === input.service);
    return {
      service: {
        ...found,
        deployments: [
          { status: 'PRIMARY', createdAt: new Date(), taskDefinition: found?.taskDefinition },
          ...(found?.deployments ?? []).map((d) => ({ ...d, status: 'ACTIVE' })),
        ],
      },
    };
  });
}
