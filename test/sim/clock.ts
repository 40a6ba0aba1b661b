/**
 * The simulated account's clock. Every timestamp the sim returns or stamps on an event comes
 * from it, and everything AWS does "later" (an ECS deployment finishing, an SQS message delay
 * running out) is a timer on it.
 *
 * - `manual` (tests): time stands still until `advance`/`advanceTo`, which run the timers that
 *   fall due in time order, each one seeing `now()` equal to its own due time. Nothing ever waits
 *   for real time.
 * - `real` (benchmarks): time flows with `performance.now()` from the start date; due timers run
 *   lazily whenever the sim is asked the time or receives a request. `advance` still jumps ahead.
 */
import { performance } from 'node:perf_hooks';

/** How the sim's time moves. */
export type ClockMode = 'manual' | 'real';

/** A scheduled callback; `cancel` stops it from running (no effect once it ran). */
export interface Timer {
  /** When it runs (epoch milliseconds). */
  readonly at: number;
  /** Stops it from running. */
  cancel(): void;
}

interface Entry {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
  cancelled: boolean;
}

/** A binary min-heap of timers ordered by (due time, insertion order). */
class TimerHeap {
  private readonly items: Entry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Entry | undefined {
    return this.items[0];
  }

  push(entry: Entry): void {
    const items = this.items;
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent];
      if (p === undefined || !before(entry, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = entry;
  }

  pop(): Entry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = last;
      let at = -1;
      const l = items[left];
      const r = items[right];
      if (l !== undefined && before(l, smallest)) {
        smallest = l;
        at = left;
      }
      if (r !== undefined && before(r, smallest)) {
        smallest = r;
        at = right;
      }
      if (at < 0) break;
      items[i] = smallest;
      i = at;
    }
    items[i] = last;
    return top;
  }
}

const before = (a: Entry, b: Entry): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** More timers than this in one `advance` means a timer keeps rescheduling itself at once. */
const MAX_TIMERS_PER_ADVANCE = 5_000_000;

/** The simulated account's clock. */
export class SimClock {
  private current: number;
  private readonly heap = new TimerHeap();
  private seq = 0;
  private running = false;
  /** Real mode: `performance.now()` at the start, and time added by `advance`. */
  private readonly origin = performance.now();
  private skew = 0;
  private readonly startAt: number;

  /**
   * @param start the time `now()` returns first
   * @param mode `manual` (tests) or `real` (benchmarks)
   */
  constructor(
    start: Date,
    readonly mode: ClockMode,
  ) {
    this.current = start.getTime();
    this.startAt = this.current;
  }

  /** The current time in epoch milliseconds (real mode: runs the timers that fell due). */
  nowMs(): number {
    if (this.mode === 'real') this.runDue(this.realNow());
    return this.current;
  }

  /** The current time. */
  now(): Date {
    return new Date(this.nowMs());
  }

  /** Runs `run` at `at` (epoch milliseconds; a time in the past means at the next advance). */
  schedule(at: number, run: () => void): Timer {
    const entry: Entry = {
      at: Math.max(at, this.current),
      seq: (this.seq += 1),
      run,
      cancelled: false,
    };
    this.heap.push(entry);
    return {
      at: entry.at,
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Runs `run` `ms` milliseconds from now. */
  after(ms: number, run: () => void): Timer {
    return this.schedule(this.current + ms, run);
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`advance: ${String(ms)} is not a finite, non-negative number of ms`);
    }
    if (this.mode === 'real') {
      this.skew += ms;
      this.runDue(this.realNow());
      return;
    }
    this.runDue(this.current + ms);
  }

  /** Moves time forward to `date` (which must not be in the past). */
  advanceTo(date: Date): void {
    const target = date.getTime();
    const now = this.nowMs();
    if (target < now) {
      throw new RangeError(
        `advanceTo: ${date.toISOString()} is before now (${new Date(now).toISOString()})`,
      );
    }
    this.advance(target - now);
  }

  /** Timers scheduled and not yet run or cancelled (cancelled ones may still be counted). */
  get pendingTimers(): number {
    return this.heap.size;
  }

  private realNow(): number {
    return this.startAt + (performance.now() - this.origin) + this.skew;
  }

  private runDue(target: number): void {
    if (this.running) {
      // A timer asked for the time: it sees its own due time.
      return;
    }
    this.running = true;
    try {
      let ran = 0;
      for (
        let next = this.heap.peek();
        next !== undefined && next.at <= target;
        next = this.heap.peek()
      ) {
        this.heap.pop();
        if (next.cancelled) continue;
        this.current = Math.max(this.current, next.at);
        ran += 1;
        if (ran > MAX_TIMERS_PER_ADVANCE) {
          throw new Error(
            'SimClock: too many timers in one advance (a timer loops at one instant?)',
          );
        }
        next.run();
      }
      this.current = Math.max(this.current, target);
    } finally {
      this.running = false;
    }
  }
}
