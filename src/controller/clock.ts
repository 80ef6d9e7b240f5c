// Time for the controller runtime: the wall clock plus one-shot timers, passed in so tests move time
// by hand (FakeClock) and every delay (requeue, backoff, lease renewal) is deterministic there.
import type { Clock as WallClock } from "../store/index.ts";

/** A scheduled callback; `cancel()` is idempotent and harmless after it ran. */
export interface Timer {
  cancel(): void;
}

export interface Clock extends WallClock {
  /** Runs `callback` once when `ms` milliseconds have passed; never synchronously. */
  after(ms: number, callback: () => void): Timer;
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
