import { describe, expect, it } from 'vitest';
import {
  formatScope,
  normaliseParameterName,
  parameterArn,
  parameterIdFromArn,
  parseArn,
  sameParameter,
  sameScope,
  scopeOfArn,
  secretArn,
  secretIdFromFullArn,
  secretTargetMatches,
} from '../../../functions/redeploy/arn.js';

const HOME = { partition: 'aws', region: 'us-east-1', account: '123456789012' };

describe('parseArn', () => {
  it('splits a regional ARN and keeps colons inside the resource', () => {
    expect(
      parseArn('arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password::'),
    ).toEqual({
      partition: 'aws',
      service: 'secretsmanager',
      region: 'us-east-1',
      account: '123456789012',
      resource: 'secret:db-AbCdEf:password::',
    });
  });

  it.each([
    ['aws-cn', 'cn-north-1'],
    ['aws-us-gov', 'us-gov-west-1'],
    ['aws-iso-b', 'us-isob-east-1'],
  ])('accepts the %s partition (%s)', (partition, region) => {
    expect(parseArn(`arn:${partition}:ssm:${region}:123456789012:parameter/x`)).toMatchObject({
      partition,
      region,
    });
  });

  it.each([
    ['the documentation placeholders', 'arn:aws:secretsmanager:region:aws_account_id:secret:x'],
    ['a blog placeholder account', 'arn:aws:secretsmanager:us-west-2:accountid:secret:x-AbCdEf'],
    ['a global ARN without Region or account', 'arn:aws:s3:::my-bucket/key'],
    ['an IAM ARN (no Region)', 'arn:aws:iam::123456789012:role/deployer'],
    ['an ARN without a resource', 'arn:aws:ssm:us-east-1:123456789012:'],
    ['an 11-digit account', 'arn:aws:ssm:us-east-1:12345678901:parameter/x'],
    ['an unknown partition', 'arn:azure:ssm:us-east-1:123456789012:parameter/x'],
    ['a plain name', 'my-secret'],
    ['an empty string', ''],
  ])('rejects %s', (_case, value) => {
    expect(parseArn(value)).toBeUndefined();
  });
});

describe('scopes', () => {
  it('reads the partition, Region and account of a Lambda function ARN', () => {
    expect(scopeOfArn('arn:aws:lambda:eu-west-1:111122223333:function:redeployer')).toEqual({
      partition: 'aws',
      region: 'eu-west-1',
      account: '111122223333',
    });
  });

  it('returns no scope for a value that is not an ARN', () => {
    expect(scopeOfArn('redeployer')).toBeUndefined();
  });

  it('treats scopes differing only in partition, Region or account as different', () => {
    expect(sameScope(HOME, { ...HOME })).toBe(true);
    expect(sameScope(HOME, { ...HOME, partition: 'aws-cn' })).toBe(false);
    expect(sameScope(HOME, { ...HOME, region: 'us-east-2' })).toBe(false);
    expect(sameScope(HOME, { ...HOME, account: '210987654321' })).toBe(false);
  });

  it('formats a scope for messages', () => {
    expect(formatScope(HOME)).toBe('aws:us-east-1:123456789012');
  });
});

describe('secretIdFromFullArn', () => {
  it('reads the name and the six-character suffix of a full secret ARN', () => {
    expect(
      secretIdFromFullArn('arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf'),
    ).toEqual({ ...HOME, name: 'prod/db', suffix: 'AbCdEf' });
  });

  // Regression (SECRET_NAME once rejected `!`): secrets that AWS services create and manage
  // carry a `!` in their name (RDS master user secrets: `rds!db-<uuid>`, `rds!cluster-<uuid>`).
  it('reads the full ARN of an RDS-managed secret (name rds!db-…)', () => {
    expect(
      secretIdFromFullArn(
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-c930822c-d881-46ea-99ac-7131ca8dc57a-jWJfpp',
      ),
    ).toEqual({ ...HOME, name: 'rds!db-c930822c-d881-46ea-99ac-7131ca8dc57a', suffix: 'jWJfpp' });
  });

  it('ignores trailing json-key, version-stage and version-id fields', () => {
    expect(
      secretIdFromFullArn(
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf:password:AWSPREVIOUS:',
      ),
    ).toEqual({ ...HOME, name: 'prod/db', suffix: 'AbCdEf' });
  });

  it.each([
    ['a partial ARN (no suffix)', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db'],
    ['an SSM parameter ARN', 'arn:aws:ssm:us-east-1:123456789012:parameter/prod/db-AbCdEf'],
    [
      'a non-secret Secrets Manager resource',
      'arn:aws:secretsmanager:us-east-1:123456789012:x:a-AbCdEf',
    ],
    [
      'a name with a forbidden character',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:a b-AbCdEf',
    ],
  ])('rejects %s', (_case, value) => {
    expect(secretIdFromFullArn(value)).toBeUndefined();
  });

  it('formats a known secret back into its full ARN, and an unknown suffix as a partial ARN', () => {
    const full = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf';
    const id = secretIdFromFullArn(full);
    expect(id && secretArn(id)).toBe(full);
    expect(secretArn({ ...HOME, name: 'prod/db' })).toBe(
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db',
    );
  });
});

describe('secretTargetMatches', () => {
  const known = { ...HOME, name: 'prod/db', suffix: 'AbCdEf' };
  const unknownSuffix = { ...HOME, name: 'prod/db' };

  it('matches a partial ARN (the name) and the full ARN with the same suffix', () => {
    expect(secretTargetMatches({ ...HOME, resource: 'prod/db' }, known)).toBe(true);
    expect(secretTargetMatches({ ...HOME, resource: 'prod/db-AbCdEf' }, known)).toBe(true);
  });

  it('does not match a full ARN with another suffix (a deleted and re-created secret)', () => {
    expect(secretTargetMatches({ ...HOME, resource: 'prod/db-ZzZzZz' }, known)).toBe(false);
  });

  it('matches any full ARN of the name when the suffix of the change is unknown', () => {
    expect(secretTargetMatches({ ...HOME, resource: 'prod/db-ZzZzZz' }, unknownSuffix)).toBe(true);
    expect(secretTargetMatches({ ...HOME, resource: 'prod/db' }, unknownSuffix)).toBe(true);
    expect(secretTargetMatches({ ...HOME, resource: 'prod/db2-ZzZzZz' }, unknownSuffix)).toBe(
      false,
    );
  });

  it('never matches a secret of the same name in another Region, account or partition', () => {
    for (const other of [
      { ...HOME, region: 'eu-west-1' },
      { ...HOME, account: '210987654321' },
      { ...HOME, partition: 'aws-cn' },
    ]) {
      expect(secretTargetMatches({ ...other, resource: 'prod/db-AbCdEf' }, known)).toBe(false);
      expect(secretTargetMatches({ ...other, resource: 'prod/db' }, unknownSuffix)).toBe(false);
    }
  });
});

describe('parameters', () => {
  it('treats a name with and without a leading slash as the same parameter', () => {
    expect(normaliseParameterName('/prod/db/host')).toBe('prod/db/host');
    expect(normaliseParameterName('prod/db/host')).toBe('prod/db/host');
    expect(normaliseParameterName('MyExampleParameter')).toBe('MyExampleParameter');
  });

  it.each([
    ['an empty name', ''],
    ['a lone slash', '/'],
    ['a double slash', '/prod//db'],
    ['a trailing slash', '/prod/db/'],
    ['a space', 'my parameter'],
    ['a version selector', 'db-password:3'],
    ['a label selector', '/prod/db:live'],
  ])('rejects %s', (_case, value) => {
    expect(normaliseParameterName(value)).toBeUndefined();
  });

  it('reads a parameter ARN, hierarchical names included', () => {
    expect(
      parameterIdFromArn(
        'arn:aws:ssm:us-east-1:111111111111:parameter/scheduler/do-not-delete-manually/static',
      ),
    ).toEqual({
      partition: 'aws',
      region: 'us-east-1',
      account: '111111111111',
      name: 'scheduler/do-not-delete-manually/static',
    });
  });

  it.each([
    ['a secret ARN', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf'],
    ['an SSM document ARN', 'arn:aws:ssm:us-east-1:123456789012:document/x'],
    ['a parameter ARN with a double slash', 'arn:aws:ssm:us-east-1:123456789012:parameter//x'],
  ])('does not read %s as a parameter', (_case, value) => {
    expect(parameterIdFromArn(value)).toBeUndefined();
  });

  it('formats a parameter ARN without a leading slash in the name', () => {
    expect(parameterArn({ ...HOME, name: 'prod/db/host' })).toBe(
      'arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/host',
    );
  });

  it('compares parameters by scope and name', () => {
    const a = { ...HOME, name: 'prod/db/host' };
    expect(sameParameter(a, { ...HOME, name: 'prod/db/host' })).toBe(true);
    expect(sameParameter(a, { ...HOME, name: 'prod/db/port' })).toBe(false);
    expect(sameParameter(a, { ...a, region: 'us-west-2' })).toBe(false);
    expect(sameParameter(a, { ...a, account: '210987654321' })).toBe(false);
  });
});
