import { DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { TaskDefinitionReader } from '../../../functions/redeploy/task-definitions.js';
import { awsError } from '../../helpers/aws-errors.js';
import { HOME, taskDefinition, taskDefinitionArn } from '../../helpers/ecs.js';
import { loadFixture } from '../../helpers/fixtures.js';

const ecsMock = mockClient(ECSClient);
const ecs = new ECSClient({ region: 'us-east-1' });

beforeEach(() => {
  ecsMock.reset();
});

const A = taskDefinitionArn('a', 1);
const B = taskDefinitionArn('b', 1);
const C = taskDefinitionArn('c', 1);
const SM = 'arn:aws:secretsmanager:us-east-1:123456789012:secret';

function serve(): void {
  ecsMock.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => ({
    taskDefinition: taskDefinition(input.taskDefinition, { DB: `${SM}:db-AbCdEf` }),
  }));
}

const calls = (arn: string): number =>
  ecsMock.commandCalls(DescribeTaskDefinitionCommand, { taskDefinition: arn }).length;

describe('TaskDefinitionReader', () => {
  it('returns the references of a revision and describes it only once', async () => {
    serve();
    const reader = new TaskDefinitionReader();

    const first = await reader.references(ecs, A, HOME);
    const second = await reader.references(ecs, A, HOME);

    expect(first).toEqual([
      expect.objectContaining({ kind: 'secret', location: 'container app: secrets[DB]' }),
    ]);
    expect(second).toEqual(first);
    expect(calls(A)).toBe(1);
    expect(reader.calls).toBe(1);
  });

  it('shares one call between concurrent requests for the same revision', async () => {
    serve();
    const reader = new TaskDefinitionReader();

    await Promise.all([1, 2, 3, 4].map(() => reader.references(ecs, A, HOME)));

    expect(calls(A)).toBe(1);
  });

  it('does not cache a failed call: the next request tries again', async () => {
    ecsMock
      .on(DescribeTaskDefinitionCommand)
      .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded'))
      .resolves({ taskDefinition: taskDefinition(A, { DB: `${SM}:db-AbCdEf` }) });
    const reader = new TaskDefinitionReader();

    await expect(reader.references(ecs, A, HOME)).rejects.toThrow('Rate exceeded');
    await expect(reader.references(ecs, A, HOME)).resolves.toHaveLength(1);
    expect(calls(A)).toBe(2);
  });

  it('fails when DescribeTaskDefinition returns no task definition', async () => {
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({});
    const reader = new TaskDefinitionReader();

    await expect(reader.references(ecs, A, HOME)).rejects.toThrow(A);
  });

  it('drops the least recently used revision beyond maxEntries', async () => {
    serve();
    const reader = new TaskDefinitionReader({ maxEntries: 2 });

    await reader.references(ecs, A, HOME);
    await reader.references(ecs, B, HOME);
    await reader.references(ecs, A, HOME); // A is now more recent than B
    await reader.references(ecs, C, HOME); // evicts B
    await reader.references(ecs, A, HOME);
    await reader.references(ecs, B, HOME);

    expect(reader.size).toBe(2);
    expect(calls(A)).toBe(1);
    expect(calls(B)).toBe(2);
  });

  it('resolves parameter names in the scope of the task definition ARN', async () => {
    const td = loadFixture('ecs/task-definition-console-json-ssm-names.public-repo-2024.json');
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: td });
    const reader = new TaskDefinitionReader();

    const refs = await reader.references(ecs, 'ass-task-def-staging:52', HOME);

    expect(refs[0]).toMatchObject({
      kind: 'parameter',
      parameter: { region: 'ap-northeast-1', account: '730335441282', name: 'ass-staging/db/host' },
    });
  });

  it('forgets everything on clear()', async () => {
    serve();
    const reader = new TaskDefinitionReader();
    await reader.references(ecs, A, HOME);

    reader.clear();
    await reader.references(ecs, A, HOME);

    expect(calls(A)).toBe(2);
    expect(reader.calls).toBe(1);
  });
});
