/**
 * Turns an EventBridge event into one pending change, or a reason to ignore it.
 *
 * Pure: no AWS calls. Secrets identified only by name or partial ARN are resolved afterwards
 * (see secrets.ts), with metadata calls only.
 */
import {
  type ParameterId,
  type Scope,
  type SecretId,
  isSecretName,
  normaliseParameterName,
  parameterIdFromArn,
  parseArn,
  secretIdFromFullArn,
} from './arn.js';
import {
  AWSCURRENT,
  AWSPENDING,
  type ChangeAction,
  type ParameterChange,
  stagesMovedBy,
} from './change.js';
import { isRegion } from './partition.js';

/** The EventBridge envelope, validated. `detail` is still untrusted JSON. */
export interface Envelope {
  readonly id: string;
  readonly source: string;
  readonly detailType: string;
  readonly time: Date;
  readonly region: string;
  readonly account: string;
  readonly resources: readonly string[];
  readonly detail: Json;
}

type Json = Readonly<Record<string, unknown>>;

/** Where the secret that changed can be found, before resolution. */
export interface SecretLocator {
  /** A complete ARN reported by AWS (event `resources`, `responseElements`, service events). */
  readonly arn?: SecretId;
  /** What the caller passed: a name, a partial ARN or a full ARN (`requestParameters.secretId`). */
  readonly reference?: string;
  /** The secret's name, when the event states it. */
  readonly name?: string;
}

export interface PendingSecretChange {
  readonly kind: 'secret';
  readonly eventId: string;
  readonly time: Date;
  readonly trigger: string;
  readonly action: ChangeAction;
  /** The scope of the event (its Region and account). */
  readonly scope: Scope;
  readonly locator: SecretLocator;
  /**
   * Labels that moved, before expansion (see `stagesMovedBy`). Undefined when the event does not
   * say; then the stages of `versionId` are looked up, and `AWSCURRENT` assumed if unknown.
   */
  readonly stages?: readonly string[];
  readonly versionId?: string;
}

export type Interpretation =
  | { readonly kind: 'change'; readonly change: PendingSecretChange | ParameterChange }
  | { readonly kind: 'ignored'; readonly reason: string };

const ignore = (reason: string): Interpretation => ({ kind: 'ignored', reason });

/** A value of the detail, only if it is a non-empty string. */
function str(object: unknown, key: string): string | undefined {
  if (!isObject(object)) return undefined;
  const value = object[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * An ISO 8601 time of a day that exists: Date.parse rolls an impossible day into the next month
 * (30 February is read as 2 March), so the calendar date is checked on its own.
 */
function isValidTime(time: string): boolean {
  const match = ISO_TIME.exec(time);
  if (!match || Number.isNaN(Date.parse(time))) return false;
  const [, year, month, day] = match.map(Number);
  const date = new Date(Date.UTC(year ?? 0, (month ?? 0) - 1, day ?? 0));
  return date.getUTCMonth() === (month ?? 0) - 1 && date.getUTCDate() === day;
}
const ACCOUNT = /^\d{12}$/;

/** Validates the envelope. Returns a reason string when it is not a usable EventBridge event. */
export function parseEnvelope(event: unknown): Envelope | string {
  if (!isObject(event)) return 'the event is not a JSON object';
  const id = str(event, 'id');
  const source = str(event, 'source');
  const detailType = str(event, 'detail-type');
  const time = str(event, 'time');
  const region = str(event, 'region');
  const account = str(event, 'account');
  const { detail, resources = [] } = event;
  if (id === undefined) return 'the event has no id';
  if (source === undefined) return 'the event has no source';
  if (detailType === undefined) return 'the event has no detail-type';
  if (time === undefined || !isValidTime(time)) {
    return 'the event has no valid time';
  }
  if (region === undefined || !isRegion(region)) return 'the event has no valid region';
  if (account === undefined || !ACCOUNT.test(account)) return 'the event has no valid account';
  if (!isObject(detail)) return 'the event has no detail object';
  const resourceList = strings(resources);
  if (resourceList === undefined) return 'the event resources are not a list of strings';
  return {
    id,
    source,
    detailType,
    time: new Date(time),
    region,
    account,
    resources: resourceList,
    detail,
  };
}

/** Interprets a validated event. `partition` is the function's own (events do not carry one). */
export function interpret(envelope: Envelope, partition: string): Interpretation {
  const scope: Scope = { partition, region: envelope.region, account: envelope.account };
  const key = `${envelope.source} / ${envelope.detailType}`;
  switch (key) {
    case 'aws.ssm / Parameter Store Change':
      return parameterChange(envelope, scope);
    case 'aws.ssm / Parameter Store Policy Action':
      return parameterPolicyAction(envelope, scope);
    case 'aws.secretsmanager / Secret Label Updated':
      return secretLabelUpdated(envelope, scope);
    case 'aws.secretsmanager / AWS API Call via CloudTrail':
    case 'aws.secretsmanager / AWS Service Event via CloudTrail':
      return secretsManagerCloudTrail(envelope, scope);
    default:
      return ignore(`unsupported event type: ${truncate(key)}`);
  }
}

function truncate(value: string, max = 120): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

// ---------------------------------------------------------------------------------------------
// SSM Parameter Store
// ---------------------------------------------------------------------------------------------

function parameterFromEvent(
  envelope: Envelope,
  scope: Scope,
  nameField: string,
): ParameterId | string {
  const fromArn = envelope.resources
    .map((resource) => parameterIdFromArn(resource))
    .find((id) => id !== undefined);
  const rawName = str(envelope.detail, nameField);
  if (rawName !== undefined) {
    const name = normaliseParameterName(rawName);
    if (name === undefined) return `detail.${nameField} is not a valid parameter name`;
    if (fromArn !== undefined && fromArn.name !== name) {
      return `detail.${nameField} and resources name different parameters`;
    }
    return fromArn ?? { ...scope, name };
  }
  return fromArn ?? `the event names no parameter (detail.${nameField} or resources)`;
}

function parameterChange(envelope: Envelope, scope: Scope): Interpretation {
  const operation = str(envelope.detail, 'operation');
  let action: ChangeAction;
  switch (operation) {
    case 'Create':
    case 'Update':
      action = 'redeploy';
      break;
    case 'Delete':
      action = 'warn';
      break;
    case 'LabelParameterVersion':
      return ignore('a parameter label moved: ECS resolves parameters by name, labels are unused');
    default:
      return ignore(`unsupported Parameter Store operation: ${truncate(String(operation))}`);
  }
  if (envelope.detail.exception !== undefined) {
    return ignore(`the ${operation} operation failed; the parameter did not change`);
  }
  return parameterChangeOf(
    envelope,
    scope,
    'name',
    `Parameter Store Change (${operation})`,
    action,
  );
}

function parameterPolicyAction(envelope: Envelope, scope: Scope): Interpretation {
  const policyType = str(envelope.detail, 'policy-type');
  if (policyType !== 'Expiration') {
    return ignore(`parameter policy ${truncate(String(policyType))} changes no value`);
  }
  return parameterChangeOf(
    envelope,
    scope,
    'parameter-name',
    'Parameter Store Policy Action (Expiration)',
    'warn',
  );
}

function parameterChangeOf(
  envelope: Envelope,
  scope: Scope,
  nameField: string,
  trigger: string,
  action: ChangeAction,
): Interpretation {
  const parameter = parameterFromEvent(envelope, scope, nameField);
  if (typeof parameter === 'string') return ignore(parameter);
  return {
    kind: 'change',
    change: {
      kind: 'parameter',
      eventId: envelope.id,
      time: envelope.time,
      trigger,
      action,
      parameter,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager
// ---------------------------------------------------------------------------------------------

function secretLabelUpdated(envelope: Envelope, scope: Scope): Interpretation {
  const label = str(envelope.detail, 'labelUpdated');
  if (label === undefined) return ignore('detail.labelUpdated is missing');
  if (stagesMovedBy([label]).length === 0) {
    return ignore(`label ${truncate(label)} is not read by running tasks`);
  }
  const locator = locateSecret(envelope, [], { name: str(envelope.detail, 'name') });
  if (typeof locator === 'string') return ignore(locator);
  const versionId = str(envelope.detail, 'versionId');
  return secretChange(envelope, scope, locator, `Secret Label Updated (${label})`, 'redeploy', {
    stages: [label],
    ...(versionId !== undefined && { versionId }),
  });
}

const CLOUDTRAIL_TRIGGERS = new Set([
  'PutSecretValue',
  'UpdateSecret',
  'UpdateSecretVersionStage',
  'RotationSucceeded',
  'DeleteSecret',
]);

function secretsManagerCloudTrail(envelope: Envelope, scope: Scope): Interpretation {
  const record = envelope.detail;
  const eventName = str(record, 'eventName');
  if (eventName === undefined) return ignore('detail.eventName is missing');
  if (!CLOUDTRAIL_TRIGGERS.has(eventName)) {
    return ignore(`${truncate(eventName)} does not change the value tasks receive`);
  }
  const eventSource = str(record, 'eventSource');
  if (eventSource !== undefined && eventSource !== 'secretsmanager.amazonaws.com') {
    return ignore(`detail.eventSource ${truncate(eventSource)} is not Secrets Manager`);
  }
  if (record.errorCode !== undefined && record.errorCode !== null) {
    return ignore(
      `${eventName} failed (${truncate(JSON.stringify(record.errorCode))}); nothing changed`,
    );
  }
  const request = isObject(record.requestParameters) ? record.requestParameters : {};
  const response = isObject(record.responseElements) ? record.responseElements : {};
  const extra = isObject(record.additionalEventData) ? record.additionalEventData : {};
  const service = isObject(record.serviceEventDetails) ? record.serviceEventDetails : {};

  const locator = locateSecret(
    envelope,
    [str(response, 'arn'), str(response, 'aRN'), str(extra, 'SecretId')],
    {
      reference: str(request, 'secretId') ?? str(service, 'secretId'),
      name: str(response, 'name'),
    },
  );
  if (typeof locator === 'string') return ignore(locator);
  const change = (
    trigger: string,
    action: ChangeAction,
    stages: { stages?: readonly string[]; versionId?: string },
  ): Interpretation => secretChange(envelope, scope, locator, trigger, action, stages);

  switch (eventName) {
    case 'RotationSucceeded':
      return change('RotationSucceeded', 'redeploy', { stages: [AWSCURRENT] });
    case 'DeleteSecret':
      return change('DeleteSecret', 'warn', { stages: [] });
    case 'UpdateSecretVersionStage': {
      const stage = str(request, 'versionStage');
      if (stage === undefined) return ignore('UpdateSecretVersionStage names no versionStage');
      const moveTo = str(request, 'moveToVersionId');
      if (moveTo === undefined) {
        if (stage === AWSPENDING) {
          return ignore('AWSPENDING was removed: a rotation cleaning up, nothing tasks read');
        }
        if (stage === AWSCURRENT) {
          return ignore('AWSCURRENT cannot be removed, only moved: nothing changed');
        }
        // Removed from every version: references pinned to the label no longer resolve.
        return change(`UpdateSecretVersionStage (${stage} removed)`, 'label-removed', {
          stages: [stage],
        });
      }
      if (stagesMovedBy([stage]).length === 0) {
        return ignore(`label ${truncate(stage)} is not read by running tasks`);
      }
      return change(`UpdateSecretVersionStage (${stage})`, 'redeploy', {
        stages: [stage],
        versionId: moveTo,
      });
    }
    case 'UpdateSecret': {
      // Only a new value creates a version; description or KMS key changes do not.
      const newValue =
        'secretString' in request ||
        'secretBinary' in request ||
        str(response, 'versionId') !== undefined;
      if (!newValue) return ignore('UpdateSecret changed only metadata, not the value');
      return change('UpdateSecret', 'redeploy', { stages: [AWSCURRENT] });
    }
    default: {
      // PutSecretValue: the labels the new version carries decide; a rotation's createSecret
      // step writes AWSPENDING only, which must not redeploy.
      const stages = strings(response.versionStages) ?? strings(request.versionStages);
      const versionId = str(response, 'versionId') ?? str(request, 'clientRequestToken');
      if (stages !== undefined && stagesMovedBy(stages).length === 0) {
        return ignore(
          `PutSecretValue wrote a version labelled ${stages.join(', ') || 'with no label'}: ` +
            'not live yet (a rotation in progress)',
        );
      }
      return change('PutSecretValue', 'redeploy', {
        ...(stages !== undefined && { stages }),
        ...(versionId !== undefined && { versionId }),
      });
    }
  }
}

/** A Secrets Manager ARN (full or partial) whose name is a valid secret name. */
function isSecretArn(value: string): boolean {
  const arn = parseArn(value);
  if (arn?.service !== 'secretsmanager') return false;
  const [type, name = '', ...rest] = arn.resource.split(':');
  return type === 'secret' && rest.length === 0 && isSecretName(name);
}

/** Finds the secret in an event: first complete ARNs AWS reported, then what the caller passed. */
function locateSecret(
  envelope: Envelope,
  reportedArns: readonly (string | undefined)[],
  fallback: { reference?: string | undefined; name?: string | undefined },
): SecretLocator | string {
  const candidates = [...envelope.resources, ...reportedArns].filter(
    (value): value is string => value !== undefined,
  );
  const arns = candidates.map((value) => secretIdFromFullArn(value));
  const arn = arns.find((id) => id !== undefined);
  const { reference, name } = fallback;
  if (name !== undefined && !isSecretName(name)) return 'the secret name in the event is invalid';
  if (arn !== undefined) {
    if (name !== undefined && name !== arn.name) {
      return 'the secret name and ARN in the event disagree';
    }
    return { arn, ...(name !== undefined && { name }) };
  }
  if (reference !== undefined) {
    const valid = isSecretName(reference) || isSecretArn(reference);
    if (!valid) return 'the secret id in the event is neither a name nor an ARN';
    return { reference, ...(name !== undefined && { name }) };
  }
  if (name !== undefined) return { name };
  return 'the event names no secret';
}

function secretChange(
  envelope: Envelope,
  scope: Scope,
  locator: SecretLocator,
  trigger: string,
  action: ChangeAction,
  stages: { stages?: readonly string[]; versionId?: string },
): Interpretation {
  return {
    kind: 'change',
    change: {
      kind: 'secret',
      eventId: envelope.id,
      time: envelope.time,
      trigger,
      action,
      scope,
      locator,
      ...stages,
    },
  };
}
