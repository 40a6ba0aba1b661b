import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../../functions/redeploy/limit.js';

/** A task the test finishes by hand, recording how many tasks were running at its start. */
interface Gate {
  readonly promise: Promise<void>;
  open(): void;
  fail(error: Error): void;
}

function gate(): Gate {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/** Lets every pending promise callback run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function tracker() {
  let running = 0;
  let peak = 0;
  const started: number[] = [];
  return {
    get running() {
      return running;
    },
    get peak() {
      return peak;
    },
    started,
    task:
      <T>(id: number, body: () => Promise<T>) =>
      async (): Promise<T> => {
        running += 1;
        peak = Math.max(peak, running);
        started.push(id);
        try {
          return await body();
        } finally {
          running -= 1;
        }
      },
  };
}

describe('createLimiter', () => {
  it('never runs more than N tasks at once and starts the rest in arrival order', async () => {
    const limiter = createLimiter(3);
    const t = tracker();
    const gates = Array.from({ length: 10 }, () => gate());
    const results = gates.map((g, i) => limiter.run(t.task(i, () => g.promise.then(() => i))));

    await settle();
    expect(t.running).toBe(3);
    expect(t.started).toEqual([0, 1, 2]);

    gates[1]?.open();
    await settle();
    expect(t.running).toBe(3);
    expect(t.started).toEqual([0, 1, 2, 3]);

    for (const g of gates) g.open();
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(t.peak).toBe(3);
    expect(t.started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('keeps the bound when tasks are added while others finish', async () => {
    const limiter = createLimiter(2);
    const t = tracker();
    const gates = Array.from({ length: 8 }, () => gate());
    const results: Promise<number>[] = [];
    const add = (i: number): void => {
      results.push(
        limiter.run(t.task(i, () => gates[i]?.promise.then(() => i) ?? Promise.resolve(i))),
      );
    };

    add(0);
    add(1);
    add(2);
    await settle();
    // Finish one and add a new task in the same tick, before the woken waiter has resumed.
    gates[0]?.open();
    add(3);
    add(4);
    await settle();
    expect(t.running).toBe(2);
    expect(t.started).toEqual([0, 1, 2]);

    gates[1]?.open();
    gates[2]?.open();
    add(5);
    await settle();
    expect(t.running).toBe(2);
    expect(t.started).toEqual([0, 1, 2, 3, 4]);

    for (const g of gates) g.open();
    add(6);
    add(7);
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(t.peak).toBe(2);
    expect(t.started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('gives every slot back: after many waits, N tasks can again run at once', async () => {
    const limiter = createLimiter(2);
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        limiter.run(() => new Promise((resolve) => setTimeout(resolve, i % 3))),
      ),
    );
    const t = tracker();
    const gates = [gate(), gate()];
    const results = gates.map((g, i) => limiter.run(t.task(i, () => g.promise)));

    await settle();
    expect(t.running).toBe(2);
    for (const g of gates) g.open();
    await Promise.all(results);
  });

  it('passes a task error to its caller and releases the slot for the next task', async () => {
    const limiter = createLimiter(1);
    const first = gate();
    const failing = limiter.run(() => first.promise);
    const next = limiter.run(() => Promise.resolve('next ran'));

    first.fail(new Error('UpdateService failed'));

    await expect(failing).rejects.toThrow('UpdateService failed');
    await expect(next).resolves.toBe('next ran');
  });

  it('releases the slot when a task throws before returning a promise', async () => {
    const limiter = createLimiter(1);
    const throwing = limiter.run((): Promise<never> => {
      throw new Error('synchronous failure');
    });
    await expect(throwing).rejects.toThrow('synchronous failure');
    await expect(limiter.run(() => Promise.resolve(42))).resolves.toBe(42);
  });

  it('runs tasks at once while below the bound', async () => {
    const limiter = createLimiter(5);
    const t = tracker();
    const gates = Array.from({ length: 5 }, () => gate());
    const results = gates.map((g, i) => limiter.run(t.task(i, () => g.promise)));
    await settle();
    expect(t.running).toBe(5);
    for (const g of gates) g.open();
    await Promise.all(results);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects a concurrency of %s', (concurrency) => {
    expect(() => createLimiter(concurrency)).toThrow(RangeError);
  });
});
