/**
 * The missed-event sweep (`{ action: 'sweep' }` from the schedule): services whose newest
 * deployment predates the last change of a secret (creation of its AWSCURRENT version) or a
 * parameter (LastModifiedDate) they reference are redeployed through the same path as a change
 * event. Metadata calls only: never GetSecretValue, GetParameter or GetParameters.
 */
import { ECSClient, type Service, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  type ListSecretVersionIdsCommandInput,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import {
  DescribeParametersCommand,
  type DescribeParametersCommandInput,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChangeReport, Report } from '../../../functions/redeploy/process.js';
import { awsError } from '../../helpers/aws-errors.js';
import { SM } from '../../helpers/change-events.js';
import {
  ACCOUNT,
  type EcsWorld,
  REGION,
  serveEcs,
  service,
  serviceArn,
  taskDefinition,
  taskDefinitionArn,
} from '../../helpers/ecs.js';
import {
  CHANGE_QUEUE_URL,
  captureOutput,
  lambdaContext,
  loadHandler,
  logEntries,
} from '../../helpers/lambda.js';

const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);
const ssmMock = mockClient(SSMClient);
const sqsMock = mockClient(SQSClient);

const PLANTED = 'Pl4nted-S3cret-VALUE';
const NOW = Date.parse('2025-03-14T09:00:00Z');
const OLD = new Date('2025-03-01T00:00:00Z');
const SECRET_CHANGED = new Date('2025-03-10T12:00:00Z');
const PARAMETER_CHANGED = new Date('2025-03-05T08:30:00Z');
const DB = `${SM}:db-AbCdEf`;
const FOREIGN = `arn:aws:secretsmanager:${REGION}:210987654321:secret:shared-XyZ123`;

const sweep = {
  action: 'sweep',
  id: 'b5e1a3c2-0000-4000-8000-5ea4c4000001',
  time: '2025-03-14T09:00:00Z',
};

type World = EcsWorld & { clusters: Record<string, Service[]> };

/** What a service of `prod` reads, and when it was last deployed. */
interface ServiceSpec {
  readonly refs: Record<string, string>;
  readonly deployedAt: Date;
  readonly tags?: Record<string, string>;
}

const STALE_SECRET: ServiceSpec = { refs: { DB_PASSWORD: `${DB}:password::` }, deployedAt: OLD };
const STALE_PARAM: ServiceSpec = { refs: { FLAGS: '/app/feature-flags' }, deployedAt: OLD };

const SERVICES: Record<string, ServiceSpec> = {
  'stale-secret': STALE_SECRET,
  'stale-param': STALE_PARAM,
  fresh: { refs: { DB_PASSWORD: DB }, deployedAt: new Date('2025-03-12T00:00:00Z') },
  'fresh-param': {
    refs: { FLAGS: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/app/feature-flags` },
    deployedAt: new Date('2025-03-06T00:00:00Z'),
  },
  pinned: {
    refs: { DB_PASSWORD: `${DB}:password::a1b2c3d4-5678-90ab-cdef-EXAMPLE11111` },
    deployedAt: OLD,
  },
  foreign: { refs: { SHARED: FOREIGN }, deployedAt: OLD },
  excluded: {
    refs: { DB_PASSWORD: DB },
    deployedAt: OLD,
    tags: { 'secret-redeployer:exclude': 'true' },
  },
};

function world(services: typeof SERVICES = SERVICES): World {
  return {
    clusters: {
      prod: Object.entries(services).map(([name, s]) =>
        service({
          cluster: 'prod',
          name,
          taskDefinition: taskDefinitionArn(name, 1),
          deployedAt: s.deployedAt,
          ...(s.tags && { tags: s.tags }),
        }),
      ),
    },
    taskDefinitions: Object.entries(services).map(([name, s]) =>
      taskDefinition(taskDefinitionArn(name, 1), s.refs),
    ),
  };
}

/** Secrets Manager knows db (AWSCURRENT created SECRET_CHANGED); anything else is not found. */
function serveSecrets(): void {
  smMock.on(ListSecretVersionIdsCommand).callsFake((input: ListSecretVersionIdsCommandInput) => {
    if (input.SecretId !== DB && input.SecretId !== 'db') {
      throw new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: { httpStatusCode: 400 },
      });
    }
    return {
      ARN: DB,
      Name: 'db',
      Versions: [
        {
          VersionId: 'f00dfeed-0000-4000-8000-000000000002',
          VersionStages: ['AWSCURRENT'],
          CreatedDate: SECRET_CHANGED,
          KmsKeyIds: ['DefaultEncryptionKey'],
        },
        {
          VersionId: 'f00dfeed-0000-4000-8000-000000000001',
          VersionStages: ['AWSPREVIOUS'],
          CreatedDate: new Date('2025-02-01T00:00:00Z'),
          // Nothing in this response is a secret value; a value planted here must still never
          // be echoed.
          KmsKeyIds: [PLANTED],
        },
      ],
    };
  });
}

/** Parameter Store knows /app/feature-flags, last modified PARAMETER_CHANGED. */
function serveParameters(): void {
  ssmMock.on(DescribeParametersCommand).callsFake((input: DescribeParametersCommandInput) => {
    const wanted = input.ParameterFilters?.find((f) => f.Key === 'Name')?.Values ?? [];
    const known = [
      {
        Name: '/app/feature-flags',
        Type: 'String' as const,
        LastModifiedDate: PARAMETER_CHANGED,
        Description: `flags; break-glass ${PLANTED}`,
        Version: 7,
      },
    ];
    return { Parameters: known.filter((p) => wanted.includes(p.Name)) };
  });
}

const handled = (report: unknown): ChangeReport => {
  const r = report as Report;
  if (r.outcome !== 'handled') throw new Error(`ignored: ${r.reason}`);
  return r;
};

let output: () => string;

beforeEach(() => {
  ecsMock.reset();
  smMock.reset();
  ssmMock.reset();
  sqsMock.reset();
  output = captureOutput();
  vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
  serveSecrets();
  serveParameters();
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
  expect(ssmMock).not.toHaveReceivedCommand(GetParameterCommand);
  expect(ssmMock).not.toHaveReceivedCommand(GetParametersCommand);
  expect(ssmMock).not.toHaveReceivedCommand(GetParametersByPathCommand);
  expect(output()).not.toContain(PLANTED);
});

describe('the missed-event sweep', () => {
  it('a change whose event was dropped is repaired by the sweep', async () => {
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    const { handler } = await loadHandler();

    // No event was ever delivered: only the schedule runs.
    const report = handled(await handler(sweep, lambdaContext()));

    expect(report.redeployed).toEqual([
      serviceArn('prod', 'stale-param'),
      serviceArn('prod', 'stale-secret'),
    ]);
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 2);
    for (const name of ['fresh', 'fresh-param', 'pinned', 'foreign', 'excluded']) {
      expect(ecsMock).not.toHaveReceivedCommandWith(UpdateServiceCommand, {
        service: serviceArn('prod', name),
      });
    }
    expect(report.skipped).toEqual([
      {
        service: serviceArn('prod', 'excluded'),
        code: 'excluded-by-tag',
        reason: 'tagged secret-redeployer:exclude=true',
      },
    ]);
    expect(report.failed).toEqual([]);
    expect(report.change).toMatchObject({
      type: 'sweep',
      eventId: `sweep:${sweep.id}`,
      secretsChecked: 1,
      parametersChecked: 1,
    });
    // Only the home account's secret is looked at, by metadata; the foreign one never.
    expect(smMock).toHaveReceivedCommandTimes(ListSecretVersionIdsCommand, 1);
    expect(smMock).toHaveReceivedCommandWith(ListSecretVersionIdsCommand, { SecretId: DB });
    expect(ssmMock).toHaveReceivedCommandWith(DescribeParametersCommand, {
      ParameterFilters: [
        {
          Key: 'Name',
          Option: 'Equals',
          Values: expect.arrayContaining(['/app/feature-flags']) as string[],
        },
      ],
    });
    expect(JSON.stringify(report)).not.toContain(PLANTED);
  });

  it('makes no UpdateService call in dry run, and reports what it would redeploy', async () => {
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    const { handler } = await loadHandler({ DRY_RUN: 'true' });

    const report = handled(await handler(sweep, lambdaContext()));

    expect(report.dryRun).toBe(true);
    expect(report.redeployed).toEqual([
      serviceArn('prod', 'stale-param'),
      serviceArn('prod', 'stale-secret'),
    ]);
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  it('finds nothing more to do on the next run', async () => {
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    const { handler } = await loadHandler();

    await handler(sweep, lambdaContext());
    vi.setSystemTime(NOW + 3_600_000);
    const next = handled(
      await (await loadHandler()).handler({ ...sweep, id: 'next' }, lambdaContext()),
    );

    expect(next.redeployed).toEqual([]);
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 2);
  });

  it('applies the deployment cap, and leaves the rest to the next sweep (nothing re-queued)', async () => {
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    const { handler } = await loadHandler({
      MAX_DEPLOYMENTS_IN_PROGRESS: '1',
      CHANGE_QUEUE_URL,
    });

    const report = handled(await handler(sweep, lambdaContext()));

    expect(report.redeployed).toHaveLength(1);
    expect(report.braked).toHaveLength(1);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('in opt-in mode, repairs only services tagged secret-redeployer:include=true', async () => {
    const services = {
      ...SERVICES,
      'stale-param': { ...STALE_PARAM, tags: { 'secret-redeployer:include': 'true' } },
    };
    serveEcs(ecsMock, world(services), { clock: () => new Date() });
    const { handler } = await loadHandler({ OPT_IN: 'true' });

    const report = handled(await handler(sweep, lambdaContext()));

    expect(report.redeployed).toEqual([serviceArn('prod', 'stale-param')]);
    expect(report.skipped.map((s) => [s.service, s.code])).toEqual([
      [serviceArn('prod', 'excluded'), 'excluded-by-tag'],
      [serviceArn('prod', 'stale-secret'), 'not-opted-in'],
    ]);
  });

  it('only checks secrets and parameters within the configured name prefixes', async () => {
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    const { handler } = await loadHandler({ SECRET_NAME_PREFIXES: 'prod/' });

    const report = handled(await handler(sweep, lambdaContext()));

    expect(report.redeployed).toEqual([serviceArn('prod', 'stale-param')]);
    expect(smMock).not.toHaveReceivedCommand(ListSecretVersionIdsCommand);
  });

  it('reads the AWSCURRENT version across ListSecretVersionIds pages', async () => {
    smMock
      .on(ListSecretVersionIdsCommand)
      .resolvesOnce({
        ARN: DB,
        Versions: [{ VersionId: 'old', VersionStages: ['AWSPREVIOUS'], CreatedDate: OLD }],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        ARN: DB,
        Versions: [
          { VersionId: 'new', VersionStages: ['AWSCURRENT'], CreatedDate: SECRET_CHANGED },
        ],
      });
    serveEcs(ecsMock, world({ 'stale-secret': STALE_SECRET }), {
      clock: () => new Date(),
    });
    const { handler } = await loadHandler();

    const report = handled(await handler(sweep, lambdaContext()));

    expect(report.redeployed).toEqual([serviceArn('prod', 'stale-secret')]);
    expect(smMock).toHaveReceivedNthCommandWith(ListSecretVersionIdsCommand, 2, {
      NextToken: 'page-2',
    });
  });

  it('treats a secret it cannot read as a warning and still repairs the rest', async () => {
    smMock
      .on(ListSecretVersionIdsCommand)
      .rejects(awsError('AccessDeniedException', 'not authorized: ListSecretVersionIds'));
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    const { handler } = await loadHandler();

    const report = handled(await handler(sweep, lambdaContext()));

    expect(report.redeployed).toEqual([serviceArn('prod', 'stale-param')]);
    expect(report.failed).toEqual([]);
    expect(report.warnings).toEqual([expect.stringContaining('AccessDeniedException') as string]);
  });

  it('passes over a secret that no longer exists, quietly (the change event reports it)', async () => {
    serveEcs(
      ecsMock,
      world({
        'stale-secret': STALE_SECRET,
        orphan: { refs: { OLD_DB: `${SM}:deleted-GoNeGo` }, deployedAt: OLD },
      }),
      { clock: () => new Date() },
    );
    const { handler } = await loadHandler();

    const report = handled(await handler(sweep, lambdaContext()));

    expect(report.redeployed).toEqual([serviceArn('prod', 'stale-secret')]);
    expect(report.failed).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(smMock).toHaveReceivedCommandWith(ListSecretVersionIdsCommand, {
      SecretId: `${SM}:deleted-GoNeGo`,
    });
  });

  it('logs with the sweep id as correlation id', async () => {
    serveEcs(ecsMock, world(), { clock: () => new Date() });
    const { handler } = await loadHandler();

    await handler(sweep, lambdaContext());

    const entries = logEntries(output());
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) expect(entry.correlation_id).toBe(`sweep:${sweep.id}`);
  });

  // Regression (was a bug, fixed): the sweep ignores the staging label a reference is pinned to. Input: two services read
  // secret db: `stale-secret` at AWSCURRENT (…:db-AbCdEf:password::) and `custom-label` pinned to
  // a custom label (…:db-AbCdEf:password:BLUE:), both deployed 2025-03-01; the AWSCURRENT version
  // was created 2025-03-10 (BLUE did not move). Expected: only `stale-secret` is redeployed (a
  // change of AWSCURRENT never changes the value behind BLUE; the event path agrees: isAffected
  // requires the reference's stage to be among the stages that moved). Actual: `custom-label` is
  // redeployed too: sweep.ts changeFor() returns a change for any reference to a secret some
  // other reference made the sweep look up, without checking the reference's version stage.
  it('leaves alone a service pinned to a custom staging label', async () => {
    serveEcs(
      ecsMock,
      world({
        'stale-secret': STALE_SECRET,
        'custom-label': { refs: { DB_PASSWORD: `${DB}:password:BLUE:` }, deployedAt: OLD },
      }),
      { clock: () => new Date() },
    );
    const { handler } = await loadHandler();

    const report = handled(await handler(sweep, lambdaContext()));

    expect(report.redeployed).toEqual([serviceArn('prod', 'stale-secret')]);
  });
});
