/**
 * Opt-out and opt-in by service tag, through processEvent: `secret-redeployer:exclude` = `true`
 * excludes a service; with OPT_IN=true only services tagged `secret-redeployer:include` = `true`
 * are eligible. Tags come from DescribeServices (include: ['TAGS']), not from extra calls.
 */
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../functions/redeploy/config.js';
import {
  type ChangeReport,
  type Dependencies,
  type Report,
  processEvent,
} from '../../../functions/redeploy/process.js';
import { TaskDefinitionReader } from '../../../functions/redeploy/task-definitions.js';
import { SM, parameterChanged, secretChanged } from '../../helpers/change-events.js';
import {
  type EcsWorld,
  HOME,
  serveEcs,
  service,
  serviceArn,
  taskDefinition,
  taskDefinitionArn,
} from '../../helpers/ecs.js';

const ecsMock = mockClient(ECSClient);
const smMock = mockClient(SecretsManagerClient);

const T0 = Date.parse('2025-03-14T09:00:00Z');
const EXCLUDE = 'secret-redeployer:exclude';
const INCLUDE = 'secret-redeployer:include';

/** Every service reads the same secret; only their tags differ. */
const TAGS: Record<string, Record<string, string> | undefined> = {
  plain: undefined,
  other: { team: 'payments' },
  excluded: { [EXCLUDE]: 'true' },
  'excluded-upper': { [EXCLUDE]: 'TRUE' },
  'exclude-false': { [EXCLUDE]: 'false' },
  included: { [INCLUDE]: 'true' },
  'include-no': { [INCLUDE]: 'no' },
  both: { [INCLUDE]: 'true', [EXCLUDE]: 'true' },
};

function world(): EcsWorld {
  const td = taskDefinitionArn('app', 3);
  return {
    clusters: {
      prod: Object.entries(TAGS).map(([name, tags]) =>
        service({ cluster: 'prod', name, taskDefinition: td, ...(tags && { tags }) }),
      ),
    },
    taskDefinitions: [taskDefinition(td, { DB: `${SM}:db-AbCdEf`, FLAGS: '/app/flags' })],
  };
}

const ecs = new ECSClient({});
const secretsManager = new SecretsManagerClient({});
const deps = (env: Record<string, string> = {}): Dependencies => ({
  ecs,
  secretsManager,
  config: loadConfig(env),
  home: HOME,
  taskDefinitions: new TaskDefinitionReader(),
});

function handled(report: Report): ChangeReport {
  if (report.outcome !== 'handled') throw new Error(`ignored: ${report.reason}`);
  return report;
}

const names = (arns: readonly string[]): string[] => arns.map((arn) => arn.split('/').pop() ?? '');
const codes = (report: ChangeReport): Record<string, string | undefined> =>
  Object.fromEntries(
    report.skipped.map((s): [string, string | undefined] => [
      s.service.split('/').pop() ?? '',
      s.code,
    ]),
  );

const change = () => secretChanged({ id: 'evt-tags', name: 'db', suffix: 'AbCdEf', at: T0 });

beforeEach(() => {
  ecsMock.reset();
  smMock.reset();
});

afterEach(() => {
  expect(smMock).not.toHaveReceivedCommand(GetSecretValueCommand);
});

describe('opt-out and opt-in by tag', () => {
  it('redeploys every referencing service except those tagged secret-redeployer:exclude=true', async () => {
    serveEcs(ecsMock, world());

    const report = handled(await processEvent(change(), deps()));

    expect(names(report.redeployed)).toEqual([
      'exclude-false',
      'include-no',
      'included',
      'other',
      'plain',
    ]);
    expect(codes(report)).toEqual({
      both: 'excluded-by-tag',
      excluded: 'excluded-by-tag',
      'excluded-upper': 'excluded-by-tag',
    });
    for (const name of ['excluded', 'excluded-upper', 'both']) {
      expect(ecsMock).not.toHaveReceivedCommandWith(UpdateServiceCommand, {
        service: serviceArn('prod', name),
      });
    }
  });

  it('with OPT_IN=true, redeploys only services tagged secret-redeployer:include=true', async () => {
    serveEcs(ecsMock, world());

    const report = handled(await processEvent(change(), deps({ OPT_IN: 'true' })));

    expect(names(report.redeployed)).toEqual(['included']);
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
    expect(codes(report)).toEqual({
      plain: 'not-opted-in',
      other: 'not-opted-in',
      'exclude-false': 'not-opted-in',
      'include-no': 'not-opted-in',
      excluded: 'excluded-by-tag',
      'excluded-upper': 'excluded-by-tag',
      both: 'excluded-by-tag', // exclude wins
    });
  });

  it('applies to parameter changes as well', async () => {
    serveEcs(ecsMock, world());

    const report = handled(
      await processEvent(
        parameterChanged({ id: 'evt-param', name: '/app/flags', at: T0 }),
        deps({ OPT_IN: 'true' }),
      ),
    );

    expect(names(report.redeployed)).toEqual(['included']);
  });

  it('reads the tags with the service descriptions (include TAGS), without extra calls', async () => {
    serveEcs(ecsMock, world());

    await processEvent(change(), deps());

    const calls = ecsMock.commandCalls(DescribeServicesCommand);
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) expect(call.args[0].input.include).toEqual(['TAGS']);
  });

  it('reports excluded services in dry run too, and redeploys nothing', async () => {
    serveEcs(ecsMock, world());

    const report = handled(await processEvent(change(), deps({ DRY_RUN: 'true' })));

    expect(codes(report)).toMatchObject({ excluded: 'excluded-by-tag' });
    expect(report.redeployed).not.toContain(serviceArn('prod', 'excluded'));
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });
});
