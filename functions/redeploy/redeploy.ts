/**
 * Decides what a change means for one service, and forces new deployments.
 */
import {
  DescribeServicesCommand,
  UpdateServiceCommand,
  type UpdateServiceCommandOutput,
} from '@aws-sdk/client-ecs';
import type { Change } from './change.js';
import type { Reference } from './references.js';
import { EXCLUDE_TAG, INCLUDE_TAG } from './config.js';
import { type DeploymentView, type ServiceSummary, newestFirst } from './discovery.js';
import { errorMessage, errorName } from './errors.js';
import type { EcsLike } from './task-definitions.js';

/**
 * Event times have one-second precision: a change stamped 12:00:00 happened before 12:00:01.
 * Only a deployment created at or after that bound certainly started its tasks after the change.
 */
export const EVENT_TIME_PRECISION_MS = 1000;

/** Why a referencing service is not redeployed, in a form metrics can count. */
export type SkipCode =
  | 'inactive'
  | 'already-deployed'
  | 'excluded-by-tag'
  | 'not-opted-in'
  | 'service-gone'
  | 'image-pull-only';

export type Decision =
  | { readonly kind: 'redeploy' }
  | { readonly kind: 'skip'; readonly code: SkipCode; readonly reason: string }
  | {
      readonly kind: 'needs-action';
      readonly code: 'code-deploy' | 'external' | 'label-removed';
      readonly reason: string;
    }
  | { readonly kind: 'still-referenced'; readonly reason: string };

export interface DecisionOptions {
  /** Only services tagged `secret-redeployer:include` = `true` are eligible. */
  readonly optIn?: boolean;
  /** The service's references the change affects (to tell image-pull-only uses). */
  readonly affected?: readonly Reference[];
  /** Redeploy even when only `repositoryCredentials` use the change. @default false */
  readonly redeployForImagePull?: boolean;
}

const isTrue = (value: string | undefined): boolean => value?.trim().toLowerCase() === 'true';

/** What to do with a service whose current task definitions are affected by `change`. */
export function decide(
  service: ServiceSummary,
  change: Change,
  options: DecisionOptions = {},
): Decision {
  if (service.status !== 'ACTIVE') {
    return { kind: 'skip', code: 'inactive', reason: `service is ${service.status}` };
  }
  if (isTrue(service.tags[EXCLUDE_TAG])) {
    return { kind: 'skip', code: 'excluded-by-tag', reason: `tagged ${EXCLUDE_TAG}=true` };
  }
  if (options.optIn && !isTrue(service.tags[INCLUDE_TAG])) {
    return {
      kind: 'skip',
      code: 'not-opted-in',
      reason: `opt-in mode and not tagged ${INCLUDE_TAG}=true`,
    };
  }
  if (change.kind === 'secret' && change.action === 'label-removed') {
    const label = change.stages.join(', ');
    return {
      kind: 'needs-action',
      code: 'label-removed',
      reason:
        `staging label ${label} is on no version of the secret any more: tasks started now cannot ` +
        `resolve their reference pinned to it; move the label to a version ` +
        `(UpdateSecretVersionStage) or change the reference, then redeploy`,
    };
  }
  if (change.action === 'warn') {
    return {
      kind: 'still-referenced',
      reason:
        `${change.kind} was deleted but is still referenced: new tasks will fail to start ` +
        `until the task definition or the ${change.kind} is fixed`,
    };
  }
  const affected = options.affected ?? [];
  if (
    change.action === 'redeploy' &&
    !options.redeployForImagePull &&
    affected.length > 0 &&
    affected.every((ref) => ref.kind === 'secret' && ref.imagePull === true)
  ) {
    return {
      kind: 'skip',
      code: 'image-pull-only',
      reason:
        'only its repositoryCredentials use it: ECS reads them when it pulls an image, so running ' +
        'tasks need nothing and new tasks pull with the new value (redeployForRepositoryCredentials ' +
        'redeploys anyway)',
    };
  }
  if (service.controller === 'CODE_DEPLOY') {
    return { kind: 'needs-action', code: 'code-deploy', reason: codeDeployStep(service) };
  }
  if (service.controller === 'EXTERNAL') {
    return { kind: 'needs-action', code: 'external', reason: externalStep(service) };
  }
  const fresh = freshness(service, change.time);
  if (fresh.fresh) {
    return {
      kind: 'skip',
      code: 'already-deployed',
      reason: `already deployed after the change (${fresh.reason})`,
    };
  }
  return { kind: 'redeploy' };
}

export type Freshness =
  | {
      readonly fresh: true;
      readonly reason: string;
      /** The deployment that delivers the change (absent: only its creation time is known). */
      readonly deployment?: DeploymentView;
    }
  | { readonly fresh: false; readonly reason: string };

/**
 * Whether the service already runs, or is rolling out, tasks started after `changedAt`. Only a
 * deployment created at or after the change (one-second event precision) can deliver it, and only
 * if it did not fail: a FAILED deployment (circuit breaker, rollback off) leaves the older tasks
 * running, and a COMPLETED one beside which tasks of an older deployment still run has not
 * replaced them all. A deployment still IN_PROGRESS will replace them and counts as delivering.
 */
export function freshness(service: ServiceSummary, changedAt: Date): Freshness {
  const cutoff = changedAt.getTime() + EVENT_TIME_PRECISION_MS;
  const [newest] = [...(service.deployments ?? [])].sort(newestFirst);
  const newestAt = newest?.createdAt ?? service.newestDeploymentAt;
  if (newestAt === undefined) return { fresh: false, reason: 'no deployment time known' };
  if (newestAt.getTime() < cutoff) {
    return {
      fresh: false,
      reason: `newest deployment created ${newestAt.toISOString()}, before the change`,
    };
  }
  const created = `deployment ${newest?.id ?? ''} created ${newestAt.toISOString()}`.replace(
    '  ',
    ' ',
  );
  if (newest?.rolloutState === 'FAILED') {
    return { fresh: false, reason: `${created} FAILED: it does not deliver the change` };
  }
  const older = (service.deployments ?? []).filter(
    (d) => d !== newest && d.runningCount > 0 && (d.createdAt?.getTime() ?? 0) < cutoff,
  );
  if (newest?.rolloutState === 'COMPLETED' && older.length > 0) {
    const tasks = older.reduce((sum, d) => sum + d.runningCount, 0);
    return {
      fresh: false,
      reason: `${tasks} task(s) of a deployment older than the change still run beside ${created}`,
    };
  }
  return { fresh: true, reason: created, ...(newest && { deployment: newest }) };
}

export type UpdateOutcome =
  | { readonly kind: 'redeployed'; readonly deploymentAt?: Date }
  | { readonly kind: 'skip'; readonly code: SkipCode; readonly reason: string }
  | { readonly kind: 'failed'; readonly error: string };

/** Errors that mean the service is gone or going: nothing left to redeploy. */
const GONE = new Set(['ServiceNotFoundException', 'ServiceNotActiveException']);

/** What UpdateService's answer (or its absence) says about whether it took effect. */
export type SendResult =
  | {
      readonly kind: 'applied';
      readonly deploymentId?: string;
      readonly deploymentAt?: Date;
    }
  | { readonly kind: 'gone'; readonly reason: string }
  /** ECS answered no (4xx): it certainly did not take effect. */
  | { readonly kind: 'refused'; readonly error: string }
  /** No answer (time-out, reset, 5xx): it may or may not have taken effect. */
  | { readonly kind: 'unknown'; readonly error: string };

interface SdkErrorShape {
  readonly $fault?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** Whether an error is ECS answering no (4xx): the request certainly did not take effect. */
export function isRefusal(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { $fault, $metadata } = error as SdkErrorShape;
  const status = $metadata?.httpStatusCode;
  if (status !== undefined) return status >= 400 && status < 500;
  return $fault === 'client' && errorName(error) !== 'TimeoutError';
}

/**
 * Sends one UpdateService (forceNewDeployment) and classifies the answer. Never throws. The
 * client given must not retry on its own: UpdateService is not idempotent.
 */
export async function sendUpdate(ecs: EcsLike, service: ServiceSummary): Promise<SendResult> {
  try {
    // Some AWS-compatible APIs answer with an empty body: the call succeeded all the same.
    const output = (await ecs.send(
      new UpdateServiceCommand({
        cluster: service.clusterArn,
        service: service.arn,
        forceNewDeployment: true,
      }),
    )) as UpdateServiceCommandOutput | undefined;
    const primary = output?.service?.deployments?.find((d) => d.status === 'PRIMARY');
    return {
      kind: 'applied',
      ...(primary?.id !== undefined && { deploymentId: primary.id }),
      ...(primary?.createdAt !== undefined && { deploymentAt: primary.createdAt }),
    };
  } catch (error) {
    if (GONE.has(errorName(error))) {
      return {
        kind: 'gone',
        reason: `service disappeared before the update (${errorName(error)})`,
      };
    }
    if (isRefusal(error)) return { kind: 'refused', error: errorMessage(error) };
    return { kind: 'unknown', error: errorMessage(error) };
  }
}

/**
 * Forces a new deployment of one service. Never throws: the outcome says what happened. When
 * the answer is lost, the service is looked at instead of sending the call again: a PRIMARY
 * deployment that was not there before and started since is ours.
 */
export async function forceNewDeployment(
  ecs: EcsLike,
  service: ServiceSummary,
  update: EcsLike = ecs,
): Promise<UpdateOutcome> {
  const sent = await sendUpdate(update, service);
  switch (sent.kind) {
    case 'applied':
      return { kind: 'redeployed', ...(sent.deploymentAt && { deploymentAt: sent.deploymentAt }) };
    case 'gone':
      return { kind: 'skip', code: 'service-gone', reason: sent.reason };
    case 'refused':
      return { kind: 'failed', error: sent.error };
    case 'unknown': {
      // A PRIMARY deployment other than the one discovery saw started after the change: ours,
      // or one that delivers the change as well.
      const before = service.deployments?.find((d) => d.status === 'PRIMARY')?.id;
      try {
        const { services = [] } = await ecs.send(
          new DescribeServicesCommand({ cluster: service.clusterArn, services: [service.arn] }),
        );
        const primary = services[0]?.deployments?.find((d) => d.status === 'PRIMARY');
        if (before !== undefined && primary?.id !== undefined && primary.id !== before) {
          return {
            kind: 'redeployed',
            ...(primary.createdAt && { deploymentAt: primary.createdAt }),
          };
        }
      } catch {
        // Could not look: report the lost answer; a retry decides from what ECS shows then.
      }
      return { kind: 'failed', error: `no answer from UpdateService (${sent.error})` };
    }
  }
}

/**
 * Deployments this execution environment started, by service ARN. ECS's own deployment list is
 * the source of truth, but DescribeServices is eventually consistent right after UpdateService
 * (and some AWS-compatible APIs never record the deployment): a duplicate event handled by the
 * same warm environment moments later must still see the deployment. Bounded, oldest dropped.
 */
export class RecentDeployments {
  private readonly started = new Map<string, Date>();

  constructor(private readonly maxEntries = 10_000) {}

  record(serviceArn: string, at: Date): void {
    this.started.delete(serviceArn);
    this.started.set(serviceArn, at);
    if (this.started.size > this.maxEntries) {
      const oldest = this.started.keys().next().value;
      if (oldest !== undefined) this.started.delete(oldest);
    }
  }

  /** The service as ECS described it, with a deployment we started since counted as newest. */
  apply(service: ServiceSummary): ServiceSummary {
    const ours = this.started.get(service.arn);
    const theirs = service.newestDeploymentAt;
    if (ours === undefined || (theirs !== undefined && theirs >= ours)) return service;
    // ECS does not list it yet: it is the PRIMARY deployment, rolling out.
    const started: DeploymentView = {
      status: 'PRIMARY',
      rolloutState: 'IN_PROGRESS',
      createdAt: ours,
      runningCount: 0,
    };
    return {
      ...service,
      newestDeploymentAt: ours,
      deployments: [
        started,
        ...(service.deployments ?? []).map((d) =>
          d.status === 'PRIMARY' ? { ...d, status: 'ACTIVE' } : d,
        ),
      ],
    };
  }
}

/** The task definition the service runs now (its primary task set's, else its newest). */
function currentTaskDefinition(service: ServiceSummary): string {
  return service.primaryTaskSet?.taskDefinition ?? service.taskDefinitions[0] ?? 'TASK_DEFINITION';
}

const clusterName = (service: ServiceSummary): string =>
  service.clusterArn.split('/').pop() ?? service.clusterArn;

/**
 * CODE_DEPLOY: UpdateService cannot start a deployment; a CodeDeploy deployment of the same task
 * definition starts new tasks, which read the new value. The exact command, with what ECS tells
 * (task definition, container and port, the last deployment's id to find application and group).
 */
export function codeDeployStep(service: ServiceSummary): string {
  const lb = service.loadBalancer;
  const appSpec = {
    version: 0.0,
    Resources: [
      {
        TargetService: {
          Type: 'AWS::ECS::Service',
          Properties: {
            TaskDefinition: currentTaskDefinition(service),
            ...(lb && {
              LoadBalancerInfo: {
                ContainerName: lb.containerName,
                ContainerPort: lb.containerPort,
              },
            }),
          },
        },
      },
    ],
  };
  const revision = JSON.stringify({
    revisionType: 'AppSpecContent',
    appSpecContent: { content: JSON.stringify(appSpec) },
  });
  const last = service.primaryTaskSet?.externalId;
  return (
    'deployment controller CODE_DEPLOY: ECS cannot force a new deployment; start a CodeDeploy ' +
    `deployment of the same task definition: aws deploy create-deployment --application-name APP ` +
    `--deployment-group-name GROUP --revision '${revision}'` +
    (last
      ? ` (APP and GROUP: aws deploy get-deployment --deployment-id ${last} --query ` +
        `'deploymentInfo.[applicationName,deploymentGroupName]')`
      : " (APP and GROUP: those of the service's CodeDeploy deployment group)")
  );
}

/**
 * EXTERNAL: the tool that manages the service's task sets must create a new one; by hand, the
 * three task-set calls with what ECS tells.
 */
export function externalStep(service: ServiceSummary): string {
  const target = `--cluster ${clusterName(service)} --service ${service.name}`;
  return (
    'deployment controller EXTERNAL: ECS cannot force a new deployment; have the tool that ' +
    'manages its task sets deploy it again, or by hand: aws ecs create-task-set ' +
    `${target} --task-definition ${currentTaskDefinition(service)} (with the primary task ` +
    "set's network and load-balancer settings), then aws ecs update-service-primary-task-set " +
    `${target} --primary-task-set NEW_TASK_SET, then aws ecs delete-task-set ${target} ` +
    '--task-set OLD_TASK_SET'
  );
}
