/**
 * `ecs-redeployer`: the operator CLI. Parses the command line, resolves the Region, builds the
 * clients (the caller's credentials), runs one command and maps what it threw to a message and
 * an exit code: 0 success, 1 failure, 2 usage error, 130 interrupted.
 *
 * Run it with `npx ecs-redeployer …` (cli/bin.mjs) or `npm run cli -- …`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../functions/redeploy/config.js';
import { ConfigError } from '../functions/redeploy/errors.js';
import { RolloutStore } from '../functions/rollout/store.js';
import { type Clients, createClients, profileRegion, resolveRegion } from './aws.js';
import { type Clock, systemClock } from './clock.js';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError, describeError } from './errors.js';
import { type Output, streamOutput } from './output.js';
import { control } from './control.js';
import { DEFAULT_PLAN_WAVES, parseWaves, plan } from './plan.js';
import { LIST_VISIBILITY_SECONDS, redrive } from './redrive.js';
import type { RolloutStoreFactory } from './rollouts.js';
import { ROTATE_DEFAULTS, rotate } from './rotate.js';
import { DEFAULT_STACK, OUTPUTS } from './stack.js';
import { STATUS_DEFAULT_LIMIT, status } from './status.js';
import { parseTarget } from './targets.js';

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  region: { type: 'string' },
  profile: { type: 'string' },
  clusters: { type: 'string' },
  stage: { type: 'string' },
  json: { type: 'boolean' },
  interval: { type: 'string' },
  'rotation-timeout': { type: 'string' },
  'deploy-timeout': { type: 'string' },
  stack: { type: 'string' },
  list: { type: 'boolean' },
  'queue-url': { type: 'string' },
  function: { type: 'string' },
  max: { type: 'string' },
  table: { type: 'string' },
  latest: { type: 'boolean' },
  limit: { type: 'string' },
  by: { type: 'string' },
  waves: { type: 'string' },
  'waves-for': { type: 'string' },
} as const;

type OptionName = keyof typeof OPTIONS;

const COMMANDS = ['plan', 'rotate', 'status', 'resume', 'abort', 'redrive'] as const;
type Command = (typeof COMMANDS)[number];

const GLOBAL_OPTIONS: readonly OptionName[] = ['help', 'region', 'profile'];
const COMMAND_OPTIONS: Readonly<Record<Command, readonly OptionName[]>> = {
  plan: ['clusters', 'stage', 'json', 'waves', 'waves-for'],
  rotate: ['clusters', 'interval', 'rotation-timeout', 'deploy-timeout', 'stack', 'table'],
  status: ['latest', 'limit', 'json', 'stack', 'table'],
  resume: ['latest', 'by', 'json', 'stack', 'table'],
  abort: ['latest', 'by', 'json', 'stack', 'table'],
  redrive: ['list', 'queue-url', 'function', 'stack', 'max', 'json'],
};

export const USAGE = `Usage: ecs-redeployer <command> [options]

Operator commands for the ECS secret redeployer. They use your AWS credentials (the SDK's
default chain, or --profile) and never read or print a secret or parameter value.

Commands:
  plan <secret-or-parameter>  List the services that reference it and what a change would do
                              to each (redeploy, skip and why, needs action). Changes nothing.
  rotate <secret>             Start a rotation, wait for AWSCURRENT to move, then wait until
                              every affected service is redeployed and stable again.
  status [<change>]           Show the redeployer's rollout of a change (rollout id, secret or
                              parameter, or --latest): each service's state, deployment,
                              duration and reason. Without one, list the recent rollouts.
  resume [<change>]           Go on with a rollout in waves that halted: deploy its failed
                              services again, then the next waves (after fixing the cause).
  abort [<change>]            End a rollout: start nothing more; what was not deployed is
                              reported as owed.
  redrive [list]              Send the change events waiting in the dead-letter queue through
                              the function again; \`redrive list\` (or --list) only shows them.

Options for every command:
  --region REGION   AWS Region (default: AWS_REGION, AWS_DEFAULT_REGION, your profile's Region)
  --profile NAME    Named profile for credentials and Region (default: AWS_PROFILE, or the
                    SDK's default credential chain)
  -h, --help        Show help; \`ecs-redeployer <command> --help\` shows a command's options

Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted.
`;

const COMMAND_USAGE: Readonly<Record<Command, string>> = {
  plan: `Usage: ecs-redeployer plan <secret-or-parameter> [options]

Lists the ECS services whose current task definitions reference the secret or parameter, and
what the redeployer would do to each if it changed: redeploy, skip (and why), needs action
(CODE_DEPLOY or EXTERNAL deployment controller), still referenced (a deleted secret), and the
waves the services to redeploy would go in (the canary first). Runs the function's own logic in
dry-run mode: nothing is changed.

<secret-or-parameter> is a secret name, a partial or full secret ARN, a parameter name (with or
without the leading slash) or a parameter ARN. A name that is both a secret and a parameter is
planned for both. Only metadata is read (DescribeSecret, DescribeParameters).

Options:
  --clusters a,b   Only these clusters, names or ARNs (default: every cluster)
  --stage LABEL    The staging label that would move, for references pinned to a stage
                   (secrets only; default AWSCURRENT)
  --waves SIZES    The wave sizes to plan with, as the redeployer is configured: counts and
                   percentages (default ${DEFAULT_PLAN_WAVES.text}), or off
  --waves-for all|tagged
                   Which changes go in waves (default ${DEFAULT_PLAN_WAVES.appliesTo}): tagged means secrets and
                   parameters tagged secret-redeployer:waves=on and secrets rotated by an
                   alternating-users function; never secrets another service manages (RDS)
  --json           Print the plan as JSON
  --region, --profile, --help

Exit codes: 0 planned, 1 something could not be read (the plan may be incomplete), 2 usage.
`,
  rotate: `Usage: ecs-redeployer rotate <secret> [options]

Starts a rotation of the secret (RotateSecret), waits until the new version is AWSCURRENT, then
waits until every service that references the secret was redeployed by the redeployer and is
stable again, reporting success, failure or needs action per service.

A rotation counts as failed when the new version loses AWSPENDING or disappears without
becoming AWSCURRENT, or when AWSCURRENT has not moved within --rotation-timeout.

When the redeployer records rollouts (its stack has a ${OUTPUTS.rolloutTableName} output, or --table
names the table), rotate follows the rollout of the change: it waits for the rollout to appear,
then until it is no longer OPEN, and reports each service from it, as \`ecs-redeployer status\`
shows it (dynamodb:GetItem and dynamodb:Query on the table). Only COMPLETED counts as
redeployed and SKIPPED as rightly skipped; FAILED, ROLLED_BACK, STUCK, NEEDS_ACTION, or a
rollout still OPEN at --deploy-timeout is a failure. Otherwise rotate watches the services in
ECS: a service counts as stable when a deployment created after the change is PRIMARY and
COMPLETED.

Options:
  --clusters a,b              Only these clusters, names or ARNs (default: every cluster)
  --interval SECONDS          Time between polls (default ${ROTATE_DEFAULTS.intervalMs / 1000})
  --rotation-timeout SECONDS  How long AWSCURRENT may take to move (default ${ROTATE_DEFAULTS.rotationTimeoutMs / 1000})
  --deploy-timeout SECONDS    How long the services may take to be redeployed and stable, from
                              the move (default ${ROTATE_DEFAULTS.deployTimeoutMs / 1000})
  --stack NAME                The redeployer's stack: its ${OUTPUTS.rolloutTableName} output turns on
                              following rollouts, its ${OUTPUTS.functionName} output names the log
                              group when nothing is redeployed (default ${DEFAULT_STACK})
  --table NAME                The rollout table to follow (default: the ${OUTPUTS.rolloutTableName}
                              output of --stack)
  --region, --profile, --help

Exit codes: 0 every service stable (following a rollout: every service COMPLETED or SKIPPED),
1 the rotation or a service failed (following a rollout: also a service that needs action, or
the rollout still OPEN at --deploy-timeout), 2 usage.
`,
  status: `Usage: ecs-redeployer status [<rollout-id> | <secret-or-parameter> | --latest] [options]

Shows the redeployer's rollouts, read from its rollout table. Every change of a secret or
parameter gets a rollout that follows each service using it until the service runs the new
value, or a person has been told why not. Changes nothing.

  status                        The recent rollouts, newest first: id, change, status, created,
                                services per state
  status --latest               The newest rollout
  status <rollout-id>           That rollout (ids look like s-prod-db-0a1b2c3d4e5f6a7b8c9d)
  status <secret-or-parameter>  The newest rollout of a secret (name, partial or full ARN) or a
                                parameter (name with or without the leading slash, or ARN)

For one rollout it prints the change (type, name, ARN, label and version, trigger), the
rollout's status (OPEN, DONE or ABORTED), when it was created and ended, its engine execution,
and one row per service: state, deployment, deployment time, and why (held until when, ECS's
failure reason, the next step). Then the services per state, the median and longest deployment
time, and which services are still owed the new value.

It reads only the rollout table (dynamodb:GetItem, and dynamodb:Query on the table and its
ByTime index) and, without --table, the stack (cloudformation:DescribeStacks).

Options:
  --latest        Show the newest rollout
  --limit N       How many rollouts to list (default ${STATUS_DEFAULT_LIMIT}; the list form only)
  --json          Print JSON: { rollout, services, summary } for one rollout, { rollouts } for
                  the list
  --table NAME    The rollout table (default: the ${OUTPUTS.rolloutTableName} output of --stack)
  --stack NAME    The redeployer's CloudFormation stack (default ${DEFAULT_STACK})
  --region, --profile, --help

A rollout in waves shows its waves (the one started last, the bake, the watched alarms) and a
WAVE column; a halted one shows why it halted and how to resume or abort it.

Exit codes: 0 the rollout ended with every service COMPLETED or SKIPPED, or it is still OPEN
(status only informs), or the list was printed; 1 the rollout ended with a service FAILED,
ROLLED_BACK, STUCK or NEEDS_ACTION (or left unfinished when it was aborted), it halted and waits
for a person, or no such rollout, table or stack; 2 usage.
`,
  resume: controlUsage('resume'),
  abort: controlUsage('abort'),
  redrive: `Usage: ecs-redeployer redrive [list] [options]

Sends the change events waiting in the redeployer's dead-letter queue through the function
again (synchronous invocations), deleting each message only once the function handled it.
Anything else (a function error, an unreadable message, Ctrl-C) leaves it in the queue.

\`redrive list\` (or --list) only lists the waiting events: id, time, detail-type, source and
the secret or parameter name. It deletes nothing and hides them for ${LIST_VISIBILITY_SECONDS} seconds at most.

Options:
  --list             Only list the waiting events
  --queue-url URL    The dead-letter queue (default: the DeadLetterQueueUrl output of --stack)
  --function NAME    The redeployer function (default: the FunctionName output of --stack)
  --stack NAME       The redeployer's CloudFormation stack (default ${DEFAULT_STACK})
  --max N            Handle (or list) at most N messages
  --json             With --list: print JSON
  --region, --profile, --help

Exit codes: 0 every message handled, 1 some left in the queue, 2 usage, 130 interrupted.
`,
};

function controlUsage(action: 'resume' | 'abort'): string {
  const what =
    action === 'resume'
      ? `Goes on with a rollout in waves that halted (a deployment failed, rolled back or got stuck,
or a watched alarm went off). Fix the cause first: the services that failed in the halted wave
are deployed again, then the next waves follow as before.`
      : `Ends an open rollout, halted or not: nothing more is started (deployments in flight go on
to their end), and every service not deployed is recorded NEEDS_ACTION (code aborted) and
reported as owed in the rollout's last notification.`;
  return `Usage: ecs-redeployer ${action} [<rollout-id> | <secret-or-parameter> | --latest] [options]

${what}

The request is written to the rollout table (dynamodb:UpdateItem), then the rollout engine is
woken (lambda:SendDurableExecutionCallbackSuccess on its executions); if it cannot be woken it
acts at its next look. <secret-or-parameter> names the newest open rollout of that change.

Without this CLI: see the halt notification, or docs/waves.md (the AWS CLI commands).

Options:
  --latest        The newest open rollout
  --by NAME       Who asks, recorded and notified (default: your local user name)
  --json          Print the outcome as JSON
  --table NAME    The rollout table (default: the ${OUTPUTS.rolloutTableName} output of --stack)
  --stack NAME    The redeployer's CloudFormation stack (default ${DEFAULT_STACK})
  --region, --profile, --help

Exit codes: 0 recorded, 1 refused (${action === 'resume' ? 'not halted, ' : ''}ended, or no such rollout), 2 usage.
`;
}

type Values = {
  [K in OptionName]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};

interface CommandLine {
  readonly command?: Command;
  readonly positionals: readonly string[];
  readonly values: Values;
}

/** Parses argv (without `node` and the script). Throws UsageError for anything invalid. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals, tokens } = parsed;
  const [name, ...rest] = positionals;
  if (name === undefined) return { positionals: [], values };
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw new UsageError(
      `Unknown command "${name}": use plan, rotate, status, resume, abort or redrive`,
    );
  }
  const command = name as Command;
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const option = token.name;
    if (!GLOBAL_OPTIONS.includes(option) && !COMMAND_OPTIONS[command].includes(option)) {
      throw new UsageError(`--${token.name} is not an option of ${command}`);
    }
  }
  return { command, positionals: rest, values };
}

/** Whole, positive seconds (fractions allowed) to milliseconds. */
function seconds(option: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0) {
    throw new UsageError(`--${option} must be a positive number of seconds, got "${value}"`);
  }
  return Number(value) * 1000;
}

function count(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new UsageError(`--${option} must be a whole number of at least 1, got "${value}"`);
  }
  return Number(value);
}

/** `--clusters a,b`, checked with the function's own rules (names or ARNs). */
function clusters(value: string | undefined): readonly string[] {
  try {
    return loadConfig({ CLUSTERS: value ?? '' }).clusters;
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new UsageError(`--clusters: ${error.message.replace(/^CLUSTERS: /, '')}`);
    }
    throw error;
  }
}

function exactlyOne(command: Command, positionals: readonly string[], what: string): string {
  const [value, ...extra] = positionals;
  if (value === undefined) throw new UsageError(`${command} needs a ${what}`);
  if (extra.length > 0)
    throw new UsageError(`${command} takes one ${what}, got ${positionals.length}`);
  return value;
}

/** `--table`: a DynamoDB table name. */
function tableName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(value)) {
    throw new UsageError(
      `--table must be a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -), got "${value}"`,
    );
  }
  return value;
}

/** The Region a queue URL names (`https://sqs.REGION.amazonaws.com/…`). */
function queueRegion(url: string | undefined): string | undefined {
  return url === undefined ? undefined : /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\./.exec(url)?.[1];
}

export interface MainDependencies {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly output: Output;
  readonly clock: Clock;
  readonly createClients: (region: string, profile?: string) => Clients;
  readonly profileRegion: (profile?: string) => Promise<string | undefined>;
  /** Aborted on Ctrl-C; `redrive` stops after the message in hand. */
  readonly signal?: AbortSignal;
}

/** Runs the CLI. Never throws: returns the exit code after printing any error. */
export async function main(argv: readonly string[], deps: MainDependencies): Promise<number> {
  const { output } = deps;
  let region: string | undefined;
  try {
    const { command, positionals, values } = parseCommandLine(argv);
    if (command === undefined) {
      if (values.help === true) {
        output.line(USAGE.trimEnd());
        return EXIT_OK;
      }
      throw new UsageError('Name a command: plan, rotate, status, resume, abort or redrive');
    }
    if (values.help === true) {
      output.line(COMMAND_USAGE[command].trimEnd());
      return EXIT_OK;
    }

    // Everything about the command line is checked before any AWS call.
    let target: string | undefined;
    let arnRegion: string | undefined;
    if (command === 'plan' || command === 'rotate') {
      target = exactlyOne(
        command,
        positionals,
        command === 'plan' ? 'secret or parameter' : 'secret',
      );
      arnRegion = parseTarget(target).arnRegion;
    } else if (command === 'resume' || command === 'abort') {
      const [change, ...extra] = positionals;
      if (extra.length > 0) {
        throw new UsageError(`${command} takes one rollout id, secret or parameter`);
      }
      if ((change === undefined) === (values.latest !== true)) {
        throw new UsageError(
          `${command} takes a rollout id, secret or parameter, or --latest (one of them)`,
        );
      }
      if (values.by !== undefined && values.by.trim() === '') {
        throw new UsageError('--by needs a name');
      }
      if (change !== undefined) {
        target = change;
        arnRegion = parseTarget(change).arnRegion;
      }
    } else if (command === 'status') {
      const [change, ...extra] = positionals;
      if (extra.length > 0) {
        throw new UsageError(
          `status takes one rollout id, secret or parameter, got ${positionals.length}`,
        );
      }
      if (change !== undefined && values.latest === true) {
        throw new UsageError(
          'status takes a rollout id, secret or parameter, or --latest: not both',
        );
      }
      if (values.limit !== undefined && (change !== undefined || values.latest === true)) {
        throw new UsageError(
          '--limit applies to the list of rollouts only (status with no argument)',
        );
      }
      if (change !== undefined) {
        target = change;
        arnRegion = parseTarget(change).arnRegion;
      }
    } else {
      const [sub, ...extra] = positionals;
      if ((sub !== undefined && sub !== 'list') || extra.length > 0) {
        throw new UsageError(
          `redrive takes no argument but "list", got "${positionals.join(' ')}"`,
        );
      }
      arnRegion = queueRegion(values['queue-url']);
    }
    const list = command === 'redrive' && (positionals[0] === 'list' || values.list === true);
    if (command === 'redrive' && values.json === true && !list) {
      throw new UsageError('--json applies to redrive --list only');
    }
    const clusterList = clusters(values.clusters);
    const rotateTimes = {
      intervalMs: seconds('interval', values.interval, ROTATE_DEFAULTS.intervalMs),
      rotationTimeoutMs: seconds(
        'rotation-timeout',
        values['rotation-timeout'],
        ROTATE_DEFAULTS.rotationTimeoutMs,
      ),
      deployTimeoutMs: seconds(
        'deploy-timeout',
        values['deploy-timeout'],
        ROTATE_DEFAULTS.deployTimeoutMs,
      ),
    };
    const planWaves = values.waves === undefined ? undefined : parseWaves(values.waves);
    const wavesFor = values['waves-for'];
    if (wavesFor !== undefined && wavesFor !== 'all' && wavesFor !== 'tagged') {
      throw new UsageError(`--waves-for must be all or tagged, got "${wavesFor}"`);
    }
    const max = count('max', values.max);
    const limit = count('limit', values.limit);
    const table = tableName(values.table);
    if (values.profile === '') throw new UsageError('--profile needs a profile name');
    const profile = values.profile;

    region = await resolveRegion({
      option: values.region,
      fromArn: arnRegion,
      env: deps.env,
      fromProfile: () => deps.profileRegion(profile),
    });
    const clients = deps.createClients(region, profile);
    const rolloutStore: RolloutStoreFactory = (name) => new RolloutStore(clients.dynamodb, name);

    switch (command) {
      case 'plan':
        return await plan(
          {
            target: target ?? '',
            clusters: clusterList,
            ...(values.stage !== undefined && { stage: values.stage }),
            json: values.json === true,
            region,
            ...(planWaves !== undefined && { waves: planWaves }),
            ...(wavesFor !== undefined && { wavesFor }),
          },
          { clients, output, now: () => deps.clock.now() },
        );
      case 'rotate':
        return await rotate(
          {
            secret: target ?? '',
            clusters: clusterList,
            ...rotateTimes,
            region,
            ...(values.stack !== undefined && { stack: values.stack }),
            ...(table !== undefined && { table }),
          },
          { clients, output, clock: deps.clock, rolloutStore },
        );
      case 'status':
        return await status(
          {
            ...(target !== undefined && { change: target }),
            latest: values.latest === true,
            ...(limit !== undefined && { limit }),
            json: values.json === true,
            region,
            ...(values.stack !== undefined && { stack: values.stack }),
            ...(table !== undefined && { table }),
          },
          { clients, rolloutStore, output, clock: deps.clock },
        );
      case 'resume':
      case 'abort':
        return await control(
          {
            action: command,
            ...(target !== undefined && { change: target }),
            latest: values.latest === true,
            ...(values.by !== undefined && { by: values.by.trim().slice(0, 200) }),
            json: values.json === true,
            region,
            ...(values.stack !== undefined && { stack: values.stack }),
            ...(table !== undefined && { table }),
          },
          {
            clients,
            controlStore: (name) => new RolloutStore(clients.dynamodb, name),
            output,
            clock: deps.clock,
          },
        );
      case 'redrive':
        return await redrive(
          {
            list,
            ...(values['queue-url'] !== undefined && { queueUrl: values['queue-url'] }),
            ...(values.function !== undefined && { functionName: values.function }),
            ...(values.stack !== undefined && { stack: values.stack }),
            ...(max !== undefined && { max }),
            json: values.json === true,
            region,
            ...(deps.signal !== undefined && { signal: deps.signal }),
          },
          { clients, output },
        );
    }
  } catch (error) {
    output.endProgress();
    const { message, exitCode } = describeError(error, region === undefined ? {} : { region });
    output.warn(message);
    if (exitCode === EXIT_USAGE) output.warn('Run `ecs-redeployer --help` for usage.');
    return exitCode;
  }
}

/** The process entry point: real streams, clients, clock and Ctrl-C handling. */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // An empty AWS_REGION would hide the profile's Region from the SDK: treat it as unset.
  if (process.env.AWS_REGION === '') delete process.env.AWS_REGION;
  const controller = new AbortController();
  let command: Command | undefined;
  try {
    command = parseCommandLine(argv).command;
  } catch {
    command = undefined; // main reports it
  }
  if (command === 'redrive') {
    // First Ctrl-C: finish the message in hand, then stop (nothing is lost either way).
    process.on('SIGINT', () => {
      if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
      controller.abort();
      process.stderr.write('\nStopping after the current message (Ctrl-C again to quit now).\n');
    });
  }
  process.exitCode = await main(argv, {
    env: process.env,
    output: streamOutput(process.stdout, process.stderr),
    clock: systemClock,
    createClients,
    profileRegion,
    signal: controller.signal,
  });
}

/** Whether this module is the script Node was asked to run (`tsx cli/main.ts`). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) await runCli();
