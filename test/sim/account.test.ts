import {
  DynamoDBClient,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import { SimClock } from './clock.js';
import { SimulatedAws } from './index.js';

describe('the sim clock', () => {
  it('runs timers in time order, each seeing its own due time, and never goes back', () => {
    const clock = new SimClock(new Date('2026-01-01T00:00:00Z'), 'manual');
    const seen: string[] = [];
    clock.after(300, () => seen.push(`c@${clock.now().toISOString()}`));
    clock.after(100, () => {
      seen.push(`a@${new Date(clock.nowMs()).toISOString()}`);
      clock.after(50, () => seen.push(`b@${new Date(clock.nowMs()).toISOString()}`));
    });
    const cancelled = clock.after(200, () => seen.push('cancelled'));
    cancelled.cancel();
    clock.advance(1000);
    expect(seen).toEqual([
      'a@2026-01-01T00:00:00.100Z',
      'b@2026-01-01T00:00:00.150Z',
      'c@2026-01-01T00:00:00.300Z',
    ]);
    expect(clock.now()).toEqual(new Date('2026-01-01T00:00:01Z'));
    expect(() => {
      clock.advance(-1);
    }).toThrow(RangeError);
    expect(() => {
      clock.advanceTo(new Date('2025-01-01T00:00:00Z'));
    }).toThrow(RangeError);
    clock.advanceTo(new Date('2026-01-02T00:00:00Z'));
    expect(clock.now()).toEqual(new Date('2026-01-02T00:00:00Z'));
  });

  it('in real mode flows from the start date and still jumps with advance', () => {
    const clock = new SimClock(new Date('2026-01-01T00:00:00Z'), 'real');
    let ran = false;
    clock.after(60_000, () => {
      ran = true;
    });
    expect(clock.nowMs()).toBeGreaterThanOrEqual(Date.parse('2026-01-01T00:00:00Z'));
    clock.advance(60_000);
    expect(ran).toBe(true);
  });
});

describe('the simulated account', () => {
  it('spends latency through the sleep it is given (here: sim time)', async () => {
    const clock: { advance?: (ms: number) => void } = {};
    const created = new SimulatedAws({
      latencyMs: 40,
      sleep: (ms) => {
        clock.advance?.(ms);
        return Promise.resolve();
      },
    });
    clock.advance = (ms) => {
      created.advance(ms);
    };
    created.addService({
      cluster: 'c',
      name: 's',
      taskDefinition: created.addTaskDefinition({
        family: 'f',
        containerDefinitions: [{ name: 'app' }],
      }),
    });
    const ecs = created.client(ECSClient);
    await ecs.send(new DescribeServicesCommand({ cluster: 'c', services: ['s'] }));
    await ecs.send(new DescribeServicesCommand({ cluster: 'c', services: ['s'] }));
    expect(created.now()).toEqual(new Date('2026-01-01T00:00:00.080Z'));
    expect(created.calls().map((c) => c.at)).toEqual([
      new Date('2026-01-01T00:00:00.000Z'),
      new Date('2026-01-01T00:00:00.040Z'),
    ]);
  });

  it('names and logs operations it does not implement, whatever the protocol', async () => {
    const sim = new SimulatedAws();
    await expect(
      sim.client(LambdaClient).send(new GetFunctionConfigurationCommand({ FunctionName: 'f' })),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(
      sim.client(DynamoDBClient).send(new TransactWriteItemsCommand({ TransactItems: [] })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(sim.calls().map((c) => [c.service, c.operation, c.outcome])).toEqual([
      ['lambda', 'GetFunctionConfiguration', 'AccessDeniedException'],
      ['dynamodb', 'TransactWriteItems', 'AccessDeniedException'],
    ]);
  });

  it('keeps a list of the requests it refused because it does not model them', async () => {
    const sim = new SimulatedAws();
    sim.createTable({ name: 't', partitionKey: 'pk' });
    await expect(
      sim.client(DynamoDBClient).send(
        new UpdateItemCommand({
          TableName: 't',
          Key: { pk: { S: 'a' } },
          AttributeUpdates: { a: { Action: 'PUT', Value: { S: 'x' } } },
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/^\[sim\]/) as unknown,
    });
    expect(sim.unsupported.map((u) => u.call.operation)).toEqual(['UpdateItem']);
    expect(sim.internalErrors).toEqual([]);
  });

  it('uses the account and Region it is given in ARNs, events and clients', async () => {
    const sim = new SimulatedAws({ account: '210987654321', region: 'eu-west-1' });
    const td = sim.addTaskDefinition({ family: 'f', containerDefinitions: [{ name: 'app' }] });
    expect(td).toBe('arn:aws:ecs:eu-west-1:210987654321:task-definition/f:1');
    sim.addSecret({ name: 's', suffix: 'Abc123' });
    sim.putSecretValue('s');
    expect(sim.events[0]).toMatchObject({
      account: '210987654321',
      region: 'eu-west-1',
      resources: ['arn:aws:secretsmanager:eu-west-1:210987654321:secret:s-Abc123'],
    });
    const ecs = sim.client(ECSClient);
    expect(await ecs.config.region()).toBe('eu-west-1');
  });
});
