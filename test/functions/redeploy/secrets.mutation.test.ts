/**
 * Resolving a pending secret change: which identity wins, when DescribeSecret is asked, and how
 * the labels of the new version are read when the answer is malformed.
 */
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Scope, SecretId } from '../../../functions/redeploy/arn.js';
import type { PendingSecretChange } from '../../../functions/redeploy/events.js';
import { resolveSecretChange } from '../../../functions/redeploy/secrets.js';

const smMock = mockClient(SecretsManagerClient);
const secretsManager = new SecretsManagerClient({ region: 'us-east-1' });

const HOME: Scope = { partition: 'aws', region: 'us-east-1', account: '123456789012' };
const DB: SecretId = { ...HOME, name: 'prod/orders/db', suffix: 'Xy12Ab' };
const DB_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db-Xy12Ab';
const ELSEWHERE = 'arn:aws:secretsmanager:eu-west-1:123456789012';
const VERSION = '7d6c5b4a-3f2e-4d1c-9b0a-8f7e6d5c4b3a';
const TIME = new Date('2025-03-14T10:02:11Z');

function pending(overrides: Partial<PendingSecretChange> = {}): PendingSecretChange {
  return {
    kind: 'secret',
    eventId: 'evt-1',
    time: TIME,
    trigger: 'PutSecretValue',
    action: 'redeploy',
    scope: HOME,
    locator: { arn: DB },
    ...overrides,
  };
}

/** DescribeSecret answers that the version carries `labels` (any JSON, as a faulty API might). */
function versionCarries(labels: unknown): void {
  smMock.on(DescribeSecretCommand).resolves({
    ARN: DB_ARN,
    VersionIdsToStages: { [VERSION]: labels },
  } as unknown as DescribeSecretCommandOutput);
}

const UNIDENTIFIED = { kind: 'ignored', reason: 'the secret in the event could not be identified' };

beforeEach(() => {
  smMock.reset();
});

afterEach(() => {
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
});

describe('resolveSecretChange: when DescribeSecret is asked', () => {
  it('makes no call, and assumes AWSCURRENT moved, when neither stages nor version are known', async () => {
    const resolution = await resolveSecretChange(pending(), secretsManager, HOME);

    expect(smMock).not.toHaveReceivedCommand(DescribeSecretCommand);
    expect(resolution).toStrictEqual({
      kind: 'change',
      change: {
        kind: 'secret',
        eventId: 'evt-1',
        time: TIME,
        trigger: 'PutSecretValue',
        action: 'redeploy',
        secret: DB,
        stages: ['AWSCURRENT', 'AWSPREVIOUS'],
      },
    });
  });

  it('keeps the version the event named in the change', async () => {
    const resolution = await resolveSecretChange(
      pending({ stages: ['AWSCURRENT'], versionId: VERSION }),
      secretsManager,
      HOME,
    );

    expect(resolution).toMatchObject({ change: { versionId: VERSION } });
  });

  it('takes the identity from the ARN the event reported, asking DescribeSecret only for labels', async () => {
    smMock.on(DescribeSecretCommand).resolves({
      ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db-Zz99Zz',
      VersionIdsToStages: { [VERSION]: ['AWSCURRENT'] },
    });

    const resolution = await resolveSecretChange(
      pending({ versionId: VERSION }),
      secretsManager,
      HOME,
    );

    expect(smMock).toHaveReceivedCommandExactlyOnceWith(DescribeSecretCommand, {
      SecretId: DB_ARN,
    });
    expect(resolution).toMatchObject({ change: { secret: DB } });
  });
});

describe('resolveSecretChange: secrets it cannot identify', () => {
  it.each([
    ['a locator that names nothing', {}],
    [
      'a caller ARN elsewhere whose name would hold a colon',
      { reference: `${ELSEWHERE}:secret:db:password` },
    ],
    ['a caller ARN elsewhere of another resource type', { reference: `${ELSEWHERE}:topsecret:db` }],
  ])('ignores %s, saying so', async (_case, locator) => {
    const resolution = await resolveSecretChange(pending({ locator }), secretsManager, HOME);

    expect(resolution).toEqual(UNIDENTIFIED);
    expect(smMock).not.toHaveReceivedCommand(DescribeSecretCommand);
  });
});

describe('resolveSecretChange: the labels of the new version', () => {
  it.each([
    ['a single string instead of a list', 'AWSCURRENT'],
    ['a list with a number in it', ['blue', 7]],
    ['a list of numbers', [1, 2]],
  ])('treats labels given as %s as unknown, and assumes AWSCURRENT', async (_case, labels) => {
    versionCarries(labels);

    const resolution = await resolveSecretChange(
      pending({ versionId: VERSION }),
      secretsManager,
      HOME,
    );

    expect(resolution).toMatchObject({ change: { stages: ['AWSCURRENT', 'AWSPREVIOUS'] } });
  });

  it.each([
    [['AWSPENDING'], 'the new version carries only AWSPENDING: not live yet'],
    [[], 'the new version carries only no label: not live yet'],
  ])('ignores a version labelled %j, naming its labels', async (labels, reason) => {
    versionCarries(labels);

    const resolution = await resolveSecretChange(
      pending({ versionId: VERSION }),
      secretsManager,
      HOME,
    );

    expect(resolution).toEqual({ kind: 'ignored', reason });
  });
});
