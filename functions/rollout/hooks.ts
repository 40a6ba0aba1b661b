/**
 * Pause lifecycle hooks of blue/green, linear and canary deployments: a deployment that reaches a
 * hooked stage waits for a person (ContinueServiceDeployment: CONTINUE or ROLLBACK), or for the
 * hook's time-out action. That is no failure: the service NEEDS_ACTION, is reported with the
 * exact command, and stays watched; once someone acts, its deployment is watched to the end.
 *
 * ECS behaviour relied on (ECS API reference: ListServiceDeployments, DescribeServiceDeployments,
 * DeploymentLifecycleHookDetail, ContinueServiceDeployment): a service deployment in progress
 * lists its hooks in `lifecycleHookDetails`; a paused one is `AWAITING_ACTION` with its `hookId`,
 * `expiresAt` and `timeoutAction`.
 */
import {
  DescribeServiceDeploymentsCommand,
  ListServiceDeploymentsCommand,
} from '@aws-sdk/client-ecs';
import type { EcsLike } from '../redeploy/task-definitions.js';
import type { ServiceRecord } from './model.js';

/** A paused hook, as a record keeps it. */
export interface PausedHook {
  readonly serviceDeploymentArn: string;
  readonly hookId: string;
  /** The lifecycle stage the deployment waits at. */
  readonly stage?: string;
  /** When ECS takes the time-out action (ISO). */
  readonly expiresAt?: string;
  /** CONTINUE or ROLLBACK. */
  readonly timeoutAction?: string;
}

/** Service deployments created this long before ours still count (clock skew, listing lag). */
const SLACK_MS = 60_000;

/**
 * The hook the service's deployment waits at, if any: its service deployments in progress since
 * the watched deployment started, described (at most 20 per call).
 */
export async function pausedHook(
  ecs: EcsLike,
  record: Pick<ServiceRecord, 'serviceArn' | 'clusterArn' | 'deployingAt' | 'updatedAt'>,
): Promise<PausedHook | undefined> {
  const since = Date.parse(record.deployingAt ?? record.updatedAt);
  const { serviceDeployments = [] } = await ecs.send(
    new ListServiceDeploymentsCommand({
      cluster: record.clusterArn,
      service: record.serviceArn,
      status: ['PENDING', 'IN_PROGRESS'],
      ...(Number.isFinite(since) && { createdAt: { after: new Date(since - SLACK_MS) } }),
      maxResults: 20,
    }),
  );
  const arns = serviceDeployments
    .map((d) => d.serviceDeploymentArn)
    .filter((arn): arn is string => arn !== undefined)
    .slice(0, 20);
  if (arns.length === 0) return undefined;
  const described = await ecs.send(
    new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: arns }),
  );
  for (const deployment of described.serviceDeployments ?? []) {
    const hook = (deployment.lifecycleHookDetails ?? []).find(
      (h) => h.status === 'AWAITING_ACTION' && h.hookId !== undefined,
    );
    if (!hook?.hookId || !deployment.serviceDeploymentArn) continue;
    return {
      serviceDeploymentArn: deployment.serviceDeploymentArn,
      hookId: hook.hookId,
      ...(deployment.lifecycleStage !== undefined && { stage: deployment.lifecycleStage }),
      ...(hook.expiresAt instanceof Date && { expiresAt: hook.expiresAt.toISOString() }),
      ...(hook.timeoutAction !== undefined && { timeoutAction: hook.timeoutAction }),
    };
  }
  return undefined;
}

/** What a person reads: where it waits, the exact commands, and what happens if nobody acts. */
export function hookReason(hook: PausedHook): string {
  const command = (action: string): string =>
    `aws ecs continue-service-deployment --service-deployment-arn ${hook.serviceDeploymentArn} ` +
    `--hook-id ${hook.hookId} --action ${action}`;
  return (
    `the deployment is paused at a lifecycle hook${hook.stage ? ` (${hook.stage})` : ''}, ` +
    `awaiting a person: to go on, ${command('CONTINUE')}; to roll back, ${command('ROLLBACK')}` +
    (hook.expiresAt
      ? `; at ${hook.expiresAt} ECS takes the time-out action ${hook.timeoutAction ?? 'ROLLBACK'}`
      : '')
  );
}
