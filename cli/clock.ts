/** Time, injectable: tests pass a clock whose `sleep` advances `now` at once. */
import { setTimeout as delay } from 'node:timers/promises';

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => delay(ms),
};
