/**
 * An executable model of how Secrets Manager (and ECS, which fetches `valueFrom` through it)
 * resolves a secret identifier, written from AWS's documentation and independent of the
 * function's own code, so property tests can check the function against it.
 *
 * Sources: the `SecretId` parameter of the Secrets Manager API reference (GetSecretValue,
 * DescribeSecret): "You can specify either the ARN or the friendly name of the secret… A partial
 * ARN match can work as long as it uniquely matches only one secret. However, if your secret has
 * a name that ends in a hyphen followed by six characters … and you try to use that as a partial
 * ARN, then those characters cause Secrets Manager to assume that you're specifying a complete
 * ARN"; the user guide's troubleshooting entry "ARN_secretnamehyphen"; and the ECS developer guide
 * (secrets-envvar-secrets-manager): `valueFrom` is the full ARN or a partial ARN, optionally
 * followed by `:json-key:version-stage:version-id`. Names are unique per account and Region;
 * a deleted and re-created secret gets a new six-character suffix.
 */

export interface ModelScope {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

export interface ModelSecret extends ModelScope {
  readonly name: string;
  /** The six random characters Secrets Manager appends to the name in the ARN. */
  readonly suffix: string;
}

const sameScope = (a: ModelScope, b: ModelScope): boolean =>
  a.partition === b.partition && a.region === b.region && a.account === b.account;

export function fullArn(secret: ModelSecret): string {
  return `arn:${secret.partition}:secretsmanager:${secret.region}:${secret.account}:secret:${secret.name}-${secret.suffix}`;
}

export function partialArn(secret: ModelSecret): string {
  return `arn:${secret.partition}:secretsmanager:${secret.region}:${secret.account}:secret:${secret.name}`;
}

/** The secret a SecretId (or an ECS `valueFrom`) designates in `world`, if any. */
export function resolve(
  secretId: string,
  world: readonly ModelSecret[],
  caller: ModelScope,
): ModelSecret | undefined {
  if (!secretId.startsWith('arn:')) {
    return world.find((s) => sameScope(s, caller) && s.name === secretId);
  }
  const [, partition, service, region, account, type, resource] = secretId.split(':');
  if (service !== 'secretsmanager' || type !== 'secret' || resource === undefined) return undefined;
  const scope = { partition: partition ?? '', region: region ?? '', account: account ?? '' };
  const inScope = world.filter((s) => sameScope(s, scope));
  const last7 = resource.slice(-7);
  const complete = resource.length > 7 && /^-[A-Za-z0-9]{6}$/.test(last7);
  if (complete) {
    const name = resource.slice(0, -7);
    const suffix = resource.slice(-6);
    return inScope.find((s) => s.name === name && s.suffix === suffix);
  }
  const matches = inScope.filter((s) => s.name === resource);
  return matches.length === 1 ? matches[0] : undefined;
}
