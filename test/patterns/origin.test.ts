/**
 * Rules accept events only from the account and Region they are deployed in, unless
 * cross-account or cross-Region sources are configured (and the function enforces the same).
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { SecretRedeployerProps } from '../../infra/secret-redeployer.js';
import { type JsonObject, loadFixture } from '../helpers/fixtures.js';
import { constructTemplate } from '../infra/synth.js';
import { matches } from './matcher.js';

const HOME = { account: '123456789012', region: 'eu-west-1' };

function patterns(props: SecretRedeployerProps, env: typeof HOME | 'agnostic' = HOME): unknown[] {
  const { template } = constructTemplate(props, env);
  return Object.values(template.findResources('AWS::Events::Rule'))
    .map((rule) => (rule.Properties as { EventPattern?: unknown }).EventPattern)
    .filter((pattern) => pattern !== undefined);
}

function labelUpdated(where: { account: string; region: string }): JsonObject {
  const event = loadFixture('secretsmanager/eventbridge-SecretLabelUpdated-native.awsdocs.json');
  return {
    ...event,
    account: where.account,
    region: where.region,
    resources: [`arn:aws:secretsmanager:${where.region}:${where.account}:secret:mySecret-a1b2c3`],
  };
}

const matchedBy = (event: JsonObject, all: unknown[]): number =>
  all.filter((pattern) => matches(pattern, event)).length;

describe('rule origin', () => {
  it('matches events of the stack’s own account and Region only', () => {
    const all = patterns({ enableCloudTrailRule: true });
    expect(matchedBy(labelUpdated(HOME), all)).toBe(1);
    expect(matchedBy(labelUpdated({ ...HOME, account: '210987654321' }), all)).toBe(0);
    expect(matchedBy(labelUpdated({ ...HOME, region: 'us-east-1' }), all)).toBe(0);
  });

  it('also matches the configured source accounts and Regions', () => {
    const all = patterns({ sourceAccounts: ['210987654321'], sourceRegions: ['us-east-1'] });
    expect(matchedBy(labelUpdated({ ...HOME, account: '210987654321' }), all)).toBe(1);
    expect(matchedBy(labelUpdated({ ...HOME, region: 'us-east-1' }), all)).toBe(1);
    expect(matchedBy(labelUpdated({ ...HOME, account: '111122223333' }), all)).toBe(0);
  });

  it('leaves the filtering to the function in an environment-agnostic template', () => {
    for (const pattern of patterns({}, 'agnostic')) {
      expect(pattern).not.toHaveProperty('account');
      expect(pattern).not.toHaveProperty('region');
    }
    constructTemplate(
      { sourceAccounts: ['210987654321'] },
      'agnostic',
    ).template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SOURCE_ACCOUNTS: '210987654321' }) },
    });
  });

  it('rejects malformed sources', () => {
    expect(() => constructTemplate({ sourceAccounts: ['12345'] })).toThrow(/sourceAccounts/);
    expect(() => constructTemplate({ sourceRegions: ['mars-1'] })).toThrow(/sourceRegions/);
  });
});
