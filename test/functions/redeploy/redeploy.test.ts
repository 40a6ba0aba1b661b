import {
  DescribeServicesCommand,
  ECSClient,
  ServiceNotActiveException,
  ServiceNotFoundException,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Change } from '../../../functions/redeploy/change.js';
import type { ServiceSummary } from '../../../functions/redeploy/discovery.js';
import { decide, forceNewDeployment, freshness } from '../../../functions/redeploy/redeploy.js';
import { awsError } from '../../helpers/aws-errors.js';
import { HOME, clusterArn, serviceArn, taskDefinitionArn } from '../../helpers/ecs.js';

const ecsMock = mockClient(ECSClient);
const ecs = new ECSClient({ region: 'us-east-1' });

beforeEach(() => {
  ecsMock.reset();
});

const EVENT_TIME = new Date('2025-03-14T09:26:53Z');

const change = (overrides: Partial<Change> = {}): Change =>
  ({
    kind: 'secret',
    eventId: 'evt-1',
    time: EVENT_TIME,
    trigger: 'Secret Label Updated (AWSCURRENT)',
    action: 'redeploy',
    secret: { ...HOME, name: 'prod/orders/db', suffix: 'Xy12Ab' },
    stages: ['AWSCURRENT', 'AWSPREVIOUS'],
    ...overrides,
  }) as Change;

const summary = (overrides: Partial<ServiceSummary> = {}): ServiceSummary => ({
  arn: serviceArn('prod', 'orders'),
  name: 'orders',
  clusterArn: clusterArn('prod'),
  status: 'ACTIVE',
  controller: 'ECS',
  taskDefinitions: [taskDefinitionArn('orders', 12)],
  newestDeploymentAt: new Date('2025-03-01T00:00:00Z'),
  forcedRollout: false,
  tags: {},
  ...overrides,
});

describe('decide', () => {
  it('redeploys an active ECS-controlled service deployed before the change', () => {
    expect(decide(summary(), change())).toEqual({ kind: 'redeploy' });
  });

  it('redeploys a service with no known deployment time', () => {
    expect(decide(summary({ newestDeploymentAt: undefined }), change())).toEqual({
      kind: 'redeploy',
    });
  });

  it.each(['DRAINING', 'INACTIVE'])('skips a %s service', (status) => {
    expect(decide(summary({ status }), change())).toEqual({
      kind: 'skip',
      code: 'inactive',
      reason: `service is ${status}`,
    });
    expect(decide(summary({ status }), change({ action: 'warn' })).kind).toBe('skip');
  });

  it('reports a CODE_DEPLOY service as needing a CodeDeploy deployment', () => {
    expect(decide(summary({ controller: 'CODE_DEPLOY' }), change())).toEqual({
      kind: 'needs-action',
      code: 'code-deploy',
      reason: expect.stringContaining('CodeDeploy') as string,
    });
  });

  it('reports an EXTERNAL service as needing a new task set', () => {
    expect(decide(summary({ controller: 'EXTERNAL' }), change())).toEqual({
      kind: 'needs-action',
      code: 'external',
      reason: expect.stringContaining('task set') as string,
    });
  });

  it('gives the exact CodeDeploy command: same task definition, container and port, where to find the group', () => {
    const taskDefinition = taskDefinitionArn('orders', 14);
    const decision = decide(
      summary({
        controller: 'CODE_DEPLOY',
        primaryTaskSet: { externalId: 'd-8XKPLE9SF', taskDefinition },
        loadBalancer: { containerName: 'web', containerPort: 8080 },
      }),
      change(),
    );
    const reason = decision.kind === 'needs-action' ? decision.reason : '';
    const revision = /--revision '([^']+)'/.exec(reason)?.[1] ?? '{}';
    const parsed = JSON.parse(revision) as { appSpecContent: { content: string } };
    expect(JSON.parse(parsed.appSpecContent.content)).toEqual({
      version: 0,
      Resources: [
        {
          TargetService: {
            Type: 'AWS::ECS::Service',
            Properties: {
              TaskDefinition: taskDefinition,
              LoadBalancerInfo: { ContainerName: 'web', ContainerPort: 8080 },
            },
          },
        },
      ],
    });
    expect(reason).toContain('aws deploy create-deployment --application-name APP');
    expect(reason).toContain('aws deploy get-deployment --deployment-id d-8XKPLE9SF');
  });

  it('gives the exact task-set commands for an EXTERNAL service', () => {
    const decision = decide(summary({ controller: 'EXTERNAL' }), change());
    expect(decision.kind === 'needs-action' && decision.reason).toContain(
      `aws ecs create-task-set --cluster prod --service orders --task-definition ${taskDefinitionArn('orders', 12)}`,
    );
    expect(decision.kind === 'needs-action' && decision.reason).toContain(
      'aws ecs update-service-primary-task-set --cluster prod --service orders',
    );
  });

  it('reports a service that still references a deleted secret or parameter, without redeploying', () => {
    for (const controller of ['ECS', 'CODE_DEPLOY', 'EXTERNAL']) {
      expect(decide(summary({ controller }), change({ action: 'warn' }))).toEqual({
        kind: 'still-referenced',
        reason: expect.stringContaining('deleted') as string,
      });
    }
  });

  it('skips a service whose newest deployment was created a second or more after the change', () => {
    for (const deployedAt of ['2025-03-14T09:26:54.000Z', '2025-03-14T09:40:00.000Z']) {
      expect(decide(summary({ newestDeploymentAt: new Date(deployedAt) }), change())).toEqual({
        kind: 'skip',
        code: 'already-deployed',
        reason: `already deployed after the change (deployment created ${deployedAt})`,
      });
    }
  });

  it('redeploys a service deployed within the second of the change (it may predate it)', () => {
    for (const deployedAt of [
      '2025-03-14T09:26:53.000Z',
      '2025-03-14T09:26:53.500Z',
      '2025-03-14T09:26:53.999Z',
    ]) {
      expect(decide(summary({ newestDeploymentAt: new Date(deployedAt) }), change())).toEqual({
        kind: 'redeploy',
      });
    }
  });
});

describe('decide: only a deployment that can deliver the change makes a service fresh', () => {
  const at = (iso: string): Date => new Date(iso);
  const TD1 = taskDefinitionArn('orders', 1);
  const TD2 = taskDefinitionArn('orders', 2);

  // Reproduction (issue 9, case 2): change at 09:26:53; the PRIMARY deployment (revision 2) was
  // created two seconds later and ended FAILED (circuit breaker on, rollback off); the ACTIVE
  // revision-1 deployment still runs 4 tasks with the old value. It used to be skipped.
  it('redeploys a service whose deployment after the change FAILED, while older tasks still run', () => {
    const service = summary({
      newestDeploymentAt: at('2025-03-14T09:26:55Z'),
      deployments: [
        {
          id: 'ecs-svc/2',
          status: 'PRIMARY',
          rolloutState: 'FAILED',
          rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
          createdAt: at('2025-03-14T09:26:55Z'),
          taskDefinition: TD2,
          runningCount: 0,
          desiredCount: 4,
        },
        {
          id: 'ecs-svc/1',
          status: 'ACTIVE',
          rolloutState: 'COMPLETED',
          createdAt: at('2025-03-01T00:00:00Z'),
          taskDefinition: TD1,
          runningCount: 4,
          desiredCount: 4,
        },
      ],
    });
    expect(decide(service, change())).toEqual({ kind: 'redeploy' });
    expect(freshness(service, EVENT_TIME)).toEqual({
      fresh: false,
      reason:
        'deployment ecs-svc/2 created 2025-03-14T09:26:55.000Z FAILED: it does not deliver the change',
    });
  });

  it('counts a deployment after the change that is still in progress as delivering it', () => {
    const service = summary({
      deployments: [
        {
          id: 'ecs-svc/2',
          status: 'PRIMARY',
          rolloutState: 'IN_PROGRESS',
          createdAt: at('2025-03-14T09:27:30Z'),
          runningCount: 1,
        },
        {
          id: 'ecs-svc/1',
          status: 'ACTIVE',
          createdAt: at('2025-03-01T00:00:00Z'),
          runningCount: 3,
        },
      ],
    });
    expect(freshness(service, EVENT_TIME)).toMatchObject({
      fresh: true,
      deployment: { id: 'ecs-svc/2', rolloutState: 'IN_PROGRESS' },
    });
    expect(decide(service, change())).toMatchObject({ kind: 'skip', code: 'already-deployed' });
  });

  it('does not count a COMPLETED deployment beside which tasks of an older one still run', () => {
    const service = summary({
      deployments: [
        {
          id: 'ecs-svc/2',
          status: 'PRIMARY',
          rolloutState: 'COMPLETED',
          createdAt: at('2025-03-14T09:27:30Z'),
          runningCount: 2,
        },
        {
          id: 'ecs-svc/1',
          status: 'ACTIVE',
          createdAt: at('2025-03-01T00:00:00Z'),
          runningCount: 2,
        },
      ],
    });
    expect(freshness(service, EVENT_TIME)).toEqual({
      fresh: false,
      reason:
        '2 task(s) of a deployment older than the change still run beside deployment ecs-svc/2 created 2025-03-14T09:27:30.000Z',
    });
  });

  it('reads the newest deployment, not the order ECS lists them in', () => {
    const service = summary({
      newestDeploymentAt: undefined,
      deployments: [
        {
          id: 'ecs-svc/1',
          status: 'ACTIVE',
          createdAt: at('2025-03-01T00:00:00Z'),
          runningCount: 1,
        },
        {
          id: 'ecs-svc/2',
          status: 'PRIMARY',
          createdAt: at('2025-03-14T09:30:00Z'),
          runningCount: 1,
        },
      ],
    });
    expect(freshness(service, EVENT_TIME)).toMatchObject({
      fresh: true,
      deployment: { id: 'ecs-svc/2' },
    });
  });
});

describe('forceNewDeployment', () => {
  it('sends UpdateService with forceNewDeployment for the service in its cluster', async () => {
    const createdAt = new Date('2025-03-14T09:27:10Z');
    ecsMock.on(UpdateServiceCommand).resolves({
      service: {
        deployments: [
          { status: 'PRIMARY', createdAt },
          { status: 'ACTIVE', createdAt: new Date('2025-03-01T00:00:00Z') },
        ],
      },
    });

    const outcome = await forceNewDeployment(ecs, summary());

    expect(ecsMock).toHaveReceivedCommandExactlyOnceWith(UpdateServiceCommand, {
      cluster: clusterArn('prod'),
      service: serviceArn('prod', 'orders'),
      forceNewDeployment: true,
    });
    expect(outcome).toEqual({ kind: 'redeployed', deploymentAt: createdAt });
  });

  it('changes nothing else about the service', async () => {
    ecsMock.on(UpdateServiceCommand).resolves({});
    await forceNewDeployment(ecs, summary());
    const [call] = ecsMock.commandCalls(UpdateServiceCommand);
    expect(Object.keys(call?.args[0].input ?? {}).sort()).toEqual([
      'cluster',
      'forceNewDeployment',
      'service',
    ]);
  });

  it('reports success even when the response carries no deployment', async () => {
    ecsMock.on(UpdateServiceCommand).resolves({});
    expect(await forceNewDeployment(ecs, summary())).toEqual({ kind: 'redeployed' });
  });

  it.each([
    new ServiceNotFoundException({ message: 'Service not found.', $metadata: {} }),
    new ServiceNotActiveException({ message: 'Service was not ACTIVE.', $metadata: {} }),
  ])('skips a service that disappeared before the update ($name)', async (error) => {
    ecsMock.on(UpdateServiceCommand).rejects(error);
    expect(await forceNewDeployment(ecs, summary())).toEqual({
      kind: 'skip',
      code: 'service-gone',
      reason: `service disappeared before the update (${error.name})`,
    });
  });

  it('looks at the service when the answer is lost: a new PRIMARY deployment means it happened', async () => {
    const before = { id: 'ecs-svc/1', status: 'PRIMARY', createdAt: new Date(0), runningCount: 2 };
    const lost = Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET' });
    ecsMock.on(UpdateServiceCommand).rejects(lost);
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceArn: serviceArn('prod', 'orders'),
          clusterArn: clusterArn('prod'),
          deployments: [{ id: 'ecs-svc/2', status: 'PRIMARY', createdAt: new Date() }],
        },
      ],
    });

    const outcome = await forceNewDeployment(ecs, summary({ deployments: [before] }));

    expect(outcome.kind).toBe('redeployed');
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
  });

  it('reports a lost answer as a failure when ECS shows no new deployment, without sending it again', async () => {
    const before = { id: 'ecs-svc/1', status: 'PRIMARY', createdAt: new Date(0), runningCount: 2 };
    ecsMock.on(UpdateServiceCommand).rejects(
      Object.assign(new Error('We encountered an internal error.'), {
        name: 'InternalFailure',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      }),
    );
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [{ serviceArn: serviceArn('prod', 'orders'), deployments: [before] }],
    });

    expect(await forceNewDeployment(ecs, summary({ deployments: [before] }))).toEqual({
      kind: 'failed',
      error: 'no answer from UpdateService (InternalFailure: We encountered an internal error.)',
    });
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
  });

  it.each([
    ['ThrottlingException', 'Rate exceeded'],
    ['AccessDeniedException', 'not authorized to perform: ecs:UpdateService'],
    ['InvalidParameterException', 'Unable to assume role'],
  ])('reports %s as a failure without throwing', async (name, message) => {
    ecsMock.on(UpdateServiceCommand).rejects(awsError(name, message));
    expect(await forceNewDeployment(ecs, summary())).toEqual({
      kind: 'failed',
      error: `${name}: ${message}`,
    });
  });
});

describe('decide: opt-in and opt-out tags', () => {
  it('skips a service tagged secret-redeployer:exclude=true, whatever the case of the value', () => {
    for (const value of ['true', 'TRUE', ' True ']) {
      expect(
        decide(summary({ tags: { 'secret-redeployer:exclude': value } }), change()),
      ).toMatchObject({ kind: 'skip', code: 'excluded-by-tag' });
    }
    expect(decide(summary({ tags: { 'secret-redeployer:exclude': 'false' } }), change()).kind).toBe(
      'redeploy',
    );
  });

  it('in opt-in mode, redeploys only services tagged secret-redeployer:include=true', () => {
    expect(decide(summary(), change(), { optIn: true })).toMatchObject({
      kind: 'skip',
      code: 'not-opted-in',
    });
    expect(
      decide(summary({ tags: { 'secret-redeployer:include': 'true' } }), change(), { optIn: true })
        .kind,
    ).toBe('redeploy');
  });

  it('lets an exclude tag win over an include tag', () => {
    const tags = { 'secret-redeployer:include': 'true', 'secret-redeployer:exclude': 'true' };
    expect(decide(summary({ tags }), change(), { optIn: true })).toMatchObject({
      code: 'excluded-by-tag',
    });
  });
});
