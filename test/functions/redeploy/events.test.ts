import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Envelope,
  type Interpretation,
  interpret,
  parseEnvelope,
} from '../../../functions/redeploy/events.js';
import { type JsonObject, detailOf, loadFixture } from '../../helpers/fixtures.js';

function envelopeOf(event: unknown): Envelope {
  const envelope = parseEnvelope(event);
  if (typeof envelope === 'string') throw new Error(`unexpected rejection: ${envelope}`);
  return envelope;
}

const interpretEvent = (event: unknown, partition = 'aws'): Interpretation =>
  interpret(envelopeOf(event), partition);
const RDS_DB_UUID = 'c930822c-d881-46ea-99ac-7131ca8dc57a';

const interpretFixture = (path: string): Interpretation => interpretEvent(loadFixture(path));

function expectIgnored(interpretation: Interpretation): void {
  expect(interpretation).toEqual({ kind: 'ignored', reason: expect.any(String) as string });
}

describe('Parameter Store Change', () => {
  it('redeploys on the documented Create sample', () => {
    expect(interpretFixture('ssm/parameter-store-change-create.awsdocs.json')).toEqual({
      kind: 'change',
      change: {
        kind: 'parameter',
        eventId: '6a7e4feb-b491-4cf7-a9f1-bf3703497718',
        time: new Date('2017-05-22T16:43:48Z'),
        trigger: 'Parameter Store Change (Create)',
        action: 'redeploy',
        parameter: {
          partition: 'aws',
          region: 'us-east-2',
          account: '123456789012',
          name: 'MyExampleParameter',
        },
      },
    });
  });

  it('redeploys on the documented Update sample', () => {
    expect(interpretFixture('ssm/parameter-store-change-update.awsdocs.json')).toMatchObject({
      kind: 'change',
      change: { action: 'redeploy', trigger: 'Parameter Store Change (Update)' },
    });
  });

  it('warns (does not redeploy) on the documented Delete sample', () => {
    expect(interpretFixture('ssm/parameter-store-change-delete.awsdocs.json')).toMatchObject({
      kind: 'change',
      change: {
        kind: 'parameter',
        action: 'warn',
        parameter: { name: 'MyExampleParameter', region: 'us-east-2' },
      },
    });
  });

  it('reads a hierarchical name with its leading slash removed', () => {
    expect(
      interpretFixture(
        'ssm/parameter-store-change-create-hierarchical.aws-solutions-instance-scheduler.json',
      ),
    ).toMatchObject({
      kind: 'change',
      change: {
        parameter: {
          region: 'us-east-1',
          account: '111111111111',
          name: 'scheduler/do-not-delete-manually/static',
        },
      },
    });
  });

  it('ignores a Create that failed (the event carries an exception)', () => {
    expectIgnored(
      interpretFixture('ssm/parameter-store-change-create-failed-exception.awsdocs.json'),
    );
  });

  it('ignores LabelParameterVersion: ECS resolves parameters by name, not label', () => {
    expectIgnored(
      interpretFixture(
        'ssm/parameter-store-change-label-parameter-version.from-api-reference.json',
      ),
    );
  });

  it('ignores an unknown operation', () => {
    const event = loadFixture('ssm/parameter-store-change-update.awsdocs.json');
    detailOf(event).operation = 'Rename';
    expectIgnored(interpretEvent(event));
  });

  it('takes the partition from the function, since events carry none', () => {
    const event = loadFixture('ssm/parameter-store-change-update.awsdocs.json');
    event.resources = [];
    expect(interpretEvent(event, 'aws-cn')).toMatchObject({
      change: { parameter: { partition: 'aws-cn', name: 'MyExampleParameter' } },
    });
  });

  it('finds the parameter from resources alone when detail.name is missing', () => {
    const event = loadFixture('ssm/parameter-store-change-update.awsdocs.json');
    delete detailOf(event).name;
    expect(interpretEvent(event)).toMatchObject({
      change: { parameter: { name: 'MyExampleParameter' } },
    });
  });

  it('ignores an event whose detail.name and resources name different parameters', () => {
    const event = loadFixture('ssm/parameter-store-change-update.awsdocs.json');
    detailOf(event).name = 'SomethingElse';
    expectIgnored(interpretEvent(event));
  });

  it('ignores an event that names no parameter', () => {
    const event = loadFixture('ssm/parameter-store-change-update.awsdocs.json');
    delete detailOf(event).name;
    event.resources = [];
    expectIgnored(interpretEvent(event));
  });

  it('ignores an invalid parameter name', () => {
    const event = loadFixture('ssm/parameter-store-change-update.awsdocs.json');
    detailOf(event).name = 'not a name';
    event.resources = [];
    expectIgnored(interpretEvent(event));
  });
});

describe('Parameter Store Policy Action', () => {
  const path = 'ssm/parameter-store-policy-action-expiration.from-api-reference.json';

  it('warns on Expiration: the parameter was deleted', () => {
    expect(interpretFixture(path)).toEqual({
      kind: 'change',
      change: {
        kind: 'parameter',
        eventId: '7f6a8b9c-0d1e-4f2a-9b3c-5d6e7f8a9b0c',
        time: new Date('2025-03-15T00:00:04Z'),
        trigger: 'Parameter Store Policy Action (Expiration)',
        action: 'warn',
        parameter: {
          partition: 'aws',
          region: 'eu-central-1',
          account: '111122223333',
          name: 'prod/orders/partner-token',
        },
      },
    });
  });

  it.each(['ExpirationNotification', 'NoChangeNotification'])(
    'ignores %s, which changes nothing',
    (policyType) => {
      const event = loadFixture(path);
      detailOf(event)['policy-type'] = policyType;
      expectIgnored(interpretEvent(event));
    },
  );
});

describe('Secret Label Updated', () => {
  const path = 'secretsmanager/eventbridge-SecretLabelUpdated-native.awsdocs.json';

  it('redeploys when AWSCURRENT moves, with the full ARN from resources', () => {
    expect(interpretFixture(path)).toEqual({
      kind: 'change',
      change: {
        kind: 'secret',
        eventId: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
        time: new Date('2024-02-06T16:43:48Z'),
        trigger: 'Secret Label Updated (AWSCURRENT)',
        action: 'redeploy',
        scope: { partition: 'aws', region: 'us-west-2', account: '012345678901' },
        locator: {
          arn: {
            partition: 'aws',
            region: 'us-west-2',
            account: '012345678901',
            name: 'mySecret',
            suffix: 'a1b2c3',
          },
          name: 'mySecret',
        },
        stages: ['AWSCURRENT'],
        versionId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
      },
    });
  });

  it('redeploys when a custom label moves, for that label only', () => {
    const event = loadFixture(path);
    detailOf(event).labelUpdated = 'blue';
    expect(interpretEvent(event)).toMatchObject({ kind: 'change', change: { stages: ['blue'] } });
  });

  it('ignores AWSPENDING, which no running task reads', () => {
    const event = loadFixture(path);
    detailOf(event).labelUpdated = 'AWSPENDING';
    expectIgnored(interpretEvent(event));
  });

  it('ignores an event without labelUpdated', () => {
    const event = loadFixture(path);
    delete detailOf(event).labelUpdated;
    expectIgnored(interpretEvent(event));
  });

  it('ignores an event whose name and ARN disagree', () => {
    const event = loadFixture(path);
    detailOf(event).name = 'otherSecret';
    expectIgnored(interpretEvent(event));
  });

  it('falls back to the name when resources carry no ARN', () => {
    const event = loadFixture(path);
    event.resources = [];
    expect(interpretEvent(event)).toMatchObject({
      change: { locator: { name: 'mySecret' } },
    });
  });

  // Regression (SECRET_NAME once rejected `!`): see the RotationSucceeded test below.
  it('redeploys when AWSCURRENT moves on an RDS-managed secret (name rds!db-…)', () => {
    const event = loadFixture('secretsmanager/eventbridge-SecretLabelUpdated-native.awsdocs.json');
    event.resources = [
      `arn:aws:secretsmanager:us-west-2:012345678901:secret:rds!db-${RDS_DB_UUID}-jWJfpp`,
    ];
    detailOf(event).name = `rds!db-${RDS_DB_UUID}`;
    expect(interpretEvent(event)).toMatchObject({
      kind: 'change',
      change: {
        stages: ['AWSCURRENT'],
        locator: { arn: { name: `rds!db-${RDS_DB_UUID}`, suffix: 'jWJfpp' } },
      },
    });
  });
});

describe('Secrets Manager events via CloudTrail', () => {
  it('redeploys on RotationSucceeded with the secret of additionalEventData.SecretId', () => {
    expect(
      interpretFixture(
        'secretsmanager/eventbridge-RotationSucceeded.aws-database-blog-2022.placeholders-filled.json',
      ),
    ).toMatchObject({
      kind: 'change',
      change: {
        kind: 'secret',
        action: 'redeploy',
        trigger: 'RotationSucceeded',
        stages: ['AWSCURRENT'],
        locator: {
          arn: {
            region: 'us-west-2',
            account: '123456789012',
            name: 'Appuser-pyodbc',
            suffix: 'WoDpmU',
          },
        },
      },
    });
  });

  it('rejects the RotationSucceeded sample while it has the "accountid" placeholder', () => {
    expect(
      parseEnvelope(
        loadFixture('secretsmanager/eventbridge-RotationSucceeded.aws-database-blog-2022.json'),
      ),
    ).toBe('the event has no valid account');
  });

  it('reads the secret from serviceEventDetails.secretId when additionalEventData is empty', () => {
    const event = loadFixture(
      'secretsmanager/eventbridge-RotationSucceeded.aws-database-blog-2022.placeholders-filled.json',
    );
    const detail = detailOf(event);
    detail.additionalEventData = null;
    detail.serviceEventDetails = { secretId: 'prod/orders/db' };
    expect(interpretEvent(event)).toMatchObject({
      change: { trigger: 'RotationSucceeded', locator: { reference: 'prod/orders/db' } },
    });
  });

  // Regression (SECRET_NAME once rejected `!`): RDS-managed master user secrets are named
  // `rds!db-<uuid>` / `rds!cluster-<uuid>`; the `!` is rejected, so their rotations are ignored.
  it('redeploys on RotationSucceeded of an RDS-managed secret (name rds!db-…)', () => {
    const event = loadFixture(
      'secretsmanager/eventbridge-RotationSucceeded.aws-database-blog-2022.placeholders-filled.json',
    );
    const detail = detailOf(event);
    detail.additionalEventData = null;
    detail.serviceEventDetails = { secretId: `rds!db-${RDS_DB_UUID}` };
    expect(interpretEvent(event)).toMatchObject({
      kind: 'change',
      change: { trigger: 'RotationSucceeded', locator: { reference: `rds!db-${RDS_DB_UUID}` } },
    });
  });

  it('warns on DeleteSecret, using the pre-2024 responseElements.aRN spelling', () => {
    expect(
      interpretFixture(
        'secretsmanager/cloudtrail-record-DeleteSecret.awsdocs-2022.wrapped-in-eventbridge.json',
      ),
    ).toEqual({
      kind: 'change',
      change: {
        kind: 'secret',
        eventId: '5b3e2f0a-6c1d-4e8f-9a7b-2c4d6e8f0a1b',
        time: new Date('2018-04-03T17:51:02Z'),
        trigger: 'DeleteSecret',
        action: 'warn',
        scope: { partition: 'aws', region: 'us-east-2', account: '123456789012' },
        locator: {
          arn: {
            partition: 'aws',
            region: 'us-east-2',
            account: '123456789012',
            name: 'MyDatabaseSecret',
            suffix: 'a1b2c3',
          },
          name: 'MyDatabaseSecret',
        },
        stages: [],
      },
    });
  });

  it('warns on DeleteSecret with the current responseElements.arn spelling', () => {
    const event = loadFixture(
      'secretsmanager/cloudtrail-record-DeleteSecret.awsdocs-2022.wrapped-in-eventbridge.json',
    );
    const response = detailOf(event).responseElements as JsonObject;
    response.arn = response.aRN;
    delete response.aRN;
    expect(interpretEvent(event)).toMatchObject({
      change: { action: 'warn', locator: { arn: { name: 'MyDatabaseSecret', suffix: 'a1b2c3' } } },
    });
  });

  it('falls back to requestParameters.secretId when responseElements is null (console)', () => {
    const event = loadFixture(
      'secretsmanager/cloudtrail-record-DeleteSecret.awsdocs-2022.wrapped-in-eventbridge.json',
    );
    detailOf(event).responseElements = null;
    expect(interpretEvent(event)).toMatchObject({
      change: { action: 'warn', locator: { reference: 'MyDatabaseSecret' } },
    });
  });

  it('ignores RotationFailed: the value did not change', () => {
    expectIgnored(
      interpretFixture(
        'secretsmanager/cloudtrail-record-RotationFailed.awsdocs-2023.wrapped-in-eventbridge.json',
      ),
    );
  });

  it('ignores RotateSecret: only the later label move makes the new value live', () => {
    expectIgnored(
      interpretFixture('secretsmanager/cloudtrail-RotateSecret.from-api-reference.json'),
    );
  });

  it('ignores the raw CloudTrail record when it is not wrapped in an EventBridge envelope', () => {
    expect(
      parseEnvelope(loadFixture('secretsmanager/cloudtrail-record-DeleteSecret.awsdocs-2022.json')),
    ).toBe('the event has no id');
  });

  describe('PutSecretValue', () => {
    it('redeploys on a manual put and leaves the stages to be looked up by version id', () => {
      const interpretation = interpretFixture(
        'secretsmanager/eventbridge-PutSecretValue.external-secrets-reloader-2024.json',
      );
      expect(interpretation).toMatchObject({
        kind: 'change',
        change: {
          kind: 'secret',
          action: 'redeploy',
          trigger: 'PutSecretValue',
          versionId: '4d383ea9-084a-49c9-8722-cbfb0f25c456',
          locator: {
            arn: {
              region: 'eu-west-1',
              account: '123456789012',
              name: 'prod/test-secret',
              suffix: '123456',
            },
          },
        },
      });
      expect(interpretation.kind === 'change' && interpretation.change).not.toHaveProperty(
        'stages',
      );
    });

    it('ignores a rotation createSecret step writing AWSPENDING only', () => {
      expectIgnored(
        interpretFixture(
          'secretsmanager/cloudtrail-PutSecretValue-AWSPENDING.from-api-reference.json',
        ),
      );
    });

    it('redeploys when the new version is written straight into AWSCURRENT', () => {
      const event = loadFixture(
        'secretsmanager/cloudtrail-PutSecretValue-AWSPENDING.from-api-reference.json',
      );
      const detail = detailOf(event);
      (detail.requestParameters as JsonObject).versionStages = ['AWSCURRENT'];
      (detail.responseElements as JsonObject).versionStages = ['AWSCURRENT'];
      expect(interpretEvent(event)).toMatchObject({
        kind: 'change',
        change: { stages: ['AWSCURRENT'], versionId: '7d6c5b4a-3f2e-4d1c-9b0a-8f7e6d5c4b3a' },
      });
    });

    it('ignores a call that failed (errorCode set)', () => {
      const event = loadFixture(
        'secretsmanager/eventbridge-PutSecretValue.external-secrets-reloader-2024.json',
      );
      const detail = detailOf(event);
      detail.errorCode = 'AccessDenied';
      detail.errorMessage = 'User is not authorized to perform secretsmanager:PutSecretValue';
      detail.responseElements = null;
      expectIgnored(interpretEvent(event));
    });

    it('ignores a record from another service that claims to be a Secrets Manager event', () => {
      const event = loadFixture(
        'secretsmanager/eventbridge-PutSecretValue.external-secrets-reloader-2024.json',
      );
      detailOf(event).eventSource = 'ssm.amazonaws.com';
      expectIgnored(interpretEvent(event));
    });
  });

  describe('UpdateSecret', () => {
    it('redeploys when a new value was stored (the response has a versionId)', () => {
      expect(
        interpretFixture(
          'secretsmanager/cloudtrail-UpdateSecret-new-value.from-api-reference.json',
        ),
      ).toMatchObject({
        kind: 'change',
        change: {
          action: 'redeploy',
          trigger: 'UpdateSecret',
          stages: ['AWSCURRENT'],
          locator: { arn: { region: 'eu-central-1', name: 'prod/orders/db', suffix: 'Xy12Ab' } },
        },
      });
    });

    it('ignores a change of the description only', () => {
      expectIgnored(
        interpretFixture(
          'secretsmanager/cloudtrail-UpdateSecret-description-only.from-api-reference.json',
        ),
      );
    });
  });

  describe('UpdateSecretVersionStage', () => {
    const path = 'secretsmanager/cloudtrail-UpdateSecretVersionStage.from-api-reference.json';

    it('redeploys when AWSCURRENT is moved to a version (rotation finishSecret)', () => {
      expect(interpretFixture(path)).toMatchObject({
        kind: 'change',
        change: {
          action: 'redeploy',
          trigger: 'UpdateSecretVersionStage (AWSCURRENT)',
          stages: ['AWSCURRENT'],
          locator: { arn: { name: 'prod/orders/db', suffix: 'Xy12Ab' } },
        },
      });
    });

    it('reports a label removed from every version (no version gained it): pinned references break', () => {
      const event = loadFixture(path);
      const request = detailOf(event).requestParameters as JsonObject;
      delete request.moveToVersionId;
      request.versionStage = 'blue';
      expect(interpretEvent(event)).toMatchObject({
        kind: 'change',
        change: {
          action: 'label-removed',
          stages: ['blue'],
          trigger: 'UpdateSecretVersionStage (blue removed)',
        },
      });
    });

    it('ignores AWSPENDING being removed (a rotation cleaning up)', () => {
      const event = loadFixture(path);
      const request = detailOf(event).requestParameters as JsonObject;
      delete request.moveToVersionId;
      request.versionStage = 'AWSPENDING';
      expectIgnored(interpretEvent(event));
    });

    it('ignores AWSPENDING being moved', () => {
      const event = loadFixture(path);
      (detailOf(event).requestParameters as JsonObject).versionStage = 'AWSPENDING';
      expectIgnored(interpretEvent(event));
    });

    it('ignores a call that names no stage', () => {
      const event = loadFixture(path);
      delete (detailOf(event).requestParameters as JsonObject).versionStage;
      expectIgnored(interpretEvent(event));
    });
  });

  it.each(['GetSecretValue', 'RestoreSecret', 'TagResource', 'RotationStarted'])(
    'ignores %s',
    (eventName) => {
      const event = loadFixture(
        'secretsmanager/cloudtrail-UpdateSecret-new-value.from-api-reference.json',
      );
      detailOf(event).eventName = eventName;
      expectIgnored(interpretEvent(event));
    },
  );

  it('ignores a record that names no secret at all', () => {
    const event = loadFixture(
      'secretsmanager/cloudtrail-UpdateSecret-new-value.from-api-reference.json',
    );
    detailOf(event).requestParameters = null;
    detailOf(event).responseElements = null;
    expectIgnored(interpretEvent(event));
  });

  it('ignores a secret id that is neither a name nor an ARN', () => {
    const event = loadFixture(
      'secretsmanager/cloudtrail-UpdateSecret-new-value.from-api-reference.json',
    );
    detailOf(event).requestParameters = { secretId: 'not a secret id!' };
    detailOf(event).responseElements = { versionId: 'e5d4c3b2-a1f0-4e9d-8c7b-6a5f4e3d2c1b' };
    expectIgnored(interpretEvent(event));
  });
});

describe('unsupported events', () => {
  it('ignores an event type it does not handle', () => {
    const event = loadFixture('ssm/parameter-store-change-update.awsdocs.json');
    event.source = 'aws.ecs';
    event['detail-type'] = 'ECS Service Action';
    expect(interpretEvent(event)).toEqual({
      kind: 'ignored',
      reason: 'unsupported event type: aws.ecs / ECS Service Action',
    });
  });
});

describe('parseEnvelope', () => {
  const valid = (): JsonObject => loadFixture('ssm/parameter-store-change-update.awsdocs.json');

  it('accepts the documented sample', () => {
    expect(parseEnvelope(valid())).toMatchObject({
      id: '9547ef2d-3b7e-4057-b6cb-5fdf09ee7c8f',
      source: 'aws.ssm',
      detailType: 'Parameter Store Change',
      time: new Date('2017-05-22T16:44:48Z'),
      region: 'us-east-2',
      account: '123456789012',
    });
  });

  it('accepts an event without resources', () => {
    const event = valid();
    delete event.resources;
    expect(parseEnvelope(event)).toMatchObject({ resources: [] });
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', '{"id":"x"}'],
    ['a number', 42],
    ['an array', [{ id: 'x' }]],
  ])('rejects %s with a reason', (_case, event) => {
    expect(parseEnvelope(event)).toBe('the event is not a JSON object');
  });

  const mutations: [string, (event: JsonObject) => void, string][] = [
    ['no id', (e) => delete e.id, 'the event has no id'],
    ['an empty id', (e) => (e.id = ''), 'the event has no id'],
    ['a numeric id', (e) => (e.id = 7), 'the event has no id'],
    ['no source', (e) => delete e.source, 'the event has no source'],
    ['no detail-type', (e) => delete e['detail-type'], 'the event has no detail-type'],
    ['no time', (e) => delete e.time, 'the event has no valid time'],
    ['a time that is not ISO 8601', (e) => (e.time = 'yesterday'), 'the event has no valid time'],
    ['an impossible time', (e) => (e.time = '2024-13-45T25:61:61Z'), 'the event has no valid time'],
    ['a time as epoch number', (e) => (e.time = 1495471488), 'the event has no valid time'],
    ['no region', (e) => delete e.region, 'the event has no valid region'],
    ['a placeholder region', (e) => (e.region = 'region'), 'the event has no valid region'],
    ['no account', (e) => delete e.account, 'the event has no valid account'],
    ['a numeric account', (e) => (e.account = 123456789012), 'the event has no valid account'],
    ['a placeholder account', (e) => (e.account = 'accountid'), 'the event has no valid account'],
    ['no detail', (e) => delete e.detail, 'the event has no detail object'],
    ['a null detail', (e) => (e.detail = null), 'the event has no detail object'],
    ['a string detail', (e) => (e.detail = '{}'), 'the event has no detail object'],
    ['an array detail', (e) => (e.detail = []), 'the event has no detail object'],
    [
      'resources that are not a list',
      (e) => (e.resources = 'arn'),
      'the event resources are not a list of strings',
    ],
    [
      'resources with a non-string',
      (e) => (e.resources = [1]),
      'the event resources are not a list of strings',
    ],
    [
      'null resources',
      (e) => (e.resources = null),
      'the event resources are not a list of strings',
    ],
  ];

  it.each(mutations)('rejects an event with %s', (_case, mutate, reason) => {
    const event = valid();
    mutate(event);
    expect(parseEnvelope(event)).toBe(reason);
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(typeof parseEnvelope(value)).toMatch(/^(string|object)$/);
      }),
    );
  });

  it('never throws on a well-formed envelope around any detail of any supported type', () => {
    const types = [
      ['aws.ssm', 'Parameter Store Change'],
      ['aws.ssm', 'Parameter Store Policy Action'],
      ['aws.secretsmanager', 'Secret Label Updated'],
      ['aws.secretsmanager', 'AWS API Call via CloudTrail'],
      ['aws.secretsmanager', 'AWS Service Event via CloudTrail'],
    ] as const;
    const field = fc.oneof(
      fc.jsonValue(),
      fc.constantFrom(
        'Create',
        'Delete',
        'Expiration',
        'AWSCURRENT',
        'AWSPENDING',
        'PutSecretValue',
        'UpdateSecret',
        'UpdateSecretVersionStage',
        'DeleteSecret',
        'RotationSucceeded',
        'secretsmanager.amazonaws.com',
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf',
        'arn:aws:ssm:us-east-1:123456789012:parameter/x',
      ),
    );
    const record = fc.dictionary(
      fc.constantFrom(
        'name',
        'operation',
        'exception',
        'policy-type',
        'parameter-name',
        'labelUpdated',
        'eventName',
        'eventSource',
        'errorCode',
        'arn',
        'aRN',
        'secretId',
        'versionStage',
        'versionStages',
        'moveToVersionId',
        'versionId',
        'SecretId',
        'secretString',
      ),
      field,
    );
    const detail = fc.record({
      top: record,
      requestParameters: fc.oneof(record, fc.jsonValue()),
      responseElements: fc.oneof(record, fc.jsonValue()),
      additionalEventData: fc.oneof(record, fc.jsonValue()),
      serviceEventDetails: fc.oneof(record, fc.jsonValue()),
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        detail,
        fc.array(
          fc.oneof(
            fc.string(),
            field.filter((v) => typeof v === 'string'),
          ),
        ),
        ([source, detailType], { top, ...nested }, resources) => {
          const event = {
            id: 'evt',
            source,
            'detail-type': detailType,
            time: '2025-01-01T00:00:00Z',
            region: 'us-east-1',
            account: '123456789012',
            resources,
            detail: { ...top, ...nested },
          };
          const result = interpretEvent(event);
          expect(['change', 'ignored']).toContain(result.kind);
        },
      ),
      { numRuns: 500 },
    );
  });
});
