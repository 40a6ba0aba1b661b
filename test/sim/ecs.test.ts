import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListClustersCommand,
  ListServicesCommand,
  paginateListServices,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { SimulatedAws } from './index.js';

function world(services = 25): { sim: SimulatedAws; ecs: ECSClient; td: string } {
  const sim = new SimulatedAws();
  const td = sim.addTaskDefinition({
    family: 'web',
    containerDefinitions: [
      {
        name: 'app',
        secrets: [
          {
            name: 'DB',
            valueFrom: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf',
          },
        ],
      },
    ],
  });
  for (let i = 0; i < services; i += 1) {
    sim.addService({
      cluster: 'prod',
      name: `svc-${String(i).padStart(2, '0')}`,
      taskDefinition: td,
      tags: { team: 'a' },
    });
  }
  return { sim, ecs: sim.client(ECSClient), td };
}

describe('ECS API', () => {
  it('pages ListServices 10 at a time by default and honours maxResults', async () => {
    const { ecs } = world(25);
    const first = await ecs.send(new ListServicesCommand({ cluster: 'prod' }));
    expect(first.serviceArns).toHaveLength(10);
    expect(first.nextToken).toBeDefined();

    const all: string[] = [];
    for await (const page of paginateListServices(
      { client: ecs, pageSize: 7 },
      { cluster: 'prod' },
    )) {
      all.push(...(page.serviceArns ?? []));
    }
    expect(all).toHaveLength(25);
    expect(new Set(all).size).toBe(25);
    expect(all[0]).toBe('arn:aws:ecs:us-east-1:123456789012:service/prod/svc-00');
  });

  it('rejects maxResults outside 1-100 and unknown clusters as ECS does', async () => {
    const { ecs } = world(1);
    await expect(
      ecs.send(new ListServicesCommand({ cluster: 'prod', maxResults: 101 })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
    await expect(ecs.send(new ListServicesCommand({ cluster: 'nope' }))).rejects.toMatchObject({
      name: 'ClusterNotFoundException',
    });
  });

  it('lists and describes clusters', async () => {
    const { ecs } = world(3);
    const clusters = await ecs.send(new ListClustersCommand({}));
    expect(clusters.clusterArns).toEqual(['arn:aws:ecs:us-east-1:123456789012:cluster/prod']);
    const described = await ecs.send(new DescribeClustersCommand({ clusters: ['prod', 'gone'] }));
    expect(described.clusters?.[0]).toMatchObject({
      clusterName: 'prod',
      activeServicesCount: 3,
      runningTasksCount: 6,
    });
    expect(described.failures).toEqual([
      { arn: 'arn:aws:ecs:us-east-1:123456789012:cluster/gone', reason: 'MISSING' },
    ]);
  });

  it('describes at most 10 services, reports unknown ones as MISSING and returns tags on request', async () => {
    const { ecs, td } = world(12);
    const names = Array.from({ length: 11 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    await expect(
      ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: names })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'service names can have at most 10 items.',
    });

    const answer = await ecs.send(
      new DescribeServicesCommand({
        cluster: 'prod',
        services: ['svc-00', 'ghost'],
        include: ['TAGS'],
      }),
    );
    expect(answer.failures).toEqual([
      { arn: 'arn:aws:ecs:us-east-1:123456789012:service/prod/ghost', reason: 'MISSING' },
    ]);
    const [service] = answer.services ?? [];
    expect(service).toMatchObject({
      serviceName: 'svc-00',
      taskDefinition: td,
      desiredCount: 2,
      runningCount: 2,
      tags: [{ key: 'team', value: 'a' }],
    });
    expect(service?.deployments).toHaveLength(1);
    expect(service?.deployments?.[0]).toMatchObject({
      status: 'PRIMARY',
      rolloutState: 'COMPLETED',
      runningCount: 2,
    });
    expect(service?.deployments?.[0]?.id).toMatch(/^ecs-svc\/\d{19}$/);
    expect(service?.deployments?.[0]?.createdAt).toEqual(new Date('2025-12-31T00:00:00Z'));

    const untagged = await ecs.send(
      new DescribeServicesCommand({ cluster: 'prod', services: ['svc-00'] }),
    );
    expect(untagged.services?.[0]?.tags).toBeUndefined();
  });

  it('describes task definitions by ARN, family:revision and family', async () => {
    const { sim, ecs, td } = world(0);
    const second = sim.addTaskDefinition({
      family: 'web',
      containerDefinitions: [{ name: 'app' }],
      tags: { v: '2' },
    });
    expect(second).toBe('arn:aws:ecs:us-east-1:123456789012:task-definition/web:2');
    const byArn = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: td }));
    expect(byArn.taskDefinition?.containerDefinitions?.[0]?.secrets?.[0]?.name).toBe('DB');
    const byRevision = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: 'web:1' }),
    );
    expect(byRevision.taskDefinition?.taskDefinitionArn).toBe(td);
    const latest = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: 'web', include: ['TAGS'] }),
    );
    expect(latest.taskDefinition?.revision).toBe(2);
    expect(latest.tags).toEqual([{ key: 'v', value: '2' }]);
    await expect(
      ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'nope:1' })),
    ).rejects.toMatchObject({
      name: 'ClientException',
    });
  });

  it('refuses UpdateService on unknown, inactive and CODE_DEPLOY / EXTERNAL services', async () => {
    const { sim, ecs, td } = world(0);
    sim.addService({ cluster: 'prod', name: 'draining', taskDefinition: td, status: 'DRAINING' });
    sim.addService({
      cluster: 'prod',
      name: 'blue-green',
      taskDefinition: td,
      deploymentController: 'CODE_DEPLOY',
    });
    sim.addService({
      cluster: 'prod',
      name: 'external',
      taskDefinition: td,
      deploymentController: 'EXTERNAL',
    });
    const update = (service: string) =>
      ecs.send(new UpdateServiceCommand({ cluster: 'prod', service, forceNewDeployment: true }));
    await expect(update('ghost')).rejects.toMatchObject({ name: 'ServiceNotFoundException' });
    await expect(update('draining')).rejects.toMatchObject({ name: 'ServiceNotActiveException' });
    await expect(update('blue-green')).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(update('external')).rejects.toMatchObject({ name: 'InvalidParameterException' });
    expect(sim.count('ecs.UpdateService')).toBe(4);
    expect(sim.count('ecs.UpdateService', 'ok')).toBe(0);

    const described = await ecs.send(
      new DescribeServicesCommand({ cluster: 'prod', services: ['blue-green'] }),
    );
    expect(described.services?.[0]?.deployments).toEqual([]);
    expect(described.services?.[0]?.taskSets).toHaveLength(1);
  });

  it('describes 2,000 services quickly', async () => {
    const big = new SimulatedAws();
    const td = big.addTaskDefinition({ family: 'f', containerDefinitions: [{ name: 'app' }] });
    for (let i = 0; i < 2000; i += 1)
      big.addService({ cluster: 'c', name: `s${String(i)}`, taskDefinition: td });
    const client = big.client(ECSClient);
    const started = performance.now();
    let described = 0;
    for await (const page of paginateListServices({ client, pageSize: 100 }, { cluster: 'c' })) {
      const arns = page.serviceArns ?? [];
      for (let i = 0; i < arns.length; i += 10) {
        const answer = await client.send(
          new DescribeServicesCommand({ cluster: 'c', services: arns.slice(i, i + 10) }),
        );
        described += answer.services?.length ?? 0;
      }
    }
    expect(described).toBe(2000);
    expect(performance.now() - started).toBeLessThan(3000);
  });
});
