/** The CloudWatch alarms a rollout in waves watches: their states, read in pages of 100 names. */
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { AlarmState } from './observe.js';

export type CloudWatchLike = Pick<CloudWatchClient, 'send'>;

/** The states of the named alarms (metric or composite); an alarm that does not exist is absent. */
export async function alarmStates(
  cloudwatch: CloudWatchLike,
  names: readonly string[],
): Promise<AlarmState[]> {
  const states: AlarmState[] = [];
  for (let i = 0; i < names.length; i += 100) {
    const { MetricAlarms = [], CompositeAlarms = [] } = await cloudwatch.send(
      new DescribeAlarmsCommand({
        AlarmNames: names.slice(i, i + 100),
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        MaxRecords: 100,
      }),
    );
    for (const alarm of [...MetricAlarms, ...CompositeAlarms]) {
      if (alarm.AlarmName === undefined || alarm.StateValue === undefined) continue;
      states.push({
        name: alarm.AlarmName,
        state: alarm.StateValue,
        ...(alarm.StateReason !== undefined && { reason: alarm.StateReason }),
      });
    }
  }
  return states;
}
