/**
 * ARN parsing and the identities of the things a task definition can reference.
 *
 * Everything here is pure: no AWS calls, no clock.
 */
import { isPartition, isRegion } from './partition.js';

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

const ACCOUNT = /^\d{12}$/;

/**
 * Parses `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
 * Returns `undefined` for anything that is not a well-formed regional ARN of a known partition.
 */
export function parseArn(value: string): ParsedArn | undefined {
  if (!value.startsWith('arn:')) return undefined;
  const parts = value.split(':');
  // Stryker disable next-line ConditionalExpression: fewer fields leave resource '', refused below
  if (parts.length < 6) return undefined;
  // Stryker disable next-line StringLiteral: unreachable defaults, there are six fields or more
  const [, partition = '', service = '', region = '', account = ''] = parts;
  const resource = parts.slice(5).join(':');
  if (!isPartition(partition) || !/^[a-z0-9-]+$/.test(service)) return undefined;
  if (!isRegion(region) || !ACCOUNT.test(account) || resource === '') return undefined;
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
 * it is unknown when all we have is a name (a deleted secret, another account's event).
 */
export interface SecretId extends Scope {
  readonly name: string;
  readonly suffix?: string;
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
 * How Secrets Manager reads the part of a secret ARN after `secret:` (Secrets Manager user
 * guide, troubleshooting "ARN_secretnamehyphen"; the SecretId parameter of every API): ending in
 * a hyphen and six letters or digits, it is a **complete** ARN, the name followed by the random
 * suffix; otherwise a **partial** ARN, the name alone. So a partial ARN of a name that itself
 * ends in a hyphen and six characters (`prod/api-secret`) is read as the complete ARN of another
 * name (`prod/api` with suffix `secret`), which is why AWS advises against such names: ECS fails
 * to fetch them by partial ARN. ECS resolves `valueFrom` through Secrets Manager, so this is how
 * a task definition's reference is resolved too.
 */
export function readSecretResource(resource: string): { name: string; suffix?: string } {
  const suffix = RANDOM_SUFFIX.exec(resource)?.[1];
  return suffix === undefined ? { name: resource } : { name: resource.slice(0, -7), suffix };
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
  const { name, suffix } = readSecretResource(resource);
  if (suffix === undefined || !isSecretName(name)) return undefined;
  return { partition: arn.partition, region: arn.region, account: arn.account, name, suffix };
}

/**
 * The target of a Secrets Manager reference in a task definition. `resource` is what followed
 * `secret:`: `NAME-XXXXXX` (complete ARN) or `NAME` (partial ARN), told apart as Secrets Manager
 * does (see readSecretResource).
 */
export interface SecretTarget extends Scope {
  readonly resource: string;
}

/**
 * The SecretId to look a reference's secret up with (in the caller's own account and Region):
 * its complete ARN when it has one, else its name. Never the partial ARN, which Secrets Manager
 * misreads for names that end in a hyphen and six characters.
 */
export function secretLookupId(target: SecretTarget): string {
  const { suffix } = readSecretResource(target.resource);
  return suffix === undefined
    ? target.resource
    : `arn:${target.partition}:secretsmanager:${target.region}:${target.account}:secret:${target.resource}`;
}

/**
 * Whether a reference resolves to the secret `id`, as Secrets Manager resolves it. Different
 * scopes never match. A complete ARN matches only the secret with that suffix; when the suffix of
 * `id` is unknown (a secret deleted for good, an event naming it only), any complete ARN of a
 * secret with its name may be it (an earlier secret of that name, deleted and re-created, has
 * another suffix): it matches, so nothing that may use the secret is missed.
 */
export function secretTargetMatches(target: SecretTarget, id: SecretId): boolean {
  if (!sameScope(target, id)) return false;
  const read = readSecretResource(target.resource);
  if (read.name !== id.name) return false;
  return read.suffix === undefined || id.suffix === undefined || read.suffix === id.suffix;
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
