/**
 * The CLI's errors, and the one place that turns any error into a message an operator can act on.
 *
 * Commands throw; `describeError` (used by main.ts) maps what they threw to a message and an exit
 * code: 2 for usage errors (a missing or invalid option, no Region), 1 for everything else.
 */
import { errorName } from '../functions/redeploy/errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** An error whose message is already written for the operator. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number = EXIT_FAILURE;
}

/** The command line is wrong: unknown command or option, missing argument, invalid value. */
export class UsageError extends CliError {
  override name = 'UsageError';
  override readonly exitCode = EXIT_USAGE;
}

export const MISSING_REGION_MESSAGE = 'No AWS Region is set: pass --region or set AWS_REGION';

/** No Region from the option, the environment or the profile. A usage error: pass --region. */
export class MissingRegionError extends UsageError {
  override name = 'MissingRegionError';
  constructor() {
    super(MISSING_REGION_MESSAGE);
  }
}

/** The secret or parameter the operator named does not exist in the Region. */
export class UnknownTargetError extends CliError {
  override name = 'UnknownTargetError';
  constructor(
    readonly target: string,
    readonly region: string,
    what = 'secret or parameter',
  ) {
    super(`No ${what} named ${target} in ${region}`);
  }
}

/** The redeployer's CloudFormation stack is not in this account and Region. */
export class StackNotFoundError extends CliError {
  override name = 'StackNotFoundError';
  constructor(
    readonly stackName: string,
    readonly region: string,
    /** What the command can be given instead of the stack's outputs. */
    instead = 'pass --queue-url and --function',
  ) {
    super(
      `No CloudFormation stack named ${stackName} in ${region}: deploy the redeployer there ` +
        `(npx cdk deploy), pass --stack NAME if it was deployed under another name, or ${instead}`,
    );
  }
}

/** The rollout table does not exist in this account and Region. */
export class RolloutTableNotFoundError extends CliError {
  override name = 'RolloutTableNotFoundError';
  constructor(
    readonly tableName: string,
    readonly region: string,
  ) {
    super(
      `No rollout table named ${tableName} in ${region}: check --table (or the RolloutTableName ` +
        'output of the stack) and --region',
    );
  }
}

/** What the operator asked for is not in the rollout table. */
export class RolloutNotFoundError extends CliError {
  override name = 'RolloutNotFoundError';
  constructor(
    /** `rollout with id …`, `rollout of prod/db`, `rollout`. */
    readonly wanted: string,
    readonly tableName: string,
    readonly region: string,
  ) {
    super(
      `No ${wanted} in rollout table ${tableName} (${region}). Rollouts are kept for 35 days ` +
        'by default; `ecs-redeployer status` lists the recent ones.',
    );
  }
}

/** An AWS call failed; `action` is the IAM action (`secretsmanager:DescribeSecret`). */
export class AwsCallError extends Error {
  override name = 'AwsCallError';
  constructor(
    readonly action: string,
    override readonly cause: unknown,
  ) {
    super(`${action} failed: ${errorText(cause)}`);
  }
}

/** Runs one AWS call, naming the IAM action in any error it throws. */
export async function awsCall<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw error instanceof AwsCallError ? error : new AwsCallError(action, error);
  }
}

// ---------------------------------------------------------------------------------------------
// Classification of AWS SDK errors
// ---------------------------------------------------------------------------------------------

const ACCESS_DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnauthorizedOperation',
  'AuthorizationError',
  'AuthorizationErrorException',
]);

/** The SDK found no credentials, or could not refresh them (expired SSO session, …). */
const NO_CREDENTIALS = new Set(['CredentialsProviderError', 'TokenProviderError']);

/** AWS rejected the credentials it was given. */
const REJECTED_CREDENTIALS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'RequestExpired',
]);

const NETWORK = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT']);

function rootCause(error: unknown): unknown {
  return error instanceof AwsCallError ? error.cause : error;
}

export function isAccessDenied(error: unknown): boolean {
  return ACCESS_DENIED.has(errorName(rootCause(error)));
}

export function isNotFound(error: unknown): boolean {
  return errorName(rootCause(error)) === 'ResourceNotFoundException';
}

/** Errors that will fail every further call as well: stop instead of carrying on. */
export function isFatal(error: unknown): boolean {
  const name = errorName(rootCause(error));
  return (
    ACCESS_DENIED.has(name) ||
    NO_CREDENTIALS.has(name) ||
    REJECTED_CREDENTIALS.has(name) ||
    NETWORK.has(networkCode(rootCause(error)) ?? '')
  );
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${oneLine(error.message)}`;
  return oneLine(String(error));
}

function oneLine(text: string, max = 400): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function networkCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** What an IAM "not authorized" message says: who, which action, on what, and why. */
export interface DeniedDetails {
  readonly principal?: string;
  readonly action?: string;
  readonly resource?: string;
  readonly because?: string;
}

/**
 * Reads the usual IAM message: `User: arn:aws:sts::…:assumed-role/R/s is not authorized to
 * perform: ecs:ListServices on resource: arn:… because no identity-based policy allows …`.
 */
export function parseDenied(message: string): DeniedDetails {
  const principal = /User: (\S+) is not authorized/i.exec(message)?.[1];
  const action = /not authorized to perform: ([\w-]+:[\w*-]+)/i.exec(message)?.[1];
  const resource = /on resource: (\S+?)(?:\s|$)/i.exec(message)?.[1];
  const reason = /\b(?:because (.+?)|(with an explicit deny .+?))(?:\.\s|\.?$)/i.exec(message);
  const because = reason?.[1] ?? reason?.[2];
  return {
    ...(principal !== undefined && { principal }),
    ...(action !== undefined && { action }),
    ...(resource !== undefined && { resource }),
    ...(because !== undefined && { because: oneLine(because, 200) }),
  };
}

/** The operator-facing message for an access-denied error; `action` is what we were calling. */
export function accessDeniedMessage(error: unknown, action?: string): string {
  const cause = rootCause(error);
  const message = cause instanceof Error ? cause.message : String(cause);
  const details = parseDenied(message);
  const denied = details.action ?? action ?? 'an AWS action';
  const who = details.principal ?? 'your credentials';
  return (
    `Access denied: ${who} may not call ${denied}` +
    (details.resource === undefined ? '' : ` on ${details.resource}`) +
    (details.because === undefined ? '' : ` (${details.because})`) +
    `. Ask for ${denied} permission, or use other credentials (--profile).`
  );
}

const CREDENTIALS_HELP =
  'set AWS_PROFILE (or pass --profile) to a profile in ~/.aws/config, run `aws configure`, ' +
  'or sign in with `aws sso login --profile NAME`';

export interface ErrorContext {
  /** The Region the command ran against, when known. */
  readonly region?: string;
}

export interface DescribedError {
  readonly message: string;
  readonly exitCode: number;
}

/** Maps anything a command threw to a message and exit code. Never includes a stack trace. */
export function describeError(error: unknown, context: ErrorContext = {}): DescribedError {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  const action = error instanceof AwsCallError ? error.action : undefined;
  const cause = rootCause(error);
  const name = errorName(cause);
  const text = cause instanceof Error ? oneLine(cause.message) : oneLine(String(cause));
  const fail = (message: string): DescribedError => ({ message, exitCode: EXIT_FAILURE });

  if (NO_CREDENTIALS.has(name)) {
    return fail(`No usable AWS credentials: ${CREDENTIALS_HELP}. (The SDK said: ${text})`);
  }
  if (REJECTED_CREDENTIALS.has(name)) {
    return fail(
      `AWS rejected your credentials (${name}): they may have expired. Refresh them: ` +
        `${CREDENTIALS_HELP}.`,
    );
  }
  if (ACCESS_DENIED.has(name)) return fail(accessDeniedMessage(cause, action));
  if (name === 'Error' && /^Region is missing$|^Region not accepted/.test(text)) {
    return { message: MISSING_REGION_MESSAGE, exitCode: EXIT_USAGE };
  }
  const code = networkCode(cause);
  if (code !== undefined && NETWORK.has(code)) {
    return fail(
      `Could not reach AWS${context.region === undefined ? '' : ` in ${context.region}`} ` +
        `(${code}${action === undefined ? '' : ` calling ${action}`}): check --region, ` +
        'your network and proxy settings.',
    );
  }
  if (action !== undefined) return fail(`${action} failed: ${name}: ${text}`);
  return fail(`Unexpected error: ${name}: ${text}`);
}
