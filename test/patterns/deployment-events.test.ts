/**
 * The rule that wakes the rollout engine: ECS deployment ends in the watched clusters, straight
 * to the function. The pattern is read from the synthesised template and run against the
 * samples of the ECS developer guide ("Amazon ECS service deployment state change events",
 * test/events/ecs/deployment-state-change-*.awsdocs.json), moved into the stack's account and
 * Region, and variants that change only the service ARN, account or Region.
 */
import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { describe, expect, it } from 'vitest';
import { deploymentStateChangePattern } from '../../infra/event-patterns.js';
import { SecretRedeployer, type SecretRedeployerProps } from '../../infra/secret-redeployer.js';
import { type JsonObject, loadFixture, relocatedFixture } from '../helpers/fixtures.js';
import { constructTemplate, newApp } from '../infra/synth.js';
import { matches } from './matcher.js';

const HOME = { account: '123456789012', region: 'eu-west-1' };
/** Where the documented samples happen. */
const SAMPLE = { account: '111122223333', region: 'us-west-2' };

const COMPLETED = 'ecs/deployment-state-change-completed.awsdocs.json';
const FAILED = 'ecs/deployment-state-change-failed.awsdocs.json';
const IN_PROGRESS = 'ecs/deployment-state-change-in-progress.awsdocs.json';
const ROLLING_BACK = 'ecs/deployment-state-change-in-progress-rollback.awsdocs.json';

/** A sample moved to `where` (its service stays `default/servicetest`). */
function sample(file: string, where: { account: string; region: string } = HOME): JsonObject {
  return relocatedFixture(file, SAMPLE, where);
}

/** A copy of `event` about another service (its `resources`). */
function forService(event: JsonObject, serviceArn: string): JsonObject {
  return { ...structuredClone(event), resources: [serviceArn] };
}

const service = (path: string, where = HOME): string =>
  `arn:aws:ecs:${where.region}:${where.account}:service/${path}`;

/** The clusters `names` of the home account, imported by ARN as the stack's context does. */
const clusters =
  (...names: string[]) =>
  (stack: Stack): ecs.ICluster[] =>
    names.map((name) =>
      ecs.Cluster.fromClusterArn(
        stack,
        `Cluster-${name}`,
        `arn:aws:ecs:${HOME.region}:${HOME.account}:cluster/${name}`,
      ),
    );

/** The deployment event rule's pattern, as synthesised. */
function deployedPattern(
  props: (stack: Stack) => SecretRedeployerProps = () => ({}),
  env: typeof HOME | 'agnostic' = HOME,
): unknown {
  const app = newApp();
  const stack = new Stack(app, 'S', env === 'agnostic' ? {} : { env });
  const redeployer = new SecretRedeployer(stack, 'R', props(stack));
  const rule = redeployer.deploymentEventRule;
  if (rule === undefined) throw new Error('no deployment event rule');
  const logicalId = stack.getLogicalId(rule.node.defaultChild as CfnElement);
  const resource = Template.fromStack(stack).toJSON() as {
    Resources: Record<string, { Properties: { EventPattern: unknown } }>;
  };
  return resource.Resources[logicalId]?.Properties.EventPattern;
}

describe('the deployment event pattern', () => {
  it('is the documented ECS pattern narrowed to the end of a deployment', () => {
    expect(deploymentStateChangePattern()).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Deployment State Change'],
      detail: { eventName: ['SERVICE_DEPLOYMENT_COMPLETED', 'SERVICE_DEPLOYMENT_FAILED'] },
    });
  });

  it('matches service ARNs by prefix when given', () => {
    expect(
      deploymentStateChangePattern(['arn:aws:ecs:eu-west-1:123456789012:service/prod/']),
    ).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Deployment State Change'],
      resources: [{ prefix: 'arn:aws:ecs:eu-west-1:123456789012:service/prod/' }],
      detail: { eventName: ['SERVICE_DEPLOYMENT_COMPLETED', 'SERVICE_DEPLOYMENT_FAILED'] },
    });
  });
});

describe('the deployed deployment event rule', () => {
  describe('watching every cluster of the account', () => {
    const pattern = deployedPattern();

    it('filters on the stack’s account and Region only, not on services', () => {
      expect(pattern).toEqual({
        ...deploymentStateChangePattern(),
        account: [HOME.account],
        region: [HOME.region],
      });
    });

    it.each([
      [COMPLETED, true],
      [FAILED, true],
      [IN_PROGRESS, false],
      [ROLLING_BACK, false],
    ])('%s: matched %s', (file, expected) => {
      expect(matches(pattern, sample(file))).toBe(expected);
      expect(matches(pattern, forService(sample(file), service('any-cluster/api')))).toBe(expected);
    });

    it('ignores deployments of other accounts and Regions', () => {
      expect(matches(pattern, sample(COMPLETED, SAMPLE))).toBe(false);
      expect(matches(pattern, sample(COMPLETED, { ...HOME, account: '210987654321' }))).toBe(false);
      expect(matches(pattern, sample(COMPLETED, { ...HOME, region: 'us-east-1' }))).toBe(false);
    });

    it('also matches the configured source accounts and Regions, as the change rules do', () => {
      const withSources = deployedPattern(() => ({
        sourceAccounts: ['210987654321'],
        sourceRegions: ['us-east-1'],
      }));
      expect(matches(withSources, sample(COMPLETED, { ...HOME, account: '210987654321' }))).toBe(
        true,
      );
      expect(matches(withSources, sample(FAILED, { ...HOME, region: 'us-east-1' }))).toBe(true);
    });
  });

  describe('watching the clusters default and prod', () => {
    const pattern = deployedPattern((stack) => ({ clusters: clusters('default', 'prod')(stack) }));

    it('lists the service ARN prefix of each cluster', () => {
      expect(pattern).toMatchObject({
        resources: [
          { prefix: `arn:aws:ecs:${HOME.region}:${HOME.account}:service/default/` },
          { prefix: `arn:aws:ecs:${HOME.region}:${HOME.account}:service/prod/` },
        ],
      });
    });

    it.each([
      ['the documented sample (cluster default)', service('default/servicetest'), true],
      ['a service of prod', service('prod/api'), true],
      ['a service of another cluster', service('staging/api'), false],
      ['a service of a cluster whose name starts with prod', service('prod-2/api'), false],
      ['a service still on the old ARN format (no cluster)', service('servicetest'), false],
      [
        'a service of a cluster of the same name in another account',
        service('prod/api', { ...HOME, account: '210987654321' }),
        false,
      ],
    ])('%s: matched %s', (_name, arn, expected) => {
      expect(matches(pattern, forService(sample(COMPLETED), arn))).toBe(expected);
      expect(matches(pattern, forService(sample(FAILED), arn))).toBe(expected);
      expect(matches(pattern, forService(sample(IN_PROGRESS), arn))).toBe(false);
    });
  });

  it('builds the prefix of a cluster of the same stack from its name', () => {
    const pattern = deployedPattern((stack) => ({
      clusters: [
        new ecs.Cluster(stack, 'Cluster', {
          vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0 }),
        }),
      ],
    }));
    expect(JSON.stringify(pattern)).toMatch(
      /"resources":\[\{"prefix":\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},":ecs:eu-west-1:123456789012:service\/",\{"Ref":"Cluster[0-9A-F]+"\},"\/"\]\]\}\}\]/,
    );
  });

  it('leaves every filter but the event names to the function in an environment-agnostic template', () => {
    const pattern = deployedPattern(
      (stack) => ({
        clusters: [
          ecs.Cluster.fromClusterArn(stack, 'C', 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod'),
        ],
      }),
      'agnostic',
    );
    expect(pattern).toEqual(deploymentStateChangePattern());
    expect(matches(pattern, loadFixture(COMPLETED))).toBe(true);
  });

  it('does not exist with rollouts off', () => {
    const { redeployer, template } = constructTemplate({ rollouts: false });
    expect(redeployer.deploymentEventRule).toBeUndefined();
    for (const rule of Object.values(template.findResources('AWS::Events::Rule'))) {
      expect(JSON.stringify(rule)).not.toContain('aws.ecs');
    }
  });
});

const HOOK_AWAITING = 'ecs/hook-state-change-awaiting-action.from-developer-guide.json';

/** The hook event rule's pattern, as synthesised. */
function deployedHookPattern(props: (stack: Stack) => SecretRedeployerProps = () => ({})): unknown {
  const app = newApp();
  const stack = new Stack(app, 'S', { env: HOME });
  const redeployer = new SecretRedeployer(stack, 'R', props(stack));
  const rule = redeployer.hookEventRule;
  if (rule === undefined) throw new Error('no hook event rule');
  const logicalId = stack.getLogicalId(rule.node.defaultChild as CfnElement);
  const resource = Template.fromStack(stack).toJSON() as {
    Resources: Record<string, { Properties: { EventPattern: unknown } }>;
  };
  return resource.Resources[logicalId]?.Properties.EventPattern;
}

/** A hook event about another service: `detail.serviceArn` (its `resources` is the deployment). */
function hookFor(event: JsonObject, serviceArn: string): JsonObject {
  const copy = structuredClone(event);
  return { ...copy, detail: { ...(copy.detail as JsonObject), serviceArn } };
}

describe('the deployed hook event rule', () => {
  it('matches a pause and how it ended, in the stack’s account and Region', () => {
    const pattern = deployedHookPattern();
    const awaiting = sample(HOOK_AWAITING);
    expect(matches(pattern, awaiting)).toBe(true);
    for (const eventName of ['HOOK_SUCCEEDED', 'HOOK_FAILED', 'HOOK_TIMED_OUT']) {
      const event = structuredClone(awaiting);
      (event.detail as JsonObject).eventName = eventName;
      expect(matches(pattern, event)).toBe(true);
    }
    const other = structuredClone(awaiting);
    (other.detail as JsonObject).eventName = 'HOOK_IN_PROGRESS';
    expect(matches(pattern, other)).toBe(false);
    expect(matches(pattern, sample(HOOK_AWAITING, SAMPLE))).toBe(false);
    expect(matches(pattern, sample(COMPLETED))).toBe(false);
  });

  it('with clusters, matches their services by detail.serviceArn (resources names the deployment)', () => {
    const pattern = deployedHookPattern((stack) => ({ clusters: clusters('prod')(stack) }));
    const awaiting = sample(HOOK_AWAITING);
    expect(matches(pattern, hookFor(awaiting, service('prod/api')))).toBe(true);
    expect(matches(pattern, hookFor(awaiting, service('staging/api')))).toBe(false);
    expect(matches(pattern, awaiting)).toBe(false); // default/servicetest
  });
});
