import {
  CloudFormationClient,
  DescribeStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  DescribeSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createClients } from '../../cli/aws.js';
import { type MainDependencies, USAGE, main } from '../../cli/main.js';
import { awsError } from '../helpers/aws-errors.js';
import { REGION, serveEcs } from '../helpers/ecs.js';
import { FakeRolloutTable, TABLE, change, rollout, serviceRecord } from './fake-rollouts.js';
import { FakeClock, MemoryOutput } from './helpers.js';
import { DB_ARN, DB_NAME, VERSION_NEW, serveParameters, serveSecret, world } from './world.js';

const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);
const ssmMock = mockClient(SSMClient);
const cfnMock = mockClient(CloudFormationClient);
const dynamoMock = mockClient(DynamoDBClient);

const PRINCIPAL = 'arn:aws:sts::123456789012:assumed-role/Developer/alice';
const REGION_MESSAGE = 'No AWS Region is set: pass --region or set AWS_REGION';

let output: MemoryOutput;
let clientsFor: ReturnType<typeof vi.fn<typeof createClients>>;

beforeEach(() => {
  ecsMock.reset();
  smMock.reset();
  ssmMock.reset();
  cfnMock.reset();
  dynamoMock.reset();
  serveEcs(ecsMock, world());
  serveSecret(smMock);
  serveParameters(ssmMock);
  output = new MemoryOutput();
  clientsFor = vi.fn(createClients);
});

function run(argv: string[], overrides: Partial<MainDependencies> = {}): Promise<number> {
  return main(argv, {
    env: { AWS_REGION: REGION },
    output,
    clock: new FakeClock(new Date('2026-03-01T12:00:00Z')),
    createClients: clientsFor,
    profileRegion: () => Promise.resolve(undefined),
    ...overrides,
  });
}

describe('help and usage errors', () => {
  it.each([['--help'], ['-h']])('prints the usage for %s and exits 0', async (flag) => {
    expect(await run([flag])).toBe(0);
    expect(output.stdout).toBe(USAGE.trimEnd());
    expect(output.stdout).toContain('plan <secret-or-parameter>');
    expect(output.stdout).toContain('rotate <secret>');
    expect(output.stdout).toContain('status [<change>]');
    expect(output.stdout).toContain('redrive [list]');
  });

  it.each(['plan', 'rotate', 'status', 'redrive'])('prints the options of %s', async (command) => {
    expect(await run([command, '--help'])).toBe(0);
    expect(output.stdout).toMatch(new RegExp(`^Usage: ecs-redeployer ${command}`));
    expect(clientsFor).not.toHaveBeenCalled();
  });

  it.each([
    [[], 'Name a command: plan, rotate, status, resume, abort or redrive'],
    [['deploy'], 'Unknown command "deploy": use plan, rotate, status, resume, abort or redrive'],
    [['plan'], 'plan needs a secret or parameter'],
    [['plan', 'a', 'b'], 'plan takes one secret or parameter, got 2'],
    [['rotate'], 'rotate needs a secret'],
    [['plan', 'x', '--bogus'], "Unknown option '--bogus'"],
    [['plan', 'x', '--list'], '--list is not an option of plan'],
    [['redrive', '--stage', 'AWSCURRENT'], '--stage is not an option of redrive'],
    [['redrive', 'everything'], 'redrive takes no argument but "list", got "everything"'],
    [['redrive', '--json'], '--json applies to redrive --list only'],
    [['status', 'a', 'b'], 'status takes one rollout id, secret or parameter, got 2'],
    [
      ['status', DB_NAME, '--latest'],
      'status takes a rollout id, secret or parameter, or --latest: not both',
    ],
    [
      ['status', '--latest', '--limit', '3'],
      '--limit applies to the list of rollouts only (status with no argument)',
    ],
    [['status', '--limit', '0'], '--limit must be a whole number of at least 1, got "0"'],
    [['status', '--clusters', 'prod'], '--clusters is not an option of status'],
    [['status', '--table', 'a b'], '--table must be a DynamoDB table name'],
    [['rotate', 'x', '--table', 'no/slashes'], '--table must be a DynamoDB table name'],
    [['plan', 'x', '--table', 'Rollouts'], '--table is not an option of plan'],
    [
      ['status', 'has space'],
      'has space is neither a valid secret name nor a valid parameter name',
    ],
    [
      ['rotate', 'x', '--interval', '0'],
      '--interval must be a positive number of seconds, got "0"',
    ],
    [['rotate', 'x', '--deploy-timeout', 'soon'], '--deploy-timeout must be a positive number'],
    [['redrive', '--max', '1.5'], '--max must be a whole number of at least 1, got "1.5"'],
    [
      ['plan', 'x', '--clusters', 'prod,bad!name'],
      '--clusters: "bad!name" is neither a cluster name',
    ],
    [['plan', 'has space'], 'has space is neither a valid secret name nor a valid parameter name'],
    [['plan', 'x', '--region', 'Europe'], '"Europe" is not an AWS Region name (like eu-west-1)'],
  ])('rejects %j with exit code 2', async (argv, message) => {
    expect(await run(argv)).toBe(2);
    expect(output.stderr).toContain(message);
    expect(output.stderr).toContain('Run `ecs-redeployer --help` for usage.');
    expect(clientsFor).not.toHaveBeenCalled();
  });
});

describe('the Region', () => {
  it('says how to set one when none is set, before any AWS call', async () => {
    const code = await run(['plan', DB_NAME], { env: {} });

    expect(code).toBe(2);
    expect(output.warnings[0]).toBe(REGION_MESSAGE);
    expect(clientsFor).not.toHaveBeenCalled();
  });

  it('counts empty variables as unset', async () => {
    const code = await run(['plan', DB_NAME], { env: { AWS_REGION: '', AWS_DEFAULT_REGION: '' } });

    expect(code).toBe(2);
    expect(output.warnings[0]).toBe(REGION_MESSAGE);
  });

  it.each<[string, string[], Record<string, string>, string | undefined, string]>([
    ['--region', ['--region', 'eu-west-3'], { AWS_REGION: 'eu-west-1' }, undefined, 'eu-west-3'],
    [
      'AWS_REGION',
      [],
      { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-2' },
      undefined,
      'eu-west-1',
    ],
    ['AWS_DEFAULT_REGION', [], { AWS_DEFAULT_REGION: 'us-east-2' }, undefined, 'us-east-2'],
    ['the profile', ['--profile', 'ops'], {}, 'ap-southeast-2', 'ap-southeast-2'],
  ])('takes it from %s', async (_, flags, env, fromProfile, expected) => {
    const profile = flags.includes('--profile') ? 'ops' : undefined;
    const profileRegion = vi.fn<MainDependencies['profileRegion']>(() =>
      Promise.resolve(fromProfile),
    );

    await run(['plan', DB_NAME, ...flags], { env, profileRegion });

    expect(clientsFor).toHaveBeenCalledWith(expected, profile);
    if (fromProfile !== undefined) expect(profileRegion).toHaveBeenCalledWith('ops');
  });

  it('takes it from an ARN argument, and refuses a --region that contradicts it', async () => {
    await run(['plan', DB_ARN], { env: { AWS_REGION: 'eu-west-1' } });
    expect(clientsFor).toHaveBeenCalledWith(REGION, undefined);

    expect(await run(['plan', DB_ARN, '--region', 'eu-west-1'])).toBe(2);
    expect(output.stderr).toContain(
      `The ARN names Region ${REGION} but --region is eu-west-1: drop --region or use ${REGION}`,
    );
  });
});

describe('AWS errors', () => {
  it('names AWS_PROFILE, aws configure and SSO when there are no credentials', async () => {
    const noCredentials = Object.assign(
      new Error('Could not load credentials from any providers'),
      {
        name: 'CredentialsProviderError',
      },
    );
    smMock.on(DescribeSecretCommand).rejects(noCredentials);
    ssmMock.on(DescribeParametersCommand).rejects(noCredentials);

    expect(await run(['plan', DB_NAME])).toBe(1);
    expect(output.stderr).toContain(
      'No usable AWS credentials: set AWS_PROFILE (or pass --profile)',
    );
    expect(output.stderr).toContain('run `aws configure`');
    expect(output.stderr).toContain('aws sso login');
  });

  it('says which action was denied to whom', async () => {
    const denied = (action: string): Error =>
      awsError(
        'AccessDeniedException',
        `User: ${PRINCIPAL} is not authorized to perform: ${action} on resource: ${DB_NAME} ` +
          `because no identity-based policy allows the ${action} action`,
      );
    smMock.on(DescribeSecretCommand).rejects(denied('secretsmanager:DescribeSecret'));
    ssmMock.on(DescribeParametersCommand).rejects(denied('ssm:DescribeParameters'));

    expect(await run(['plan', DB_NAME])).toBe(1);
    expect(output.stderr).toBe(
      `Access denied: ${PRINCIPAL} may not call secretsmanager:DescribeSecret on ${DB_NAME} ` +
        '(no identity-based policy allows the secretsmanager:DescribeSecret action). ' +
        'Ask for secretsmanager:DescribeSecret permission, or use other credentials (--profile).',
    );
  });

  it('says the secret is unknown, naming the Region', async () => {
    expect(await run(['plan', 'nope'])).toBe(1);
    expect(output.stderr).toBe(`No secret or parameter named nope in ${REGION}`);

    output = new MemoryOutput();
    expect(await run(['rotate', 'nope'])).toBe(1);
    expect(output.stderr).toBe(`No secret named nope in ${REGION}`);
    expect(smMock).not.toHaveReceivedCommand(RotateSecretCommand);
  });

  it('says the redeployer stack is missing', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(awsError('ValidationError', 'Stack with id SecretRedeployer does not exist'));

    expect(await run(['redrive', 'list'])).toBe(1);
    expect(output.stderr).toContain(
      `No CloudFormation stack named SecretRedeployer in ${REGION}: deploy the redeployer there`,
    );
  });
});

describe('commands', () => {
  it('plans through the shared domain code and exits 0, changing nothing', async () => {
    expect(await run(['plan', DB_NAME, '--clusters', 'prod'])).toBe(0);

    expect(output.stdout).toMatch(/^api\s+prod\s+redeploy$/m);
    expect(output.stdout).not.toMatch(/^reader\s/m); // staging was not scanned
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  it('exits 1 when a rotation does not complete in time', async () => {
    smMock.on(RotateSecretCommand).resolves({ ARN: DB_ARN, VersionId: 'never-current' });

    const code = await run(['rotate', DB_NAME, '--interval', '1', '--rotation-timeout', '3']);

    expect(code).toBe(1);
    expect(output.stderr).toContain(
      `Rotation of ${DB_NAME} failed: AWSCURRENT did not move to version never-current within 3s`,
    );
  });
});

describe('status', () => {
  const STACK: Stack = {
    StackName: 'SecretRedeployer',
    CreationTime: new Date('2026-03-01T09:00:00Z'),
    StackStatus: 'UPDATE_COMPLETE',
    Outputs: [{ OutputKey: 'RolloutTableName', OutputValue: TABLE }],
  };
  const summary = change({ type: 'secret', arn: DB_ARN, name: DB_NAME, version: VERSION_NEW });
  let rollouts: FakeRolloutTable;

  beforeEach(() => {
    rollouts = new FakeRolloutTable();
    rollouts.serve(dynamoMock);
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [STACK] });
  });

  it.each<[string, Parameters<typeof serviceRecord>[2], 'DONE' | 'OPEN', number]>([
    ['ended with every service completed', 'COMPLETED', 'DONE', 0],
    ['ended with a failed service', 'FAILED', 'DONE', 1],
    ['still open', 'DEPLOYING', 'OPEN', 0],
  ])('exits %s with code %i', async (_, state, rolloutStatus, expected) => {
    rollouts.put(
      rollout(summary, new Date('2026-03-01T11:00:00Z'), {
        status: rolloutStatus,
        ...(rolloutStatus === 'DONE' && { endedAt: '2026-03-01T11:05:00.000Z' }),
      }),
      [serviceRecord('prod', 'api', state)],
    );

    expect(await run(['status', DB_NAME])).toBe(expected);
    expect(output.stdout).toMatch(new RegExp(`^prod/api\\s+${state}\\s`, 'm'));
  });

  it('takes the Region from an ARN argument and the table from the stack', async () => {
    rollouts.put(rollout(summary, new Date('2026-03-01T11:00:00Z')));

    expect(await run(['status', DB_ARN], { env: {} })).toBe(0);
    expect(clientsFor).toHaveBeenCalledWith(REGION, undefined);
    expect(output.stdout).toContain(`Change:    secret ${DB_NAME}`);
  });

  it('lists the recent rollouts with --table, without CloudFormation', async () => {
    rollouts.put(rollout(summary, new Date('2026-03-01T11:00:00Z')));

    expect(await run(['status', '--table', TABLE, '--limit', '5'])).toBe(0);
    expect(output.stdout).toMatch(/^s-prod-db-\S+\s+secret prod\/db\s+OPEN\s/m);
    expect(cfnMock).not.toHaveReceivedCommand(DescribeStacksCommand);
  });

  it('says which rollout was looked for, in which table and Region', async () => {
    expect(await run(['status', '--latest', '--region', 'eu-west-1'])).toBe(1);
    expect(output.stderr).toBe(
      `No rollout yet in rollout table ${TABLE} (eu-west-1). Rollouts are kept for 35 days by ` +
        'default; `ecs-redeployer status` lists the recent ones.',
    );
  });
});
