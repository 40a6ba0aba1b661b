/**
 * The flap guard: a service force-deployed `maxDeployments` times within `period` is not
 * force-deployed again until that period has passed. The count lives in DynamoDB, so it holds
 * across invocations and execution environments.
 *
 * One item per service: `windowStart` (epoch seconds), `deployments` (count in the window) and
 * `expiresAt` (TTL). A fixed window: it opens with the first deployment and lasts `period`.
 * Admitting is one conditional UpdateItem; a new window is one conditional PutItem. Concurrent
 * writers are serialised by the conditions.
 */
import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { errorName } from './errors.js';

export type Admission = 'admitted' | 'flapping';

export interface FlapGuard {
  /** Counts one force-deployment of the service, unless its budget for the period is spent. */
  admit(serviceArn: string, now: Date): Promise<Admission>;
  /** Gives back a deployment that was admitted but did not happen (UpdateService failed). */
  release(serviceArn: string): Promise<void>;
  /** When a refused service may be force-deployed again (its window's end), if known. */
  retryAt(serviceArn: string, now: Date): Promise<Date | undefined>;
  readonly maxDeployments: number;
  readonly periodSeconds: number;
}

export class DynamoFlapGuard implements FlapGuard {
  constructor(
    private readonly dynamodb: Pick<DynamoDBClient, 'send'>,
    private readonly tableName: string,
    readonly maxDeployments: number,
    readonly periodSeconds: number,
  ) {}

  async admit(serviceArn: string, now: Date): Promise<Admission> {
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const cutoff = String(nowSeconds - this.periodSeconds);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        // Within an open window and under the cap: count this deployment.
        await this.dynamodb.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { serviceArn: { S: serviceArn } },
            UpdateExpression: 'ADD deployments :one',
            ConditionExpression: 'windowStart > :cutoff AND deployments < :max',
            ExpressionAttributeValues: {
              ':one': { N: '1' },
              ':cutoff': { N: cutoff },
              ':max': { N: String(this.maxDeployments) },
            },
          }),
        );
        return 'admitted';
      } catch (error) {
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      }
      try {
        // No window, or it has passed: open a new one with this deployment.
        await this.dynamodb.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: {
              serviceArn: { S: serviceArn },
              windowStart: { N: String(nowSeconds) },
              deployments: { N: '1' },
              expiresAt: { N: String(nowSeconds + this.periodSeconds) },
            },
            ConditionExpression: 'attribute_not_exists(serviceArn) OR windowStart <= :cutoff',
            ExpressionAttributeValues: { ':cutoff': { N: cutoff } },
          }),
        );
        return 'admitted';
      } catch (error) {
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      }
      // The window is open and full, or another writer opened it just now: look again.
    }
    return 'flapping';
  }

  async retryAt(serviceArn: string, now: Date): Promise<Date | undefined> {
    const { Item } = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { serviceArn: { S: serviceArn } },
        ConsistentRead: true,
      }),
    );
    const windowStart = Number(Item?.windowStart?.N);
    if (!Number.isFinite(windowStart)) return undefined;
    const end = new Date((windowStart + this.periodSeconds) * 1000);
    return end > now ? end : now;
  }

  async release(serviceArn: string): Promise<void> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { serviceArn: { S: serviceArn } },
          UpdateExpression: 'ADD deployments :minusOne',
          ConditionExpression: 'deployments > :zero',
          ExpressionAttributeValues: { ':minusOne': { N: '-1' }, ':zero': { N: '0' } },
        }),
      );
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
    }
  }
}
