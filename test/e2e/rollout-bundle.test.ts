/**
 * End to end, the way production hits the function: the bundle exactly as deployed, in its own
 * Node.js processes, with the resources and the environment the synthesised template gives it
 * (the rollout and flap tables created from their template definitions, every Ref resolved),
 * against the simulated account over HTTP (AWS_ENDPOINT_URL). Several execution environments
 * handle the change at once, and answers get lost after AWS acted: each service is deployed once.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ESBUILD_OPTIONS } from '../../infra/bundling.js';
import { RedeployerStack } from '../../infra/redeployer-stack.js';
import { newApp } from '../infra/synth.js';
import { type HttpEndpoint, SimulatedAws } from '../sim/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:redeployer`;
const MARKER = '@@E2E-ROLLOUT@@';
const DB = 'prod/orders/db';

type Json = Record<string, unknown>;
type Resources = Record<string, { Type: string; Properties: Json }>;

/** Imports the bundle, invokes the handler once per event (one warm environment), prints results. */
const RUNNER = `
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [bundlePath, eventsPath, functionArn, marker] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundlePath).href);
const results = [];
for (const event of JSON.parse(readFileSync(eventsPath, 'utf8'))) {
  const context = {
    functionName: 'redeployer', functionVersion: '$LATEST', invokedFunctionArn: functionArn,
    memoryLimitInMB: '256', awsRequestId: crypto.randomUUID(), logGroupName: '/aws/lambda/redeployer',
    logStreamName: 'x', getRemainingTimeInMillis: () => 60000, callbackWaitsForEmptyEventLoop: true,
    done() {}, fail() {}, succeed() {},
  };
  try {
    results.push({ ok: true, result: await handler(event, context) });
  } catch (error) {
    results.push({ ok: false, error: { name: error?.name, message: error?.message } });
  }
}
process.stdout.write('\\n' + marker + JSON.stringify(results) + '\\n');
`;

let workDir: string;
let bundlePath: string;
let runnerPath: string;
let resources: Resources;
let intakeEnv: Record<string, unknown>;
const endpoints: HttpEndpoint[] = [];

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'redeployer-e2e-rollout-'));
  bundlePath = join(workDir, 'handler.mjs');
  runnerPath = join(workDir, 'invoke.mjs');
  await build({
    ...ESBUILD_OPTIONS,
    mainFields: [...ESBUILD_OPTIONS.mainFields],
    entryPoints: [join(ROOT, 'functions/redeploy/handler.ts')],
    outfile: bundlePath,
    absWorkingDir: ROOT,
  });
  await writeFile(runnerPath, RUNNER);
  const app = newApp();
  const stack = new RedeployerStack(app, 'SecretRedeployer', {
    env: { account: ACCOUNT, region: REGION },
  });
  resources = Template.fromStack(stack).toJSON().Resources as Resources;
  const intake = Object.values(resources).find(
    (r) =>
      r.Type === 'AWS::Lambda::Function' &&
      JSON.stringify(r.Properties.Environment).includes('CHANGE_QUEUE_URL'),
  );
  intakeEnv = (intake?.Properties.Environment as { Variables: Json }).Variables;
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const endpoint of endpoints.splice(0)) await endpoint.close();
});

/**
 * Creates, in the simulated account, every resource the function's environment refers to, as the
 * template defines it, and returns the environment with each reference resolved.
 */
function deployInto(sim: SimulatedAws): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(intakeEnv)) {
    if (typeof value === 'string') {
      env[name] = value;
      continue;
    }
    const ref = (value as { Ref?: string }).Ref;
    const resource = ref === undefined ? undefined : resources[ref];
    if (ref === undefined || resource === undefined) {
      throw new Error(`${name}: cannot resolve ${JSON.stringify(value)}`);
    }
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table': {
        const props = resource.Properties as {
          KeySchema: { AttributeName: string; KeyType: string }[];
          GlobalSecondaryIndexes?: {
            IndexName: string;
            KeySchema: { AttributeName: string; KeyType: string }[];
          }[];
          TimeToLiveSpecification?: { AttributeName: string };
        };
        const key = (schema: typeof props.KeySchema, type: string) =>
          schema.find((k) => k.KeyType === type)?.AttributeName;
        const sortKey = key(props.KeySchema, 'RANGE');
        sim.createTable({
          name: ref,
          partitionKey: key(props.KeySchema, 'HASH') ?? '',
          ...(sortKey && { sortKey }),
          ...(props.TimeToLiveSpecification && {
            ttlAttribute: props.TimeToLiveSpecification.AttributeName,
          }),
          indexes: (props.GlobalSecondaryIndexes ?? []).map((index) => {
            const indexSort = key(index.KeySchema, 'RANGE');
            return {
              name: index.IndexName,
              partitionKey: key(index.KeySchema, 'HASH') ?? '',
              ...(indexSort && { sortKey: indexSort }),
            };
          }),
        });
        env[name] = ref;
        break;
      }
      case 'AWS::SQS::Queue':
        env[name] = sim.createQueue(ref);
        break;
      case 'AWS::Lambda::Alias': {
        const alias = resource.Properties as { Name: string; FunctionName: { Ref: string } };
        env[name] = `${sim.addFunction(alias.FunctionName.Ref)}:${alias.Name}`;
        break;
      }
      default:
        throw new Error(`${name}: unexpected ${resource.Type}`);
    }
  }
  return env;
}

/** A simulated account with two services using the secret, deployed as the template says. */
async function account() {
  const sim = new SimulatedAws({ account: ACCOUNT, region: REGION, clockMode: 'real' });
  const secretArn = sim.addSecret({ name: DB, suffix: 'AbC123' });
  const td = sim.addTaskDefinition({
    family: 'orders',
    containerDefinitions: [
      {
        name: 'app',
        image: 'app',
        secrets: [{ name: 'DB', valueFrom: `${secretArn}:password::` }],
      },
    ],
  });
  const users = ['api', 'worker'].map((name) =>
    sim.addService({
      cluster: 'prod',
      name,
      taskDefinition: td,
      deployedAt: new Date(Date.now() - 86_400_000),
    }),
  );
  sim.addService({
    cluster: 'prod',
    name: 'other',
    taskDefinition: sim.addTaskDefinition({ family: 'other', containerDefinitions: [] }),
  });
  const env = deployInto(sim);
  const endpoint = await sim.listen();
  endpoints.push(endpoint);
  const version = sim.putSecretValue(DB);
  const time = new Date(Date.now() - 2000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const event = {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Secret Label Updated',
    source: 'aws.secretsmanager',
    account: ACCOUNT,
    time,
    region: REGION,
    resources: [secretArn],
    detail: { name: DB, labelUpdated: 'AWSCURRENT', versionId: version },
  };
  return { sim, env: { ...env, AWS_ENDPOINT_URL: endpoint.endpoint }, event, users: users.sort() };
}

const sqsBatch = (...bodies: unknown[]) => ({
  Records: bodies.map((body) => ({
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: JSON.stringify(body),
    attributes: {},
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:change-queue`,
    awsRegion: REGION,
  })),
});

interface Result {
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: { name: string; message: string };
}

/** A new execution environment (a fresh Node.js process) handling `events` in order. */
async function environment(env: Record<string, string>, ...events: unknown[]): Promise<Result[]> {
  const eventsPath = join(workDir, `events-${randomUUID()}.json`);
  await writeFile(eventsPath, JSON.stringify(events));
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [runnerPath, bundlePath, eventsPath, FUNCTION_ARN, MARKER],
      {
        env: {
          PATH: process.env.PATH,
          HOME: workDir,
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: 'AKIAE2ETESTEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'e2e-test-secret-access-key',
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_CONFIG_FILE: join(workDir, 'none'),
          AWS_SHARED_CREDENTIALS_FILE: join(workDir, 'none'),
          ...env,
        },
        timeout: 30_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, out, err) => {
        if (error) reject(new Error(`${error.message}\n${out}\n${err}`));
        else resolve(out);
      },
    );
  });
  const line = stdout.split('\n').find((l) => l.startsWith(MARKER));
  if (line === undefined) throw new Error(`no result:\n${stdout}`);
  return JSON.parse(line.slice(MARKER.length)) as Result[];
}

const updated = (sim: SimulatedAws): string[] =>
  sim
    .calls({ service: 'ecs', operation: 'UpdateService' })
    .filter((call) => call.applied)
    .map((call) => String((call.input as { service?: string }).service))
    .sort();

describe('the bundle with the template environment, against an AWS-compatible API', () => {
  it('three environments handling the change at once (direct, SQS batch, duplicate): each service deployed once', async () => {
    const { sim, env, event, users } = await account();

    const results = await Promise.all([
      environment(env, event),
      environment(env, sqsBatch(event, event)),
      environment(env, event),
    ]);

    for (const result of results.flat()) expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(sim.count('ecs.UpdateService')).toBe(2);
    expect(updated(sim)).toEqual(users);
    // One rollout, one engine execution name (Lambda refuses a second execution of it).
    const names = new Set(sim.lambda.invocations.map((i) => i.durableExecutionName));
    expect(names.size).toBe(1);
    expect(sim.calls('secretsmanager.GetSecretValue')).toEqual([]);
  });

  it('answers lost after ECS acted, then the change delivered again: each service deployed once', async () => {
    const { sim, env, event, users } = await account();
    sim.fault({ operation: 'ecs.UpdateService', reply: { kind: 'lost', then: 'error' } });

    const first = await environment(env, sqsBatch(event));
    sim.clearFaults();
    const again = await environment(env, sqsBatch(event), event);

    for (const result of [...first, ...again]) expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(first[0]?.result).toEqual({ batchItemFailures: [] });
    expect(sim.count('ecs.UpdateService')).toBe(2);
    expect(updated(sim)).toEqual(users);
  });

  it('keeps working, deploying once, when the engine cannot be started (no such function there)', async () => {
    const { sim, env, event, users } = await account();
    const broken = {
      ...env,
      ROLLOUT_ENGINE_ARN: `${FUNCTION_ARN.replace('redeployer', 'missing')}:live`,
    };

    const [first] = await environment(broken, sqsBatch(event));
    const [second] = await environment(broken, sqsBatch(event));

    expect(first?.result).toEqual({ batchItemFailures: [] });
    expect(second?.result).toEqual({ batchItemFailures: [] });
    expect(updated(sim)).toEqual(users);
    expect(sim.count('ecs.UpdateService')).toBe(2);
  });
});
