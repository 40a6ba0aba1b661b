/**
 * What the operator named: a secret (name, partial or full ARN) or a parameter (name with or
 * without the leading slash, or ARN), resolved with metadata calls only (DescribeSecret,
 * DescribeParameters). Never reads a value.
 */
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand } from '@aws-sdk/client-ssm';
import { type HoldHint, hintFromSecret } from '../functions/rollout/waves.js';
import {
  type ParameterId,
  type SecretId,
  isSecretName,
  normaliseParameterName,
  parameterIdFromArn,
  parseArn,
  secretIdFromFullArn,
} from '../functions/redeploy/arn.js';
import type { SecretsManagerLike, SsmLike } from './aws.js';
import {
  CliError,
  UnknownTargetError,
  UsageError,
  accessDeniedMessage,
  awsCall,
  describeError,
  isAccessDenied,
  isNotFound,
} from './errors.js';
import type { Output } from './output.js';

export interface SecretTarget {
  readonly kind: 'secret';
  readonly id: SecretId;
  readonly arn: string;
  readonly name: string;
  /** Set when the secret is scheduled for deletion. */
  readonly deletedDate?: Date;
  /** Version id to staging labels, as DescribeSecret reports them. */
  readonly versionIdsToStages: Readonly<Record<string, readonly string[]>>;
  /** Its waves tag, managing service and rotation function (whether waves apply). */
  readonly hint: HoldHint;
}

export interface ParameterTarget {
  readonly kind: 'parameter';
  readonly id: ParameterId;
  readonly arn: string;
  /** The parameter's name as Parameter Store spells it (with its leading slash, if any). */
  readonly name: string;
}

export type Target = SecretTarget | ParameterTarget;

/** What to look up for an argument, before any AWS call. */
export interface TargetQuery {
  /** The id to pass to DescribeSecret, if the argument can be a secret. */
  readonly secretId?: string;
  /** The names to look up with DescribeParameters, if the argument can be a parameter. */
  readonly parameterNames?: readonly string[];
  /** The Region of an ARN argument. */
  readonly arnRegion?: string;
}

const PASSTHROUGH = 'aws/reference/secretsmanager/';

/** Parses the argument of `plan` (and `rotate`). Throws a UsageError for what can be neither. */
export function parseTarget(input: string): TargetQuery {
  const value = input.trim();
  if (value === '') throw new UsageError('Name a secret or parameter');
  if (value.startsWith('arn:')) {
    const arn = parseArn(value);
    if (arn?.service === 'secretsmanager' && arn.resource.startsWith('secret:')) {
      // A task definition's valueFrom may carry `:json-key:stage:version`: keep the secret part.
      const secretId = value.split(':').slice(0, 7).join(':');
      return { secretId, arnRegion: arn.region };
    }
    if (arn?.service === 'ssm') {
      const parameter = parameterIdFromArn(value);
      if (parameter !== undefined) {
        return { parameterNames: spellings(parameter.name), arnRegion: arn.region };
      }
    }
    throw new UsageError(`${value} is not a Secrets Manager secret ARN or an SSM parameter ARN`);
  }
  const bare = value.startsWith('/') ? value.slice(1) : value;
  if (bare.startsWith(PASSTHROUGH)) {
    const secret = bare.slice(PASSTHROUGH.length);
    if (isSecretName(secret)) return { secretId: secret };
  }
  const parameterName = normaliseParameterName(value);
  const query: TargetQuery = {
    ...(isSecretName(value) && { secretId: value }),
    ...(parameterName !== undefined && { parameterNames: spellings(parameterName) }),
  };
  if (query.secretId === undefined && query.parameterNames === undefined) {
    throw new UsageError(`${value} is neither a valid secret name nor a valid parameter name`);
  }
  return query;
}

/** `a/b` and `/a/b` name the same parameter for ECS; Parameter Store stores one of them. */
function spellings(name: string): string[] {
  return [`/${name}`, name];
}

/** DescribeSecret, metadata only. `undefined` when there is no such secret. */
export async function describeSecret(
  secretsManager: SecretsManagerLike,
  secretId: string,
): Promise<DescribeSecretCommandOutput | undefined> {
  try {
    return await awsCall('secretsmanager:DescribeSecret', () =>
      secretsManager.send(new DescribeSecretCommand({ SecretId: secretId })),
    );
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** A described secret as a target. */
export function secretTarget(described: DescribeSecretCommandOutput): SecretTarget {
  const arn = described.ARN ?? '';
  const id = secretIdFromFullArn(arn);
  if (id === undefined) {
    throw new CliError(`DescribeSecret returned an ARN that is not a secret's: "${arn}"`);
  }
  return {
    kind: 'secret',
    id,
    arn,
    name: described.Name ?? id.name,
    ...(described.DeletedDate !== undefined && { deletedDate: described.DeletedDate }),
    versionIdsToStages: described.VersionIdsToStages ?? {},
    hint: hintFromSecret(described),
  };
}

/** Looks a parameter up by name with DescribeParameters (metadata only). */
export async function findParameter(
  ssm: SsmLike,
  names: readonly string[],
): Promise<ParameterTarget | undefined> {
  let nextToken: string | undefined;
  // With filters, DescribeParameters may return empty pages that still carry a NextToken.
  for (let page = 0; page < 50; page += 1) {
    const output = await awsCall('ssm:DescribeParameters', () =>
      ssm.send(
        new DescribeParametersCommand({
          ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [...names] }],
          MaxResults: 50,
          NextToken: nextToken,
        }),
      ),
    );
    const found = (output.Parameters ?? []).find((p) => p.Name !== undefined);
    if (found?.Name !== undefined) {
      if (found.ARN === undefined) throw new CliError('DescribeParameters returned no ARN');
      const id = parameterIdFromArn(found.ARN);
      if (id === undefined) {
        throw new CliError(`DescribeParameters returned an ARN that is not a parameter's`);
      }
      return { kind: 'parameter', id, arn: found.ARN, name: found.Name };
    }
    nextToken = output.NextToken;
    if (nextToken === undefined) return undefined;
  }
  return undefined;
}

/**
 * Resolves the argument of `plan`. A bare name that is both a secret and a parameter resolves to
 * both (the plan covers each). If one lookup fails but the other finds something, the failure is
 * a warning; if nothing is found, a failure is thrown, else "no secret or parameter named …".
 */
export async function resolveTargets(
  input: string,
  clients: { readonly secretsManager: SecretsManagerLike; readonly ssm: SsmLike },
  region: string,
  output: Output,
): Promise<Target[]> {
  const query = parseTarget(input);
  type Lookup =
    | { readonly ok: true; readonly target: Target | undefined }
    | { readonly ok: false; readonly error: unknown };
  const settle = async (lookup: () => Promise<Target | undefined>): Promise<Lookup> => {
    try {
      return { ok: true, target: await lookup() };
    } catch (error) {
      return { ok: false, error };
    }
  };
  const { secretId, parameterNames } = query;
  const lookups = await Promise.all([
    ...(secretId === undefined
      ? []
      : [
          settle(async () => {
            const described = await describeSecret(clients.secretsManager, secretId);
            return described && secretTarget(described);
          }),
        ]),
    ...(parameterNames === undefined
      ? []
      : [settle(() => findParameter(clients.ssm, parameterNames))]),
  ]);
  const found = lookups.flatMap((lookup) =>
    lookup.ok && lookup.target !== undefined ? [lookup.target] : [],
  );
  const failures = lookups.flatMap((lookup) => (lookup.ok ? [] : [lookup.error]));
  if (found.length === 0) {
    if (failures.length > 0) throw failures[0];
    throw new UnknownTargetError(input, region);
  }
  for (const failure of failures) {
    const message = isAccessDenied(failure)
      ? accessDeniedMessage(failure)
      : describeError(failure, { region }).message;
    output.warn(`Warning: could not check every reading of ${input}: ${message}`);
  }
  return found;
}
