/**
 * ARN parsing and the identities of the things a task definition can reference.
 *
 * Everything here is pure: no AWS calls, no clock.
 */

/** Where a resource lives. Two resources with the same name in different scopes are different. */
export interface Scope {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

export interface ParsedArn extends Scope {
  readonly service: string;
  /** Everything after the fifth colon, for example `secret:db-AbCdEf:password::`. */
  readonly resource: string;
}

const PARTITION = /^aws(-[a-z]+)*$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCOUNT = /^\d{12}$/;

/**
 * Parses `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
 * Returns `undefined` for anything that is not a well-formed regional ARN of a known partition.
 */
export function parseArn(value: string): ParsedArn | undefined {
  if (!value.startsWith('arn:')) return undefined;
  const parts = value.split(':');
  if (parts.length < 6) return undefined;
  const [, partition = '', service = '', region = '', account = ''] = parts;
  const resource = parts.slice(5).join(':');
  if (!PARTITION.test(partition) || !/^[a-z0-9-]+$/.test(service)) return undefined;
  if (!REGION.test(region) || !ACCOUNT.test(account) || resource === '') return undefined;
  return { partition, service, region, account, resource };
}

export function sameScope(a: Scope, b: Scope): boolean {
  return a.partition === b.partition && a.region === b.region && a.account === b.account;
}

export function formatScope(scope: Scope): string {
  return `${scope.partition}:${scope.region}:${scope.account}`;
}

/** The function's own partition, Region and account, read from its ARN. */
export function scopeOfArn(value: string): Scope | undefined {
  const arn = parseArn(value);
  return arn && { partition: arn.partition, region: arn.region, account: arn.account };
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager
// ---------------------------------------------------------------------------------------------

/**
 * Secret names: 1-512 characters of `A-Za-z0-9/_+=.@-` (Secrets Manager API reference), plus `!`,
 * which AWS itself uses for the secrets it manages (RDS master user secrets are `rds!db-…`).
 */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@!-]{1,512}$/;
/** The six random characters Secrets Manager appends to the name in a secret's full ARN. */
const RANDOM_SUFFIX = /-([A-Za-z0-9]{6})$/;

/**
 * A secret, as precisely as we know it. `suffix` is the six random characters of the full ARN;
 * it is unknown when all we have is a name or a partial ARN and the secret could not be described.
 */
export interface SecretId extends Scope {
  readonly name: string;
  readonly suffix?: string;
  /**
   * Set when all we have is an ARN of unknown kind whose last seven characters look like a
   * random suffix: `name` may then be either the secret's name or its name plus suffix, and
   * matching accepts both readings (redeploying too much beats missing a service).
   */
  readonly ambiguous?: boolean;
}

export function isSecretName(value: string): boolean {
  return SECRET_NAME.test(value);
}

/** `arn:…:secret:NAME-XXXXXX` for a secret whose full ARN we know. */
export function secretArn(id: SecretId): string {
  const resource = id.suffix === undefined ? id.name : `${id.name}-${id.suffix}`;
  return `arn:${id.partition}:secretsmanager:${id.region}:${id.account}:secret:${resource}`;
}

/**
 * Reads a secret ARN that is known to be complete (it came from AWS: an event's `resources`,
 * `responseElements.arn`, `DescribeSecret`). Trailing `:json-key:stage:version` fields are ignored.
 */
export function secretIdFromFullArn(value: string): SecretId | undefined {
  const arn = parseArn(value);
  if (arn?.service !== 'secretsmanager') return undefined;
  const [type, resource = ''] = arn.resource.split(':');
  if (type !== 'secret') return undefined;
  const suffix = RANDOM_SUFFIX.exec(resource)?.[1];
  if (suffix === undefined) return undefined;
  const name = resource.slice(0, -7);
  if (!isSecretName(name)) return undefined;
  return { partition: arn.partition, region: arn.region, account: arn.account, name, suffix };
}

/**
 * The target of a Secrets Manager reference in a task definition. `resource` is what followed
 * `secret:`: either `NAME-XXXXXX` (full ARN) or `NAME` (partial ARN); which one cannot always be
 * told apart (a name may itself end in `-` and six characters), so matching tries both.
 */
export interface SecretTarget extends Scope {
  readonly resource: string;
}

/** Whether a reference target designates the secret `id`. Different scopes never match. */
export function secretTargetMatches(target: SecretTarget, id: SecretId): boolean {
  if (!sameScope(target, id)) return false;
  if (target.resource === id.name) return true; // partial ARN
  if (id.suffix !== undefined) return target.resource === `${id.name}-${id.suffix}`;
  if (id.ambiguous && RANDOM_SUFFIX.test(id.name) && target.resource === id.name.slice(0, -7)) {
    return true; // `name` was really a full ARN's name plus suffix; this is the partial form
  }
  // Suffix unknown: any full ARN of a secret with this name (conservative: it may be a secret
  // that was deleted and re-created, which we cannot tell without describing it).
  return RANDOM_SUFFIX.test(target.resource) && target.resource.slice(0, -7) === id.name;
}

// ---------------------------------------------------------------------------------------------
// SSM Parameter Store
// ---------------------------------------------------------------------------------------------

/** A parameter. `name` has no leading slash: `/a/b` and `a/b` are the same parameter. */
export interface ParameterId extends Scope {
  readonly name: string;
}

/** Parameter names: `a-zA-Z0-9_.-/`, at most 1011 characters (SSM API reference, PutParameter). */
const PARAMETER_NAME = /^\/?[A-Za-z0-9_.\-/]{1,1011}$/;

export function normaliseParameterName(value: string): string | undefined {
  if (!PARAMETER_NAME.test(value) || value.includes('//')) return undefined;
  const name = value.startsWith('/') ? value.slice(1) : value;
  return name === '' || name.endsWith('/') ? undefined : name;
}

/** `arn:…:ssm:REGION:ACCOUNT:parameter/NAME` to a parameter id. */
export function parameterIdFromArn(value: string): ParameterId | undefined {
  const arn = parseArn(value);
  if (arn?.service !== 'ssm' || !arn.resource.startsWith('parameter/')) return undefined;
  const name = normaliseParameterName(arn.resource.slice('parameter'.length));
  return name === undefined
    ? undefined
    : { partition: arn.partition, region: arn.region, account: arn.account, name };
}

export function parameterArn(id: ParameterId): string {
  return `arn:${id.partition}:ssm:${id.region}:${id.account}:parameter/${id.name}`;
}

export function sameParameter(a: ParameterId, b: ParameterId): boolean {
  return sameScope(a, b) && a.name === b.name;
}
