// Assertions on the client's call results whose failure messages say what was observed: calls,
// per-backend counts and shares, errors with samples. A failure must be diagnosable from CI output.
import assert from "node:assert/strict";
import type { CallResult } from "./xds-client.ts";

function total(result: Pick<CallResult, "ok" | "errors">): number {
  return result.ok + Object.values(result.errors).reduce((sum, n) => sum + n, 0);
}

/** One line: `SayHello xds:///x: 1000 calls, ok 998, counts {"v1":900,...}, errors {...} (e.g. ...)`. */
export function summary(result: CallResult): string {
  const calls = total(result);
  const percent = Object.entries(result.counts)
    .map(([backend, n]) => `${backend} ${((100 * n) / Math.max(1, calls)).toFixed(1)}%`)
    .join(", ");
  const samples = result.errorSamples.length > 0 ? ` (e.g. ${result.errorSamples.join(" | ")})` : "";
  return (
    `${result.method} ${result.target}: ${calls} calls, ok ${result.ok}, counts ${JSON.stringify(result.counts)}` +
    ` [${percent}], errors ${JSON.stringify(result.errors)}${samples}, ${result.elapsedMs} ms`
  );
}

/** Every call succeeded and landed on `backend`. */
export function assertAllOn(result: CallResult, backend: string, what: string): void {
  const calls = total(result);
  assert.ok(
    result.ok === calls && calls > 0 && result.counts[backend] === calls,
    `${what}: expected all calls on ${backend}; observed ${summary(result)}`,
  );
}

/** No call failed. */
export function assertNoErrors(result: CallResult, what: string): void {
  assert.ok(
    Object.keys(result.errors).length === 0 && result.ok === total(result),
    `${what}: expected no failed calls; observed ${summary(result)}`,
  );
}

/**
 * Every call succeeded, only the `expected` backends answered, and each one's share (percent of all
 * calls) is within `tolerance` points of the configured share.
 */
export function assertSplit(
  result: CallResult,
  expected: Record<string, number>,
  tolerance: number,
  what: string,
): void {
  assertNoErrors(result, what);
  const calls = total(result);
  const weightSum = Object.values(expected).reduce((sum, n) => sum + n, 0);
  const unexpected = Object.keys(result.counts).filter((backend) => !(backend in expected));
  assert.deepEqual(
    unexpected,
    [],
    `${what}: calls landed on unexpected backends; observed ${summary(result)}`,
  );
  for (const [backend, weight] of Object.entries(expected)) {
    const want = (100 * weight) / weightSum;
    const got = (100 * (result.counts[backend] ?? 0)) / calls;
    assert.ok(
      Math.abs(got - want) <= tolerance,
      `${what}: ${backend} got ${got.toFixed(2)}% of ${calls} calls, configured ${want.toFixed(1)}% ` +
        `± ${tolerance}; observed ${summary(result)}`,
    );
  }
}
