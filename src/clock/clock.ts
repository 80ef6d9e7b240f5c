// Time as a dependency: the wall clock plus one-shot timers, passed in so tests move time by hand
// (FakeClock) and every delay (requeue, backoff, lease renewal, a held-back xDS resource's retry)
// is deterministic there. Imports nothing; every folder may use it.

/** A scheduled callback; `cancel()` is idempotent and harmless after it ran. */
export interface Timer {
  cancel(): void;
}

export interface Timers {
  /** Runs `callback` once when `ms` milliseconds have passed; never synchronously. */
  after(ms: number, callback: () => void): Timer;
}

export interface Clock extends Timers {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, callback) {
    const handle = setTimeout(callback, Math.max(0, ms));
    return { cancel: () => clearTimeout(handle) };
  },
};

/** Resolves after `ms` on `clock`, or at once (resolving, not rejecting) when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      timer.cancel();
      signal?.removeEventListener("abort", finish);
      resolve();
    };
    const timer = clock.after(ms, finish);
    signal?.addEventListener("abort", finish, { once: true });
  });
}
