// A manual clock for tests: time stands still until `advance`, which runs every timer that falls due
// in time order and lets the promise chains each one starts settle before running the next.
import type { Clock, Timer } from "./clock.ts";

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private scheduled: Scheduled[] = [];

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  after(ms: number, callback: () => void): Timer {
    const entry: Scheduled = {
      at: this.current + Math.max(0, ms),
      seq: this.seq++,
      callback,
      cancelled: false,
    };
    this.scheduled.push(entry);
    return { cancel: () => (entry.cancelled = true) };
  }

  /** Timers not yet run nor cancelled. */
  get pendingTimers(): number {
    return this.scheduled.filter((s) => !s.cancelled).length;
  }

  /** Moves time forward by `ms`, running due timers (including ones they schedule) at their own time. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await settle();
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      this.current = next.at;
      next.cancelled = true;
      next.callback();
      await settle();
    }
    this.current = target;
    await settle();
  }

  private nextDue(limit: number): Scheduled | undefined {
    this.scheduled = this.scheduled.filter((s) => !s.cancelled);
    let best: Scheduled | undefined;
    for (const s of this.scheduled) {
      if (s.at <= limit && (!best || s.at < best.at || (s.at === best.at && s.seq < best.seq))) best = s;
    }
    return best;
  }
}

/** Lets every pending promise callback run: macrotasks come after the microtask queue is empty. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
