// The summarizer's dashboard tables: per proxy and Service count, the feed's figures (--dashboard)
// and the page's in headless Chromium (--dashboard-browser), as median (min–max) over runs.
import type { DashboardFeedFigures } from "./dashboard-feed.ts";
import type { DashboardPageFigures } from "./dashboard-page.ts";
import type { RunFile } from "./goals.ts";
import { median } from "./measure.ts";

export interface DashboardRunFile extends RunFile {
  readonly dashboard?: readonly DashboardFeedFigures[];
  readonly dashboardBrowser?: readonly DashboardPageFigures[];
}

interface Row<F> {
  readonly name: string;
  readonly value: (figures: F) => number | undefined;
  readonly digits: number;
}

const kib = (bytes: number) => bytes / 1024;

const feedRows: readonly Row<DashboardFeedFigures>[] = [
  { name: "feed: snapshot (KiB)", value: (f) => kib(f.firstSnapshotBytes), digits: 0 },
  { name: "feed: rate over the run (KiB/s)", value: (f) => kib(f.bytesPerSecond), digits: 1 },
  { name: "feed: view rebuilds", value: (f) => f.updates, digits: 0 },
  { name: "feed: mean rebuild (ms)", value: (f) => f.meanUpdateMs, digits: 1 },
  { name: "feed: share of one core (%)", value: (f) => f.updateCpuShare * 100, digits: 1 },
];

const pageRows: readonly Row<DashboardPageFigures>[] = [
  { name: "page: first contentful paint (ms)", value: (f) => f.firstContentfulPaintMs, digits: 0 },
  { name: "page: populated (ms after navigation)", value: (f) => f.populatedMs, digits: 0 },
  { name: "page: route write → weight in DOM p50 (ms)", value: (f) => f.weights.domMs?.p50, digits: 0 },
  { name: "page: route write → weight in DOM max (ms)", value: (f) => f.weights.domMs?.max, digits: 0 },
  { name: "page: route write → next frame max (ms)", value: (f) => f.weights.frameMs?.max, digits: 0 },
  { name: "page: weights not seen", value: (f) => f.weights.watched - f.weights.seen, digits: 0 },
  { name: "page: long tasks while loading", value: (f) => f.longTasks.load.count, digits: 0 },
  { name: "page: longest task while loading (ms)", value: (f) => f.longTasks.load.maxMs, digits: 0 },
  { name: "page: long tasks after", value: (f) => f.longTasks.steady.count, digits: 0 },
  { name: "page: long tasks after, total (ms)", value: (f) => f.longTasks.steady.totalMs, digits: 0 },
  { name: "page: longest task after (ms)", value: (f) => f.longTasks.steady.maxMs, digits: 0 },
  { name: "page: interaction → next frame p50 (ms)", value: (f) => f.interactions.all?.p50, digits: 0 },
  { name: "page: interaction → next frame p90 (ms)", value: (f) => f.interactions.all?.p90, digits: 0 },
  { name: "page: interaction → next frame max (ms)", value: (f) => f.interactions.all?.max, digits: 0 },
  { name: "page: interactions measured", value: (f) => f.interactions.all?.count ?? 0, digits: 0 },
  { name: "page: interactions unfinished", value: (f) => f.interactions.unfinished, digits: 0 },
  { name: "page: JS heap used, max (MB)", value: (f) => f.heapUsedMB.max, digits: 1 },
  { name: "page: DOM elements", value: (f) => f.domElements, digits: 0 },
  { name: "page: DOM nodes incl. text and uncollected, max", value: (f) => f.domNodesMax, digits: 0 },
  { name: "page: main thread busy (%)", value: (f) => f.mainThreadShare * 100, digits: 1 },
  { name: "page: script (%)", value: (f) => f.scriptShare * 100, digits: 1 },
  { name: "page: style + layout (%)", value: (f) => (f.styleShare + f.layoutShare) * 100, digits: 1 },
  { name: "page: feed received after populated (KiB/s)", value: (f) => kib(f.feedBytesPerSecond), digits: 1 },
];

function cell(values: readonly number[], digits: number): string {
  const ok = values.filter((v) => Number.isFinite(v));
  if (ok.length === 0) return "–";
  const f = (v: number) =>
    v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const lo = Math.min(...ok);
  const hi = Math.max(...ok);
  return ok.length === 1 || lo === hi ? f(median(ok)) : `${f(median(ok))} (${f(lo)}–${f(hi)})`;
}

/** Markdown tables of the dashboard figures, one per proxy and Service count; nothing without any. */
export function dashboardTables(runs: readonly DashboardRunFile[]): string[] {
  const withDashboard = runs.filter((r) => r.dashboard?.length || r.dashboardBrowser?.length);
  const sizes = [...new Set(withDashboard.map((r) => `${r.conditions.proxies}|${r.conditions.services}`))];
  const out: string[] = [];
  for (const size of sizes.sort((a, b) => a.localeCompare(b, "en", { numeric: true }))) {
    const group = withDashboard.filter((r) => `${r.conditions.proxies}|${r.conditions.services}` === size);
    const [proxies, services] = size.split("|").map(Number);
    const feeds = group.flatMap((r) => r.dashboard ?? []);
    const pages = group.flatMap((r) => r.dashboardBrowser ?? []);
    const lines = [
      `#### The dashboard at ${proxies?.toLocaleString("en-US")} proxies × ${services?.toLocaleString("en-US")} services: ` +
        `median (min–max) over ${group.length} run${group.length > 1 ? "s" : ""}`,
      "",
      "| figure | value |",
      "| --- | ---: |",
      ...feedRows.map((row) => `| ${row.name} | ${cell(values(feeds, row), row.digits)} |`),
      ...(pages.length
        ? pageRows.map((row) => `| ${row.name} | ${cell(values(pages, row), row.digits)} |`)
        : []),
    ];
    // The same edits as the proxies got them: the page's figure less this is the dashboard's part.
    const proxiesP50 = group.flatMap((r) =>
      r.results.flatMap((x) =>
        x.scenario === "route" && x.target === "meshplane" && x.latency ? [x.latency.p50] : [],
      ),
    );
    if (pages.length && proxiesP50.length)
      lines.push(`| route write → proxies' ACK p50, same edits (ms) | ${cell(proxiesP50, 0)} |`);
    const errors = [...new Set(pages.flatMap((p) => [...p.pageErrors, ...(p.error ? [p.error] : [])]))];
    if (errors.length) lines.push("", `page errors: ${errors.join(" | ")}`);
    out.push(lines.join("\n"));
  }
  return out;
}

function values<F>(figures: readonly F[], row: Row<F>): number[] {
  return figures.map(row.value).filter((v): v is number => v !== undefined);
}
