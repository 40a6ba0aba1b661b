import {
  BatchGetSecretValueCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Scope } from '../../../functions/redeploy/arn.js';
import { isAffected } from '../../../functions/redeploy/change.js';
import {
  type PendingSecretChange,
  interpret,
  parseEnvelope,
} from '../../../functions/redeploy/events.js';
import { parseReference } from '../../../functions/redeploy/references.js';
import { resolveSecretChange } from '../../../functions/redeploy/secrets.js';
import { awsError } from '../../helpers/aws-errors.js';
import { loadFixture } from '../../helpers/fixtures.js';

const smMock = mockClient(SecretsManagerClient);
const secretsManager = new SecretsManagerClient({ region: 'us-east-1' });

const HOME: Scope = { partition: 'aws', region: 'us-east-1', account: '123456789012' };
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db-Xy12Ab';
const PARTIAL_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db';
const VERSION = '7d6c5b4a-3f2e-4d1c-9b0a-8f7e6d5c4b3a';

function pending(overrides: Partial<PendingSecretChange> = {}): PendingSecretChange {
  return {
    kind: 'secret',
    eventId: 'evt-1',
    time: new Date('2025-03-14T10:02:11Z'),
    trigger: 'UpdateSecret',
    action: 'redeploy',
    scope: HOME,
    locator: { reference: 'prod/orders/db' },
    stages: ['AWSCURRENT'],
    ...overrides,
  };
}

/** The pending change of a fixture event, as the interpreter produces it. */
function pendingFromFixture(path: string): PendingSecretChange {
  const envelope = parseEnvelope(loadFixture(path));
  if (typeof envelope === 'string') throw new Error(envelope);
  const interpretation = interpret(envelope, 'aws');
  if (interpretation.kind !== 'change' || interpretation.change.kind !== 'secret') {
    throw new Error(`${path} is not a secret change`);
  }
  return interpretation.change;
}

const notFound = (): ResourceNotFoundException =>
  new ResourceNotFoundException({
    message: "Secrets Manager can't find the specified secret.",
    $metadata: { httpStatusCode: 400 },
  });

beforeEach(() => {
  smMock.reset();
});

afterEach(() => {
  // Metadata only: the value of a secret is never read.
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
  expect(smMock).not.toHaveReceivedCommand(BatchGetSecretValueCommand);
});

describe('resolveSecretChange: identifying the secret', () => {
  it('describes a secret known only by name to learn its full ARN', async () => {
    smMock.on(DescribeSecretCommand).resolves({ ARN, Name: 'prod/orders/db' });

    const resolution = await resolveSecretChange(pending(), secretsManager, HOME);

    expect(smMock).toHaveReceivedCommandExactlyOnceWith(DescribeSecretCommand, {
      SecretId: 'prod/orders/db',
    });
    expect(resolution).toEqual({
      kind: 'change',
      change: {
        kind: 'secret',
        eventId: 'evt-1',
        time: new Date('2025-03-14T10:02:11Z'),
        trigger: 'UpdateSecret',
        action: 'redeploy',
        secret: { ...HOME, name: 'prod/orders/db', suffix: 'Xy12Ab' },
        stages: ['AWSCURRENT', 'AWSPREVIOUS'],
      },
    });
  });

  it('describes a secret known by partial ARN to learn its full ARN', async () => {
    smMock.on(DescribeSecretCommand).resolves({ ARN, Name: 'prod/orders/db' });

    const resolution = await resolveSecretChange(
      pending({ locator: { reference: PARTIAL_ARN } }),
      secretsManager,
      HOME,
    );

    expect(smMock).toHaveReceivedCommandExactlyOnceWith(DescribeSecretCommand, {
      SecretId: PARTIAL_ARN,
    });
    expect(resolution).toMatchObject({
      change: { secret: { ...HOME, name: 'prod/orders/db', suffix: 'Xy12Ab' } },
    });
  });

  it('falls back to the name, suffix unknown, when the secret no longer exists', async () => {
    smMock.on(DescribeSecretCommand).rejects(notFound());

    const resolution = await resolveSecretChange(
      pending({ action: 'warn', stages: [], trigger: 'DeleteSecret' }),
      secretsManager,
      HOME,
    );

    expect(resolution).toMatchObject({
      kind: 'change',
      change: { action: 'warn', secret: { ...HOME, name: 'prod/orders/db' } },
    });
    expect(resolution.kind === 'change' && resolution.change.secret).not.toHaveProperty('suffix');
  });

  it('falls back to the partial ARN, in its own scope, when the secret no longer exists', async () => {
    smMock.on(DescribeSecretCommand).rejects(notFound());

    const resolution = await resolveSecretChange(
      pending({ locator: { reference: PARTIAL_ARN } }),
      secretsManager,
      HOME,
    );

    expect(resolution).toMatchObject({
      change: { secret: { ...HOME, name: 'prod/orders/db' } },
    });
  });

  it('lets any other error propagate, so the platform retries the event', async () => {
    smMock
      .on(DescribeSecretCommand)
      .rejects(
        awsError(
          'AccessDeniedException',
          'User is not authorized to perform: secretsmanager:DescribeSecret',
        ),
      );

    await expect(resolveSecretChange(pending(), secretsManager, HOME)).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });

  it.each([
    ['Region', { ...HOME, region: 'eu-west-1' }],
    ['account', { ...HOME, account: '210987654321' }],
  ])(
    'does not describe a name from an event of another %s, and keeps the scope of the event',
    async (_case, eventScope) => {
      const resolution = await resolveSecretChange(
        pending({ scope: eventScope }),
        secretsManager,
        HOME,
      );

      expect(smMock).not.toHaveReceivedCommand(DescribeSecretCommand);
      expect(resolution).toMatchObject({
        change: { secret: { ...eventScope, name: 'prod/orders/db' } },
      });
    },
  );

  it('does not describe a partial ARN of another Region, and keeps the scope of the ARN', async () => {
    const resolution = await resolveSecretChange(
      pending({
        locator: {
          reference: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/orders/db',
        },
      }),
      secretsManager,
      HOME,
    );

    expect(smMock).not.toHaveReceivedCommand(DescribeSecretCommand);
    expect(resolution).toMatchObject({
      change: { secret: { ...HOME, region: 'eu-west-1', name: 'prod/orders/db' } },
    });
  });

  it('reads a caller ARN it cannot describe as Secrets Manager does: complete if it ends in -XXXXXX', async () => {
    const resolution = await resolveSecretChange(
      pending({
        scope: { ...HOME, region: 'eu-west-1' },
        locator: {
          reference: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/orders/db-Xy12Ab',
        },
      }),
      secretsManager,
      HOME,
    );

    expect(smMock).not.toHaveReceivedCommand(DescribeSecretCommand);
    expect(resolution.kind).toBe('change');
    if (resolution.kind !== 'change') return;
    expect(resolution.change.secret).toEqual({
      partition: 'aws',
      region: 'eu-west-1',
      account: '123456789012',
      name: 'prod/orders/db',
      suffix: 'Xy12Ab',
    });
    const ref = (value: string) => {
      const parsed = parseReference(value, HOME, 'test');
      if (!parsed) throw new Error(`unparsable ${value}`);
      return parsed;
    };
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:';
    // The secret prod/orders/db, by its complete and its partial ARN.
    expect(isAffected(ref(`${arn}prod/orders/db-Xy12Ab`), resolution.change)).toBe(true);
    expect(isAffected(ref(`${arn}prod/orders/db`), resolution.change)).toBe(true);
    // Not an earlier prod/orders/db (another suffix), nor a secret whose name continues it.
    expect(isAffected(ref(`${arn}prod/orders/db-Qw34Er`), resolution.change)).toBe(false);
    expect(isAffected(ref(`${arn}prod/orders/db-Xy12Ab-Qw34Er`), resolution.change)).toBe(false);
    expect(isAffected(ref(`${arn}prod/orders/dbx`), resolution.change)).toBe(false);
    // Nor the same name in the home Region.
    expect(
      isAffected(
        ref('arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db-Xy12Ab'),
        resolution.change,
      ),
    ).toBe(false);
  });

  it('makes no call when the event reported the full ARN and the stages', async () => {
    const resolution = await resolveSecretChange(
      pendingFromFixture('secretsmanager/eventbridge-SecretLabelUpdated-native.awsdocs.json'),
      secretsManager,
      { partition: 'aws', region: 'us-west-2', account: '012345678901' },
    );

    expect(smMock).not.toHaveReceivedAnyCommand();
    expect(resolution).toMatchObject({
      change: {
        secret: { region: 'us-west-2', name: 'mySecret', suffix: 'a1b2c3' },
        stages: ['AWSCURRENT', 'AWSPREVIOUS'],
      },
    });
  });

  it('resolves DeleteSecret to a warning about the ARN the record reported', async () => {
    const resolution = await resolveSecretChange(
      pendingFromFixture(
        'secretsmanager/cloudtrail-record-DeleteSecret.awsdocs-2022.wrapped-in-eventbridge.json',
      ),
      secretsManager,
      { partition: 'aws', region: 'us-east-2', account: '123456789012' },
    );

    expect(smMock).not.toHaveReceivedAnyCommand();
    expect(resolution).toMatchObject({
      change: {
        action: 'warn',
        stages: [],
        secret: { region: 'us-east-2', name: 'MyDatabaseSecret', suffix: 'a1b2c3' },
      },
    });
  });
});

describe('resolveSecretChange: PutSecretValue without VersionStages', () => {
  const PUT = 'secretsmanager/eventbridge-PutSecretValue.external-secrets-reloader-2024.json';
  const PUT_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/test-secret-123456';
  const PUT_VERSION = '4d383ea9-084a-49c9-8722-cbfb0f25c456';
  const PUT_HOME: Scope = { partition: 'aws', region: 'eu-west-1', account: '123456789012' };

  it('redeploys when DescribeSecret shows the new version is AWSCURRENT', async () => {
    smMock.on(DescribeSecretCommand).resolves({
      ARN: PUT_ARN,
      VersionIdsToStages: { [PUT_VERSION]: ['AWSCURRENT'], 'old-version': ['AWSPREVIOUS'] },
    });

    const resolution = await resolveSecretChange(pendingFromFixture(PUT), secretsManager, PUT_HOME);

    expect(smMock).toHaveReceivedCommandExactlyOnceWith(DescribeSecretCommand, {
      SecretId: PUT_ARN,
    });
    expect(resolution).toMatchObject({
      kind: 'change',
      change: {
        trigger: 'PutSecretValue',
        secret: { ...PUT_HOME, name: 'prod/test-secret', suffix: '123456' },
        stages: ['AWSCURRENT', 'AWSPREVIOUS'],
      },
    });
  });

  it('ignores a version that carries only AWSPENDING (a rotation in progress)', async () => {
    smMock.on(DescribeSecretCommand).resolves({
      ARN: PUT_ARN,
      VersionIdsToStages: { [PUT_VERSION]: ['AWSPENDING'], current: ['AWSCURRENT'] },
    });

    const resolution = await resolveSecretChange(pendingFromFixture(PUT), secretsManager, PUT_HOME);

    expect(resolution).toEqual({ kind: 'ignored', reason: expect.any(String) as string });
  });

  it('redeploys a custom stage only, when the version carries only that stage', async () => {
    smMock.on(DescribeSecretCommand).resolves({
      ARN: PUT_ARN,
      VersionIdsToStages: { [PUT_VERSION]: ['blue'] },
    });

    const resolution = await resolveSecretChange(pendingFromFixture(PUT), secretsManager, PUT_HOME);

    expect(resolution).toMatchObject({ change: { stages: ['blue'] } });
  });

  it('assumes AWSCURRENT when the version is not found among the versions', async () => {
    smMock.on(DescribeSecretCommand).resolves({
      ARN: PUT_ARN,
      VersionIdsToStages: { 'some-other-version': ['AWSCURRENT'] },
    });

    const resolution = await resolveSecretChange(pendingFromFixture(PUT), secretsManager, PUT_HOME);

    expect(resolution).toMatchObject({ change: { stages: ['AWSCURRENT', 'AWSPREVIOUS'] } });
  });

  it('assumes AWSCURRENT when the secret cannot be found any more', async () => {
    smMock.on(DescribeSecretCommand).rejects(notFound());

    const resolution = await resolveSecretChange(pendingFromFixture(PUT), secretsManager, PUT_HOME);

    expect(resolution).toMatchObject({
      change: {
        secret: { name: 'prod/test-secret', suffix: '123456' },
        stages: ['AWSCURRENT', 'AWSPREVIOUS'],
      },
    });
  });

  it('assumes AWSCURRENT without describing a secret of another Region', async () => {
    const resolution = await resolveSecretChange(pendingFromFixture(PUT), secretsManager, HOME);

    expect(smMock).not.toHaveReceivedCommand(DescribeSecretCommand);
    expect(resolution).toMatchObject({ change: { stages: ['AWSCURRENT', 'AWSPREVIOUS'] } });
  });

  it('describes a name once, for both its ARN and the stages of the version', async () => {
    smMock.on(DescribeSecretCommand).resolves({
      ARN,
      VersionIdsToStages: { [VERSION]: ['AWSPENDING'] },
    });
    const resolution = await resolveSecretChange(
      pending({ stages: undefined, versionId: VERSION }),
      secretsManager,
      HOME,
    );

    expect(smMock).toHaveReceivedCommandTimes(DescribeSecretCommand, 1);
    expect(resolution.kind).toBe('ignored');
  });

  it('lets an access error while looking up the stages propagate', async () => {
    smMock.on(DescribeSecretCommand).rejects(awsError('AccessDeniedException', 'denied'));

    await expect(
      resolveSecretChange(pendingFromFixture(PUT), secretsManager, PUT_HOME),
    ).rejects.toThrow('denied');
  });
});
