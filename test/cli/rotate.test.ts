import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  type Deployment,
  ECSClient,
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
import { CliError, UnknownTargetError } from '../../cli/errors.js';
import {
  type RotateOptions,
  RotationFailedError,
  assessService,
  rotate,
} from '../../cli/rotate.js';
import { awsError } from '../helpers/aws-errors.js';
import { REGION, serveEcs } from '../helpers/ecs.js';
import { FakeClock, MemoryOutput } from './helpers.js';
import {
  DB_ARN,
  DB_NAME,
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
