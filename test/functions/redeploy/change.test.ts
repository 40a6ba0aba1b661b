import { describe, expect, it } from 'vitest';
import type { SecretId } from '../../../functions/redeploy/arn.js';
import {
  AWSCURRENT,
  type ParameterChange,
  type SecretChange,
  describeChange,
  isAffected,
  stagesMovedBy,
} from '../../../functions/redeploy/change.js';
import { type Reference, parseReference } from '../../../functions/redeploy/references.js';

const HOME = { partition: 'aws', region: 'us-east-1', account: '123456789012' };
const SM = 'arn:aws:secretsmanager:us-east-1:123456789012:secret';
const DB: SecretId = { ...HOME, name: 'prod/orders/db', suffix: 'Xy12Ab' };

function ref(valueFrom: string): Reference {
  const parsed = parseReference(valueFrom, HOME, 'container app: secrets[X]');
  if (parsed === undefined) throw new Error(`not a reference: ${valueFrom}`);
  return parsed;
}

function secretChange(overrides: Partial<SecretChange> = {}): SecretChange {
  return {
    kind: 'secret',
    eventId: 'evt-1',
    time: new Date('2025-03-14T09:26:53Z'),
    trigger: 'Secret Label Updated (AWSCURRENT)',
    action: 'redeploy',
    secret: DB,
    stages: stagesMovedBy([AWSCURRENT]),
    ...overrides,
  };
}

function parameterChange(overrides: Partial<ParameterChange> = {}): ParameterChange {
  return {
    kind: 'parameter',
    eventId: 'evt-2',
    time: new Date('2025-03-14T09:26:53Z'),
    trigger: 'Parameter Store Change (Update)',
    action: 'redeploy',
    parameter: { ...HOME, name: 'prod/orders/api-url' },
    ...overrides,
  };
}

describe('stagesMovedBy', () => {
  it('adds AWSPREVIOUS when AWSCURRENT moves', () => {
    expect(stagesMovedBy(['AWSCURRENT'])).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
  });

  it('drops AWSPENDING, which no running task reads', () => {
    expect(stagesMovedBy(['AWSPENDING'])).toEqual([]);
    expect(stagesMovedBy(['AWSPENDING', 'blue'])).toEqual(['blue']);
  });

  it('keeps a custom stage on its own', () => {
    expect(stagesMovedBy(['blue'])).toEqual(['blue']);
  });
});

describe('isAffected by a secret change', () => {
  it('affects a reference by full ARN with the same suffix', () => {
    expect(isAffected(ref(`${SM}:prod/orders/db-Xy12Ab`), secretChange())).toBe(true);
  });

  it('affects a reference by partial ARN', () => {
    expect(isAffected(ref(`${SM}:prod/orders/db`), secretChange())).toBe(true);
  });

  it('affects a JSON key of the secret at its current stage', () => {
    expect(isAffected(ref(`${SM}:prod/orders/db-Xy12Ab:password::`), secretChange())).toBe(true);
  });

  it('affects a reference pinned to AWSCURRENT explicitly', () => {
    expect(isAffected(ref(`${SM}:prod/orders/db-Xy12Ab::AWSCURRENT:`), secretChange())).toBe(true);
  });

  it('affects a reference pinned to AWSPREVIOUS when AWSCURRENT moves (AWSPREVIOUS moves too)', () => {
    expect(isAffected(ref(`${SM}:prod/orders/db-Xy12Ab::AWSPREVIOUS:`), secretChange())).toBe(true);
  });

  it('does not affect a reference pinned to a version id', () => {
    expect(
      isAffected(
        ref(`${SM}:prod/orders/db-Xy12Ab:password::9d4cb84b-ad69-40c0-a0ab-cead3EXAMPLE`),
        secretChange(),
      ),
    ).toBe(false);
  });

  it('affects a custom stage only when that stage moves', () => {
    const blue = ref(`${SM}:prod/orders/db-Xy12Ab::blue:`);
    expect(isAffected(blue, secretChange())).toBe(false);
    expect(isAffected(blue, secretChange({ stages: stagesMovedBy(['blue']) }))).toBe(true);
    expect(isAffected(ref(`${SM}:prod/orders/db`), secretChange({ stages: ['blue'] }))).toBe(false);
  });

  it('does not affect a reference pinned to AWSPENDING', () => {
    expect(isAffected(ref(`${SM}:prod/orders/db::AWSPENDING:`), secretChange())).toBe(false);
  });

  it.each([
    ['Region', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret'],
    ['account', 'arn:aws:secretsmanager:us-east-1:210987654321:secret'],
    ['partition', 'arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret'],
  ])('never affects a secret of the same name in another %s', (_case, prefix) => {
    expect(isAffected(ref(`${prefix}:prod/orders/db-Xy12Ab`), secretChange())).toBe(false);
    expect(isAffected(ref(`${prefix}:prod/orders/db`), secretChange())).toBe(false);
    expect(isAffected(ref(`${prefix}:prod/orders/db`), secretChange({ action: 'warn' }))).toBe(
      false,
    );
  });

  it('does not affect a full ARN with another suffix (the secret was deleted and re-created)', () => {
    expect(isAffected(ref(`${SM}:prod/orders/db-OldOld`), secretChange())).toBe(false);
  });

  it('affects any full ARN of the name when the suffix of the changed secret is unknown', () => {
    const change = secretChange({ secret: { ...HOME, name: 'prod/orders/db' } });
    expect(isAffected(ref(`${SM}:prod/orders/db-OldOld`), change)).toBe(true);
    expect(isAffected(ref(`${SM}:prod/orders/db-other-Xy12Ab`), change)).toBe(false);
  });

  it('does not affect another secret whose name starts with the same text', () => {
    expect(isAffected(ref(`${SM}:prod/orders/db-replica-Xy12Ab`), secretChange())).toBe(false);
    expect(isAffected(ref(`${SM}:prod/orders/dbx`), secretChange())).toBe(false);
  });

  it('affects a /aws/reference/secretsmanager/NAME pass-through to the secret', () => {
    expect(isAffected(ref('/aws/reference/secretsmanager/prod/orders/db'), secretChange())).toBe(
      true,
    );
  });

  it('does not affect parameter references, even with the same name', () => {
    expect(isAffected(ref('/prod/orders/db'), secretChange())).toBe(false);
  });

  describe('when the secret is deleted (action warn)', () => {
    const deleted = secretChange({ action: 'warn', stages: [] });

    it.each([
      ['the current value', `${SM}:prod/orders/db-Xy12Ab`],
      ['a partial ARN', `${SM}:prod/orders/db`],
      ['AWSPREVIOUS', `${SM}:prod/orders/db-Xy12Ab::AWSPREVIOUS:`],
      ['a custom stage', `${SM}:prod/orders/db-Xy12Ab::blue:`],
      ['a pinned version', `${SM}:prod/orders/db-Xy12Ab:::9d4cb84b-ad69-40c0-a0ab-cead3EXAMPLE`],
    ])('affects a reference to %s', (_case, value) => {
      expect(isAffected(ref(value), deleted)).toBe(true);
    });

    it('does not affect a re-created secret of the same name', () => {
      expect(isAffected(ref(`${SM}:prod/orders/db-NewNew`), deleted)).toBe(false);
    });
  });
});

describe('isAffected by a parameter change', () => {
  it.each(['/prod/orders/api-url', 'prod/orders/api-url'])(
    'affects the parameter referenced by name %s',
    (name) => {
      expect(isAffected(ref(name), parameterChange())).toBe(true);
    },
  );

  it('affects the parameter referenced by ARN', () => {
    expect(
      isAffected(
        ref('arn:aws:ssm:us-east-1:123456789012:parameter/prod/orders/api-url'),
        parameterChange(),
      ),
    ).toBe(true);
  });

  it('does not affect a parameter of the same name in another Region or account', () => {
    expect(
      isAffected(
        ref('arn:aws:ssm:eu-west-1:123456789012:parameter/prod/orders/api-url'),
        parameterChange(),
      ),
    ).toBe(false);
    expect(
      isAffected(
        ref('arn:aws:ssm:us-east-1:210987654321:parameter/prod/orders/api-url'),
        parameterChange(),
      ),
    ).toBe(false);
  });

  it('does not affect another parameter or a secret', () => {
    expect(isAffected(ref('/prod/orders/api-url-v2'), parameterChange())).toBe(false);
    expect(
      isAffected(
        ref(`${SM}:prod/orders/api-url`),
        parameterChange({ parameter: { ...HOME, name: 'prod/orders/api-url' } }),
      ),
    ).toBe(false);
  });

  it('affects the parameter when it is deleted (action warn)', () => {
    expect(isAffected(ref('/prod/orders/api-url'), parameterChange({ action: 'warn' }))).toBe(true);
  });
});

describe('describeChange', () => {
  it('describes a secret change by ARN, stages, action, trigger, event id and time', () => {
    expect(describeChange(secretChange())).toEqual({
      type: 'secret',
      arn: `${SM}:prod/orders/db-Xy12Ab`,
      name: 'prod/orders/db',
      stages: ['AWSCURRENT', 'AWSPREVIOUS'],
      action: 'redeploy',
      trigger: 'Secret Label Updated (AWSCURRENT)',
      eventId: 'evt-1',
      time: '2025-03-14T09:26:53.000Z',
    });
  });

  it('says when the random suffix of the secret ARN is unknown', () => {
    expect(
      describeChange(secretChange({ secret: { ...HOME, name: 'prod/orders/db' } })),
    ).toMatchObject({ arn: `${SM}:prod/orders/db`, arnSuffixUnknown: true });
  });

  it('describes a parameter change by ARN', () => {
    expect(describeChange(parameterChange({ action: 'warn' }))).toEqual({
      type: 'parameter',
      arn: 'arn:aws:ssm:us-east-1:123456789012:parameter/prod/orders/api-url',
      name: 'prod/orders/api-url',
      action: 'warn',
      trigger: 'Parameter Store Change (Update)',
      eventId: 'evt-2',
      time: '2025-03-14T09:26:53.000Z',
    });
  });
});
