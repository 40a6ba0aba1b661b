/**
 * The function's configuration, read once from the environment at initialisation. An invalid
 * value fails the cold start with a message naming the variable, rather than misbehaving later.
 */
import { ConfigError } from './errors.js';

export interface RedeployerConfig {
  /** Cluster names or ARNs to watch; empty: every cluster of the account and Region. */
  readonly clusters: readonly string[];
  /** Plan and report, but make no mutating call. */
  readonly dryRun: boolean;
  /** Concurrent UpdateService calls. */
  readonly concurrency: number;
  /** Only secrets whose name starts with one of these are handled; empty: all. */
  readonly secretNamePrefixes: readonly string[];
  /** Only parameters whose name starts with one of these are handled; empty: all. */
  readonly parameterNamePrefixes: readonly string[];
}

export const ENV = {
  clusters: 'CLUSTERS',
  dryRun: 'DRY_RUN',
  concurrency: 'REDEPLOY_CONCURRENCY',
  secretNamePrefixes: 'SECRET_NAME_PREFIXES',
  parameterNamePrefixes: 'PARAMETER_NAME_PREFIXES',
} as const;

export const DEFAULT_CONCURRENCY = 10;
/** UpdateService's throttling bucket holds 50 (ECS API reference, request throttling). */
export const MAX_CONCURRENCY = 50;

const CLUSTER_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const CLUSTER_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]{1,255}$/;

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

export function loadConfig(env: Readonly<Record<string, string | undefined>>): RedeployerConfig {
  const clusters = list(env[ENV.clusters]);
  for (const cluster of clusters) {
    if (!CLUSTER_NAME.test(cluster) && !CLUSTER_ARN.test(cluster)) {
      throw new ConfigError(
        `${ENV.clusters}: "${cluster}" is neither a cluster name nor a cluster ARN`,
      );
    }
  }

  const dryRunText = (env[ENV.dryRun] ?? '').trim().toLowerCase();
  if (!['', 'true', 'false', '1', '0'].includes(dryRunText)) {
    throw new ConfigError(`${ENV.dryRun}: expected true or false, got "${dryRunText}"`);
  }

  const concurrencyText = (env[ENV.concurrency] ?? '').trim();
  const concurrency = concurrencyText === '' ? DEFAULT_CONCURRENCY : Number(concurrencyText);
  if (
    (concurrencyText !== '' && !/^\d+$/.test(concurrencyText)) ||
    concurrency < 1 ||
    concurrency > MAX_CONCURRENCY
  ) {
    throw new ConfigError(
      `${ENV.concurrency}: expected a whole number from 1 to ${MAX_CONCURRENCY}, got "${concurrencyText}"`,
    );
  }

  return {
    clusters,
    dryRun: dryRunText === 'true' || dryRunText === '1',
    concurrency,
    secretNamePrefixes: list(env[ENV.secretNamePrefixes]),
    parameterNamePrefixes: list(env[ENV.parameterNamePrefixes]).map((prefix) =>
      prefix.replace(/^\//, ''),
    ),
  };
}
