import {
  DescribeServicesCommand,
  type DescribeServicesCommandInput,
  ECSClient,
  ListClustersCommand,
  ListServicesCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ServiceDirectory,
  type ServiceSummary,
  discoverServices,
  summarise,
} from '../../../functions/redeploy/discovery.js';
import { awsError } from '../../helpers/aws-errors.js';
import { clusterArn, service, serviceArn, taskDefinitionArn } from '../../helpers/ecs.js';
import { loadFixture } from '../../helpers/fixtures.js';

const ecsMock = mockClient(ECSClient);
const ecs = new ECSClient({ region: 'us-east-1' });

beforeEach(() => {
  ecsMock.reset();
});

/** Runs discovery and collects what it visits. */
async function discover(clusters: string[] = []) {
  const visited: ServiceSummary[] = [];
  const stats = { clusters: 0, services: 0 };
  const failures = await discoverServices(
    ecs,
    { clusters },
    (summary) => {
      visited.push(summary);
      return Promise.resolve();
    },
    stats,
  );
  visited.sort((a, b) => a.arn.localeCompare(b.arn));
  return { visited, failures, stats };
}

const names = (n: number, cluster: string): string[] =>
  Array.from({ length: n }, (_, i) => serviceArn(cluster, `svc-${String(i).padStart(3, '0')}`));

/** DescribeServices answers with a plain ECS service for every ARN asked. */
function describeEveryService(): void {
  ecsMock.on(DescribeServicesCommand).callsFake((input: DescribeServicesCommandInput) => ({
    services: (input.services ?? []).map((arn) =>
      service({
        cluster: input.cluster?.split('/').pop() ?? 'default',
        name: arn.split('/').pop() ?? arn,
        taskDefinition: taskDefinitionArn('app', 1),
      }),
    ),
    failures: [],
  }));
}

describe('discoverServices', () => {
  it('lists every cluster across ListClusters pages when none is configured', async () => {
    ecsMock
      .on(ListClustersCommand)
      .resolvesOnce({ clusterArns: [clusterArn('a'), clusterArn('b')], nextToken: 'page-2' })
      .resolvesOnce({ clusterArns: [clusterArn('c')] });
    ecsMock.on(ListServicesCommand).callsFake((input: { cluster: string }) => ({
      serviceArns: [serviceArn(input.cluster.split('/').pop() ?? '', 'web')],
    }));
    describeEveryService();

    const { visited, failures, stats } = await discover();

    expect(failures).toEqual([]);
    expect(ecsMock).toHaveReceivedCommandTimes(ListClustersCommand, 2);
    expect(ecsMock).toHaveReceivedNthCommandWith(ListClustersCommand, 2, { nextToken: 'page-2' });
    expect(visited.map((s) => s.arn)).toEqual([
      serviceArn('a', 'web'),
      serviceArn('b', 'web'),
      serviceArn('c', 'web'),
    ]);
    expect(stats).toEqual({ clusters: 3, services: 3 });
  });

  it('lists only the configured clusters', async () => {
    ecsMock.on(ListServicesCommand).resolves({ serviceArns: [] });

    const { stats } = await discover(['prod']);

    expect(ecsMock).not.toHaveReceivedCommand(ListClustersCommand);
    expect(ecsMock).toHaveReceivedCommandExactlyOnceWith(ListServicesCommand, {
      cluster: 'prod',
    });
    expect(stats.clusters).toBe(1);
  });

  it('follows ListServices pages and describes at most 10 services at a time', async () => {
    const all = names(235, 'prod');
    ecsMock
      .on(ListServicesCommand)
      .resolvesOnce({ serviceArns: all.slice(0, 100), nextToken: 't1' })
      .resolvesOnce({ serviceArns: all.slice(100, 200), nextToken: 't2' })
      .resolvesOnce({ serviceArns: all.slice(200) });
    describeEveryService();

    const { visited, failures, stats } = await discover(['prod']);

    expect(failures).toEqual([]);
    expect(ecsMock).toHaveReceivedCommandTimes(ListServicesCommand, 3);
    expect(ecsMock).toHaveReceivedNthCommandWith(ListServicesCommand, 3, {
      cluster: 'prod',
      nextToken: 't2',
    });
    const batches = ecsMock
      .commandCalls(DescribeServicesCommand)
      .map((call) => call.args[0].input.services ?? []);
    expect(batches).toHaveLength(24);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(10);
    expect(batches.flat().sort()).toEqual([...all].sort());
    expect(visited).toHaveLength(235);
    expect(stats.services).toBe(235);
  });

  it('ignores services deleted between listing and describing (MISSING)', async () => {
    ecsMock
      .on(ListServicesCommand)
      .resolves({ serviceArns: [serviceArn('prod', 'web'), serviceArn('prod', 'gone')] });
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [
        service({ cluster: 'prod', name: 'web', taskDefinition: taskDefinitionArn('web', 3) }),
      ],
      failures: [{ arn: serviceArn('prod', 'gone'), reason: 'MISSING' }],
    });

    const { visited, failures } = await discover(['prod']);

    expect(failures).toEqual([]);
    expect(visited.map((s) => s.name)).toEqual(['web']);
  });

  it('reports other DescribeServices failures', async () => {
    ecsMock.on(ListServicesCommand).resolves({ serviceArns: [serviceArn('prod', 'odd')] });
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [],
      failures: [{ arn: serviceArn('prod', 'odd'), reason: 'INTERNAL_ERROR' }],
    });

    const { failures } = await discover(['prod']);

    expect(failures).toEqual([
      { target: serviceArn('prod', 'odd'), error: 'DescribeServices: INTERNAL_ERROR' },
    ]);
  });

  it('reports a cluster it may not read and still handles the others', async () => {
    ecsMock
      .on(ListServicesCommand, { cluster: 'secret-cluster' })
      .rejects(awsError('AccessDeniedException', 'not authorized to perform ecs:ListServices'));
    ecsMock.on(ListServicesCommand, { cluster: 'prod' }).resolves({
      serviceArns: [serviceArn('prod', 'web')],
    });
    ecsMock.on(ListServicesCommand, { cluster: 'staging' }).resolves({
      serviceArns: [serviceArn('staging', 'web')],
    });
    describeEveryService();

    const { visited, failures } = await discover(['prod', 'secret-cluster', 'staging']);

    expect(failures).toEqual([
      {
        target: 'secret-cluster',
        error: 'AccessDeniedException: not authorized to perform ecs:ListServices',
      },
    ]);
    expect(visited.map((s) => s.arn)).toEqual([
      serviceArn('prod', 'web'),
      serviceArn('staging', 'web'),
    ]);
  });

  it('reports a failed DescribeServices batch and still handles the other batches', async () => {
    const all = names(20, 'prod');
    ecsMock.on(ListServicesCommand).resolves({ serviceArns: all });
    describeEveryService();
    ecsMock
      .on(DescribeServicesCommand, { services: all.slice(0, 10) })
      .rejects(awsError('ThrottlingException', 'Rate exceeded'));

    const { visited, failures } = await discover(['prod']);

    expect(failures).toEqual([
      { target: 'prod (10 services)', error: 'ThrottlingException: Rate exceeded' },
    ]);
    expect(visited.map((s) => s.arn)).toEqual(all.slice(10));
  });

  it('reports a failed ListClusters and lists nothing else', async () => {
    ecsMock.on(ListClustersCommand).rejects(awsError('AccessDeniedException', 'denied'));

    const { failures, visited } = await discover();

    expect(failures).toEqual([{ target: 'ListClusters', error: 'AccessDeniedException: denied' }]);
    expect(visited).toEqual([]);
    expect(ecsMock).not.toHaveReceivedCommand(ListServicesCommand);
  });

  it('waits for every visit before resolving', async () => {
    ecsMock.on(ListServicesCommand).resolves({ serviceArns: names(3, 'prod') });
    describeEveryService();
    let finished = 0;

    await discoverServices(ecs, { clusters: ['prod'] }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      finished += 1;
    });

    expect(finished).toBe(3);
  });
});

describe('summarise', () => {
  const base: Service = {
    serviceArn: serviceArn('prod', 'web'),
    serviceName: 'web',
    clusterArn: clusterArn('prod'),
    status: 'ACTIVE',
    deploymentController: { type: 'ECS' },
    taskDefinition: taskDefinitionArn('web', 9),
  };

  it('summarises the botocore DescribeServices example', () => {
    const example = loadFixture('ecs/api-DescribeServices-example.botocore.json') as {
      output: {
        services: (Omit<Service, 'deployments'> & { deployments: { createdAt: string }[] })[];
      };
    };
    const [raw] = example.output.services;
    // The example's dates are strings; the SDK hands out Date objects.
    const described = {
      ...raw,
      deployments: raw?.deployments.map((d) => ({ ...d, createdAt: new Date(d.createdAt) })),
    } as Service;
    expect(summarise(described)).toEqual({
      arn: 'arn:aws:ecs:us-east-1:012345678910:service/ecs-simple-service',
      name: 'ecs-simple-service',
      clusterArn: 'arn:aws:ecs:us-east-1:012345678910:cluster/default',
      status: 'ACTIVE',
      controller: 'ECS',
      taskDefinitions: ['arn:aws:ecs:us-east-1:012345678910:task-definition/hello_world:6'],
      newestDeploymentAt: new Date('2016-08-29T16:25:52.130Z'),
      forcedRollout: false,
      tags: {},
      deployments: [
        {
          id: 'ecs-svc/9223370564341623665',
          status: 'PRIMARY',
          createdAt: new Date('2016-08-29T16:25:52.130Z'),
          // updatedAt stays a string in the example: only real dates are kept.
          taskDefinition: 'arn:aws:ecs:us-east-1:012345678910:task-definition/hello_world:6',
          desiredCount: 1,
          runningCount: 0,
        },
      ],
    });
  });

  it('recognises a forced redeploy rolling out: two current deployments of one revision', () => {
    const td = taskDefinitionArn('app', 3);
    const base = service({ cluster: 'prod', name: 'api', taskDefinition: td });
    const rolling = (other: string): Service => ({
      ...base,
      deployments: [
        { status: 'PRIMARY', taskDefinition: td, createdAt: new Date() },
        { status: 'ACTIVE', taskDefinition: other, createdAt: new Date(0) },
      ],
    });
    expect(summarise(rolling(td))?.forcedRollout).toBe(true);
    // A release of a new revision is somebody else's deployment, not a forced redeploy.
    expect(summarise(rolling(taskDefinitionArn('app', 2)))?.forcedRollout).toBe(false);
    expect(summarise(base)?.forcedRollout).toBe(false);
  });

  it('reads the service tags', () => {
    const described: Service = {
      ...service({ cluster: 'prod', name: 'api', taskDefinition: taskDefinitionArn('app', 1) }),
      tags: [{ key: 'secret-redeployer:exclude', value: 'true' }, { key: 'team' }],
    };
    expect(summarise(described)?.tags).toEqual({ 'secret-redeployer:exclude': 'true', team: '' });
  });

  it('collects the task definitions of PRIMARY and ACTIVE deployments, not INACTIVE ones', () => {
    const summary = summarise({
      ...base,
      deployments: [
        {
          status: 'PRIMARY',
          taskDefinition: taskDefinitionArn('web', 9),
          createdAt: new Date('2025-03-02T00:00:00Z'),
        },
        {
          status: 'ACTIVE',
          taskDefinition: taskDefinitionArn('web', 8),
          createdAt: new Date('2025-03-01T00:00:00Z'),
        },
        {
          status: 'INACTIVE',
          taskDefinition: taskDefinitionArn('web', 7),
          createdAt: new Date('2025-03-03T00:00:00Z'),
        },
      ],
    });
    expect(summary?.taskDefinitions).toEqual([
      taskDefinitionArn('web', 9),
      taskDefinitionArn('web', 8),
    ]);
    expect(summary?.newestDeploymentAt).toEqual(new Date('2025-03-02T00:00:00Z'));
  });

  it('collects the task definitions of the task sets of an EXTERNAL service', () => {
    const summary = summarise({
      ...base,
      taskDefinition: undefined,
      deploymentController: { type: 'EXTERNAL' },
      deployments: [],
      taskSets: [
        {
          status: 'PRIMARY',
          taskDefinition: taskDefinitionArn('web', 4),
          createdAt: new Date('2025-03-01T00:00:00Z'),
        },
        {
          status: 'ACTIVE',
          taskDefinition: taskDefinitionArn('web', 5),
          createdAt: new Date('2025-03-05T00:00:00Z'),
        },
        {
          status: 'DRAINING',
          taskDefinition: taskDefinitionArn('web', 3),
          createdAt: new Date('2025-03-06T00:00:00Z'),
        },
      ],
    });
    expect(summary).toMatchObject({
      controller: 'EXTERNAL',
      taskDefinitions: [taskDefinitionArn('web', 4), taskDefinitionArn('web', 5)],
      newestDeploymentAt: new Date('2025-03-05T00:00:00Z'),
    });
  });

  it('falls back to the service task definition when no deployment is listed', () => {
    expect(summarise({ ...base, deployments: [] })).toMatchObject({
      taskDefinitions: [taskDefinitionArn('web', 9)],
    });
    expect(summarise({ ...base, deployments: [] })).not.toHaveProperty('newestDeploymentAt');
  });

  it('defaults to an ACTIVE service with the ECS controller and derives the name', () => {
    expect(
      summarise({
        serviceArn: serviceArn('prod', 'api'),
        clusterArn: clusterArn('prod'),
        taskDefinition: taskDefinitionArn('api', 1),
      }),
    ).toMatchObject({ name: 'api', status: 'ACTIVE', controller: 'ECS' });
  });

  it('skips a service without an ARN or cluster ARN', () => {
    expect(summarise({ ...base, serviceArn: undefined })).toBeUndefined();
    expect(summarise({ ...base, clusterArn: undefined })).toBeUndefined();
  });
});

describe('ServiceDirectory (warm environments)', () => {
  const names = (n: number) =>
    Array.from({ length: n }, (_, i) => `svc-${String(i).padStart(2, '0')}`);

  function serve(listed: string[], log: string[]) {
    ecsMock.on(ListServicesCommand).callsFake(async () => {
      log.push('list:start');
      await new Promise((resolve) => setTimeout(resolve, 20));
      log.push('list:end');
      return { serviceArns: listed.map((name) => serviceArn('prod', name)) };
    });
    ecsMock.on(DescribeServicesCommand).callsFake((input: DescribeServicesCommandInput) => {
      log.push(`describe:${String(input.services?.length)}`);
      return {
        services: (input.services ?? []).map((arn) =>
          service({
            cluster: 'prod',
            name: arn.split('/').pop() ?? '',
            taskDefinition: taskDefinitionArn('app', 1),
          }),
        ),
      };
    });
  }

  async function run(directory: ServiceDirectory) {
    const visited: string[] = [];
    await discoverServices(ecs, { clusters: ['prod'], directory }, (summary) => {
      visited.push(summary.arn);
      return Promise.resolve();
    });
    return visited.sort();
  }

  it("describes last time's services while listing again, and only new ones afterwards", async () => {
    const directory = new ServiceDirectory();
    const first: string[] = [];
    serve(names(12), first);
    expect(await run(directory)).toHaveLength(12);
    expect(first).toEqual(['list:start', 'list:end', 'describe:10', 'describe:2']);

    ecsMock.reset();
    const second: string[] = [];
    serve(names(13), second);
    const visited = await run(directory);

    expect(visited).toEqual(
      names(13)
        .map((name) => serviceArn('prod', name))
        .sort(),
    );
    // The known services were requested before the listing finished; the new one after it.
    expect(second.indexOf('describe:10')).toBeLessThan(second.indexOf('list:end'));
    expect(second.slice(second.indexOf('list:end'))).toEqual(['list:end', 'describe:1']);
    expect(second.filter((entry) => entry.startsWith('describe'))).toHaveLength(3);
  });

  it('still reports services deleted since last time only through their description', async () => {
    const directory = new ServiceDirectory();
    serve(names(3), []);
    await run(directory);
    ecsMock.reset();
    serve(names(2), []);
    // The fake describes whatever it is asked; ECS answers MISSING or INACTIVE for a deleted
    // service, which the redeployer skips. Listing is still the source of truth for the next run.
    await run(directory);
    expect(directory.known('prod')).toEqual(names(2).map((name) => serviceArn('prod', name)));
  });
});
