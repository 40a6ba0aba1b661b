/**
 * Metrics and logs. Every report is one JSON log line and one or more CloudWatch embedded metric
 * format (EMF) documents on stdout: namespace METRICS_NAMESPACE, dimension FunctionName, and
 * FunctionName + Reason for the ignored and skipped counts. Every log line carries the event id
 * as correlation_id.
 */
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MetricsWriter } from '../../../functions/redeploy/metrics.js';
import { awsError } from '../../helpers/aws-errors.js';
import { SM, parameterChanged, secretChanged } from '../../helpers/change-events.js';
import {
  ACCOUNT,
  type EcsWorld,
  REGION,
  serveEcs,
  service,
  serviceArn,
  taskDefinition,
  taskDefinitionArn,
} from '../../helpers/ecs.js';
import { loadFixture, relocatedFixture } from '../../helpers/fixtures.js';
import {
  type EmfDocument,
  captureOutput,
  emfDocuments,
  jsonLines,
  lambdaContext,
  loadHandler,
  logEntries,
  sqsEvent,
} from '../../helpers/lambda.js';

const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);

const T0 = Date.parse('2025-03-14T09:00:00Z');
const NAMESPACE = 'Platform/SecretRedeployer';
const FUNCTION = 'prod-secret-redeployer';
const CONTEXT_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${FUNCTION}`;

function world(): EcsWorld {
  const td = (name: string) => taskDefinitionArn(name, 1);
  return {
    clusters: {
      prod: [
        service({ cluster: 'prod', name: 'orders', taskDefinition: td('orders') }),
        service({ cluster: 'prod', name: 'billing', taskDefinition: td('billing') }),
        service({
          cluster: 'prod',
          name: 'legacy',
          taskDefinition: td('legacy'),
          tags: { 'secret-redeployer:exclude': 'true' },
        }),
        service({
          cluster: 'prod',
          name: 'bluegreen',
          taskDefinition: td('bluegreen'),
          controller: 'CODE_DEPLOY',
        }),
      ],
    },
    taskDefinitions: ['orders', 'billing', 'legacy', 'bluegreen'].map((name) =>
      taskDefinition(td(name), { DB: `${SM}:db-AbCdEf` }),
    ),
  };
}

const dbChanged = (id = 'evt-db') => secretChanged({ id, name: 'db', suffix: 'AbCdEf', at: T0 });

/** The EMF document whose dimensions are exactly `dimensions` (and, if given, whose Reason is). */
function documentWith(
  docs: readonly EmfDocument[],
  dimensions: readonly string[],
  reason?: string,
): EmfDocument | undefined {
  return docs.find(
    (d) =>
      JSON.stringify(d._aws.CloudWatchMetrics[0]?.Dimensions) === JSON.stringify([dimensions]) &&
      (reason === undefined || d.Reason === reason),
  );
}

let output: () => string;

beforeEach(() => {
  ecsMock.reset();
  smMock.reset();
  output = captureOutput();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
});

describe('EMF metrics', () => {
  it('counts a handled change under the configured namespace and the FunctionName dimension', async () => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler({ METRICS_NAMESPACE: NAMESPACE });

    await handler(dbChanged(), lambdaContext(CONTEXT_ARN));

    const docs = emfDocuments(output());
    const totals = documentWith(docs, ['FunctionName']);
    expect(totals).toMatchObject({
      FunctionName: FUNCTION,
      ChangesSeen: 1,
      ServicesRedeployed: 2,
      ServicesSkipped: 1,
      ServicesFailed: 0,
      ServicesBraked: 0,
      ServicesFlapGuarded: 0,
      ServicesNeedingAction: 1,
    });
    expect(totals?._aws.CloudWatchMetrics).toHaveLength(1);
    expect(totals?._aws.CloudWatchMetrics[0]?.Namespace).toBe(NAMESPACE);
    expect(typeof totals?._aws.Timestamp).toBe('number');
    // Every metric declared is present as a number, in Count, and nothing else is declared.
    const declared = totals?._aws.CloudWatchMetrics[0]?.Metrics ?? [];
    expect(declared.map((m) => m.Name).sort()).toEqual(
      [
        'ChangesSeen',
        'ServicesBraked',
        'ServicesFailed',
        'ServicesFlapGuarded',
        'ServicesNeedingAction',
        'ServicesRedeployed',
        'ServicesSkipped',
      ].sort(),
    );
    for (const metric of declared) {
      expect(metric.Unit).toBe('Count');
      expect(typeof totals?.[metric.Name]).toBe('number');
    }
    // Skipped services, by reason.
    expect(documentWith(docs, ['FunctionName', 'Reason'], 'excluded-by-tag')).toMatchObject({
      FunctionName: FUNCTION,
      ServicesSkipped: 1,
      _aws: {
        CloudWatchMetrics: [{ Namespace: NAMESPACE, Metrics: [{ Name: 'ServicesSkipped' }] }],
      },
    });
    expect(docs).toHaveLength(2);
  });

  it('uses the EcsSecretRedeployer namespace by default', async () => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler();

    await handler(dbChanged(), lambdaContext(CONTEXT_ARN));

    for (const doc of emfDocuments(output())) {
      expect(doc._aws.CloudWatchMetrics[0]?.Namespace).toBe('EcsSecretRedeployer');
    }
  });

  it('counts skipped services by reason: a repeated change is already deployed', async () => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler({ METRICS_NAMESPACE: NAMESPACE });
    await handler(dbChanged(), lambdaContext(CONTEXT_ARN));
    const before = output().length;

    await handler(dbChanged(), lambdaContext(CONTEXT_ARN)); // same warm environment

    const docs = emfDocuments(output().slice(before));
    expect(documentWith(docs, ['FunctionName'])).toMatchObject({
      ChangesSeen: 1,
      ServicesRedeployed: 0,
      ServicesSkipped: 3,
    });
    expect(documentWith(docs, ['FunctionName', 'Reason'], 'already-deployed')).toMatchObject({
      ServicesSkipped: 2,
    });
    expect(documentWith(docs, ['FunctionName', 'Reason'], 'excluded-by-tag')).toMatchObject({
      ServicesSkipped: 1,
    });
  });

  it.each([
    ['malformed', 'not an event'],
    [
      'not-applicable',
      relocatedFixture(
        'secretsmanager/cloudtrail-PutSecretValue-AWSPENDING.from-api-reference.json',
        { region: 'eu-central-1', account: '111122223333' },
        { region: REGION, account: ACCOUNT },
      ),
    ],
    [
      'foreign-source',
      loadFixture('secretsmanager/cloudtrail-PutSecretValue-AWSPENDING.from-api-reference.json'),
    ],
  ])('counts an ignored change (ChangesIgnored) with its Reason: %s', async (reason, event) => {
    serveEcs(ecsMock, world());
    // As the construct configures it: events from elsewhere are ignored.
    const { handler } = await loadHandler({
      METRICS_NAMESPACE: NAMESPACE,
      RESTRICT_EVENT_SOURCES: 'true',
    });

    await handler(event, lambdaContext(CONTEXT_ARN));

    const docs = emfDocuments(output());
    expect(documentWith(docs, ['FunctionName'])).toMatchObject({ ChangesIgnored: 1 });
    expect(documentWith(docs, ['FunctionName'])).not.toHaveProperty('ChangesSeen');
    expect(documentWith(docs, ['FunctionName', 'Reason'], reason)).toMatchObject({
      FunctionName: FUNCTION,
      Reason: reason,
      ChangesIgnored: 1,
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: NAMESPACE,
            Dimensions: [['FunctionName', 'Reason']],
            Metrics: [{ Name: 'ChangesIgnored', Unit: 'Count' }],
          },
        ],
      },
    });
  });

  it('counts an ignored change outside the name prefixes with Reason outside-prefixes', async () => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler({ PARAMETER_NAME_PREFIXES: '/prod/' });

    await handler(parameterChanged({ id: 'evt-p', name: '/dev/flags', at: T0 }), lambdaContext());

    expect(documentWith(emfDocuments(output()), ['FunctionName', 'Reason'])).toMatchObject({
      Reason: 'outside-prefixes',
      ChangesIgnored: 1,
    });
  });

  it('counts failed services', async () => {
    serveEcs(ecsMock, world());
    ecsMock
      .on(UpdateServiceCommand, { service: serviceArn('prod', 'orders') })
      // Refused, not throttled: a throttled UpdateService is paced and retried for 15 s.
      .rejects(awsError('AccessDeniedException', 'not authorized to perform: ecs:UpdateService'));
    const { handler } = await loadHandler();

    await expect(handler(dbChanged(), lambdaContext())).rejects.toThrow();

    expect(documentWith(emfDocuments(output()), ['FunctionName'])).toMatchObject({
      ServicesFailed: 1,
      ServicesRedeployed: 1,
    });
  });

  // Reproduction (issue 9, case 4): services still referencing a deleted secret were logged and
  // counted nowhere an alarm looks. They need a person as much as a CODE_DEPLOY service does.
  it('counts services still referencing a deleted item as needing action (alarmed)', async () => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler();
    const deleted = {
      ...secretChanged({ id: 'evt-delete', name: 'db', suffix: 'AbCdEf', at: T0 }),
      'detail-type': 'AWS API Call via CloudTrail',
      resources: [],
      detail: {
        eventSource: 'secretsmanager.amazonaws.com',
        eventName: 'DeleteSecret',
        requestParameters: { secretId: `${SM}:db-AbCdEf`, recoveryWindowInDays: 7 },
        responseElements: { arn: `${SM}:db-AbCdEf`, name: 'db' },
      },
    };

    await handler(deleted, lambdaContext());

    expect(documentWith(emfDocuments(output()), ['FunctionName'])).toMatchObject({
      ServicesRedeployed: 0,
      // orders, billing and bluegreen still use it (legacy is excluded by tag).
      ServicesNeedingAction: 3,
    });
  });

  it('writes one EMF document per dimension set, as CloudWatch expects', () => {
    const lines: string[] = [];
    const writer = new MetricsWriter('Ns', 'fn', { write: (line) => lines.push(line) }, () => 42);

    writer.write({ changesIgnored: 1, ignoredBy: { malformed: 1 } });

    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      {
        _aws: {
          Timestamp: 42,
          CloudWatchMetrics: [
            {
              Namespace: 'Ns',
              Dimensions: [['FunctionName']],
              Metrics: [{ Name: 'ChangesIgnored', Unit: 'Count' }],
            },
          ],
        },
        FunctionName: 'fn',
        ChangesIgnored: 1,
      },
      {
        _aws: {
          Timestamp: 42,
          CloudWatchMetrics: [
            {
              Namespace: 'Ns',
              Dimensions: [['FunctionName', 'Reason']],
              Metrics: [{ Name: 'ChangesIgnored', Unit: 'Count' }],
            },
          ],
        },
        FunctionName: 'fn',
        Reason: 'malformed',
        ChangesIgnored: 1,
      },
    ]);
  });
});

describe('structured logs', () => {
  it('writes only JSON lines to stdout, each log line with the event id as correlation_id', async () => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler();

    await handler(dbChanged('evt-corr'), lambdaContext(CONTEXT_ARN));

    const lines = output()
      .split('\n')
      .filter((line) => line.trim() !== '');
    expect(jsonLines(output())).toHaveLength(lines.length);
    const entries = logEntries(output());
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) {
      expect(entry).toMatchObject({
        correlation_id: 'evt-corr',
        function_name: FUNCTION,
        function_request_id: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
        service: 'ecs-secret-redeployer',
        timestamp: expect.any(String) as string,
      });
    }
    expect(entries.find((e) => e.message === 'change handled')).toMatchObject({
      level: 'INFO',
      report: { change: { eventId: 'evt-corr' } },
    });
  });

  it('gives each record of an SQS batch its own correlation_id', async () => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler({ MAX_DEPLOYMENTS_IN_PROGRESS: '0' });

    await handler(
      sqsEvent([
        dbChanged('evt-first'),
        'not json',
        parameterChanged({ id: 'evt-third', name: '/nobody', at: T0 }),
      ]),
      lambdaContext(CONTEXT_ARN),
    );

    const entries = logEntries(output()).map((e) => [e.message, e.correlation_id]);
    expect(entries).toEqual([
      ['change handled', 'evt-first'],
      ['event ignored', undefined],
      ['change handled', 'evt-third'],
    ]);
  });

  it('marks the first invocation of an execution environment as a cold start', async () => {
    serveEcs(ecsMock, world());
    const { handler } = await loadHandler();

    await handler(dbChanged('evt-1'), lambdaContext());
    await handler(dbChanged('evt-2'), lambdaContext());

    const starts = logEntries(output()).map((e) => [e.correlation_id, e.cold_start]);
    expect(starts).toEqual([
      ['evt-1', true],
      ['evt-2', false],
    ]);
  });
});
