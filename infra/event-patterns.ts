/**
 * The EventBridge patterns of the redeployer's rules, as plain data so tests can run events
 * through them. Name-prefix filters live here, so unrelated changes never invoke the function;
 * so does the cluster filter of the ECS deployment events that wake the rollout engine.
 *
 * Operators used: exact values, `prefix`, `wildcard`, `anything-but`, `exists`, `$or`
 * (EventBridge user guide, eb-create-pattern-operators).
 */

/** An EventBridge pattern (JSON). */
export type Pattern = { readonly [key: string]: unknown };

const SECRET_NAME_PREFIX = /^[A-Za-z0-9/_+=.@!-]+$/; // `!`: AWS-managed secrets (`rds!…`)
const PARAMETER_NAME_PREFIX = /^[A-Za-z0-9_.\-/]+$/;

/** Throws for a prefix that could never match a name (or would match everything). */
export function validatePrefixes(kind: 'secret' | 'parameter', prefixes: readonly string[]): void {
  const allowed = kind === 'secret' ? SECRET_NAME_PREFIX : PARAMETER_NAME_PREFIX;
  for (const prefix of prefixes) {
    if (!allowed.test(prefix) || prefix === '/') {
      throw new Error(
        `Invalid ${kind} name prefix "${prefix}": use the characters a ${kind} name may contain`,
      );
    }
  }
}

/**
 * Parameter names keep their leading `/` in events when they have one; ECS accepts both forms.
 * Match a prefix in either form so `/app/` and `app/` mean the same.
 */
function parameterPrefixMatchers(prefixes: readonly string[]): { prefix: string }[] {
  const forms = new Set<string>();
  for (const prefix of prefixes) {
    const bare = prefix.replace(/^\/+/, '');
    forms.add(bare);
    forms.add(`/${bare}`);
  }
  return [...forms].sort().map((prefix) => ({ prefix }));
}

/** `Parameter Store Change`: Create and Update redeploy, Delete is reported. */
export function parameterChangePattern(prefixes: readonly string[] = []): Pattern {
  return {
    source: ['aws.ssm'],
    'detail-type': ['Parameter Store Change'],
    detail: {
      // LabelParameterVersion changes nothing ECS reads: it never invokes the function.
      operation: ['Create', 'Update', 'Delete'],
      ...(prefixes.length > 0 && { name: parameterPrefixMatchers(prefixes) }),
    },
  };
}

/** `Parameter Store Policy Action` with an `Expiration` policy: the parameter was deleted. */
export function parameterExpirationPattern(prefixes: readonly string[] = []): Pattern {
  return {
    source: ['aws.ssm'],
    'detail-type': ['Parameter Store Policy Action'],
    detail: {
      'policy-type': ['Expiration'],
      ...(prefixes.length > 0 && { 'parameter-name': parameterPrefixMatchers(prefixes) }),
    },
  };
}

/**
 * Native `Secret Label Updated`: a staging label moved to another version. Needs no CloudTrail
 * trail. `AWSCURRENT` is the signal that the value consumers get has changed; other labels
 * matter only to references pinned to them. `AWSPENDING` is not live (and AWS does not emit it).
 */
export function secretLabelUpdatedPattern(prefixes: readonly string[] = []): Pattern {
  return {
    source: ['aws.secretsmanager'],
    'detail-type': ['Secret Label Updated'],
    detail: {
      labelUpdated: [{ 'anything-but': ['AWSPENDING'] }],
      ...(prefixes.length > 0 && { name: prefixes.map((prefix) => ({ prefix })) }),
    },
  };
}

/**
 * CloudTrail-delivered Secrets Manager calls and service events (needs a trail):
 * - `RotationSucceeded`: the rotation moved `AWSCURRENT`;
 * - `PutSecretValue` that makes a new live version (no `versionStages`, or any label other
 *   than `AWSPENDING`): a rotation's own `AWSPENDING` write must never redeploy;
 * - `UpdateSecret` (the function ignores metadata-only updates);
 * - `UpdateSecretVersionStage` that moves a label other than `AWSPENDING` to a version;
 * - `DeleteSecret`: reported, never redeployed.
 * Failed calls (with `errorCode`) are excluded.
 */
export function secretCloudTrailPattern(prefixes: readonly string[] = []): Pattern {
  const calls: Pattern[] = [
    { eventName: ['RotationSucceeded', 'UpdateSecret', 'DeleteSecret'] },
    // A label moved to a version, never AWSPENDING (a rotation's own bookkeeping)…
    {
      eventName: ['UpdateSecretVersionStage'],
      requestParameters: {
        versionStage: [{ 'anything-but': ['AWSPENDING'] }],
        moveToVersionId: [{ exists: true }],
      },
    },
    // …or removed from every version: references pinned to it break. AWSCURRENT can only move.
    {
      eventName: ['UpdateSecretVersionStage'],
      requestParameters: {
        versionStage: [{ 'anything-but': ['AWSPENDING', 'AWSCURRENT'] }],
        moveToVersionId: [{ exists: false }],
      },
    },
    { eventName: ['PutSecretValue'], requestParameters: { versionStages: [{ exists: false }] } },
    {
      eventName: ['PutSecretValue'],
      requestParameters: { versionStages: [{ 'anything-but': ['AWSPENDING'] }] },
    },
  ];
  const alternatives =
    prefixes.length === 0
      ? calls
      : calls.flatMap((call) => secretIdLocations(prefixes).map((where) => merge(call, where)));
  return {
    source: ['aws.secretsmanager'],
    'detail-type': ['AWS API Call via CloudTrail', 'AWS Service Event via CloudTrail'],
    detail: {
      // `source` already says Secrets Manager; not requiring `eventSource` as well keeps
      // lightly redacted records (seen in the wild without it) matching.
      errorCode: [{ exists: false }],
      $or: alternatives,
    },
  };
}

/** The ECS deployment events that end a deployment, and so may end a rollout's wait. */
export const DEPLOYMENT_END_EVENTS = [
  'SERVICE_DEPLOYMENT_COMPLETED',
  'SERVICE_DEPLOYMENT_FAILED',
] as const;

/**
 * `ECS Deployment State Change` (source `aws.ecs`) when a deployment ended: COMPLETED, or FAILED
 * (sent only for services with the deployment circuit breaker on). They wake the rollout engines
 * watching the service, which then look at it; `SERVICE_DEPLOYMENT_IN_PROGRESS` changes nothing
 * they wait for. `servicePrefixes` (service ARNs up to the cluster, `…:service/<cluster>/`) keep
 * the deployments of other clusters out; the event's `resources` holds the service ARN.
 */
export function deploymentStateChangePattern(servicePrefixes: readonly string[] = []): Pattern {
  return {
    source: ['aws.ecs'],
    'detail-type': ['ECS Deployment State Change'],
    ...(servicePrefixes.length > 0 && {
      resources: servicePrefixes.map((prefix) => ({ prefix })),
    }),
    detail: { eventName: [...DEPLOYMENT_END_EVENTS] },
  };
}

/** The lifecycle-hook events that may end a rollout's wait (a pause, and what ended it). */
export const HOOK_EVENTS = [
  'HOOK_AWAITING_ACTION',
  'HOOK_SUCCEEDED',
  'HOOK_FAILED',
  'HOOK_TIMED_OUT',
] as const;

/**
 * `ECS Hook State Change` (source `aws.ecs`): a blue/green, linear or canary deployment paused
 * at a lifecycle hook, or the hook ended. They wake the rollout engines watching the service.
 * The event's `resources` holds the service deployment ARN, so `servicePrefixes` (as for
 * `deploymentStateChangePattern`) filter `detail.serviceArn`.
 */
export function hookStateChangePattern(servicePrefixes: readonly string[] = []): Pattern {
  return {
    source: ['aws.ecs'],
    'detail-type': ['ECS Hook State Change'],
    detail: {
      eventName: [...HOOK_EVENTS],
      ...(servicePrefixes.length > 0 && {
        serviceArn: servicePrefixes.map((prefix) => ({ prefix })),
      }),
    },
  };
}

/**
 * Where a CloudTrail record names the secret: the caller's `secretId` (a name or an ARN) or the
 * rotation service's `additionalEventData.SecretId` (an ARN).
 */
function secretIdLocations(prefixes: readonly string[]): Pattern[] {
  const arns = prefixes.map((prefix) => ({
    wildcard: `arn:*:secretsmanager:*:*:secret:${prefix}*`,
  }));
  return [
    { requestParameters: { secretId: [...prefixes.map((prefix) => ({ prefix })), ...arns] } },
    { additionalEventData: { SecretId: arns } },
  ];
}

function merge(a: Pattern, b: Pattern): Pattern {
  const result: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const existing = result[key];
    result[key] = isPlainObject(existing) && isPlainObject(value) ? merge(existing, value) : value;
  }
  return result;
}

function isPlainObject(value: unknown): value is Pattern {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
