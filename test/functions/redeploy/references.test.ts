import { describe, expect, it } from 'vitest';
import { scopeOfArn } from '../../../functions/redeploy/arn.js';
import {
  type TaskDefinitionLike,
  extractReferences,
  parseReference,
} from '../../../functions/redeploy/references.js';
import { loadFixture } from '../../helpers/fixtures.js';

/** The scope the `.placeholders-filled` ECS samples were filled with. */
const HOME = { partition: 'aws', region: 'us-east-1', account: '123456789012' };
const SM = 'arn:aws:secretsmanager:us-east-1:123456789012:secret';

const taskDefinitionFixture = (name: string): TaskDefinitionLike => loadFixture(`ecs/${name}.json`);

describe('extractReferences on the ECS developer guide samples', () => {
  it('reads secrets[].valueFrom given as a full secret ARN', () => {
    const refs = extractReferences(
      taskDefinitionFixture('containerdef-secrets-sm-full-arn.awsdocs.placeholders-filled'),
      HOME,
    );
    expect(refs).toEqual([
      {
        kind: 'secret',
        target: { ...HOME, resource: 'secret_name-AbCdEf' },
        location: 'container ?: secrets[environment_variable_name]',
      },
    ]);
  });

  it('reads a JSON key without pinning a stage or version', () => {
    const [ref] = extractReferences(
      taskDefinitionFixture('containerdef-secrets-sm-json-key.awsdocs.placeholders-filled'),
      HOME,
    );
    expect(ref).toMatchObject({
      kind: 'secret',
      target: { ...HOME, resource: 'appauthexample-AbCdEf' },
      jsonKey: 'username1',
    });
    expect(ref).not.toHaveProperty('versionStage');
    expect(ref).not.toHaveProperty('versionId');
  });

  it('reads a JSON key pinned to a version stage', () => {
    const [ref] = extractReferences(
      taskDefinitionFixture(
        'containerdef-secrets-sm-json-key-and-version-stage.awsdocs.placeholders-filled',
      ),
      HOME,
    );
    expect(ref).toMatchObject({ jsonKey: 'username1', versionStage: 'AWSPREVIOUS' });
    expect(ref).not.toHaveProperty('versionId');
  });

  it('reads a JSON key pinned to a version id', () => {
    const [ref] = extractReferences(
      taskDefinitionFixture(
        'containerdef-secrets-sm-json-key-and-version-id.awsdocs.placeholders-filled',
      ),
      HOME,
    );
    expect(ref).toMatchObject({
      jsonKey: 'username1',
      versionId: '9d4cb84b-ad69-40c0-a0ab-cead3EXAMPLE',
    });
    expect(ref).not.toHaveProperty('versionStage');
  });

  it('reads a whole secret pinned to a version stage', () => {
    const [ref] = extractReferences(
      taskDefinitionFixture('containerdef-secrets-sm-version-stage.awsdocs.placeholders-filled'),
      HOME,
    );
    expect(ref).toMatchObject({
      target: { ...HOME, resource: 'appauthexample-AbCdEf' },
      versionStage: 'AWSPREVIOUS',
    });
    expect(ref).not.toHaveProperty('jsonKey');
  });

  it('reads a whole secret pinned to a version id', () => {
    const [ref] = extractReferences(
      taskDefinitionFixture('containerdef-secrets-sm-version-id.awsdocs.placeholders-filled'),
      HOME,
    );
    expect(ref).toMatchObject({ versionId: '9d4cb84b-ad69-40c0-a0ab-cead3EXAMPLE' });
    expect(ref).not.toHaveProperty('jsonKey');
  });

  it('reads an SSM parameter given by ARN', () => {
    expect(
      extractReferences(
        taskDefinitionFixture('containerdef-secrets-ssm-arn.awsdocs.placeholders-filled'),
        { ...HOME, region: 'eu-west-1' },
      ),
    ).toEqual([
      {
        kind: 'parameter',
        parameter: { ...HOME, name: 'parameter_name' },
        location: 'container ?: secrets[environment_variable_name]',
      },
    ]);
  });

  it('reads logConfiguration.secretOptions in the documentation array form', () => {
    expect(
      extractReferences(
        taskDefinitionFixture(
          'containerdef-logconfig-secretoptions-sm.awsdocs.placeholders-filled',
        ),
        HOME,
      ),
    ).toEqual([
      {
        kind: 'secret',
        target: { ...HOME, resource: 'secret_name-AbCdEf' },
        location: 'container ?: logConfiguration.secretOptions[splunk-token]',
      },
    ]);
  });

  it('reads the SSM parameter names of a console task definition export in its own scope', () => {
    const td = taskDefinitionFixture('task-definition-console-json-ssm-names.public-repo-2024');
    const home = scopeOfArn(td.taskDefinitionArn ?? '');
    expect(home).toEqual({ partition: 'aws', region: 'ap-northeast-1', account: '730335441282' });
    const refs = extractReferences(td, home ?? HOME);
    expect(refs.map((r) => (r.kind === 'parameter' ? r.parameter : r))).toEqual(
      [
        'ass-staging/db/host',
        'ass-staging/db/password',
        'ass-staging/db/username',
        'ass-staging/rails-master-key',
        'ass-staging/db/endpoint',
        'ass-staging/db/name',
      ].map((name) => ({
        partition: 'aws',
        region: 'ap-northeast-1',
        account: '730335441282',
        name,
      })),
    );
    expect(refs[1]?.location).toBe('container rails: secrets[DB_PASSWORD]');
  });

  it.each([
    'containerdef-secrets-sm-full-arn',
    'containerdef-secrets-sm-json-key',
    'containerdef-secrets-sm-json-key-and-version-id',
    'containerdef-secrets-sm-json-key-and-version-stage',
    'containerdef-secrets-sm-version-id',
    'containerdef-secrets-sm-version-stage',
    'containerdef-secrets-ssm-arn',
    'containerdef-logconfig-secretoptions-sm',
  ])('finds nothing in %s while it still has the "region:aws_account_id" placeholders', (name) => {
    expect(extractReferences(taskDefinitionFixture(`${name}.awsdocs`), HOME)).toEqual([]);
  });
});

describe('extractReferences on the other reference forms', () => {
  it('reads logConfiguration.secretOptions in the API object form', () => {
    const refs = extractReferences(
      {
        containerDefinitions: [
          {
            name: 'web',
            logConfiguration: {
              secretOptions: [{ name: 'dd-api-key', valueFrom: `${SM}:datadog-AbCdEf` }],
            },
          },
        ],
      },
      HOME,
    );
    expect(refs).toEqual([
      expect.objectContaining({
        target: { ...HOME, resource: 'datadog-AbCdEf' },
        location: 'container web: logConfiguration.secretOptions[dd-api-key]',
      }),
    ]);
  });

  it('reads repositoryCredentials.credentialsParameter', () => {
    const refs = extractReferences(
      {
        containerDefinitions: [
          {
            name: 'web',
            repositoryCredentials: { credentialsParameter: `${SM}:dockerhub-AbCdEf` },
          },
        ],
      },
      HOME,
    );
    expect(refs).toEqual([
      expect.objectContaining({
        kind: 'secret',
        target: { ...HOME, resource: 'dockerhub-AbCdEf' },
        location: 'container web: repositoryCredentials',
      }),
    ]);
  });

  it('reads the FSx for Windows File Server authorizationConfig.credentialsParameter', () => {
    const refs = extractReferences(
      {
        volumes: [
          {
            name: 'share',
            fsxWindowsFileServerVolumeConfiguration: {
              authorizationConfig: { credentialsParameter: `${SM}:fsx-domain-user-AbCdEf` },
            },
          },
        ],
      },
      HOME,
    );
    expect(refs).toEqual([
      expect.objectContaining({
        target: { ...HOME, resource: 'fsx-domain-user-AbCdEf' },
        location: 'volume share: fsxWindowsFileServerVolumeConfiguration',
      }),
    ]);
  });

  it('reads every reference of every container and volume', () => {
    const refs = extractReferences(
      {
        containerDefinitions: [
          {
            name: 'web',
            secrets: [
              { name: 'A', valueFrom: `${SM}:a-AbCdEf` },
              { name: 'B', valueFrom: '/prod/b' },
            ],
            repositoryCredentials: { credentialsParameter: `${SM}:registry` },
          },
          { name: 'sidecar', secrets: [{ name: 'C', valueFrom: 'prod/c' }] },
        ],
        volumes: [
          { name: 'plain' },
          {
            name: 'share',
            fsxWindowsFileServerVolumeConfiguration: {
              authorizationConfig: { credentialsParameter: `${SM}:fsx` },
            },
          },
        ],
      },
      HOME,
    );
    expect(refs.map((r) => r.location)).toEqual([
      'container web: secrets[A]',
      'container web: secrets[B]',
      'container web: repositoryCredentials',
      'container sidecar: secrets[C]',
      'volume share: fsxWindowsFileServerVolumeConfiguration',
    ]);
  });

  it('ignores values that are missing, empty or not strings', () => {
    const td = {
      containerDefinitions: [
        {
          name: 'web',
          secrets: [{ name: 'EMPTY', valueFrom: '' }, { name: 'MISSING' }, { valueFrom: 42 }],
          repositoryCredentials: {},
          logConfiguration: { logDriver: 'awslogs' },
        },
      ],
      volumes: [{ name: 'share', fsxWindowsFileServerVolumeConfiguration: {} }],
    };
    // A malformed document on purpose: valueFrom is a number.
    expect(extractReferences(td as unknown as TaskDefinitionLike, HOME)).toEqual([]);
  });

  it('finds nothing in a task definition without containers or volumes', () => {
    expect(extractReferences({}, HOME)).toEqual([]);
  });
});

describe('parseReference', () => {
  const at = 'here';

  it('reads a partial secret ARN (no random suffix), as CDK fromSecretNameV2 produces', () => {
    expect(parseReference(`${SM}:prod/orders/db`, HOME, at)).toEqual({
      kind: 'secret',
      target: { ...HOME, resource: 'prod/orders/db' },
      location: at,
    });
  });

  it('reads a partial secret ARN followed by json-key, version-stage and version-id fields', () => {
    expect(parseReference(`${SM}:prod/orders/db:password:AWSPENDING:`, HOME, at)).toMatchObject({
      target: { resource: 'prod/orders/db' },
      jsonKey: 'password',
      versionStage: 'AWSPENDING',
    });
  });

  // Regression (SECRET_NAME once rejected `!`): the RDS-managed master user secret, referenced
  // the way the RDS and ECS guides show it, is not recognised because of the `!` in its name.
  it('reads a JSON key of an RDS-managed master user secret (name rds!db-…)', () => {
    expect(
      parseReference(
        `${SM}:rds!db-c930822c-d881-46ea-99ac-7131ca8dc57a-jWJfpp:password::`,
        HOME,
        at,
      ),
    ).toEqual({
      kind: 'secret',
      target: { ...HOME, resource: 'rds!db-c930822c-d881-46ea-99ac-7131ca8dc57a-jWJfpp' },
      jsonKey: 'password',
      location: at,
    });
  });

  it('takes the scope of a secret ARN from the ARN, not from the task definition', () => {
    expect(
      parseReference(
        'arn:aws:secretsmanager:eu-west-1:210987654321:secret:shared/api-key-AbCdEf',
        HOME,
        at,
      ),
    ).toMatchObject({
      target: {
        partition: 'aws',
        region: 'eu-west-1',
        account: '210987654321',
        resource: 'shared/api-key-AbCdEf',
      },
    });
  });

  it.each(['/prod/db/host', 'prod/db/host'])(
    'reads the parameter name %s in the task definition scope, without its leading slash',
    (value) => {
      expect(parseReference(value, HOME, at)).toEqual({
        kind: 'parameter',
        parameter: { ...HOME, name: 'prod/db/host' },
        location: at,
      });
    },
  );

  it('reads a parameter ARN of another Region in that Region', () => {
    expect(
      parseReference('arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db/host', HOME, at),
    ).toEqual({
      kind: 'parameter',
      parameter: { ...HOME, region: 'eu-west-1', name: 'prod/db/host' },
      location: at,
    });
  });

  it.each([
    ['with a leading slash', '/aws/reference/secretsmanager/prod/orders/db', HOME],
    ['without a leading slash', 'aws/reference/secretsmanager/prod/orders/db', HOME],
    [
      'inside an SSM parameter ARN',
      'arn:aws:ssm:us-west-2:123456789012:parameter/aws/reference/secretsmanager/prod/orders/db',
      { ...HOME, region: 'us-west-2' },
    ],
  ])(
    'reads /aws/reference/secretsmanager/NAME %s as a reference to the secret NAME',
    (_case, value, scope) => {
      expect(parseReference(value, HOME, at)).toEqual({
        kind: 'secret',
        target: { ...scope, resource: 'prod/orders/db' },
        location: at,
      });
    },
  );

  it.each([
    ['free text', 'not a reference!'],
    ['a version selector on a parameter name', 'db-password:3'],
    ['the documentation placeholders', 'arn:aws:ssm:region:aws_account_id:parameter/x'],
    ['an ARN of another service', 'arn:aws:s3:::my-bucket/credentials.json'],
    [
      'a KMS key ARN',
      'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    ],
    [
      'a Secrets Manager ARN that is not a secret',
      'arn:aws:secretsmanager:us-east-1:123456789012:x',
    ],
    ['a secret ARN with too many fields', `${SM}:db-AbCdEf:password:AWSCURRENT::extra`],
    ['a secret ARN with an invalid name', `${SM}:db name`],
    ['an SSM ARN that is not a parameter', 'arn:aws:ssm:us-east-1:123456789012:document/x'],
    ['an empty pass-through', '/aws/reference/secretsmanager/'],
    ['a pass-through to an invalid secret name', '/aws/reference/secretsmanager/db password'],
  ])('ignores %s', (_case, value) => {
    expect(parseReference(value, HOME, at)).toBeUndefined();
  });
});
