/**
 * Amazon CloudWatch metric alarms, as far as reading their state needs it (CloudWatch API
 * reference: DescribeAlarms, SetAlarmState; MetricAlarm).
 *
 * Wire protocol: the installed @aws-sdk/client-cloudwatch (3.1164) speaks awsJson1_0 with
 * `X-Amz-Target: GraniteServiceVersion20100801.<Operation>` and is `awsQueryCompatible` (its
 * errors carry `x-amzn-query-error: <query code>;Sender`), so transport.ts routes it like the
 * other JSON services; timestamps are epoch seconds.
 *
 * - Alarms are seeded (`addAlarm`) with a state; `setAlarmState` (and the SetAlarmState API) change
 *   `StateValue`, `StateReason` and `StateUpdatedTimestamp`, and `StateTransitionedTimestamp` when
 *   the value changes. Alarms are never evaluated against metrics.
 * - DescribeAlarms returns metric alarms sorted by name, filtered by `AlarmNames` (unknown names
 *   are simply absent, as in CloudWatch), `AlarmNamePrefix` (not with `AlarmNames`),
 *   `StateValue`, `ActionPrefix` and `AlarmTypes`; `MaxRecords` 1-100 (default 50) with an opaque
 *   `NextToken`. Composite alarms are not modelled (`CompositeAlarms` is always empty, and
 *   `ChildrenOfAlarmName` / `ParentsOfAlarmName` are answered as unsupported).
 * - No "CloudWatch Alarm State Change" EventBridge event is emitted.
 */
import type { SimContext, SimService } from './context.js';
import { AwsError, notImplemented, SimUnsupportedError } from './errors.js';
import type { Answer } from './transport.js';
import {
  epochSeconds,
  type Json,
  optionalNumber,
  optionalString,
  optionalStrings,
  page,
} from './util.js';

/** A metric alarm's state. */
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

const STATES: readonly string[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];

/** What else a seeded alarm can say about itself (defaults: an ECS CPU alarm). */
export interface AlarmOptions {
  /** @default 'Unchecked: Initial alarm creation' for INSUFFICIENT_DATA, else a threshold text */
  readonly reason?: string;
  readonly description?: string;
  /** @default 'AWS/ECS' */
  readonly namespace?: string;
  /** @default 'CPUUtilization' */
  readonly metricName?: string;
  readonly dimensions?: readonly { readonly Name: string; readonly Value: string }[];
  /** @default 80 */
  readonly threshold?: number;
  /** ARNs notified on ALARM (what `ActionPrefix` filters on). @default [] */
  readonly alarmActions?: readonly string[];
}

interface Alarm {
  readonly name: string;
  readonly arn: string;
  readonly options: AlarmOptions;
  readonly createdAt: number;
  state: AlarmState;
  reason: string;
  reasonData?: string;
  updatedAt: number;
  transitionedAt: number;
}

function defaultReason(state: AlarmState, threshold: number): string {
  switch (state) {
    case 'INSUFFICIENT_DATA':
      return 'Unchecked: Initial alarm creation';
    case 'ALARM':
      return `Threshold Crossed: 1 datapoint was greater than the threshold (${String(threshold)}).`;
    case 'OK':
      return `Threshold Crossed: 1 datapoint was not greater than the threshold (${String(threshold)}).`;
  }
}

/** The simulated CloudWatch of one account and Region (metric alarms only). */
export class CloudWatchSim implements SimService {
  private readonly alarms = new Map<string, Alarm>();

  constructor(private readonly ctx: SimContext) {}

  /** Creates a metric alarm in `state`; returns its ARN. */
  addAlarm(name: string, state: AlarmState = 'OK', options: AlarmOptions = {}): string {
    if (this.alarms.has(name)) throw new Error(`sim: alarm ${name} already exists`);
    if (!STATES.includes(state)) throw new Error(`sim: ${state as string} is not an alarm state`);
    const now = this.ctx.clock.nowMs();
    const alarm: Alarm = {
      name,
      arn: `arn:${this.ctx.partition}:cloudwatch:${this.ctx.region}:${this.ctx.account}:alarm:${name}`,
      options: structuredClone(options),
      createdAt: now,
      state,
      reason: options.reason ?? defaultReason(state, options.threshold ?? 80),
      updatedAt: now,
      transitionedAt: now,
    };
    this.alarms.set(name, alarm);
    return alarm.arn;
  }

  /** SetAlarmState: the alarm takes `state` now (a test setup error if it does not exist). */
  setAlarmState(name: string, state: AlarmState, reason?: string): void {
    const alarm = this.alarms.get(name);
    if (!alarm) throw new Error(`sim: no alarm ${name}`);
    this.apply(alarm, state, reason ?? defaultReason(state, alarm.options.threshold ?? 80));
  }

  /** An alarm's state now, for assertions. */
  alarmState(name: string): AlarmState {
    const alarm = this.alarms.get(name);
    if (!alarm) throw new Error(`sim: no alarm ${name}`);
    return alarm.state;
  }

  private apply(alarm: Alarm, state: AlarmState, reason: string, reasonData?: string): void {
    const now = this.ctx.clock.nowMs();
    if (alarm.state !== state) alarm.transitionedAt = now;
    alarm.state = state;
    alarm.reason = reason;
    alarm.reasonData = reasonData;
    alarm.updatedAt = now;
  }

  /** Answers one CloudWatch request. */
  handle(operation: string, input: Json): Answer {
    switch (operation) {
      case 'DescribeAlarms':
        return this.describeAlarms(input);
      case 'SetAlarmState':
        return this.setAlarmStateApi(input);
      default:
        throw notImplemented('cloudwatch', operation, this.ctx.account);
    }
  }

  private describeAlarms(input: Json): Json {
    if (input.ChildrenOfAlarmName !== undefined || input.ParentsOfAlarmName !== undefined) {
      throw new SimUnsupportedError('composite alarms (ChildrenOfAlarmName, ParentsOfAlarmName)');
    }
    const names = optionalStrings(input, 'AlarmNames');
    const prefix = optionalString(input, 'AlarmNamePrefix');
    if (names !== undefined && prefix !== undefined) {
      throw new AwsError(
        'InvalidParameterCombinationException',
        'AlarmNames and AlarmNamePrefix cannot be specified together.',
      );
    }
    if (names !== undefined && names.length > 100) {
      throw new AwsError(
        'InvalidParameterValueException',
        'The collection AlarmNames must not have a size greater than 100.',
      );
    }
    const state = optionalString(input, 'StateValue');
    if (state !== undefined && !STATES.includes(state)) {
      throw new AwsError('InvalidParameterValueException', `Invalid StateValue: ${state}.`);
    }
    const actionPrefix = optionalString(input, 'ActionPrefix');
    const types = optionalStrings(input, 'AlarmTypes');
    const maxRecords = optionalNumber(input, 'MaxRecords') ?? 50;
    if (!Number.isInteger(maxRecords) || maxRecords < 1 || maxRecords > 100) {
      throw new AwsError(
        'InvalidParameterValueException',
        'The parameter MaxRecords must be a value between 1 and 100.',
      );
    }
    const wanted = names === undefined ? undefined : new Set(names);
    const matching =
      types !== undefined && !types.includes('MetricAlarm')
        ? []
        : [...this.alarms.values()]
            .filter(
              (a) =>
                (wanted === undefined || wanted.has(a.name)) &&
                (prefix === undefined || a.name.startsWith(prefix)) &&
                (state === undefined || a.state === state) &&
                (actionPrefix === undefined ||
                  (a.options.alarmActions ?? []).some((arn) => arn.startsWith(actionPrefix))),
            )
            .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const { items, nextToken } = page(matching, {
      token: optionalString(input, 'NextToken'),
      size: maxRecords,
      scope: `alarms|${JSON.stringify([names, prefix, state, actionPrefix, types])}`,
      errorCode: 'InvalidNextToken',
    });
    return {
      MetricAlarms: items.map((a) => this.alarmJson(a)),
      CompositeAlarms: [],
      ...(nextToken !== undefined && { NextToken: nextToken }),
    };
  }

  private setAlarmStateApi(input: Json): Json {
    const name = optionalString(input, 'AlarmName');
    const state = optionalString(input, 'StateValue');
    const reason = optionalString(input, 'StateReason');
    if (name === undefined || state === undefined || reason === undefined) {
      throw new AwsError(
        'MissingRequiredParameterException',
        'AlarmName, StateValue and StateReason are required.',
      );
    }
    if (!STATES.includes(state)) {
      throw new AwsError('InvalidParameterValueException', `Invalid StateValue: ${state}.`);
    }
    const alarm = this.alarms.get(name);
    if (!alarm) throw new AwsError('ResourceNotFound', `Alarm ${name} not found`, 404);
    this.apply(alarm, state as AlarmState, reason, optionalString(input, 'StateReasonData'));
    return {};
  }

  private alarmJson(alarm: Alarm): Json {
    const o = alarm.options;
    return {
      AlarmName: alarm.name,
      AlarmArn: alarm.arn,
      ...(o.description !== undefined && { AlarmDescription: o.description }),
      AlarmConfigurationUpdatedTimestamp: epochSeconds(alarm.createdAt),
      ActionsEnabled: true,
      OKActions: [],
      AlarmActions: [...(o.alarmActions ?? [])],
      InsufficientDataActions: [],
      StateValue: alarm.state,
      StateReason: alarm.reason,
      ...(alarm.reasonData !== undefined && { StateReasonData: alarm.reasonData }),
      StateUpdatedTimestamp: epochSeconds(alarm.updatedAt),
      MetricName: o.metricName ?? 'CPUUtilization',
      Namespace: o.namespace ?? 'AWS/ECS',
      Statistic: 'Average',
      Dimensions: (o.dimensions ?? []).map((d) => ({ Name: d.Name, Value: d.Value })),
      Period: 60,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: o.threshold ?? 80,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'missing',
      StateTransitionedTimestamp: epochSeconds(alarm.transitionedAt),
    };
  }
}
