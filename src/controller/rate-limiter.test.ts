import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../clock/index.ts";
import { ExponentialBackoff, MaxOfRateLimiter, TokenBucket, defaultRateLimiter } from "./rate-limiter.ts";

test("exponential backoff doubles per failure of a key, caps, and resets on forget", () => {
  const backoff = new ExponentialBackoff<string>({ baseDelayMs: 5, maxDelayMs: 100 });
  assert.deepEqual(
    Array.from({ length: 7 }, () => backoff.when("a")),
    [5, 10, 20, 40, 80, 100, 100],
  );
  assert.equal(backoff.retries("a"), 7);
  assert.equal(backoff.when("b"), 5, "keys back off independently");
  backoff.forget("a");
  assert.equal(backoff.retries("a"), 0);
  assert.equal(backoff.when("a"), 5);
});

test("the default backoff is client-go's: 5 ms doubling to 1,000 s", () => {
  const limiter = defaultRateLimiter<string>(new FakeClock());
  const delays = Array.from({ length: 30 }, () => limiter.when("k"));
  assert.equal(delays[0], 5);
  assert.equal(delays[10], 5 * 2 ** 10);
  assert.equal(delays[29], 1_000_000);
});

test("the token bucket lets a burst through, then spaces retries 1/qps apart, and refills over time", async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket<string>(clock, { qps: 10, burst: 3 });
  const burst = ["a", "b", "c", "d", "e"].map((k) => bucket.when(k));
  assert.deepEqual(burst, [0, 0, 0, 100, 200]);
  await clock.advance(1000); // 10 tokens' worth, but the bucket holds at most 3 (and owed 2)
  assert.deepEqual(
    ["f", "g", "h", "i"].map((k) => bucket.when(k)),
    [0, 0, 0, 100],
  );
});

test("max-of takes the longest delay and forgets in every limiter", () => {
  const clock = new FakeClock();
  const limiter = new MaxOfRateLimiter<string>(
    new ExponentialBackoff({ baseDelayMs: 1 }),
    new TokenBucket(clock, { qps: 1, burst: 1 }),
  );
  assert.equal(limiter.when("a"), 1, "backoff 1 ms, a token available");
  assert.equal(limiter.when("a"), 1000, "the bucket is empty: 1 s");
  limiter.forget("a");
  assert.equal(limiter.retries("a"), 0);
});
