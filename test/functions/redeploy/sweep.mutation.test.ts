/**
 * The sweep, run directly: which secrets and parameters it looks up, how it reads the answers,
 * and which services it then repairs. Metadata calls only.
 */
import { ECSClient, type Service, type ContainerDefinition } from '@aws-sdk/client-ecs';
import {
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  type ListSecretVersionIdsCommandInput,
  type ListSecretVersionIdsCommandOutput,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  DescribeParametersCommand,
  type DescribeParametersCommandInput,
  GetParameterCommand,
  GetParametersCommand,
  type ParameterMetadata,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../functions/redeploy/config.js';
import type { ChangeReport } from '../../../functions/redeploy/process.js';
import { runSweep } from '../../../functions/redeploy/sweep.js';
import { TaskDefinitionReader } from '../../../functions/redeploy/task-definitions.js';
import { awsError } from '../../helpers/aws-errors.js';
import {
  HOME,
  REGION,
  serveEcs,
  service,
  serviceArn,
  taskDefinition,
  taskDefinitionArn,
} from '../../helpers/ecs.js';

const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);
const ssmMock = mockClient(SSMClient);
const ecs = new ECSClient({ region: REGION });
const secretsManager = new SecretsManagerClient({ region: REGION });
const ssm = new SSMClient({ region: REGION });

const SM = `arn:aws:secretsmanager:${REGION}:123456789012:secret`;
const DB = `${SM}:db-AbCdEf`;
const FOREIGN_PARAMETER = `arn:aws:ssm:${REGION}:210987654321:parameter/app/flags`;
const OLD = new Date('2025-03-01T00:00:00Z');
const CHANGED = new Date('2025-03-10T12:00:00Z');
const NOW = new Date('2025-03-14T09:00:00Z');

/** A service of cluster `prod`: its one task definition, and when it was last deployed. */
interface Spec {
  readonly refs?: Record<string, string>;
  readonly containers?: ContainerDefinition[];
  /** undefined: ECS lists no deployment for it. */
  readonly deployedAt?: Date;
}

function serve(services: Record<string, Spec>, unreadable: string[] = []): void {
  serveEcs(ecsMock, {
    clusters: {
      prod: Object.entries(services).map(([name, spec]): Service => {
        const described = service({
          cluster: 'prod',
          name,
          taskDefinition: taskDefinitionArn(name, 1),
          ...(spec.deployedAt && { deployedAt: spec.deployedAt }),
        });
        return spec.deployedAt ? described : { ...described, deployments: [] };
      }),
    },
    taskDefinitions: Object.entries(services)
      .filter(([name]) => !unreadable.includes(name))
      .map(([name, spec]) =>
        taskDefinition(taskDefinitionArn(name, 1), spec.refs ?? {}, {
          containers: spec.containers ?? [],
        }),
      ),
  });
}

/** Secrets Manager answers ListSecretVersionIds for DB with `answer`; others are not found. */
function secretAnswers(answer: ListSecretVersionIdsCommandOutput | Record<string, unknown>): void {
  smMock.on(ListSecretVersionIdsCommand).callsFake((input: ListSecretVersionIdsCommandInput) => {
    if (input.SecretId !== DB) {
      throw new ResourceNotFoundException({ message: 'not found', $metadata: {} });
    }
    return answer;
  });
}

const CURRENT_CHANGED = {
  ARN: DB,
  Versions: [{ VersionId: 'v2', VersionStages: ['AWSCURRENT'], CreatedDate: CHANGED }],
};

/** Parameter Store knows `parameters`; DescribeParameters returns those asked for by name. */
function parametersKnown(parameters: ParameterMetadata[]): void {
  ssmMock.on(DescribeParametersCommand).callsFake((input: DescribeParametersCommandInput) => {
    const wanted = input.ParameterFilters?.find((f) => f.Key === 'Name')?.Values ?? [];
    return { Parameters: parameters.filter((p) => wanted.includes(p.Name ?? '')) };
  });
}

async function sweep(env: Record<string, string> = {}): Promise<ChangeReport> {
  return runSweep(
    {
      ecs,
      secretsManager,
      ssm,
      // The changes are days old: a look-back of 30 days lets the sweep act on them.
      config: loadConfig({ SWEEP_LOOK_BACK_SECONDS: String(30 * 86_400), ...env }),
      home: HOME,
      taskDefinitions: new TaskDefinitionReader(),
      now: () => NOW,
    },
    'sweep-1',
  );
}

beforeEach(() => {
  ecsMock.reset();
  smMock.reset();
  ssmMock.reset();
  secretAnswers(CURRENT_CHANGED);
  parametersKnown([{ Name: '/app/flags', LastModifiedDate: CHANGED }]);
});

afterEach(() => {
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
  expect(ssmMock).not.toHaveReceivedCommand(GetParameterCommand);
  expect(ssmMock).not.toHaveReceivedCommand(GetParametersCommand);
});

describe('runSweep: what it looks up', () => {
  it.each([
    ['pinned to a version id', `${DB}:password::a1b2c3d4-5678-90ab-cdef-EXAMPLE11111`],
    ['pinned to a custom label', `${DB}:password:BLUE:`],
  ])('never looks up a secret referenced only %s', async (_case, valueFrom) => {
    serve({ pinned: { refs: { DB: valueFrom }, deployedAt: OLD } });

    const report = await sweep();

    expect(smMock).not.toHaveReceivedCommand(ListSecretVersionIdsCommand);
    expect(report.redeployed).toEqual([]);
  });

  it('repairs a service that reads the secret at AWSPREVIOUS, which moves with AWSCURRENT', async () => {
    serve({ previous: { refs: { DB: `${DB}:password:AWSPREVIOUS:` }, deployedAt: OLD } });

    const report = await sweep();

    expect(report.redeployed).toEqual([serviceArn('prod', 'previous')]);
  });

  it('never looks up a parameter of another account', async () => {
    serve({ foreign: { refs: { FLAGS: FOREIGN_PARAMETER }, deployedAt: OLD } });

    await sweep();

    expect(ssmMock).not.toHaveReceivedCommand(DescribeParametersCommand);
  });

  it("does not take another account's parameter for the changed home parameter of that name", async () => {
    serve({
      home: { refs: { FLAGS: '/app/flags' }, deployedAt: OLD },
      foreign: { refs: { FLAGS: FOREIGN_PARAMETER }, deployedAt: OLD },
    });

    const report = await sweep();

    expect(report.redeployed).toEqual([serviceArn('prod', 'home')]);
  });

  it('looks up a secret whose name starts with any one of the configured prefixes', async () => {
    serve({ user: { refs: { DB }, deployedAt: OLD } });

    const report = await sweep({ SECRET_NAME_PREFIXES: 'prod/,d' });

    expect(smMock).toHaveReceivedCommandWith(ListSecretVersionIdsCommand, { SecretId: DB });
    expect(report.redeployed).toEqual([serviceArn('prod', 'user')]);
  });

  it('asks for parameters 25 names at a time, each in both forms', async () => {
    const refs = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`P${String(i)}`, `/app/p${String(i)}`]),
    );
    serve({ many: { refs, deployedAt: OLD } });

    await sweep();

    const calls = ssmMock.commandCalls(DescribeParametersCommand);
    expect(calls.map((call) => call.args[0].input.ParameterFilters?.[0]?.Values?.length)).toEqual([
      50, 50,
    ]);
    expect(calls[1]?.args[0].input.ParameterFilters?.[0]?.Values?.slice(0, 2)).toEqual([
      'app/p25',
      '/app/p25',
    ]);
  });
});

describe('runSweep: reading the answers', () => {
  it('counts only the secrets and parameters it found a change time for', async () => {
    serve({
      gone: { refs: { OLD_DB: `${SM}:deleted-GoNeGo`, GONE: '/app/gone' }, deployedAt: OLD },
    });

    const report = await sweep();

    expect(report.change).toMatchObject({ secretsChecked: 0, parametersChecked: 0 });
    expect(report.warnings).toEqual([]);
  });

  it('skips a version without labels, quietly', async () => {
    secretAnswers({
      ARN: DB,
      Versions: [
        { VersionId: 'v0', CreatedDate: OLD },
        { VersionId: 'v2', VersionStages: ['AWSCURRENT'], CreatedDate: CHANGED },
      ],
    });
    serve({ user: { refs: { DB }, deployedAt: OLD } });

    const report = await sweep();

    expect(report.warnings).toEqual([]);
    expect(report.redeployed).toEqual([serviceArn('prod', 'user')]);
  });

  it.each([
    ['an answer without the secret ARN', { Versions: CURRENT_CHANGED.Versions }],
    [
      'no AWSCURRENT version',
      {
        ARN: DB,
        Versions: [{ VersionId: 'v1', VersionStages: ['AWSPREVIOUS'], CreatedDate: CHANGED }],
      },
    ],
  ])('passes over a secret with %s, quietly', async (_case, answer) => {
    secretAnswers(answer);
    serve({ user: { refs: { DB }, deployedAt: OLD } });

    const report = await sweep();

    expect(report.change).toMatchObject({ secretsChecked: 0 });
    expect(report.warnings).toEqual([]);
    expect(report.redeployed).toEqual([]);
  });

  it('passes over a parameter without a modification date', async () => {
    parametersKnown([{ Name: '/app/flags' }]);
    serve({ user: { refs: { FLAGS: '/app/flags' }, deployedAt: OLD } });

    const report = await sweep();

    expect(report.change).toMatchObject({ parametersChecked: 0 });
    expect(report.redeployed).toEqual([]);
  });

  it('reads a hierarchical parameter name that comes back without a leading slash', async () => {
    parametersKnown([{ Name: 'app/flags', LastModifiedDate: CHANGED }]);
    serve({ user: { refs: { FLAGS: 'app/flags' }, deployedAt: OLD } });

    const report = await sweep();

    expect(report.change).toMatchObject({ parametersChecked: 1 });
    expect(report.redeployed).toEqual([serviceArn('prod', 'user')]);
  });

  it('follows DescribeParameters pages', async () => {
    ssmMock
      .on(DescribeParametersCommand)
      .resolvesOnce({ Parameters: [], NextToken: 'page-2' })
      .resolvesOnce({ Parameters: [{ Name: '/app/flags', LastModifiedDate: CHANGED }] });
    serve({ user: { refs: { FLAGS: '/app/flags' }, deployedAt: OLD } });

    const report = await sweep();

    expect(ssmMock).toHaveReceivedNthCommandWith(DescribeParametersCommand, 2, {
      NextToken: 'page-2',
    });
    expect(report.redeployed).toEqual([serviceArn('prod', 'user')]);
  });

  it('warns about parameters it cannot describe, naming them and the error', async () => {
    ssmMock.on(DescribeParametersCommand).rejects(awsError('AccessDeniedException', 'denied'));
    serve({ user: { refs: { A: '/app/a', B: '/app/b' }, deployedAt: OLD } });

    const report = await sweep();

    expect(report.warnings).toEqual(['parameters app/a, app/b: AccessDeniedException: denied']);
  });

  it('warns about a task definition it cannot read, naming the service and the error', async () => {
    serve({ user: { refs: { DB }, deployedAt: OLD } }, ['user']);

    const report = await sweep();

    expect(report.warnings).toEqual([
      `${serviceArn('prod', 'user')}: task definition ${taskDefinitionArn('user', 1)} could not ` +
        'be read: ClientException: Unable to describe task definition.',
    ]);
  });
});

describe('runSweep: which services it repairs', () => {
  it('repairs a service for which ECS lists no deployment time', async () => {
    serve({ unknown: { refs: { DB } } });

    const report = await sweep();

    expect(report.redeployed).toEqual([serviceArn('prod', 'unknown')]);
  });

  it('leaves alone a service deployed at the very time of the last change', async () => {
    serve({ same: { refs: { DB }, deployedAt: CHANGED } });

    const report = await sweep();

    expect(report.redeployed).toEqual([]);
    expect(report.skipped).toEqual([]);
  });

  it('skips a service whose only stale reference is its registry credentials', async () => {
    serve({
      registry: {
        refs: { FLAGS: '/app/unchanged' },
        containers: [{ name: 'pull', repositoryCredentials: { credentialsParameter: DB } }],
        deployedAt: OLD,
      },
    });

    const report = await sweep();

    expect(report.redeployed).toEqual([]);
    expect(report.skipped).toEqual([
      expect.objectContaining({ service: serviceArn('prod', 'registry'), code: 'image-pull-only' }),
    ]);
  });
});
