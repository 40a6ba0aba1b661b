/**
 * The deployed EventBridge rules, run against events. The patterns are read from the synthesised
 * CloudFormation template (every `AWS::Events::Rule`), so these tests check what is deployed, not
 * only the functions of infra/event-patterns.ts.
 *
 * Events are the samples in test/events/ (AWS documentation, AWS blogs and public repositories;
 * see each file's name) and variants of them built below with `withDetail` / `withEnvelope`.
 * A variant changes only the fields named; where its shape comes from is said beside it.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as events from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { interpret, parseEnvelope } from '../../functions/redeploy/events.js';
import type { SecretRedeployerProps } from '../../infra/secret-redeployer.js';
import { type JsonObject, detailOf, loadFixture } from '../helpers/fixtures.js';
import { constructTemplate } from '../infra/synth.js';
import { matches } from './matcher.js';

// ---------------------------------------------------------------------------------------------
// The deployed rules
// ---------------------------------------------------------------------------------------------

const PARAMETER_CHANGE = 'ParameterChangeRule';
const PARAMETER_EXPIRATION = 'ParameterExpirationRule';
const SECRET_LABEL = 'SecretLabelUpdatedRule';
const SECRET_CLOUDTRAIL = 'SecretCloudTrailRule';
/** ECS deployment ends, to the function (rollouts on, the default). */
const DEPLOYMENT_EVENT = 'DeploymentEventRule';
/** ECS lifecycle hooks paused or ended, to the function (rollouts on). */
const HOOK_EVENT = 'HookEventRule';
type RuleId =
  | typeof PARAMETER_CHANGE
  | typeof PARAMETER_EXPIRATION
  | typeof SECRET_LABEL
  | typeof SECRET_CLOUDTRAIL
  | typeof DEPLOYMENT_EVENT
  | typeof HOOK_EVENT;

interface DeployedRule {
  /** The construct id of the rule. */
  readonly id: string;
  /** `Properties.EventPattern` of its `AWS::Events::Rule` resource in the template. */
  readonly pattern: unknown;
}

/** Synthesises a SecretRedeployer and returns the event pattern of every rule in the template. */
function deployedRules(props: SecretRedeployerProps): readonly DeployedRule[] {
  // Environment-agnostic, as `npx cdk synth` without credentials writes it.
  const { stack, redeployer, template } = constructTemplate(props, 'agnostic');
  // Only the rules that match events: the missed-event sweep's scheduled rule has no pattern.
  const resources = Object.fromEntries(
    Object.entries(
      template.findResources('AWS::Events::Rule') as Record<
        string,
        { readonly Properties?: { readonly EventPattern?: unknown } }
      >,
    ).filter(([, resource]) => resource.Properties?.EventPattern !== undefined),
  );
  const listed = [
    ...redeployer.rules,
    ...(redeployer.deploymentEventRule ? [redeployer.deploymentEventRule] : []),
    ...(redeployer.hookEventRule ? [redeployer.hookEventRule] : []),
  ];
  const rules = listed.map((rule): DeployedRule => {
    const cfnRule = rule.node.defaultChild;
    if (!(cfnRule instanceof events.CfnRule)) {
      throw new Error(`rule ${rule.node.id} has no AWS::Events::Rule resource`);
    }
    const pattern = resources[stack.getLogicalId(cfnRule)]?.Properties?.EventPattern;
    if (pattern === undefined) throw new Error(`rule ${rule.node.id} has no EventPattern`);
    return { id: rule.node.id, pattern };
  });
  if (rules.length !== Object.keys(resources).length) {
    throw new Error('the template holds an AWS::Events::Rule the construct does not list');
  }
  return rules;
}

/** Every secret and parameter. */
const EVERYTHING = deployedRules({ enableCloudTrailRule: true });
/** Only names under prod/ (secrets) and /prod/ (parameters). */
const PROD_ONLY = deployedRules({
  enableCloudTrailRule: true,
  secretNamePrefixes: ['prod/'],
  parameterNamePrefixes: ['/prod/'],
});
const CONFIGURATIONS = [
  ['every name', EVERYTHING],
  ['prod/ names only', PROD_ONLY],
] as const;

/** The ids of the rules whose pattern matches `event`, sorted. */
function matchingRules(rules: readonly DeployedRule[], event: JsonObject): string[] {
  return rules
    .filter((rule) => matches(rule.pattern, event))
    .map((rule) => rule.id)
    .sort();
}

const sorted = (ids: readonly RuleId[]): string[] => [...ids].sort();

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/** A copy of `event` with envelope fields replaced. */
function withEnvelope(event: JsonObject, fields: JsonObject): JsonObject {
  return { ...structuredClone(event), ...fields };
}

/** A copy of `event` moved to the Region and account of `arn`, so envelope and ARN agree. */
function inScopeOf(event: JsonObject, arn: string): JsonObject {
  const [, , , region, account] = arn.split(':');
  return withEnvelope(event, { region, account });
}

/** A copy of `event` with `detail` fields replaced; a field given as undefined is removed. */
function withDetail(event: JsonObject, fields: JsonObject): JsonObject {
  const copy = structuredClone(event);
  const detail = Object.fromEntries(
    Object.entries({ ...detailOf(copy), ...fields }).filter(([, value]) => value !== undefined),
  );
  return { ...copy, detail };
}

const SM = 'secretsmanager/';
const F = {
  // Real samples (verbatim, or with placeholders filled / wrapped in the EventBridge envelope).
  parameterCreate: 'ssm/parameter-store-change-create.awsdocs.json',
  parameterUpdate: 'ssm/parameter-store-change-update.awsdocs.json',
  parameterDelete: 'ssm/parameter-store-change-delete.awsdocs.json',
  parameterCreateHierarchical:
    'ssm/parameter-store-change-create-hierarchical.aws-solutions-instance-scheduler.json',
  parameterCreateFailed: 'ssm/parameter-store-change-create-failed-exception.awsdocs.json',
  labelUpdated: `${SM}eventbridge-SecretLabelUpdated-native.awsdocs.json`,
  rotationSucceeded: `${SM}eventbridge-RotationSucceeded.aws-database-blog-2022.json`,
  rotationSucceededFilled: `${SM}eventbridge-RotationSucceeded.aws-database-blog-2022.placeholders-filled.json`,
  putSecretValue: `${SM}eventbridge-PutSecretValue.external-secrets-reloader-2024.json`,
  deleteSecret: `${SM}cloudtrail-record-DeleteSecret.awsdocs-2022.wrapped-in-eventbridge.json`,
  rotationFailed: `${SM}cloudtrail-record-RotationFailed.awsdocs-2023.wrapped-in-eventbridge.json`,
  deploymentInProgress: 'ecs/deployment-state-change-in-progress.awsdocs.json',
  deploymentRollingBack: 'ecs/deployment-state-change-in-progress-rollback.awsdocs.json',
  deploymentCompleted: 'ecs/deployment-state-change-completed.awsdocs.json',
  deploymentFailed: 'ecs/deployment-state-change-failed.awsdocs.json',
  hookAwaitingAction: 'ecs/hook-state-change-awaiting-action.from-developer-guide.json',
  // Built from the API and user-guide references where no public sample was found.
  parameterLabel: 'ssm/parameter-store-change-label-parameter-version.from-api-reference.json',
  parameterExpiration: 'ssm/parameter-store-policy-action-expiration.from-api-reference.json',
  putPending: `${SM}cloudtrail-PutSecretValue-AWSPENDING.from-api-reference.json`,
  rotateSecret: `${SM}cloudtrail-RotateSecret.from-api-reference.json`,
  updateSecretDescription: `${SM}cloudtrail-UpdateSecret-description-only.from-api-reference.json`,
  updateSecretValue: `${SM}cloudtrail-UpdateSecret-new-value.from-api-reference.json`,
  updateVersionStage: `${SM}cloudtrail-UpdateSecretVersionStage.from-api-reference.json`,
} as const;

/**
 * The from-api-reference fixtures name the secret `prod/orders/db` in eu-central-1 of
 * 111122223333; variants of them keep it, so they match under both configurations.
 */
const ORDERS_DB_ARN =
  'arn:aws:secretsmanager:eu-central-1:111122223333:secret:prod/orders/db-Xy12Ab';

/**
 * A CloudTrail-delivered Secrets Manager call on prod/orders/db. Shape: the from-api-reference
 * UpdateSecret fixture (a CloudTrail record as in the Secrets Manager user guide,
 * cloudtrail_log_entries), with `eventName` and the request parameters of the API reference
 * (CloudTrail spells them in lowerCamelCase, e.g. `secretId`, `versionStages`).
 */
function secretsManagerCall(
  eventName: string,
  requestParameters: JsonObject,
  detail: JsonObject = {},
): JsonObject {
  return withDetail(loadFixture(F.updateSecretValue), {
    eventName,
    requestParameters: { secretId: 'prod/orders/db', ...requestParameters },
    ...detail,
  });
}

/**
 * A CloudTrail-delivered rotation service event. Shape: the RotationSucceeded sample of the AWS
 * Database Blog (placeholders filled), which matches the RotationFailed record of the Secrets
 * Manager user guide (retrieve-ct-entries) apart from `eventName` and `errorMessage`.
 */
function rotationEvent(eventName: string, secretArn: string): JsonObject {
  return withDetail(inScopeOf(loadFixture(F.rotationSucceededFilled), secretArn), {
    eventName,
    additionalEventData: { SecretId: secretArn },
  });
}

/** The native label event (Secrets Manager user guide, sample) for another secret or label. */
function labelUpdated(fields: { name?: string; labelUpdated?: string; arn?: string }): JsonObject {
  const event = loadFixture(F.labelUpdated);
  const moved =
    fields.arn === undefined
      ? event
      : withEnvelope(inScopeOf(event, fields.arn), { resources: [fields.arn] });
  return withDetail(moved, {
    ...(fields.name !== undefined && { name: fields.name }),
    ...(fields.labelUpdated !== undefined && { labelUpdated: fields.labelUpdated }),
  });
}

/** The documented Parameter Store Change Update sample, for another parameter name. */
function parameterChange(name: string, operation = 'Update'): JsonObject {
  const arn = `arn:aws:ssm:us-east-2:123456789012:parameter/${name.replace(/^\//, '')}`;
  return withDetail(withEnvelope(loadFixture(F.parameterUpdate), { resources: [arn] }), {
    name,
    operation,
  });
}

/**
 * The Expiration policy action, for another policy type or parameter. Shape: the
 * from-api-reference fixture; `policy-type` takes the values of the SSM API reference,
 * ParameterInlinePolicy.PolicyType (Expiration, ExpirationNotification, NoChangeNotification).
 */
function policyAction(
  policyType: string,
  parameterName = '/prod/orders/partner-token',
): JsonObject {
  return withDetail(loadFixture(F.parameterExpiration), {
    'policy-type': policyType,
    'parameter-name': parameterName,
  });
}

interface Case {
  readonly name: string;
  readonly event: () => JsonObject;
  readonly expected: readonly RuleId[];
}

/** `[name, item]` pairs, so `it.each(...)('%s', ...)` shows each name in full. */
const named = <T extends { readonly name: string }>(items: readonly T[]): [string, T][] =>
  items.map((item) => [item.name, item]);

function expectRules(rules: readonly DeployedRule[], { event, expected }: Case): void {
  expect(matchingRules(rules, event())).toEqual(sorted(expected));
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('the deployed rules', () => {
  it.each(CONFIGURATIONS)(
    'are the four change rules, the deployment event rule and the hook event rule of the construct (%s)',
    (_name, rules) => {
      expect(rules.map((rule) => rule.id).sort()).toEqual(
        sorted([
          PARAMETER_CHANGE,
          PARAMETER_EXPIRATION,
          SECRET_CLOUDTRAIL,
          SECRET_LABEL,
          DEPLOYMENT_EVENT,
          HOOK_EVENT,
        ]),
      );
    },
  );

  it('use the wildcard operator for the secret ARNs when names are filtered', () => {
    const cloudTrail = PROD_ONLY.find((rule) => rule.id === SECRET_CLOUDTRAIL);
    expect(JSON.stringify(cloudTrail?.pattern)).toContain(
      '{"wildcard":"arn:*:secretsmanager:*:*:secret:prod/*"}',
    );
  });
});

describe('real sample events match exactly their rule', () => {
  /** Every fixture event, with the rules it matches under each configuration. */
  const samples: readonly {
    file: string;
    everything: readonly RuleId[];
    prodOnly: readonly RuleId[];
    why?: string;
  }[] = [
    { file: F.parameterCreate, everything: [PARAMETER_CHANGE], prodOnly: [] },
    { file: F.parameterUpdate, everything: [PARAMETER_CHANGE], prodOnly: [] },
    { file: F.parameterDelete, everything: [PARAMETER_CHANGE], prodOnly: [] },
    { file: F.parameterCreateHierarchical, everything: [PARAMETER_CHANGE], prodOnly: [] },
    {
      file: F.parameterCreateFailed,
      everything: [PARAMETER_CHANGE],
      prodOnly: [],
      why: 'a failed Create (with detail.exception) still invokes the function, which ignores it',
    },
    {
      file: F.parameterLabel,
      everything: [],
      prodOnly: [],
      why: 'LabelParameterVersion changes nothing ECS reads',
    },
    {
      file: F.parameterExpiration,
      everything: [PARAMETER_EXPIRATION],
      prodOnly: [PARAMETER_EXPIRATION],
    },
    { file: F.labelUpdated, everything: [SECRET_LABEL], prodOnly: [] },
    { file: F.rotationSucceeded, everything: [SECRET_CLOUDTRAIL], prodOnly: [] },
    { file: F.rotationSucceededFilled, everything: [SECRET_CLOUDTRAIL], prodOnly: [] },
    {
      file: F.putSecretValue,
      everything: [SECRET_CLOUDTRAIL],
      prodOnly: [SECRET_CLOUDTRAIL],
      why: 'PutSecretValue without versionStages moves AWSCURRENT; the secret is prod/test-secret',
    },
    { file: F.deleteSecret, everything: [SECRET_CLOUDTRAIL], prodOnly: [] },
    { file: F.rotationFailed, everything: [], prodOnly: [], why: 'nothing changed' },
    {
      file: F.putPending,
      everything: [],
      prodOnly: [],
      why: "a rotation's createSecret step: the AWSPENDING value is not live",
    },
    {
      file: F.rotateSecret,
      everything: [],
      prodOnly: [],
      why: 'RotateSecret only starts a rotation; its end is announced separately',
    },
    {
      file: F.updateSecretDescription,
      everything: [SECRET_CLOUDTRAIL],
      prodOnly: [SECRET_CLOUDTRAIL],
      why: 'every UpdateSecret invokes the function, which ignores metadata-only updates',
    },
    { file: F.updateSecretValue, everything: [SECRET_CLOUDTRAIL], prodOnly: [SECRET_CLOUDTRAIL] },
    { file: F.updateVersionStage, everything: [SECRET_CLOUDTRAIL], prodOnly: [SECRET_CLOUDTRAIL] },
    // The name prefixes filter changes, never the deployments of the watched clusters.
    {
      file: F.deploymentCompleted,
      everything: [DEPLOYMENT_EVENT],
      prodOnly: [DEPLOYMENT_EVENT],
      why: 'a deployment ended: the rollouts watching the service look at once',
    },
    {
      file: F.deploymentFailed,
      everything: [DEPLOYMENT_EVENT],
      prodOnly: [DEPLOYMENT_EVENT],
      why: 'a deployment ended (circuit breaker): the rollouts watching the service look at once',
    },
    {
      file: F.hookAwaitingAction,
      everything: [HOOK_EVENT],
      prodOnly: [HOOK_EVENT],
      why: 'a deployment paused at a lifecycle hook: the rollouts watching it report it at once',
    },
    {
      file: F.deploymentInProgress,
      everything: [],
      prodOnly: [],
      why: 'a deployment started: nothing a rollout waits for',
    },
    {
      file: F.deploymentRollingBack,
      everything: [],
      prodOnly: [],
      why: 'the rollback starts; its end (COMPLETED) is what the rollout waits for',
    },
  ];

  // The raw CloudTrail records of the Secrets Manager user guide are an EventBridge `detail`,
  // not an event: EventBridge wraps them in an envelope (source aws.secretsmanager, detail-type
  // "AWS API Call via CloudTrail" / "AWS Service Event via CloudTrail", resources []).
  const RAW_RECORDS = [
    { raw: `${SM}cloudtrail-record-DeleteSecret.awsdocs-2022.json`, wrapped: F.deleteSecret },
    { raw: `${SM}cloudtrail-record-RotationFailed.awsdocs-2023.json`, wrapped: F.rotationFailed },
  ];

  it.each(samples.map((sample) => [sample.file, sample] as const))(
    '%s (every name)',
    (_file, { file, everything }) => {
      expect(matchingRules(EVERYTHING, loadFixture(file))).toEqual(sorted(everything));
    },
  );

  it.each(samples.map((sample) => [sample.file, sample] as const))(
    '%s (prod/ names only)',
    (_file, { file, prodOnly }) => {
      expect(matchingRules(PROD_ONLY, loadFixture(file))).toEqual(sorted(prodOnly));
    },
  );

  it('covers every event in test/events/ssm, test/events/secretsmanager and the ECS deployment events', () => {
    const listed = new Set<string>([
      ...samples.map((s) => s.file),
      ...RAW_RECORDS.map((r) => r.raw),
    ]);
    // test/events/ecs also holds task definitions and API answers, which are no events.
    const events: Record<string, (name: string) => boolean> = {
      ssm: () => true,
      secretsmanager: () => true,
      ecs: (name) => name.startsWith('deployment-state-change-'),
    };
    for (const [source, isEvent] of Object.entries(events)) {
      const dir = fileURLToPath(new URL(`../events/${source}/`, import.meta.url));
      for (const file of readdirSync(dir).filter(
        (name) => name.endsWith('.json') && isEvent(name),
      )) {
        expect(listed, `${source}/${file} has no expectation here`).toContain(`${source}/${file}`);
      }
    }
  });

  it.each(RAW_RECORDS.map((r) => [r.wrapped, r.raw, r] as const))(
    '%s carries %s unchanged as its detail',
    (_wrapped, _raw, { raw, wrapped }) => {
      const record = loadFixture(raw);
      const event = loadFixture(wrapped);
      expect(detailOf(event)).toEqual(record);
      expect(event).toMatchObject({ source: 'aws.secretsmanager', resources: [] });
      expect(event['detail-type']).toBe(
        record.eventType === 'AwsServiceEvent'
          ? 'AWS Service Event via CloudTrail'
          : 'AWS API Call via CloudTrail',
      );
      // Unwrapped, a record is no event at all: no rule can match it.
      expect(matchingRules(EVERYTHING, record)).toEqual([]);
    },
  );
});

describe('events the rules forward but the function ignores', () => {
  // The patterns keep some events the function then drops after a closer look; these tests
  // pin that division of work so neither side changes it unnoticed.
  const interpretation = (event: JsonObject) => {
    const envelope = parseEnvelope(event);
    if (typeof envelope === 'string') throw new Error(envelope);
    return interpret(envelope, 'aws');
  };

  it('a failed Parameter Store Create (detail.exception): rule matches, function ignores', () => {
    const event = loadFixture(F.parameterCreateFailed);
    expect(detailOf(event).exception).toBe('Unable to Describe Resource');
    expect(matchingRules(EVERYTHING, event)).toEqual([PARAMETER_CHANGE]);
    expect(interpretation(event)).toMatchObject({ kind: 'ignored' });
  });

  it('a description-only UpdateSecret: rule matches, function ignores', () => {
    const event = loadFixture(F.updateSecretDescription);
    expect(matchingRules(EVERYTHING, event)).toEqual([SECRET_CLOUDTRAIL]);
    expect(interpretation(event)).toMatchObject({ kind: 'ignored' });
  });
});

describe('changes that must invoke the function', () => {
  const cases: readonly Case[] = [
    {
      name: 'Secret Label Updated, AWSCURRENT',
      event: () => labelUpdated({ name: 'prod/orders/db', arn: ORDERS_DB_ARN }),
      expected: [SECRET_LABEL],
    },
    {
      name: 'PutSecretValue without versionStages',
      event: () => secretsManagerCall('PutSecretValue', { clientRequestToken: 'token-1' }),
      expected: [SECRET_CLOUDTRAIL],
    },
    {
      name: 'PutSecretValue with versionStages ["AWSCURRENT"]',
      event: () =>
        withDetail(loadFixture(F.putPending), {
          requestParameters: { secretId: ORDERS_DB_ARN, versionStages: ['AWSCURRENT'] },
        }),
      expected: [SECRET_CLOUDTRAIL],
    },
    {
      name: 'PutSecretValue with versionStages ["AWSPENDING", "AWSCURRENT"]',
      event: () =>
        withDetail(loadFixture(F.putPending), {
          requestParameters: {
            secretId: ORDERS_DB_ARN,
            versionStages: ['AWSPENDING', 'AWSCURRENT'],
          },
        }),
      expected: [SECRET_CLOUDTRAIL],
    },
    {
      name: 'PutSecretValue with a custom label',
      event: () =>
        withDetail(loadFixture(F.putPending), {
          requestParameters: { secretId: ORDERS_DB_ARN, versionStages: ['BLUE'] },
        }),
      expected: [SECRET_CLOUDTRAIL],
    },
    {
      name: 'UpdateSecretVersionStage moving AWSCURRENT (moveToVersionId and removeFromVersionId)',
      event: () => loadFixture(F.updateVersionStage),
      expected: [SECRET_CLOUDTRAIL],
    },
    {
      name: 'UpdateSecretVersionStage moving AWSCURRENT with moveToVersionId only',
      event: () =>
        secretsManagerCall('UpdateSecretVersionStage', {
          versionStage: 'AWSCURRENT',
          moveToVersionId: 'c3a1f5e2-7b9d-4e6f-8a0b-1c2d3e4f5a6b',
        }),
      expected: [SECRET_CLOUDTRAIL],
    },
    {
      // A label other than AWSPENDING: references pinned to it change.
      name: 'UpdateSecretVersionStage moving AWSPREVIOUS',
      event: () =>
        secretsManagerCall('UpdateSecretVersionStage', {
          versionStage: 'AWSPREVIOUS',
          moveToVersionId: 'c3a1f5e2-7b9d-4e6f-8a0b-1c2d3e4f5a6b',
        }),
      expected: [SECRET_CLOUDTRAIL],
    },
    {
      // On no version any more: references pinned to it break (reported as needing action).
      name: 'UpdateSecretVersionStage removing a custom label from every version',
      event: () =>
        secretsManagerCall('UpdateSecretVersionStage', {
          versionStage: 'blue',
          removeFromVersionId: 'c3a1f5e2-7b9d-4e6f-8a0b-1c2d3e4f5a6b',
        }),
      expected: [SECRET_CLOUDTRAIL],
    },
    {
      name: 'UpdateSecret with a new value',
      event: () => loadFixture(F.updateSecretValue),
      expected: [SECRET_CLOUDTRAIL],
    },
    {
      // DeleteSecret request shape: the awsdocs-2022 record (recoveryWindowInDays, secretId).
      name: 'DeleteSecret',
      event: () => secretsManagerCall('DeleteSecret', { recoveryWindowInDays: 30 }),
      expected: [SECRET_CLOUDTRAIL],
    },
    {
      name: 'RotationSucceeded (AWS Service Event via CloudTrail)',
      event: () => rotationEvent('RotationSucceeded', ORDERS_DB_ARN),
      expected: [SECRET_CLOUDTRAIL],
    },
    {
      name: 'Parameter Store Change Create',
      event: () => parameterChange('/prod/orders/api-url', 'Create'),
      expected: [PARAMETER_CHANGE],
    },
    {
      name: 'Parameter Store Change Delete',
      event: () => parameterChange('/prod/orders/api-url', 'Delete'),
      expected: [PARAMETER_CHANGE],
    },
    {
      name: 'Parameter Store Policy Action Expiration',
      event: () => policyAction('Expiration'),
      expected: [PARAMETER_EXPIRATION],
    },
  ];

  describe.each(CONFIGURATIONS)('%s', (_configuration, rules) => {
    it.each(named(cases))('%s', (_name, testCase) => {
      expectRules(rules, testCase);
    });
  });
});

describe('near misses match no rule', () => {
  const PENDING_VERSION = '7d6c5b4a-3f2e-4d1c-9b0a-8f7e6d5c4b3a';
  const cases: readonly Omit<Case, 'expected'>[] = [
    // Another detail-type.
    {
      name: 'a Secret Label Updated detail sent as "AWS API Call via CloudTrail"',
      event: () =>
        withEnvelope(labelUpdated({ name: 'prod/orders/db' }), {
          'detail-type': 'AWS API Call via CloudTrail',
        }),
    },
    {
      name: 'an UpdateSecret record sent as "AWS Console Sign In via CloudTrail"',
      event: () =>
        withEnvelope(loadFixture(F.updateSecretValue), {
          'detail-type': 'AWS Console Sign In via CloudTrail',
        }),
    },
    {
      name: 'a Parameter Store Change detail sent as "Parameter Store Policy Action"',
      event: () =>
        withEnvelope(parameterChange('/prod/db'), {
          'detail-type': 'Parameter Store Policy Action',
        }),
    },
    // Another source.
    {
      name: 'a Secrets Manager CloudTrail record from source aws.ssm',
      event: () => withEnvelope(loadFixture(F.updateSecretValue), { source: 'aws.ssm' }),
    },
    {
      name: 'a Secret Label Updated event from source aws.ssm',
      event: () => withEnvelope(labelUpdated({ name: 'prod/orders/db' }), { source: 'aws.ssm' }),
    },
    {
      name: 'a Parameter Store Change look-alike from custom.app (PutEvents)',
      event: () => withEnvelope(parameterChange('/prod/db'), { source: 'custom.app' }),
    },
    {
      name: 'a Secret Label Updated look-alike from custom.app (PutEvents)',
      event: () => withEnvelope(labelUpdated({ name: 'prod/orders/db' }), { source: 'custom.app' }),
    },
    {
      name: 'a Parameter Store Policy Action from source aws.secretsmanager',
      event: () => withEnvelope(policyAction('Expiration'), { source: 'aws.secretsmanager' }),
    },
    // Labels and stages that are not live.
    {
      name: 'Secret Label Updated with labelUpdated AWSPENDING',
      event: () => labelUpdated({ name: 'prod/orders/db', labelUpdated: 'AWSPENDING' }),
    },
    {
      name: 'PutSecretValue with versionStages ["AWSPENDING"] (a rotation\'s createSecret step)',
      event: () => loadFixture(F.putPending),
    },
    {
      name: 'UpdateSecretVersionStage moving AWSPENDING',
      event: () =>
        secretsManagerCall('UpdateSecretVersionStage', {
          versionStage: 'AWSPENDING',
          moveToVersionId: PENDING_VERSION,
        }),
    },
    {
      name: 'UpdateSecretVersionStage removing AWSCURRENT only (removeFromVersionId)',
      event: () =>
        secretsManagerCall('UpdateSecretVersionStage', {
          versionStage: 'AWSCURRENT',
          removeFromVersionId: PENDING_VERSION,
        }),
    },
    {
      name: 'UpdateSecretVersionStage removing AWSPENDING only (removeFromVersionId)',
      event: () =>
        secretsManagerCall('UpdateSecretVersionStage', {
          versionStage: 'AWSPENDING',
          removeFromVersionId: PENDING_VERSION,
        }),
    },
    // Failed calls: CloudTrail records errorCode and errorMessage (user guide,
    // cloudtrail_log_entries); responseElements is then null.
    ...['PutSecretValue', 'UpdateSecret', 'DeleteSecret'].map((eventName) => ({
      name: `a failed ${eventName} (errorCode AccessDenied)`,
      event: () =>
        secretsManagerCall(
          eventName,
          {},
          {
            errorCode: 'AccessDenied',
            errorMessage: `User is not authorized to perform: secretsmanager:${eventName}`,
            responseElements: null,
          },
        ),
    })),
    {
      name: 'a failed UpdateSecretVersionStage moving AWSCURRENT (errorCode)',
      event: () =>
        withDetail(loadFixture(F.updateVersionStage), {
          errorCode: 'InvalidParameterException',
          errorMessage: 'The version is not attached to the secret',
          responseElements: null,
        }),
    },
    // Parameter Store events that change nothing ECS reads.
    {
      name: 'Parameter Store Change LabelParameterVersion',
      event: () => loadFixture(F.parameterLabel),
    },
    {
      name: 'Parameter Store Policy Action ExpirationNotification',
      event: () => policyAction('ExpirationNotification'),
    },
    {
      name: 'Parameter Store Policy Action NoChangeNotification',
      event: () => policyAction('NoChangeNotification'),
    },
    // Read-only calls (EventBridge does not deliver them to ordinary rules anyway).
    ...['GetSecretValue', 'DescribeSecret', 'ListSecretVersionIds'].map((eventName) => ({
      name: `a read-only ${eventName}`,
      event: () => secretsManagerCall(eventName, {}, { readOnly: true, responseElements: null }),
    })),
    // Rotation events other than RotationSucceeded, and the call that starts a rotation.
    ...['RotationStarted', 'RotationAbandoned'].map((eventName) => ({
      name: eventName,
      event: () => rotationEvent(eventName, ORDERS_DB_ARN),
    })),
    {
      name: 'RotationFailed (awsdocs-2023 record, for prod/orders/db)',
      event: () =>
        withDetail(loadFixture(F.rotationFailed), {
          additionalEventData: { SecretId: ORDERS_DB_ARN },
        }),
    },
    { name: 'RotateSecret', event: () => loadFixture(F.rotateSecret) },
    // Case variations: EventBridge compares strings case-sensitively.
    {
      name: 'detail-type "parameter store change"',
      event: () =>
        withEnvelope(parameterChange('/prod/db'), { 'detail-type': 'parameter store change' }),
    },
    {
      name: 'detail-type "secret label updated"',
      event: () =>
        withEnvelope(labelUpdated({ name: 'prod/orders/db' }), {
          'detail-type': 'secret label updated',
        }),
    },
    {
      name: 'detail-type "AWS API call via CloudTrail"',
      event: () =>
        withEnvelope(loadFixture(F.updateSecretValue), {
          'detail-type': 'AWS API call via CloudTrail',
        }),
    },
    {
      name: 'source "AWS.SSM"',
      event: () => withEnvelope(parameterChange('/prod/db'), { source: 'AWS.SSM' }),
    },
    {
      name: 'source "aws.SecretsManager"',
      event: () =>
        withEnvelope(labelUpdated({ name: 'prod/orders/db' }), { source: 'aws.SecretsManager' }),
    },
    { name: 'operation "update"', event: () => parameterChange('/prod/db', 'update') },
    { name: 'policy-type "expiration"', event: () => policyAction('expiration') },
    {
      name: 'eventName "putSecretValue"',
      event: () => secretsManagerCall('putSecretValue', {}),
    },
    {
      name: 'eventName "rotationSucceeded"',
      event: () => rotationEvent('rotationSucceeded', ORDERS_DB_ARN),
    },
  ];

  describe.each(CONFIGURATIONS)('%s', (_configuration, rules) => {
    it.each(named(cases))('%s', (_name, { event }) => {
      expect(matchingRules(rules, event())).toEqual([]);
    });
  });
});

// Staging labels are compared case-sensitively too, so "awscurrent" is not AWSCURRENT: it is a
// custom label. The label and CloudTrail rules forward every label except AWSPENDING on
// purpose (infra/event-patterns.ts: "other labels matter only to references pinned to them"),
// and the function redeploys the services pinned to that label (change.ts, stagesMovedBy).
// So these case variations are forwarded, not dropped.
describe('lower-case AWS labels are custom labels, forwarded like any label but AWSPENDING', () => {
  const cases: readonly Case[] = [
    {
      name: 'Secret Label Updated with labelUpdated "awscurrent"',
      event: () => labelUpdated({ name: 'prod/orders/db', labelUpdated: 'awscurrent' }),
      expected: [SECRET_LABEL],
    },
    {
      name: 'Secret Label Updated with labelUpdated "awspending"',
      event: () => labelUpdated({ name: 'prod/orders/db', labelUpdated: 'awspending' }),
      expected: [SECRET_LABEL],
    },
    {
      name: 'PutSecretValue with versionStages ["awspending"]',
      event: () =>
        withDetail(loadFixture(F.putPending), {
          requestParameters: { secretId: ORDERS_DB_ARN, versionStages: ['awspending'] },
        }),
      expected: [SECRET_CLOUDTRAIL],
    },
  ];

  describe.each(CONFIGURATIONS)('%s', (_configuration, rules) => {
    it.each(named(cases))('%s', (_name, testCase) => {
      expectRules(rules, testCase);
    });
  });
});

describe('name prefixes (prod/ for secrets, /prod/ for parameters)', () => {
  // The Region and account of the from-api-reference fixtures the calls are built from.
  const arnOf = (name: string) => `arn:aws:secretsmanager:eu-central-1:111122223333:secret:${name}`;

  interface PrefixCase {
    readonly name: string;
    readonly event: () => JsonObject;
    /** The rule the event matches when every name is watched. */
    readonly rule: RuleId;
    /** Whether it still matches with the prefixes. */
    readonly watched: boolean;
  }

  /**
   * A PutSecretValue (no versionStages) naming the secret `secretId` in requestParameters only:
   * responseElements is null, as for some console calls (Secrets Manager user guide,
   * cloudtrail_log_entries), so the rule must decide on what the caller passed.
   */
  const putNaming = (secretId: string) =>
    secretsManagerCall('PutSecretValue', { secretId }, { responseElements: null });

  const cases: readonly PrefixCase[] = [
    // Parameters: /prod/ and prod/ are the same prefix.
    {
      name: 'parameter /prod/db',
      event: () => parameterChange('/prod/db'),
      rule: PARAMETER_CHANGE,
      watched: true,
    },
    {
      name: 'parameter prod/db',
      event: () => parameterChange('prod/db'),
      rule: PARAMETER_CHANGE,
      watched: true,
    },
    {
      name: 'parameter /staging/db',
      event: () => parameterChange('/staging/db'),
      rule: PARAMETER_CHANGE,
      watched: false,
    },
    {
      name: 'parameter /production/db',
      event: () => parameterChange('/production/db'),
      rule: PARAMETER_CHANGE,
      watched: false,
    },
    {
      name: 'parameter /staging/prod/db',
      event: () => parameterChange('/staging/prod/db'),
      rule: PARAMETER_CHANGE,
      watched: false,
    },
    {
      name: 'parameter /PROD/db',
      event: () => parameterChange('/PROD/db'),
      rule: PARAMETER_CHANGE,
      watched: false,
    },
    {
      name: 'expiration of /prod/token',
      event: () => policyAction('Expiration', '/prod/token'),
      rule: PARAMETER_EXPIRATION,
      watched: true,
    },
    {
      name: 'expiration of prod/token',
      event: () => policyAction('Expiration', 'prod/token'),
      rule: PARAMETER_EXPIRATION,
      watched: true,
    },
    {
      name: 'expiration of /staging/token',
      event: () => policyAction('Expiration', '/staging/token'),
      rule: PARAMETER_EXPIRATION,
      watched: false,
    },
    // Secrets, native event: detail.name.
    {
      name: 'Secret Label Updated for prod/db',
      event: () => labelUpdated({ name: 'prod/db', arn: arnOf('prod/db-AbCdEf') }),
      rule: SECRET_LABEL,
      watched: true,
    },
    {
      name: 'Secret Label Updated for staging/db',
      event: () => labelUpdated({ name: 'staging/db', arn: arnOf('staging/db-AbCdEf') }),
      rule: SECRET_LABEL,
      watched: false,
    },
    {
      name: 'Secret Label Updated for production-db',
      event: () => labelUpdated({ name: 'production-db', arn: arnOf('production-db-AbCdEf') }),
      rule: SECRET_LABEL,
      watched: false,
    },
    // Secrets, CloudTrail calls: requestParameters.secretId is a name, a partial or a full ARN.
    {
      name: 'secretId prod/db (name)',
      event: () => putNaming('prod/db'),
      rule: SECRET_CLOUDTRAIL,
      watched: true,
    },
    {
      name: 'secretId partial ARN of prod/db',
      event: () => putNaming(arnOf('prod/db')),
      rule: SECRET_CLOUDTRAIL,
      watched: true,
    },
    {
      name: 'secretId full ARN of prod/db',
      event: () => putNaming(arnOf('prod/db-AbCdEf')),
      rule: SECRET_CLOUDTRAIL,
      watched: true,
    },
    {
      name: 'secretId full ARN of prod/db in aws-cn',
      event: () =>
        putNaming('arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:prod/db-AbCdEf'),
      rule: SECRET_CLOUDTRAIL,
      watched: true,
    },
    {
      name: 'secretId staging/db (name)',
      event: () => putNaming('staging/db'),
      rule: SECRET_CLOUDTRAIL,
      watched: false,
    },
    {
      name: 'secretId production-db (name)',
      event: () => putNaming('production-db'),
      rule: SECRET_CLOUDTRAIL,
      watched: false,
    },
    {
      name: 'secretId prod (name, no slash)',
      event: () => putNaming('prod'),
      rule: SECRET_CLOUDTRAIL,
      watched: false,
    },
    {
      name: 'secretId staging/prod/db (name)',
      event: () => putNaming('staging/prod/db'),
      rule: SECRET_CLOUDTRAIL,
      watched: false,
    },
    {
      name: 'secretId full ARN of staging/db',
      event: () => putNaming(arnOf('staging/db-AbCdEf')),
      rule: SECRET_CLOUDTRAIL,
      watched: false,
    },
    {
      name: 'secretId full ARN of production-db',
      event: () => putNaming(arnOf('production-db-AbCdEf')),
      rule: SECRET_CLOUDTRAIL,
      watched: false,
    },
    {
      name: 'secretId partial ARN of staging/prod/db',
      event: () => putNaming(arnOf('staging/prod/db')),
      rule: SECRET_CLOUDTRAIL,
      watched: false,
    },
    // Every call the CloudTrail rule lets through is filtered the same way.
    {
      name: 'UpdateSecret on prod/db',
      event: () => secretsManagerCall('UpdateSecret', { secretId: 'prod/db' }),
      rule: SECRET_CLOUDTRAIL,
      watched: true,
    },
    {
      name: 'DeleteSecret on staging/db',
      event: () => secretsManagerCall('DeleteSecret', { secretId: 'staging/db' }),
      rule: SECRET_CLOUDTRAIL,
      watched: false,
    },
    {
      name: 'UpdateSecretVersionStage AWSCURRENT on prod/db',
      event: () =>
        secretsManagerCall('UpdateSecretVersionStage', {
          secretId: arnOf('prod/db-AbCdEf'),
          versionStage: 'AWSCURRENT',
          moveToVersionId: 'c3a1f5e2-7b9d-4e6f-8a0b-1c2d3e4f5a6b',
        }),
      rule: SECRET_CLOUDTRAIL,
      watched: true,
    },
    {
      name: 'UpdateSecretVersionStage AWSCURRENT on production-db',
      event: () =>
        secretsManagerCall('UpdateSecretVersionStage', {
          secretId: 'production-db',
          versionStage: 'AWSCURRENT',
          moveToVersionId: 'c3a1f5e2-7b9d-4e6f-8a0b-1c2d3e4f5a6b',
        }),
      rule: SECRET_CLOUDTRAIL,
      watched: false,
    },
    // Secrets, rotation service events: additionalEventData.SecretId is a full ARN.
    {
      name: 'RotationSucceeded for prod/db (additionalEventData.SecretId)',
      event: () => rotationEvent('RotationSucceeded', arnOf('prod/db-AbCdEf')),
      rule: SECRET_CLOUDTRAIL,
      watched: true,
    },
    {
      name: 'RotationSucceeded for staging/db',
      event: () => rotationEvent('RotationSucceeded', arnOf('staging/db-AbCdEf')),
      rule: SECRET_CLOUDTRAIL,
      watched: false,
    },
    {
      name: 'RotationSucceeded for production-db',
      event: () => rotationEvent('RotationSucceeded', arnOf('production-db-AbCdEf')),
      rule: SECRET_CLOUDTRAIL,
      watched: false,
    },
  ];

  it.each(named(cases))('every name: %s matches its rule', (_name, { event, rule }) => {
    expect(matchingRules(EVERYTHING, event())).toEqual([rule]);
  });

  it.each(cases.map((c) => [c.name, c.watched ? 'watched' : 'filtered out', c] as const))(
    'prod/ only: %s is %s',
    (_name, _watched, { event, rule, watched }) => {
      expect(matchingRules(PROD_ONLY, event())).toEqual(watched ? [rule] : []);
    },
  );
});
