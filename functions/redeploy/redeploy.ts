/**
 * Decides what a change means for one service, and forces new deployments.
 */
import { UpdateServiceCommand, type UpdateServiceCommandOutput } from '@aws-sdk/client-ecs';
import type { Change } from './change.js';
import { EXCLUDE_TAG, INCLUDE_TAG } from './config.js';
import type { ServiceSummary } from './discovery.js';
import { errorMessage, errorName } from './errors.js';
import type { EcsLike } from './task-definitions.js';

/**
 * Event times have one-second precision: a change stamped 12:00:00 happened before 12:00:01.
 * Only a deployment created at or after that bound certainly started its tasks after the change.
 */
export const EVENT_TIME_PRECISION_MS = 1000;

/** Why a referencing service is not redeployed, in a form metrics can count. */
export type SkipCode =
  'inactive' | 'already-deployed' | 'excluded-by-tag' | 'not-opted-in' | 'service-gone';

export type Decision =
  | { readonly kind: 'redeploy' }
  | { readonly kind: 'skip'; readonly code: SkipCode; readonly reason: string }
  | {
      readonly kind: 'needs-action';
      readonly code: 'code-deploy' | 'external';
      readonly reason: string;
    }
  | { readonly kind: 'still-referenced'; readonly reason: string };

export interface DecisionOptions {
  /** Only services tagged `secret-redeployer:include` = `true` are eligible. */
  readonly optIn?: boolean;
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
  if (change.action === 'warn') {
    return {
      kind: 'still-referenced',
      reason:
        `${change.kind} was deleted but is still referenced: new tasks will fail to start ` +
        `until the task definition or the ${change.kind} is fixed`,
    };
  }
  if (service.controller === 'CODE_DEPLOY') {
    return {
      kind: 'needs-action',
      code: 'code-deploy',
      reason:
        'deployment controller CODE_DEPLOY: start a CodeDeploy deployment to pick up the change',
    };
  }
  if (service.controller === 'EXTERNAL') {
    return {
      kind: 'needs-action',
      code: 'external',
      reason: 'deployment controller EXTERNAL: create a new task set to pick up the change',
    };
  }
  const newest = service.newestDeploymentAt;
  if (newest && newest.getTime() >= change.time.getTime() + EVENT_TIME_PRECISION_MS) {
    return {
      kind: 'skip',
      code: 'already-deployed',
      reason: `already deployed after the change (deployment created ${newest.toISOString()})`,
    };
  }
  return { kind: 'redeploy' };
}

export type UpdateOutcome =
  | { readonly kind: 'redeployed'; readonly deploymentAt?: Date }
  | { readonly kind: 'skip'; readonly code: SkipCode; readonly reason: string }
  | { readonly kind: 'failed'; readonly error: string };

/** Errors that mean the service is gone or going: nothing left to redeploy. */
const GONE = new Set(['ServiceNotFoundException', 'ServiceNotActiveException']);

/** Forces a new deployment of one service. Never throws: the outcome says what happened. */
export async function forceNewDeployment(
  ecs: EcsLike,
  service: ServiceSummary,
): Promise<UpdateOutcome> {
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
    return { kind: 'redeployed', ...(primary?.createdAt && { deploymentAt: primary.createdAt }) };
  } catch (error) {
    if (GONE.has(errorName(error))) {
      return {
        kind: 'skip',
        code: 'service-gone',
        reason: `service disappeared before the update (${errorName(error)})`,
      };
    }
    return { kind: 'failed', error: errorMessage(error) };
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
    return { ...service, newestDeploymentAt: ours };
  }
}
