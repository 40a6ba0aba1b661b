/**
 * ECS Deployment State Change and ECS Hook State Change events, delivered to the change handler:
 * they end the wait of every rollout watching the service, so its engine looks at once instead of
 * at its next poll. The event itself decides nothing (events are best effort and unordered); the
 * engine's look does.
 */
import { parseArn } from '../redeploy/arn.js';
import type { Envelope } from '../redeploy/events.js';
import type { EngineControl } from './engine-client.js';
import type { RolloutStore } from './store.js';

export const DEPLOYMENT_EVENT = 'ECS Deployment State Change';
/** A lifecycle hook paused, continued, failed or timed out (blue/green family). */
export const HOOK_EVENT = 'ECS Hook State Change';

export interface DeploymentEventReport {
  readonly outcome: 'deployment-event';
  readonly service: string;
  readonly deploymentId?: string;
  readonly eventName?: string;
  /** Rollouts whose engine was woken. */
  readonly woke: readonly string[];
}

/** Rollouts woken by one event, at most (the newest watchers first). */
const MAX_WAKES = 25;

export function isDeploymentEvent(envelope: Envelope): boolean {
  return (
    envelope.source === 'aws.ecs' &&
    (envelope.detailType === DEPLOYMENT_EVENT || envelope.detailType === HOOK_EVENT)
  );
}

const isServiceArn = (value: unknown): value is string => {
  if (typeof value !== 'string') return false;
  const parsed = parseArn(value);
  return parsed?.service === 'ecs' && parsed.resource.startsWith('service/');
};

/** The service an ECS deployment event is about, or a reason it has none. */
export function deploymentEventService(envelope: Envelope): string | undefined {
  // Deployment events name the service in `resources`; hook events name the service deployment
  // there, and the service in `detail.serviceArn`.
  const arn = envelope.resources.find(isServiceArn);
  if (arn !== undefined) return arn;
  const fromDetail = envelope.detail.serviceArn;
  return isServiceArn(fromDetail) ? fromDetail : undefined;
}

export async function wakeWatchers(
  envelope: Envelope,
  deps: { readonly store: RolloutStore; readonly engine?: EngineControl },
): Promise<DeploymentEventReport> {
  const service = deploymentEventService(envelope) ?? '';
  const detail = envelope.detail;
  const deploymentId = typeof detail.deploymentId === 'string' ? detail.deploymentId : undefined;
  const eventName = typeof detail.eventName === 'string' ? detail.eventName : undefined;
  const report = {
    outcome: 'deployment-event' as const,
    service,
    ...(deploymentId !== undefined && { deploymentId }),
    ...(eventName !== undefined && { eventName }),
  };
  const claim = await deps.store.claimOf(service);
  if (!claim || !deps.engine) return { ...report, woke: [] };
  const engine = deps.engine;
  const woke: string[] = [];
  for (const rolloutId of claim.watchers.slice(-MAX_WAKES)) {
    const rollout = await deps.store.rollout(rolloutId);
    if (rollout?.status !== 'OPEN' || rollout.wakeCallbackId === undefined) continue;
    if (
      await engine.wake(rollout.wakeCallbackId, `${eventName ?? 'event'} ${deploymentId ?? ''}`)
    ) {
      woke.push(rolloutId);
    }
  }
  return { ...report, woke };
}
