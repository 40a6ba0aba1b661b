/**
 * The EventBridge events the simulated account emits, in the envelope EventBridge delivers
 * (EventBridge user guide, "Amazon EventBridge events" / event structure): `version` "0", a UUID
 * `id`, `detail-type`, `source`, `account`, `time` in ISO 8601 without milliseconds, `region`,
 * `resources` and `detail`.
 *
 * Sources emitted here: `aws.ecs` "ECS Deployment State Change" (ECS developer guide, "Amazon ECS
 * service deployment state change events") and "ECS Hook State Change" (ECS developer guide,
 * "Amazon ECS service deployment hook state change events", "Pause hooks for Amazon ECS service
 * deployments"), `aws.secretsmanager` "Secret Label Updated" and the
 * CloudTrail-delivered "AWS API Call via CloudTrail" / "AWS Service Event via CloudTrail"
 * (Secrets Manager user guide, monitoring with EventBridge; EventBridge user guide, events from
 * CloudTrail), `aws.ssm` "Parameter Store Change" (SSM user guide, sysman-paramstore-cwe).
 * Sample shapes are in test/events/.
 */
import type { SimClock } from './clock.js';
import { type Ids, isoSeconds, type Json } from './util.js';

/** An event as EventBridge delivers it to a target. */
export interface SimEvent<Detail = Json> {
  /** Always "0". */
  readonly version: '0';
  /** A UUID. */
  readonly id: string;
  readonly 'detail-type': string;
  /** `aws.ecs`, `aws.secretsmanager`, `aws.ssm`. */
  readonly source: string;
  /** The account id. */
  readonly account: string;
  /** ISO 8601, seconds precision (`2026-01-01T00:05:00Z`). */
  readonly time: string;
  /** The Region. */
  readonly region: string;
  /** The ARNs the event is about (empty for CloudTrail-delivered events). */
  readonly resources: readonly string[];
  /** The service-specific detail. */
  readonly detail: Detail;
}

/** The detail of an `aws.ecs` "ECS Deployment State Change" event. */
export type EcsDeploymentDetail = {
  /** `ERROR` for SERVICE_DEPLOYMENT_FAILED, else `INFO`. */
  readonly eventType: 'INFO' | 'ERROR';
  /** What happened to the deployment. */
  readonly eventName:
    'SERVICE_DEPLOYMENT_IN_PROGRESS' | 'SERVICE_DEPLOYMENT_COMPLETED' | 'SERVICE_DEPLOYMENT_FAILED';
  /** The deployment (`ecs-svc/…`). */
  readonly deploymentId: string;
  /** ISO 8601 with milliseconds, as in the ECS sample. */
  readonly updatedAt: string;
  /** As ECS words it (`ECS deployment ecs-svc/… completed.`). */
  readonly reason: string;
};

/**
 * The detail of an `aws.ecs` "ECS Hook State Change" event (the event's `resources` is the
 * service deployment ARN, as in the ECS sample).
 */
export type EcsHookDetail = {
  /** `INFO`, except `ERROR` for HOOK_FAILED and HOOK_TIMED_OUT (the sim's choice: ECS shows only INFO). */
  readonly eventType: 'INFO' | 'ERROR';
  /** What happened to the hook. */
  readonly eventName: 'HOOK_AWAITING_ACTION' | 'HOOK_SUCCEEDED' | 'HOOK_FAILED' | 'HOOK_TIMED_OUT';
  /** `ecs-pause-` and 43 base64url characters: what ContinueServiceDeployment takes. */
  readonly hookId: string;
  /** Always `PAUSE` (the sim models pause hooks only). */
  readonly hookType: 'PAUSE';
  /** When the hook times out: ISO 8601 without milliseconds. */
  readonly expiresAt: string;
  /** The lifecycle stage the deployment is paused at (`POST_TEST_TRAFFIC_SHIFT`, …). */
  readonly lifecycleStage: string;
  readonly clusterArn: string;
  readonly serviceArn: string;
  /** `arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID`. */
  readonly serviceDeploymentArn: string;
  /** ISO 8601 with milliseconds. */
  readonly updatedAt: string;
};

/** The detail of an `aws.secretsmanager` "Secret Label Updated" event. */
export type SecretLabelUpdatedDetail = {
  readonly name: string;
  /** The staging label that moved. */
  readonly labelUpdated: string;
  /** The version it moved to. */
  readonly versionId: string;
};

/** The detail of an `aws.ssm` "Parameter Store Change" event. */
export type ParameterStoreChangeDetail = {
  /** What happened to the parameter. */
  readonly operation: 'Create' | 'Update' | 'Delete' | 'LabelParameterVersion';
  readonly name: string;
  /** `String`, `StringList` or `SecureString`. */
  readonly type: string;
  /** The parameter's description ('' if none). */
  readonly description: string;
};

/** Where the simulated services append their events, in the order they happen. */
export class EventLog {
  /** Every event emitted since the start (or since the last `take`). */
  readonly events: SimEvent[] = [];

  constructor(
    private readonly clock: SimClock,
    private readonly ids: Ids,
    private readonly account: string,
    private readonly region: string,
  ) {}

  /** Appends an event stamped with the current time. */
  emit<Detail extends Json>(
    source: string,
    detailType: string,
    resources: readonly string[],
    detail: Detail,
  ): SimEvent<Detail> {
    const event: SimEvent<Detail> = {
      version: '0',
      id: this.ids.uuid('event'),
      'detail-type': detailType,
      source,
      account: this.account,
      time: isoSeconds(this.clock.nowMs()),
      region: this.region,
      resources: [...resources],
      detail,
    };
    this.events.push(event);
    return event;
  }

  /** Removes and returns every event emitted so far. */
  take(): SimEvent[] {
    return this.events.splice(0);
  }
}
