/**
 * An in-memory rollout table behind an `aws-sdk-client-mock` stub of DynamoDBClient, serving the
 * reads RolloutStore makes for the CLI: GetItem, and Query on the table (`pk = :pk AND
 * begins_with(sk, :s)`) and on its ByTime index (`gsi1pk = :r`, newest first, optionally filtered
 * on `#status = :open`). Items are stored exactly as RolloutStore writes them (marshalled, with
 * its keys and bookkeeping). Any other request or expression throws, so a change in the store's
 * queries fails loudly instead of being answered wrongly.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  QueryCommand,
  type QueryCommandInput,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import type {
  ChangeSummary,
  RolloutRecord,
  ServiceRecord,
  ServiceState,
} from '../../functions/rollout/model.js';
import { rolloutIdOf } from '../../functions/rollout/identity.js';
import { clusterArn, serviceArn } from '../helpers/ecs.js';

type Item = Record<string, AttributeValue>;

export const TABLE = 'SecretRedeployer-Rollouts';
const EXPIRES_AT = 1_900_000_000;

const text = (item: Item, key: string): string => item[key]?.S ?? '';

export class FakeRolloutTable {
  private readonly items = new Map<string, Item>();
  /** Items per Query page (DynamoDB pages at 1 MB; small pages exercise the store's paging). */
  pageSize = 100;
  /** Every request served: `get`, `query`, `query:ByTime`. */
  readonly log: string[] = [];

  constructor(readonly tableName = TABLE) {}

  private set(item: Item): void {
    this.items.set(`${text(item, 'pk')}\n${text(item, 'sk')}`, item);
  }

  /** Stores (or replaces) a rollout as RolloutStore.openRollout writes it. */
  putRollout(rollout: RolloutRecord): void {
    this.set(
      marshall(
        {
          ...rollout,
          pk: `R#${rollout.rolloutId}`,
          sk: '#',
          gsi1pk: 'ROLLOUT',
          gsi1sk: `${rollout.createdAt}#${rollout.rolloutId}`,
          changeName: rollout.change.name,
          expiresAt: EXPIRES_AT,
        },
        { removeUndefinedValues: true },
      ),
    );
  }

  /** Stores (or replaces) a service's record as RolloutStore.putService writes it. */
  putService(rolloutId: string, service: ServiceRecord): void {
    this.set(
      marshall(
        {
          ...service,
          pk: `R#${rolloutId}`,
          sk: `S#${service.serviceArn}`,
          expiresAt: EXPIRES_AT,
        },
        { removeUndefinedValues: true },
      ),
    );
  }

  /** A rollout and its services, in one call. */
  put(rollout: RolloutRecord, services: readonly ServiceRecord[] = []): void {
    this.putRollout(rollout);
    for (const service of services) this.putService(rollout.rolloutId, service);
  }

  serve(mock: AwsClientStub<DynamoDBClient>): void {
    const check = (tableName: string | undefined): void => {
      if (tableName !== this.tableName) {
        throw new ResourceNotFoundException({
          message: 'Requested resource not found',
          $metadata: { httpStatusCode: 400 },
        });
      }
    };
    mock.on(GetItemCommand).callsFake((input: GetItemCommandInput) => {
      check(input.TableName);
      this.log.push('get');
      const key = `${input.Key?.pk?.S ?? ''}\n${input.Key?.sk?.S ?? ''}`;
      const item = this.items.get(key);
      return item ? { Item: structuredClone(item) } : {};
    });
    mock.on(QueryCommand).callsFake((input: QueryCommandInput) => {
      check(input.TableName);
      const values = input.ExpressionAttributeValues ?? {};
      let matching: Item[];
      if (input.IndexName === 'ByTime') {
        this.log.push('query:ByTime');
        if (input.KeyConditionExpression !== 'gsi1pk = :r' || input.ScanIndexForward !== false) {
          throw new Error(`fake rollout table: unsupported index query ${JSON.stringify(input)}`);
        }
        matching = [...this.items.values()]
          .filter((item) => text(item, 'gsi1pk') === values[':r']?.S)
          .sort((a, b) => text(b, 'gsi1sk').localeCompare(text(a, 'gsi1sk')));
      } else if (input.IndexName === undefined) {
        this.log.push('query');
        if (input.KeyConditionExpression !== 'pk = :pk AND begins_with(sk, :s)') {
          throw new Error(`fake rollout table: unsupported query ${JSON.stringify(input)}`);
        }
        matching = [...this.items.values()]
          .filter(
            (item) =>
              text(item, 'pk') === values[':pk']?.S &&
              text(item, 'sk').startsWith(values[':s']?.S ?? '\u0000'),
          )
          .sort((a, b) => text(a, 'sk').localeCompare(text(b, 'sk')));
      } else {
        throw new Error(`fake rollout table: no index ${input.IndexName}`);
      }

      const start = input.ExclusiveStartKey;
      const from =
        start === undefined
          ? 0
          : matching.findIndex(
              (item) => text(item, 'pk') === start.pk?.S && text(item, 'sk') === start.sk?.S,
            ) + 1;
      const page = matching.slice(from, from + this.pageSize);
      const last = page.at(-1);
      const more = from + this.pageSize < matching.length && last !== undefined;

      // DynamoDB filters a page after reading it.
      let items = page;
      if (input.FilterExpression !== undefined) {
        if (
          input.FilterExpression !== '#status = :open' ||
          input.ExpressionAttributeNames?.['#status'] !== 'status'
        ) {
          throw new Error(`fake rollout table: unsupported filter ${input.FilterExpression}`);
        }
        items = page.filter((item) => text(item, 'status') === values[':open']?.S);
      }
      return {
        Items: items.map((item) => structuredClone(item)),
        Count: items.length,
        ScannedCount: page.length,
        ...(more && {
          LastEvaluatedKey: {
            pk: { S: text(last, 'pk') },
            sk: { S: text(last, 'sk') },
            ...(input.IndexName !== undefined && {
              gsi1pk: { S: text(last, 'gsi1pk') },
              gsi1sk: { S: text(last, 'gsi1sk') },
            }),
          },
        }),
      };
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

/** A change of AWSCURRENT of a secret, or of a parameter. */
export function change(
  fields: Partial<ChangeSummary> & Pick<ChangeSummary, 'type' | 'arn' | 'name' | 'version'>,
): ChangeSummary {
  return {
    ...(fields.type === 'secret' && { label: 'AWSCURRENT' }),
    action: 'redeploy',
    trigger: fields.type === 'secret' ? 'RotationSucceeded' : 'Update',
    eventId: 'event-1',
    ...fields,
  };
}

/** A rollout of `summary` created at `createdAt`, its id as the redeployer derives it. */
export function rollout(
  summary: ChangeSummary,
  createdAt: Date,
  fields: Partial<RolloutRecord> = {},
): RolloutRecord {
  const rolloutId = rolloutIdOf(summary, 1);
  return {
    rolloutId,
    change: summary,
    changeTime: new Date(createdAt.getTime() - 2000).toISOString(),
    createdAt: createdAt.toISOString(),
    status: 'OPEN',
    engine: { name: rolloutId, attempt: 1, startedAt: createdAt.toISOString() },
    ...fields,
  };
}

/** A service's record in a rollout: `cluster/name`, in `state`, deploying since `deployingAt`. */
export function serviceRecord(
  cluster: string,
  name: string,
  state: ServiceState,
  fields: Partial<ServiceRecord> = {},
): ServiceRecord {
  return {
    serviceArn: serviceArn(cluster, name),
    clusterArn: clusterArn(cluster),
    state,
    plannedAt: '2026-03-01T12:00:00.000Z',
    updatedAt: '2026-03-01T12:00:00.000Z',
    attempts: state === 'SKIPPED' || state === 'NEEDS_ACTION' ? 0 : 1,
    ...fields,
  };
}
