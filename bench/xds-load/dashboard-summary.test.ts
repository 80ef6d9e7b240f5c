// The summarizer's dashboard tables: one per proxy and Service count, medians (min–max) over the
// runs of the feed's and the page's figures, the proxies' figure for the same edits, page errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { DashboardFeedFigures } from "./dashboard-feed.ts";
import type { DashboardPageFigures } from "./dashboard-page.ts";
import { dashboardTables, type DashboardRunFile } from "./dashboard-summary.ts";
import { dist } from "./measure.ts";
import type { ScenarioResult } from "./scenarios.ts";

const feed = (bytesPerSecond: number): DashboardFeedFigures => ({
  seconds: 60,
  bytes: bytesPerSecond * 60,
  bytesPerSecond,
  snapshots: 1,
  deltas: 10,
  firstSnapshotBytes: 512 * 1024,
  largestFrameBytes: 512 * 1024,
  updates: 29,
  meanUpdateMs: 40,
  updateCpuShare: 0.018,
});

const page = (populatedMs: number, weightMs: number[], errors: string[] = []): DashboardPageFigures => ({
  seconds: 50,
  firstContentfulPaintMs: 300,
  populatedMs,
  weights: {
    watched: 3,
    seen: weightMs.length,
    domMs: dist(weightMs),
    frameMs: dist(weightMs),
    clockUncertaintyMs: 1,
  },
  longTasks: { load: { count: 1, totalMs: 120, maxMs: 120 }, steady: { count: 0, totalMs: 0, maxMs: 0 } },
  interactions: { all: dist([20, 30, 40]), byKind: {}, unfinished: 0 },
  heapUsedMB: { populated: 4, max: 7, end: 6 },
  domElements: 1600,
  domNodesMax: 12000,
  mainThreadShare: 0.14,
  scriptShare: 0.03,
  styleShare: 0.01,
  layoutShare: 0.02,
  feedBytes: 1024 * 50 * 40,
  feedBytesPerSecond: 1024 * 40,
  pageErrors: errors,
});

const route = (p50: number) =>
  ({
    scenario: "route",
    target: "meshplane",
    protocol: "sotw",
    latency: dist([p50]),
  }) as unknown as ScenarioResult;

const run = (
  proxies: number,
  results: ScenarioResult[],
  extra: Partial<DashboardRunFile>,
): DashboardRunFile => ({
  conditions: { proxies, services: 1000, scope: 10, write: "api" },
  results,
  ...extra,
});

test("dashboardTables: a table per size, median (min–max) over runs, the proxies' p50 beside the page's", () => {
  const tables = dashboardTables([
    run(10_000, [route(800)], { dashboard: [feed(40 * 1024)], dashboardBrowser: [page(400, [700, 900])] }),
    run(10_000, [route(1000)], {
      dashboard: [feed(80 * 1024)],
      dashboardBrowser: [page(600, [800], ["boom"])],
    }),
    run(200, [route(100)], { dashboard: [feed(10 * 1024)] }),
    run(200, [route(100)], {}),
  ]);
  assert.equal(tables.length, 2);
  const [small, large] = tables as [string, string];
  assert.match(small, /^#### The dashboard at 200 proxies × 1,000 services: median \(min–max\) over 1 run$/m);
  assert.match(small, /^\| feed: rate over the run \(KiB\/s\) \| 10\.0 \|$/m);
  assert.doesNotMatch(small, /page:|proxies' ACK/, "no page figures without --dashboard-browser");
  assert.match(large, /over 2 runs$/m);
  assert.match(large, /^\| feed: rate over the run \(KiB\/s\) \| 60\.0 \(40\.0–80\.0\) \|$/m);
  assert.match(large, /^\| page: populated \(ms after navigation\) \| 500 \(400–600\) \|$/m);
  // Run 1's p50 is 700 (nearest rank of [700, 900]), run 2's 800.
  assert.match(large, /^\| page: route write → weight in DOM p50 \(ms\) \| 750 \(700–800\) \|$/m);
  // The median of 1 and 2, at the table's 0 digits.
  assert.match(large, /^\| page: weights not seen \| 2 \(1–2\) \|$/m);
  assert.match(large, /^\| route write → proxies' ACK p50, same edits \(ms\) \| 900 \(800–1,000\) \|$/m);
  assert.match(large, /^page errors: boom$/m);
});
