/**
 * A normalised change: what changed, when, and what it means for the services that use it.
 */
import {
  type ParameterId,
  type SecretId,
  parameterArn,
  sameParameter,
  secretArn,
  secretTargetMatches,
} from './arn.js';
import type { Reference } from './references.js';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPREVIOUS = 'AWSPREVIOUS';
export const AWSPENDING = 'AWSPENDING';

/**
 * `redeploy`: the value behind the reference changed; new tasks get the new one.
 * `warn`: the secret or parameter is gone; a new task would fail to start, so nothing is
 * redeployed and the services that still reference it are reported.
 * `label-removed`: a staging label is on no version any more; references pinned to it fail at
 * the next task start, so those services are reported as needing action.
 */
export type ChangeAction = 'redeploy' | 'warn' | 'label-removed';

interface ChangeBase {
  /** The EventBridge event id, used as correlation id. */
  readonly eventId: string;
  /** When the change happened (the event's `time`, one-second precision). */
  readonly time: Date;
  /** What announced it, e.g. `Secret Label Updated (AWSCURRENT)`. */
  readonly trigger: string;
  readonly action: ChangeAction;
}

export interface SecretChange extends ChangeBase {
  readonly kind: 'secret';
  readonly secret: SecretId;
  /** Staging labels that now point at another version (`AWSCURRENT` implies `AWSPREVIOUS`). */
  readonly stages: readonly string[];
  /** The version that gained the label, when the event says. */
  readonly versionId?: string;
}

export interface ParameterChange extends ChangeBase {
  readonly kind: 'parameter';
  readonly parameter: ParameterId;
}

export type Change = SecretChange | ParameterChange;

/** The stages whose value changes when `stage` moves to a new version. */
export function stagesMovedBy(stages: Iterable<string>): string[] {
  const moved = new Set<string>();
  for (const stage of stages) {
    if (stage === AWSPENDING || stage === '') continue; // not live: nothing reads it
    moved.add(stage);
    // The version that loses AWSCURRENT gets AWSPREVIOUS (Secrets Manager user guide).
    if (stage === AWSCURRENT) moved.add(AWSPREVIOUS);
  }
  return [...moved].sort();
}

/** Whether the value a reference resolves to is changed (or, for `warn`, broken) by `change`. */
export function isAffected(reference: Reference, change: Change): boolean {
  if (change.kind === 'parameter') {
    return reference.kind === 'parameter' && sameParameter(reference.parameter, change.parameter);
  }
  if (reference.kind !== 'secret' || !secretTargetMatches(reference.target, change.secret)) {
    return false;
  }
  if (change.action === 'warn') return true; // every reference breaks when the secret is gone
  if (reference.versionId !== undefined) return false; // a pinned version never changes
  if (change.action === 'label-removed') {
    // Only references pinned to the label: the others read AWSCURRENT, which never goes away.
    return reference.versionStage !== undefined && change.stages.includes(reference.versionStage);
  }
  return change.stages.includes(reference.versionStage ?? AWSCURRENT);
}

/** A short, value-free description for logs and reports. */
export function describeChange(change: Change): Record<string, unknown> {
  return change.kind === 'secret'
    ? {
        type: 'secret',
        arn: secretArn(change.secret),
        name: change.secret.name,
        ...(change.secret.suffix === undefined && { arnSuffixUnknown: true }),
        stages: change.stages,
        action: change.action,
        trigger: change.trigger,
        eventId: change.eventId,
        time: change.time.toISOString(),
      }
    : {
        type: 'parameter',
        arn: parameterArn(change.parameter),
        name: change.parameter.name,
        action: change.action,
        trigger: change.trigger,
        eventId: change.eventId,
        time: change.time.toISOString(),
      };
}
