import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  paginateDescribeAlarms,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { SimulatedAws } from './index.js';

function world() {
  const sim = new SimulatedAws();
  const cloudwatch = sim.client(CloudWatchClient);
  return { sim, cloudwatch };
}

describe('CloudWatch alarms', () => {
  it('DescribeAlarms reflects setAlarmState; unknown names are simply absent', async () => {
    const { sim, cloudwatch } = world();
    const arn = sim.addAlarm('web-5xx');
    sim.addAlarm('web-latency', 'INSUFFICIENT_DATA');
    expect(arn).toBe('arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-5xx');

    const first = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: ['web-5xx', 'nope', 'web-latency'] }),
    );
    expect(first.MetricAlarms?.map((a) => [a.AlarmName, a.StateValue, a.StateReason])).toEqual([
      ['web-5xx', 'OK', 'Threshold Crossed: 1 datapoint was not greater than the threshold (80).'],
      ['web-latency', 'INSUFFICIENT_DATA', 'Unchecked: Initial alarm creation'],
    ]);
    expect(first.MetricAlarms?.[0]).toMatchObject({
      AlarmArn: arn,
      StateUpdatedTimestamp: new Date('2026-01-01T00:00:00Z'),
      StateTransitionedTimestamp: new Date('2026-01-01T00:00:00Z'),
      Namespace: 'AWS/ECS',
      MetricName: 'CPUUtilization',
    });
    expect(first.CompositeAlarms).toEqual([]);
    expect(first.NextToken).toBeUndefined();

    sim.advance(90_000);
    sim.setAlarmState('web-5xx', 'ALARM', 'Threshold Crossed: 5 errors');
    sim.advance(30_000);
    sim.setAlarmState('web-5xx', 'ALARM', 'still failing');
    const [alarm] =
      (await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ['web-5xx'] })))
        .MetricAlarms ?? [];
    expect(alarm).toMatchObject({
      StateValue: 'ALARM',
      StateReason: 'still failing',
      StateUpdatedTimestamp: new Date('2026-01-01T00:02:00Z'),
      StateTransitionedTimestamp: new Date('2026-01-01T00:01:30Z'),
    });
    expect(sim.cloudwatch.alarmState('web-5xx')).toBe('ALARM');

    const none = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ['nope'] }));
    expect(none.MetricAlarms).toEqual([]);
    expect(() => {
      sim.setAlarmState('nope', 'OK');
    }).toThrow(/no alarm nope/);
  });

  it('filters by state, prefix and action, and pages by name', async () => {
    const { sim, cloudwatch } = world();
    for (let i = 9; i >= 0; i -= 1) {
      sim.addAlarm(`svc-${String(i)}`, i % 3 === 0 ? 'ALARM' : 'OK', {
        alarmActions: i === 4 ? ['arn:aws:sns:us-east-1:123456789012:pager'] : [],
      });
    }
    sim.addAlarm('other', 'ALARM');

    const alarming = await cloudwatch.send(new DescribeAlarmsCommand({ StateValue: 'ALARM' }));
    expect(alarming.MetricAlarms?.map((a) => a.AlarmName)).toEqual([
      'other',
      'svc-0',
      'svc-3',
      'svc-6',
      'svc-9',
    ]);
    const prefixed = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNamePrefix: 'svc-', StateValue: 'ALARM' }),
    );
    expect(prefixed.MetricAlarms).toHaveLength(4);
    const paged = await cloudwatch.send(
      new DescribeAlarmsCommand({ ActionPrefix: 'arn:aws:sns:us-east-1:123456789012:' }),
    );
    expect(paged.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['svc-4']);
    const composite = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmTypes: ['CompositeAlarm'] }),
    );
    expect(composite.MetricAlarms).toEqual([]);

    const names: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeAlarms(
      { client: cloudwatch, pageSize: 4 },
      { AlarmNamePrefix: 'svc-' },
    )) {
      pages += 1;
      names.push(...(page.MetricAlarms ?? []).map((a) => a.AlarmName ?? ''));
    }
    expect(pages).toBe(3);
    expect(names).toEqual(Array.from({ length: 10 }, (_, i) => `svc-${String(i)}`));
  });

  it('answers errors as CloudWatch does, and SetAlarmState over the API', async () => {
    const { sim, cloudwatch } = world();
    sim.addAlarm('a');
    await expect(
      cloudwatch.send(new DescribeAlarmsCommand({ NextToken: 'garbage' })),
    ).rejects.toMatchObject({ name: 'InvalidNextToken', Code: 'InvalidNextToken' });
    await expect(
      cloudwatch.send(new DescribeAlarmsCommand({ MaxRecords: 0 })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    await expect(
      cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ['a'], AlarmNamePrefix: 'a' })),
    ).rejects.toMatchObject({ name: 'InvalidParameterCombinationException' });
    await expect(
      cloudwatch.send(
        new SetAlarmStateCommand({ AlarmName: 'nope', StateValue: 'OK', StateReason: 'r' }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceNotFound', $metadata: { httpStatusCode: 404 } });

    await cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: 'a', StateValue: 'ALARM', StateReason: 'testing' }),
    );
    expect(sim.cloudwatch.alarmState('a')).toBe('ALARM');
    expect(sim.calls('cloudwatch.*').map((c) => `${c.operation}:${c.outcome}`)).toEqual([
      'DescribeAlarms:InvalidNextToken',
      'DescribeAlarms:InvalidParameterValueException',
      'DescribeAlarms:InvalidParameterCombinationException',
      'SetAlarmState:ResourceNotFound',
      'SetAlarmState:ok',
    ]);
  });
});
