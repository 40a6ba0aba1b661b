/**
 * Change events with a chosen id, time and subject, built from the documented samples in
 * `test/events/` moved to the home Region and account.
 */
import { ACCOUNT, REGION } from './ecs.js';
import { type JsonObject, detailOf, relocatedFixture } from './fixtures.js';

const HERE = { region: REGION, account: ACCOUNT };

export const SM = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret`;

/** An EventBridge `time`: ISO 8601, whole seconds, as EventBridge writes it. */
export const eventTime = (at: number | Date): string =>
  new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `Secret Label Updated` (AWSCURRENT moved) for the secret `name-suffix` of the home account. */
export function secretChanged(options: {
  readonly id: string;
  readonly name: string;
  readonly suffix: string;
  readonly at: number | Date;
}): JsonObject {
  const event = relocatedFixture(
    'secretsmanager/eventbridge-SecretLabelUpdated-native.awsdocs.json',
    { region: 'us-west-2', account: '012345678901' },
    HERE,
  );
  event.id = options.id;
  event.time = eventTime(options.at);
  event.resources = [`${SM}:${options.name}-${options.suffix}`];
  const detail = detailOf(event);
  detail.name = options.name;
  detail.versionId = `${options.id}-version`;
  return event;
}

/** `Parameter Store Change` for the parameter `name` (stored name) of the home account. */
export function parameterChanged(options: {
  readonly id: string;
  readonly name: string;
  readonly at: number | Date;
  readonly operation?: 'Create' | 'Update' | 'Delete';
}): JsonObject {
  const event = relocatedFixture(
    'ssm/parameter-store-change-update.awsdocs.json',
    { region: 'us-east-2', account: '123456789012' },
    HERE,
  );
  event.id = options.id;
  event.time = eventTime(options.at);
  event.resources = [
    `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${options.name.replace(/^\//, '')}`,
  ];
  const detail = detailOf(event);
  detail.name = options.name;
  detail.operation = options.operation ?? 'Update';
  return event;
}
