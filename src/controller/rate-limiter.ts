// How long a key waits before it is retried (client-go util/workqueue/default_rate_limiters.go):
// per-key exponential backoff that success resets, and a token bucket over all retries so a burst
// of failing keys can not hammer what they call.
import type { Clock } from "../clock/index.ts";

export interface RateLimiter<K> {
  /** The delay before `key` may run again; each call counts one more failure of `key`. */
  when(key: K): number;
  /** Clears the failure history of `key` (after it succeeded, or was given up). */
  forget(key: K): void;
  /** Failures counted for `key` since it was last forgotten. */
  retries(key: K): number;
}

export interface BackoffOptions {
  /** Delay after the first failure; doubles with every further one. Default 5 ms. */
  readonly baseDelayMs?: number;
  /** Ceiling of the delay. Default 1,000 s. */
  readonly maxDelayMs?: number;
}

/** baseDelay * 2^failures, capped at maxDelay, per key. */
export class ExponentialBackoff<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseDelayMs ?? 5;
    this.maxMs = options.maxDelayMs ?? 1_000_000;
  }

  when(key: K): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    return Math.min(this.maxMs, this.baseMs * 2 ** failures);
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  retries(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}

export interface TokenBucketOptions {
  /** Sustained retries per second across all keys. Default 10. */
  readonly qps?: number;
  /** Retries allowed at once before the rate applies. Default 100. */
  readonly burst?: number;
}

/**
 * One bucket for every key (golang.org/x/time/rate reservations): each retry takes a token; when
 * none is left it is scheduled for when its token will have been refilled, so the delays of a burst
 * line up 1/qps apart.
 */
export class TokenBucket<K> implements RateLimiter<K> {
  private readonly clock: Clock;
  private readonly qps: number;
  private readonly burst: number;
  private tokens: number;
  private last: number;

  constructor(clock: Clock, options: TokenBucketOptions = {}) {
    this.clock = clock;
    this.qps = options.qps ?? 10;
    this.burst = options.burst ?? 100;
    this.tokens = this.burst;
    this.last = clock.now();
  }

  when(_key: K): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.qps);
  }

  forget(_key: K): void {}

  retries(_key: K): number {
    return 0;
  }
}

/** The longest delay any of `limiters` asks for. */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  private readonly limiters: readonly RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    this.limiters = limiters;
  }

  when(key: K): number {
    return Math.max(0, ...this.limiters.map((l) => l.when(key)));
  }

  forget(key: K): void {
    for (const limiter of this.limiters) limiter.forget(key);
  }

  retries(key: K): number {
    return Math.max(0, ...this.limiters.map((l) => l.retries(key)));
  }
}

/** client-go's DefaultControllerRateLimiter: per-key backoff 5 ms → 1,000 s; 10 qps, burst 100 overall. */
export function defaultRateLimiter<K>(
  clock: Clock,
  options: BackoffOptions & TokenBucketOptions = {},
): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(new ExponentialBackoff<K>(options), new TokenBucket<K>(clock, options));
}
