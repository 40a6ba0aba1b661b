/**
 * Rollout state in DynamoDB: one table, every write a single-item request, every race settled
 * by a condition (never by memory). Items:
 *
 * | pk              | sk           | what                                                        |
 * | --------------- | ------------ | ----------------------------------------------------------- |
 * | `R#<rollout>`   | `#`          | the rollout (change, status, engine, wake callback)          |
 * | `R#<rollout>`   | `S#<arn>`    | one service's part in it (model.ts ServiceRecord)            |
 * | `SVC#<arn>`     | `#`          | the claim: who last started a forced deployment, and when    |
 * | `PTR#<key>`     | `#`          | the version a label (or parameter) was last handled at       |
 *
 * Rollouts also carry `gsi1pk = ROLLOUT` and `gsi1sk = <createdAt>#<id>` for the `ByTime` index
 * (latest rollouts, open rollouts). Every item expires (`expiresAt`, DynamoDB TTL).
 *
 * **The claim** makes "one deployment per service per change" hold across invocations,
 * execution environments and retries. Before UpdateService, a rollout claims the service with a
 * conditional write that succeeds only if the last claim was made before the change
 * (`claimAt < changeTime + 1 s`): a claim made after the change belongs to a deployment that
 * delivers it too, so the second rollout watches that one instead of starting another. Changes
 * that reach a service within the settle window share one deployment this way.
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { errorName } from '../redeploy/errors.js';
import type { RolloutRecord, RolloutStatus, ServiceRecord, ServiceState } from './model.js';

export type DynamoLike = Pick<DynamoDBClient, 'send'>;

export const BY_TIME_INDEX = 'ByTime';

const ROLLOUT = (id: string) => ({ pk: { S: `R#${id}` }, sk: { S: '#' } });
const SERVICE = (id: string, arn: string) => ({ pk: { S: `R#${id}` }, sk: { S: `S#${arn}` } });
const CLAIM = (arn: string) => ({ pk: { S: `SVC#${arn}` }, sk: { S: '#' } });
const POINTER = (key: string) => ({ pk: { S: `PTR#${key}` }, sk: { S: '#' } });

/** The last forced deployment of a service, as claimed. */
export interface Claim {
  readonly serviceArn: string;
  /** When it was claimed (epoch ms, the function's clock). */
  readonly claimAt: number;
  readonly rolloutId: string;
  readonly token: string;
  /** The ECS deployment, once UpdateService answered. */
  readonly deploymentId?: string;
  /** Rollouts watching the service's deployment (woken by its ECS events). */
  readonly watchers: readonly string[];
}

export type ClaimResult =
  /** Ours: send UpdateService. `previous` restores the last claim if it fails for sure. */
  | { readonly kind: 'claimed'; readonly previous?: Claim }
  /** Claimed with this very token before (a retry): UpdateService may have been sent. */
  | { readonly kind: 'mine'; readonly claim: Claim }
  /** Claimed by another invocation of the same rollout, which is deploying it right now. */
  | { readonly kind: 'busy'; readonly claim: Claim }
  /** Claimed after the change by another rollout: its deployment delivers this change too. */
  | { readonly kind: 'covered'; readonly claim: Claim };

export interface Pointer {
  readonly key: string;
  readonly version: string;
  readonly generation: number;
  readonly movedAt: string;
  /** Recorded by a sweep as the starting point, not by a handled change. */
  readonly baseline?: boolean;
}

export interface StoreOptions {
  /** Days items are kept after their last write. @default 35 */
  readonly retentionDays?: number;
}

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException ||
  errorName(error) === 'ConditionalCheckFailedException';

const BOOKKEEPING = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk', 'expiresAt', 'changeName']);

/** The stored item without its keys and bookkeeping. */
function withoutKeys(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([key]) => !BOOKKEEPING.has(key)));
}

// The table holds only what this module wrote: its items have the record shapes.
const rolloutOf = (item: Record<string, unknown>): RolloutRecord =>
  withoutKeys(item) as unknown as RolloutRecord;
const serviceOf = (item: Record<string, unknown>): ServiceRecord =>
  withoutKeys(item) as unknown as ServiceRecord;

export class RolloutStore {
  private readonly retentionSeconds: number;

  constructor(
    private readonly dynamodb: DynamoLike,
    readonly tableName: string,
    options: StoreOptions = {},
  ) {
    this.retentionSeconds = (options.retentionDays ?? 35) * 24 * 3600;
  }

  private expiresAt(now: Date): number {
    return Math.floor(now.getTime() / 1000) + this.retentionSeconds;
  }

  // ---------------------------------------------------------------------------------------------
  // Pointers: the version each label (or parameter) was last handled at, with its generation.
  // ---------------------------------------------------------------------------------------------

  /**
   * Moves the pointer to `version`, opening the next generation if it pointed elsewhere; returns
   * the generation `version` belongs to. Concurrent calls for the same version agree.
   */
  async advancePointer(key: string, version: string, now: Date): Promise<number> {
    try {
      const { Attributes } = await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: POINTER(key),
          // Pointers never expire: the sweep compares what is live with them.
          UpdateExpression:
            'SET #v = :v, generation = if_not_exists(generation, :zero) + :one, movedAt = :now ' +
            'REMOVE baseline',
          ConditionExpression: 'attribute_not_exists(pk) OR #v <> :v OR baseline = :true',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: marshall({
            ':v': version,
            ':zero': 0,
            ':one': 1,
            ':now': now.toISOString(),
            ':true': true,
          }),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Number(unmarshall(Attributes ?? {}).generation ?? 1);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const pointer = await this.pointer(key);
      if (pointer === undefined) throw error; // expired between the two calls: the retry moves it
      return pointer.generation;
    }
  }

  async pointer(key: string): Promise<Pointer | undefined> {
    const { Item } = await this.dynamodb.send(
      new GetItemCommand({ TableName: this.tableName, Key: POINTER(key), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const item = unmarshall(Item);
    return {
      key,
      version: String(item.version),
      generation: Number(item.generation ?? 0),
      movedAt: String(item.movedAt),
      ...(item.baseline === true && { baseline: true }),
    };
  }

  /** Records where a label stands when nothing was handled yet (the sweep's starting point). */
  async recordBaseline(key: string, version: string, now: Date): Promise<void> {
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({
            pk: `PTR#${key}`,
            sk: '#',
            version,
            generation: 0,
            movedAt: now.toISOString(),
            baseline: true,
          }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Rollouts
  // ---------------------------------------------------------------------------------------------

  /** Creates the rollout unless it exists; either way returns the stored one. */
  async openRollout(
    rollout: RolloutRecord,
    now: Date,
  ): Promise<{ created: boolean; rollout: RolloutRecord }> {
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall(
            {
              ...rollout,
              pk: `R#${rollout.rolloutId}`,
              sk: '#',
              gsi1pk: 'ROLLOUT',
              gsi1sk: `${rollout.createdAt}#${rollout.rolloutId}`,
              changeName: rollout.change.name,
              expiresAt: this.expiresAt(now),
            },
            { removeUndefinedValues: true },
          ),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true, rollout };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = await this.rollout(rollout.rolloutId);
      if (!existing) throw error;
      return { created: false, rollout: existing };
    }
  }

  async rollout(rolloutId: string): Promise<RolloutRecord | undefined> {
    const { Item } = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: ROLLOUT(rolloutId),
        ConsistentRead: true,
      }),
    );
    return Item ? rolloutOf(unmarshall(Item)) : undefined;
  }

  /** Every service of the rollout. */
  async services(rolloutId: string): Promise<ServiceRecord[]> {
    const services: ServiceRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.dynamodb.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :s)',
          ExpressionAttributeValues: marshall({ ':pk': `R#${rolloutId}`, ':s': 'S#' }),
          ConsistentRead: true,
          ...(start && { ExclusiveStartKey: marshall(start) }),
        }),
      );
      for (const item of page.Items ?? []) services.push(serviceOf(unmarshall(item)));
      start = page.LastEvaluatedKey ? unmarshall(page.LastEvaluatedKey) : undefined;
    } while (start);
    return services;
  }

  async service(rolloutId: string, serviceArn: string): Promise<ServiceRecord | undefined> {
    const { Item } = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: SERVICE(rolloutId, serviceArn),
        ConsistentRead: true,
      }),
    );
    return Item ? serviceOf(unmarshall(Item)) : undefined;
  }

  /**
   * Writes a service's record. With `expect`, only if the stored one is absent (`'absent'`) or
   * in one of the given states (and then not updated since `updatedAt`, when given); returns
   * whether it was written.
   */
  async putService(
    rolloutId: string,
    service: ServiceRecord,
    now: Date,
    expect?: 'absent' | { readonly states: readonly ServiceState[]; readonly updatedAt?: string },
  ): Promise<boolean> {
    const condition =
      expect === undefined
        ? undefined
        : expect === 'absent'
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression:
                `#state IN (${expect.states.map((_, i) => `:s${i}`).join(', ')})` +
                (expect.updatedAt === undefined ? '' : ' AND updatedAt = :u'),
              ExpressionAttributeNames: { '#state': 'state' },
              ExpressionAttributeValues: marshall({
                ...Object.fromEntries(expect.states.map((state, i) => [`:s${i}`, state])),
                ...(expect.updatedAt !== undefined && { ':u': expect.updatedAt }),
              }),
            };
    if (expect !== undefined && expect !== 'absent' && expect.states.length === 0) {
      throw new RangeError('putService: expect.states must not be empty');
    }
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall(
            {
              ...service,
              pk: `R#${rolloutId}`,
              sk: `S#${service.serviceArn}`,
              expiresAt: this.expiresAt(now),
            },
            { removeUndefinedValues: true },
          ),
          ...condition,
        }),
      );
      return true;
    } catch (error) {
      if (expect !== undefined && isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Sets top-level attributes of the rollout (engine, wake callback, last look, waves), and
   * removes `remove`. With `onlyIf`, only while the condition holds; returns whether it was written.
   */
  async updateRollout(
    rolloutId: string,
    changes: Partial<
      Pick<
        RolloutRecord,
        | 'engine'
        | 'wakeCallbackId'
        | 'operatorCallbackId'
        | 'observedAt'
        | 'nextLookAt'
        | 'inFlight'
        | 'currentWave'
        | 'waves'
        | 'bakeUntil'
        | 'halted'
        | 'control'
      >
    >,
    options: {
      readonly remove?: readonly ('bakeUntil' | 'halted' | 'control' | 'operatorCallbackId')[];
      /** `open`: only an open rollout; `not-halted`: only an open one that is not halted. */
      readonly onlyIf?: 'open' | 'not-halted';
      /** Only while the halt (or the operator's request) is still the one with this time. */
      readonly haltedAt?: string;
      readonly controlAt?: string;
    } = {},
  ): Promise<boolean> {
    const entries = Object.entries(changes as Record<string, unknown>).filter(
      ([, value]) => value !== undefined,
    );
    const remove = options.remove ?? [];
    if (entries.length === 0 && remove.length === 0) return true;
    const set = entries.map((_, i) => `#k${i} = :v${i}`);
    const conditions = [
      'attribute_exists(pk)',
      ...(options.onlyIf !== undefined ? ['#status = :open'] : []),
      ...(options.onlyIf === 'not-halted' ? ['attribute_not_exists(halted)'] : []),
      ...(options.haltedAt !== undefined ? ['halted.#at = :haltedAt'] : []),
      ...(options.controlAt !== undefined ? ['#control.#at = :controlAt'] : []),
    ];
    const guarded =
      options.onlyIf !== undefined ||
      options.haltedAt !== undefined ||
      options.controlAt !== undefined;
    const values = {
      ...Object.fromEntries(entries.map(([, value], i) => [`:v${i}`, value])),
      ...(options.onlyIf !== undefined && { ':open': 'OPEN' }),
      ...(options.haltedAt !== undefined && { ':haltedAt': options.haltedAt }),
      ...(options.controlAt !== undefined && { ':controlAt': options.controlAt }),
    };
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: ROLLOUT(rolloutId),
          UpdateExpression: [
            set.length > 0 ? `SET ${set.join(', ')}` : '',
            remove.length > 0 ? `REMOVE ${remove.map((_, i) => `#r${i}`).join(', ')}` : '',
          ]
            .filter(Boolean)
            .join(' '),
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: {
            ...Object.fromEntries(entries.map(([key], i) => [`#k${i}`, key])),
            ...Object.fromEntries(remove.map((key, i) => [`#r${i}`, key])),
            ...(options.onlyIf !== undefined && { '#status': 'status' }),
            ...((options.haltedAt !== undefined || options.controlAt !== undefined) && {
              '#at': 'at',
            }),
            ...(options.controlAt !== undefined && { '#control': 'control' }),
          },
          ...(Object.keys(values).length > 0 && {
            ExpressionAttributeValues: marshall(values, { removeUndefinedValues: true }),
          }),
        }),
      );
      return true;
    } catch (error) {
      if (guarded && isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Ends an open rollout; false if it had ended already (only one closer notifies). */
  async closeRollout(
    rolloutId: string,
    status: Exclude<RolloutStatus, 'OPEN'>,
    now: Date,
    note?: string,
  ): Promise<boolean> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: ROLLOUT(rolloutId),
          UpdateExpression:
            'SET #status = :status, endedAt = :now' +
            (note === undefined ? '' : ', abortedBy = :note'),
          ConditionExpression: '#status = :open',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({
            ':status': status,
            ':now': now.toISOString(),
            ':open': 'OPEN',
            ...(note !== undefined && { ':note': note }),
          }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Rollouts, newest first; `open` keeps only those still owed. */
  async rollouts(
    options: { readonly open?: boolean; readonly limit?: number } = {},
  ): Promise<RolloutRecord[]> {
    const found: RolloutRecord[] = [];
    const limit = options.limit ?? 1000;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.dynamodb.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: BY_TIME_INDEX,
          KeyConditionExpression: 'gsi1pk = :r',
          ScanIndexForward: false,
          ...(options.open && {
            FilterExpression: '#status = :open',
            ExpressionAttributeNames: { '#status': 'status' },
          }),
          ExpressionAttributeValues: marshall({
            ':r': 'ROLLOUT',
            ...(options.open && { ':open': 'OPEN' }),
          }),
          ...(start && { ExclusiveStartKey: marshall(start) }),
        }),
      );
      for (const item of page.Items ?? []) found.push(rolloutOf(unmarshall(item)));
      start = page.LastEvaluatedKey ? unmarshall(page.LastEvaluatedKey) : undefined;
    } while (start && found.length < limit);
    return found.slice(0, limit);
  }

  // ---------------------------------------------------------------------------------------------
  // Claims
  // ---------------------------------------------------------------------------------------------

  /**
   * Claims the service for a forced deployment by `rolloutId`, unless it was claimed at or after
   * `cutoff` (epoch ms: the change time plus the events' one-second precision).
   */
  async claim(
    serviceArn: string,
    claim: {
      readonly rolloutId: string;
      readonly token: string;
      readonly at: Date;
      readonly cutoff: number;
    },
    retried = false,
  ): Promise<ClaimResult> {
    try {
      const { Attributes } = await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: CLAIM(serviceArn),
          UpdateExpression:
            'SET claimAt = :at, claimRollout = :r, claimToken = :t, expiresAt = :exp ' +
            'REMOVE deploymentId ADD watchers :rs',
          // A claim of this rollout is never taken again: whoever holds it deploys.
          ConditionExpression:
            'attribute_not_exists(claimAt) OR (claimAt < :cutoff AND claimRollout <> :r)',
          ExpressionAttributeValues: marshall({
            ':at': claim.at.getTime(),
            ':r': claim.rolloutId,
            ':t': claim.token,
            ':exp': this.expiresAt(claim.at),
            ':cutoff': claim.cutoff,
            ':rs': new Set([claim.rolloutId]),
          }),
          ReturnValues: 'ALL_OLD',
        }),
      );
      const previous = Attributes ? claimOf(serviceArn, unmarshall(Attributes)) : undefined;
      return { kind: 'claimed', ...(previous && { previous }) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const current = await this.claimOf(serviceArn);
    if (!current) {
      // Expired between the two calls: claim it now.
      if (!retried) return this.claim(serviceArn, claim, true);
      throw new Error(`the claim on ${serviceArn} keeps changing; try again`);
    }
    if (current.rolloutId === claim.rolloutId) {
      return current.token === claim.token
        ? { kind: 'mine', claim: current }
        : { kind: 'busy', claim: current };
    }
    await this.watch(serviceArn, claim.rolloutId);
    return { kind: 'covered', claim: current };
  }

  async claimOf(serviceArn: string): Promise<Claim | undefined> {
    const { Item } = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: CLAIM(serviceArn),
        ConsistentRead: true,
      }),
    );
    return Item ? claimOf(serviceArn, unmarshall(Item)) : undefined;
  }

  /** Adds a rollout to those woken by the service's deployment events. */
  async watch(serviceArn: string, rolloutId: string): Promise<void> {
    await this.dynamodb
      .send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: CLAIM(serviceArn),
          UpdateExpression: 'ADD watchers :rs',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: marshall({ ':rs': new Set([rolloutId]) }),
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  /**
   * Takes over a claim whose holder died before recording its intent (so it never sent
   * UpdateService): only if the claim still carries `from`.
   */
  async takeOverClaim(serviceArn: string, from: string, to: string): Promise<boolean> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: CLAIM(serviceArn),
          UpdateExpression: 'SET claimToken = :to',
          ConditionExpression: 'claimToken = :from',
          ExpressionAttributeValues: marshall({ ':from': from, ':to': to }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Gives up a rollout's claim on a service (to deploy it again after a resume). */
  async dropClaim(serviceArn: string, rolloutId: string): Promise<void> {
    try {
      await this.dynamodb.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: CLAIM(serviceArn),
          ConditionExpression: 'claimRollout = :r',
          ExpressionAttributeValues: marshall({ ':r': rolloutId }),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // another rollout claimed it since
    }
  }

  /** Records the deployment UpdateService started under our claim. */
  async confirmClaim(serviceArn: string, token: string, deploymentId: string): Promise<void> {
    await this.dynamodb
      .send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: CLAIM(serviceArn),
          UpdateExpression: 'SET deploymentId = :d',
          ConditionExpression: 'claimToken = :t',
          ExpressionAttributeValues: marshall({ ':d': deploymentId, ':t': token }),
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error; // a later claim took over: nothing to record
      });
  }

  /** Gives a claim back when UpdateService certainly did not happen: the last one is restored. */
  async releaseClaim(
    serviceArn: string,
    token: string,
    previous: Claim | undefined,
  ): Promise<void> {
    try {
      if (previous === undefined) {
        await this.dynamodb.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: CLAIM(serviceArn),
            ConditionExpression: 'claimToken = :t',
            ExpressionAttributeValues: marshall({ ':t': token }),
          }),
        );
        return;
      }
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: CLAIM(serviceArn),
          UpdateExpression:
            'SET claimAt = :at, claimRollout = :r, claimToken = :pt' +
            (previous.deploymentId === undefined ? ' REMOVE deploymentId' : ', deploymentId = :d'),
          ConditionExpression: 'claimToken = :t',
          ExpressionAttributeValues: marshall({
            ':at': previous.claimAt,
            ':r': previous.rolloutId,
            ':pt': previous.token,
            ':t': token,
            ...(previous.deploymentId !== undefined && { ':d': previous.deploymentId }),
          }),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}

function claimOf(serviceArn: string, item: Record<string, unknown>): Claim | undefined {
  if (typeof item.claimAt !== 'number' || typeof item.claimRollout !== 'string') return undefined;
  const watchers = item.watchers instanceof Set ? [...(item.watchers as Set<string>)] : [];
  return {
    serviceArn,
    claimAt: item.claimAt,
    rolloutId: item.claimRollout,
    token: typeof item.claimToken === 'string' ? item.claimToken : '',
    ...(typeof item.deploymentId === 'string' && { deploymentId: item.deploymentId }),
    watchers: watchers.sort(),
  };
}
