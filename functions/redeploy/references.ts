/**
 * Which secrets and parameters a task definition references, and whether a change affects them.
 *
 * Reference forms (ECS developer guide; shared/aws-facts.md):
 * - `containerDefinitions[].secrets[].valueFrom`
 * - `containerDefinitions[].repositoryCredentials.credentialsParameter`
 * - `containerDefinitions[].logConfiguration.secretOptions[].valueFrom`
 * - `volumes[].fsxWindowsFileServerVolumeConfiguration.authorizationConfig.credentialsParameter`
 * - `containerDefinitions[].credentialSpecs[]` and the older `dockerSecurityOptions[]`:
 *   `credentialspec:ARN` or `credentialspecdomainless:ARN`, where the gMSA credential spec may be
 *   an SSM parameter (ECS API reference, ContainerDefinition)
 *
 * Each value is a Secrets Manager ARN (full or partial, optionally followed by
 * `:json-key:version-stage:version-id`), an SSM parameter ARN, or an SSM parameter name in the
 * task definition's own Region and account. `/aws/reference/secretsmanager/NAME` reads the secret
 * NAME through Parameter Store.
 */
import {
  type ParameterId,
  type Scope,
  type SecretTarget,
  isSecretName,
  normaliseParameterName,
  parameterIdFromArn,
  parseArn,
} from './arn.js';

export interface SecretReference {
  readonly kind: 'secret';
  readonly target: SecretTarget;
  readonly jsonKey?: string;
  /** The staging label the reference is pinned to; absent means `AWSCURRENT`. */
  readonly versionStage?: string;
  /** The version the reference is pinned to; a pinned version never changes. */
  readonly versionId?: string;
  /** Where it was found, e.g. `container web: secrets[DB_PASSWORD]`. */
  readonly location: string;
  /**
   * Read only when an image is pulled (`repositoryCredentials`): running tasks never need the
   * new value, and new tasks pull with it.
   */
  readonly imagePull?: boolean;
}

export interface ParameterReference {
  readonly kind: 'parameter';
  readonly parameter: ParameterId;
  readonly location: string;
}

export type Reference = SecretReference | ParameterReference;

const SSM_SECRET_PASSTHROUGH = 'aws/reference/secretsmanager/';

/**
 * Parses one `valueFrom` / `credentialsParameter` value. `home` is the task definition's scope,
 * against which plain parameter names resolve. Returns `undefined` for values that are not a
 * recognisable reference (they cannot be affected by any change we handle).
 */
export function parseReference(
  value: string,
  home: Scope,
  location: string,
): Reference | undefined {
  const arn = parseArn(value);
  if (arn?.service === 'secretsmanager') {
    const fields = arn.resource.split(':');
    if (fields[0] !== 'secret') return undefined;
    const [, resource = '', jsonKey = '', versionStage = '', versionId = ''] = fields;
    if (!isSecretName(resource) || fields.length > 5) return undefined;
    return {
      kind: 'secret',
      target: { partition: arn.partition, region: arn.region, account: arn.account, resource },
      ...(jsonKey && { jsonKey }),
      ...(versionStage && { versionStage }),
      ...(versionId && { versionId }),
      location,
    };
  }
  if (arn?.service === 'ssm') {
    if (!arn.resource.startsWith('parameter/')) return undefined;
    const name = arn.resource.slice('parameter/'.length);
    if (name.startsWith(SSM_SECRET_PASSTHROUGH)) {
      return passthrough(name.slice(SSM_SECRET_PASSTHROUGH.length), arn, location);
    }
    const parameter = parameterIdFromArn(value);
    return parameter && { kind: 'parameter', parameter, location };
  }
  // A value starting `arn:` has a colon, which no parameter name or pass-through path accepts:
  // the code below refuses it too, so no mutant of this guard can change a result.
  // Stryker disable next-line ConditionalExpression,LogicalOperator,MethodExpression: redundant
  if (arn !== undefined || value.startsWith('arn:')) return undefined;

  const bare = value.startsWith('/') ? value.slice(1) : value;
  if (bare.startsWith(SSM_SECRET_PASSTHROUGH)) {
    return passthrough(bare.slice(SSM_SECRET_PASSTHROUGH.length), home, location);
  }
  const name = normaliseParameterName(value);
  return name === undefined
    ? undefined
    : { kind: 'parameter', parameter: { ...pickScope(home), name }, location };
}

/** `/aws/reference/secretsmanager/ID`: ID is a secret name or ARN, read at its current stage. */
function passthrough(id: string, scope: Scope, location: string): SecretReference | undefined {
  const arn = parseArn(id);
  if (arn !== undefined) {
    const ref = parseReference(id, scope, location);
    return ref?.kind === 'secret' ? ref : undefined;
  }
  if (!isSecretName(id)) return undefined;
  return { kind: 'secret', target: { ...pickScope(scope), resource: id }, location };
}

function pickScope(scope: Scope): Scope {
  return { partition: scope.partition, region: scope.region, account: scope.account };
}

// ---------------------------------------------------------------------------------------------
// Extraction from a task definition (the shape DescribeTaskDefinition returns)
// ---------------------------------------------------------------------------------------------

/** The fields of a task definition we read; everything else is ignored. */
export interface TaskDefinitionLike {
  readonly taskDefinitionArn?: string;
  readonly containerDefinitions?: readonly ContainerLike[];
  readonly volumes?: readonly VolumeLike[];
}

interface NameValueFrom {
  readonly name?: string;
  readonly valueFrom?: string;
}

interface ContainerLike {
  readonly name?: string;
  readonly secrets?: readonly NameValueFrom[];
  readonly repositoryCredentials?: { readonly credentialsParameter?: string };
  readonly logConfiguration?: { readonly secretOptions?: readonly NameValueFrom[] };
  readonly credentialSpecs?: readonly string[];
  readonly dockerSecurityOptions?: readonly string[];
}

/** `credentialspec:ARN` / `credentialspecdomainless:ARN`: the ARN (SSM or S3) of a gMSA spec. */
const CREDENTIAL_SPEC = /^credentialspec(?:domainless)?:(arn:.+)$/;

interface VolumeLike {
  readonly name?: string;
  readonly fsxWindowsFileServerVolumeConfiguration?: {
    readonly authorizationConfig?: { readonly credentialsParameter?: string };
  };
}

/**
 * Every reference in a task definition. `home` is the task definition's own scope (from its
 * ARN), which plain parameter names resolve against.
 */
export function extractReferences(taskDefinition: TaskDefinitionLike, home: Scope): Reference[] {
  const found: Reference[] = [];
  const add = (value: string | undefined, location: string, imagePull = false): void => {
    if (typeof value !== 'string' || value === '') return;
    const ref = parseReference(value, home, location);
    if (ref) found.push(imagePull && ref.kind === 'secret' ? { ...ref, imagePull } : ref);
  };
  for (const container of taskDefinition.containerDefinitions ?? []) {
    const where = `container ${container.name ?? '?'}`;
    for (const secret of container.secrets ?? []) {
      add(secret.valueFrom, `${where}: secrets[${secret.name ?? '?'}]`);
    }
    add(
      container.repositoryCredentials?.credentialsParameter,
      `${where}: repositoryCredentials`,
      true,
    );
    for (const [field, entries] of [
      ['credentialSpecs', container.credentialSpecs],
      ['dockerSecurityOptions', container.dockerSecurityOptions],
    ] as const) {
      for (const entry of Array.isArray(entries) ? entries : []) {
        const arn = typeof entry === 'string' ? CREDENTIAL_SPEC.exec(entry)?.[1] : undefined;
        // Only an SSM parameter can change under us; an S3 object is outside what we watch.
        if (arn?.includes(':ssm:')) add(arn, `${where}: ${field}`);
      }
    }
    // The ECS developer guide's example shows logConfiguration as an array; tolerate both.
    const logConfigurations: unknown = container.logConfiguration;
    for (const log of Array.isArray(logConfigurations)
      ? (logConfigurations as ContainerLike['logConfiguration'][])
      : [container.logConfiguration]) {
      for (const option of log?.secretOptions ?? []) {
        add(option.valueFrom, `${where}: logConfiguration.secretOptions[${option.name ?? '?'}]`);
      }
    }
  }
  for (const volume of taskDefinition.volumes ?? []) {
    add(
      volume.fsxWindowsFileServerVolumeConfiguration?.authorizationConfig?.credentialsParameter,
      `volume ${volume.name ?? '?'}: fsxWindowsFileServerVolumeConfiguration`,
    );
  }
  return found;
}
