import assert from "node:assert/strict";
import { test } from "node:test";
import { createMemoryStore } from "../store/index.ts";
import {
  liveReplicas,
  liveReports,
  ReportIndex,
  readReplicaReport,
  replicaReportObject,
  replicaReportType,
  type ReplicaReport,
} from "./replica-report.ts";

const route = "GRPCRoute demo/split";
const report = (
  replica: string,
  renewTime: string,
  generation: number,
  reached: number,
  total: number,
): ReplicaReport => ({
  replica,
  renewTime,
  proxies: total,
  objects: [
    {
      object: route,
      generation,
      reached,
      total,
      rejections: reached < total ? [{ node: `${replica}-p`, error: "bad" }] : [],
    },
  ],
});

test("reach sums live replicas serving the generation; others are behind", () => {
  const index = new ReportIndex([
    report("a", "2026-11-21T12:00:00Z", 3, 5, 5),
    report("b", "2026-11-21T12:00:00Z", 3, 3, 4),
    report("c", "2026-11-21T12:00:00Z", 2, 6, 6),
  ]);
  assert.deepEqual(index.summary(route, 3), {
    reached: 8,
    total: 15,
    replicasBehind: 1,
    rejections: [{ node: "b-p", error: "bad" }],
  });
  // An object no replica has loaded yet.
  assert.deepEqual(index.summary("HTTPRoute demo/new", 1), {
    reached: 0,
    total: 0,
    replicasBehind: 3,
    rejections: [],
  });
  assert.equal(new ReportIndex([]).summary(route, 3), undefined);
});

test("stale reports (a replica killed without cleanup) are ignored", () => {
  const now = Date.parse("2026-11-21T12:00:20Z");
  const live = liveReports(
    [report("a", "2026-11-21T12:00:18Z", 3, 1, 1), report("dead", "2026-11-21T11:59:00Z", 3, 9, 9)],
    now,
    15_000,
  );
  assert.deepEqual(
    live.map((r) => r.replica),
    ["a"],
  );
});

test("reports round-trip through the stored object", () => {
  const r = report("a", "2026-11-21T12:00:00Z", 3, 1, 1);
  assert.deepEqual(readReplicaReport(replicaReportObject(r)), r);
  assert.equal(readReplicaReport({ apiVersion: "v1", kind: "X", metadata: { name: "x" } }), undefined);
});

test("liveReplicas: the live replicas in the store, by name, with their admin addresses", async () => {
  const store = createMemoryStore();
  const now = Date.parse("2026-11-21T12:00:20Z");
  const write = (r: ReplicaReport) => store.create(replicaReportType, replicaReportObject(r));
  await write({ ...report("b", "2026-11-21T12:00:18Z", 3, 1, 2), adminAddress: "127.0.0.1:15114" });
  await write(report("a", "2026-11-21T12:00:19Z", 3, 1, 1));
  await write({ ...report("dead", "2026-11-21T11:59:00Z", 3, 9, 9), adminAddress: "127.0.0.1:1" });
  assert.deepEqual(await liveReplicas(store, now, 15_000), [
    { replica: "a", renewTime: "2026-11-21T12:00:19Z", proxies: 1, adminAddress: undefined },
    { replica: "b", renewTime: "2026-11-21T12:00:18Z", proxies: 2, adminAddress: "127.0.0.1:15114" },
  ]);
});
