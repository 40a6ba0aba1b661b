/**
 * End to end: the function exactly as it is deployed (one esbuild bundle, built with the options
 * the stack uses) runs in its own Node.js process and talks HTTP to an AWS-compatible API
 * (test/e2e/fake-aws.ts) through AWS_ENDPOINT_URL, as it would to moto or LocalStack.
 *
 * Every scenario starts from the same seeded account and asserts the exact set of UpdateService
 * calls the fake received, and that no call ever read a secret or parameter value.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeReport, Report } from '../../functions/redeploy/process.js';
import { ESBUILD_OPTIONS } from '../../infra/bundling.js';
import { ACCOUNT, DEFAULT_REGION as REGION, FakeAws, type RecordedCall } from './fake-aws.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:redeployer`;
const RESULT_MARKER = '@@E2E-RESULT@@';

/** The only calls the function may make: discovery, task definitions, the update, metadata. */
const ALLOWED_CALLS = new Set([
  'ecs.ListClusters',
  'ecs.ListServices',
  'ecs.DescribeServices',
  'ecs.DescribeTaskDefinition',
  'ecs.UpdateService',
  'secretsmanager.DescribeSecret',
]);

// ---------------------------------------------------------------------------------------------
// The seeded account
// ---------------------------------------------------------------------------------------------

const DB_NAME = 'prod/db';
const DB_SUFFIX = 'AbC123';
const DB_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${DB_NAME}-${DB_SUFFIX}`;
const DB_PARTIAL_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${DB_NAME}`;
const DB_WEST_ARN = `arn:aws:secretsmanager:us-west-2:${ACCOUNT}:secret:${DB_NAME}-XyZ789`;
const DB_WEST_PARTIAL_ARN = `arn:aws:secretsmanager:us-west-2:${ACCOUNT}:secret:${DB_NAME}`;
/** A full ARN of an earlier secret with the same name (deleted, then re-created). */
const DB_STALE_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${DB_NAME}-OlD999`;
const DB_VERSION_PREVIOUS = '11111111-1111-4111-8111-111111111111';
const DB_VERSION_CURRENT = '22222222-2222-4222-8222-222222222222';
const DB_VERSION_NEW = '33333333-3333-4333-8333-333333333333';

const FLAGS_NAME = '/prod/feature-flags';
const FLAGS_ARN = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/prod/feature-flags`;

/** Service key (`cluster/name`) → ARN, filled by `seed`. */
type Services = Readonly<Record<string, string>>;

function seed(fake: FakeAws): Services {
  fake.addCluster('prod');
  fake.addCluster('batch');
  fake.createSecret({
    name: DB_NAME,
    suffix: DB_SUFFIX,
    versionIdsToStages: {
      [DB_VERSION_PREVIOUS]: ['AWSPREVIOUS'],
      [DB_VERSION_CURRENT]: ['AWSCURRENT'],
    },
  });
  fake.createSecret({
    name: DB_NAME,
    suffix: 'XyZ789',
    region: 'us-west-2',
    versionIdsToStages: { [DB_VERSION_CURRENT]: ['AWSCURRENT'] },
  });

  const secretsTd = (family: string, valueFrom: string): string =>
    fake.registerTaskDefinition({
      family,
      containerDefinitions: [{ name: 'app', secrets: [{ name: 'VALUE', valueFrom }] }],
    });

  const td = {
    web: secretsTd('web', DB_ARN),
    worker: secretsTd('worker', DB_PARTIAL_ARN),
    api: fake.registerTaskDefinition({
      family: 'api',
      containerDefinitions: [
        { name: 'app', secrets: [{ name: 'DB_PASSWORD', valueFrom: `${DB_ARN}:password::` }] },
        {
          name: 'log-router',
          logConfiguration: {
            logDriver: 'awsfirelens',
            secretOptions: [
              { name: 'apikey', valueFrom: FLAGS_ARN.replace('feature-flags', 'log-key') },
            ],
          },
        },
      ],
    }),
    pinnedVersion: secretsTd('pinned-version', `${DB_ARN}:password::${DB_VERSION_CURRENT}`),
    previous: secretsTd('previous-reader', `${DB_ARN}::AWSPREVIOUS:`),
    passthrough: secretsTd('passthrough', `/aws/reference/secretsmanager/${DB_NAME}`),
    // Partial ARN: only its Region tells it from prod/db in us-east-1.
    west: secretsTd('west-reader', DB_WEST_PARTIAL_ARN),
    customStage: secretsTd('custom-stage', `${DB_ARN}::BLUE:`),
    stale: secretsTd('stale-arn', DB_STALE_ARN),
    flagsSlash: secretsTd('flags-slash', FLAGS_NAME),
    flagsNoSlash: secretsTd('flags-noslash', FLAGS_NAME.slice(1)),
    flagsArn: secretsTd('flags-arn', FLAGS_ARN),
    unrelated: secretsTd('unrelated', '/prod/other-parameter'),
  };

  const services: Record<string, string> = {};
  const add = (
    cluster: string,
    name: string,
    taskDefinition: string,
    extra: { status?: 'DRAINING'; deploymentController?: 'CODE_DEPLOY' } = {},
  ): void => {
    services[`${cluster}/${name}`] = fake.createService({
      cluster,
      name,
      taskDefinition,
      ...extra,
    });
  };
  add('prod', 'web', td.web);
  add('prod', 'worker', td.worker);
  add('prod', 'api', td.api);
  add('prod', 'pinned-version', td.pinnedVersion);
  add('prod', 'bluegreen', td.web, { deploymentController: 'CODE_DEPLOY' });
  add('prod', 'old-web', td.web, { status: 'DRAINING' });
  add('prod', 'flags-slash', td.flagsSlash);
  add('prod', 'custom-stage', td.customStage);
  add('batch', 'previous-reader', td.previous);
  add('batch', 'passthrough', td.passthrough);
  add('batch', 'west-reader', td.west);
  add('batch', 'stale-arn', td.stale);
  add('batch', 'flags-noslash', td.flagsNoSlash);
  add('batch', 'flags-arn', td.flagsArn);
  add('batch', 'unrelated', td.unrelated);
  return services;
}

const SERVICE_COUNT = 15;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/**
 * Event times have one-second precision, and the function only trusts a deployment created at
 * least one second after the stamped time to carry the change. Stamping events two seconds in
 * the past keeps them close to now (the seeded deployments are a day old) while making the
 * deployments the function itself creates provably later than the change.
 */
function eventTime(date = new Date(Date.now() - 2000)): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface EventOptions {
  readonly time?: string;
  readonly region?: string;
}

function envelope(
  source: string,
  detailType: string,
  resources: string[],
  detail: Record<string, unknown>,
  options: EventOptions = {},
): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source,
    account: ACCOUNT,
    time: options.time ?? eventTime(),
    region: options.region ?? REGION,
    resources,
    detail,
  };
}

function secretLabelUpdated(
  options: EventOptions & { arn?: string; label?: string } = {},
): Record<string, unknown> {
  return envelope(
    'aws.secretsmanager',
    'Secret Label Updated',
    [options.arn ?? DB_ARN],
    { name: DB_NAME, labelUpdated: options.label ?? 'AWSCURRENT', versionId: DB_VERSION_NEW },
    options,
  );
}

function parameterStoreChange(operation: 'Update' | 'Delete'): Record<string, unknown> {
  return envelope('aws.ssm', 'Parameter Store Change', [FLAGS_ARN], {
    operation,
    name: FLAGS_NAME,
    type: 'SecureString',
    description: 'feature flags',
  });
}

function cloudTrail(
  eventName: string,
  requestParameters: Record<string, unknown>,
  responseElements: Record<string, unknown> | null,
  time = eventTime(),
): Record<string, unknown> {
  return envelope(
    'aws.secretsmanager',
    'AWS API Call via CloudTrail',
    [],
    {
      eventVersion: '1.09',
      userIdentity: {
        type: 'AssumedRole',
        principalId: 'AROAEXAMPLEID:operator',
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/operator/operator`,
        accountId: ACCOUNT,
      },
      eventTime: time,
      eventSource: 'secretsmanager.amazonaws.com',
      eventName,
      awsRegion: REGION,
      sourceIPAddress: '203.0.113.10',
      userAgent: 'aws-cli/2.15.0',
      requestParameters,
      responseElements,
      requestID: randomUUID(),
      eventID: randomUUID(),
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: ACCOUNT,
      eventCategory: 'Management',
    },
    { time },
  );
}

// ---------------------------------------------------------------------------------------------
// Running the bundle in a child process
// ---------------------------------------------------------------------------------------------

/** Imports the bundle, invokes the handler once per event (one warm environment), prints results. */
const RUNNER = `
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [bundlePath, eventsPath, functionArn, marker] = process.argv.slice(2);
const print = (value) => process.stdout.write('\\n' + marker + JSON.stringify(value) + '\\n');
let handler;
try {
  ({ handler } = await import(pathToFileURL(bundlePath).href));
} catch (error) {
  print({ init: { name: error?.name, message: error?.message } });
  process.exit(0);
}
const events = JSON.parse(readFileSync(eventsPath, 'utf8'));
const results = [];
for (const event of events) {
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'redeployer',
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: '/aws/lambda/redeployer',
    logStreamName: '2024/01/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 60000,
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    results.push({ ok: true, report: await handler(event, context) });
  } catch (error) {
    results.push({ ok: false, error: { name: error?.name, message: error?.message } });
  }
}
print({ results });
`;

type Invocation =
  | { readonly ok: true; readonly report: Report }
  | { readonly ok: false; readonly error: { readonly name: string; readonly message: string } };

let fake: FakeAws;
let workDir: string;
let bundlePath: string;
let runnerPath: string;
let services: Services;

/** Runs the bundle in a fresh Node.js process (a cold start) and handles `events` in order. */
function invoke(...events: unknown[]): Promise<Invocation[]> {
  return invokeWith({}, ...events);
}

/** `invoke`, with the function's environment changed by `overrides`. */
async function invokeWith(
  overrides: Readonly<Record<string, string>>,
  ...events: unknown[]
): Promise<Invocation[]> {
  const eventsPath = join(workDir, `events-${randomUUID()}.json`);
  await writeFile(eventsPath, JSON.stringify(events));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: workDir,
    AWS_ENDPOINT_URL: fake.endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'AKIAE2ETESTEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'e2e-test-secret-access-key',
    AWS_MAX_ATTEMPTS: '2',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(workDir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(workDir, 'no-aws-credentials'),
    CLUSTERS: '',
    DRY_RUN: 'false',
    ...overrides,
  };
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>(
    (resolve, reject) => {
      execFile(
        process.execPath,
        [runnerPath, bundlePath, eventsPath, FUNCTION_ARN, RESULT_MARKER],
        { env, timeout: 15_000, maxBuffer: 64 * 1024 * 1024 },
        (error, out, err) => {
          if (error) reject(new Error(`child failed: ${error.message}\n${out}\n${err}`));
          else resolve({ stdout: out, stderr: err });
        },
      );
    },
  );
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
  if (line === undefined) throw new Error(`no result from the child\n${stdout}\n${stderr}`);
  const output = JSON.parse(line.slice(RESULT_MARKER.length)) as {
    init?: { name: string; message: string };
    results?: Invocation[];
  };
  if (output.init) throw new Error(`the bundle failed to load: ${JSON.stringify(output.init)}`);
  return output.results ?? [];
}

/** The single handled report of an invocation; fails the test otherwise. */
function handled(invocation: Invocation | undefined): ChangeReport {
  expect(invocation?.ok, JSON.stringify(invocation)).toBe(true);
  const report = (invocation as { report: Report }).report;
  expect(report.outcome, JSON.stringify(report)).toBe('handled');
  return report as ChangeReport;
}

function ignored(invocation: Invocation | undefined): string {
  expect(invocation?.ok, JSON.stringify(invocation)).toBe(true);
  const report = (invocation as { report: Report }).report;
  expect(report.outcome, JSON.stringify(report)).toBe('ignored');
  return report.outcome === 'ignored' ? report.reason : '';
}

/** Services passed to UpdateService, sorted; each call must be exactly a forced deployment. */
function updatedServices(calls: readonly RecordedCall[] = fake.calls()): string[] {
  const updates = calls.filter((c) => c.service === 'ecs' && c.operation === 'UpdateService');
  for (const update of updates) {
    const service = String(update.body.service);
    const cluster = service.replace(
      /^arn:aws:ecs:([^:]+):(\d+):service\/([^/]+)\/.*$/,
      'arn:aws:ecs:$1:$2:cluster/$3',
    );
    expect(update.body).toEqual({ cluster, service, forceNewDeployment: true });
  }
  return updates.map((u) => String(u.body.service)).sort();
}

const arns = (...keys: string[]): string[] =>
  keys
    .map((key) => {
      const arn = services[key];
      if (arn === undefined) throw new Error(`unknown service ${key}`);
      return arn;
    })
    .sort();

const entryServices = (entries: readonly { service: string }[]): string[] =>
  entries.map((e) => e.service).sort();

// ---------------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'redeployer-e2e-'));
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
  fake = await FakeAws.start();
});

afterAll(async () => {
  await fake.close();
  await rm(workDir, { recursive: true, force: true });
});

beforeEach(() => {
  fake.reset();
  services = seed(fake);
});

afterEach(() => {
  const calls = fake.calls();
  // Never a value read: no GetSecretValue, no GetParameter(s), nothing outside the allow list.
  expect(calls.filter((c) => c.operation === 'GetSecretValue')).toEqual([]);
  expect(calls.filter((c) => c.operation.startsWith('GetParameter'))).toEqual([]);
  expect(calls.filter((c) => !ALLOWED_CALLS.has(`${c.service}.${c.operation}`))).toEqual([]);
  // Every call was understood by the API (right protocol, right shapes) and signed for our Region.
  expect(calls.filter((c) => c.status !== 200 && c.injected !== true)).toEqual([]);
  expect(calls.filter((c) => c.region !== REGION)).toEqual([]);
});

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

describe('the bundled function against an AWS-compatible API', () => {
  /** Redeployed by an AWSCURRENT move of prod/db in us-east-1. */
  const DB_CURRENT_READERS = [
    'prod/web', // full ARN
    'prod/worker', // partial ARN
    'prod/api', // full ARN with a JSON key
    'batch/previous-reader', // pinned to AWSPREVIOUS, which moves with AWSCURRENT
    'batch/passthrough', // /aws/reference/secretsmanager/prod/db
  ];

  it('Secret Label Updated (AWSCURRENT) redeploys exactly the services reading the secret', async () => {
    const [result] = await invoke(secretLabelUpdated());
    const report = handled(result);

    expect(updatedServices()).toEqual(arns(...DB_CURRENT_READERS));
    expect(report.redeployed).toEqual(arns(...DB_CURRENT_READERS));
    expect(entryServices(report.needsAction)).toEqual(arns('prod/bluegreen'));
    expect(report.needsAction[0]?.reason).toMatch(/CODE_DEPLOY/);
    expect(entryServices(report.skipped)).toEqual(arns('prod/old-web'));
    expect(report.skipped[0]?.reason).toMatch(/DRAINING/);
    expect(report.stillReferenced).toEqual([]);
    expect(report.failed).toEqual([]);
    expect(report.clustersScanned).toBe(2);
    expect(report.servicesScanned).toBe(SERVICE_COUNT);
    expect(report.change).toMatchObject({ type: 'secret', arn: DB_ARN, name: DB_NAME });

    // The fake really started new deployments: a new PRIMARY, the old one demoted to ACTIVE.
    const web = fake.describeService('prod', 'web') as {
      deployments: { status: string; createdAt: number }[];
    };
    expect(web.deployments.map((d) => d.status)).toEqual(['PRIMARY', 'ACTIVE']);
    expect(web.deployments[0]?.createdAt).toBeGreaterThan(Date.now() / 1000 - 30);
  });

  it('the same event delivered again makes no new UpdateService call (warm and cold)', async () => {
    const event = secretLabelUpdated();
    // One execution environment handles the event twice (warm: cached task definitions) …
    const [first, second] = await invoke(event, event);
    expect(handled(first).redeployed).toEqual(arns(...DB_CURRENT_READERS));
    const again = handled(second);
    expect(again.redeployed).toEqual([]);
    expect(updatedServices()).toEqual(arns(...DB_CURRENT_READERS));
    // … and a fresh one gets it a third time.
    const [third] = await invoke(event);
    const cold = handled(third);
    expect(cold.redeployed).toEqual([]);
    expect(updatedServices()).toEqual(arns(...DB_CURRENT_READERS));

    for (const report of [again, cold]) {
      const alreadyDeployed = report.skipped.filter((s) => /already deployed after/.test(s.reason));
      expect(entryServices(alreadyDeployed)).toEqual(arns(...DB_CURRENT_READERS));
      expect(entryServices(report.needsAction)).toEqual(arns('prod/bluegreen'));
      expect(report.failed).toEqual([]);
    }
  });

  it('a later change stamped in the second of the last deployment redeploys again', async () => {
    await invoke(secretLabelUpdated());
    expect(updatedServices()).toHaveLength(DB_CURRENT_READERS.length);
    // A new change whose (second-precision) time does not prove the last deployment came after it.
    const web = fake.describeService('prod', 'web') as { deployments: { createdAt: number }[] };
    const deployedAt = new Date((web.deployments[0]?.createdAt ?? 0) * 1000);
    const [result] = await invoke(secretLabelUpdated({ time: eventTime(deployedAt) }));
    expect(handled(result).redeployed).toContain(services['prod/web']);
    expect(fake.callsTo('UpdateService').map((c) => c.body.service)).toContain(
      services['prod/web'],
    );
  });

  it('Parameter Store Change (Update) redeploys the services naming the parameter or its ARN', async () => {
    const [result] = await invoke(parameterStoreChange('Update'));
    const report = handled(result);
    const readers = arns('prod/flags-slash', 'batch/flags-noslash', 'batch/flags-arn');
    expect(updatedServices()).toEqual(readers);
    expect(report.redeployed).toEqual(readers);
    expect(report.needsAction).toEqual([]);
    expect(report.skipped).toEqual([]);
    expect(report.failed).toEqual([]);
    expect(report.change).toMatchObject({ type: 'parameter', arn: FLAGS_ARN });
  });

  it('Parameter Store Change (Delete) redeploys nothing and reports the services still using it', async () => {
    const [result] = await invoke(parameterStoreChange('Delete'));
    const report = handled(result);
    expect(updatedServices()).toEqual([]);
    expect(report.redeployed).toEqual([]);
    expect(entryServices(report.stillReferenced)).toEqual(
      arns('prod/flags-slash', 'batch/flags-noslash', 'batch/flags-arn'),
    );
    expect(report.failed).toEqual([]);
  });

  it('CloudTrail PutSecretValue labelled AWSPENDING (a rotation in progress) changes nothing', async () => {
    const [result] = await invoke(
      cloudTrail(
        'PutSecretValue',
        { secretId: DB_ARN, clientRequestToken: DB_VERSION_NEW, versionStages: ['AWSPENDING'] },
        { arn: DB_ARN, name: DB_NAME, versionId: DB_VERSION_NEW, versionStages: ['AWSPENDING'] },
      ),
    );
    expect(ignored(result)).toMatch(/AWSPENDING/);
    expect(updatedServices()).toEqual([]);
    expect(fake.calls()).toEqual([]);
  });

  it('CloudTrail UpdateSecretVersionStage naming the secret by name is resolved and redeploys', async () => {
    const [result] = await invoke(
      cloudTrail(
        'UpdateSecretVersionStage',
        {
          secretId: DB_NAME,
          versionStage: 'AWSCURRENT',
          moveToVersionId: DB_VERSION_NEW,
          removeFromVersionId: DB_VERSION_CURRENT,
        },
        null, // console calls record no response elements: only the name is known
      ),
    );
    const report = handled(result);
    expect(fake.callsTo('DescribeSecret', 'secretsmanager').map((c) => c.body)).toEqual([
      { SecretId: DB_NAME },
    ]);
    expect(report.change).toMatchObject({ type: 'secret', arn: DB_ARN, name: DB_NAME });
    expect(report.change).not.toHaveProperty('arnSuffixUnknown');
    expect(updatedServices()).toEqual(arns(...DB_CURRENT_READERS));
    expect(entryServices(report.needsAction)).toEqual(arns('prod/bluegreen'));
    expect(report.failed).toEqual([]);
  });

  it('a custom staging label moved redeploys only the references pinned to it', async () => {
    const [result] = await invoke(secretLabelUpdated({ label: 'BLUE' }));
    expect(handled(result).redeployed).toEqual(arns('prod/custom-stage'));
    expect(updatedServices()).toEqual(arns('prod/custom-stage'));
  });

  it('CloudTrail PutSecretValue without versionStages: DescribeSecret tells pending from live', async () => {
    const putSecretValue = (): Record<string, unknown> =>
      cloudTrail(
        'PutSecretValue',
        { secretId: DB_ARN, clientRequestToken: DB_VERSION_NEW },
        { arn: DB_ARN, name: DB_NAME, versionId: DB_VERSION_NEW },
      );
    // The new version only carries AWSPENDING: a rotation's createSecret step.
    fake.setVersionStages(DB_NAME, {
      [DB_VERSION_PREVIOUS]: ['AWSPREVIOUS'],
      [DB_VERSION_CURRENT]: ['AWSCURRENT'],
      [DB_VERSION_NEW]: ['AWSPENDING'],
    });
    const [pending] = await invoke(putSecretValue());
    expect(ignored(pending)).toMatch(/AWSPENDING/);
    expect(fake.callsTo('DescribeSecret').map((c) => c.body)).toEqual([{ SecretId: DB_ARN }]);
    expect(updatedServices()).toEqual([]);

    // A manual PutSecretValue: the new version is AWSCURRENT at once.
    fake.setVersionStages(DB_NAME, {
      [DB_VERSION_CURRENT]: ['AWSPREVIOUS'],
      [DB_VERSION_NEW]: ['AWSCURRENT'],
    });
    const [live] = await invoke(putSecretValue());
    expect(handled(live).redeployed).toEqual(arns(...DB_CURRENT_READERS));
    expect(updatedServices()).toEqual(arns(...DB_CURRENT_READERS));
  });

  it('CloudTrail DeleteSecret redeploys nothing and reports every service still using it', async () => {
    const [result] = await invoke(
      cloudTrail(
        'DeleteSecret',
        { secretId: DB_NAME, recoveryWindowInDays: 7 },
        // Records before February 2024 spell it aRN.
        { aRN: DB_ARN, name: DB_NAME, deletionDate: 'Mar 21, 2025, 10:00:00 AM' },
      ),
    );
    const report = handled(result);
    expect(updatedServices()).toEqual([]);
    expect(report.redeployed).toEqual([]);
    expect(entryServices(report.stillReferenced)).toEqual(
      arns(...DB_CURRENT_READERS, 'prod/pinned-version', 'prod/custom-stage', 'prod/bluegreen'),
    );
    expect(entryServices(report.skipped)).toEqual(arns('prod/old-web'));
    expect(report.failed).toEqual([]);
  });

  it('Secret Label Updated of an RDS-managed master user secret (rds!db-…) redeploys its readers', async () => {
    // RDS names the secrets it manages rds!db-<uuid> / rds!cluster-<uuid> (managed rotation).
    const name = 'rds!db-8eb13df2-5d5d-467f-b28c-5c1cab606a06';
    const arn = fake.createSecret({
      name,
      suffix: 'bKUjnr',
      versionIdsToStages: { [DB_VERSION_CURRENT]: ['AWSCURRENT'] },
    });
    fake.addCluster('rds');
    const reader = fake.createService({
      cluster: 'rds',
      name: 'db-client',
      taskDefinition: fake.registerTaskDefinition({
        family: 'db-client',
        containerDefinitions: [
          { name: 'app', secrets: [{ name: 'DB_PASSWORD', valueFrom: `${arn}:password::` }] },
        ],
      }),
    });
    const event = envelope('aws.secretsmanager', 'Secret Label Updated', [arn], {
      name,
      labelUpdated: 'AWSCURRENT',
      versionId: DB_VERSION_NEW,
    });

    const [result] = await invoke(event);
    expect(handled(result).redeployed).toEqual([reader]);
    expect(updatedServices()).toEqual([reader]);
  });

  it('a change of the same-named secret in another Region redeploys only its reader', async () => {
    // A cross-Region event reaches the function only when that Region is a configured source.
    const [result] = await invokeWith(
      { SOURCE_REGIONS: 'us-west-2' },
      secretLabelUpdated({ arn: DB_WEST_ARN, region: 'us-west-2' }),
    );
    const report = handled(result);
    expect(updatedServices()).toEqual(arns('batch/west-reader'));
    expect(report.needsAction).toEqual([]);
    expect(report.failed).toEqual([]);
  });

  it('finds services beyond the first ListServices page', async () => {
    fake.addCluster('big');
    const filler = fake.registerTaskDefinition({
      family: 'filler',
      containerDefinitions: [{ name: 'app' }],
    });
    for (let i = 0; i < 104; i += 1) {
      fake.createService({ cluster: 'big', name: `filler-${i}`, taskDefinition: filler });
    }
    const late = fake.createService({
      cluster: 'big',
      name: 'late',
      taskDefinition: fake.registerTaskDefinition({
        family: 'late',
        containerDefinitions: [{ name: 'app', secrets: [{ name: 'DB', valueFrom: DB_ARN }] }],
      }),
    });

    const [result] = await invoke(secretLabelUpdated());
    const report = handled(result);
    expect(updatedServices()).toEqual([...arns(...DB_CURRENT_READERS), late].sort());
    expect(report.servicesScanned).toBe(SERVICE_COUNT + 105);
    const bigPages = fake
      .callsTo('ListServices', 'ecs')
      .filter((c) => c.body.cluster === fake.clusterArn('big'));
    expect(bigPages).toHaveLength(2);
    for (const call of fake.callsTo('DescribeServices', 'ecs')) {
      expect((call.body.services as unknown[]).length).toBeLessThanOrEqual(10);
    }
    // One read per task definition revision, however many services share it.
    const fillerReads = fake
      .callsTo('DescribeTaskDefinition', 'ecs')
      .filter((c) => c.body.taskDefinition === filler);
    expect(fillerReads).toHaveLength(1);
  });

  it('one rotation announced three times (label, stage move, RotationSucceeded) redeploys once', async () => {
    const changed = eventTime(new Date(Date.now() - 3000));
    const finished = eventTime(new Date(Date.now() - 2000));
    const rotationSucceeded = envelope(
      'aws.secretsmanager',
      'AWS Service Event via CloudTrail',
      [],
      {
        eventVersion: '1.09',
        userIdentity: { accountId: ACCOUNT, invokedBy: 'secretsmanager.amazonaws.com' },
        eventTime: finished,
        eventSource: 'secretsmanager.amazonaws.com',
        eventName: 'RotationSucceeded',
        awsRegion: REGION,
        sourceIPAddress: 'secretsmanager.amazonaws.com',
        userAgent: 'secretsmanager.amazonaws.com',
        requestParameters: null,
        responseElements: null,
        additionalEventData: { SecretId: DB_ARN },
        requestID: randomUUID(),
        eventID: randomUUID(),
        readOnly: false,
        eventType: 'AwsServiceEvent',
        managementEvent: true,
        recipientAccountId: ACCOUNT,
        eventCategory: 'Management',
      },
      { time: finished },
    );
    const stageMoved = cloudTrail(
      'UpdateSecretVersionStage',
      {
        secretId: DB_ARN,
        versionStage: 'AWSCURRENT',
        moveToVersionId: DB_VERSION_NEW,
        removeFromVersionId: DB_VERSION_CURRENT,
      },
      { arn: DB_ARN, name: DB_NAME },
      changed,
    );
    // Delivery is not ordered: the service event first, then the other two.
    const [first] = await invoke(rotationSucceeded);
    expect(handled(first).redeployed).toEqual(arns(...DB_CURRENT_READERS));
    const [second, third] = await invoke(stageMoved, secretLabelUpdated({ time: changed }));
    expect(handled(second).redeployed).toEqual([]);
    expect(handled(third).redeployed).toEqual([]);
    expect(updatedServices()).toEqual(arns(...DB_CURRENT_READERS));
  });

  it('a failed UpdateService fails the invocation; the Lambda retry redeploys only what is left', async () => {
    const worker = services['prod/worker'];
    // Denied once: a failure neither the SDK nor the function retries within the invocation.
    // (Throttling is retried inside the invocation, see test/guarantees/faults.test.ts.)
    fake.failNext({
      operation: 'UpdateService',
      code: 'AccessDeniedException',
      times: 1,
      match: (body) => body.service === worker,
    });
    const event = secretLabelUpdated();
    const [first] = await invoke(event);
    expect(first?.ok).toBe(false);
    const error = (first as { error: { name: string; message: string } }).error;
    expect(error.name).toBe('RedeployFailedError');
    expect(error.message).toContain(worker);
    expect(error.message).toContain('AccessDeniedException');
    const succeeded = fake
      .calls()
      .filter((c) => c.operation === 'UpdateService' && c.status === 200);
    expect(updatedServices(succeeded)).toEqual(
      arns(...DB_CURRENT_READERS.filter((s) => s !== 'prod/worker')),
    );

    const [retry] = await invoke(event);
    const report = handled(retry);
    expect(report.redeployed).toEqual([worker]);
    const updates = fake.callsTo('UpdateService', 'ecs');
    expect(updates.filter((c) => c.body.service === worker).map((c) => c.status)).toEqual([
      400, 200,
    ]);
    expect(updatedServices(updates.filter((c) => c.status === 200))).toEqual(
      arns(...DB_CURRENT_READERS),
    );
  });

  it('honours CLUSTERS and DRY_RUN from the environment', async () => {
    const [result] = await invokeWith({ CLUSTERS: 'prod', DRY_RUN: 'true' }, secretLabelUpdated());
    const report = handled(result);
    expect(report.dryRun).toBe(true);
    expect(report.redeployed).toEqual(arns('prod/web', 'prod/worker', 'prod/api'));
    expect(entryServices(report.needsAction)).toEqual(arns('prod/bluegreen'));
    expect(report.clustersScanned).toBe(1);
    expect(updatedServices()).toEqual([]);
    expect(fake.callsTo('ListClusters')).toEqual([]);
    expect(fake.callsTo('ListServices').map((c) => c.body.cluster)).toEqual(['prod']);
  });

  it('malformed events make no AWS call at all', async () => {
    const base = secretLabelUpdated();
    const results = await invoke(
      null,
      'Secret Label Updated',
      [],
      {},
      { ...base, time: undefined },
      { ...base, time: 'yesterday' },
      { ...base, account: 'me' },
      { ...base, detail: 'AWSCURRENT' },
      { ...base, resources: 'not-a-list' },
      { ...base, detail: { name: 'prod/db:bad', labelUpdated: 'AWSCURRENT' }, resources: [] },
      { ...base, source: 'aws.s3', 'detail-type': 'Object Created' },
    );
    expect(results).toHaveLength(11);
    for (const result of results) ignored(result);
    expect(fake.calls()).toEqual([]);
  });
});
