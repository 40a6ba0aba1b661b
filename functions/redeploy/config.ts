/**
 * The function's configuration, read once from the environment at initialisation. An invalid
 * value fails the cold start with a message naming the variable, rather than misbehaving later.
 */
import { ConfigError } from './errors.js';
import { PARTITION_SOURCE, REGION_SOURCE, isRegion } from './partition.js';

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
  /** Where braked changes are sent back, delayed; empty: nowhere (they wait for the sweep). */
  readonly changeQueueUrl: string;
  /**
   * Fleet-wide cap on forced redeploys rolling out in the watched clusters; 0: no cap. Unset,
   * the bare function has no cap (it redeploys everything it must); the construct sets 20.
   */
  readonly maxDeploymentsInProgress: number;
  /** Delay before a braked change is handled again, in seconds (0-900). */
  readonly brakeRetrySeconds: number;
  /** The flap guard's table; empty: no flap guard. */
  readonly flapTableName: string;
  /** A service force-deployed this many times within the period is left alone until it ends. */
  readonly flapMaxDeployments: number;
  readonly flapPeriodSeconds: number;
  /** Only services tagged `secret-redeployer:include` = `true` are eligible. */
  readonly optIn: boolean;
  /** SNS topic that gets one readable message per change; empty: none. */
  readonly notificationTopicArn: string;
  readonly metricsNamespace: string;
  /** Other accounts whose events are accepted (cross-account event buses); default: none. */
  readonly sourceAccounts: readonly string[];
  /** Other Regions whose events are accepted (cross-Region event buses); default: none. */
  readonly sourceRegions: readonly string[];
  /**
   * Ignore events from other accounts and Regions than the function's own (and the sources
   * above). The construct turns it on; the bare function accepts every event it is given.
   */
  readonly restrictEventSources: boolean;
  /**
   * The rollout table: every change gets a durable rollout that owns it until each affected
   * service runs the new value. Empty: no rollouts (the plain function redeploys and reports).
   */
  readonly rolloutTableName: string;
  /** The rollout engine (durable function, qualified ARN); empty: rollouts are not watched. */
  readonly rolloutEngineArn: string;
  /** A forced deployment not ended this long after it started is STUCK. */
  readonly stuckAfterSeconds: number;
  /** How often the engine looks at deployments in flight (ECS events wake it earlier). */
  readonly pollSeconds: number;
  /** How long an unanswered UpdateService may stay invisible before it is sent again. */
  readonly confirmAfterSeconds: number;
  /**
   * Redeploy services that use a changed secret only as `repositoryCredentials` (read when an
   * image is pulled: running tasks need nothing). Default: reported as skipped.
   */
  readonly redeployForRepositoryCredentials: boolean;
  /**
   * Waves (rollouts only): the first wave is the canary (services tagged
   * `secret-redeployer:wave` = `canary`, else this many), then waves of these sizes, then the rest.
   * Empty: every service at once (the bare function's default; the construct sets 1, 10%, 50%).
   */
  readonly waves: readonly WaveSize[];
  /** Seconds a completed wave bakes (watched alarms must stay OK) before the next starts. */
  readonly waveBakeSeconds: number;
  /** CloudWatch alarms that halt the rollout if they go off while a wave bakes or deploys. */
  readonly waveAlarms: readonly string[];
  /**
   * Which changes are rolled out in waves: `all` (but those tagged `secret-redeployer:waves` =
   * `off`, and secrets another service manages), or only `tagged` ones (tag `on`, or a secret
   * rotated by an alternating-users rotation function): holding a service back is safe only
   * while the previous value still works.
   */
  readonly wavesFor: 'all' | 'tagged';
}

/** A wave's size: a number of services, or a share of all the rollout's services. */
export type WaveSize = { readonly count: number } | { readonly percent: number };

export const ENV = {
  clusters: 'CLUSTERS',
  dryRun: 'DRY_RUN',
  concurrency: 'REDEPLOY_CONCURRENCY',
  secretNamePrefixes: 'SECRET_NAME_PREFIXES',
  parameterNamePrefixes: 'PARAMETER_NAME_PREFIXES',
  changeQueueUrl: 'CHANGE_QUEUE_URL',
  maxDeploymentsInProgress: 'MAX_DEPLOYMENTS_IN_PROGRESS',
  brakeRetrySeconds: 'BRAKE_RETRY_SECONDS',
  flapTableName: 'FLAP_TABLE_NAME',
  flapMaxDeployments: 'FLAP_MAX_DEPLOYMENTS',
  flapPeriodSeconds: 'FLAP_PERIOD_SECONDS',
  optIn: 'OPT_IN',
  notificationTopicArn: 'NOTIFICATION_TOPIC_ARN',
  metricsNamespace: 'METRICS_NAMESPACE',
  sourceAccounts: 'SOURCE_ACCOUNTS',
  sourceRegions: 'SOURCE_REGIONS',
  restrictEventSources: 'RESTRICT_EVENT_SOURCES',
  rolloutTableName: 'ROLLOUT_TABLE_NAME',
  rolloutEngineArn: 'ROLLOUT_ENGINE_ARN',
  stuckAfterSeconds: 'STUCK_AFTER_SECONDS',
  pollSeconds: 'ROLLOUT_POLL_SECONDS',
  confirmAfterSeconds: 'CONFIRM_AFTER_SECONDS',
  redeployForRepositoryCredentials: 'REDEPLOY_FOR_REPOSITORY_CREDENTIALS',
  waves: 'WAVES',
  waveBakeSeconds: 'WAVE_BAKE_SECONDS',
  waveAlarms: 'WAVE_ALARMS',
  wavesFor: 'WAVES_FOR',
} as const;

/** A service with this tag set to `true` is never redeployed. */
export const EXCLUDE_TAG = 'secret-redeployer:exclude';
/** In opt-in mode, only services with this tag set to `true` are redeployed. */
export const INCLUDE_TAG = 'secret-redeployer:include';

export const DEFAULT_CONCURRENCY = 10;
/** UpdateService's throttling bucket holds 50 (ECS API reference, request throttling). */
export const MAX_CONCURRENCY = 50;

const CLUSTER_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const CLUSTER_ARN = new RegExp(
  `^arn:${PARTITION_SOURCE}:ecs:${REGION_SOURCE}:\\d{12}:cluster/[A-Za-z0-9_-]{1,255}$`,
);

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

  const dryRun = flag(env, ENV.dryRun);

  const concurrency = whole(env, ENV.concurrency, DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY);

  return {
    clusters,
    dryRun,
    concurrency,
    secretNamePrefixes: list(env[ENV.secretNamePrefixes]),
    parameterNamePrefixes: list(env[ENV.parameterNamePrefixes]).map((prefix) =>
      prefix.replace(/^\//, ''),
    ),
    changeQueueUrl: (env[ENV.changeQueueUrl] ?? '').trim(),
    maxDeploymentsInProgress: whole(env, ENV.maxDeploymentsInProgress, 0, 0, 10_000),
    brakeRetrySeconds: whole(env, ENV.brakeRetrySeconds, 60, 0, 900),
    flapTableName: (env[ENV.flapTableName] ?? '').trim(),
    flapMaxDeployments: whole(env, ENV.flapMaxDeployments, 3, 1, 1000),
    flapPeriodSeconds: whole(env, ENV.flapPeriodSeconds, 3600, 60, 31 * 24 * 3600),
    optIn: flag(env, ENV.optIn),
    notificationTopicArn: (env[ENV.notificationTopicArn] ?? '').trim(),
    metricsNamespace: (env[ENV.metricsNamespace] ?? '').trim() || 'EcsSecretRedeployer',
    sourceAccounts: accounts(env),
    sourceRegions: regions(env),
    restrictEventSources: flag(env, ENV.restrictEventSources),
    rolloutTableName: (env[ENV.rolloutTableName] ?? '').trim(),
    rolloutEngineArn: engineArn(env),
    stuckAfterSeconds: whole(env, ENV.stuckAfterSeconds, 1800, 60, 7 * 24 * 3600),
    pollSeconds: whole(env, ENV.pollSeconds, 60, 5, 3600),
    confirmAfterSeconds: whole(env, ENV.confirmAfterSeconds, 120, 10, 3600),
    redeployForRepositoryCredentials: flag(env, ENV.redeployForRepositoryCredentials),
    waves: waves(env),
    waveBakeSeconds: whole(env, ENV.waveBakeSeconds, 0, 0, 24 * 3600),
    waveAlarms: alarmNames(env),
    wavesFor: wavesFor(env),
  };
}

/** `1,10%,50%` (counts and percentages), or empty / `off` for no waves. */
function waves(env: Readonly<Record<string, string | undefined>>): WaveSize[] {
  const text = (env[ENV.waves] ?? '').trim();
  if (text === '' || text.toLowerCase() === 'off') return [];
  return list(text).map((entry) => {
    const percent = /^(\d{1,3})%$/.exec(entry);
    if (percent) {
      const value = Number(percent[1]);
      if (value >= 1 && value <= 100) return { percent: value };
    } else if (/^\d{1,5}$/.test(entry) && Number(entry) >= 1) {
      return { count: Number(entry) };
    }
    throw new ConfigError(
      `${ENV.waves}: "${entry}" is neither a number of services (1 or more) nor a percentage (1%-100%)`,
    );
  });
}

function wavesFor(env: Readonly<Record<string, string | undefined>>): 'all' | 'tagged' {
  const value = (env[ENV.wavesFor] ?? 'all').trim().toLowerCase();
  if (value === 'all' || value === 'tagged') return value;
  throw new ConfigError(`${ENV.wavesFor}: "${value.slice(0, 40)}" is neither "all" nor "tagged"`);
}

/** CloudWatch alarm names: 1-255 characters, no control characters. */
function alarmNames(env: Readonly<Record<string, string | undefined>>): string[] {
  const names = (env[ENV.waveAlarms] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const name of names) {
    // eslint-disable-next-line no-control-regex -- control characters are what is refused
    if (name.length > 255 || /[\u0000-\u001f]/.test(name)) {
      throw new ConfigError(`${ENV.waveAlarms}: "${name.slice(0, 40)}" is not an alarm name`);
    }
  }
  return names;
}

/** A qualified Lambda function ARN (durable executions run on a version or alias). */
const QUALIFIED_FUNCTION_ARN = new RegExp(
  `^arn:${PARTITION_SOURCE}:lambda:${REGION_SOURCE}:\\d{12}:function:[A-Za-z0-9_-]{1,64}:[A-Za-z0-9_$-]{1,128}$`,
);

function engineArn(env: Readonly<Record<string, string | undefined>>): string {
  const value = (env[ENV.rolloutEngineArn] ?? '').trim();
  if (value !== '' && !QUALIFIED_FUNCTION_ARN.test(value)) {
    throw new ConfigError(
      `${ENV.rolloutEngineArn}: "${value}" is not a qualified Lambda function ARN (…:function:NAME:ALIAS)`,
    );
  }
  return value;
}

function accounts(env: Readonly<Record<string, string | undefined>>): string[] {
  const values = list(env[ENV.sourceAccounts]);
  for (const value of values) {
    if (!/^\d{12}$/.test(value)) {
      throw new ConfigError(`${ENV.sourceAccounts}: "${value}" is not a 12-digit account id`);
    }
  }
  return values;
}

function regions(env: Readonly<Record<string, string | undefined>>): string[] {
  const values = list(env[ENV.sourceRegions]);
  for (const value of values) {
    if (!isRegion(value)) {
      throw new ConfigError(`${ENV.sourceRegions}: "${value}" is not a Region name`);
    }
  }
  return values;
}

function flag(env: Readonly<Record<string, string | undefined>>, name: string): boolean {
  const text = (env[name] ?? '').trim().toLowerCase();
  if (!['', 'true', 'false', '1', '0'].includes(text)) {
    throw new ConfigError(`${name}: expected true or false, got "${text}"`);
  }
  return text === 'true' || text === '1';
}

function whole(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const text = (env[name] ?? '').trim();
  if (text === '') return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new ConfigError(`${name}: expected a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}
