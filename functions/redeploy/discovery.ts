/**
 * Finds the services of the configured clusters and what their current deployments run.
 *
 * Calls: ListClusters (only when no clusters are configured), ListServices (100 a page),
 * DescribeServices (10 at a time). Services are handed to `visit` as soon as their batch is
 * described, so reading task definitions and redeploying overlap with discovery.
 */
import {
  DescribeServicesCommand,
  ListClustersCommand,
  ListServicesCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { errorMessage } from './errors.js';
import { type Limiter, createLimiter } from './limit.js';
import type { EcsLike } from './task-definitions.js';

/** One current deployment (PRIMARY or ACTIVE) of a service, as DescribeServices shows it. */
export interface DeploymentView {
  /** `ecs-svc/…`; absent only for a deployment this environment started and ECS does not list yet. */
  readonly id?: string;
  /** PRIMARY or ACTIVE. */
  readonly status: string;
  /** IN_PROGRESS, COMPLETED or FAILED; some AWS-compatible APIs leave it out. */
  readonly rolloutState?: string;
  readonly rolloutStateReason?: string;
  readonly createdAt?: Date;
  readonly updatedAt?: Date;
  readonly taskDefinition?: string;
  readonly desiredCount?: number;
  readonly runningCount: number;
  readonly failedTasks?: number;
}

/** What the redeployer needs to know about a service. */
export interface ServiceSummary {
  readonly arn: string;
  readonly name: string;
  readonly clusterArn: string;
  /** ACTIVE, DRAINING or INACTIVE. */
  readonly status: string;
  /** ECS, CODE_DEPLOY or EXTERNAL. */
  readonly controller: string;
  /** Task definitions of every current deployment (PRIMARY, ACTIVE) and task set. */
  readonly taskDefinitions: readonly string[];
  /** Creation time of the newest deployment or task set. */
  readonly newestDeploymentAt?: Date;
  /**
   * A forced redeploy is rolling out: two or more current deployments of one task definition
   * (a new deployment of an unchanged task definition is what forceNewDeployment makes; a
   * release of a new revision is not counted). Stateless, so it holds across invocations.
   */
  readonly forcedRollout: boolean;
  /** The service's tags (opt-in / opt-out). */
  readonly tags: Readonly<Record<string, string>>;
  /** Current deployments (PRIMARY, ACTIVE), newest first. */
  readonly deployments?: readonly DeploymentView[];
  /** The deployment circuit breaker is on: ECS ends a failing deployment (and sends FAILED). */
  readonly circuitBreaker?: boolean;
  /** The deployment strategy when not ROLLING: BLUE_GREEN, LINEAR or CANARY. */
  readonly strategy?: string;
  /**
   * Minutes a deployment of the blue/green family bakes once its tasks are up: the bake time,
   * plus the canary's bake or the linear steps' bakes. Part of the time a deployment may take.
   */
  readonly bakeMinutes?: number;
  /** Pause lifecycle hooks: a deployment may wait for a person (ContinueServiceDeployment). */
  readonly pauseHooks?: boolean;
  /** The first load balancer's container and port (the next step for CODE_DEPLOY services). */
  readonly loadBalancer?: { readonly containerName: string; readonly containerPort: number };
  /** The external id of the primary task set (CodeDeploy: its deployment id). */
  readonly primaryTaskSet?: { readonly externalId?: string; readonly taskDefinition?: string };
}

export interface DiscoveryFailure {
  /** The cluster or services that could not be read. */
  readonly target: string;
  readonly error: string;
}

/**
 * The service ARNs each cluster listed last time, kept by a warm execution environment. Their
 * descriptions are requested at once, while the cluster is listed again, which takes a call off
 * the critical path; only services listed now but unknown then are described afterwards.
 */
export class ServiceDirectory {
  private readonly byCluster = new Map<string, readonly string[]>();

  known(cluster: string): readonly string[] {
    return this.byCluster.get(cluster) ?? [];
  }

  update(cluster: string, serviceArns: readonly string[]): void {
    this.byCluster.set(cluster, serviceArns);
  }
}

export interface DiscoveryOptions {
  /** Cluster names or ARNs; empty means every cluster of the account and Region. */
  readonly clusters: readonly string[];
  /** Services listed by earlier invocations (see ServiceDirectory). */
  readonly directory?: ServiceDirectory;
  /** Concurrent DescribeServices calls. @default 10 */
  readonly describeConcurrency?: number;
  /** Clusters listed at once. @default 5 */
  readonly clusterConcurrency?: number;
}

export interface DiscoveryStats {
  clusters: number;
  services: number;
}

const CURRENT = new Set(['PRIMARY', 'ACTIVE']);

export function summarise(service: Service): ServiceSummary | undefined {
  const { serviceArn, serviceName, clusterArn } = service;
  if (serviceArn === undefined || clusterArn === undefined) return undefined;
  const taskDefinitions = new Set<string>();
  let newest: Date | undefined;
  const consider = (taskDefinition?: string, createdAt?: Date): void => {
    if (taskDefinition) taskDefinitions.add(taskDefinition);
    if (createdAt instanceof Date && !Number.isNaN(createdAt.getTime())) {
      if (newest === undefined || createdAt > newest) newest = createdAt;
    }
  };
  for (const deployment of service.deployments ?? []) {
    if (CURRENT.has(deployment.status ?? '')) {
      consider(deployment.taskDefinition, deployment.createdAt);
    }
  }
  for (const taskSet of service.taskSets ?? []) {
    if (CURRENT.has(taskSet.status ?? '')) consider(taskSet.taskDefinition, taskSet.createdAt);
  }
  if (taskDefinitions.size === 0 && service.taskDefinition) {
    taskDefinitions.add(service.taskDefinition);
  }
  const current = (service.deployments ?? []).filter((d) => CURRENT.has(d.status ?? ''));
  const deployments: DeploymentView[] = current
    .map((d) => ({
      ...(d.id !== undefined && { id: d.id }),
      status: d.status ?? 'ACTIVE',
      ...(d.rolloutState !== undefined && { rolloutState: d.rolloutState }),
      ...(d.rolloutStateReason !== undefined && { rolloutStateReason: d.rolloutStateReason }),
      ...(validDate(d.createdAt) && { createdAt: d.createdAt }),
      ...(validDate(d.updatedAt) && { updatedAt: d.updatedAt }),
      ...(d.taskDefinition !== undefined && { taskDefinition: d.taskDefinition }),
      ...(d.desiredCount !== undefined && { desiredCount: d.desiredCount }),
      runningCount: d.runningCount ?? 0,
      ...(d.failedTasks !== undefined && { failedTasks: d.failedTasks }),
    }))
    .sort(newestFirst);
  const tags: Record<string, string> = {};
  for (const tag of service.tags ?? []) {
    if (tag.key !== undefined) tags[tag.key] = tag.value ?? '';
  }
  return {
    arn: serviceArn,
    name: serviceName ?? serviceArn.split('/').pop() ?? serviceArn,
    clusterArn,
    status: service.status ?? 'ACTIVE',
    controller: service.deploymentController?.type ?? 'ECS',
    taskDefinitions: [...taskDefinitions],
    ...(newest && { newestDeploymentAt: newest }),
    forcedRollout:
      current.length > 1 && current.every((d) => d.taskDefinition === current[0]?.taskDefinition),
    tags,
    deployments,
    ...(service.deploymentConfiguration?.deploymentCircuitBreaker?.enable !== undefined && {
      circuitBreaker: service.deploymentConfiguration.deploymentCircuitBreaker.enable,
    }),
    ...strategyOf(service),
  };
}

/** The strategy, its bake and its pause hooks; the task-set facts of other controllers. */
function strategyOf(
  service: Service,
): Pick<
  ServiceSummary,
  'strategy' | 'bakeMinutes' | 'pauseHooks' | 'loadBalancer' | 'primaryTaskSet'
> {
  const config = service.deploymentConfiguration;
  const strategy = config?.strategy;
  const minutes = (value: number | undefined, fallback: number): number =>
    typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
  let bakeMinutes = 0;
  if (strategy === 'BLUE_GREEN' || strategy === 'LINEAR' || strategy === 'CANARY') {
    bakeMinutes = minutes(config?.bakeTimeInMinutes, 0);
    if (strategy === 'CANARY') {
      bakeMinutes += minutes(config?.canaryConfiguration?.canaryBakeTimeInMinutes, 10);
    }
    if (strategy === 'LINEAR') {
      // Between steps only: not after the last one (ECS API reference, LinearConfiguration).
      const percent = minutes(config?.linearConfiguration?.stepPercent, 10) || 10;
      const steps = Math.ceil(100 / percent);
      bakeMinutes += minutes(config?.linearConfiguration?.stepBakeTimeInMinutes, 6) * (steps - 1);
    }
  }
  const pauseHooks = (config?.lifecycleHooks ?? []).some((hook) => hook.targetType === 'PAUSE');
  const balancer = (service.loadBalancers ?? []).find(
    (lb) => lb.containerName !== undefined && lb.containerPort !== undefined,
  );
  const primary = (service.taskSets ?? []).find((set) => set.status === 'PRIMARY');
  return {
    ...(strategy !== undefined && strategy !== 'ROLLING' && { strategy }),
    ...(bakeMinutes > 0 && { bakeMinutes }),
    ...(pauseHooks && { pauseHooks }),
    ...(balancer?.containerName !== undefined &&
      balancer.containerPort !== undefined && {
        loadBalancer: {
          containerName: balancer.containerName,
          containerPort: balancer.containerPort,
        },
      }),
    ...(primary && {
      primaryTaskSet: {
        ...(primary.externalId !== undefined && { externalId: primary.externalId }),
        ...(primary.taskDefinition !== undefined && { taskDefinition: primary.taskDefinition }),
      },
    }),
  };
}

function validDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

/** PRIMARY before ACTIVE, then newest first (a deployment without a date last). */
export function newestFirst(a: DeploymentView, b: DeploymentView): number {
  if ((a.status === 'PRIMARY') !== (b.status === 'PRIMARY')) return a.status === 'PRIMARY' ? -1 : 1;
  const at = (d: DeploymentView): number => d.createdAt?.getTime() ?? Number.NEGATIVE_INFINITY;
  if (at(a) === at(b)) return 0;
  return at(b) > at(a) ? 1 : -1;
}

/**
 * Walks every service of the configured clusters, calling `visit` for each as soon as it is
 * described; resolves when every visit has settled. Failures to read a cluster or a batch of
 * services are returned, not thrown, so the rest is still handled.
 */
export async function discoverServices(
  ecs: EcsLike,
  options: DiscoveryOptions,
  visit: (service: ServiceSummary) => Promise<void>,
  stats: DiscoveryStats = { clusters: 0, services: 0 },
): Promise<DiscoveryFailure[]> {
  const failures: DiscoveryFailure[] = [];
  const visits: Promise<void>[] = [];
  const describe: Limiter = createLimiter(options.describeConcurrency ?? 10);
  const clusterLimit: Limiter = createLimiter(options.clusterConcurrency ?? 5);

  const clusters = [...options.clusters];
  if (clusters.length === 0) {
    try {
      let nextToken: string | undefined;
      do {
        const page = await ecs.send(new ListClustersCommand({ maxResults: 100, nextToken }));
        clusters.push(...(page.clusterArns ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
    } catch (error) {
      failures.push({ target: 'ListClusters', error: errorMessage(error) });
      return failures;
    }
  }
  stats.clusters = clusters.length;

  const describeBatch = async (cluster: string, arns: string[]): Promise<void> => {
    try {
      const { services = [], failures: missing = [] } = await describe.run(() =>
        ecs.send(new DescribeServicesCommand({ cluster, services: arns, include: ['TAGS'] })),
      );
      for (const failure of missing) {
        // MISSING: deleted between listing and describing; nothing to redeploy.
        if (failure.reason !== 'MISSING') {
          failures.push({
            target: failure.arn ?? cluster,
            error: `DescribeServices: ${failure.reason ?? 'unknown'}`,
          });
        }
      }
      for (const service of services) {
        const summary = summarise(service);
        if (summary) {
          stats.services += 1;
          visits.push(visit(summary));
        }
      }
    } catch (error) {
      failures.push({ target: `${cluster} (${arns.length} services)`, error: errorMessage(error) });
    }
  };

  await Promise.all(
    clusters.map((cluster) =>
      clusterLimit.run(async () => {
        const batches: Promise<void>[] = [];
        const requested = new Set<string>();
        const describeNew = (arns: readonly string[]): void => {
          const fresh = arns.filter((arn) => !requested.has(arn));
          for (const arn of fresh) requested.add(arn);
          for (let i = 0; i < fresh.length; i += 10) {
            batches.push(describeBatch(cluster, fresh.slice(i, i + 10)));
          }
        };
        // Speculatively, while listing: the services this cluster had last time.
        describeNew(options.directory?.known(cluster) ?? []);
        const listed: string[] = [];
        try {
          let nextToken: string | undefined;
          do {
            const page = await ecs.send(
              new ListServicesCommand({ cluster, maxResults: 100, nextToken }),
            );
            const arns = page.serviceArns ?? [];
            listed.push(...arns);
            describeNew(arns);
            nextToken = page.nextToken;
          } while (nextToken);
          options.directory?.update(cluster, listed);
        } catch (error) {
          failures.push({ target: cluster, error: errorMessage(error) });
        }
        await Promise.all(batches);
      }),
    ),
  );
  await Promise.all(visits);
  return failures;
}
