import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RolloutRecord, ServiceRecord } from '../../functions/rollout/model.js';
import { RolloutStore } from '../../functions/rollout/store.js';
import {
  CliError,
  RolloutNotFoundError,
  RolloutTableNotFoundError,
  StackNotFoundError,
  UsageError,
} from '../../cli/errors.js';
import { type StatusOptions, status } from '../../cli/status.js';
import { awsError } from '../helpers/aws-errors.js';
import { REGION } from '../helpers/ecs.js';
import { TABLE, FakeRolloutTable, change, rollout, serviceRecord } from './fake-rollouts.js';
import { FakeClock, MemoryOutput } from './helpers.js';
import {
  DB_ARN,
  DB_NAME,
  DB_PARTIAL_ARN,
  URL_PARAMETER,
  URL_PARAMETER_ARN,
  VERSION_CURRENT,
  VERSION_NEW,
} from './world.js';

const dynamoMock = mockClient(DynamoDBClient);
const cfnMock = mockClient(CloudFormationClient);
const dynamodb = new DynamoDBClient({ region: REGION });
const clients = { cloudFormation: new CloudFormationClient({ region: REGION }) };

const NOW = new Date('2026-03-01T13:00:00Z');
const at = (time: string): Date => new Date(`2026-03-01T${time}Z`);

/** prod/db rotated twice, /app/url updated once, in this order. */
const DB_FIRST = change({ type: 'secret', arn: DB_ARN, name: DB_NAME, version: VERSION_CURRENT });
const DB_SECOND = change({ type: 'secret', arn: DB_ARN, name: DB_NAME, version: VERSION_NEW });
const URL_CHANGE = change({
  type: 'parameter',
  arn: URL_PARAMETER_ARN,
  name: 'app/url',
  version: '7',
});

/** Ended: api completed, reader skipped. */
const first = rollout(DB_FIRST, at('10:00:00'), {
  status: 'DONE',
  endedAt: at('10:03:00').toISOString(),
});
const firstServices: ServiceRecord[] = [
  serviceRecord('prod', 'api', 'COMPLETED', {
    deploymentId: 'ecs-svc/1001',
    deployingAt: at('10:00:10').toISOString(),
    endedAt: at('10:02:10').toISOString(),
  }),
  serviceRecord('staging', 'reader', 'SKIPPED', {
    code: 'already-deployed',
    reason: 'already deployed after the change (deployment ecs-svc/900 created 10:00:01)',
  }),
];

/** Ended: api completed, worker failed, legacy needs action. */
const second = rollout(DB_SECOND, at('11:00:00'), {
  status: 'DONE',
  endedAt: at('11:05:30').toISOString(),
});
const secondServices: ServiceRecord[] = [
  serviceRecord('prod', 'api', 'COMPLETED', {
    deploymentId: 'ecs-svc/2001',
    deployingAt: at('11:00:05').toISOString(),
    endedAt: at('11:01:05').toISOString(),
  }),
  serviceRecord('prod', 'worker', 'FAILED', {
    deploymentId: 'ecs-svc/2002',
    deployingAt: at('11:00:05').toISOString(),
    endedAt: at('11:05:05').toISOString(),
    circuitBreaker: true,
    reason: 'ECS deployment circuit breaker: tasks failed to start.',
  }),
  serviceRecord('prod', 'legacy', 'NEEDS_ACTION', {
    code: 'code-deploy',
    reason:
      'deployment controller CODE_DEPLOY: start a CodeDeploy deployment to pick up the change',
  }),
];

/** Still open: web deploying, other held by the flap guard. */
const third = rollout(URL_CHANGE, at('12:30:00'));
const thirdServices: ServiceRecord[] = [
  serviceRecord('staging', 'web', 'DEPLOYING', {
    deploymentId: 'ecs-svc/3001',
    deployingAt: at('12:58:00').toISOString(),
  }),
  serviceRecord('staging', 'other', 'HELD', {
    attempts: 0,
    holdReason: 'flap-guard',
    heldUntil: at('13:10:00').toISOString(),
    reason: 'redeployed 3 times in the last 10 minutes',
  }),
];

let rollouts: FakeRolloutTable;

beforeEach(() => {
  dynamoMock.reset();
  cfnMock.reset();
  rollouts = new FakeRolloutTable();
  rollouts.serve(dynamoMock);
  rollouts.put(first, firstServices);
  rollouts.put(second, secondServices);
  rollouts.put(third, thirdServices);
  cfnMock.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'SecretRedeployer',
        CreationTime: at('09:00:00'),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: [
          { OutputKey: 'FunctionName', OutputValue: 'SecretRedeployer-Function12AB' },
          { OutputKey: 'RolloutTableName', OutputValue: TABLE },
          { OutputKey: 'EngineFunctionName', OutputValue: 'SecretRedeployer-Engine34CD' },
        ],
      },
    ],
  });
});

afterEach(() => {
  // Read-only.
  expect(dynamoMock).not.toHaveReceivedCommand(PutItemCommand);
  expect(dynamoMock).not.toHaveReceivedCommand(UpdateItemCommand);
  expect(dynamoMock).not.toHaveReceivedCommand(DeleteItemCommand);
});

async function runStatus(
  options: Partial<StatusOptions> = {},
): Promise<{ code: number; output: MemoryOutput }> {
  const output = new MemoryOutput();
  const code = await status(
    { latest: false, json: false, region: REGION, ...options },
    {
      clients,
      rolloutStore: (name) => new RolloutStore(dynamodb, name),
      output,
      clock: new FakeClock(NOW),
    },
  );
  return { code, output };
}

const FAILED_ROLLOUT = [
  `Rollout ${second.rolloutId}: DONE`,
  `Change:    secret ${DB_NAME}`,
  `ARN:       ${DB_ARN}`,
  'Label:     AWSCURRENT',
  `Version:   ${VERSION_NEW}`,
  'Trigger:   RotationSucceeded (action: redeploy)',
  'Created:   2026-03-01T11:00:00.000Z',
  'Ended:     2026-03-01T11:05:30.000Z (took 5m30s)',
  `Engine:    ${second.rolloutId} (attempt 1, started 2026-03-01T11:00:00.000Z)`,
  '',
  'SERVICE      STATE         DEPLOYMENT    DURATION  REASON',
  'prod/api     COMPLETED     ecs-svc/2001  1m00s     -',
  'prod/legacy  NEEDS_ACTION  -             -         deployment controller CODE_DEPLOY: start a CodeDeploy deployment to pick up the change',
  'prod/worker  FAILED        ecs-svc/2002  5m00s     ECS deployment circuit breaker: tasks failed to start.',
  '',
  '3 services: 1 COMPLETED, 1 NEEDS_ACTION, 1 FAILED. Deployment time: median 1m00s, longest 1m00s.',
  'Still owed: prod/legacy (NEEDS_ACTION), prod/worker (FAILED). These services do not run the ' +
    'new value: act on the reasons above.',
];

describe('status of one rollout', () => {
  it('shows the newest rollout with --latest; an open one exits 0', async () => {
    const { code, output } = await runStatus({ latest: true });

    expect(code).toBe(0);
    expect(output.lines).toEqual([
      `Rollout ${third.rolloutId}: OPEN`,
      'Change:    parameter app/url',
      `ARN:       ${URL_PARAMETER_ARN}`,
      'Version:   7',
      'Trigger:   Update (action: redeploy)',
      'Created:   2026-03-01T12:30:00.000Z',
      'Ended:     not yet (open for 30m00s)',
      `Engine:    ${third.rolloutId} (attempt 1, started 2026-03-01T12:30:00.000Z)`,
      '',
      'SERVICE        STATE      DEPLOYMENT    DURATION  REASON',
      'staging/other  HELD       -             -         held until 2026-03-01T13:10:00.000Z ' +
        '(flap guard); redeployed 3 times in the last 10 minutes',
      // In flight: deploying since 12:58, now 13:00.
      'staging/web    DEPLOYING  ecs-svc/3001  2m00s     -',
      '',
      '2 services: 1 HELD, 1 DEPLOYING.',
      'Still owed: staging/other (HELD), staging/web (DEPLOYING).',
    ]);
    // The table name came from the stack's RolloutTableName output.
    expect(cfnMock).toHaveReceivedCommandWith(DescribeStacksCommand, {
      StackName: 'SecretRedeployer',
    });
  });

  it('shows a rollout by id, and exits 1 when it ended with a service not delivered', async () => {
    const { code, output } = await runStatus({ change: second.rolloutId });

    expect(code).toBe(1);
    expect(output.lines).toEqual(FAILED_ROLLOUT);
    expect(rollouts.log).toEqual(['get', 'query']);
  });

  it('exits 0 for a rollout that ended with every service completed or skipped', async () => {
    const { code, output } = await runStatus({ change: first.rolloutId });

    expect(code).toBe(0);
    expect(output.stdout).toMatch(/^prod\/api\s+COMPLETED\s+ecs-svc\/1001\s+2m00s\s+-$/m);
    expect(output.stdout).toMatch(
      /^staging\/reader\s+SKIPPED\s+-\s+-\s+already deployed after the change/m,
    );
    expect(output.stdout).toContain(
      '2 services: 1 COMPLETED, 1 SKIPPED. Deployment time: median 2m00s, longest 2m00s.',
    );
    expect(output.stdout).toContain(
      'Nothing is owed: every service runs the new value or was rightly skipped.',
    );
  });

  it.each([
    ['name', DB_NAME],
    ['full ARN', DB_ARN],
    ['partial ARN', DB_PARTIAL_ARN],
    ['full ARN with a JSON key', `${DB_ARN}:password::`],
    ['passthrough parameter name', `/aws/reference/secretsmanager/${DB_NAME}`],
  ])('shows the newest rollout of a secret given by %s', async (_, given) => {
    const { code, output } = await runStatus({ change: given });

    expect(code).toBe(1);
    expect(output.lines).toEqual(FAILED_ROLLOUT);
  });

  it.each([
    ['name with a slash', URL_PARAMETER],
    ['name without the slash', 'app/url'],
    ['ARN', URL_PARAMETER_ARN],
  ])('shows the newest rollout of a parameter given by its %s', async (_, given) => {
    const { code, output } = await runStatus({ change: given });

    expect(code).toBe(0);
    expect(output.lines[0]).toBe(`Rollout ${third.rolloutId}: OPEN`);
  });

  it('does not take another secret or a parameter of another account for the one named', async () => {
    const elsewhere = URL_PARAMETER_ARN.replace('123456789012', '210987654321');
    await expect(runStatus({ change: elsewhere })).rejects.toThrow(RolloutNotFoundError);
    await expect(runStatus({ change: 'prod/db2' })).rejects.toThrow(RolloutNotFoundError);
    await expect(runStatus({ change: `${DB_PARTIAL_ARN}-XyZ789` })).rejects.toThrow(
      RolloutNotFoundError,
    );
  });

  it('finds the newest rollout of a secret past the first page of the index', async () => {
    rollouts.pageSize = 1;

    const { output } = await runStatus({ change: DB_NAME });

    expect(output.lines[0]).toBe(`Rollout ${second.rolloutId}: DONE`);
  });

  it('says when the engine could not be started, and when a rollout was aborted', async () => {
    const aborted = rollout(DB_SECOND, at('12:45:00'), {
      rolloutId: 's-prod-db-ffffffffffffffffffff',
      status: 'ABORTED',
      endedAt: at('12:50:00').toISOString(),
      abortedBy: 'alice: superseded by a manual deployment',
      engine: { name: 's-prod-db-ffffffffffffffffffff', attempt: 2, error: 'TooManyRequests' },
    });
    rollouts.put(aborted, [serviceRecord('prod', 'api', 'HELD', { attempts: 0 })]);

    const { code, output } = await runStatus({ latest: true });

    expect(code).toBe(1); // ended, and api never got the new value
    expect(output.lines).toContain('Aborted:   alice: superseded by a manual deployment');
    expect(output.lines).toContain(
      'Engine:    s-prod-db-ffffffffffffffffffff (attempt 2) could not be started: TooManyRequests',
    );
    expect(output.stdout).toContain('Still owed: prod/api (HELD).');
  });

  it('prints { rollout, services, summary } with --json, and keeps the exit code', async () => {
    const { code, output } = await runStatus({ change: DB_NAME, json: true });

    expect(code).toBe(1);
    const printed = JSON.parse(output.stdout) as {
      rollout: RolloutRecord;
      services: ServiceRecord[];
      summary: { counts: Record<string, number>; owed: { service: string }[] };
    };
    expect(Object.keys(printed)).toEqual(['rollout', 'services', 'summary']);
    expect(printed.rollout).toEqual(second);
    expect(printed.services).toHaveLength(3);
    expect(printed.summary.counts).toEqual({ COMPLETED: 1, FAILED: 1, NEEDS_ACTION: 1 });
    expect(printed.summary.owed.map((s) => s.service)).toEqual([
      secondServices[2]?.serviceArn,
      secondServices[1]?.serviceArn,
    ]);
  });

  it('uses --table without asking CloudFormation', async () => {
    const { code } = await runStatus({ latest: true, table: TABLE });

    expect(code).toBe(0);
    expect(cfnMock).not.toHaveReceivedCommand(DescribeStacksCommand);
  });
});

describe('status: the recent rollouts', () => {
  it('lists them newest first with their services per state, and exits 0', async () => {
    const { code, output } = await runStatus();

    expect(code).toBe(0);
    expect(output.lines).toEqual([
      'ROLLOUT                         CHANGE             STATUS  CREATED                   SERVICES',
      `${third.rolloutId}  parameter app/url  OPEN    2026-03-01T12:30:00.000Z  1 HELD, 1 DEPLOYING`,
      `${second.rolloutId}  secret prod/db     DONE    2026-03-01T11:00:00.000Z  1 COMPLETED, 1 NEEDS_ACTION, 1 FAILED`,
      `${first.rolloutId}  secret prod/db     DONE    2026-03-01T10:00:00.000Z  1 COMPLETED, 1 SKIPPED`,
      '',
      `3 rollouts, newest first, from table ${TABLE}. \`ecs-redeployer status ROLLOUT\` shows one in full.`,
    ]);
  });

  it('lists at most --limit, across pages', async () => {
    rollouts.pageSize = 1;

    const { output } = await runStatus({ limit: 2 });

    expect(output.lines.slice(1, 3).map((line) => line.split(' ')[0])).toEqual([
      third.rolloutId,
      second.rolloutId,
    ]);
    expect(output.stdout).toContain('(--limit 2: there may be more)');
  });

  it('says when there are none yet', async () => {
    rollouts = new FakeRolloutTable();
    rollouts.serve(dynamoMock);

    const { code, output } = await runStatus();

    expect(code).toBe(0);
    expect(output.stdout).toBe(`No rollouts in table ${TABLE} (${REGION}) yet.`);
  });

  it('prints { rollouts } with --json', async () => {
    const { output } = await runStatus({ json: true });

    const printed = JSON.parse(output.stdout) as {
      rollouts: { rollout: RolloutRecord; summary: { counts: Record<string, number> } }[];
    };
    expect(printed.rollouts.map((r) => r.rollout.rolloutId)).toEqual([
      third.rolloutId,
      second.rolloutId,
      first.rolloutId,
    ]);
    expect(printed.rollouts[2]?.summary.counts).toEqual({ COMPLETED: 1, SKIPPED: 1 });
  });
});

describe('status: what is not there', () => {
  it('names the secret or parameter, the table and the Region when it has no rollout', async () => {
    const result = runStatus({ change: 'prod/other' });

    await expect(result).rejects.toThrow(RolloutNotFoundError);
    await expect(result).rejects.toThrow(
      `No rollout of prod/other in rollout table ${TABLE} (${REGION}).`,
    );
  });

  it('names the rollout id it looked for', async () => {
    const result = runStatus({ change: 's-prod-db-00000000000000000000' });

    await expect(result).rejects.toThrow(
      'No rollout with id s-prod-db-00000000000000000000, nor of a secret or parameter of that ' +
        `name, in rollout table ${TABLE} (${REGION}).`,
    );
  });

  it('says the table is empty for --latest', async () => {
    rollouts = new FakeRolloutTable();
    rollouts.serve(dynamoMock);

    await expect(runStatus({ latest: true })).rejects.toThrow(
      `No rollout yet in rollout table ${TABLE} (${REGION}).`,
    );
  });

  it('says the table does not exist, naming it and the Region', async () => {
    const result = runStatus({ latest: true, table: 'Nope' });

    await expect(result).rejects.toThrow(RolloutTableNotFoundError);
    await expect(result).rejects.toThrow(`No rollout table named Nope in ${REGION}`);
  });

  it('says the stack has no rollout table (rollouts off) and offers --table', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'SecretRedeployer',
          CreationTime: at('09:00:00'),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [{ OutputKey: 'FunctionName', OutputValue: 'SecretRedeployer-Function12AB' }],
        },
      ],
    });

    const result = runStatus();

    await expect(result).rejects.toThrow(CliError);
    await expect(result).rejects.toThrow(
      `Stack SecretRedeployer in ${REGION} has no RolloutTableName output: rollouts are turned ` +
        'off there, or the stack predates them. Update it (npx cdk deploy) or pass --table NAME',
    );
  });

  it('says the stack is missing and offers --table', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(awsError('ValidationError', 'Stack with id Other does not exist'));

    const result = runStatus({ stack: 'Other' });

    await expect(result).rejects.toThrow(StackNotFoundError);
    await expect(result).rejects.toThrow(/or pass --table NAME$/);
  });

  it('names the DynamoDB action that was denied', async () => {
    dynamoMock.reset();
    dynamoMock.rejects(awsError('AccessDeniedException', 'not authorized'));

    await expect(runStatus({ latest: true })).rejects.toThrow('dynamodb:Query failed');
  });

  it('refuses, before any call, what can be neither a secret nor a parameter', async () => {
    await expect(runStatus({ change: 'has space' })).rejects.toThrow(UsageError);
    expect(cfnMock).not.toHaveReceivedCommand(DescribeStacksCommand);
  });
});
