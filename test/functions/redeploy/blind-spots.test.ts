/**
 * Matching without blind spots (issue 10): every partition and Region shape, label removals,
 * gMSA credential specs in SSM, repositoryCredentials, the sweep's look-ups for every name, and
 * the behaviours mutation testing found unpinned.
 */
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type Scope,
  parseArn,
  secretIdFromFullArn,
  secretLookupId,
  secretTargetMatches,
} from '../../../functions/redeploy/arn.js';
import { type Change, isAffected } from '../../../functions/redeploy/change.js';
import { loadConfig } from '../../../functions/redeploy/config.js';
import type { ServiceSummary } from '../../../functions/redeploy/discovery.js';
import { interpret, parseEnvelope } from '../../../functions/redeploy/events.js';
import { PARTITIONS, isPartition, isRegion } from '../../../functions/redeploy/partition.js';
import { decide } from '../../../functions/redeploy/redeploy.js';
import { extractReferences, parseReference } from '../../../functions/redeploy/references.js';
import { resolveSecretChange } from '../../../functions/redeploy/secrets.js';

const smMock = mockClient(SecretsManagerClient);
const secretsManager = new SecretsManagerClient({ region: 'us-east-1' });
beforeEach(() => smMock.reset());

const EUSC: Scope = { partition: 'aws-eusc', region: 'eusc-de-east-1', account: '123456789012' };
const HOME: Scope = { partition: 'aws', region: 'us-east-1', account: '123456789012' };
const SM = (scope: Scope) =>
  `arn:${scope.partition}:secretsmanager:${scope.region}:${scope.account}:secret`;

describe('partitions and Regions: one grammar', () => {
  it.each([...PARTITIONS])('accepts the partition %s', (partition) => {
    expect(isPartition(partition)).toBe(true);
    expect(parseArn(`arn:${partition}:ssm:us-east-1:123456789012:parameter/x`)?.partition).toBe(
      partition,
    );
  });

  it.each(['', 'AWS', 'aws-', 'aws-foo', 'amazon', 'aws-iso-z', 'aws_cn'])(
    'refuses the partition %j',
    (partition) => {
      expect(isPartition(partition)).toBe(false);
      expect(parseArn(`arn:${partition}:ssm:us-east-1:123456789012:parameter/x`)).toBeUndefined();
    },
  );

  it.each([
    'us-east-1',
    'eu-central-2',
    'ap-southeast-5',
    'il-central-1',
    'us-gov-west-1',
    'cn-north-1',
    'us-iso-east-1',
    'us-isob-east-1',
    'eu-isoe-west-1',
    'us-isof-south-1',
    'eusc-de-east-1',
  ])('accepts the Region %s', (region) => {
    expect(isRegion(region)).toBe(true);
  });

  it.each([
    '',
    'us-east',
    'useast1',
    'US-EAST-1',
    'u-east-1',
    'abcde-east-1',
    'us-east-100',
    'us--east-1',
  ])('refuses the Region %j', (region) => {
    expect(isRegion(region)).toBe(false);
  });

  it('handles a change in the AWS European Sovereign Cloud end to end (event, ARN, reference, match)', async () => {
    const arn = `${SM(EUSC)}:prod/db-AbC123`;
    const envelope = parseEnvelope({
      version: '0',
      id: 'evt-eusc',
      'detail-type': 'Secret Label Updated',
      source: 'aws.secretsmanager',
      account: EUSC.account,
      time: '2026-03-01T12:00:00Z',
      region: EUSC.region,
      resources: [arn],
      detail: { name: 'prod/db', labelUpdated: 'AWSCURRENT', versionId: 'v2' },
    });
    expect(typeof envelope).not.toBe('string');
    if (typeof envelope === 'string') return;
    const interpretation = interpret(envelope, 'aws-eusc');
    expect(interpretation.kind).toBe('change');
    if (interpretation.kind !== 'change' || interpretation.change.kind !== 'secret') return;
    smMock.on(DescribeSecretCommand).resolves({ ARN: arn, Name: 'prod/db' });
    const resolved = await resolveSecretChange(interpretation.change, secretsManager, EUSC);
    expect(resolved.kind).toBe('change');
    if (resolved.kind !== 'change') return;
    const reference = parseReference(`${SM(EUSC)}:prod/db:password::`, EUSC, 'test');
    expect(reference && isAffected(reference, resolved.change)).toBe(true);
    // The same name in the commercial partition is another secret.
    const commercial = parseReference(`${SM(HOME)}:prod/db`, HOME, 'test');
    expect(commercial && isAffected(commercial, resolved.change)).toBe(false);
  });

  it('takes Sovereign Cloud Regions and cluster ARNs as configuration', () => {
    expect(
      loadConfig({
        SOURCE_REGIONS: 'eusc-de-east-1,us-gov-west-1',
        CLUSTERS: 'arn:aws-eusc:ecs:eusc-de-east-1:123456789012:cluster/prod',
        ROLLOUT_ENGINE_ARN: 'arn:aws-eusc:lambda:eusc-de-east-1:123456789012:function:engine:live',
      }),
    ).toMatchObject({ sourceRegions: ['eusc-de-east-1', 'us-gov-west-1'] });
    expect(() => loadConfig({ SOURCE_REGIONS: 'eusc-de-east' })).toThrow('SOURCE_REGIONS');
    expect(() =>
      loadConfig({ CLUSTERS: 'arn:aws-foo:ecs:us-east-1:123456789012:cluster/prod' }),
    ).toThrow('CLUSTERS');
  });
});

describe('secret ARNs as Secrets Manager reads them', () => {
  // Mutation survivor (issue 10, 2): a complete ARN needs its six-character suffix; without one
  // `prod/database` would have been read as `prod/d` plus a suffix.
  it('reads no complete ARN from one without a six-character suffix', () => {
    expect(secretIdFromFullArn(`${SM(HOME)}:prod/database`)).toBeUndefined();
    expect(secretIdFromFullArn(`${SM(HOME)}:prod/database-Ab12Cd`)).toMatchObject({
      name: 'prod/database',
      suffix: 'Ab12Cd',
    });
  });

  // Mutation survivor (issue 10, 1), and the over-matching it was about: a change of prod/db
  // whose suffix is known never touches another secret whose name begins with prod/db.
  it('never matches prod/db-reader or prod/db-backup for a change of prod/db', () => {
    const db = { ...HOME, name: 'prod/db', suffix: 'Xy12Ab' };
    for (const resource of ['prod/db-reader', 'prod/db-reader-Qw34Er', 'prod/db-backup-Zx56Cv']) {
      expect(secretTargetMatches({ ...HOME, resource }, db), resource).toBe(false);
    }
    expect(secretTargetMatches({ ...HOME, resource: 'prod/db' }, db)).toBe(true);
    expect(secretTargetMatches({ ...HOME, resource: 'prod/db-Xy12Ab' }, db)).toBe(true);
  });

  it('looks a referenced secret up by its complete ARN, or by its name: never by a partial ARN', () => {
    expect(secretLookupId({ ...HOME, resource: 'prod/api-secret-AbC123' })).toBe(
      `${SM(HOME)}:prod/api-secret-AbC123`,
    );
    expect(secretLookupId({ ...HOME, resource: 'prod/db' })).toBe('prod/db');
  });

  // Mutation survivor (issue 10, 3).
  it('reads /aws/reference/secretsmanager/<complete ARN> as a reference to that secret', () => {
    const value = `/aws/reference/secretsmanager/${SM(HOME)}:prod/db-Xy12Ab`;
    const reference = parseReference(value, HOME, 'test');
    expect(reference).toMatchObject({
      kind: 'secret',
      target: { ...HOME, resource: 'prod/db-Xy12Ab' },
    });
    const change: Change = {
      kind: 'secret',
      eventId: 'e',
      time: new Date(),
      trigger: 't',
      action: 'redeploy',
      secret: { ...HOME, name: 'prod/db', suffix: 'Xy12Ab' },
      stages: ['AWSCURRENT', 'AWSPREVIOUS'],
    };
    expect(reference && isAffected(reference, change)).toBe(true);
  });
});

describe('CloudTrail records', () => {
  const trail = (detail: Record<string, unknown>) =>
    parseEnvelope({
      version: '0',
      id: 'evt-trail',
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.secretsmanager',
      account: HOME.account,
      time: '2026-03-01T12:00:00Z',
      region: HOME.region,
      resources: [],
      detail: { eventSource: 'secretsmanager.amazonaws.com', ...detail },
    });

  // Mutation survivor (issue 10, 4): a console call answers with null responseElements; the
  // secret is then only in what the caller passed.
  it('finds the secret in the caller ARN when responseElements is null (console calls)', () => {
    const envelope = trail({
      eventName: 'PutSecretValue',
      requestParameters: { secretId: `${SM(HOME)}:prod/db-Xy12Ab` },
      responseElements: null,
    });
    if (typeof envelope === 'string') throw new Error(envelope);
    expect(interpret(envelope, 'aws')).toMatchObject({
      kind: 'change',
      change: { locator: { reference: `${SM(HOME)}:prod/db-Xy12Ab` } },
    });
  });

  // Mutation survivor (issue 10, 6): what AWS answered wins over what the caller asked.
  it('takes the labels of the response over those of the request', () => {
    const envelope = trail({
      eventName: 'PutSecretValue',
      requestParameters: { secretId: 'prod/db', versionStages: ['AWSCURRENT'] },
      responseElements: { arn: `${SM(HOME)}:prod/db-Xy12Ab`, versionStages: ['AWSPENDING'] },
    });
    if (typeof envelope === 'string') throw new Error(envelope);
    expect(interpret(envelope, 'aws')).toMatchObject({ kind: 'ignored' });
    const reversed = trail({
      eventName: 'PutSecretValue',
      requestParameters: { secretId: 'prod/db', versionStages: ['AWSPENDING'] },
      responseElements: { arn: `${SM(HOME)}:prod/db-Xy12Ab`, versionStages: ['AWSCURRENT'] },
    });
    if (typeof reversed === 'string') throw new Error(reversed);
    expect(interpret(reversed, 'aws')).toMatchObject({
      kind: 'change',
      change: { stages: ['AWSCURRENT'] },
    });
  });
});

describe('what a task definition references', () => {
  it('scans gMSA credential specs kept in SSM (credentialSpecs and dockerSecurityOptions)', () => {
    const ssm = (name: string) => `arn:aws:ssm:us-east-1:123456789012:parameter/${name}`;
    const references = extractReferences(
      {
        containerDefinitions: [
          {
            name: 'win',
            credentialSpecs: [`credentialspecdomainless:${ssm('gmsa/domainless')}`],
            dockerSecurityOptions: [`credentialspec:${ssm('gmsa/joined')}`, 'no-new-privileges'],
          },
          {
            name: 's3',
            credentialSpecs: ['credentialspec:arn:aws:s3:::bucket/spec.json'],
          },
        ],
      },
      HOME,
    );
    expect(references).toEqual([
      {
        kind: 'parameter',
        parameter: { ...HOME, name: 'gmsa/domainless' },
        location: 'container win: credentialSpecs',
      },
      {
        kind: 'parameter',
        parameter: { ...HOME, name: 'gmsa/joined' },
        location: 'container win: dockerSecurityOptions',
      },
    ]);
  });

  it('marks repositoryCredentials as read at image pull only', () => {
    const [reference] = extractReferences(
      {
        containerDefinitions: [
          { name: 'app', repositoryCredentials: { credentialsParameter: `${SM(HOME)}:registry` } },
        ],
      },
      HOME,
    );
    expect(reference).toMatchObject({ kind: 'secret', imagePull: true });
  });
});

describe('decisions', () => {
  const service: ServiceSummary = {
    arn: 'arn:aws:ecs:us-east-1:123456789012:service/prod/app',
    name: 'app',
    clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod',
    status: 'ACTIVE',
    controller: 'ECS',
    taskDefinitions: [],
    forcedRollout: false,
    tags: {},
  };
  const secretChange = (action: Change['action'], stages: string[]): Change => ({
    kind: 'secret',
    eventId: 'e',
    time: new Date('2026-03-01T12:00:00Z'),
    trigger: 't',
    action,
    secret: { ...HOME, name: 'registry', suffix: 'AbC123' },
    stages,
  });
  const pull = parseReference(`${SM(HOME)}:registry`, HOME, 'repositoryCredentials');
  const env = parseReference(`${SM(HOME)}:registry`, HOME, 'secrets[X]');
  if (pull?.kind !== 'secret' || env === undefined) throw new Error('unparsable');
  const imagePull = { ...pull, imagePull: true };

  it('reports, without redeploying, a service that uses the changed secret only to pull images', () => {
    const change = secretChange('redeploy', ['AWSCURRENT', 'AWSPREVIOUS']);
    expect(decide(service, change, { affected: [imagePull] })).toMatchObject({
      kind: 'skip',
      code: 'image-pull-only',
    });
    // Redeployed when another use needs it, or when configured to.
    expect(decide(service, change, { affected: [imagePull, env] })).toEqual({ kind: 'redeploy' });
    expect(decide(service, change, { affected: [imagePull], redeployForImagePull: true })).toEqual({
      kind: 'redeploy',
    });
    // A deleted registry secret still breaks new tasks: needs action either way.
    expect(decide(service, secretChange('warn', []), { affected: [imagePull] }).kind).toBe(
      'still-referenced',
    );
  });

  it('reports a removed label as needing action, for references pinned to it only', () => {
    const change = secretChange('label-removed', ['blue']);
    const pinned = parseReference(`${SM(HOME)}:registry::blue:`, HOME, 'x');
    const current = parseReference(`${SM(HOME)}:registry::AWSCURRENT:`, HOME, 'x');
    const other = parseReference(`${SM(HOME)}:registry::green:`, HOME, 'x');
    expect(pinned && isAffected(pinned, change)).toBe(true);
    expect(isAffected(env, change)).toBe(false);
    expect(current && isAffected(current, change)).toBe(false);
    expect(other && isAffected(other, change)).toBe(false);
    expect(decide(service, change)).toMatchObject({
      kind: 'needs-action',
      code: 'label-removed',
      reason: expect.stringContaining('blue') as string,
    });
  });
});
