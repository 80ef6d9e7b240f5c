// Medians and ranges over repeated runs of the xDS load harness: reads the JSON files run.ts wrote
// and prints one Markdown table per (proxies, services, scope, protocol, write mode), with
// meshplane and the ceiling as median (min–max) and the median of the per-run ratios (each run
// pairs both servers under the same conditions); then the issue's targets, met or missed
// (goals.ts); then the dashboard's feed and page figures of runs with --dashboard or
// --dashboard-browser (dashboard-summary.ts).
//
//   node bench/xds-load/summarize.ts [--compact] bench/results/xds-load-*.json
import { readFileSync } from "node:fs";
import { dashboardTables, type DashboardRunFile } from "./dashboard-summary.ts";
import { printGoals, writeOf, type RunFile } from "./goals.ts";
import type { Dist } from "./measure.ts";
import { median, total } from "./measure.ts";
import { pushCpuPerChange, type ScenarioResult } from "./scenarios.ts";

interface Metric {
  readonly name: string;
  readonly scenarios: readonly string[];
  readonly value: (r: ScenarioResult) => number | undefined;
  readonly digits: number;
  /** Whether a meshplane/ceiling ratio means something for this metric. */
  readonly ratio: boolean;
}

const d = (pick: (dist: Dist) => number) => (dist: Dist | undefined) => (dist ? pick(dist) : undefined);
const p50 = d((x) => x.p50);
const p99 = d((x) => x.p99);
const max = d((x) => x.max);
const changes = ["endpoint", "route", "scoped", "churn"];
const edits = ["endpoint", "route", "scoped"];

const metrics: readonly Metric[] = [
  {
    name: "time until all synced (s)",
    scenarios: ["connect"],
    value: (r) => (r.timeToAllSyncedMs === undefined ? undefined : r.timeToAllSyncedMs / 1000),
    digits: 1,
    ratio: true,
  },
  {
    name: "per-proxy sync p50 (s)",
    scenarios: ["connect"],
    value: (r) => (p50(r.latency) ?? NaN) / 1000,
    digits: 1,
    ratio: true,
  },
  { name: "propagation p50 (ms)", scenarios: changes, value: (r) => p50(r.latency), digits: 0, ratio: true },
  { name: "propagation p99 (ms)", scenarios: changes, value: (r) => p99(r.latency), digits: 0, ratio: true },
  { name: "propagation max (ms)", scenarios: changes, value: (r) => max(r.latency), digits: 0, ratio: true },
  {
    name: "proxies missing the change",
    scenarios: changes,
    value: (r) => (r.changes ?? []).reduce((s, c) => s + c.expected - c.seen, 0),
    digits: 0,
    ratio: false,
  },
  {
    name: "push CPU per change (s)",
    scenarios: edits,
    value: (r) => pushCpuPerChange(r),
    digits: 3,
    ratio: true,
  },
  {
    name: "proxies that got any response per change",
    scenarios: edits,
    value: (r) =>
      r.changes?.length
        ? r.changes.reduce((s, c) => s + (c.responded ?? 0), 0) / r.changes.length
        : undefined,
    digits: 0,
    ratio: false,
  },
  {
    name: "holders per change",
    scenarios: edits,
    value: (r) =>
      r.changes?.length ? r.changes.reduce((s, c) => s + c.holders, 0) / r.changes.length : undefined,
    digits: 0,
    ratio: false,
  },
  {
    name: "reconnect→synced p50 (ms)",
    scenarios: ["churn"],
    value: (r) => p50(r.reconnect),
    digits: 0,
    ratio: true,
  },
  {
    name: "reconnect→synced p99 (ms)",
    scenarios: ["churn"],
    value: (r) => p99(r.reconnect),
    digits: 0,
    ratio: true,
  },
  {
    name: "bytes received (MB)",
    scenarios: [],
    value: (r) => r.usage.bytes / 2 ** 20,
    digits: 1,
    ratio: true,
  },
  { name: "server CPU (s)", scenarios: [], value: (r) => r.usage.serverCpuS, digits: 2, ratio: true },
  { name: "server RSS after (MB)", scenarios: [], value: (r) => r.usage.rssMB, digits: 0, ratio: true },
  {
    name: "RSS per proxy (KB)",
    scenarios: ["connect"],
    value: (r) => r.rssPerProxyKB,
    digits: 1,
    ratio: true,
  },
  {
    name: "encodes per change",
    scenarios: changes,
    value: (r) => (r.changes?.length ? total(r.usage.encodes) / r.changes.length : undefined),
    digits: 1,
    ratio: false,
  },
  {
    name: "meshplane push duration (ms)",
    scenarios: changes,
    value: (r) => r.usage.pushDurationMeanMs,
    digits: 0,
    ratio: false,
  },
  {
    name: "meshplane event-loop lag max (ms)",
    scenarios: [],
    value: (r) => r.usage.loopLagMaxMs,
    digits: 0,
    ratio: false,
  },
  {
    name: "client CPU, all workers (s)",
    scenarios: [],
    value: (r) => r.usage.clientCpuS,
    digits: 1,
    ratio: false,
  },
  {
    name: "accept-queue overflows",
    scenarios: ["connect"],
    value: (r) => r.usage.listenOverflows,
    digits: 0,
    ratio: false,
  },
  {
    name: "accept backlog",
    scenarios: ["connect"],
    value: (r) => r.backlog,
    digits: 0,
    ratio: false,
  },
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

const perChange = (of: (r: ScenarioResult) => number) => (r: ScenarioResult) =>
  r.changes?.length ? of(r) / r.changes.length : undefined;

/** --compact: the headline figures, one column pair (meshplane, ceiling) per proxy count. */
const compactRows: ReadonlyArray<{ label: string; scenario: string; metric: Metric }> = [
  ["connect", "all synced (s)", metrics[0]],
  ["connect", "server CPU (s)", byName("server CPU (s)")],
  ["connect", "server RSS (MB)", byName("server RSS after (MB)")],
  ["connect", "RSS per proxy (KB)", byName("RSS per proxy (KB)")],
  ["connect", "accept-queue overflows", byName("accept-queue overflows")],
  ["endpoint", "propagation p50 (ms)", byName("propagation p50 (ms)")],
  ["endpoint", "propagation p99 (ms)", byName("propagation p99 (ms)")],
  [
    "endpoint",
    "MB sent per change",
    custom(
      perChange((r) => r.usage.bytes / 2 ** 20),
      2,
    ),
  ],
  [
    "endpoint",
    "server CPU per change (s)",
    custom(
      perChange((r) => r.usage.serverCpuS),
      2,
    ),
  ],
  ["endpoint", "push CPU per change (s)", byName("push CPU per change (s)")],
  ["route", "propagation p50 (ms)", byName("propagation p50 (ms)")],
  ["route", "propagation p99 (ms)", byName("propagation p99 (ms)")],
  [
    "route",
    "MB sent per change",
    custom(
      perChange((r) => r.usage.bytes / 2 ** 20),
      2,
    ),
  ],
  ["route", "push CPU per change (s)", byName("push CPU per change (s)")],
  ["scoped", "propagation p99 (ms)", byName("propagation p99 (ms)")],
  ["scoped", "push CPU per change (s)", byName("push CPU per change (s)")],
  ["scoped", "proxies that got a response", byName("proxies that got any response per change")],
  ["scoped", "holders", byName("holders per change")],
  ["churn", "propagation p50 (ms)", byName("propagation p50 (ms)")],
  ["churn", "propagation p99 (ms)", byName("propagation p99 (ms)")],
  ["churn", "reconnect→synced p50 (ms)", byName("reconnect→synced p50 (ms)")],
  ["churn", "reconnect→synced p99 (ms)", byName("reconnect→synced p99 (ms)")],
  ["churn", "server CPU (s)", byName("server CPU (s)")],
].map(([scenario, label, metric]) => ({
  scenario: scenario as string,
  label: label as string,
  metric: metric as Metric,
}));

function byName(name: string): Metric {
  const metric = metrics.find((m) => m.name === name);
  if (!metric) throw new Error(`no metric ${name}`);
  return metric;
}

function custom(value: (r: ScenarioResult) => number | undefined, digits: number): Metric {
  return { name: "", scenarios: [], value, digits, ratio: true };
}

/** What, besides the proxy count, makes runs incomparable: how changes were written, connect pacing. */
function variant(run: RunFile): string {
  const window = run.conditions.connectWindow ?? 0;
  return `write ${writeOf(run)}, connect ${window > 0 ? `window ${window}` : "unpaced"}`;
}

function compact(all: readonly RunFile[]): void {
  for (const name of [...new Set(all.map(variant))].sort()) {
    compactVariant(
      all.filter((run) => variant(run) === name),
      name,
    );
  }
}

function compactVariant(runs: readonly RunFile[], name: string): void {
  const counts = [...new Set(runs.map((r) => r.conditions.proxies))].sort((a, b) => a - b);
  for (const protocol of ["sotw", "delta"]) {
    const has = runs.some((run) => run.results.some((r) => r.protocol === protocol));
    if (!has) continue;
    console.log(`\n#### ${protocol}, ${name}: median (min–max) over runs\n`);
    const head = counts.map((n) => `${n.toLocaleString("en-US")}: meshplane | ceiling`).join(" | ");
    console.log(`| scenario | metric | ${head} |`);
    console.log(`| --- | --- |${counts.map(() => " ---: | ---: |").join("")}`);
    for (const row of compactRows) {
      const cells = counts.flatMap((n) =>
        ["meshplane", "ceiling"].map((target) => {
          const values = runs
            .filter((run) => run.conditions.proxies === n)
            .flatMap((run) =>
              run.results.filter(
                (r) => r.protocol === protocol && r.scenario === row.scenario && r.target === target,
              ),
            )
            .map(row.metric.value)
            .filter((v): v is number => v !== undefined);
          return cell(values, row.metric.digits);
        }),
      );
      console.log(`| ${row.scenario} | ${row.label} | ${cells.join(" | ")} |`);
    }
    console.log(`\n${protocol}, ${name}, meshplane / ceiling: median (min–max) of the per-run ratios\n`);
    console.log(`| scenario | metric | ${counts.map((n) => n.toLocaleString("en-US")).join(" | ")} |`);
    console.log(`| --- | --- |${counts.map(() => " ---: |").join("")}`);
    for (const row of compactRows) {
      if (!ratioLabels.has(`${row.scenario} ${row.label}`)) continue;
      const cells = counts.map((n) => {
        const ratios = runs
          .filter((run) => run.conditions.proxies === n)
          .flatMap((run) => {
            const pick = (target: string) =>
              run.results.find(
                (r) => r.protocol === protocol && r.scenario === row.scenario && r.target === target,
              );
            const m = pick("meshplane");
            const c = pick("ceiling");
            const a = m && row.metric.value(m);
            const b = c && row.metric.value(c);
            return a !== undefined && b !== undefined && b > 0 ? [a / b] : [];
          });
        return ratios.length ? `${cell(ratios, 1)}×` : "–";
      });
      console.log(`| ${row.scenario} | ${row.label} | ${cells.join(" | ")} |`);
    }
  }
}

const ratioLabels = new Set([
  "connect all synced (s)",
  "connect server CPU (s)",
  "connect RSS per proxy (KB)",
  "endpoint propagation p99 (ms)",
  "endpoint server CPU per change (s)",
  "endpoint push CPU per change (s)",
  "route propagation p99 (ms)",
  "route push CPU per change (s)",
  "scoped push CPU per change (s)",
  "churn propagation p99 (ms)",
  "churn reconnect→synced p99 (ms)",
  "churn server CPU (s)",
]);

const args = process.argv.slice(2);
const files = args.filter((a) => a !== "--compact");
if (files.length === 0) {
  console.error("usage: node bench/xds-load/summarize.ts [--compact] RESULTS.json...");
  process.exit(2);
}
const runs = files.map((file) => JSON.parse(readFileSync(file, "utf8")) as DashboardRunFile);
if (args.includes("--compact")) {
  compact(runs);
  printGoals(runs);
  for (const table of dashboardTables(runs)) console.log(`\n${table}`);
  process.exit(0);
}
const groups = new Map<string, RunFile[]>();
for (const run of runs) {
  const protocols = new Set(run.results.map((r) => r.protocol));
  for (const protocol of protocols) {
    const c = run.conditions;
    const key = `${c.proxies} proxies × ${c.services} services, scope ${c.scope}, ${protocol}, ${variant(run)}`;
    groups.set(key, [
      ...(groups.get(key) ?? []),
      { ...run, results: run.results.filter((r) => r.protocol === protocol) },
    ]);
  }
}

for (const [key, group] of [...groups].sort((a, b) => a[0].localeCompare(b[0], "en", { numeric: true }))) {
  console.log(`\n#### ${key} (${group.length} run${group.length > 1 ? "s" : ""})\n`);
  console.log("| scenario | metric | meshplane | ceiling | meshplane / ceiling |");
  console.log("| --- | --- | ---: | ---: | ---: |");
  const scenarios = [...new Set(group.flatMap((g) => g.results.map((r) => r.scenario)))];
  for (const scenario of scenarios) {
    for (const metric of metrics) {
      if (metric.scenarios.length > 0 && !metric.scenarios.includes(scenario)) continue;
      const of = (target: string) =>
        group
          .flatMap((g) => g.results.filter((r) => r.scenario === scenario && r.target === target))
          .map(metric.value);
      const mesh = of("meshplane").filter((v): v is number => v !== undefined);
      const ceil = of("ceiling").filter((v): v is number => v !== undefined);
      if (mesh.length === 0 && ceil.length === 0) continue;
      const ratios = metric.ratio
        ? group.flatMap((g) => {
            const m = g.results.find((r) => r.scenario === scenario && r.target === "meshplane");
            const c = g.results.find((r) => r.scenario === scenario && r.target === "ceiling");
            const a = m && metric.value(m);
            const b = c && metric.value(c);
            return a !== undefined && b !== undefined && b > 0 ? [a / b] : [];
          })
        : [];
      const ratio = ratios.length ? `${cell(ratios, 2)}×` : "";
      console.log(
        `| ${scenario} | ${metric.name} | ${cell(mesh, metric.digits)} | ${cell(ceil, metric.digits)} | ${ratio} |`,
      );
    }
  }
}
printGoals(runs);
for (const table of dashboardTables(runs)) console.log(`\n${table}`);
