import {
  ECSClient,
  ServiceNotActiveException,
  ServiceNotFoundException,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Change } from '../../../functions/redeploy/change.js';
import type { ServiceSummary } from '../../../functions/redeploy/discovery.js';
import { decide, forceNewDeployment } from '../../../functions/redeploy/redeploy.js';
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
