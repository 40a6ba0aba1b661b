import {
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListServicesCommand,
  type Service,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../functions/redeploy/config.js';
import {
  type ChangeReport,
  type Dependencies,
  type Report,
  processEvent,
} from '../../../functions/redeploy/process.js';
import { RecentDeployments } from '../../../functions/redeploy/redeploy.js';
import { TaskDefinitionReader } from '../../../functions/redeploy/task-definitions.js';
import { awsError } from '../../helpers/aws-errors.js';
import {
  ACCOUNT,
  type EcsWorld,
  HOME,
  REGION,
  clusterArn,
  serveEcs,
  service,
  serviceArn,
  taskDefinition,
  taskDefinitionArn,
} from '../../helpers/ecs.js';
import {
  type JsonObject,
  detailOf,
  loadFixture,
  relocatedFixture,
} from '../../helpers/fixtures.js';

const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);
const ecs = new ECSClient({ region: REGION });
const secretsManager = new SecretsManagerClient({ region: REGION });
const HERE = { region: REGION, account: ACCOUNT };

beforeEach(() => {
  ecsMock.reset();
  smMock.reset();
});

afterEach(() => {
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
});

function deps(overrides: Partial<Dependencies> = {}): Dependencies {
  return {
    ecs,
    secretsManager,
    config: loadConfig({}),
    home: HOME,
    taskDefinitions: new TaskDefinitionReader(),
    ...overrides,
  };
}

function handled(report: Report): ChangeReport {
  if (report.outcome !== 'handled') throw new Error(`event ignored: ${report.reason}`);
  return report;
}

const SM = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret`;

/** The documented Secret Label Updated sample (mySecret-a1b2c3), moved to the home scope. */
const labelUpdated = (): JsonObject =>
  relocatedFixture(
    'secretsmanager/eventbridge-SecretLabelUpdated-native.awsdocs.json',
    { region: 'us-west-2', account: '012345678901' },
    HERE,
  );

/** The documented Parameter Store samples (MyExampleParameter), moved to the home scope. */
const parameterEvent = (operation: 'update' | 'delete'): JsonObject =>
  relocatedFixture(
    `ssm/parameter-store-change-${operation}.awsdocs.json`,
    { region: 'us-east-2', account: '123456789012' },
    HERE,
  );

const td = {
  orders: taskDefinitionArn('orders', 7),
  billing: taskDefinitionArn('billing', 3),
  pinned: taskDefinitionArn('pinned', 1),
  recreated: taskDefinitionArn('recreated', 1),
  other: taskDefinitionArn('other', 2),
  web: taskDefinitionArn('web', 41),
  passthrough: taskDefinitionArn('passthrough', 5),
  registry: taskDefinitionArn('registry', 2),
};

/** Two clusters; some services reference mySecret or MyExampleParameter, some do not. */
function world(): EcsWorld & { clusters: Record<string, Service[]> } {
  return {
    clusters: {
      prod: [
        service({ cluster: 'prod', name: 'orders', taskDefinition: td.orders }),
        service({ cluster: 'prod', name: 'billing', taskDefinition: td.billing }),
        service({ cluster: 'prod', name: 'pinned', taskDefinition: td.pinned }),
        service({ cluster: 'prod', name: 'recreated', taskDefinition: td.recreated }),
        service({ cluster: 'prod', name: 'other', taskDefinition: td.other }),
        service({ cluster: 'prod', name: 'web', taskDefinition: td.web }),
      ],
      staging: [
        service({ cluster: 'staging', name: 'passthrough', taskDefinition: td.passthrough }),
        service({ cluster: 'staging', name: 'registry', taskDefinition: td.registry }),
      ],
    },
    taskDefinitions: [
      taskDefinition(td.orders, { DB_PASSWORD: `${SM}:mySecret-a1b2c3:password::` }),
      taskDefinition(td.billing, { DB: `${SM}:mySecret` }),
      taskDefinition(td.pinned, {
        DB: `${SM}:mySecret-a1b2c3:::a1b2c3d4-5678-90ab-cdef-EXAMPLE00000`,
      }),
      taskDefinition(td.recreated, { DB: `${SM}:mySecret-OldOld` }),
      taskDefinition(td.other, { API_KEY: `${SM}:otherSecret-AbCdEf` }),
      taskDefinition(td.web, {
        URL: '/MyExampleParameter',
        TOKEN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/web/token`,
      }),
      taskDefinition(td.passthrough, { DB: '/aws/reference/secretsmanager/mySecret' }),
      taskDefinition(
        td.registry,
        {},
        {
          containers: [
            {
              name: 'private-image',
              repositoryCredentials: {
                credentialsParameter: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/MyExampleParameter`,
              },
            },
          ],
        },
      ),
    ],
  };
}

/** DescribeTaskDefinition calls made for one revision. */
const describedTimes = (arn: string): number =>
  ecsMock.commandCalls(DescribeTaskDefinitionCommand, { taskDefinition: arn }).length;

const update = (cluster: string, name: string) => ({
  cluster: clusterArn(cluster),
  service: serviceArn(cluster, name),
  forceNewDeployment: true,
});

describe('processEvent on a secret change', () => {
  it('forces a new deployment of exactly the services that reference the secret', async () => {
    serveEcs(ecsMock, world());

    const report = handled(await processEvent(labelUpdated(), deps()));

    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 3);
    expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, update('prod', 'orders'));
    expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, update('prod', 'billing'));
    expect(ecsMock).toHaveReceivedCommandWith(
      UpdateServiceCommand,
      update('staging', 'passthrough'),
    );
    expect(report).toMatchObject({
      outcome: 'handled',
      dryRun: false,
      redeployed: [
        serviceArn('prod', 'billing'),
        serviceArn('prod', 'orders'),
        serviceArn('staging', 'passthrough'),
      ],
      skipped: [],
      needsAction: [],
      stillReferenced: [],
      failed: [],
      clustersScanned: 2,
      servicesScanned: 8,
      change: { type: 'secret', name: 'mySecret', trigger: 'Secret Label Updated (AWSCURRENT)' },
    });
    expect(smMock).not.toHaveReceivedAnyCommand();
  });

  it('never redeploys services pinned to a version, using a re-created secret, or another secret', async () => {
    serveEcs(ecsMock, world());

    await processEvent(labelUpdated(), deps());

    for (const name of ['pinned', 'recreated', 'other', 'web']) {
      expect(ecsMock).not.toHaveReceivedCommandWith(UpdateServiceCommand, {
        service: serviceArn('prod', name),
      });
    }
  });

  it('redeploys nothing when a same-named secret changes in another Region', async () => {
    serveEcs(ecsMock, world());
    const event = loadFixture('secretsmanager/eventbridge-SecretLabelUpdated-native.awsdocs.json');
    const elsewhere = relocatedFixture(
      'secretsmanager/eventbridge-SecretLabelUpdated-native.awsdocs.json',
      { region: 'us-west-2', account: '012345678901' },
      { region: 'eu-west-1', account: ACCOUNT },
    );

    // Accepted as sources, so the matching itself is what is tested here.
    const config = loadConfig({
      SOURCE_REGIONS: 'us-west-2,eu-west-1',
      SOURCE_ACCOUNTS: '012345678901',
    });
    for (const e of [event, elsewhere]) {
      const report = handled(await processEvent(e, deps({ config })));
      expect(report.redeployed).toEqual([]);
    }
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  it('ignores events from another account or Region unless configured as a source', async () => {
    serveEcs(ecsMock, world());
    for (const where of [
      { region: 'eu-west-1', account: ACCOUNT },
      { region: REGION, account: '210987654321' },
    ]) {
      const event = relocatedFixture(
        'secretsmanager/eventbridge-SecretLabelUpdated-native.awsdocs.json',
        { region: 'us-west-2', account: '012345678901' },
        where,
      );
      const restricted = deps({ config: loadConfig({ RESTRICT_EVENT_SOURCES: 'true' }) });
      expect(await processEvent(event, restricted)).toMatchObject({
        outcome: 'ignored',
        code: 'foreign-source',
      });
    }
    expect(ecsMock).not.toHaveReceivedAnyCommand();
  });

  it('resolves a secret named only by the caller before matching (PutSecretValue by name)', async () => {
    serveEcs(ecsMock, world());
    smMock.on(DescribeSecretCommand).resolves({
      ARN: `${SM}:mySecret-a1b2c3`,
      Name: 'mySecret',
      VersionIdsToStages: { '4d383ea9-084a-49c9-8722-cbfb0f25c456': ['AWSCURRENT'] },
    });
    const event = relocatedFixture(
      'secretsmanager/eventbridge-PutSecretValue.external-secrets-reloader-2024.json',
      { region: 'eu-west-1', account: '123456789012' },
      HERE,
    );
    const detail = detailOf(event);
    detail.requestParameters = {
      secretId: 'mySecret',
      clientRequestToken: '4d383ea9-084a-49c9-8722-cbfb0f25c456',
    };
    detail.responseElements = null;

    const report = handled(await processEvent(event, deps()));

    expect(smMock).toHaveReceivedCommandExactlyOnceWith(DescribeSecretCommand, {
      SecretId: 'mySecret',
    });
    expect(report.redeployed).toEqual([
      serviceArn('prod', 'billing'),
      serviceArn('prod', 'orders'),
      serviceArn('staging', 'passthrough'),
    ]);
  });

  it('lets an error describing the secret propagate, before touching any service', async () => {
    serveEcs(ecsMock, world());
    smMock.on(DescribeSecretCommand).rejects(awsError('AccessDeniedException', 'denied'));
    const event = labelUpdated();
    event.resources = [];

    await expect(processEvent(event, deps())).rejects.toThrow('denied');
    expect(ecsMock).not.toHaveReceivedAnyCommand();
  });

  it('reports the services that still reference a deleted secret, and redeploys none', async () => {
    serveEcs(ecsMock, world());
    const event = relocatedFixture(
      'secretsmanager/cloudtrail-record-DeleteSecret.awsdocs-2022.wrapped-in-eventbridge.json',
      { region: 'us-east-2', account: '123456789012' },
      HERE,
    );
    const text = JSON.stringify(event).replaceAll('MyDatabaseSecret', 'mySecret');

    const report = handled(await processEvent(JSON.parse(text), deps()));

    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
    expect(report.redeployed).toEqual([]);
    expect(report.stillReferenced.map((s) => s.service)).toEqual([
      serviceArn('prod', 'billing'),
      serviceArn('prod', 'orders'),
      serviceArn('prod', 'pinned'),
      serviceArn('staging', 'passthrough'),
    ]);
  });

  it('reports a CODE_DEPLOY service as needing action instead of updating it', async () => {
    const w = world();
    w.clusters.prod = [
      service({
        cluster: 'prod',
        name: 'orders',
        taskDefinition: td.orders,
        controller: 'CODE_DEPLOY',
      }),
    ];
    w.clusters.staging = [];
    serveEcs(ecsMock, w);

    const report = handled(await processEvent(labelUpdated(), deps()));

    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
    expect(report.needsAction).toEqual([
      {
        service: serviceArn('prod', 'orders'),
        reason: expect.stringContaining('CODE_DEPLOY') as string,
      },
    ]);
  });

  it('skips a DRAINING service', async () => {
    const w = world();
    w.clusters.prod = [
      service({ cluster: 'prod', name: 'orders', taskDefinition: td.orders, status: 'DRAINING' }),
    ];
    serveEcs(ecsMock, w);

    const report = handled(await processEvent(labelUpdated(), deps()));

    expect(ecsMock).not.toHaveReceivedCommandWith(UpdateServiceCommand, {
      service: serviceArn('prod', 'orders'),
    });
    expect(report.skipped).toEqual([
      { service: serviceArn('prod', 'orders'), reason: 'service is DRAINING', code: 'inactive' },
    ]);
  });

  // Regression (SECRET_NAME once rejected `!`): the RDS-managed master user secret
  // is the most common secret a service reads, and it rotates every 7 days by default.
  it('forces a new deployment of services that use an RDS-managed master user secret', async () => {
    const rdsName = 'rds!db-c930822c-d881-46ea-99ac-7131ca8dc57a';
    const w = world();
    const tdArn = taskDefinitionArn('reporting', 1);
    w.clusters.prod = [service({ cluster: 'prod', name: 'reporting', taskDefinition: tdArn })];
    w.clusters.staging = [];
    serveEcs(ecsMock, {
      clusters: w.clusters,
      taskDefinitions: [
        taskDefinition(tdArn, { PGPASSWORD: `${SM}:${rdsName}-jWJfpp:password::` }),
      ],
    });
    const event = labelUpdated();
    event.resources = [`${SM}:${rdsName}-jWJfpp`];
    detailOf(event).name = rdsName;

    const report = await processEvent(event, deps());

    expect(report).toMatchObject({
      outcome: 'handled',
      redeployed: [serviceArn('prod', 'reporting')],
    });
    expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, update('prod', 'reporting'));
  });
});

describe('processEvent on a parameter change', () => {
  it('forces a new deployment of the services that reference the parameter by name or ARN', async () => {
    serveEcs(ecsMock, world());

    const report = handled(await processEvent(parameterEvent('update'), deps()));

    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 2);
    expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, update('prod', 'web'));
    expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, update('staging', 'registry'));
    expect(report.redeployed).toEqual([
      serviceArn('prod', 'web'),
      serviceArn('staging', 'registry'),
    ]);
  });

  it('reports the services that still reference a deleted parameter, and redeploys none', async () => {
    serveEcs(ecsMock, world());

    const report = handled(await processEvent(parameterEvent('delete'), deps()));

    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
    expect(report.stillReferenced.map((s) => s.service)).toEqual([
      serviceArn('prod', 'web'),
      serviceArn('staging', 'registry'),
    ]);
  });

  it('redeploys nothing when the parameter of the same name changes in another Region', async () => {
    serveEcs(ecsMock, world());

    const report = handled(
      await processEvent(
        loadFixture('ssm/parameter-store-change-update.awsdocs.json'),
        deps({ config: loadConfig({ SOURCE_REGIONS: 'us-east-2' }) }),
      ),
    );

    expect(report.redeployed).toEqual([]);
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  it('ignores a parameter outside the configured name prefixes, without calling ECS', async () => {
    serveEcs(ecsMock, world());

    const report = await processEvent(
      parameterEvent('update'),
      deps({ config: loadConfig({ PARAMETER_NAME_PREFIXES: '/prod/' }) }),
    );

    expect(report).toMatchObject({ outcome: 'ignored', event: { source: 'aws.ssm' } });
    expect(ecsMock).not.toHaveReceivedAnyCommand();
  });

  it('ignores a secret outside the configured name prefixes, without calling ECS', async () => {
    serveEcs(ecsMock, world());

    const report = await processEvent(
      labelUpdated(),
      deps({ config: loadConfig({ SECRET_NAME_PREFIXES: 'prod/' }) }),
    );

    expect(report.outcome).toBe('ignored');
    expect(ecsMock).not.toHaveReceivedAnyCommand();
  });
});

describe('processEvent: dry run, caching, failures and retries', () => {
  it('makes no UpdateService call in dry run, and reports what it would redeploy', async () => {
    serveEcs(ecsMock, world());

    const report = handled(
      await processEvent(labelUpdated(), deps({ config: loadConfig({ DRY_RUN: 'true' }) })),
    );

    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
    expect(report.dryRun).toBe(true);
    expect(report.redeployed).toEqual([
      serviceArn('prod', 'billing'),
      serviceArn('prod', 'orders'),
      serviceArn('staging', 'passthrough'),
    ]);
  });

  it('describes each task definition revision once across invocations', async () => {
    serveEcs(ecsMock, world());
    const shared = deps({ taskDefinitions: new TaskDefinitionReader() });

    await processEvent(labelUpdated(), shared);
    await processEvent(parameterEvent('update'), shared);

    expect(ecsMock).toHaveReceivedCommandTimes(
      DescribeTaskDefinitionCommand,
      Object.keys(td).length,
    );
    for (const arn of Object.values(td)) {
      expect(describedTimes(arn)).toBe(1);
    }
  });

  it('describes a task definition shared by several services once', async () => {
    const w = world();
    w.clusters.prod = ['a', 'b', 'c', 'd'].map((name) =>
      service({ cluster: 'prod', name, taskDefinition: td.orders }),
    );
    serveEcs(ecsMock, w);

    const report = handled(await processEvent(labelUpdated(), deps()));

    expect(describedTimes(td.orders)).toBe(1);
    expect(report.redeployed).toHaveLength(5);
  });

  it('still redeploys the other services when one UpdateService fails, and reports it', async () => {
    serveEcs(ecsMock, world());
    ecsMock
      .on(UpdateServiceCommand, { service: serviceArn('prod', 'billing') })
      .rejects(awsError('ThrottlingException', 'Rate exceeded'));

    const report = handled(await processEvent(labelUpdated(), deps()));

    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 3);
    expect(report.redeployed).toEqual([
      serviceArn('prod', 'orders'),
      serviceArn('staging', 'passthrough'),
    ]);
    expect(report.failed).toEqual([
      { target: serviceArn('prod', 'billing'), error: 'ThrottlingException: Rate exceeded' },
    ]);
  });

  it('does not redeploy again when the same event is delivered after the redeploy', async () => {
    const w = world();
    serveEcs(ecsMock, w);
    const event = labelUpdated();
    const shared = deps();

    const first = handled(await processEvent(event, shared));
    expect(first.redeployed).toHaveLength(3);
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 3);

    // ECS now shows the deployments the first delivery started, a few seconds after the event.
    const deployedAt = new Date(new Date('2024-02-06T16:43:48Z').getTime() + 4_000);
    for (const [cluster, services] of Object.entries(w.clusters)) {
      w.clusters[cluster] = services.map((s) =>
        service({
          cluster,
          name: s.serviceName ?? '',
          taskDefinition: s.taskDefinition ?? '',
          deployedAt,
        }),
      );
    }
    const second = handled(await processEvent(structuredClone(event), shared));

    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 3);
    expect(second.redeployed).toEqual([]);
    expect(second.skipped.map((s) => s.service)).toEqual(first.redeployed);
  });

  it('does not redeploy twice when a duplicate arrives before ECS lists the new deployment', async () => {
    // DescribeServices is eventually consistent right after UpdateService, and some
    // AWS-compatible APIs never record the deployment: the world below never changes.
    serveEcs(ecsMock, world());
    const warm = deps({ recentDeployments: new RecentDeployments() });

    const first = handled(await processEvent(labelUpdated(), warm));
    const second = handled(await processEvent(labelUpdated(), warm));

    expect(first.redeployed).toHaveLength(3);
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 3);
    expect(second.redeployed).toEqual([]);
    expect(second.skipped.map((s) => s.service)).toEqual(first.redeployed);
  });

  it('relies on ECS alone in a new execution environment', async () => {
    serveEcs(ecsMock, world());

    handled(
      await processEvent(labelUpdated(), deps({ recentDeployments: new RecentDeployments() })),
    );
    const cold = handled(
      await processEvent(labelUpdated(), deps({ recentDeployments: new RecentDeployments() })),
    );

    // ECS still shows only the old deployments, so the new environment redeploys again.
    expect(cold.redeployed).toHaveLength(3);
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 6);
  });

  it('still redeploys for a later change after its own earlier redeploy', async () => {
    serveEcs(ecsMock, world());
    const warm = deps({ recentDeployments: new RecentDeployments() });
    handled(await processEvent(labelUpdated(), warm));

    const later = labelUpdated();
    later.time = new Date(Date.now() + 5_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const report = handled(await processEvent(later, warm));

    expect(report.redeployed).toHaveLength(3);
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 6);
  });

  it('reports a task definition it cannot read for a service it cannot rule out', async () => {
    const w = world();
    w.clusters.prod = [
      service({ cluster: 'prod', name: 'orders', taskDefinition: td.orders }),
      service({ cluster: 'prod', name: 'mystery', taskDefinition: taskDefinitionArn('gone', 1) }),
    ];
    w.clusters.staging = [];
    serveEcs(ecsMock, w);

    const report = handled(await processEvent(labelUpdated(), deps()));

    expect(report.redeployed).toEqual([serviceArn('prod', 'orders')]);
    expect(report.failed).toEqual([
      {
        target: serviceArn('prod', 'mystery'),
        error: expect.stringContaining(taskDefinitionArn('gone', 1)) as string,
      },
    ]);
  });

  it('reports a cluster it cannot list and still redeploys in the others', async () => {
    serveEcs(ecsMock, world());
    ecsMock
      .on(ListServicesCommand, { cluster: 'prod' })
      .rejects(awsError('AccessDeniedException', 'not authorized to perform: ecs:ListServices'));

    const report = handled(
      await processEvent(
        labelUpdated(),
        deps({ config: loadConfig({ CLUSTERS: 'prod staging' }) }),
      ),
    );

    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
    expect(report.redeployed).toEqual([serviceArn('staging', 'passthrough')]);
    expect(report.failed).toEqual([
      {
        target: 'prod',
        error: 'AccessDeniedException: not authorized to perform: ecs:ListServices',
      },
    ]);
    expect(report.clustersScanned).toBe(2);
  });
});

describe('processEvent on input it cannot use', () => {
  it.each([
    ['null', null],
    ['a string', 'Parameter Store Change'],
    [
      'an event without detail',
      { ...loadFixture('ssm/parameter-store-change-update.awsdocs.json'), detail: undefined },
    ],
  ])('ignores %s without any AWS call', async (_case, event) => {
    serveEcs(ecsMock, world());

    const report = await processEvent(event, deps());

    expect(report).toEqual({
      outcome: 'ignored',
      code: 'malformed',
      reason: expect.any(String) as string,
    });
    expect(ecsMock).not.toHaveReceivedAnyCommand();
    expect(smMock).not.toHaveReceivedAnyCommand();
  });

  it.each([
    ['an unknown event type', () => ({ ...parameterEvent('update'), source: 'aws.ec2' })],
    [
      'a failed Create',
      () => loadFixture('ssm/parameter-store-change-create-failed-exception.awsdocs.json'),
    ],
    [
      'a rotation createSecret step',
      () =>
        loadFixture('secretsmanager/cloudtrail-PutSecretValue-AWSPENDING.from-api-reference.json'),
    ],
    [
      'RotationFailed',
      () =>
        loadFixture(
          'secretsmanager/cloudtrail-record-RotationFailed.awsdocs-2023.wrapped-in-eventbridge.json',
        ),
    ],
  ])('ignores %s without any AWS call and says which event it was', async (_case, event) => {
    serveEcs(ecsMock, world());

    const report = await processEvent(event(), deps());

    expect(report).toMatchObject({
      outcome: 'ignored',
      event: { id: expect.any(String) as string },
    });
    expect(ecsMock).not.toHaveReceivedAnyCommand();
    expect(smMock).not.toHaveReceivedAnyCommand();
  });
});
