// Spreads work for many streams over event-loop turns so that a push to 10,000 proxies or a
// connect storm never blocks ACK processing: each turn admits a bounded number of new streams and
// pushes to a bounded number of queued ones. A stream queued twice is pushed once (per-proxy
// coalescing), always with the newest snapshot. What a proxy's own request asked for (a new
// stream's first resources, new names, a change that waited for an ACK) goes before the rest of a
// publish, so a new stream is answered within a turn or two even while a large push drains.

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
  /** Queued by a proxy's request. */
  private readonly requested = new Set<S>();
  /** Queued by a publish. */
  private readonly published = new Set<S>();
  private readonly admissions: (() => void)[] = [];
  private scheduled = false;
  private drainedListeners: (() => void)[] = [];
  private readonly options: SchedulerOptions;
  private readonly failed: (stream: S, error: unknown) => void;

  /** `failed` is told of a push that threw; the other streams' pushes go on. */
  constructor(options: SchedulerOptions, failed: (stream: S, error: unknown) => void) {
    this.options = options;
    this.failed = failed;
  }

  /** Queues a push to `stream`; `urgent` for what the proxy's own request asked for. */
  queue(stream: S, urgent: boolean): void {
    if (urgent) this.requested.add(stream);
    else if (!this.requested.has(stream)) this.published.add(stream);
    this.schedule();
  }

  /** Resolves when every queued push has run. */
  drained(): Promise<void> {
    if (this.requested.size === 0 && this.published.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.drainedListeners.push(resolve));
  }

  /** Runs `admit` in a later turn, in arrival order, at most `admissionsPerTurn` per turn. */
  admit(admit: () => void): void {
    this.admissions.push(admit);
    this.schedule();
  }

  forget(stream: S): void {
    this.requested.delete(stream);
    this.published.delete(stream);
  }

  get queued(): { pushes: number; admissions: number } {
    return { pushes: this.requested.size + this.published.size, admissions: this.admissions.length };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    for (const admit of this.admissions.splice(0, this.options.admissionsPerTurn)) admit();
    const budget = this.options.pushesPerTurn;
    // Requests first, but a publish keeps a quarter of each turn so it always progresses.
    const forPublished = this.published.size > 0 ? Math.max(1, Math.floor(budget / 4)) : 0;
    const used = this.run(this.requested, budget - forPublished);
    this.run(this.published, budget - used);
    if (this.requested.size === 0 && this.published.size === 0) {
      const listeners = this.drainedListeners;
      this.drainedListeners = [];
      for (const resolve of listeners) resolve();
    }
    if (this.requested.size > 0 || this.published.size > 0 || this.admissions.length > 0) this.schedule();
  }

  /** Pushes up to `budget` streams of `queue`; returns how many. */
  private run(queue: Set<S>, budget: number): number {
    let pushed = 0;
    for (const stream of queue) {
      if (pushed >= budget) break;
      pushed++;
      queue.delete(stream);
      this.published.delete(stream);
      try {
        stream.push();
      } catch (error) {
        this.failed(stream, error);
      }
    }
    return pushed;
  }
}
