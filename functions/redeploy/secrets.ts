/**
 * Resolves the secret a change names to its full identity, with metadata calls only
 * (`DescribeSecret`). Never reads a secret value.
 */
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  type Scope,
  type SecretId,
  parseArn,
  readSecretResource,
  sameScope,
  secretArn,
  secretIdFromFullArn,
} from './arn.js';
import { AWSCURRENT, type SecretChange, stagesMovedBy } from './change.js';
import { errorName } from './errors.js';
import type { PendingSecretChange } from './events.js';

export type SecretsManagerLike = Pick<SecretsManagerClient, 'send'>;

export type Resolution =
  | { readonly kind: 'change'; readonly change: SecretChange }
  | { readonly kind: 'ignored'; readonly reason: string };

/**
 * `home` is the function's own scope: names and partial ARNs are only described there, so a
 * same-named secret in another Region or account is never mistaken for the one that changed.
 */
export async function resolveSecretChange(
  pending: PendingSecretChange,
  secretsManager: SecretsManagerLike,
  home: Scope,
): Promise<Resolution> {
  const { locator } = pending;
  const reference = locator.arn ? undefined : (locator.reference ?? locator.name);
  const referenceArn = reference === undefined ? undefined : parseArn(reference);
  const referenceScope: Scope = referenceArn ?? pending.scope;

  let secret: SecretId | undefined = locator.arn;
  let described: DescribeSecretCommandOutput | undefined;
  const needsStages = pending.stages === undefined && pending.versionId !== undefined;
  const describeId =
    secret !== undefined
      ? needsStages && sameScope(secret, home)
        ? secretArn(secret)
        : undefined
      : reference !== undefined && sameScope(referenceScope, home)
        ? reference
        : undefined;

  if (describeId !== undefined) {
    try {
      described = await secretsManager.send(new DescribeSecretCommand({ SecretId: describeId }));
    } catch (error) {
      // Deleted for good (or never existed here): fall back to what the event says.
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
    }
    if (secret === undefined && described?.ARN !== undefined) {
      secret = secretIdFromFullArn(described.ARN);
    }
  }
  if (secret === undefined && reference !== undefined) {
    // Not described (deleted, or another Region or account): read the caller's ARN as Secrets
    // Manager itself reads it (complete if it ends in a hyphen and six characters).
    secret = referenceArn
      ? {
          ...pickScope(referenceArn),
          ...readSecretResource(referenceArn.resource.replace(/^secret:/, '')),
        }
      : { ...pickScope(pending.scope), name: reference };
  }
  if (secret === undefined || secret.name.includes(':')) {
    return { kind: 'ignored', reason: 'the secret in the event could not be identified' };
  }

  let stages: string[];
  if (pending.stages !== undefined) {
    stages = stagesMovedBy(pending.stages);
  } else {
    const map = described?.VersionIdsToStages;
    const id = pending.versionId;
    // Own keys only: an id such as `__proto__` or `constructor` must not reach Object.prototype.
    const found: unknown = id !== undefined && map && Object.hasOwn(map, id) ? map[id] : undefined;
    const labels =
      Array.isArray(found) && found.every((label) => typeof label === 'string') ? found : undefined;
    if (labels !== undefined && stagesMovedBy(labels).length === 0) {
      return {
        kind: 'ignored',
        reason: `the new version carries only ${labels.join(', ') || 'no label'}: not live yet`,
      };
    }
    // PutSecretValue without VersionStages moves AWSCURRENT (Secrets Manager API reference).
    stages = stagesMovedBy(labels ?? [AWSCURRENT]);
  }

  return {
    kind: 'change',
    change: {
      kind: 'secret',
      eventId: pending.eventId,
      time: pending.time,
      trigger: pending.trigger,
      action: pending.action,
      secret,
      stages,
      ...(pending.versionId !== undefined && { versionId: pending.versionId }),
    },
  };
}

function pickScope(scope: Scope): Scope {
  return { partition: scope.partition, region: scope.region, account: scope.account };
}
