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
  ServiceNotFoundException,
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
  /** The service's tags, as DescribeServices returns them with `include: ['TAGS']`. */
  readonly tags?: Readonly<Record<string, string>>;
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
    ...(options.tags && {
      tags: Object.entries(options.tags).map(([key, value]) => ({ key, value })),
    }),
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

export interface ServeOptions {
  /**
   * UpdateService behaves like ECS: it adds a PRIMARY deployment of the service's task
   * definition, created at `clock()`, and demotes the previous PRIMARY to ACTIVE. The service is
   * then rolling out (two current deployments of one revision) until `completeRollouts`.
   * Without it, UpdateService adds nothing to the world.
   */
  readonly clock?: () => Date;
  /** UpdateService answers after this many milliseconds (a `setTimeout`: fake timers drive it). */
  readonly updateDelayMs?: number;
}

/** What the served world saw of UpdateService. */
export interface EcsStats {
  /** UpdateService calls received and not yet answered. */
  inFlight: number;
  maxInFlight: number;
  /** The most forced rollouts in progress in the world, counted after each UpdateService. */
  maxRollouts: number;
  /** UpdateService calls by service ARN. */
  readonly updates: Map<string, number>;
}

const CURRENT = new Set(['PRIMARY', 'ACTIVE']);

/** Services of the world with more than one current deployment (a rollout in progress). */
export function rolloutsInProgress(world: EcsWorld): string[] {
  return Object.values(world.clusters)
    .flat()
    .filter((s) => (s.deployments ?? []).filter((d) => CURRENT.has(d.status ?? '')).length > 1)
    .map((s) => s.serviceArn ?? '?');
}

/** Every rollout in progress finishes: the old deployments are drained and disappear. */
export function completeRollouts(world: EcsWorld): void {
  for (const services of Object.values(world.clusters)) {
    services.forEach((s, i) => {
      services[i] = {
        ...s,
        deployments: (s.deployments ?? []).filter((d) => d.status === 'PRIMARY'),
      };
    });
  }
}

/**
 * Answers ListClusters, ListServices, DescribeServices, DescribeTaskDefinition and UpdateService
 * from `world`. By default UpdateService succeeds and adds nothing to the world: tests that need a
 * new deployment to be visible change the world themselves, or pass `options.clock`.
 */
export function serveEcs(ecsMock: EcsMock, world: EcsWorld, options: ServeOptions = {}): EcsStats {
  const stats: EcsStats = { inFlight: 0, maxInFlight: 0, maxRollouts: 0, updates: new Map() };
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
  const { clock, updateDelayMs } = options;
  const update = (input: UpdateServiceCommandInput): { service: Service } => {
    const arn = input.service ?? '';
    stats.updates.set(arn, (stats.updates.get(arn) ?? 0) + 1);
    const services = servicesOf(input.cluster);
    const index = services.findIndex((s) => s.serviceArn === arn);
    const found = services[index];
    if (!clock) {
      return {
        service: {
          ...found,
          deployments: [
            { status: 'PRIMARY', createdAt: new Date(), taskDefinition: found?.taskDefinition },
            ...(found?.deployments ?? []).map((d) => ({ ...d, status: 'ACTIVE' })),
          ],
        },
      };
    }
    if (!found) {
      throw new ServiceNotFoundException({
        message: 'Service not found.',
        $metadata: { httpStatusCode: 400 },
      });
    }
    const at = clock();
    const updated: Service = {
      ...found,
      deployments: [
        {
          id: `ecs-svc/${String(stats.updates.get(arn))}-${found.serviceName ?? ''}`,
          status: 'PRIMARY',
          taskDefinition: found.taskDefinition,
          createdAt: at,
          updatedAt: at,
        },
        ...(found.deployments ?? [])
          .filter((d) => CURRENT.has(d.status ?? ''))
          .map((d) => ({ ...d, status: 'ACTIVE' })),
      ],
    };
    services[index] = updated;
    stats.maxRollouts = Math.max(stats.maxRollouts, rolloutsInProgress(world).length);
    return { service: updated };
  };
  ecsMock.on(UpdateServiceCommand).callsFake(async (input: UpdateServiceCommandInput) => {
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    try {
      const answer = update(input);
      if (updateDelayMs !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, updateDelayMs));
      }
      return answer;
    } finally {
      stats.inFlight -= 1;
    }
  });
  return stats;
}
