// A keyed work queue (client-go util/workqueue): a key is queued at most once however often it is
// added, a key being processed is never handed to a second worker (added meanwhile, it is queued
// again when the first calls `done`), delayed adds keep the earliest due time, and retries go
// through a rate limiter. Level-based: the key says what to look at, never what changed.
import type { Clock, Timer } from "../clock/index.ts";
import { defaultRateLimiter, type RateLimiter } from "./rate-limiter.ts";

export interface WorkQueueOptions<K> {
  readonly clock: Clock;
  /** Delays of `addRateLimited`. Default: defaultRateLimiter(clock). */
  readonly rateLimiter?: RateLimiter<K>;
  /** Told the number of keys waiting for a worker (not delayed, not in process) whenever it changes. */
  readonly onDepthChange?: (depth: number) => void;
}

export class WorkQueue<K> {
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter<K>;
  private readonly onDepthChange: (depth: number) => void;
  /** Waiting keys in order; `head` is the next one (the array is compacted as it is consumed). */
  private order: K[] = [];
  private head = 0;
  /** Keys that need processing: queued, or added again while in process. */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly delayed = new Map<K, { at: number; timer: Timer }>();
  private readonly getters: ((key: K | undefined) => void)[] = [];
  private drainedWaiters: (() => void)[] = [];
  private stopping = false;

  constructor(options: WorkQueueOptions<K>) {
    this.clock = options.clock;
    this.rateLimiter = options.rateLimiter ?? defaultRateLimiter<K>(options.clock);
    this.onDepthChange = options.onDepthChange ?? (() => {});
  }

  /** Keys waiting for a worker. */
  get depth(): number {
    return this.order.length - this.head;
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  /** Queues `key` unless it is already waiting; ignored once shut down. */
  add(key: K): void {
    if (this.stopping || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  /** Adds `key` after `ms`; when it is already waiting for a later time, the earlier time wins. */
  addAfter(key: K, ms: number): void {
    if (this.stopping) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.clock.after(ms, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { at, timer });
  }

  /** Adds `key` after the rate limiter's delay: per-key backoff and the overall rate. */
  addRateLimited(key: K): void {
    if (this.stopping) return;
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Resets the backoff of `key` (it succeeded, or will not be retried). */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  /** Rate-limited adds of `key` since it was last forgotten. */
  retries(key: K): number {
    return this.rateLimiter.retries(key);
  }

  /**
   * The next key, now in process until `done(key)`; waits while none is queued. `undefined` once
   * the queue is shut down and empty: the worker should exit.
   */
  get(): Promise<K | undefined> {
    if (this.depth > 0) return Promise.resolve(this.take());
    if (this.stopping) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Ends processing of `key`; if it was added meanwhile it is queued again. */
  done(key: K): void {
    if (!this.processing.delete(key)) return;
    if (this.dirty.has(key)) this.enqueue(key);
    else this.checkDrained();
  }

  /**
   * Stops accepting keys and drops delayed ones. Keys already queued are still handed out, so
   * workers drain the queue; resolves once it is empty and no key is in process.
   */
  shutDown(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      for (const { timer } of this.delayed.values()) timer.cancel();
      this.delayed.clear();
      // Getters only wait while nothing is queued.
      for (const resolve of this.getters.splice(0)) resolve(undefined);
    }
    return new Promise((resolve) => {
      this.drainedWaiters.push(resolve);
      this.checkDrained();
    });
  }

  private enqueue(key: K): void {
    const getter = this.getters.shift();
    if (getter) {
      this.dirty.delete(key);
      this.processing.add(key);
      getter(key);
      return;
    }
    this.order.push(key);
    this.onDepthChange(this.depth);
  }

  private take(): K {
    const key = this.order[this.head++] as K;
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    this.onDepthChange(this.depth);
    return key;
  }

  private checkDrained(): void {
    if (!this.stopping || this.depth > 0 || this.processing.size > 0) return;
    for (const resolve of this.drainedWaiters.splice(0)) resolve();
  }
}
