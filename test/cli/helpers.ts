/** Test doubles for the CLI: captured output and a clock whose sleeps take no time. */
import type { Clock } from '../../cli/clock.js';
import type { Output } from '../../cli/output.js';

/** Captures what a command prints, by stream. */
export class MemoryOutput implements Output {
  readonly lines: string[] = [];
  readonly warnings: string[] = [];
  readonly progressLines: string[] = [];

  line(text = ''): void {
    this.lines.push(text);
  }

  warn(text: string): void {
    this.warnings.push(text);
  }

  progress(text: string): void {
    this.progressLines.push(text);
  }

  endProgress(): void {
    // Nothing to end: progress lines are kept as a list.
  }

  get stdout(): string {
    return this.lines.join('\n');
  }

  get stderr(): string {
    return this.warnings.join('\n');
  }

  /** Everything printed, on any stream. */
  get all(): string {
    return [...this.lines, ...this.warnings, ...this.progressLines].join('\n');
  }
}

/** A clock that starts at `start`; `sleep` advances it at once, then runs `onSleep`. */
export class FakeClock implements Clock {
  private time: number;
  readonly sleeps: number[] = [];
  onSleep: (now: Date) => void = () => undefined;

  constructor(start: Date) {
    this.time = start.getTime();
  }

  now(): Date {
    return new Date(this.time);
  }

  advance(ms: number): void {
    this.time += ms;
  }

  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
    this.onSleep(this.now());
    return Promise.resolve();
  }
}
