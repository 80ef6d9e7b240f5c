// Calls made back to back by one proxyless client while something else happens (a replica is
// killed), each batch timestamped, so a test can say how many calls failed and over what window.
import type { CallCommandInput, XdsClient } from "./xds-client.ts";

export interface CallBatch {
  /** When the batch started and ended, ms since the timeline started. */
  startMs: number;
  endMs: number;
  ok: number;
  failed: number;
  counts: Record<string, number>;
  errorSamples: string[];
}

export interface CallTimeline {
  /** `performance.now()` when the timeline started: batch times are relative to it. */
  readonly originMs: number;
  readonly batches: readonly CallBatch[];
  /** Stops after the batch in flight; resolves with every batch. */
  stop(): Promise<CallBatch[]>;
  /** Calls that failed, all batches together. */
  failed(): number;
  ok(): number;
  /** From the start of the first batch with a failure to the end of the last one; 0 without failures. */
  failureWindowMs(): number;
}

/**
 * Runs `command` (a few calls each) again and again on `client` until stop(). Batches are small
 * so that a failure is placed in time to within one batch.
 */
export function callContinuously(client: XdsClient, command: CallCommandInput): CallTimeline {
  const batches: CallBatch[] = [];
  const origin = performance.now();
  let running = true;
  const loop = (async () => {
    while (running) {
      const startMs = performance.now() - origin;
      const result = await client.call(command);
      const failed = Object.values(result.errors).reduce((sum, n) => sum + n, 0);
      batches.push({
        startMs,
        endMs: performance.now() - origin,
        ok: result.ok,
        failed,
        counts: result.counts,
        errorSamples: result.errorSamples,
      });
    }
  })();
  const withFailures = () => batches.filter((b) => b.failed > 0);
  return {
    originMs: origin,
    batches,
    async stop() {
      running = false;
      await loop;
      return batches;
    },
    failed: () => batches.reduce((sum, b) => sum + b.failed, 0),
    ok: () => batches.reduce((sum, b) => sum + b.ok, 0),
    failureWindowMs() {
      const failing = withFailures();
      const first = failing[0];
      const last = failing.at(-1);
      return first && last ? Math.round(last.endMs - first.startMs) : 0;
    },
  };
}
