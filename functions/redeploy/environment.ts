/**
 * What one execution environment keeps between invocations, and how the function's
 * dependencies are assembled from it. The handler and the benchmarks build them the same way.
 */
import type { Scope } from './arn.js';
import type { RedeployerConfig } from './config.js';
import { ServiceDirectory } from './discovery.js';
import { type Buckets, ecsBuckets, pacedEcs } from './pacing.js';
import type { Dependencies } from './process.js';
import { RecentDeployments } from './redeploy.js';
import type { SecretsManagerLike } from './secrets.js';
import { type EcsLike, TaskDefinitionReader } from './task-definitions.js';

export interface WarmState {
  /** Task definition revisions are immutable: what each references, described once. */
  readonly taskDefinitions: TaskDefinitionReader;
  /** Deployments this environment started (DescribeServices lags right after UpdateService). */
  readonly recentDeployments: RecentDeployments;
  /** Service ARNs per cluster, described while the cluster is listed again. */
  readonly serviceDirectory: ServiceDirectory;
  /** Client-side copies of ECS's throttling buckets. */
  readonly buckets: Buckets;
}

export function newWarmState(): WarmState {
  return {
    taskDefinitions: new TaskDefinitionReader(),
    recentDeployments: new RecentDeployments(),
    serviceDirectory: new ServiceDirectory(),
    buckets: ecsBuckets(),
  };
}

export function buildDependencies(
  clients: {
    readonly ecs: EcsLike;
    readonly secretsManager: SecretsManagerLike;
    /** A client for UpdateService without the SDK's retries (it is not idempotent). */
    readonly ecsUpdate?: EcsLike;
  },
  config: RedeployerConfig,
  home: Scope,
  state: WarmState,
): Dependencies {
  return {
    ecs: pacedEcs(clients.ecs, state.buckets),
    ...(clients.ecsUpdate && { ecsUpdate: pacedEcs(clients.ecsUpdate, state.buckets) }),
    secretsManager: clients.secretsManager,
    config,
    home,
    taskDefinitions: state.taskDefinitions,
    recentDeployments: state.recentDeployments,
    serviceDirectory: state.serviceDirectory,
  };
}
