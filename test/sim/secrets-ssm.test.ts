import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand, GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import {
  type ParameterStoreChangeDetail,
  type SecretLabelUpdatedDetail,
  type SimEvent,
  SimulatedAws,
} from './index.js';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf';

function secretWorld(cloudTrail = false) {
  const sim = new SimulatedAws({ cloudTrail });
  sim.addSecret({
    name: 'prod/db',
    suffix: 'AbCdEf',
    versions: { v1: { stages: ['AWSCURRENT'], createdAt: new Date('2025-12-01T00:00:00Z') } },
  });
  return { sim, sm: sim.client(SecretsManagerClient) };
}

const labelEvents = (events: readonly SimEvent[]) =>
  events
    .filter((e) => e['detail-type'] === 'Secret Label Updated')
    .map((e) => {
      const detail = e.detail as SecretLabelUpdatedDetail;
      return `${detail.labelUpdated}→${detail.versionId}`;
    });

describe('Secrets Manager', () => {
  it('describes a secret by name, partial ARN and full ARN', async () => {
    const { sm } = secretWorld();
    for (const SecretId of [
      'prod/db',
      ARN,
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db',
    ]) {
      const answer = await sm.send(new DescribeSecretCommand({ SecretId }));
      expect(answer).toMatchObject({
        ARN,
        Name: 'prod/db',
        VersionIdsToStages: { v1: ['AWSCURRENT'] },
      });
      expect(answer.CreatedDate).toBeInstanceOf(Date);
      expect(answer.LastChangedDate).toEqual(new Date('2025-12-01T00:00:00Z'));
    }
    await expect(
      sm.send(new DescribeSecretCommand({ SecretId: 'prod/other' })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(
      sm.send(new DescribeSecretCommand({ SecretId: `${ARN.slice(0, -6)}ZZZZZZ` })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('moves AWSCURRENT and AWSPREVIOUS on PutSecretValue and emits Secret Label Updated for AWSCURRENT only', async () => {
    const { sim, sm } = secretWorld();
    sim.advance(1000);
    sim.putSecretValue('prod/db', { versionId: 'v2' });
    const answer = await sm.send(new DescribeSecretCommand({ SecretId: 'prod/db' }));
    expect(answer.VersionIdsToStages).toEqual({ v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT'] });
    expect(answer.LastChangedDate).toEqual(sim.now());
    expect(labelEvents(sim.events)).toEqual(['AWSCURRENT→v2']);
    expect(sim.events[0]).toMatchObject({
      source: 'aws.secretsmanager',
      resources: [ARN],
      detail: { name: 'prod/db', labelUpdated: 'AWSCURRENT', versionId: 'v2' },
      time: '2026-01-01T00:00:01Z',
    });
  });

  it('a pending version emits nothing until it is promoted; moving a custom label emits its event', () => {
    const { sim } = secretWorld();
    sim.putSecretValue('prod/db', { versionId: 'v2', stages: ['AWSPENDING'] });
    expect(sim.events).toHaveLength(0);
    sim.moveLabel('prod/db', 'AWSCURRENT', 'v2');
    sim.moveLabel('prod/db', 'blue', 'v1');
    sim.moveLabel('prod/db', 'blue', 'v1'); // already there: nothing happens
    expect(labelEvents(sim.takeEvents())).toEqual(['AWSCURRENT→v2', 'blue→v1']);
    expect(sim.secretsManager.versionsOf('prod/db')).toEqual({
      v1: ['AWSPREVIOUS', 'blue'],
      v2: ['AWSPENDING', 'AWSCURRENT'],
    });
    sim.removeLabel('prod/db', 'blue');
    expect(sim.events).toHaveLength(0);
    expect(() => {
      sim.removeLabel('prod/db', 'AWSCURRENT');
    }).toThrow(/cannot be removed/);
  });

  it('rotates: RotateSecret, RotationStarted, PutSecretValue(AWSPENDING), UpdateSecretVersionStage, RotationSucceeded', async () => {
    const { sim, sm } = secretWorld(true);
    const version = sim.rotate('prod/db', { versionId: 'v2' });
    expect(version).toBe('v2');
    expect(
      sim.events.map(
        (e) =>
          `${e['detail-type']}:${(e.detail as { eventName?: string }).eventName ?? (e.detail as SecretLabelUpdatedDetail).labelUpdated}`,
      ),
    ).toEqual([
      'AWS API Call via CloudTrail:RotateSecret',
      'AWS Service Event via CloudTrail:RotationStarted',
      'AWS API Call via CloudTrail:PutSecretValue',
      'AWS API Call via CloudTrail:UpdateSecretVersionStage',
      'Secret Label Updated:AWSCURRENT',
      'AWS Service Event via CloudTrail:RotationSucceeded',
    ]);
    expect(sim.events[3]?.detail).toMatchObject({
      eventSource: 'secretsmanager.amazonaws.com',
      requestParameters: {
        secretId: ARN,
        versionStage: 'AWSCURRENT',
        moveToVersionId: 'v2',
        removeFromVersionId: 'v1',
      },
      responseElements: { arn: ARN, name: 'prod/db' },
      recipientAccountId: '123456789012',
    });
    expect(sim.events[5]?.detail).toMatchObject({ additionalEventData: { SecretId: ARN } });
    const answer = await sm.send(new DescribeSecretCommand({ SecretId: 'prod/db' }));
    expect(answer.VersionIdsToStages).toEqual({ v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT'] });
    expect(answer.RotationEnabled).toBe(true);
  });

  it('lists version ids with pagination and hides deprecated versions unless asked', async () => {
    const { sim, sm } = secretWorld();
    for (let i = 2; i <= 5; i += 1) {
      sim.advance(1000);
      sim.putSecretValue('prod/db', { versionId: `v${String(i)}` });
    }
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await sm.send(
        new ListSecretVersionIdsCommand({
          SecretId: 'prod/db',
          MaxResults: 1,
          ...(token && { NextToken: token }),
        }),
      );
      ids.push(...(page.Versions ?? []).map((v) => v.VersionId ?? ''));
      token = page.NextToken;
    } while (token);
    expect(ids).toEqual(['v5', 'v4']);
    const all = await sm.send(
      new ListSecretVersionIdsCommand({ SecretId: 'prod/db', IncludeDeprecated: true }),
    );
    expect(all.Versions?.map((v) => v.VersionId)).toEqual(['v5', 'v4', 'v3', 'v2', 'v1']);
    expect(all.Versions?.[0]).toMatchObject({ VersionStages: ['AWSCURRENT'] });
    expect(all.Versions?.[0]?.CreatedDate).toEqual(sim.now());
  });

  it('shows a scheduled deletion, forgets a forced one, and never answers GetSecretValue', async () => {
    const { sim, sm } = secretWorld(true);
    sim.deleteSecret('prod/db');
    const answer = await sm.send(new DescribeSecretCommand({ SecretId: 'prod/db' }));
    expect(answer.DeletedDate).toEqual(new Date(sim.now().getTime() + 30 * 86_400_000));
    expect(sim.events.map((e) => (e.detail as { eventName?: string }).eventName)).toEqual([
      'DeleteSecret',
    ]);
    sim.deleteSecret('prod/db', { force: true });
    await expect(sm.send(new DescribeSecretCommand({ SecretId: ARN }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });

    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'prod/db' }))).rejects.toMatchObject(
      {
        name: 'AccessDeniedException',
      },
    );
    expect(sim.calls('secretsmanager.GetSecretValue')).toMatchObject([
      {
        service: 'secretsmanager',
        operation: 'GetSecretValue',
        input: { SecretId: 'prod/db' },
        outcome: 'AccessDeniedException',
        applied: false,
      },
    ]);
  });
});

describe('SSM Parameter Store', () => {
  function ssmWorld(options: { ssmOmitArn?: boolean } = {}) {
    const sim = new SimulatedAws(options);
    sim.addParameter({
      name: '/app/db',
      version: 3,
      lastModifiedDate: new Date('2025-06-01T00:00:00Z'),
    });
    sim.addParameter({ name: 'plain', type: 'SecureString' });
    return { sim, ssm: sim.client(SSMClient) };
  }

  it('describes parameters by exact stored name', async () => {
    const { ssm } = ssmWorld();
    const answer = await ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [
          { Key: 'Name', Option: 'Equals', Values: ['/app/db', 'app/db', 'plain', 'missing'] },
        ],
      }),
    );
    expect(answer.Parameters?.map((p) => [p.Name, p.Version, p.Type, p.ARN])).toEqual([
      ['/app/db', 3, 'String', 'arn:aws:ssm:us-east-1:123456789012:parameter/app/db'],
      ['plain', 1, 'SecureString', 'arn:aws:ssm:us-east-1:123456789012:parameter/plain'],
    ]);
    expect(answer.Parameters?.[0]?.LastModifiedDate).toEqual(new Date('2025-06-01T00:00:00Z'));
  });

  it('pages results, refuses more than 50 values, and can leave ARN out', async () => {
    const { sim, ssm } = ssmWorld({ ssmOmitArn: true });
    for (let i = 0; i < 12; i += 1) sim.addParameter({ name: `/p/${String(i)}` });
    const names = Array.from({ length: 12 }, (_, i) => `/p/${String(i)}`);
    const first = await ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: 'Name', Values: names }],
        MaxResults: 5,
      }),
    );
    expect(first.Parameters).toHaveLength(5);
    expect(first.Parameters?.[0]?.ARN).toBeUndefined();
    const second = await ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: 'Name', Values: names }],
        MaxResults: 50,
        NextToken: first.NextToken,
      }),
    );
    expect(second.Parameters).toHaveLength(7);
    expect(second.NextToken).toBeUndefined();
    await expect(
      ssm.send(
        new DescribeParametersCommand({
          ParameterFilters: [
            { Key: 'Name', Values: Array.from({ length: 51 }, (_, i) => `/x/${String(i)}`) },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('bumps versions and emits Parameter Store Change Create / Update / Delete', async () => {
    const { sim, ssm } = ssmWorld();
    expect(sim.putParameter('/app/db')).toBe(4);
    expect(sim.putParameter('/app/new', { description: 'fresh' })).toBe(1);
    sim.deleteParameter('plain');
    expect(
      sim.events.map((e) => {
        const detail = e.detail as ParameterStoreChangeDetail;
        return [detail.operation, detail.name, e.resources[0]];
      }),
    ).toEqual([
      ['Update', '/app/db', 'arn:aws:ssm:us-east-1:123456789012:parameter/app/db'],
      ['Create', '/app/new', 'arn:aws:ssm:us-east-1:123456789012:parameter/app/new'],
      ['Delete', 'plain', 'arn:aws:ssm:us-east-1:123456789012:parameter/plain'],
    ]);
    expect(sim.events[1]).toMatchObject({
      source: 'aws.ssm',
      'detail-type': 'Parameter Store Change',
      detail: { type: 'String', description: 'fresh' },
    });
    const answer = await ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: 'Name', Values: ['/app/db', 'plain'] }],
      }),
    );
    expect(answer.Parameters?.map((p) => [p.Name, p.Version])).toEqual([['/app/db', 4]]);
    expect(answer.Parameters?.[0]?.LastModifiedDate).toEqual(sim.now());

    await expect(ssm.send(new GetParameterCommand({ Name: '/app/db' }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    expect(sim.count('ssm.GetParameter')).toBe(1);
  });
});
