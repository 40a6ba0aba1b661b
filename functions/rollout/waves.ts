/**
 * Waves: a rollout deploys a canary first, then waves of growing size, each only once every
 * deployment of the previous one completed (and, with a bake time, once the watched alarms stayed
 * OK through it). A FAILED, ROLLED_BACK or STUCK deployment, or a watched alarm going off, halts
 * the rollout: no further service is touched until a person resumes or aborts it. With the
 * alternating-users rotation, services held back keep working on the previous user, which stays
 * valid: the safe state. Pure: no AWS calls.
 */
import type { WaveSize } from '../redeploy/config.js';
import type { ServiceSummary } from '../redeploy/discovery.js';
import { type ServiceRecord, isSettled } from './model.js';

/** A service tagged with this key and the value `canary` is in the first wave. */
export const WAVE_TAG = 'secret-redeployer:wave';

/** A secret or parameter tagged with this key (`on` or `off`) has its changes in waves or not. */
export const WAVES_TAG = 'secret-redeployer:waves';

/** What AWS says about a changed secret or parameter that bears on holding services back. */
export interface HoldHint {
  /** Its `secret-redeployer:waves` tag. */
  readonly tag?: 'on' | 'off';
  /** The service that manages the secret (DescribeSecret's OwningService), e.g. `rds`. */
  readonly owningService?: string;
  /** Its rotation function's ARN (DescribeSecret's RotationLambdaARN). */
  readonly rotationFunction?: string;
}

/** Reads the tag's value: `on`/`true`/`yes` or `off`/`false`/`no`; anything else is no say. */
export function wavesTag(value: string | undefined): 'on' | 'off' | undefined {
  const v = value?.trim().toLowerCase();
  if (v === 'on' || v === 'true' || v === 'yes') return 'on';
  if (v === 'off' || v === 'false' || v === 'no') return 'off';
  return undefined;
}

/**
 * Whether a change is rolled out in waves, and why. Holding a service back is safe only while
 * the previous value still works: true of the alternating-users rotation (the previous user
 * stays valid), false of a single-user rotation (the old password stops working at once, so
 * every held service is broken until deployed). The secret's or parameter's tag decides first;
 * a secret another service manages (RDS's master user password) rotates single-user, so never
 * in waves unless tagged; a rotation function of AWS's alternating-users templates (`…MultiUser`)
 * is safe; the rest follow the policy (`all`: in waves, `tagged`: not).
 */
export function wavesApply(
  policy: 'all' | 'tagged',
  hint: HoldHint = {},
): { readonly apply: boolean; readonly why: string } {
  if (hint.tag === 'off') return { apply: false, why: `tagged ${WAVES_TAG}=off` };
  if (hint.tag === 'on') return { apply: true, why: `tagged ${WAVES_TAG}=on` };
  if (hint.owningService !== undefined) {
    return {
      apply: false,
      why: `managed by ${hint.owningService}, whose rotation is single-user: a held service would run a password that no longer works`,
    };
  }
  const rotation = hint.rotationFunction?.split(':').pop() ?? '';
  if (/multi-?user/i.test(rotation)) {
    return {
      apply: true,
      why: `alternating-users rotation (${rotation}): the previous user stays valid`,
    };
  }
  return policy === 'all'
    ? { apply: true, why: 'waves are on for every change' }
    : {
        apply: false,
        why: `waves are for tagged changes only, and it is not tagged ${WAVES_TAG}=on`,
      };
}

/** States that halt a rollout when a service of a started wave reaches them. */
export const HALTING_STATES: ReadonlySet<string> = new Set(['FAILED', 'ROLLED_BACK', 'STUCK']);

function sizeOf(size: WaveSize, total: number): number {
  return 'count' in size ? size.count : Math.max(1, Math.ceil((total * size.percent) / 100));
}

const isCanary = (service: Pick<ServiceSummary, 'tags'>): boolean =>
  service.tags[WAVE_TAG]?.trim().toLowerCase() === 'canary';

/**
 * The wave of each service (1 = the canary), by ARN. The canary wave is every service tagged
 * `secret-redeployer:wave=canary`, else the first `sizes[0]`; then waves of `sizes[1…]` (a count,
 * or a share of all the services), then one last wave with the rest. No sizes: all in wave 1.
 * Services are taken in ARN order, so every invocation plans the same waves.
 */
export function planWaves(
  services: readonly Pick<ServiceSummary, 'arn' | 'tags'>[],
  sizes: readonly WaveSize[],
): Map<string, number> {
  const sorted = [...services].sort((a, b) => a.arn.localeCompare(b.arn));
  const plan = new Map<string, number>();
  if (sizes.length === 0) {
    for (const service of sorted) plan.set(service.arn, 1);
    return plan;
  }
  const total = sorted.length;
  const canaries = sorted.filter(isCanary);
  const rest = sorted.filter((service) => !isCanary(service));
  const [first, ...later] = sizes;
  const firstWave =
    canaries.length > 0 ? canaries : rest.splice(0, first ? sizeOf(first, total) : 1);
  for (const service of firstWave) plan.set(service.arn, 1);
  let wave = 1;
  for (const size of later) {
    if (rest.length === 0) break;
    wave += 1;
    for (const service of rest.splice(0, sizeOf(size, total))) plan.set(service.arn, wave);
  }
  if (rest.length > 0) {
    wave += 1;
    for (const service of rest) plan.set(service.arn, wave);
  }
  return plan;
}

/** What DescribeSecret says that bears on holding services back. */
export function hintFromSecret(described: {
  readonly Tags?: readonly { readonly Key?: string; readonly Value?: string }[];
  readonly OwningService?: string;
  readonly RotationEnabled?: boolean;
  readonly RotationLambdaARN?: string;
}): HoldHint {
  const tag = wavesTag(described.Tags?.find((t) => t.Key === WAVES_TAG)?.Value);
  return {
    ...(tag !== undefined && { tag }),
    ...(described.OwningService && { owningService: described.OwningService }),
    ...(described.RotationEnabled !== false &&
      described.RotationLambdaARN && { rotationFunction: described.RotationLambdaARN }),
  };
}

/** A wave plan as dry runs and `ecs-redeployer plan` show it. */
export interface WavePreview {
  /** Whether this change would go in waves. */
  readonly applies: boolean;
  readonly why: string;
  /** The service ARNs of each wave, first (the canary) first; one wave when it does not apply. */
  readonly waves: readonly (readonly string[])[];
}

/** The waves the services to deploy would go in. */
export function previewWaves(
  services: readonly Pick<ServiceSummary, 'arn' | 'tags'>[],
  sizes: readonly WaveSize[],
  policy: 'all' | 'tagged',
  hint?: HoldHint,
): WavePreview {
  const decision = wavesApply(policy, hint);
  const waves = wavesOf(planWaves(services, decision.apply ? sizes : []));
  return { applies: decision.apply, why: decision.why, waves };
}

/** The services of each wave, first wave first. */
export function wavesOf(plan: ReadonlyMap<string, number>): string[][] {
  const waves: string[][] = [];
  for (const [arn, wave] of [...plan].sort(([a], [b]) => a.localeCompare(b))) {
    (waves[wave - 1] ??= []).push(arn);
  }
  return waves.filter((wave) => wave.length > 0);
}

export type WaveStep =
  /** Deployments of the current wave are still rolling out (or being started). */
  | { readonly kind: 'wait' }
  /** A service of a started wave failed: stop, touch nothing more. */
  | { readonly kind: 'halt'; readonly reason: string; readonly services: readonly string[] }
  /** The current wave completed; it bakes until `until`. */
  | { readonly kind: 'bake'; readonly until: Date }
  /** Start the next wave. */
  | { readonly kind: 'advance'; readonly to: number }
  /** The last wave ended. */
  | { readonly kind: 'done' };

const short = (arn: string): string => arn.split('/').slice(-2).join('/');

/**
 * What to do next, given the services' records, the wave started last, and the bake: `bakeUntil`
 * is when the current wave's bake ends, once it started.
 */
export function nextWaveStep(
  records: readonly ServiceRecord[],
  currentWave: number,
  now: Date,
  bakeSeconds: number,
  bakeUntil?: string,
): WaveStep {
  const started = records.filter((r) => (r.wave ?? 1) <= currentWave);
  const failed = started.filter((r) => HALTING_STATES.has(r.state));
  if (failed.length > 0) {
    const [first] = failed;
    return {
      kind: 'halt',
      reason:
        `${short(first?.serviceArn ?? '?')} ${first?.state ?? ''} in wave ${first?.wave ?? 1}` +
        (first?.reason ? `: ${first.reason}` : ''),
      services: failed.map((r) => r.serviceArn),
    };
  }
  if (started.some((r) => !isSettled(r))) return { kind: 'wait' };
  const later = records.filter((r) => (r.wave ?? 1) > currentWave);
  if (later.length === 0) return { kind: 'done' };
  if (bakeSeconds > 0) {
    if (bakeUntil === undefined) {
      return { kind: 'bake', until: new Date(now.getTime() + bakeSeconds * 1000) };
    }
    if (now.getTime() < Date.parse(bakeUntil)) return { kind: 'bake', until: new Date(bakeUntil) };
  }
  return { kind: 'advance', to: Math.min(...later.map((r) => r.wave ?? 1)) };
}
