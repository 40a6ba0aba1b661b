import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type Deployment,
  DescribeServicesCommand,
  ECSClient,
  ListClustersCommand,
  type Service,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  GetSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RolloutRecord, ServiceRecord } from '../../functions/rollout/model.js';
import { RolloutStore } from '../../functions/rollout/store.js';
import { CliError, UnknownTargetError } from '../../cli/errors.js';
import {
  type RotateOptions,
  RotationFailedError,
  assessService,
  rotate,
} from '../../cli/rotate.js';
import { awsError } from '../helpers/aws-errors.js';
import { REGION, serveEcs } from '../helpers/ecs.js';
import { FakeRolloutTable, TABLE, change, rollout, serviceRecord } from './fake-rollouts.js';
import { FakeClock, MemoryOutput } from './helpers.js';
import {
  DB_ARN,
  DB_NAME,
  DB_PARTIAL_ARN,
  type SecretState,
  VERSION_CURRENT,
  VERSION_NEW,
  serveSecret,
  world,
} from './world.js';

const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);
const cfnMock = mockClient(CloudFormationClient);
const clients = {
  ecs: new ECSClient({ region: REGION }),
  secretsManager: new SecretsManagerClient({ region: REGION }),
  cloudFormation: new CloudFormationClient({ region: REGION }),
};
const T0 = new Date('2026-03-01T12:00:00Z');
const SECOND = 1000;
const OPTIONS: RotateOptions = {
  secret: DB_NAME,
  clusters: [],
  intervalMs: 5 * SECOND,
  rotationTimeoutMs: 60 * SECOND,
  deployTimeoutMs: 120 * SECOND,
  region: REGION,
};

const PENDING = { [VERSION_CURRENT]: ['AWSCURRENT'], [VERSION_NEW]: ['AWSPENDING'] };
const MOVED = { [VERSION_CURRENT]: ['AWSPREVIOUS'], [VERSION_NEW]: ['AWSCURRENT'] };

let secret: SecretState;
let clock: FakeClock;
let accounts: ReturnType<typeof world>;

beforeEach(() => {
  ecsMock.reset();
  smMock.reset();
  cfnMock.reset();
  accounts = world();
  serveEcs(ecsMock, accounts);
  secret = { versions: { [VERSION_CURRENT]: ['AWSCURRENT'] } };
  serveSecret(smMock, secret);
  smMock.on(RotateSecretCommand).callsFake(() => {
    secret.versions = PENDING;
    return { ARN: DB_ARN, Name: DB_NAME, VersionId: VERSION_NEW };
  });
  cfnMock.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'SecretRedeployer',
        CreationTime: T0,
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [{ OutputKey: 'FunctionName', OutputValue: 'SecretRedeployer-Function12AB' }],
      },
    ],
  });
  clock = new FakeClock(T0);
});

afterEach(() => {
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
  // The CLI checks the redeployer's work; it never redeploys itself.
  expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
});

function find(name: string): Service {
  const found = Object.values(accounts.clusters)
    .flat()
    .find((s) => s.serviceName === name);
  if (!found) throw new Error(`no service ${name}`);
  return found;
}

/** What the redeployer (or ECS) does to a service: its deployments from now on. */
function deploy(name: string, ...deployments: Deployment[]): void {
  find(name).deployments = deployments;
}

const primary = (
  createdAt: Date,
  rolloutState: Deployment['rolloutState'],
  extra: Deployment = {},
) => ({
  id: `ecs-svc/${createdAt.getTime()}`,
  status: 'PRIMARY',
  createdAt,
  rolloutState,
  desiredCount: 2,
  runningCount: rolloutState === 'COMPLETED' ? 2 : 1,
  ...extra,
});

/**
 * A scripted run: the rotation finishes at the first sleep; at each later sleep `afterMove[n]`
 * runs (the redeployer and ECS at work).
 */
function script(afterMove: ((now: Date) => void)[] = []): void {
  let sleeps = 0;
  clock.onSleep = (now) => {
    sleeps += 1;
    if (sleeps === 1) secret.versions = MOVED;
    else afterMove[sleeps - 2]?.(now);
  };
}

async function runRotate(
  options: Partial<RotateOptions> = {},
): Promise<{ code: number; output: MemoryOutput }> {
  const output = new MemoryOutput();
  const code = await rotate({ ...OPTIONS, ...options }, { clients, output, clock });
  return { code, output };
}

/** Every service the redeployer would redeploy: api, worker and reader. */
const REDEPLOYED = ['api', 'worker', 'reader'];

describe('rotate', () => {
  it('rotates, waits for AWSCURRENT and for every affected service to be stable, and exits 0', async () => {
    script([
      (now) => {
        for (const name of REDEPLOYED) deploy(name, primary(now, 'IN_PROGRESS'));
      },
      (now) => {
        for (const name of REDEPLOYED) {
          const started = find(name).deployments?.[0]?.createdAt ?? now;
          deploy(name, primary(started, 'COMPLETED'));
        }
      },
    ]);

    const { code, output } = await runRotate();

    expect(code).toBe(0);
    expect(smMock).toHaveReceivedCommandWith(RotateSecretCommand, { SecretId: DB_ARN });
    expect(output.stdout).toContain(`Rotation of ${DB_NAME} started: new version ${VERSION_NEW}.`);
    expect(output.stdout).toContain('AWSCURRENT moved to the new version (after 5s).');
    expect(output.stdout).toContain(
      '5 services of 9 scanned reference the secret; waiting for 3 services to be redeployed and stable',
    );
    expect(output.stdout).toMatch(
      /^api\s+prod\s+succeeded\s+deployment \S+ COMPLETED \(2\/2 tasks running\)$/m,
    );
    expect(output.stdout).toMatch(/^worker\s+prod\s+succeeded\s/m);
    expect(output.stdout).toMatch(/^reader\s+staging\s+succeeded\s/m);
    expect(output.stdout).toMatch(
      /^legacy\s+prod\s+needs action\s+deployment controller CODE_DEPLOY/m,
    );
    expect(output.stdout).toMatch(/^old\s+prod\s+skipped\s+service is DRAINING$/m);
    expect(output.stdout).toContain(
      `Rotation of ${DB_NAME}: AWSCURRENT moved; 3 redeployed and stable, 0 failed, 1 needing action, 1 skipped.`,
    );
    expect(output.progressLines[0]).toBe(
      'Waiting for AWSCURRENT to move to the new version (0s; version labelled AWSPENDING)',
    );
    expect(output.progressLines).toContain(
      'Waiting for 3 services (0s): 0 stable, 0 rolling out, 3 not redeployed yet',
    );
    expect(output.progressLines).toContain(
      'Waiting for 3 services (5s): 0 stable, 3 rolling out, 0 not redeployed yet',
    );
  });

  it('counts a redeploy that happened before it saw AWSCURRENT move', async () => {
    let sleeps = 0;
    clock.onSleep = (now) => {
      sleeps += 1;
      if (sleeps !== 1) return;
      // The redeployer was faster than the poll: deployed 2 s before the move was observed.
      secret.versions = MOVED;
      const early = new Date(now.getTime() - 2 * SECOND);
      for (const name of REDEPLOYED) deploy(name, primary(early, 'COMPLETED'));
    };

    const { code, output } = await runRotate();

    expect(code).toBe(0);
    expect(output.stdout).toMatch(/^api\s+prod\s+succeeded\s/m);
    expect(clock.sleeps).toHaveLength(1);
  });

  it('reports a failed rollout per service and exits 1', async () => {
    script([
      (now) => {
        deploy('api', primary(now, 'COMPLETED'));
        deploy('reader', primary(now, 'COMPLETED'));
        deploy(
          'worker',
          primary(now, 'FAILED', {
            rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
          }),
        );
      },
    ]);

    const { code, output } = await runRotate();

    expect(code).toBe(1);
    expect(output.stdout).toMatch(
      /^worker\s+prod\s+failed\s+deployment \S+ FAILED: ECS deployment circuit breaker: tasks failed to start\.$/m,
    );
    expect(output.stdout).toMatch(/^api\s+prod\s+succeeded\s/m);
    expect(output.stdout).toContain('1 failed');
    expect(output.stdout).toContain('FAILED.');
  });

  it('treats a circuit-breaker rollback as a failure, though the rollback deployment completed', async () => {
    script([
      (now) => {
        for (const name of ['api', 'reader']) deploy(name, primary(now, 'COMPLETED'));
        deploy('worker', primary(now, 'COMPLETED'), {
          ...primary(now, 'FAILED', { rolloutStateReason: 'rolled back' }),
          status: 'ACTIVE',
        });
      },
    ]);

    const { code, output } = await runRotate();

    expect(code).toBe(1);
    expect(output.stdout).toMatch(/^worker\s+prod\s+failed\s+deployment \S+ FAILED: rolled back$/m);
  });

  it('says the redeployer may be missing or failing, and where its logs are, when nothing is redeployed', async () => {
    script();

    const { code, output } = await runRotate({ deployTimeoutMs: 60 * SECOND });

    expect(code).toBe(1);
    expect(output.stdout).toMatch(/^api\s+prod\s+failed\s+not redeployed within 1m00s$/m);
    expect(output.stderr).toContain(
      `3 services were not redeployed: the redeployer may not be deployed in ${REGION}, may run ` +
        'in dry-run mode, or may be failing. See its logs: log group ' +
        '/aws/lambda/SecretRedeployer-Function12AB. Events it could not handle wait in its ' +
        'dead-letter queue: see `ecs-redeployer redrive --list`.',
    );
    expect(cfnMock).toHaveReceivedCommandWith(DescribeStacksCommand, {
      StackName: 'SecretRedeployer',
    });
    // Polled every interval until the timeout, then stopped.
    expect(clock.now().getTime() - T0.getTime()).toBe(5 * SECOND + 60 * SECOND);
  });

  it('reports a rollout that has not finished within the timeout', async () => {
    script([
      (now) => {
        deploy('api', primary(now, 'IN_PROGRESS'));
      },
    ]);

    const { code, output } = await runRotate({ deployTimeoutMs: 30 * SECOND });

    expect(code).toBe(1);
    expect(output.stdout).toMatch(
      /^api\s+prod\s+failed\s+redeployed, but not stable within 30s: deployment \S+ IN_PROGRESS \(1\/2 tasks running\)$/m,
    );
  });

  it.each([
    ['loses AWSPENDING', {}, `version ${VERSION_NEW} lost AWSPENDING without becoming AWSCURRENT`],
    ['disappears', undefined, `version ${VERSION_NEW} disappeared without becoming AWSCURRENT`],
  ])('fails when the new version %s', async (_, labels, message) => {
    clock.onSleep = () => {
      secret.versions = {
        [VERSION_CURRENT]: ['AWSCURRENT'],
        ...(labels && { [VERSION_NEW]: [] }),
      };
    };

    const result = runRotate();

    await expect(result).rejects.toThrow(RotationFailedError);
    await expect(result).rejects.toThrow(message);
    await expect(result).rejects.toThrow(
      "See the rotation function's logs: log group /aws/lambda/prod-db-rotation.",
    );
  });

  it('fails when AWSCURRENT does not move within the rotation timeout', async () => {
    const result = runRotate({ rotationTimeoutMs: 20 * SECOND });

    await expect(result).rejects.toThrow(
      `Rotation of ${DB_NAME} failed: AWSCURRENT did not move to version ${VERSION_NEW} within 20s ` +
        '(the version is labelled AWSPENDING).',
    );
    expect(clock.sleeps).toEqual([5000, 5000, 5000, 5000]);
  });

  it('says there is no such secret, and starts nothing', async () => {
    const result = runRotate({ secret: 'nope' });

    await expect(result).rejects.toThrow(UnknownTargetError);
    await expect(result).rejects.toThrow(`No secret named nope in ${REGION}`);
    expect(smMock).not.toHaveReceivedCommand(RotateSecretCommand);
  });

  it('passes on why Secrets Manager would not start the rotation', async () => {
    smMock
      .on(RotateSecretCommand)
      .rejects(
        awsError(
          'InvalidRequestException',
          "A previous rotation isn't complete. That rotation will be reattempted.",
        ),
      );

    const result = runRotate();

    await expect(result).rejects.toThrow(CliError);
    await expect(result).rejects.toThrow(
      `Secrets Manager did not start a rotation of ${DB_NAME}: A previous rotation isn't complete.`,
    );
  });
});

describe('assessService', () => {
  const since = new Date('2026-03-01T12:00:00Z');
  const after = new Date('2026-03-01T12:00:03Z');
  const before = new Date('2026-03-01T11:00:00Z');
  const base: Service = { serviceArn: 'arn', status: 'ACTIVE' };

  it('is not redeployed while the PRIMARY deployment predates the change', () => {
    expect(assessService({ ...base, deployments: [primary(before, 'COMPLETED')] }, since)).toEqual({
      kind: 'not-redeployed',
    });
  });

  it('is stable once a deployment created after the change is PRIMARY and COMPLETED', () => {
    expect(
      assessService({ ...base, deployments: [primary(after, 'COMPLETED')] }, since),
    ).toMatchObject({
      kind: 'stable',
    });
  });

  it('without rolloutState, is stable with one deployment running its desired count', () => {
    const steady = primary(after, undefined, { runningCount: 2 });
    expect(assessService({ ...base, deployments: [steady] }, since)).toMatchObject({
      kind: 'stable',
    });
    const draining = { ...primary(before, undefined), status: 'ACTIVE' };
    expect(assessService({ ...base, deployments: [steady, draining] }, since)).toMatchObject({
      kind: 'rolling-out',
    });
  });

  it('is gone when the service was deleted or is draining', () => {
    expect(assessService(undefined, since)).toMatchObject({ kind: 'gone' });
    expect(assessService({ ...base, status: 'DRAINING' }, since)).toMatchObject({ kind: 'gone' });
  });
});

describe('rotate, following the rollout (the stack has a rollout table)', () => {
  const dynamoMock = mockClient(DynamoDBClient);
  const dynamodb = new DynamoDBClient({ region: REGION });
  const STACK_OUTPUTS = [
    { OutputKey: 'FunctionName', OutputValue: 'SecretRedeployer-Function12AB' },
    { OutputKey: 'RolloutTableName', OutputValue: TABLE },
    { OutputKey: 'EngineFunctionName', OutputValue: 'SecretRedeployer-Engine34CD' },
  ];
  /** The rollout the redeployer opens for this rotation: prod/db, AWSCURRENT, the new version. */
  const ours = rollout(
    change({ type: 'secret', arn: DB_ARN, name: DB_NAME, version: VERSION_NEW }),
    new Date(T0.getTime() + 6 * SECOND),
  );
  const deployingAt = new Date(T0.getTime() + 7 * SECOND).toISOString();
  const deploying = (name: string, cluster = 'prod'): ServiceRecord =>
    serviceRecord(cluster, name, 'DEPLOYING', { deploymentId: `ecs-svc/${name}`, deployingAt });
  const completed = (name: string, endedAt: Date, cluster = 'prod'): ServiceRecord =>
    serviceRecord(cluster, name, 'COMPLETED', {
      deploymentId: `ecs-svc/${name}`,
      deployingAt,
      endedAt: endedAt.toISOString(),
    });
  const draining = serviceRecord('prod', 'old', 'SKIPPED', {
    code: 'draining',
    reason: 'service is DRAINING',
  });

  let rollouts: FakeRolloutTable;

  beforeEach(() => {
    dynamoMock.reset();
    rollouts = new FakeRolloutTable();
    rollouts.serve(dynamoMock);
    // The rollout of the previous rotation: ended long ago, and not the one to follow.
    rollouts.put(
      rollout(
        change({ type: 'secret', arn: DB_ARN, name: DB_NAME, version: VERSION_CURRENT }),
        new Date('2026-02-01T12:00:00Z'),
        { status: 'DONE', endedAt: '2026-02-01T12:05:00.000Z' },
      ),
      [serviceRecord('prod', 'api', 'FAILED', { reason: 'an old failure' })],
    );
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'SecretRedeployer',
          CreationTime: T0,
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: STACK_OUTPUTS,
        },
      ],
    });
  });

  afterEach(() => {
    // The rollout is the truth: ECS is not consulted.
    expect(ecsMock).not.toHaveReceivedCommand(ListClustersCommand);
    expect(ecsMock).not.toHaveReceivedCommand(DescribeServicesCommand);
  });

  async function runFollowing(
    options: Partial<RotateOptions> = {},
  ): Promise<{ code: number; output: MemoryOutput }> {
    const output = new MemoryOutput();
    const code = await rotate(
      { ...OPTIONS, ...options },
      { clients, output, clock, rolloutStore: (name) => new RolloutStore(dynamodb, name) },
    );
    return { code, output };
  }

  /** The redeployer's rollout as it stands: the rollout record and its services. */
  const record = (fields: Partial<RolloutRecord>, services: ServiceRecord[]): void => {
    rollouts.put({ ...ours, ...fields }, services);
  };

  it('waits for the rollout to appear, then until it is done, and exits 0 when every service completed', async () => {
    script([
      () => undefined, // not recorded yet
      () => {
        record({}, [
          deploying('api'),
          deploying('worker'),
          deploying('reader', 'staging'),
          draining,
        ]);
      },
      (now) => {
        record({}, [
          completed('api', now),
          completed('worker', now),
          deploying('reader', 'staging'),
          draining,
        ]);
      },
      (now) => {
        record({ status: 'DONE', endedAt: now.toISOString() }, [
          completed('api', new Date(now.getTime() - 5 * SECOND)),
          completed('worker', new Date(now.getTime() - 5 * SECOND)),
          completed('reader', now, 'staging'),
          draining,
        ]);
      },
    ]);

    const { code, output } = await runFollowing();

    expect(code).toBe(0);
    expect(output.lines).toEqual([
      `Rotation of ${DB_NAME} started: new version ${VERSION_NEW}.`,
      'AWSCURRENT moved to the new version (after 5s).',
      `Following the redeployer's rollout of the change in table ${TABLE} (timeout 2m00s).`,
      `Rollout ${ours.rolloutId} opened by the redeployer (engine execution ${ours.rolloutId}).`,
      '  prod/old: SKIPPED, service is DRAINING',
      '  prod/api: COMPLETED',
      '  prod/worker: COMPLETED',
      '  staging/reader: COMPLETED',
      '',
      'SERVICE  CLUSTER  RESULT     DETAIL',
      'api      prod     succeeded  deployment ecs-svc/api COMPLETED in 13s',
      'old      prod     skipped    service is DRAINING',
      'worker   prod     succeeded  deployment ecs-svc/worker COMPLETED in 13s',
      'reader   staging  succeeded  deployment ecs-svc/reader COMPLETED in 18s',
      '',
      `Rotation of ${DB_NAME}: AWSCURRENT moved; rollout ${ours.rolloutId} DONE; 3 redeployed ` +
        'and stable, 0 failed, 0 needing action, 1 skipped.',
      `Details: ecs-redeployer status ${ours.rolloutId}`,
    ]);
    expect(output.progressLines.slice(1)).toEqual([
      `Waiting for the redeployer to open the rollout of version ${VERSION_NEW} (0s)`,
      `Waiting for the redeployer to open the rollout of version ${VERSION_NEW} (5s)`,
      `Rollout ${ours.rolloutId}: 3 DEPLOYING, 1 SKIPPED (10s)`,
      `Rollout ${ours.rolloutId}: 1 DEPLOYING, 2 COMPLETED, 1 SKIPPED (15s)`,
    ]);
    expect(output.warnings).toEqual([]);
  });

  it("exits 1 naming the failed service and ECS's reason", async () => {
    script([
      (now) => {
        record({ status: 'DONE', endedAt: now.toISOString() }, [
          completed('api', now),
          completed('reader', now, 'staging'),
          serviceRecord('prod', 'worker', 'FAILED', {
            deploymentId: 'ecs-svc/worker',
            deployingAt,
            endedAt: now.toISOString(),
            reason: 'ECS deployment circuit breaker: tasks failed to start.',
          }),
          serviceRecord('prod', 'legacy', 'NEEDS_ACTION', {
            reason:
              'deployment controller CODE_DEPLOY: start a CodeDeploy deployment to pick up the change',
          }),
        ]);
      },
    ]);

    const { code, output } = await runFollowing();

    expect(code).toBe(1);
    expect(output.stdout).toMatch(
      /^worker\s+prod\s+failed\s+deployment ecs-svc\/worker FAILED: ECS deployment circuit breaker: tasks failed to start\.$/m,
    );
    expect(output.stdout).toMatch(
      /^legacy\s+prod\s+needs action\s+deployment controller CODE_DEPLOY/m,
    );
    expect(output.stdout).toMatch(/^api\s+prod\s+succeeded\s/m);
    expect(output.stdout).toContain(
      '2 redeployed and stable, 1 failed, 1 needing action, 0 skipped. FAILED.',
    );
    expect(output.stdout).toContain(
      '  prod/worker: FAILED, ECS deployment circuit breaker: tasks failed to start.',
    );
  });

  it('exits 1 when the rollout is still open at the deploy timeout', async () => {
    script([
      () => {
        record({}, [deploying('api'), completed('worker', T0)]);
      },
    ]);

    const { code, output } = await runFollowing({ deployTimeoutMs: 30 * SECOND });

    expect(code).toBe(1);
    expect(output.stdout).toMatch(/^api\s+prod\s+failed\s+not finished within 30s: DEPLOYING$/m);
    expect(output.stdout).toMatch(/^worker\s+prod\s+succeeded\s/m);
    expect(output.stdout).toContain(`rollout ${ours.rolloutId} OPEN; 1 redeployed and stable`);
    expect(output.stderr).toContain(
      `Rollout ${ours.rolloutId} is still OPEN after 30s. The redeployer goes on with it; ` +
        `follow it with \`ecs-redeployer status ${ours.rolloutId}\`.`,
    );
    // Polled every interval until the timeout (from the move), then stopped.
    expect(clock.now().getTime() - T0.getTime()).toBe(5 * SECOND + 30 * SECOND);
  });

  it('exits 1 and says where to look when no rollout of the change appears', async () => {
    script();

    const { code, output } = await runFollowing({ deployTimeoutMs: 20 * SECOND });

    expect(code).toBe(1);
    expect(output.stderr).toContain(
      `The redeployer opened no rollout for version ${VERSION_NEW} within 20s: it may not be ` +
        `deployed in ${REGION}, may run in dry-run mode, or may be failing. See its logs: log ` +
        'group /aws/lambda/SecretRedeployer-Function12AB.',
    );
    expect(output.stdout).toContain(
      `Rotation of ${DB_NAME}: AWSCURRENT moved; no rollout of the change was recorded. FAILED.`,
    );
  });

  it('follows the table --table names, whatever the stack says', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'SecretRedeployer',
          CreationTime: T0,
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [],
        },
      ],
    });
    script([
      (now) => {
        record({ status: 'DONE', endedAt: now.toISOString() }, [completed('api', now)]);
      },
    ]);

    const { code, output } = await runFollowing({ table: TABLE });

    expect(code).toBe(0);
    expect(output.stdout).toMatch(/^api\s+prod\s+succeeded\s/m);
    expect(cfnMock).not.toHaveReceivedCommand(DescribeStacksCommand);
  });

  it('follows a rollout recorded under the partial ARN, and ignores other versions', async () => {
    script([
      (now) => {
        // Another change of prod/db (a custom label) and ours, recorded without the suffix.
        rollouts.put(
          rollout(
            change({
              type: 'secret',
              arn: DB_ARN,
              name: DB_NAME,
              label: 'blue',
              version: VERSION_NEW,
            }),
            now,
            { status: 'DONE', endedAt: now.toISOString() },
          ),
          [serviceRecord('prod', 'blue', 'FAILED', { reason: 'not ours' })],
        );
        record({ change: { ...ours.change, arn: DB_PARTIAL_ARN }, status: 'DONE' }, [
          completed('api', now),
        ]);
      },
    ]);

    const { code, output } = await runFollowing();

    expect(code).toBe(0);
    expect(output.stdout).toMatch(/^api\s+prod\s+succeeded\s/m);
    expect(output.stdout).not.toContain('not ours');
  });

  it('with --clusters, reports only those clusters and stops once their services ended', async () => {
    script([
      (now) => {
        record({}, [completed('api', now), deploying('reader', 'staging')]);
      },
    ]);

    const { code, output } = await runFollowing({ clusters: ['prod'] });

    expect(code).toBe(0);
    expect(output.stdout).toMatch(/^api\s+prod\s+succeeded\s/m);
    expect(output.stdout).not.toMatch(/^reader\s/m);
    expect(clock.sleeps).toHaveLength(2);
  });

  it('fails at once when the rollout table does not exist', async () => {
    script();

    const result = runFollowing({ table: 'Nope' });

    await expect(result).rejects.toThrow(`No rollout table named Nope in ${REGION}`);
  });
});

describe('rotate without a rollout table', () => {
  const dynamoMock = mockClient(DynamoDBClient);

  beforeEach(() => {
    dynamoMock.reset();
  });

  it('watches the services in ECS when the stack has no RolloutTableName output', async () => {
    script([
      (now) => {
        for (const name of REDEPLOYED) deploy(name, primary(now, 'COMPLETED'));
      },
    ]);
    const output = new MemoryOutput();

    const code = await rotate(OPTIONS, {
      clients,
      output,
      clock,
      rolloutStore: (name) => new RolloutStore(new DynamoDBClient({ region: REGION }), name),
    });

    expect(code).toBe(0);
    expect(output.stdout).toMatch(/^api\s+prod\s+succeeded\s+deployment \S+ COMPLETED/m);
    expect(output.stderr).not.toContain('rollout');
    expect(dynamoMock.calls()).toHaveLength(0);
  });

  it('says so, and watches ECS, when the stack is not found', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(awsError('ValidationError', 'Stack with id SecretRedeployer does not exist'));
    script([
      (now) => {
        for (const name of REDEPLOYED) deploy(name, primary(now, 'COMPLETED'));
      },
    ]);

    const { code, output } = await runRotate();

    expect(code).toBe(0);
    expect(output.stderr).toContain(
      `Note: no stack SecretRedeployer in ${REGION}, so no rollout table: watching the ECS ` +
        "services directly. Pass --table NAME (or --stack NAME) to follow the redeployer's " +
        'rollout instead.',
    );
    expect(output.stdout).toMatch(/^api\s+prod\s+succeeded\s/m);
  });
});
