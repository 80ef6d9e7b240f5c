// Bounded polling: every wait in the e2e suite has a deadline and says what it waited for.

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What we are waiting for, in words: "client acks the new route". */
  message?: string;
}

/** Thrown from a polled function to stop waiting at once (the condition can no longer be met). */
export class FatalWaitError extends Error {}

/**
 * Calls `fn` until it returns something other than `undefined`, `null` or `false`, and returns
 * that. Errors thrown by `fn` count as "not yet" and the last one is reported on timeout, except
 * a `FatalWaitError`, which is rethrown at once.
 */
export async function waitFor<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  const maxAttempts = Math.ceil(timeoutMs / Math.max(1, intervalMs)) + 1;
  let last: unknown;
  for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) return value;
      last = value;
    } catch (error) {
      if (error instanceof FatalWaitError) throw error;
      last = error;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const detail = last instanceof Error ? last.message : JSON.stringify(last);
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${options.message ?? "condition"} (last: ${detail})`,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
