import {
  ECSClient,
  ListClustersCommand,
  ListServicesCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  DescribeParametersCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReadOnlyEcs, ReadOnlyViolationError } from '../../cli/aws.js';
import { UnknownTargetError, UsageError } from '../../cli/errors.js';
import { type PlanOptions, plan } from '../../cli/plan.js';
import { parseTarget } from '../../cli/targets.js';
import { awsError } from '../helpers/aws-errors.js';
import { ACCOUNT, REGION, clusterArn, serveEcs, serviceArn } from '../helpers/ecs.js';
import { MemoryOutput } from './helpers.js';
import {
  DB_ARN,
  DB_NAME,
  DB_PARTIAL_ARN,
  URL_PARAMETER,
  URL_PARAMETER_ARN,
  serveParameters,
  serveSecret,
  world,
} from './world.js';

const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);
const ssmMock = mockClient(SSMClient);
const clients = {
  ecs: new ECSClient({ region: REGION }),
  secretsManager: new SecretsManagerClient({ region: REGION }),
  ssm: new SSMClient({ region: REGION }),
};
const NOW = new Date('2026-03-01T12:00:00Z');

beforeEach(() => {
  ecsMock.reset();
  smMock.reset();
  ssmMock.reset();
  serveEcs(ecsMock, world());
  serveSecret(smMock);
  serveParameters(ssmMock);
});

afterEach(() => {
  // Metadata only, and a plan changes nothing.
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
  expect(ssmMock).not.toHaveReceivedCommand(GetParameterCommand);
  expect(ssmMock).not.toHaveReceivedCommand(GetParametersCommand);
  expect(ssmMock).not.toHaveReceivedCommand(GetParametersByPathCommand);
  expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
});

async function runPlan(
  target: string,
  options: Partial<PlanOptions> = {},
): Promise<{ code: number; output: MemoryOutput }> {
  const output = new MemoryOutput();
  const code = await plan(
    { target, clusters: [], json: false, region: REGION, ...options },
    { clients, output, now: () => NOW },
  );
  return { code, output };
}

/** A table row: cells separated by at least two spaces. */
const row = (...cells: string[]): RegExp =>
  new RegExp(
    `^${cells.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s{2,}')}$`,
    'm',
  );

describe('plan for a secret', () => {
  it('lists every referencing service and what a change of AWSCURRENT would do, changing nothing', async () => {
    const { code, output } = await runPlan(DB_NAME);

    expect(code).toBe(0);
    expect(output.stdout).toContain(`Secret ${DB_NAME} (${DB_ARN})`);
    expect(output.stdout).toMatch(row('SERVICE', 'CLUSTER', 'WHAT WOULD HAPPEN'));
    expect(output.stdout).toMatch(row('api', 'prod', 'redeploy'));
    expect(output.stdout).toMatch(row('worker', 'prod', 'redeploy'));
    expect(output.stdout).toMatch(row('reader', 'staging', 'redeploy'));
    expect(output.stdout).toMatch(
      /^legacy\s{2,}prod\s{2,}needs action: deployment controller CODE_DEPLOY: ECS cannot force a new deployment; start a CodeDeploy deployment of the same task definition: aws deploy create-deployment /m,
    );
    // Not tagged for waves (the construct's default policy): every service at once.
    expect(output.stdout).toContain(
      'Waves: not for this change (waves are for tagged changes only, and it is not tagged ' +
        'secret-redeployer:waves=on): every service at once.',
    );
    expect(output.stdout).toMatch(row('old', 'prod', 'skip: service is DRAINING'));
    expect(output.stdout).toContain(
      '5 services of 9 scanned (2 clusters) reference it. Plan only: nothing was changed.',
    );
    // Pinned to another label or a version, another secret, a parameter: not listed.
    for (const name of ['blue', 'pinned', 'other', 'web']) {
      expect(output.stdout).not.toMatch(new RegExp(`^${name}\\s`, 'm'));
    }
    expect(output.warnings).toEqual([]);
    expect(smMock).toHaveReceivedCommandWith(DescribeSecretCommand, { SecretId: DB_NAME });
  });

  it.each([
    ['a full ARN', DB_ARN, DB_ARN],
    ['a partial ARN', DB_PARTIAL_ARN, DB_PARTIAL_ARN],
    ['a task definition valueFrom with JSON key', `${DB_ARN}:password::`, DB_ARN],
    ['an SSM pass-through name', `/aws/reference/secretsmanager/${DB_NAME}`, DB_NAME],
  ])('accepts %s', async (_, target, described) => {
    const { code, output } = await runPlan(target);

    expect(code).toBe(0);
    expect(smMock).toHaveReceivedCommandWith(DescribeSecretCommand, { SecretId: described });
    expect(output.stdout).toMatch(row('api', 'prod', 'redeploy'));
  });

  it('plans a change of a pinned stage with --stage', async () => {
    const { code, output } = await runPlan(DB_NAME, { stage: 'blue' });

    expect(code).toBe(0);
    expect(output.stdout).toContain('If blue moved (references to blue would change):');
    expect(output.stdout).toMatch(row('blue', 'prod', 'redeploy'));
    expect(output.stdout).not.toMatch(/^api\s/m);
    expect(output.warnings).toContain(
      `Note: no version of ${DB_NAME} has the label blue right now.`,
    );
  });

  it('refuses --stage AWSPENDING: no running task reads it', async () => {
    await expect(runPlan(DB_NAME, { stage: 'AWSPENDING' })).rejects.toThrow(UsageError);
    expect(smMock).not.toHaveReceivedAnyCommand();
  });

  it('reports the services still referencing a secret scheduled for deletion', async () => {
    serveSecret(smMock, {
      versions: {},
      deletedDate: new Date('2026-02-27T00:00:00Z'),
    });

    const { code, output } = await runPlan(DB_NAME);

    expect(code).toBe(0);
    expect(output.stdout).toContain('It is scheduled for deletion');
    expect(output.stdout).toMatch(/^api\s+prod\s+still referenced: secret was deleted/m);
  });

  it('scans only the clusters given', async () => {
    const { output } = await runPlan(DB_NAME, { clusters: ['staging'] });

    expect(ecsMock).not.toHaveReceivedCommand(ListClustersCommand);
    expect(ecsMock).toHaveReceivedCommandTimes(ListServicesCommand, 1);
    expect(ecsMock).toHaveReceivedCommandWith(ListServicesCommand, { cluster: 'staging' });
    expect(output.stdout).toMatch(row('reader', 'staging', 'redeploy'));
    expect(output.stdout).not.toMatch(/^api\s/m);
  });

  it('prints JSON with --json', async () => {
    const { output } = await runPlan(DB_NAME, { json: true });

    const parsed = JSON.parse(output.stdout) as {
      plans: { target: unknown; services: unknown[]; servicesScanned: number }[];
    };
    expect(parsed).toMatchObject({ region: REGION, dryRun: true });
    expect(parsed.plans).toHaveLength(1);
    expect(parsed.plans[0]).toMatchObject({
      target: { kind: 'secret', name: DB_NAME, arn: DB_ARN },
      servicesScanned: 9,
    });
    expect(parsed.plans[0]?.services).toContainEqual({
      service: serviceArn('prod', 'api'),
      name: 'api',
      cluster: 'prod',
      outcome: 'redeploy',
    });
  });

  it('says there is no such secret or parameter', async () => {
    const result = runPlan('nope');

    await expect(result).rejects.toThrow(UnknownTargetError);
    await expect(result).rejects.toThrow(`No secret or parameter named nope in ${REGION}`);
  });
});

describe('plan for a parameter', () => {
  it.each([
    ['with its leading slash', URL_PARAMETER],
    ['without its leading slash', 'app/url'],
    ['by ARN', URL_PARAMETER_ARN],
  ])('finds it %s with DescribeParameters and lists its services', async (_, target) => {
    const { code, output } = await runPlan(target);

    expect(code).toBe(0);
    expect(ssmMock).toHaveReceivedCommandWith(DescribeParametersCommand, {
      ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [URL_PARAMETER, 'app/url'] }],
    });
    expect(output.stdout).toContain(`Parameter ${URL_PARAMETER} (${URL_PARAMETER_ARN})`);
    expect(output.stdout).toMatch(row('web', 'staging', 'redeploy'));
    expect(output.stdout).toContain('1 service of 9 scanned');
  });

  it('follows DescribeParameters pages that come back empty with a NextToken', async () => {
    ssmMock
      .on(DescribeParametersCommand)
      .resolvesOnce({ Parameters: [], NextToken: 'page-2' })
      .resolves({ Parameters: [{ Name: URL_PARAMETER, ARN: URL_PARAMETER_ARN }] });

    const { output } = await runPlan(URL_PARAMETER);

    expect(ssmMock).toHaveReceivedCommandTimes(DescribeParametersCommand, 2);
    expect(output.stdout).toMatch(row('web', 'staging', 'redeploy'));
  });

  it('plans both when a name is a secret and a parameter, and says so', async () => {
    serveParameters(ssmMock, [
      { Name: DB_NAME, ARN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${DB_NAME}` },
    ]);

    const { output } = await runPlan(DB_NAME);

    expect(output.warnings).toContain(
      `${DB_NAME} is both a secret and a parameter: planning both.`,
    );
    expect(output.stdout).toContain(`Secret ${DB_NAME}`);
    expect(output.stdout).toContain(`Parameter ${DB_NAME}`);
  });

  it('plans the secret and warns when Parameter Store cannot be checked', async () => {
    ssmMock
      .on(DescribeParametersCommand)
      .rejects(
        awsError('AccessDeniedException', 'not authorized to perform: ssm:DescribeParameters'),
      );

    const { code, output } = await runPlan(DB_NAME);

    expect(code).toBe(0);
    expect(output.stdout).toMatch(row('api', 'prod', 'redeploy'));
    expect(output.stderr).toContain(
      `Warning: could not check every reading of ${DB_NAME}: Access denied: your credentials ` +
        'may not call ssm:DescribeParameters.',
    );
  });
});

describe('plan when ECS cannot be read', () => {
  it('shows what it found, names the denied action and principal, and exits 1', async () => {
    ecsMock
      .on(ListServicesCommand, { cluster: clusterArn('staging') })
      .rejects(
        awsError(
          'AccessDeniedException',
          `User: arn:aws:sts::${ACCOUNT}:assumed-role/ReadOnly/alice is not authorized to perform: ` +
            `ecs:ListServices on resource: ${clusterArn('staging')} because no identity-based ` +
            'policy allows the ecs:ListServices action',
        ),
      );

    const { code, output } = await runPlan(DB_NAME);

    expect(code).toBe(1);
    expect(output.stdout).toMatch(row('api', 'prod', 'redeploy'));
    expect(output.stderr).toContain('the plan may be incomplete');
    expect(output.stderr).toContain(
      `Access denied: arn:aws:sts::${ACCOUNT}:assumed-role/ReadOnly/alice may not call ` +
        `ecs:ListServices on ${clusterArn('staging')}`,
    );
  });
});

describe('ReadOnlyEcs', () => {
  it('refuses every mutating call, so a plan can never change a service', async () => {
    const readOnly = new ReadOnlyEcs(clients.ecs);

    await expect(
      readOnly.client.send(
        new UpdateServiceCommand({ service: 'api', cluster: 'prod', forceNewDeployment: true }),
      ),
    ).rejects.toThrow(ReadOnlyViolationError);
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });
});

describe('parseTarget', () => {
  it.each([
    ['my-secret', { secretId: 'my-secret', parameterNames: ['/my-secret', 'my-secret'] }],
    ['rds!db-1234', { secretId: 'rds!db-1234' }],
    ['/a/b', { secretId: '/a/b', parameterNames: ['/a/b', 'a/b'] }],
    [DB_PARTIAL_ARN, { secretId: DB_PARTIAL_ARN, arnRegion: REGION }],
    [URL_PARAMETER_ARN, { parameterNames: [URL_PARAMETER, 'app/url'], arnRegion: REGION }],
  ])('reads %s', (input, expected) => {
    expect(parseTarget(input)).toEqual(expected);
  });

  it.each(['', 'has space', 'arn:aws:s3:::bucket', `arn:aws:sqs:${REGION}:${ACCOUNT}:queue`])(
    'rejects %j',
    (input) => {
      expect(() => parseTarget(input)).toThrow(UsageError);
    },
  );
});

describe('plan shows the waves', () => {
  it('in the order the rollout would deploy them: the canary, then the waves (every change in waves)', async () => {
    const { code, output } = await runPlan(DB_NAME, { wavesFor: 'all' });

    expect(code).toBe(0);
    expect(output.stdout).toContain(
      'Waves (waves are on for every change): each starts once the one before completed.',
    );
    // Three services to redeploy, in ARN order: prod/api, prod/worker, staging/reader.
    expect(output.stdout).toContain('  canary (1 service): prod/api');
    expect(output.stdout).toContain('  wave 2 (1 service): prod/worker');
    expect(output.stdout).toContain('  wave 3 (1 service): staging/reader');
  });

  it('as JSON, with the sizes given', async () => {
    const { output } = await runPlan(DB_NAME, {
      wavesFor: 'all',
      waves: [{ count: 2 }],
      json: true,
    });
    const json = JSON.parse(output.stdout) as { plans: { waves?: unknown }[] };
    expect(json.plans[0]?.waves).toEqual({
      applies: true,
      why: 'waves are on for every change',
      waves: [
        [serviceArn('prod', 'api'), serviceArn('prod', 'worker')],
        [serviceArn('staging', 'reader')],
      ],
    });
  });

  it('says nothing of waves when they are off', async () => {
    const { output } = await runPlan(DB_NAME, { waves: [] });
    expect(output.stdout).not.toContain('Waves');
  });
});
