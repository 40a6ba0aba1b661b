/**
 * What each event is read as, and the exact reason given for every event that is ignored: the
 * reason is what an operator reads in the log to learn why nothing was redeployed.
 */
import { describe, expect, it } from 'vitest';
import {
  type Interpretation,
  interpret,
  parseEnvelope,
} from '../../../functions/redeploy/events.js';

const REGION = 'eu-central-1';
const ACCOUNT = '111122223333';
const SCOPE = { partition: 'aws', region: REGION, account: ACCOUNT };
const SM = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret`;
const PARAMETER = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter`;
const KMS_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

function envelope(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: 'evt-1',
    source: 'aws.ssm',
    'detail-type': 'Parameter Store Change',
    account: ACCOUNT,
    time: '2025-03-14T10:02:11Z',
    region: REGION,
    resources: [],
    detail: { operation: 'Update', name: '/app/flags' },
    ...overrides,
  };
}

function interpretEvent(event: Record<string, unknown>): Interpretation {
  const parsed = parseEnvelope(event);
  if (typeof parsed === 'string') throw new Error(`unexpected rejection: ${parsed}`);
  return interpret(parsed, 'aws');
}

const parameterStore = (detail: Record<string, unknown>, resources: string[] = []) =>
  interpretEvent(envelope({ detail, resources }));

const policyAction = (detail: Record<string, unknown>, resources: string[] = []) =>
  interpretEvent(envelope({ 'detail-type': 'Parameter Store Policy Action', detail, resources }));

const labelUpdated = (detail: Record<string, unknown>, resources: string[] = []) =>
  interpretEvent(
    envelope({
      source: 'aws.secretsmanager',
      'detail-type': 'Secret Label Updated',
      detail,
      resources,
    }),
  );

const cloudTrail = (detail: Record<string, unknown>, resources: string[] = []) =>
  interpretEvent(
    envelope({
      source: 'aws.secretsmanager',
      'detail-type': 'AWS API Call via CloudTrail',
      detail: { eventSource: 'secretsmanager.amazonaws.com', ...detail },
      resources,
    }),
  );

const ignored = (reason: string): Interpretation => ({ kind: 'ignored', reason });

/** The change of an interpretation, or a failure naming why there is none. */
function changeOf(interpretation: Interpretation): Record<string, unknown> {
  if (interpretation.kind !== 'change') throw new Error(`ignored: ${interpretation.reason}`);
  return interpretation.change as unknown as Record<string, unknown>;
}

describe('parseEnvelope: time', () => {
  it.each([
    ['fractional seconds', '2025-03-14T10:02:11.123Z', '2025-03-14T10:02:11.123Z'],
    ['a positive UTC offset', '2025-03-14T12:02:11+02:00', '2025-03-14T10:02:11.000Z'],
    ['a negative UTC offset', '2025-03-14T08:32:11-01:30', '2025-03-14T10:02:11.000Z'],
  ])('accepts an ISO 8601 time with %s', (_case, time, instant) => {
    const parsed = parseEnvelope(envelope({ time }));

    expect(parsed).toMatchObject({ time: new Date(instant) });
  });

  it.each([
    ['a six-digit expanded year', '+012025-03-14T10:02:11Z'],
    ['the RFC 1123 form', 'Fri, 14 Mar 2025 10:02:11 GMT'],
    ['a date without a time', '2025-03-14'],
  ])('rejects a time with %s, which is not what EventBridge sends', (_case, time) => {
    expect(parseEnvelope(envelope({ time }))).toBe('the event has no valid time');
  });
});

describe('parseEnvelope: impossible dates', () => {
  // Date.parse rolls an impossible day into the next month (30 February 2025 reads as 2 March).
  it.each(['2025-02-30T10:02:11Z', '2025-04-31T00:00:00Z', '2023-02-29T12:00:00+02:00'])(
    'rejects %s, a day that does not exist',
    (time) => {
      expect(parseEnvelope(envelope({ time }))).toBe('the event has no valid time');
    },
  );

  it('accepts 29 February of a leap year', () => {
    expect(typeof parseEnvelope(envelope({ time: '2024-02-29T10:02:11Z' }))).toBe('object');
  });
});

describe('parseEnvelope: account', () => {
  it.each([
    ['thirteen digits', '1111222233334'],
    ['a letter before twelve digits', 'x111122223333'],
  ])('rejects an account of %s', (_case, account) => {
    expect(parseEnvelope(envelope({ account }))).toBe('the event has no valid account');
  });
});

describe('unsupported event types', () => {
  // The key `aws.ecs / ` is 10 characters; reasons quote at most 120 of it.
  it('quotes an event type of 120 characters in full', () => {
    const detailType = 'x'.repeat(110);

    expect(interpretEvent(envelope({ source: 'aws.ecs', 'detail-type': detailType }))).toEqual(
      ignored(`unsupported event type: aws.ecs / ${detailType}`),
    );
  });

  it('cuts a longer event type to 120 characters and an ellipsis', () => {
    const detailType = 'x'.repeat(111);

    expect(interpretEvent(envelope({ source: 'aws.ecs', 'detail-type': detailType }))).toEqual(
      ignored(`unsupported event type: aws.ecs / ${'x'.repeat(110)}…`),
    );
  });
});

describe('Parameter Store Change', () => {
  it('takes the parameter from the first parameter ARN among the resources', () => {
    const change = changeOf(
      parameterStore({ operation: 'Update' }, [KMS_KEY, `${PARAMETER}/app/flags`]),
    );

    expect(change.parameter).toEqual({ ...SCOPE, name: 'app/flags' });
  });

  it.each([
    [
      'an invalid parameter name',
      { operation: 'Update', name: 'not a name' },
      [],
      'detail.name is not a valid parameter name',
    ],
    [
      'a name that differs from the ARN in resources',
      { operation: 'Update', name: '/other' },
      [`${PARAMETER}/app/flags`],
      'detail.name and resources name different parameters',
    ],
    [
      'no parameter at all',
      { operation: 'Update' },
      [],
      'the event names no parameter (detail.name or resources)',
    ],
    [
      'a label move',
      { operation: 'LabelParameterVersion', name: '/app/flags' },
      [],
      'a parameter label moved: ECS resolves parameters by name, labels are unused',
    ],
    [
      'an unknown operation',
      { operation: 'Rename', name: '/app/flags' },
      [],
      'unsupported Parameter Store operation: Rename',
    ],
    [
      'no operation',
      { name: '/app/flags' },
      [],
      'unsupported Parameter Store operation: undefined',
    ],
    [
      'a failed operation',
      { operation: 'Create', name: '/app/flags', exception: 'ParameterAlreadyExists' },
      [],
      'the Create operation failed; the parameter did not change',
    ],
  ])('ignores an event with %s, saying why', (_case, detail, resources, reason) => {
    expect(parameterStore(detail, resources)).toEqual(ignored(reason));
  });
});

describe('Parameter Store Policy Action', () => {
  it('reads the expired parameter from detail.parameter-name when resources are empty', () => {
    expect(
      changeOf(policyAction({ 'policy-type': 'Expiration', 'parameter-name': '/app/token' })),
    ).toMatchObject({
      action: 'warn',
      trigger: 'Parameter Store Policy Action (Expiration)',
      parameter: { ...SCOPE, name: 'app/token' },
    });
  });

  it('ignores a policy that changes no value, naming it', () => {
    expect(
      policyAction({ 'policy-type': 'ExpirationNotification', 'parameter-name': '/app/token' }),
    ).toEqual(ignored('parameter policy ExpirationNotification changes no value'));
  });
});

describe('Secret Label Updated', () => {
  it('ignores an event without labelUpdated, saying so', () => {
    expect(labelUpdated({ name: 'mySecret' })).toEqual(ignored('detail.labelUpdated is missing'));
  });

  it('ignores a label no running task reads, naming it', () => {
    expect(labelUpdated({ name: 'mySecret', labelUpdated: 'AWSPENDING' })).toEqual(
      ignored('label AWSPENDING is not read by running tasks'),
    );
  });

  it('leaves the version out when the event names none', () => {
    const change = changeOf(labelUpdated({ name: 'mySecret', labelUpdated: 'AWSCURRENT' }));

    expect(change).not.toHaveProperty('versionId');
    expect(change.stages).toEqual(['AWSCURRENT']);
  });

  it('finds the secret ARN among the resources even after an ARN of something else', () => {
    const change = changeOf(
      labelUpdated({ labelUpdated: 'AWSCURRENT' }, [KMS_KEY, `${SM}:mySecret-a1b2c3`]),
    );

    expect(change.locator).toStrictEqual({
      arn: { ...SCOPE, name: 'mySecret', suffix: 'a1b2c3' },
    });
  });

  it('locates the secret by its name alone when no ARN is given', () => {
    const change = changeOf(labelUpdated({ name: 'mySecret', labelUpdated: 'AWSCURRENT' }));

    expect(change.locator).toStrictEqual({ name: 'mySecret' });
  });

  it('keeps both the ARN and the name when they agree', () => {
    const change = changeOf(
      labelUpdated({ name: 'mySecret', labelUpdated: 'AWSCURRENT' }, [`${SM}:mySecret-a1b2c3`]),
    );

    expect(change.locator).toStrictEqual({
      arn: { ...SCOPE, name: 'mySecret', suffix: 'a1b2c3' },
      name: 'mySecret',
    });
  });

  it.each([
    [
      'an invalid secret name',
      { name: 'not a name' },
      [],
      'the secret name in the event is invalid',
    ],
    [
      'an invalid secret name beside a valid ARN',
      { name: 'not a name' },
      [`${SM}:mySecret-a1b2c3`],
      'the secret name in the event is invalid',
    ],
    [
      'a name and an ARN of different secrets',
      { name: 'other' },
      [`${SM}:mySecret-a1b2c3`],
      'the secret name and ARN in the event disagree',
    ],
    ['neither name nor ARN', {}, [], 'the event names no secret'],
  ])('ignores an event with %s, saying why', (_case, detail, resources, reason) => {
    expect(labelUpdated({ labelUpdated: 'AWSCURRENT', ...detail }, resources)).toEqual(
      ignored(reason),
    );
  });
});

describe('Secrets Manager CloudTrail records', () => {
  const putSecretValue = (
    requestParameters: Record<string, unknown>,
    responseElements: Record<string, unknown> = {},
  ) => cloudTrail({ eventName: 'PutSecretValue', requestParameters, responseElements });

  it.each([
    ['no eventName', {}, 'detail.eventName is missing'],
    [
      'a call that changes no value',
      { eventName: 'GetSecretValue', requestParameters: { secretId: 'db' } },
      'GetSecretValue does not change the value tasks receive',
    ],
    [
      'another service as eventSource',
      { eventName: 'PutSecretValue', eventSource: 'ssm.amazonaws.com' },
      'detail.eventSource ssm.amazonaws.com is not Secrets Manager',
    ],
    [
      'an error code',
      {
        eventName: 'PutSecretValue',
        errorCode: 'AccessDenied',
        requestParameters: { secretId: 'db' },
      },
      'PutSecretValue failed ("AccessDenied"); nothing changed',
    ],
  ])('ignores a record with %s, saying why', (_case, detail, reason) => {
    expect(cloudTrail(detail)).toEqual(ignored(reason));
  });

  it('reads a record whose errorCode is null as a call that succeeded', () => {
    expect(
      changeOf(
        cloudTrail({
          eventName: 'PutSecretValue',
          errorCode: null,
          requestParameters: { secretId: 'db' },
        }),
      ),
    ).toMatchObject({ action: 'redeploy', trigger: 'PutSecretValue' });
  });

  describe('UpdateSecretVersionStage', () => {
    const stageCall = (requestParameters: Record<string, unknown>) =>
      cloudTrail({
        eventName: 'UpdateSecretVersionStage',
        requestParameters: { secretId: `${SM}:db-Xy12Ab`, ...requestParameters },
      });

    it.each([
      ['no versionStage', {}, 'UpdateSecretVersionStage names no versionStage'],
      [
        'AWSPENDING removed',
        { versionStage: 'AWSPENDING', removeFromVersionId: 'v1' },
        'AWSPENDING was removed: a rotation cleaning up, nothing tasks read',
      ],
      [
        'AWSCURRENT removed without being moved',
        { versionStage: 'AWSCURRENT', removeFromVersionId: 'v1' },
        'AWSCURRENT cannot be removed, only moved: nothing changed',
      ],
      [
        'AWSPENDING moved',
        { versionStage: 'AWSPENDING', moveToVersionId: 'v2' },
        'label AWSPENDING is not read by running tasks',
      ],
    ])('ignores a call with %s, saying why', (_case, request, reason) => {
      expect(stageCall(request)).toEqual(ignored(reason));
    });
  });

  describe('UpdateSecret', () => {
    const updateSecret = (requestParameters: Record<string, unknown>) =>
      cloudTrail({
        eventName: 'UpdateSecret',
        requestParameters: { secretId: 'prod/orders/db', ...requestParameters },
        responseElements: { name: 'prod/orders/db' },
      });

    it.each([
      ['a string', { secretString: 'HIDDEN_DUE_TO_SECURITY_REASONS' }],
      ['a binary', { secretBinary: 'HIDDEN_DUE_TO_SECURITY_REASONS' }],
    ])('redeploys when the request stored a new %s value, even without a versionId', (_c, r) => {
      expect(changeOf(updateSecret(r))).toMatchObject({
        action: 'redeploy',
        stages: ['AWSCURRENT'],
      });
    });

    it('ignores a call that stored no value, saying so', () => {
      expect(updateSecret({ description: 'new text' })).toEqual(
        ignored('UpdateSecret changed only metadata, not the value'),
      );
    });
  });

  describe('PutSecretValue', () => {
    it('takes the version id from the response before the request token', () => {
      const change = changeOf(
        putSecretValue(
          { secretId: 'db', clientRequestToken: 'v-request' },
          { versionId: 'v-response' },
        ),
      );

      expect(change.versionId).toBe('v-response');
    });

    it('leaves the version out when neither response nor request names one', () => {
      expect(changeOf(putSecretValue({ secretId: 'db' }))).not.toHaveProperty('versionId');
    });

    it.each([
      [['AWSPENDING'], 'PutSecretValue wrote a version labelled AWSPENDING: '],
      [[], 'PutSecretValue wrote a version labelled with no label: '],
    ])('ignores a version labelled %j, naming its labels', (versionStages, start) => {
      expect(putSecretValue({ secretId: 'db' }, { versionStages })).toEqual(
        ignored(`${start}not live yet (a rotation in progress)`),
      );
    });
  });

  describe('the secret id the caller passed', () => {
    const deleteSecret = (secretId: string, responseElements: Record<string, unknown> = {}) =>
      cloudTrail({ eventName: 'DeleteSecret', requestParameters: { secretId }, responseElements });

    it('accepts a partial ARN and keeps it as the reference, with no name', () => {
      expect(changeOf(deleteSecret(`${SM}:prod/db`)).locator).toStrictEqual({
        reference: `${SM}:prod/db`,
      });
    });

    it('keeps the reference together with the name the response gives', () => {
      expect(changeOf(deleteSecret('prod/db', { name: 'prod/db' })).locator).toStrictEqual({
        reference: 'prod/db',
        name: 'prod/db',
      });
    });

    it.each([
      [
        'a Secrets Manager ARN of another resource type',
        `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:other:db`,
      ],
      ['a secret ARN followed by a JSON key', `${SM}:prod/db:password`],
      ['a secret ARN with an invalid name', `${SM}:not a name`],
      ['an SSM parameter ARN', `${PARAMETER}/db`],
    ])('rejects %s', (_case, secretId) => {
      expect(deleteSecret(secretId)).toEqual(
        ignored('the secret id in the event is neither a name nor an ARN'),
      );
    });
  });
});
