// A clock and timers that move only when a test says so. Test support only.
import type { Timer, Timers } from "./timers.ts";

export class ManualClock implements Timers {
  private ms: number;
  private pending: { at: number; callback: () => void; cancelled: boolean }[] = [];

  constructor(start = Date.parse("2025-01-01T00:00:00.000Z")) {
    this.ms = start;
  }

  readonly now = (): Date => new Date(this.ms);

  after(ms: number, callback: () => void): Timer {
    const entry = { at: this.ms + Math.max(0, ms), callback, cancelled: false };
    this.pending.push(entry);
    return { cancel: () => (entry.cancelled = true) };
  }

  /** Moves time forward by `ms`, running every timer that falls due, in time order. */
  advance(ms: number): void {
    const until = this.ms + ms;
    for (;;) {
      const due = this.pending
        .filter((entry) => !entry.cancelled && entry.at <= until)
        .sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.pending = this.pending.filter((entry) => entry !== due);
      this.ms = due.at;
      due.callback();
    }
    this.ms = until;
    this.pending = this.pending.filter((entry) => !entry.cancelled);
  }

  /** Timers scheduled and not yet run or cancelled. */
  get scheduled(): number {
    return this.pending.filter((entry) => !entry.cancelled).length;
  }
}
