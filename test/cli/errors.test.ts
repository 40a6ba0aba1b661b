import { describe, expect, it } from 'vitest';
import {
  AwsCallError,
  MissingRegionError,
  StackNotFoundError,
  UnknownTargetError,
  UsageError,
  describeError,
  parseDenied,
} from '../../cli/errors.js';
import { awsError } from '../helpers/aws-errors.js';

const PRINCIPAL = 'arn:aws:sts::123456789012:assumed-role/Developer/alice';

/** The SDK's error when no provider in the chain has credentials. */
const noCredentials = (): Error =>
  Object.assign(new Error('Could not load credentials from any providers'), {
    name: 'CredentialsProviderError',
    tryNextLink: false,
  });

describe('describeError', () => {
  it('says how to set a Region (a usage error)', () => {
    expect(describeError(new MissingRegionError())).toEqual({
      message: 'No AWS Region is set: pass --region or set AWS_REGION',
      exitCode: 2,
    });
    // The SDK's own wording, should a call get that far.
    expect(describeError(new Error('Region is missing'))).toEqual({
      message: 'No AWS Region is set: pass --region or set AWS_REGION',
      exitCode: 2,
    });
  });

  it('names AWS_PROFILE, aws configure and SSO when there are no credentials', () => {
    const { message, exitCode } = describeError(
      new AwsCallError('secretsmanager:DescribeSecret', noCredentials()),
    );

    expect(exitCode).toBe(1);
    expect(message).toBe(
      'No usable AWS credentials: set AWS_PROFILE (or pass --profile) to a profile in ' +
        '~/.aws/config, run `aws configure`, or sign in with `aws sso login --profile NAME`. ' +
        '(The SDK said: Could not load credentials from any providers)',
    );
  });

  it('passes on why an SSO session could not be used', () => {
    const expired = Object.assign(
      new Error(
        'The SSO session associated with this profile has expired or is otherwise invalid.',
      ),
      { name: 'CredentialsProviderError' },
    );

    expect(describeError(expired).message).toContain('aws sso login');
    expect(describeError(expired).message).toContain(
      'The SSO session associated with this profile has expired',
    );
  });

  it.each([
    'ExpiredToken',
    'ExpiredTokenException',
    'InvalidClientTokenId',
    'UnrecognizedClientException',
  ])('says the credentials were rejected (%s)', (name) => {
    const { message } = describeError(new AwsCallError('ecs:ListClusters', awsError(name)));

    expect(message).toMatch(
      new RegExp(`^AWS rejected your credentials \\(${name}\\): they may have expired`),
    );
    expect(message).toContain('AWS_PROFILE');
  });

  it.each([
    ['AccessDeniedException', 'secretsmanager:RotateSecret'],
    ['AccessDenied', 'sqs:receivemessage'],
    ['UnauthorizedOperation', 'ec2:DescribeRegions'],
  ])('names the denied action and the principal (%s)', (name, action) => {
    const error = awsError(
      name,
      `User: ${PRINCIPAL} is not authorized to perform: ${action} on resource: ` +
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbC123 with an explicit ' +
        'deny in a service control policy',
    );

    const { message, exitCode } = describeError(new AwsCallError('x:Unused', error));

    expect(exitCode).toBe(1);
    expect(message).toBe(
      `Access denied: ${PRINCIPAL} may not call ${action} on ` +
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbC123 ' +
        `(with an explicit deny in a service control policy). Ask for ${action} permission, ` +
        'or use other credentials (--profile).',
    );
  });

  it('names the action that was called when the message does not', () => {
    const { message } = describeError(
      new AwsCallError('cloudformation:DescribeStacks', awsError('AccessDenied', 'Access Denied')),
    );

    expect(message).toBe(
      'Access denied: your credentials may not call cloudformation:DescribeStacks. ' +
        'Ask for cloudformation:DescribeStacks permission, or use other credentials (--profile).',
    );
  });

  it('says which secret or parameter is unknown, and where', () => {
    expect(describeError(new UnknownTargetError('prod/db', 'eu-west-1'))).toEqual({
      message: 'No secret or parameter named prod/db in eu-west-1',
      exitCode: 1,
    });
  });

  it('says the redeployer stack is missing and what to do', () => {
    const { message } = describeError(new StackNotFoundError('SecretRedeployer', 'eu-west-1'));

    expect(message).toBe(
      'No CloudFormation stack named SecretRedeployer in eu-west-1: deploy the redeployer there ' +
        '(npx cdk deploy), pass --stack NAME if it was deployed under another name, or pass ' +
        '--queue-url and --function',
    );
  });

  it('gives usage errors exit code 2', () => {
    expect(describeError(new UsageError('--max must be a whole number'))).toEqual({
      message: '--max must be a whole number',
      exitCode: 2,
    });
  });

  it('names the Region and the call when AWS cannot be reached', () => {
    const offline = Object.assign(new Error('getaddrinfo ENOTFOUND ecs.eu-wst-1.amazonaws.com'), {
      code: 'ENOTFOUND',
    });

    expect(
      describeError(new AwsCallError('ecs:ListClusters', offline), { region: 'eu-wst-1' }),
    ).toEqual({
      message:
        'Could not reach AWS in eu-wst-1 (ENOTFOUND calling ecs:ListClusters): check --region, ' +
        'your network and proxy settings.',
      exitCode: 1,
    });
  });

  it('names the call for any other AWS error', () => {
    expect(
      describeError(
        new AwsCallError('ecs:ListServices', awsError('ThrottlingException', 'Rate exceeded')),
      ).message,
    ).toBe('ecs:ListServices failed: ThrottlingException: Rate exceeded');
  });
});

describe('parseDenied', () => {
  it('reads the principal, action, resource and reason of an IAM message', () => {
    expect(
      parseDenied(
        `User: ${PRINCIPAL} is not authorized to perform: ecs:ListServices on resource: ` +
          'arn:aws:ecs:eu-west-1:123456789012:cluster/prod because no identity-based policy ' +
          'allows the ecs:ListServices action',
      ),
    ).toEqual({
      principal: PRINCIPAL,
      action: 'ecs:ListServices',
      resource: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
      because: 'no identity-based policy allows the ecs:ListServices action',
    });
  });

  it('returns nothing it cannot find', () => {
    expect(parseDenied('Access Denied')).toEqual({});
  });
});
