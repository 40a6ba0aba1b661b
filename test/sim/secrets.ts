/**
 * AWS Secrets Manager metadata and staging labels (Secrets Manager API reference: DescribeSecret,
 * ListSecretVersionIds, PutSecretValue, UpdateSecretVersionStage, RotateSecret, DeleteSecret;
 * user guide: "Secret versions", "Rotation by Lambda function", "Monitor Secrets Manager with
 * EventBridge"). Secret VALUES are never modelled: GetSecretValue, BatchGetSecretValue and every
 * other operation answer AccessDeniedException and are logged, so a test can prove they were
 * never attempted.
 *
 * - A secret is found by name, full ARN (`…:secret:NAME-AbCdEf`) or partial ARN (no suffix).
 * - Versions without a staging label are "deprecated": DescribeSecret's VersionIdsToStages and
 *   ListSecretVersionIds (unless `IncludeDeprecated`) leave them out.
 * - Moving AWSCURRENT to a version gives the version that had it AWSPREVIOUS.
 * - Test helpers change the secret as the API would and emit the matching events: the native
 *   `Secret Label Updated` for every label that moves to a version except AWSPENDING and
 *   AWSPREVIOUS, and, when CloudTrail events are on, `AWS API Call via CloudTrail`
 *   (PutSecretValue, UpdateSecretVersionStage, RotateSecret, DeleteSecret) and
 *   `AWS Service Event via CloudTrail` (RotationStarted, RotationSucceeded). Shapes follow
 *   test/events/secretsmanager/*.json.
 * - After a successful rotation AWSPENDING is removed from the new version.
 */
import type { SimContext, SimService } from './context.js';
import { AwsError, notImplemented } from './errors.js';
import type { SecretLabelUpdatedDetail } from './events.js';
import type { Answer } from './transport.js';
import {
  epochSeconds,
  isoSeconds,
  type Json,
  optionalNumber,
  optionalString,
  page,
} from './util.js';

/** A secret to create. */
export interface SecretSeed {
  readonly name: string;
  /** The six characters after the name in the full ARN. @default derived from the name */
  readonly suffix?: string;
  /** Version id → its staging labels. @default one version labelled AWSCURRENT */
  readonly versions?: Readonly<
    Record<string, { readonly stages: readonly string[]; readonly createdAt?: Date }>
  >;
  /** Scheduled for deletion (DescribeSecret shows `DeletedDate`). */
  readonly deleted?: boolean | Date;
  readonly description?: string;
  /** @default 30 days before now */
  readonly createdAt?: Date;
  readonly tags?: Readonly<Record<string, string>>;
  /** The rotation function (DescribeSecret's RotationLambdaARN); rotation is then enabled. */
  readonly rotationLambdaArn?: string;
  /** The service that manages the secret (DescribeSecret's OwningService), e.g. `rds`. */
  readonly owningService?: string;
}

interface Version {
  readonly id: string;
  readonly createdAt: number;
  readonly stages: Set<string>;
}

interface Secret {
  readonly name: string;
  readonly arn: string;
  readonly partialArn: string;
  readonly createdAt: number;
  readonly description?: string;
  readonly tags: readonly { Key: string; Value: string }[];
  readonly rotationLambdaArn?: string;
  readonly owningService?: string;
  readonly versions: Map<string, Version>;
  lastChangedAt: number;
  lastRotatedAt?: number;
  deletedAt?: number;
  rotationEnabled: boolean;
}

const NOT_FOUND = "Secrets Manager can't find the specified secret.";

/** Labels whose moves emit no `Secret Label Updated` event. */
const SILENT_LABELS = new Set(['AWSPENDING', 'AWSPREVIOUS']);

/** The simulated Secrets Manager of one account and Region. */
export class SecretsSim implements SimService {
  private readonly secrets = new Map<string, Secret>();
  /** Emit CloudTrail-delivered events too (the account has a trail). */
  cloudTrail = false;

  constructor(private readonly ctx: SimContext) {}

  // -------------------------------------------------------------------------------------------
  // Seeding and helpers
  // -------------------------------------------------------------------------------------------

  /** Creates a secret; returns its full ARN. */
  addSecret(seed: SecretSeed): string {
    if (this.secrets.has(seed.name)) throw new Error(`sim: secret ${seed.name} already exists`);
    const now = this.ctx.clock.nowMs();
    const suffix = seed.suffix ?? this.ctx.ids.letters(6, `secret-suffix|${seed.name}`);
    if (!/^[A-Za-z0-9]{6}$/.test(suffix)) throw new Error(`sim: bad secret suffix ${suffix}`);
    const partialArn = `arn:${this.ctx.partition}:secretsmanager:${this.ctx.region}:${this.ctx.account}:secret:${seed.name}`;
    const versionSeeds = seed.versions ?? {
      [this.ctx.ids.uuid('secret-version')]: { stages: ['AWSCURRENT'] },
    };
    const createdAt =
      seed.createdAt?.getTime() ??
      Math.min(
        now - 30 * 86_400_000,
        ...Object.values(versionSeeds).map((v) => v.createdAt?.getTime() ?? Infinity),
      );
    const versions = new Map<string, Version>();
    for (const [id, version] of Object.entries(versionSeeds)) {
      versions.set(id, {
        id,
        createdAt: version.createdAt?.getTime() ?? createdAt,
        stages: new Set(version.stages),
      });
    }
    const secret: Secret = {
      name: seed.name,
      arn: `${partialArn}-${suffix}`,
      partialArn,
      createdAt,
      ...(seed.description !== undefined && { description: seed.description }),
      tags: Object.entries(seed.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
      ...(seed.rotationLambdaArn !== undefined && { rotationLambdaArn: seed.rotationLambdaArn }),
      ...(seed.owningService !== undefined && { owningService: seed.owningService }),
      versions,
      lastChangedAt: Math.max(createdAt, ...[...versions.values()].map((v) => v.createdAt)),
      rotationEnabled: seed.rotationLambdaArn !== undefined,
      ...(seed.deleted !== undefined &&
        seed.deleted !== false && {
          deletedAt: seed.deleted === true ? now + 30 * 86_400_000 : seed.deleted.getTime(),
        }),
    };
    for (const key of [secret.name, secret.arn, secret.partialArn]) this.secrets.set(key, secret);
    return secret.arn;
  }

  /** The full ARN of a secret. */
  arnOf(name: string): string {
    return this.get(name).arn;
  }

  /** Version id → staging labels, deprecated versions included. */
  versionsOf(name: string): Record<string, string[]> {
    const secret = this.get(name);
    return Object.fromEntries([...secret.versions.values()].map((v) => [v.id, [...v.stages]]));
  }

  /**
   * A new version (PutSecretValue): `stages` (default AWSCURRENT) move to it; if AWSCURRENT
   * moves, the version that had it gets AWSPREVIOUS. Returns the version id.
   */
  putSecretValue(
    name: string,
    options: { readonly versionId?: string; readonly stages?: readonly string[] } = {},
  ): string {
    const secret = this.get(name);
    this.assertNotDeleted(secret);
    const versionId = options.versionId ?? this.ctx.ids.uuid('secret-version');
    if (secret.versions.has(versionId)) throw new Error(`sim: version ${versionId} exists`);
    const stages = options.stages ?? ['AWSCURRENT'];
    const now = this.ctx.clock.nowMs();
    secret.versions.set(versionId, { id: versionId, createdAt: now, stages: new Set() });
    const moved = stages
      .map((stage) => this.attach(secret, stage, versionId))
      .filter((m) => m !== undefined);
    secret.lastChangedAt = now;
    this.apiCall(
      'PutSecretValue',
      {
        secretId: secret.arn,
        clientRequestToken: versionId,
        ...(options.stages !== undefined && { versionStages: [...stages] }),
      },
      { arn: secret.arn, name: secret.name, versionId, versionStages: [...stages] },
    );
    for (const m of moved) this.labelUpdated(secret, m.label, versionId);
    return versionId;
  }

  /**
   * UpdateSecretVersionStage: `label` moves to `toVersionId` (from whichever version had it);
   * moving AWSCURRENT gives the previous holder AWSPREVIOUS.
   */
  moveLabel(name: string, label: string, toVersionId: string): void {
    const secret = this.get(name);
    this.assertNotDeleted(secret);
    if (!secret.versions.has(toVersionId))
      throw new Error(`sim: no version ${toVersionId} of ${name}`);
    const moved = this.attach(secret, label, toVersionId);
    if (!moved) return;
    secret.lastChangedAt = this.ctx.clock.nowMs();
    this.apiCall(
      'UpdateSecretVersionStage',
      {
        secretId: secret.arn,
        versionStage: label,
        moveToVersionId: toVersionId,
        ...(moved.from !== undefined && { removeFromVersionId: moved.from }),
      },
      { arn: secret.arn, name: secret.name },
    );
    this.labelUpdated(secret, label, toVersionId);
  }

  /** UpdateSecretVersionStage with only RemoveFromVersionId (AWSCURRENT cannot be removed). */
  removeLabel(name: string, label: string): void {
    const secret = this.get(name);
    if (label === 'AWSCURRENT') throw new Error('sim: AWSCURRENT cannot be removed, only moved');
    const holder = [...secret.versions.values()].find((v) => v.stages.has(label));
    if (!holder) return;
    holder.stages.delete(label);
    secret.lastChangedAt = this.ctx.clock.nowMs();
    this.apiCall(
      'UpdateSecretVersionStage',
      {
        secretId: secret.arn,
        versionStage: label,
        removeFromVersionId: holder.id,
      },
      { arn: secret.arn, name: secret.name },
    );
  }

  /**
   * A rotation by a Lambda function, step by step: RotateSecret, RotationStarted, PutSecretValue
   * with AWSPENDING (createSecret), UpdateSecretVersionStage AWSCURRENT (finishSecret),
   * RotationSucceeded; AWSPENDING is then removed. Returns the new version id.
   */
  rotate(name: string, options: { readonly versionId?: string } = {}): string {
    const secret = this.get(name);
    this.assertNotDeleted(secret);
    const versionId = options.versionId ?? this.ctx.ids.uuid('secret-version');
    secret.rotationEnabled = true;
    this.apiCall(
      'RotateSecret',
      {
        secretId: secret.name,
        clientRequestToken: versionId,
        rotateImmediately: true,
      },
      { arn: secret.arn, name: secret.name, versionId },
    );
    this.serviceEvent('RotationStarted', secret);
    this.putSecretValue(name, { versionId, stages: ['AWSPENDING'] });
    this.moveLabel(name, 'AWSCURRENT', versionId);
    secret.versions.get(versionId)?.stages.delete('AWSPENDING');
    secret.lastRotatedAt = this.ctx.clock.nowMs();
    this.serviceEvent('RotationSucceeded', secret);
    return versionId;
  }

  /**
   * DeleteSecret: scheduled for deletion (DescribeSecret shows DeletedDate) or, with `force`,
   * gone at once (ResourceNotFoundException afterwards).
   */
  deleteSecret(name: string, options: { readonly force?: boolean } = {}): void {
    const secret = this.get(name);
    const now = this.ctx.clock.nowMs();
    const deletionDate = options.force === true ? now : now + 30 * 86_400_000;
    secret.deletedAt = deletionDate;
    this.apiCall(
      'DeleteSecret',
      {
        secretId: secret.name,
        ...(options.force === true
          ? { forceDeleteWithoutRecovery: true }
          : { recoveryWindowInDays: 30 }),
      },
      { arn: secret.arn, name: secret.name, deletionDate: isoSeconds(deletionDate) },
    );
    if (options.force === true) {
      for (const key of [secret.name, secret.arn, secret.partialArn]) this.secrets.delete(key);
    }
  }

  private get(reference: string): Secret {
    const secret = this.secrets.get(reference);
    if (!secret) throw new Error(`sim: no secret ${reference}`);
    return secret;
  }

  private assertNotDeleted(secret: Secret): void {
    if (secret.deletedAt !== undefined) {
      throw new Error(`sim: secret ${secret.name} is scheduled for deletion`);
    }
  }

  /** Puts `label` on `versionId`; undefined if it was there already. */
  private attach(
    secret: Secret,
    label: string,
    versionId: string,
  ): { label: string; from?: string } | undefined {
    const target = secret.versions.get(versionId);
    if (!target || target.stages.has(label)) return undefined;
    const holder = [...secret.versions.values()].find((v) => v.stages.has(label));
    holder?.stages.delete(label);
    target.stages.add(label);
    if (label === 'AWSCURRENT' && holder) {
      for (const v of secret.versions.values()) v.stages.delete('AWSPREVIOUS');
      holder.stages.add('AWSPREVIOUS');
    }
    return { label, ...(holder && { from: holder.id }) };
  }

  private labelUpdated(secret: Secret, label: string, versionId: string): void {
    if (SILENT_LABELS.has(label)) return;
    const detail: SecretLabelUpdatedDetail = { name: secret.name, labelUpdated: label, versionId };
    this.ctx.events.emit('aws.secretsmanager', 'Secret Label Updated', [secret.arn], detail);
  }

  private apiCall(eventName: string, requestParameters: Json, responseElements: Json): void {
    if (!this.cloudTrail) return;
    const time = isoSeconds(this.ctx.clock.nowMs());
    const account = this.ctx.account;
    this.ctx.events.emit('aws.secretsmanager', 'AWS API Call via CloudTrail', [], {
      eventVersion: '1.09',
      userIdentity: {
        type: 'AssumedRole',
        principalId: 'AROASIMULATEDROLEID:sim',
        arn: `arn:${this.ctx.partition}:sts::${account}:assumed-role/sim/sim`,
        accountId: account,
        accessKeyId: 'ASIASIMULATEDKEYID',
      },
      eventTime: time,
      eventSource: 'secretsmanager.amazonaws.com',
      eventName,
      awsRegion: this.ctx.region,
      sourceIPAddress: '203.0.113.10',
      userAgent: 'aws-sdk-js/3',
      requestParameters,
      responseElements,
      requestID: this.ctx.ids.uuid('cloudtrail-request'),
      eventID: this.ctx.ids.uuid('cloudtrail-event'),
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: 'Management',
    });
  }

  private serviceEvent(eventName: string, secret: Secret): void {
    if (!this.cloudTrail) return;
    const account = this.ctx.account;
    this.ctx.events.emit('aws.secretsmanager', 'AWS Service Event via CloudTrail', [], {
      eventVersion: '1.08',
      userIdentity: { accountId: account, invokedBy: 'secretsmanager.amazonaws.com' },
      eventTime: isoSeconds(this.ctx.clock.nowMs()),
      eventSource: 'secretsmanager.amazonaws.com',
      eventName,
      awsRegion: this.ctx.region,
      sourceIPAddress: 'secretsmanager.amazonaws.com',
      userAgent: 'secretsmanager.amazonaws.com',
      requestParameters: null,
      responseElements: null,
      additionalEventData: { SecretId: secret.arn },
      requestID: `Rotation-${secret.arn}-${this.ctx.ids.uuid('rotation')}`,
      eventID: this.ctx.ids.uuid('cloudtrail-event'),
      readOnly: false,
      eventType: 'AwsServiceEvent',
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: 'Management',
    });
  }

  // -------------------------------------------------------------------------------------------
  // The API
  // -------------------------------------------------------------------------------------------

  /** Answers one Secrets Manager request. */
  handle(operation: string, input: Json): Answer {
    switch (operation) {
      case 'DescribeSecret':
        return this.describeSecret(input);
      case 'ListSecretVersionIds':
        return this.listSecretVersionIds(input);
      default:
        throw notImplemented('secretsmanager', operation, this.ctx.account);
    }
  }

  private requestSecret(input: Json): Secret {
    const id = optionalString(input, 'SecretId');
    if (id === undefined || id === '') {
      throw new AwsError('InvalidParameterException', 'You must provide a SecretId.');
    }
    const secret = this.secrets.get(id);
    if (!secret) throw new AwsError('ResourceNotFoundException', NOT_FOUND);
    return secret;
  }

  private describeSecret(input: Json): Json {
    const secret = this.requestSecret(input);
    const labelled = [...secret.versions.values()].filter((v) => v.stages.size > 0);
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description !== undefined && { Description: secret.description }),
      RotationEnabled: secret.rotationEnabled,
      ...(secret.rotationLambdaArn !== undefined && {
        RotationLambdaARN: secret.rotationLambdaArn,
      }),
      ...(secret.owningService !== undefined && { OwningService: secret.owningService }),
      ...(secret.lastRotatedAt !== undefined && {
        LastRotatedDate: epochSeconds(secret.lastRotatedAt),
      }),
      LastChangedDate: epochSeconds(secret.lastChangedAt),
      ...(secret.deletedAt !== undefined && { DeletedDate: epochSeconds(secret.deletedAt) }),
      ...(secret.tags.length > 0 && { Tags: secret.tags }),
      VersionIdsToStages: Object.fromEntries(labelled.map((v) => [v.id, [...v.stages]])),
      CreatedDate: epochSeconds(secret.createdAt),
    };
  }

  private listSecretVersionIds(input: Json): Json {
    const secret = this.requestSecret(input);
    const maxResults = optionalNumber(input, 'MaxResults') ?? 100;
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100) {
      throw new AwsError('InvalidParameterException', 'MaxResults must be between 1 and 100.');
    }
    const includeDeprecated = input.IncludeDeprecated === true;
    const versions = [...secret.versions.values()]
      .filter((v) => includeDeprecated || v.stages.size > 0)
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((v) => ({
        VersionId: v.id,
        ...(v.stages.size > 0 && { VersionStages: [...v.stages] }),
        CreatedDate: epochSeconds(v.createdAt),
        KmsKeyIds: ['DefaultEncryptionKey'],
      }));
    const { items, nextToken } = page(versions, {
      token: optionalString(input, 'NextToken'),
      size: maxResults,
      scope: `versions|${secret.arn}`,
      errorCode: 'InvalidNextTokenException',
    });
    return {
      Versions: items,
      ...(nextToken !== undefined && { NextToken: nextToken }),
      ARN: secret.arn,
      Name: secret.name,
    };
  }
}
