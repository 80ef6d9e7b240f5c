// One-shot timers for the xDS server (retrying a held-back resource after its backoff), passed in
// so tests move time by hand (manual-clock.ts) and every delay is deterministic there.

/** A scheduled callback; `cancel()` is idempotent and harmless after it ran. */
export interface Timer {
  cancel(): void;
}

export interface Timers {
  /** Runs `callback` once after `ms` milliseconds; never synchronously. */
  after(ms: number, callback: () => void): Timer;
}

export const systemTimers: Timers = {
  after(ms, callback) {
    const handle = setTimeout(callback, Math.max(0, ms));
    // A pending retry must not keep a stopping process alive.
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
