// The harness's dashboard feed reader counts what a page would receive: frames by event, bytes,
// the largest frame, and the update figures from the difference of two /metrics scrapes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { openDashboardFeed } from "./dashboard-feed.ts";

test("openDashboardFeed: frames, bytes and update figures", async (t) => {
  const snapshot = `event: snapshot\ndata: {"entries":{"meta":{"kind":"meta"}}}\n\n`;
  const delta = `event: delta\ndata: {"set":{},"remove":["x"]}\n\n`;
  const keepalive = ": keepalive\n\n";
  const server = createServer((req, res) => {
    assert.equal(req.url, "/api/events");
    res.writeHead(200, { "content-type": "text/event-stream" });
    // Split mid-frame, as a network may deliver it.
    res.write(snapshot.slice(0, 10));
    res.write(snapshot.slice(10) + delta + keepalive);
    res.end(delta);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const count = "meshplane_dashboard_update_duration_seconds_count";
  const sum = "meshplane_dashboard_update_duration_seconds_sum";
  const reader = openDashboardFeed(
    `http://127.0.0.1:${port}/`,
    new Map([
      [count, 2],
      [sum, 0.01],
    ]),
  );
  await reader.ended;
  const figures = await reader.stop(
    new Map([
      [count, 6],
      [sum, 0.05],
    ]),
  );
  assert.equal(figures.error, undefined);
  assert.equal(figures.snapshots, 1);
  assert.equal(figures.deltas, 2);
  assert.equal(figures.firstSnapshotBytes, Buffer.byteLength(snapshot));
  assert.equal(figures.largestFrameBytes, Buffer.byteLength(snapshot));
  assert.equal(figures.bytes, Buffer.byteLength(snapshot + delta + keepalive + delta));
  assert.equal(figures.updates, 4);
  assert.equal(figures.meanUpdateMs, 10);
});
