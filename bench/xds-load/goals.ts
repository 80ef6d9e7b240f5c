// The targets of issue #11 as one table: for every proxy count and protocol, each figure for
// meshplane and the ceiling (median, min–max over runs), the target, and whether it was met.
// Each run pairs both servers under the same conditions, so a verdict is taken per run and the
// table says in how many runs the target held.
import { median, total } from "./measure.ts";
import { pushCpuPerChange, type ScenarioName, type ScenarioResult } from "./scenarios.ts";
import type { WriteMode } from "./targets.ts";

export interface RunFile {
  readonly conditions: {
    readonly proxies: number;
    readonly services: number;
    readonly scope: number | "all";
    /** Absent in files from before --write: those runs renamed files into the config directory. */
    readonly write?: WriteMode;
    readonly connectWindow?: number;
  };
  readonly results: readonly ScenarioResult[];
}

export const writeOf = (run: RunFile): WriteMode => run.conditions.write ?? "dir";

type Results = readonly ScenarioResult[];

interface Goal {
  readonly figure: string;
  readonly target: string;
  /** Runs whose conditions the target is stated for. */
  readonly applies: (run: RunFile) => boolean;
  /** The figure for one server, from its results of one protocol in one run. */
  readonly value: (results: Results) => number | undefined;
  /** Whether meshplane's figure meets the target, given the ceiling's; absent for a figure shown for context. */
  readonly met?: (meshplane: number, ceiling: number | undefined) => boolean;
  readonly digits: number;
  /** Shown as a percentage (the value is a fraction). */
  readonly percent?: boolean;
}

const find = (results: Results, scenario: ScenarioName) => results.find((r) => r.scenario === scenario);
const p99 = (scenario: ScenarioName) => (results: Results) => find(results, scenario)?.latency?.p99;
const pushCpu = (scenario: ScenarioName) => (results: Results) => {
  const result = find(results, scenario);
  return result && pushCpuPerChange(result);
};
const perChange = (scenario: ScenarioName, of: (r: ScenarioResult) => number) => (results: Results) => {
  const result = find(results, scenario);
  return result?.changes?.length ? of(result) / result.changes.length : undefined;
};
const api = (run: RunFile) => writeOf(run) === "api";
const unpaced = (run: RunFile) => (run.conditions.connectWindow ?? 0) === 0;
const always = () => true;
const within = (factor: number) => (m: number, c: number | undefined) => c !== undefined && m <= factor * c;
const plus = (ms: number) => (m: number, c: number | undefined) => c !== undefined && m <= c + ms;

const goals: readonly Goal[] = [
  ...(["endpoint", "route"] as const).flatMap((scenario): Goal[] => [
    {
      figure: `${scenario} change: API write → ACK p99 (ms)`,
      target: "≤ ceiling + 200 ms",
      applies: api,
      value: p99(scenario),
      met: plus(200),
      digits: 0,
    },
    {
      figure: `${scenario} change: push CPU per change (s)`,
      target: "≤ 1.5× ceiling",
      applies: api,
      value: pushCpu(scenario),
      met: within(1.5),
      digits: 3,
    },
    {
      figure: `${scenario} change: encodes per change`,
      target: "= 1",
      applies: always,
      value: perChange(scenario, (r) => total(r.usage.encodes)),
      met: (m) => m === 1,
      digits: 1,
    },
  ]),
  {
    figure: "scoped change: push CPU / endpoint change's",
    target: "≤ 5 %",
    applies: api,
    value: (results) => {
      const scoped = pushCpu("scoped")(results);
      const full = pushCpu("endpoint")(results);
      return scoped !== undefined && full !== undefined && full > 0 ? scoped / full : undefined;
    },
    met: (m) => m <= 0.05,
    digits: 1,
    percent: true,
  },
  {
    figure: "scoped change: proxies with a response / holders",
    target: "≈ 1 (context)",
    applies: api,
    value: (results) => {
      const changes = find(results, "scoped")?.changes ?? [];
      const holders = changes.reduce((s, c) => s + c.holders, 0);
      return holders > 0 ? changes.reduce((s, c) => s + (c.responded ?? 0), 0) / holders : undefined;
    },
    digits: 2,
  },
  {
    figure: "scoped change: encodes per change",
    target: "= 1",
    applies: always,
    value: perChange("scoped", (r) => total(r.usage.encodes)),
    met: (m) => m === 1,
    digits: 1,
  },
  {
    figure: "connect storm, unpaced: all synced (s)",
    target: "≤ 1.2× ceiling",
    applies: unpaced,
    value: (results) => {
      const ms = find(results, "connect")?.timeToAllSyncedMs;
      return ms === undefined ? undefined : ms / 1000;
    },
    met: within(1.2),
    digits: 1,
  },
  {
    figure: "connect storm: accept-queue overflows",
    target: "0",
    applies: unpaced,
    value: (results) => find(results, "connect")?.usage.listenOverflows,
    met: (m) => m === 0,
    digits: 0,
  },
  {
    figure: "connect: RSS per proxy (KB)",
    target: "≤ 1.1× ceiling",
    applies: always,
    value: (results) => find(results, "connect")?.rssPerProxyKB,
    met: within(1.1),
    digits: 1,
  },
];

function cell(values: readonly number[], digits: number, percent = false): string {
  if (values.length === 0) return "–";
  const f = (v: number) =>
    (percent ? 100 * v : v).toLocaleString("en-US", {
      maximumFractionDigits: digits,
      minimumFractionDigits: digits,
    }) + (percent ? " %" : "");
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? f(lo) : `${f(median(values))} (${f(lo)}–${f(hi)})`;
}

/** Rows of the targets table for the runs given (all of one proxy count and protocol). */
export function goalRows(runs: readonly RunFile[], protocol: string): string[][] {
  const rows: string[][] = [];
  for (const goal of goals) {
    const mesh: number[] = [];
    const ceil: number[] = [];
    let judged = 0;
    let met = 0;
    for (const run of runs.filter(goal.applies)) {
      const of = (target: string) =>
        goal.value(run.results.filter((r) => r.protocol === protocol && r.target === target));
      const m = of("meshplane");
      const c = of("ceiling");
      if (c !== undefined) ceil.push(c);
      if (m === undefined) continue;
      mesh.push(m);
      if (!goal.met) continue;
      judged++;
      if (goal.met(m, c)) met++;
    }
    if (mesh.length === 0 && ceil.length === 0) continue;
    const verdict =
      judged === 0 ? "–" : met === judged ? `met (${met}/${judged})` : `missed (met ${met}/${judged})`;
    const show = (values: number[]) => cell(values, goal.digits, goal.percent);
    rows.push([goal.figure, goal.target, show(mesh), show(ceil), verdict]);
  }
  return rows;
}

export function printGoals(runs: readonly RunFile[]): void {
  const counts = [...new Set(runs.map((r) => r.conditions.proxies))].sort((a, b) => a - b);
  const lines: string[] = [];
  for (const n of counts) {
    for (const protocol of ["sotw", "delta"]) {
      const group = runs.filter((run) => run.conditions.proxies === n);
      for (const row of goalRows(group, protocol)) {
        lines.push(`| ${n.toLocaleString("en-US")} | ${protocol} | ${row.join(" | ")} |`);
      }
    }
  }
  if (lines.length === 0) return;
  console.log(
    "\n#### Targets (issue #11): median (min–max) over runs; change targets from --write api runs, " +
      "connect-storm targets from unpaced runs; verdict: in how many runs the target held\n",
  );
  console.log("| proxies | protocol | figure | target | meshplane | ceiling | verdict |");
  console.log("| ---: | --- | --- | --- | ---: | ---: | --- |");
  for (const line of lines) console.log(line);
}
