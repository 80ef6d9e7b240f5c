// Spreads work for many streams over event-loop turns so that a push to 10,000 proxies or a
// connect storm never blocks ACK processing: each turn admits a bounded number of new streams and
// pushes to a bounded number of existing ones. A stream queued twice is pushed once (per-proxy
// coalescing), always with the newest snapshot.

export interface SchedulerOptions {
  /** Streams pushed per event-loop turn. */
  readonly pushesPerTurn: number;
  /** New streams whose first request is processed per turn (admission under connect storms). */
  readonly admissionsPerTurn: number;
}

export interface Pushable {
  push(): void;
}

export class PushScheduler<S extends Pushable> {
  private readonly pending = new Set<S>();
  private readonly admissions: (() => void)[] = [];
  private scheduled = false;
  private drainedListeners: (() => void)[] = [];
  private readonly options: SchedulerOptions;

  constructor(options: SchedulerOptions) {
    this.options = options;
  }

  /** Queues a push to each stream; resolves when all queued pushes have run. */
  pushAll(streams: Iterable<S>): Promise<void> {
    for (const stream of streams) this.pending.add(stream);
    const drained = new Promise<void>((resolve) => this.drainedListeners.push(resolve));
    this.schedule();
    return drained;
  }

  /** Runs `admit` in a later turn, in arrival order, at most `admissionsPerTurn` per turn. */
  admit(admit: () => void): void {
    this.admissions.push(admit);
    this.schedule();
  }

  forget(stream: S): void {
    this.pending.delete(stream);
  }

  get queued(): { pushes: number; admissions: number } {
    return { pushes: this.pending.size, admissions: this.admissions.length };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    for (const admit of this.admissions.splice(0, this.options.admissionsPerTurn)) admit();
    let budget = this.options.pushesPerTurn;
    for (const stream of this.pending) {
      if (budget-- <= 0) break;
      this.pending.delete(stream);
      stream.push();
    }
    if (this.pending.size === 0) {
      const listeners = this.drainedListeners;
      this.drainedListeners = [];
      for (const resolve of listeners) resolve();
    }
    if (this.pending.size > 0 || this.admissions.length > 0) this.schedule();
  }
}
