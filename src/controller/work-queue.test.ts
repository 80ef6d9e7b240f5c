import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock, settle } from "../clock/index.ts";
import { ExponentialBackoff, TokenBucket } from "./rate-limiter.ts";
import { WorkQueue } from "./work-queue.ts";

function queue(clock = new FakeClock()) {
  const depths: number[] = [];
  const q = new WorkQueue<string>({
    clock,
    rateLimiter: new ExponentialBackoff({ baseDelayMs: 10, maxDelayMs: 1000 }),
    onDepthChange: (d) => depths.push(d),
  });
  return { q, clock, depths };
}

test("a key added many times while queued is one item; keys come out in order", async () => {
  const { q, depths } = queue();
  for (const key of ["a", "b", "a", "c", "b", "a"]) q.add(key);
  assert.equal(q.depth, 3);
  assert.deepEqual([await q.get(), await q.get(), await q.get()], ["a", "b", "c"]);
  assert.equal(q.depth, 0);
  assert.deepEqual(depths, [1, 2, 3, 2, 1, 0]);
});

test("a key in process is not handed out again; added meanwhile, it is queued after done", async () => {
  const { q } = queue();
  q.add("a");
  assert.equal(await q.get(), "a");
  q.add("a");
  q.add("a");
  q.add("b");
  assert.equal(q.depth, 1, "only b waits: a is in process");
  assert.equal(await q.get(), "b");
  let next: string | undefined;
  void q.get().then((k) => (next = k));
  await settle();
  assert.equal(next, undefined, "a is still in process");
  q.done("a");
  await settle();
  assert.equal(next, "a", "queued again once, after done");
  q.done("a");
  q.done("b");
  assert.equal(q.depth, 0);
});

test("a waiting get resolves as soon as a key is added", async () => {
  const { q } = queue();
  const got = q.get();
  q.add("x");
  assert.equal(await got, "x");
});

test("addAfter waits on the clock; an earlier time replaces a later one, a later one is ignored", async () => {
  const { q, clock } = queue();
  q.addAfter("a", 100);
  q.addAfter("a", 50);
  q.addAfter("a", 80);
  q.addAfter("b", 0);
  assert.equal(q.depth, 1, "a zero delay adds at once");
  assert.equal(await q.get(), "b");
  await clock.advance(49);
  assert.equal(q.depth, 0);
  await clock.advance(1);
  assert.equal(q.depth, 1, "due at 50");
  assert.equal(await q.get(), "a");
  q.done("a");
  await clock.advance(100);
  assert.equal(q.depth, 0, "the replaced timers do not fire");
  assert.equal(clock.pendingTimers, 0);
});

test("addRateLimited backs off per key exponentially and forget resets it", async () => {
  const { q, clock } = queue();
  const dueAfter = async (key: string) => {
    q.addRateLimited(key);
    let waited = 0;
    while (q.depth === 0) {
      await clock.advance(1);
      waited++;
    }
    assert.equal(await q.get(), key);
    q.done(key);
    return waited;
  };
  assert.deepEqual([await dueAfter("a"), await dueAfter("a"), await dueAfter("a")], [10, 20, 40]);
  assert.equal(q.retries("a"), 3);
  assert.equal(await dueAfter("b"), 10, "another key starts from the base delay");
  q.forget("a");
  assert.equal(q.retries("a"), 0);
  assert.equal(await dueAfter("a"), 10, "reset after forget");
});

test("the overall bucket limits rate-limited adds of many keys", async () => {
  const clock = new FakeClock();
  const q = new WorkQueue<string>({ clock, rateLimiter: new TokenBucket(clock, { qps: 100, burst: 2 }) });
  for (const key of ["a", "b", "c", "d"]) q.addRateLimited(key);
  assert.equal(q.depth, 2, "the burst goes through");
  await clock.advance(10);
  assert.equal(q.depth, 3);
  await clock.advance(10);
  assert.equal(q.depth, 4);
});

test("shutDown stops adds, drops delayed keys, hands out what is queued, then ends gets once drained", async () => {
  const { q, clock } = queue();
  q.add("a");
  q.add("b");
  q.addAfter("later", 10);
  assert.equal(await q.get(), "a");
  let drained = false;
  const shut = q.shutDown().then(() => (drained = true));
  q.add("c");
  q.add("a"); // in process: would be re-queued, but adds are ignored now
  assert.equal(q.depth, 1);
  await clock.advance(20);
  assert.equal(q.depth, 1, "the delayed key was dropped");
  assert.equal(await q.get(), "b", "queued keys are still handed out");
  assert.equal(await q.get(), undefined, "then get ends");
  await settle();
  assert.equal(drained, false, "a and b are still in process");
  q.done("a");
  q.done("b");
  await shut;
  assert.ok(drained);
  assert.equal(clock.pendingTimers, 0);
});

test("shutDown wakes workers blocked in get", async () => {
  const { q } = queue();
  const waiting = [q.get(), q.get()];
  await q.shutDown();
  assert.deepEqual(await Promise.all(waiting), [undefined, undefined]);
});
