import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PutItemCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  ContinueServiceDeploymentCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { HANG, LOST, SimulatedAws } from './index.js';

const run = promisify(execFile);
const credentials = { accessKeyId: 'AKIASIMULATEDTEST', secretAccessKey: 'simulated-secret' };

let sim: SimulatedAws | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function served() {
  sim = new SimulatedAws();
  const td = sim.addTaskDefinition({ family: 'web', containerDefinitions: [{ name: 'app' }] });
  sim.addService({ cluster: 'prod', name: 'web', taskDefinition: td });
  const { endpoint } = await sim.listen();
  const config = { endpoint, region: 'us-east-1', credentials, maxAttempts: 1 };
  return { sim, endpoint, config };
}

describe('HTTP mode', () => {
  it('answers clients configured with the endpoint, for every protocol', async () => {
    const { sim, endpoint, config } = await served();
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const ecs = new ECSClient(config);
    await ecs.send(
      new UpdateServiceCommand({ cluster: 'prod', service: 'web', forceNewDeployment: true }),
    );
    const described = await ecs.send(
      new DescribeServicesCommand({ cluster: 'prod', services: ['web'] }),
    );
    expect(described.services?.[0]?.deployments).toHaveLength(2);

    sim.createTable({ name: 't', partitionKey: 'pk' });
    const ddb = new DynamoDBClient(config);
    await ddb.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'a' } } }));
    expect(
      (await ddb.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } }))).Item,
    ).toEqual({ pk: { S: 'a' } });

    const url = sim.createQueue('q');
    expect(url).toBe(`${endpoint}/123456789012/q`);
    const sqs = new SQSClient(config);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'm' }));
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages?.[0]?.Body).toBe(
      'm',
    );

    const sns = new SNSClient(config);
    await sns.send(
      new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', Message: 'hi' }),
    );
    expect(sim.published().map((p) => p.message)).toEqual(['hi']);

    sim.addFunction('f', (event) => event);
    const lambda = new LambdaClient(config);
    const invoked = await lambda.send(
      new InvokeCommand({
        FunctionName: 'f',
        DurableExecutionName: 'n',
        Payload: new TextEncoder().encode('{"x":1}'),
      }),
    );
    expect(new TextDecoder().decode(invoked.Payload)).toBe('{"x":1}');
    expect(invoked.DurableExecutionArn).toContain('/durable-execution/n/');

    expect(sim.calls().map((c) => `${c.service}.${c.operation}:${c.outcome}`)).toEqual([
      'ecs.UpdateService:ok',
      'ecs.DescribeServices:ok',
      'dynamodb.PutItem:ok',
      'dynamodb.GetItem:ok',
      'sqs.SendMessage:ok',
      'sqs.ReceiveMessage:ok',
      'sns.Publish:ok',
      'lambda.Invoke:ok',
    ]);
  });

  it('serves blue/green pause hooks and CloudWatch alarms', async () => {
    const { sim, config } = await served();
    sim.addService({
      cluster: 'prod',
      name: 'bg',
      taskDefinition: 'web:1',
      deploymentConfiguration: {
        strategy: 'BLUE_GREEN',
        bakeTimeInMinutes: 1,
        lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['POST_SCALE_UP'] }],
      },
      behaviour: { outcome: 'complete', afterMs: 60_000 },
    });
    sim.addAlarm('bg-5xx');
    const ecs = new ECSClient(config);
    const cloudwatch = new CloudWatchClient(config);

    await ecs.send(
      new UpdateServiceCommand({ cluster: 'prod', service: 'bg', forceNewDeployment: true }),
    );
    sim.advance(60_000);
    const listed = await ecs.send(
      new ListServiceDeploymentsCommand({
        cluster: 'prod',
        service: 'bg',
        status: ['IN_PROGRESS'],
      }),
    );
    const serviceDeploymentArn = listed.serviceDeployments?.[0]?.serviceDeploymentArn ?? '';
    const described = await ecs.send(
      new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [serviceDeploymentArn] }),
    );
    const [hook] = described.serviceDeployments?.[0]?.lifecycleHookDetails ?? [];
    expect(hook).toMatchObject({ targetType: 'PAUSE', status: 'AWAITING_ACTION' });
    expect(hook?.expiresAt).toEqual(new Date('2026-01-02T00:01:00Z'));
    await expect(
      ecs.send(
        new ContinueServiceDeploymentCommand({
          serviceDeploymentArn: `${serviceDeploymentArn}x`,
          hookId: hook?.hookId,
        }),
      ),
    ).rejects.toMatchObject({ name: 'ServiceDeploymentNotFoundException' });
    await ecs.send(
      new ContinueServiceDeploymentCommand({
        serviceDeploymentArn,
        hookId: hook?.hookId,
        action: 'CONTINUE',
      }),
    );
    sim.advance(60_000);
    const done = await ecs.send(
      new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [serviceDeploymentArn] }),
    );
    expect(done.serviceDeployments?.[0]).toMatchObject({
      status: 'SUCCESSFUL',
      lifecycleStage: 'CLEAN_UP',
      lifecycleHookDetails: [{ hookId: hook?.hookId, status: 'SUCCEEDED' }],
    });

    sim.setAlarmState('bg-5xx', 'ALARM', 'Threshold Crossed');
    const alarms = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: ['bg-5xx', 'unknown'] }),
    );
    expect(alarms.MetricAlarms?.map((a) => [a.AlarmName, a.StateValue, a.StateReason])).toEqual([
      ['bg-5xx', 'ALARM', 'Threshold Crossed'],
    ]);
    expect(alarms.MetricAlarms?.[0]?.StateUpdatedTimestamp).toEqual(
      new Date('2026-01-01T00:02:00Z'),
    );
    await expect(
      cloudwatch.send(new DescribeAlarmsCommand({ NextToken: 'garbage' })),
    ).rejects.toMatchObject({ name: 'InvalidNextToken' });
    expect(sim.calls('cloudwatch.*').map((c) => c.outcome)).toEqual(['ok', 'InvalidNextToken']);
  });

  it('drops the connection for resets and released hangs, after applying lost requests', async () => {
    const { sim, config } = await served();
    const ecs = new ECSClient(config);
    const update = () =>
      ecs.send(
        new UpdateServiceCommand({ cluster: 'prod', service: 'web', forceNewDeployment: true }),
      );

    sim.fault({ operation: 'ecs.UpdateService', reply: { kind: 'lost', then: 'reset' } });
    await expect(update()).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(sim.deployments('web')).toHaveLength(2);

    sim.fault({ operation: 'ecs.UpdateService', reply: HANG });
    const hanging = update();
    await sim.whenCalled('ecs.UpdateService', 2);
    expect(sim.releaseHung()).toBe(1);
    await expect(hanging).rejects.toMatchObject({ code: 'ECONNRESET' });

    sim.fault({ operation: 'ecs.UpdateService', reply: LOST });
    await expect(update()).rejects.toMatchObject({ name: 'InternalFailure' });
    expect(sim.deployments('web')).toHaveLength(3);
  });

  it('serves a child process that finds it through AWS_ENDPOINT_URL', async () => {
    const { sim, endpoint } = await served();
    const script = [
      "import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';",
      'const ecs = new ECSClient({});',
      "const out = await ecs.send(new UpdateServiceCommand({ cluster: 'prod', service: 'web', forceNewDeployment: true }));",
      'console.log(JSON.stringify(out.service.deployments.map((d) => d.status)));',
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: process.cwd(),
      env: {
        PATH: process.env.PATH,
        AWS_ENDPOINT_URL: endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_MAX_ATTEMPTS: '1',
      },
    });
    expect(JSON.parse(stdout)).toEqual(['PRIMARY', 'ACTIVE']);
    expect(sim.count('ecs.UpdateService', 'ok')).toBe(1);
  });
});
