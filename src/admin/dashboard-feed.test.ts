// The dashboard feed's bounds: what a slow page and a costly proxy-state read may cost the server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { Writable } from "node:stream";
import { FakeClock } from "../clock/index.ts";
import { Pipeline } from "../pipeline/index.ts";
import { createMetrics, silentLogger } from "../telemetry/index.ts";
import { DashboardFeed } from "./dashboard-feed.ts";
import { boundedFeedWriter } from "./dashboard-server.ts";

test("a page that reads too slowly misses deltas and gets the current view once drained", async () => {
  // A real stream whose reader is stuck until released: what a slow page's socket looks like.
  const held: (() => void)[] = [];
  const received: string[] = [];
  const out = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _encoding, done) {
      received.push(chunk.toString());
      held.push(done);
    },
  });
  let view = "event: snapshot\ndata: v1\n\n";
  const send = boundedFeedWriter(out, 64, () => view);
  send("event: delta\ndata: 1\n\n"); // taken by the stream at once
  for (let i = 2; i <= 1000; i++) {
    send(`event: delta\ndata: ${i}\n\n`);
    assert.ok(out.writableLength <= 64 + 32, `backlog ${out.writableLength} bytes after delta ${i}`);
  }
  view = "event: snapshot\ndata: v2\n\n";
  // The page reads again: everything it was owed, then the view as it is now.
  while (held.length > 0) {
    held.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(received.length < 10, `${received.length} frames written, not a backlog of 1000`);
  assert.equal(received.at(-1), view);
  send("event: delta\ndata: 1001\n\n");
  while (held.length > 0) held.shift()!();
  assert.equal(received.at(-1), "event: delta\ndata: 1001\n\n", "deltas flow again");
});

test("only the sampler reads proxy state, and a costly read spaces the samples out to the budget", async () => {
  const clock = new FakeClock(1_000);
  const pipeline = new Pipeline({ domain: "cluster.local", logger: silentLogger() });
  let reads = 0;
  let costMs = 0;
  const feed = new DashboardFeed({
    serving: pipeline,
    xds: {
      proxies: () => {
        reads += 1;
        // Stands in for reading 10,000 streams' status: real time passes, the fake clock does not.
        const until = performance.now() + costMs;
        while (performance.now() < until);
        return [];
      },
      rejections: () => ({ objects: [], unattributed: [] }),
    },
    reach: () => [],
    rollouts: { list: () => [], onEvent: () => {} },
    metrics: createMetrics({ defaultMetrics: false }),
    clock,
    sampleBudget: 0.05,
  });
  pipeline.publish({ resources: [], generation: 1 });
  const watching = feed.watch(() => {});
  assert.equal(reads, 1, "a new watcher gets proxies read once");
  pipeline.publish({ resources: [], generation: 2 });
  await clock.advance(300);
  assert.equal(reads, 1, "a publish rebuilds from the last sample");
  costMs = 80; // 80 ms at a 5 % budget: the next sample waits at least 1.6 s
  await clock.advance(700);
  assert.equal(reads, 2, "sampled after the interval");
  await clock.advance(1_000);
  assert.equal(reads, 2, "the costly sample pushed the next one out");
  await clock.advance(700);
  assert.equal(reads, 3);
  watching.stop();
});
