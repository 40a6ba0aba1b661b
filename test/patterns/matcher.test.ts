/**
 * Tests of the test-only EventBridge pattern matcher. Examples marked "Doc:" are copied from the
 * Amazon EventBridge User Guide (docs.aws.amazon.com/eventbridge/latest/userguide/<page>.html)
 * or from the aws/event-ruler README (github.com/aws/event-ruler), with the page named; where a
 * doc example is not valid JSON (a trailing or missing comma) the fix is noted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventPatternError, matches } from './matcher.js';

// Doc: eb-event-patterns ("Amazon EventBridge event patterns"), the EC2 example event.
const ec2Event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: {
    'instance-id': 'i-1234567890abcdef0',
    state: 'terminated',
  },
};

// Doc: eb-event-patterns ("Field matching") and eb-event-patterns-null-values, the Auto
// Scaling example event.
const autoScalingEvent = {
  version: '0',
  id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
  'detail-type': 'EC2 Instance Launch Successful',
  source: 'aws.autoscaling',
  account: '123456789012',
  time: '2015-11-11T21:31:47Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    eventVersion: '',
    responseElements: null,
  },
};

// Doc: aws/event-ruler README.md, "Ruler by Example", the example event.
const rulerEvent = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

/** A copy of `base` with `detail` fields replaced (undefined removes nothing: it means absent). */
function withDetail<T extends { detail: object }>(base: T, detail: Record<string, unknown>): T {
  return { ...base, detail: { ...base.detail, ...detail } };
}

describe('doc examples: eb-event-patterns', () => {
  const pattern = {
    source: ['aws.ec2'],
    'detail-type': ['EC2 Instance State-change Notification'],
    detail: { state: ['terminated'] },
  };

  it('matches the EC2 instance-termination example', () => {
    expect(matches(pattern, ec2Event)).toBe(true);
  });

  it('does not match when a nested field differs', () => {
    expect(matches(pattern, withDetail(ec2Event, { state: 'running' }))).toBe(false);
  });

  it('does not match when any one named field differs (AND across fields)', () => {
    expect(matches(pattern, { ...ec2Event, source: 'aws.autoscaling' })).toBe(false);
  });

  // Doc: "Match Values": {"source": ["aws.ec2", "aws.fargate"]}.
  it('matches any value listed in the array (OR within an array)', () => {
    const sources = { source: ['aws.ec2', 'aws.fargate'] };
    expect(matches(sources, ec2Event)).toBe(true);
    expect(matches(sources, { ...ec2Event, source: 'aws.fargate' })).toBe(true);
    expect(matches(sources, { ...ec2Event, source: 'aws.s3' })).toBe(false);
  });

  // Doc: "Field matching".
  it('matches the Auto Scaling example on responseElements: [null]', () => {
    const fieldPattern = {
      source: ['aws.autoscaling'],
      'detail-type': ['EC2 Instance Launch Successful'],
      detail: { responseElements: [null] },
    };
    expect(matches(fieldPattern, autoScalingEvent)).toBe(true);
    expect(matches(fieldPattern, withDetail(autoScalingEvent, { responseElements: {} }))).toBe(
      false,
    );
  });

  // Doc: older eb-event-patterns, "Value matching" (awsdocs/amazon-eventbridge-user-guide,
  // doc_source/eb-event-patterns.md). The doc truncates the Macie event; these are its fields.
  it('matches numbers in nested objects (the Macie risk-score example)', () => {
    const macieEvent = {
      version: '0',
      id: '3e355723-fca9-4de3-9fd7-154c289d6b59',
      'detail-type': 'Macie Alert',
      source: 'aws.macie',
      account: '123456789012',
      time: '2017-04-24T22:28:49Z',
      region: 'us-east-1',
      resources: [
        'arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_id',
        'arn:aws:macie:us-east-1:123456789012:trigger/trigger_id',
      ],
      detail: {
        'notification-type': 'ALERT_CREATED',
        name: 'Scanning bucket policies',
        tags: ['Custom_Alert', 'Insider'],
        'risk-score': 80,
        trigger: {
          'rule-arn': 'arn:aws:macie:us-east-1:123456789012:trigger/trigger_id',
          'alert-type': 'basic',
          'created-at': '2017-01-02 19:54:00.644000',
          risk: 8,
        },
      },
    };
    const riskPattern = {
      source: ['aws.macie'],
      'detail-type': ['Macie Alert'],
      detail: { 'risk-score': [80], trigger: { risk: [8] } },
    };
    expect(matches(riskPattern, macieEvent)).toBe(true);
    const lowerRisk = { ...macieEvent, detail: { ...macieEvent.detail, trigger: { risk: 7 } } };
    expect(matches(riskPattern, lowerRisk)).toBe(false);
  });
});

describe('doc examples: eb-event-patterns-null-values', () => {
  it('matches an empty string with [""]', () => {
    expect(matches({ detail: { eventVersion: [''] } }, autoScalingEvent)).toBe(true);
  });

  it('matches null with [null]', () => {
    expect(matches({ detail: { responseElements: [null] } }, autoScalingEvent)).toBe(true);
  });

  // Doc: "Null values and empty strings are not interchangeable in pattern matching. An event
  // pattern that matches empty strings doesn't match values of null."
  it('does not let "" and null stand for each other', () => {
    expect(matches({ detail: { responseElements: [''] } }, autoScalingEvent)).toBe(false);
    expect(matches({ detail: { eventVersion: [null] } }, autoScalingEvent)).toBe(false);
  });

  it('does not let the string "null" match null, nor null match "null"', () => {
    expect(matches({ detail: { responseElements: ['null'] } }, autoScalingEvent)).toBe(false);
    expect(matches({ detail: { v: [null] } }, { detail: { v: 'null' } })).toBe(false);
  });
});

describe('doc examples: eb-event-patterns-arrays', () => {
  // Doc: "If the value in the event is an array, then the event pattern matches if the
  // intersection of the event pattern array and the event array is non-empty." (The doc's
  // pattern has a trailing comma, dropped here.)
  const pattern = {
    resources: [
      'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
    ],
  };

  it('matches when the pattern and event arrays intersect', () => {
    const event = {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    };
    expect(matches(pattern, event)).toBe(true);
  });

  it('does not match when the arrays do not intersect, or the event array is empty', () => {
    expect(
      matches(pattern, { resources: ['arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f'] }),
    ).toBe(false);
    expect(matches(pattern, { resources: [] })).toBe(false);
  });
});

describe('doc examples: eb-create-pattern-operators (content filtering)', () => {
  // Doc: "Prefix matching". (The doc's pattern has a trailing comma, dropped here.)
  it('prefix: "time" starting with "2017-10-02"', () => {
    const pattern = { time: [{ prefix: '2017-10-02' }] };
    expect(matches(pattern, { time: '2017-10-02T18:43:48Z' })).toBe(true);
    expect(matches(pattern, { time: '2017-10-03T18:43:48Z' })).toBe(false);
  });

  // Doc: older "Prefix Matching Example" (doc_source/content-filtering-with-event-patterns.md).
  it('prefix: Auto Scaling events from European regions', () => {
    const pattern = { source: ['aws.autoscaling'], region: [{ prefix: 'eu-' }] };
    expect(matches(pattern, { ...autoScalingEvent, region: 'eu-west-1' })).toBe(true);
    expect(matches(pattern, autoScalingEvent)).toBe(false);
  });

  // Doc: summary table, "Begins with" / "Anything-but (begins with)".
  it('prefix and anything-but prefix: Region is (not) in the US', () => {
    const inUs = { Region: [{ prefix: 'us-' }] };
    const notInUs = { Region: [{ 'anything-but': { prefix: 'us-' } }] };
    expect(matches(inUs, { Region: 'us-east-1' })).toBe(true);
    expect(matches(inUs, { Region: 'eu-west-1' })).toBe(false);
    expect(matches(notInUs, { Region: 'eu-west-1' })).toBe(true);
    expect(matches(notInUs, { Region: 'us-east-1' })).toBe(false);
  });

  // Doc: "Anything-but matching", single string.
  it('anything-but a single string', () => {
    const pattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };
    expect(matches(pattern, rulerEvent)).toBe(true);
    expect(matches(pattern, withDetail(rulerEvent, { state: 'initializing' }))).toBe(false);
  });

  // Doc: "Anything-but matching", single number.
  it('anything-but a single number', () => {
    const pattern = { detail: { 'x-limit': [{ 'anything-but': 123 }] } };
    expect(matches(pattern, rulerEvent)).toBe(true);
    expect(matches(pattern, withDetail(rulerEvent, { 'x-limit': 123 }))).toBe(false);
  });

  // Doc: "Anything-but matching", list of strings.
  it('anything-but a list of strings', () => {
    const pattern = { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } };
    expect(matches(pattern, rulerEvent)).toBe(true);
    expect(matches(pattern, withDetail(rulerEvent, { state: 'stopped' }))).toBe(false);
    expect(matches(pattern, withDetail(rulerEvent, { state: 'overloaded' }))).toBe(false);
  });

  // Doc: "Anything-but matching", list of numbers.
  it('anything-but a list of numbers', () => {
    const pattern = { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } };
    expect(matches(pattern, rulerEvent)).toBe(true);
    expect(matches(pattern, withDetail(rulerEvent, { 'x-limit': 200 }))).toBe(false);
  });

  // Doc: "Anything-but matching", prefix.
  it('anything-but a prefix: "state" not starting with "init"', () => {
    const pattern = { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } };
    expect(matches(pattern, rulerEvent)).toBe(true);
    expect(matches(pattern, withDetail(rulerEvent, { state: 'initializing' }))).toBe(false);
  });

  // Doc: older "Anything-but Matching Example" (content-filtering-with-event-patterns.md).
  it('anything-but: every event except CloudTrail API calls / EC2 and S3 / AWS sources', () => {
    const notCloudTrail = { 'detail-type': [{ 'anything-but': 'AWS API Call via CloudTrail' }] };
    expect(matches(notCloudTrail, ec2Event)).toBe(true);
    expect(
      matches(notCloudTrail, { ...ec2Event, 'detail-type': 'AWS API Call via CloudTrail' }),
    ).toBe(false);

    const notEc2OrS3 = { source: [{ 'anything-but': ['aws.ec2', 'aws.s3'] }] };
    expect(matches(notEc2OrS3, autoScalingEvent)).toBe(true);
    expect(matches(notEc2OrS3, ec2Event)).toBe(false);

    const notAws = { source: [{ 'anything-but': { prefix: 'aws.' } }] };
    expect(matches(notAws, { ...ec2Event, source: 'com.example.orders' })).toBe(true);
    expect(matches(notAws, ec2Event)).toBe(false);
  });

  // Doc: summary table, "Empty", "Equals", "Equals (ignore case)", "Ends with", "And".
  it('summary table: empty, equals, equals-ignore-case, suffix, and', () => {
    expect(matches({ LastName: [''] }, { LastName: '' })).toBe(true);
    expect(matches({ LastName: [''] }, { LastName: 'Smith' })).toBe(false);
    expect(matches({ Name: ['Alice'] }, { Name: 'Alice' })).toBe(true);
    expect(matches({ Name: ['Alice'] }, { Name: 'alice' })).toBe(false);
    expect(matches({ Name: [{ 'equals-ignore-case': 'alice' }] }, { Name: 'ALICE' })).toBe(true);
    expect(matches({ Name: [{ 'equals-ignore-case': 'alice' }] }, { Name: 'Alicia' })).toBe(false);
    expect(matches({ FileName: [{ suffix: '.png' }] }, { FileName: 'photo.png' })).toBe(true);
    expect(matches({ FileName: [{ suffix: '.png' }] }, { FileName: 'photo.PNG' })).toBe(false);
    const and = { Location: ['New York'], Day: ['Monday'] };
    expect(matches(and, { Location: 'New York', Day: 'Monday' })).toBe(true);
    expect(matches(and, { Location: 'New York', Day: 'Tuesday' })).toBe(false);
  });

  // Doc: "Exists matching": "Exists matching only works on leaf nodes. It does not work on
  // intermediate nodes." The doc's second event lacks a comma after "state"; added here.
  describe('exists: false, the detail.c-count example', () => {
    const pattern = { detail: { 'c-count': [{ exists: false }] } };
    const event = {
      'detail-type': ['EC2 Instance State-change Notification'],
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341'],
      detail: { state: ['initializing', 'running'] },
    };

    it('matches an event without detail.c-count', () => {
      expect(matches(pattern, event)).toBe(true);
    });

    it('also matches when c-count is an object, "because c-count isn\'t a leaf node"', () => {
      expect(matches(pattern, withDetail(event, { 'c-count': { c1: 100 } }))).toBe(true);
    });

    it('does not match when c-count is a leaf', () => {
      expect(matches(pattern, withDetail(event, { 'c-count': 5 }))).toBe(false);
    });
  });

  // Doc: older "Existence Matching Example" (content-filtering-with-event-patterns.md); the
  // doc's pattern has a trailing comma, dropped here.
  it('exists: true selects events that have a description field', () => {
    const pattern = { detail: { description: [{ exists: true }] } };
    expect(matches(pattern, { detail: { description: 'text to index' } })).toBe(true);
    expect(matches(pattern, { detail: { title: 'no description' } })).toBe(false);
  });

  // Doc: "Complex example with multiple matching": it uses `numeric`, which this matcher does
  // not implement, so it must refuse rather than answer.
  it('throws for the complex example, which uses numeric', () => {
    const pattern = {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
      },
    };
    expect(() => matches(pattern, rulerEvent)).toThrow(/"numeric" operator is not supported/);
  });

  // Doc: summary table rows this matcher does not implement.
  it.each([
    ['Anything-but (ends with)', { FileName: [{ 'anything-but': { suffix: '.png' } }] }],
    [
      'Anything-but (ignore case)',
      { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] },
    ],
    ['Anything-but using a wildcard', { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] }],
    ['Begins with (ignore case)', { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] }],
    ['Ends with (ignore case)', { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] }],
    ['IP address', { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } }],
  ])('throws for the unsupported "%s" syntax', (_name, pattern) => {
    expect(() => matches(pattern, { FileName: 'a.png' })).toThrow(EventPatternError);
  });
});

describe('doc examples: event-ruler README', () => {
  // Doc: "Simple matching".
  it('simple matching: every named field matches, others are ignored', () => {
    const pattern = {
      'detail-type': ['EC2 Instance State-change Notification'],
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
      detail: { state: ['initializing', 'running'] },
    };
    expect(matches(pattern, rulerEvent)).toBe(true);
    expect(matches(pattern, withDetail(rulerEvent, { state: 'initializing' }))).toBe(true);
    expect(matches(pattern, withDetail(rulerEvent, { state: 'stopped' }))).toBe(false);
  });

  // Doc: "Suffix matching" and "Equals-ignore-case matching" (EC2 is not the whole source).
  it('suffix "ec2" matches "aws.ec2"; equals-ignore-case "EC2" does not', () => {
    expect(matches({ source: [{ suffix: 'ec2' }] }, rulerEvent)).toBe(true);
    expect(matches({ source: [{ suffix: 'ec3' }] }, rulerEvent)).toBe(false);
    expect(matches({ source: [{ 'equals-ignore-case': 'EC2' }] }, rulerEvent)).toBe(false);
    expect(matches({ source: [{ 'equals-ignore-case': 'AWS.EC2' }] }, rulerEvent)).toBe(true);
  });

  // Doc: "Exists matching": "The rule below will match any event which has a detail.c-count
  // field present."
  it('exists: true on detail.c-count', () => {
    const pattern = { detail: { 'c-count': [{ exists: true }] } };
    expect(matches(pattern, rulerEvent)).toBe(true);
    const detail: Record<string, unknown> = { ...rulerEvent.detail };
    delete detail['c-count'];
    expect(matches(pattern, { ...rulerEvent, detail })).toBe(false);
  });

  // Doc: "JSON Array Matching": the array structure is "crushed out" of the rule pattern, but
  // rulesForJSONEvent "will *not* match the "Anna"/"Jones" rule".
  describe('arrays of objects (the employees example)', () => {
    const employees = {
      employees: [
        { firstName: 'John', lastName: 'Doe' },
        { firstName: 'Anna', lastName: 'Smith' },
        { firstName: 'Peter', lastName: 'Jones' },
      ],
    };

    it('descends into the objects of an event array', () => {
      expect(matches({ employees: { firstName: ['Anna'] } }, employees)).toBe(true);
      expect(matches({ employees: { firstName: ['Mary'] } }, employees)).toBe(false);
    });

    it('matches fields of one element together, never across elements', () => {
      const sameEmployee = { employees: { firstName: ['Anna'], lastName: ['Smith'] } };
      const acrossEmployees = { employees: { firstName: ['Anna'], lastName: ['Jones'] } };
      expect(matches(sameEmployee, employees)).toBe(true);
      expect(matches(acrossEmployees, employees)).toBe(false);
    });

    it('works for multi-level arrays too', () => {
      const nested = {
        employees: [
          [
            { firstName: 'John', lastName: 'Doe' },
            { firstName: 'Anna', lastName: 'Smith' },
          ],
          [{ firstName: 'Peter', lastName: 'Jones' }],
        ],
      };
      expect(matches({ employees: { firstName: ['Anna'] } }, nested)).toBe(true);
      expect(matches({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, nested)).toBe(
        false,
      );
    });
  });

  // Doc: "Rule examples with "$or" Primitive".
  describe('$or', () => {
    it('normal "Or": source && (metricName || namespace)', () => {
      const pattern = {
        source: ['aws.cloudwatch'],
        $or: [
          { metricName: ['CPUUtilization', 'ReadLatency'] },
          { namespace: ['AWS/EC2', 'AWS/ES'] },
        ],
      };
      expect(matches(pattern, { source: 'aws.cloudwatch', metricName: 'ReadLatency' })).toBe(true);
      expect(matches(pattern, { source: 'aws.cloudwatch', namespace: 'AWS/ES' })).toBe(true);
      expect(matches(pattern, { source: 'aws.cloudwatch', namespace: 'AWS/S3' })).toBe(false);
      expect(matches(pattern, { source: 'aws.ec2', metricName: 'ReadLatency' })).toBe(false);
    });

    it('parallel "Or": (metricName || namespace) && (detail.source || detail.detail-type)', () => {
      const pattern = {
        $or: [
          { metricName: ['CPUUtilization', 'ReadLatency'] },
          { namespace: ['AWS/EC2', 'AWS/ES'] },
        ],
        detail: {
          $or: [
            { source: ['aws.cloudwatch'] },
            { 'detail-type': ['CloudWatch Alarm State Change'] },
          ],
        },
      };
      const event = {
        namespace: 'AWS/EC2',
        detail: { 'detail-type': 'CloudWatch Alarm State Change' },
      };
      expect(matches(pattern, event)).toBe(true);
      expect(matches(pattern, { ...event, detail: { source: 'aws.cloudwatch' } })).toBe(true);
      expect(matches(pattern, { ...event, detail: { source: 'aws.ec2' } })).toBe(false);
      expect(matches(pattern, { ...event, namespace: 'AWS/S3' })).toBe(false);
    });

    it('"Or" with an "And" inside, and nested "Or" and "And"', () => {
      const pattern = {
        source: ['aws.cloudwatch'],
        $or: [
          { metricName: ['CPUUtilization', 'ReadLatency'] },
          {
            metricType: ['MetricType'],
            namespace: ['AWS/EC2', 'AWS/ES'],
            $or: [{ metricId: [1234] }, { spaceId: [1000] }],
          },
          { scope: ['Service'] },
        ],
      };
      const base = { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2' };
      expect(matches(pattern, { ...base, spaceId: 1000 })).toBe(true);
      expect(matches(pattern, { ...base, metricId: 1234 })).toBe(true);
      expect(matches(pattern, { ...base, metricId: 9999 })).toBe(false);
      expect(
        matches(pattern, { source: 'aws.cloudwatch', namespace: 'AWS/EC2', spaceId: 1000 }),
      ).toBe(false);
      expect(matches(pattern, { source: 'aws.cloudwatch', scope: 'Service' })).toBe(true);
    });

    // Doc: eb-create-pattern-operators summary table, "Or": Location is "New York", or Day is
    // "Monday".
    it('Location is "New York", or Day is "Monday"', () => {
      const pattern = { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] };
      expect(matches(pattern, { Location: 'Boston', Day: 'Monday' })).toBe(true);
      expect(matches(pattern, { Location: 'New York', Day: 'Sunday' })).toBe(true);
      expect(matches(pattern, { Location: 'Boston', Day: 'Sunday' })).toBe(false);
    });
  });
});

describe('exact values', () => {
  it('is case-sensitive for strings', () => {
    expect(matches({ source: ['AWS.EC2'] }, ec2Event)).toBe(false);
  });

  it('compares numbers by value: 300 matches 300.0 and 3.0e2', () => {
    // JSON.parse keeps the event as it would arrive; 300.0 and 3.0e2 both parse to 300.
    const event: unknown = JSON.parse('{"detail": {"a": 300.0, "b": 3.0e2, "c": 300}}');
    expect(matches({ detail: { a: [300], b: [300], c: [300.0] } }, event)).toBe(true);
    expect(matches({ detail: { a: [301] } }, event)).toBe(false);
  });

  it('does not match a number with its string form, or the reverse', () => {
    expect(matches({ detail: { a: [300] } }, { detail: { a: '300' } })).toBe(false);
    expect(matches({ detail: { a: ['300'] } }, { detail: { a: 300 } })).toBe(false);
  });

  it('matches booleans only with booleans', () => {
    expect(matches({ detail: { ok: [true] } }, { detail: { ok: true } })).toBe(true);
    expect(matches({ detail: { ok: [true] } }, { detail: { ok: false } })).toBe(false);
    expect(matches({ detail: { ok: [true] } }, { detail: { ok: 'true' } })).toBe(false);
    expect(matches({ detail: { ok: ['true'] } }, { detail: { ok: true } })).toBe(false);
  });

  it('does not match a field the event lacks', () => {
    expect(matches({ detail: { missing: ['x'] } }, ec2Event)).toBe(false);
    expect(matches({ absent: { nested: ['x'] } }, ec2Event)).toBe(false);
  });

  it('does not match a leaf pattern against an object, or descend into a scalar', () => {
    expect(matches({ detail: ['terminated'] }, ec2Event)).toBe(false);
    expect(matches({ source: { nested: ['aws.ec2'] } }, ec2Event)).toBe(false);
  });

  it('matches an event array when any element matches', () => {
    const event = { detail: { tags: ['blue', 'green'] } };
    expect(matches({ detail: { tags: ['green'] } }, event)).toBe(true);
    expect(matches({ detail: { tags: ['red'] } }, event)).toBe(false);
  });

  it('matches mixed values in one pattern array', () => {
    const pattern = { detail: { v: ['x', 5, null, true, { prefix: 'pre' }] } };
    expect(matches(pattern, { detail: { v: 5 } })).toBe(true);
    expect(matches(pattern, { detail: { v: null } })).toBe(true);
    expect(matches(pattern, { detail: { v: 'prefixed' } })).toBe(true);
    expect(matches(pattern, { detail: { v: false } })).toBe(false);
  });
});

describe('string operators', () => {
  it('prefix, suffix and equals-ignore-case never match a non-string value', () => {
    const event = { detail: { n: 2017, b: true, z: null } };
    expect(matches({ detail: { n: [{ prefix: '2017' }] } }, event)).toBe(false);
    expect(matches({ detail: { n: [{ suffix: '17' }] } }, event)).toBe(false);
    expect(matches({ detail: { b: [{ 'equals-ignore-case': 'TRUE' }] } }, event)).toBe(false);
    expect(matches({ detail: { z: [{ 'equals-ignore-case': 'null' }] } }, event)).toBe(false);
  });

  it('prefix is case-sensitive and applies to each element of an event array', () => {
    const event = { detail: { names: ['other/x', 'app/db'] } };
    expect(matches({ detail: { names: [{ prefix: 'app/' }] } }, event)).toBe(true);
    expect(matches({ detail: { names: [{ prefix: 'APP/' }] } }, event)).toBe(false);
  });
});

describe('wildcard', () => {
  const wildcard = (pattern: string) => ({ detail: { v: [{ wildcard: pattern }] } });
  const value = (v: unknown) => ({ detail: { v } });

  // Doc: event-ruler README, "Wildcard matching": {"source": [{"wildcard": "Simple*Service"}]}.
  it('matches any run of characters in place of the *: the "Simple*Service" example', () => {
    const pattern = { source: [{ wildcard: 'Simple*Service' }] };
    expect(matches(pattern, { source: 'Simple Queue Service' })).toBe(true);
    expect(matches(pattern, { source: 'Simple Notification Service' })).toBe(true);
    expect(matches(pattern, { source: 'Simple Queue Service!' })).toBe(false);
    expect(matches(pattern, { source: 'Not So Simple Service' })).toBe(false);
  });

  // Doc: eb-create-pattern-operators, summary table, "Wildcard": "FilePath": [{"wildcard":
  // "dir/*.png"}]. The * crosses "/" too: it is not a path glob.
  it('dir/*.png: any file under dir/ ending in .png, at any depth', () => {
    const pattern = { FilePath: [{ wildcard: 'dir/*.png' }] };
    expect(matches(pattern, { FilePath: 'dir/photo.png' })).toBe(true);
    expect(matches(pattern, { FilePath: 'dir/2024/05/photo.png' })).toBe(true);
    expect(matches(pattern, { FilePath: 'other/dir/photo.png' })).toBe(false);
    expect(matches(pattern, { FilePath: 'dir/photo.png.txt' })).toBe(false);
  });

  // Doc: AWS Compute Blog, "Filtering events in Amazon EventBridge with wildcard pattern
  // matching": "*.png" matches strings that end with ".png"; "*Title*" matches values that
  // include "Title".
  it('a leading or surrounding * works as suffix or contains', () => {
    expect(matches(wildcard('*.png'), value('a.png'))).toBe(true);
    expect(matches(wildcard('*.png'), value('a.png.bak'))).toBe(false);
    expect(matches(wildcard('*Title*'), value('A Title here'))).toBe(true);
    expect(matches(wildcard('*Title*'), value('A title here'))).toBe(false);
  });

  it('lets * stand for no characters at all', () => {
    expect(matches(wildcard('dir/*.png'), value('dir/.png'))).toBe(true);
    expect(matches(wildcard('*'), value(''))).toBe(true);
    expect(matches(wildcard('a*b*c'), value('abc'))).toBe(true);
    expect(matches(wildcard('*abc*'), value('abc'))).toBe(true);
  });

  it('does not let the literal parts overlap', () => {
    expect(matches(wildcard('ab*ba'), value('aba'))).toBe(false);
    expect(matches(wildcard('ab*ba'), value('abba'))).toBe(true);
    expect(matches(wildcard('*a*a*'), value('a'))).toBe(false);
    expect(matches(wildcard('*a*a*'), value('aa'))).toBe(true);
    expect(matches(wildcard('a*b*c'), value('acb'))).toBe(false);
  });

  it('without a * is an exact, case-sensitive match', () => {
    expect(matches(wildcard('abc'), value('abc'))).toBe(true);
    expect(matches(wildcard('abc'), value('abcd'))).toBe(false);
    expect(matches(wildcard('abc'), value('ABC'))).toBe(false);
    expect(matches(wildcard(''), value(''))).toBe(true);
    expect(matches(wildcard(''), value('x'))).toBe(false);
  });

  // The example of the brief, the shape the secret-name prefix filter deploys.
  it('arn:*:secretsmanager:*:*:secret:prod/* matches prod/ secret ARNs of any partition', () => {
    const pattern = wildcard('arn:*:secretsmanager:*:*:secret:prod/*');
    expect(
      matches(pattern, value('arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db')),
    ).toBe(true);
    expect(
      matches(
        pattern,
        value('arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:prod/db-AbCdEf'),
      ),
    ).toBe(true);
    expect(
      matches(
        pattern,
        value('arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging/prod/db'),
      ),
    ).toBe(false);
    expect(
      matches(pattern, value('arn:aws:secretsmanager:eu-west-1:123456789012:secret:production-db')),
    ).toBe(false);
    expect(matches(pattern, value('prod/db'))).toBe(false);
  });

  // Doc: event-ruler README: "To match the asterisk character specifically, a wildcard
  // character can be escaped with a backslash. Two consecutive backslashes (i.e. a backslash
  // escaped with a backslash) represents the actual backslash character."
  it('\\* is a literal asterisk and \\\\ a literal backslash', () => {
    expect(matches(wildcard(String.raw`a\*b`), value('a*b'))).toBe(true);
    expect(matches(wildcard(String.raw`a\*b`), value('axb'))).toBe(false);
    expect(matches(wildcard(String.raw`a\\b`), value(String.raw`a\b`))).toBe(true);
    expect(matches(wildcard(String.raw`a\\b`), value(String.raw`a\\b`))).toBe(false);
    expect(matches(wildcard(String.raw`a\\*`), value(String.raw`a\anything`))).toBe(true);
    expect(matches(wildcard(String.raw`a\\*`), value('a'))).toBe(false);
  });

  // event-ruler WildcardParser.java: the escaped asterisk is consumed with its backslash, so
  // a wildcard may follow it.
  it('allows an escaped asterisk next to a wildcard', () => {
    expect(matches(wildcard(String.raw`\**`), value('*'))).toBe(true);
    expect(matches(wildcard(String.raw`\**`), value('*tail'))).toBe(true);
    expect(matches(wildcard(String.raw`\**`), value('tail'))).toBe(false);
    expect(matches(wildcard(String.raw`*\*`), value('ends with *'))).toBe(true);
  });

  // Doc: event-ruler README: "Wildcard matches only work on string-valued fields."
  it('never matches a number, boolean or null, even with a lone *', () => {
    expect(matches(wildcard('*'), value(2017))).toBe(false);
    expect(matches(wildcard('2017'), value(2017))).toBe(false);
    expect(matches(wildcard('*'), value(true))).toBe(false);
    expect(matches(wildcard('*'), value(null))).toBe(false);
  });

  it('does not match a missing field, an object or an empty array', () => {
    expect(matches(wildcard('*'), { detail: {} })).toBe(false);
    expect(matches(wildcard('*'), value({ w: 'x' }))).toBe(false);
    expect(matches(wildcard('*'), value([]))).toBe(false);
  });

  it('matches an event array when any element matches', () => {
    expect(matches(wildcard('prod/*'), value(['staging/a', 'prod/b']))).toBe(true);
    expect(matches(wildcard('prod/*'), value(['staging/a', 'dev/b']))).toBe(false);
  });

  it('combines with other values of the same field (OR)', () => {
    const pattern = { detail: { v: ['exact', { wildcard: 'pre*' }, { prefix: 'x' }] } };
    expect(matches(pattern, value('exact'))).toBe(true);
    expect(matches(pattern, value('prefix'))).toBe(true);
    expect(matches(pattern, value('xyz'))).toBe(true);
    expect(matches(pattern, value('other'))).toBe(false);
  });

  // event-ruler WildcardParser.java: "Consecutive wildcard characters at pos", "Invalid escape
  // character at pos"; JsonRuleCompiler: "wildcard match pattern must be a string". A trailing
  // backslash escapes the closing quote event-ruler appends, so it is an invalid escape too.
  it.each([
    ['consecutive wildcards', '**'],
    ['consecutive wildcards inside', 'a**b'],
    ['consecutive wildcards after an escaped backslash', String.raw`a\\**`],
    ['a backslash before a letter', String.raw`a\b`],
    ['a trailing backslash', 'a\\'],
  ])('throws for %s', (_name, pattern) => {
    expect(() => matches(wildcard(pattern), value('a'))).toThrow(EventPatternError);
  });

  it.each([
    ['a number', 5],
    ['null', null],
    ['a list', ['a*']],
    ['an object', { 'equals-ignore-case': 'a*' }],
  ])('throws for %s as the wildcard argument', (_name, argument) => {
    expect(() => matches({ detail: { v: [{ wildcard: argument }] } }, value('a'))).toThrow(
      /wildcard: must be a string/,
    );
  });

  it('names the position of the fault', () => {
    expect(() => matches(wildcard('ab**'), value('a'))).toThrow(
      /detail\.v\[0\]\.wildcard: consecutive wildcard characters at position 2/,
    );
    expect(() => matches(wildcard(String.raw`ab\c`), value('a'))).toThrow(
      /invalid escape character at position 2/,
    );
  });

  it('agrees with a regular-expression oracle on random patterns', () => {
    // Patterns over {a, b, *} without "**"; * becomes [\s\S]* in the oracle.
    const patternArb = fc
      .array(fc.constantFrom('a', 'b', '*'), { maxLength: 8 })
      .map((chars) => chars.join(''))
      .filter((pattern) => !pattern.includes('**'));
    const valueArb = fc
      .array(fc.constantFrom('a', 'b'), { maxLength: 10 })
      .map((chars) => chars.join(''));
    fc.assert(
      fc.property(patternArb, valueArb, (pattern, text) => {
        const oracle = new RegExp(`^${pattern.replaceAll('*', '[\\s\\S]*')}$`);
        expect(matches(wildcard(pattern), value(text))).toBe(oracle.test(text));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('anything-but', () => {
  const pattern = { detail: { versionStages: [{ 'anything-but': ['AWSPENDING'] }] } };

  it('does not match a missing field', () => {
    expect(matches(pattern, { detail: {} })).toBe(false);
    expect(matches({ detail: { state: [{ 'anything-but': { prefix: 'x' } }] } }, {})).toBe(false);
  });

  // Arrays doc: a pattern "matches if any of the values in the array match the value in the
  // event"; event-ruler flattens an event array into one value per element, so anything-but
  // holds when any element is not excluded.
  it('matches an event array when any element is not excluded', () => {
    expect(matches(pattern, { detail: { versionStages: ['AWSCURRENT', 'AWSPENDING'] } })).toBe(
      true,
    );
    expect(matches(pattern, { detail: { versionStages: ['AWSPENDING'] } })).toBe(false);
  });

  it('does not match an empty event array (it has no values)', () => {
    expect(matches(pattern, { detail: { versionStages: [] } })).toBe(false);
  });

  it('does not match an object value (not a leaf)', () => {
    expect(matches(pattern, { detail: { versionStages: { a: 'AWSCURRENT' } } })).toBe(false);
  });

  // event-ruler ByteMachine: "we assume they've matched unless we can prove they didn't".
  it('matches values of another type than the excluded ones', () => {
    expect(matches(pattern, { detail: { versionStages: null } })).toBe(true);
    expect(matches(pattern, { detail: { versionStages: 7 } })).toBe(true);
    expect(matches({ detail: { n: [{ 'anything-but': [300] }] } }, { detail: { n: '300' } })).toBe(
      true,
    );
    expect(
      matches({ detail: { n: [{ 'anything-but': { prefix: 'a' } }] } }, { detail: { n: 1 } }),
    ).toBe(true);
  });

  it('is case-sensitive', () => {
    expect(matches(pattern, { detail: { versionStages: 'awspending' } })).toBe(true);
  });
});

describe('exists', () => {
  it('exists: true matches any leaf value, null and empty string included', () => {
    const pattern = { detail: { v: [{ exists: true }] } };
    expect(matches(pattern, { detail: { v: null } })).toBe(true);
    expect(matches(pattern, { detail: { v: '' } })).toBe(true);
    expect(matches(pattern, { detail: { v: false } })).toBe(true);
    expect(matches(pattern, { detail: { v: ['a'] } })).toBe(true);
  });

  it('exists: true does not match an empty array, an object, or a missing field', () => {
    const pattern = { detail: { v: [{ exists: true }] } };
    expect(matches(pattern, { detail: { v: [] } })).toBe(false);
    expect(matches(pattern, { detail: { v: {} } })).toBe(false);
    expect(matches(pattern, { detail: { v: { w: 1 } } })).toBe(false);
    expect(matches(pattern, { detail: {} })).toBe(false);
    expect(matches(pattern, {})).toBe(false);
  });

  it('exists: false matches a missing field, an empty array, or a missing parent', () => {
    const pattern = { detail: { errorCode: [{ exists: false }] } };
    expect(matches(pattern, { detail: {} })).toBe(true);
    expect(matches(pattern, { detail: { errorCode: [] } })).toBe(true);
    expect(matches(pattern, { other: 1 })).toBe(true);
    expect(matches(pattern, { detail: null })).toBe(true);
  });

  it('exists: false does not match a present leaf, even null or ""', () => {
    const pattern = { detail: { errorCode: [{ exists: false }] } };
    expect(matches(pattern, { detail: { errorCode: 'AccessDenied' } })).toBe(false);
    expect(matches(pattern, { detail: { errorCode: null } })).toBe(false);
    expect(matches(pattern, { detail: { errorCode: '' } })).toBe(false);
  });

  it('treats an object property set to undefined as absent', () => {
    expect(matches({ detail: { e: [{ exists: false }] } }, { detail: { e: undefined } })).toBe(
      true,
    );
    expect(matches({ detail: { e: [{ exists: true }] } }, { detail: { e: undefined } })).toBe(
      false,
    );
  });

  it('exists: false may be combined with values in one array (OR)', () => {
    const pattern = { detail: { stage: ['AWSCURRENT', { exists: false }] } };
    expect(matches(pattern, { detail: {} })).toBe(true);
    expect(matches(pattern, { detail: { stage: 'AWSCURRENT' } })).toBe(true);
    expect(matches(pattern, { detail: { stage: 'AWSPREVIOUS' } })).toBe(false);
  });

  it('exists: false inside an array of objects looks at the element the other fields matched', () => {
    const pattern = { items: { name: ['a'], error: [{ exists: false }] } };
    expect(matches(pattern, { items: [{ name: 'a' }, { name: 'b', error: 'x' }] })).toBe(true);
    expect(matches(pattern, { items: [{ name: 'a', error: 'x' }, { name: 'b' }] })).toBe(false);
  });
});

describe('$or', () => {
  it('merges each alternative with its sibling fields at a nested level', () => {
    const pattern = {
      source: ['aws.secretsmanager'],
      detail: {
        eventSource: ['secretsmanager.amazonaws.com'],
        errorCode: [{ exists: false }],
        $or: [
          { eventName: ['RotationSucceeded', 'UpdateSecret'] },
          {
            eventName: ['PutSecretValue'],
            requestParameters: { versionStages: [{ 'anything-but': ['AWSPENDING'] }] },
          },
          {
            eventName: ['PutSecretValue'],
            requestParameters: { versionStages: [{ exists: false }] },
          },
        ],
      },
    };
    const call = (detail: Record<string, unknown>) => ({
      source: 'aws.secretsmanager',
      detail: { eventSource: 'secretsmanager.amazonaws.com', ...detail },
    });
    expect(matches(pattern, call({ eventName: 'UpdateSecret' }))).toBe(true);
    expect(matches(pattern, call({ eventName: 'UpdateSecret', errorCode: 'Denied' }))).toBe(false);
    expect(matches(pattern, call({ eventName: 'PutSecretValue', requestParameters: {} }))).toBe(
      true,
    );
    expect(
      matches(
        pattern,
        call({ eventName: 'PutSecretValue', requestParameters: { versionStages: ['AWSPENDING'] } }),
      ),
    ).toBe(false);
    expect(
      matches(
        pattern,
        call({ eventName: 'PutSecretValue', requestParameters: { versionStages: ['AWSCURRENT'] } }),
      ),
    ).toBe(true);
    expect(matches(pattern, call({ eventName: 'DeleteSecret' }))).toBe(false);
    expect(matches(pattern, { ...call({ eventName: 'UpdateSecret' }), source: 'aws.ssm' })).toBe(
      false,
    );
  });

  it('keeps array consistency between a sibling and an alternative', () => {
    const pattern = {
      items: { kind: ['disk'] },
      $or: [{ items: { size: [10] } }, { other: ['x'] }],
    };
    expect(matches(pattern, { items: [{ kind: 'disk', size: 10 }] })).toBe(true);
    expect(
      matches(pattern, {
        items: [
          { kind: 'disk', size: 5 },
          { kind: 'cpu', size: 10 },
        ],
      }),
    ).toBe(false);
  });
});

describe('paths', () => {
  it('does not confuse a dotted field name with nesting', () => {
    expect(matches({ detail: { 'a.b': ['x'] } }, { detail: { a: { b: 'x' } } })).toBe(false);
    expect(matches({ detail: { a: { b: ['x'] } } }, { detail: { 'a.b': 'x' } })).toBe(false);
    expect(matches({ detail: { 'a.b': ['x'] } }, { detail: { 'a.b': 'x' } })).toBe(true);
  });
});

describe('invalid or unsupported patterns throw', () => {
  it.each([
    ['a non-object pattern', ['aws.ec2']],
    ['a leaf value that is not an array', { source: 'aws.ec2' }],
    ['an operator without the array around it', { source: { prefix: 'aws.' } }],
    ['an empty value array', { source: [] }],
    ['an empty object', { detail: {} }],
    ['an empty pattern', {}],
    ['a nested array in a value list', { source: [['aws.ec2']] }],
    ['an operator object with two keys', { source: [{ prefix: 'a', suffix: 'b' }] }],
    ['an empty operator object', { source: [{}] }],
    ['an unknown operator', { source: [{ 'starts-with': 'aws.' }] }],
    ['a non-string prefix', { source: [{ prefix: 5 }] }],
    ['a non-boolean exists', { source: [{ exists: 'true' }] }],
    ['anything-but with mixed types', { source: [{ 'anything-but': ['a', 1] }] }],
    ['anything-but with an empty list', { source: [{ 'anything-but': [] }] }],
    ['anything-but null', { source: [{ 'anything-but': null }] }],
    ['anything-but with an empty prefix', { source: [{ 'anything-but': { prefix: '' } }] }],
    ['$or that is not an array', { $or: { a: ['x'] } }],
    ['$or with one alternative', { $or: [{ a: ['x'] }] }],
    ['$or with a non-object alternative', { $or: [{ a: ['x'] }, ['b']] }],
    ['an operator name as a field inside $or', { $or: [{ prefix: ['x'] }, { b: ['y'] }] }],
    ['a field both beside and inside $or', { a: ['x'], $or: [{ a: ['y'] }, { b: ['z'] }] }],
  ])('%s', (_name, pattern) => {
    expect(() => matches(pattern, ec2Event)).toThrow(EventPatternError);
  });

  it('names the unsupported operator in the message', () => {
    expect(() => matches({ detail: { ip: [{ cidr: '10.0.0.0/8' }] } }, ec2Event)).toThrow(
      /detail\.ip\[0\]\.cidr: the "cidr" operator is not supported/,
    );
    expect(() =>
      matches({ service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] }, ec2Event),
    ).toThrow(/equals-ignore-case.*not supported/);
  });

  it('throws even when another field already fails to match', () => {
    const pattern = { source: ['aws.s3'], detail: { n: [{ numeric: ['>', 0] }] } };
    expect(() => matches(pattern, ec2Event)).toThrow(EventPatternError);
  });

  it('allows operator names as ordinary field names outside $or', () => {
    expect(matches({ detail: { prefix: ['x'] } }, { detail: { prefix: 'x' } })).toBe(true);
  });
});

describe('invalid events throw', () => {
  it.each([
    ['an array', [ec2Event]],
    ['a string', JSON.stringify(ec2Event)],
    ['null', null],
    ['a Date inside', { detail: { when: new Date(0) } }],
    ['NaN inside', { detail: { n: Number.NaN } }],
    ['undefined in an array', { detail: { list: [undefined] } }],
  ])('%s', (_name, event) => {
    expect(() => matches({ source: ['aws.ec2'] }, event)).toThrow(EventPatternError);
  });
});
