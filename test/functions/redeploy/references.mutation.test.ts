/**
 * The edges of the reference grammar: values that look close to a reference but are not one,
 * and where each reference found in a task definition is said to be.
 */
import { describe, expect, it } from 'vitest';
import {
  type TaskDefinitionLike,
  extractReferences,
  parseReference,
} from '../../../functions/redeploy/references.js';

const HOME = { partition: 'aws', region: 'us-east-1', account: '123456789012' };
const SM = 'arn:aws:secretsmanager:us-east-1:123456789012:secret';
const PARAMETER = 'arn:aws:ssm:us-east-1:123456789012:parameter';
const WHERE = 'container app: secrets[X]';

describe('parseReference: values that are not references', () => {
  it.each([
    [
      'a Secrets Manager ARN of a resource type other than secret',
      'arn:aws:secretsmanager:us-east-1:123456789012:other:db',
    ],
    [
      'an SSM ARN whose resource type is not lower-case parameter/',
      'arn:aws:ssm:us-east-1:123456789012:Parameter/aws/reference/secretsmanager/db',
    ],
    [
      'a pass-through path that wraps an SSM parameter ARN',
      `/aws/reference/secretsmanager/${PARAMETER}/db`,
    ],
    [
      'a pass-through path that wraps an ARN of another service',
      '/aws/reference/secretsmanager/arn:aws:kms:us-east-1:123456789012:key/abc',
    ],
  ])('rejects %s', (_case, value) => {
    expect(parseReference(value, HOME, WHERE)).toBeUndefined();
  });
});

describe('extractReferences: gMSA credential specs', () => {
  const specs = (entries: readonly unknown[]): TaskDefinitionLike =>
    ({ containerDefinitions: [{ name: 'win', credentialSpecs: entries }] }) as TaskDefinitionLike;

  it('reads an SSM parameter credential spec', () => {
    expect(extractReferences(specs([`credentialspec:${PARAMETER}/gmsa`]), HOME)).toEqual([
      {
        kind: 'parameter',
        parameter: { ...HOME, name: 'gmsa' },
        location: 'container win: credentialSpecs',
      },
    ]);
  });

  it.each([
    ['text before the credentialspec prefix', `xcredentialspec:${PARAMETER}/gmsa`],
    ['a line break after the ARN', `credentialspec:${PARAMETER}/gmsa\nmore`],
    ['a Secrets Manager ARN (only SSM parameters are watched)', `credentialspec:${SM}:gmsa-AbCdEf`],
    ['an entry that is a list, not a string', [`credentialspec:${PARAMETER}/gmsa`]],
  ])('ignores an entry with %s', (_case, entry) => {
    expect(extractReferences(specs([entry]), HOME)).toEqual([]);
  });
});

describe('extractReferences: repositoryCredentials', () => {
  it('marks only a secret as read at image pull; a parameter there is a plain reference', () => {
    const refs = extractReferences(
      {
        containerDefinitions: [
          { name: 'web', repositoryCredentials: { credentialsParameter: `${PARAMETER}/registry` } },
        ],
      },
      HOME,
    );

    expect(refs).toStrictEqual([
      {
        kind: 'parameter',
        parameter: { ...HOME, name: 'registry' },
        location: 'container web: repositoryCredentials',
      },
    ]);
  });
});

describe('extractReferences: locations of unnamed entries', () => {
  it('writes ? for a missing secret, log option or volume name', () => {
    const refs = extractReferences(
      {
        containerDefinitions: [
          {
            name: 'web',
            secrets: [{ valueFrom: `${SM}:a-AbCdEf` }],
            logConfiguration: { secretOptions: [{ valueFrom: `${SM}:b-AbCdEf` }] },
          },
        ],
        volumes: [
          {
            fsxWindowsFileServerVolumeConfiguration: {
              authorizationConfig: { credentialsParameter: `${SM}:c-AbCdEf` },
            },
          },
        ],
      },
      HOME,
    );

    expect(refs.map((r) => r.location)).toEqual([
      'container web: secrets[?]',
      'container web: logConfiguration.secretOptions[?]',
      'volume ?: fsxWindowsFileServerVolumeConfiguration',
    ]);
  });
});
