/**
 * Checks of construct props, shared by the constructs: each error names the prop and says what
 * was wrong, at synth time, instead of a deployment failing (or a function refusing to start).
 */
import type { Duration } from 'aws-cdk-lib';

/** Whole seconds of `duration`, or an error naming the prop. */
export function wholeSeconds(name: string, duration: Duration): number {
  const millis = duration.toMilliseconds();
  if (!Number.isInteger(millis / 1000)) {
    throw new Error(`${name} must be a whole number of seconds, got ${duration.toHumanString()}`);
  }
  return millis / 1000;
}

/** Whole seconds of `duration`, from `min` to `max` (inclusive), or an error naming the prop. */
export function checkRange(
  name: string,
  duration: Duration,
  min: Duration,
  max?: Duration,
): number {
  const seconds = wholeSeconds(name, duration);
  if (seconds < min.toSeconds() || (max !== undefined && seconds > max.toSeconds())) {
    const range =
      max === undefined
        ? `at least ${min.toHumanString()}`
        : `from ${min.toSeconds() === 0 ? '0' : min.toHumanString()} to ${max.toHumanString()}`;
    throw new Error(`${name} must be ${range}, got ${duration.toHumanString()}`);
  }
  return seconds;
}

/** A whole number from `min` to `max` (inclusive), or an error naming the prop. */
export function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
  }
}
