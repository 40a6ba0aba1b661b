/**
 * The grammar of an ARN, field by field: what parseArn must refuse so that nothing downstream
 * mistakes a malformed value for a resource of the function's account.
 */
import { describe, expect, it } from 'vitest';
import { parameterIdFromArn, parseArn } from '../../../functions/redeploy/arn.js';

describe('parseArn: each field must be exactly what an ARN allows', () => {
  it('accepts the well-formed ARN the rejections below are variations of', () => {
    expect(parseArn('arn:aws:ssm:us-east-1:123456789012:parameter/x')).toEqual({
      partition: 'aws',
      service: 'ssm',
      region: 'us-east-1',
      account: '123456789012',
      resource: 'parameter/x',
    });
  });

  it.each([
    ['an account of thirteen digits', 'arn:aws:ssm:us-east-1:1234567890123:parameter/x'],
    [
      'an account with a letter before twelve digits',
      'arn:aws:ssm:us-east-1:x123456789012:parameter/x',
    ],
    ['a value that starts with another scheme', 'urn:aws:ssm:us-east-1:123456789012:parameter/x'],
    ['a service with an underscore', 'arn:aws:my_service:us-east-1:123456789012:thing/x'],
    [
      'a service that starts with a capital letter',
      'arn:aws:Ssm:us-east-1:123456789012:parameter/x',
    ],
    ['a service that ends with a capital letter', 'arn:aws:ssM:us-east-1:123456789012:parameter/x'],
  ])('rejects %s', (_case, value) => {
    expect(parseArn(value)).toBeUndefined();
  });
});

describe('parameterIdFromArn', () => {
  it.each([
    ['a plain parameter name', '/app/flags'],
    ['a malformed ARN', 'arn:aws:ssm:region:account:parameter/app/flags'],
  ])('reads %s as no parameter ARN, without throwing', (_case, value) => {
    expect(parameterIdFromArn(value)).toBeUndefined();
  });

  it('rejects an ARN of another service whose resource looks like a parameter', () => {
    expect(parameterIdFromArn('arn:aws:ec2:us-east-1:123456789012:parameter/x')).toBeUndefined();
  });
});
