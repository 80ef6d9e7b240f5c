// The printed table (scenario × meshplane, ceiling, ratio) and the JSON results file.
import type { Dist } from "./measure.ts";
import { total } from "./measure.ts";
import { pushCpuPerChange, type ScenarioResult } from "./scenarios.ts";

interface Row {
  readonly scenario: string;
  readonly metric: string;
  readonly meshplane: string;
  readonly ceiling: string;
  readonly ratio: string;
}

const fixed = (v: number | undefined, digits = 1) =>
  v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits);
const triple = (d: Dist | undefined) =>
  d ? `${fixed(d.p50, 0)} / ${fixed(d.p99, 0)} / ${fixed(d.max, 0)}` : "–";
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !(b > 0) ? "" : `${(a / b).toFixed(2)}×`;
const mb = (bytes: number) => bytes / 2 ** 20;

type Metric = {
  readonly metric: string;
  /** `all`: every result of the same server and protocol, for figures relative to another scenario. */
  readonly show: (r: ScenarioResult, all: readonly ScenarioResult[]) => string;
  /** The number the ratio is taken of (meshplane / ceiling). */
  readonly value?: (r: ScenarioResult) => number | undefined;
  readonly only?: readonly string[];
};

const metrics: readonly Metric[] = [
  {
    metric: "time until all synced (s)",
    only: ["connect"],
    show: (r) => fixed(r.timeToAllSyncedMs === undefined ? undefined : r.timeToAllSyncedMs / 1000, 2),
    value: (r) => r.timeToAllSyncedMs,
  },
  {
    metric: "per-proxy sync p50/p99/max (ms)",
    only: ["connect"],
    show: (r) => triple(r.latency),
    value: (r) => r.latency?.p99,
  },
  {
    metric: "propagation p50/p99/max (ms)",
    only: ["endpoint", "route", "scoped", "churn"],
    show: (r) => triple(r.latency),
    value: (r) => r.latency?.p99,
  },
  {
    metric: "proxies that got it / expected",
    only: ["endpoint", "route", "scoped", "churn"],
    show: (r) => {
      const list = r.changes ?? [];
      return `${list.reduce((s, c) => s + c.seen, 0)} / ${list.reduce((s, c) => s + c.expected, 0)}`;
    },
  },
  {
    metric: "proxies that got any response / holders",
    only: ["endpoint", "route", "scoped"],
    show: (r) => {
      const list = r.changes ?? [];
      return `${list.reduce((s, c) => s + (c.responded ?? 0), 0)} / ${list.reduce((s, c) => s + c.holders, 0)}`;
    },
  },
  {
    metric: "edited Service: holders (share)",
    only: ["scoped"],
    show: (r) =>
      r.service === undefined
        ? "–"
        : `${r.service}: ${r.changes?.[0]?.holders ?? 0} (${fixed(100 * (r.holderShare ?? 0), 2)} %)`,
  },
  {
    metric: "push CPU per change (s)",
    only: ["endpoint", "route", "scoped"],
    show: (r) => fixed(pushCpuPerChange(r), 3),
    value: (r) => pushCpuPerChange(r),
  },
  {
    metric: "push CPU, share of the endpoint change's",
    only: ["scoped"],
    show: (r, all) => {
      const full = all.find((o) => o.scenario === "endpoint");
      const a = pushCpuPerChange(r);
      const b = full && pushCpuPerChange(full);
      return a === undefined || b === undefined || !(b > 0) ? "–" : `${fixed((100 * a) / b, 1)} %`;
    },
  },
  {
    metric: "idle server CPU (s per s)",
    only: ["endpoint", "route", "scoped"],
    show: (r) => fixed(r.idleCpuPerS, 3),
  },
  {
    metric: "API write → acknowledged, mean (ms)",
    only: ["endpoint", "route", "scoped"],
    show: (r) => {
      const writes = (r.changes ?? []).flatMap((c) => (c.writeMs === undefined ? [] : [c.writeMs]));
      return writes.length ? fixed(writes.reduce((s, v) => s + v, 0) / writes.length, 1) : "–";
    },
  },
  {
    metric: "reconnect→synced p50/p99/max (ms)",
    only: ["churn"],
    show: (r) => `${triple(r.reconnect)} (n=${r.reconnect?.count ?? 0})`,
    value: (r) => r.reconnect?.p99,
  },
  { metric: "bytes received (MB)", show: (r) => fixed(mb(r.usage.bytes), 2), value: (r) => r.usage.bytes },
  { metric: "server CPU (s)", show: (r) => fixed(r.usage.serverCpuS, 2), value: (r) => r.usage.serverCpuS },
  { metric: "server RSS (MB)", show: (r) => fixed(r.usage.rssMB, 0), value: (r) => r.usage.rssMB },
  {
    metric: "meshplane heap used / external (MB)",
    show: (r) =>
      r.usage.heapUsedMB === undefined
        ? "–"
        : `${fixed(r.usage.heapUsedMB, 0)} / ${fixed(r.usage.externalMB, 0)}`,
  },
  {
    metric: "meshplane push duration, mean (ms)",
    only: ["endpoint", "route", "scoped", "churn"],
    show: (r) => fixed(r.usage.pushDurationMeanMs, 0),
  },
  {
    metric: "meshplane stale requests / NACKs",
    show: (r) => (r.usage.staleRequests === undefined ? "–" : `${r.usage.staleRequests} / ${r.usage.nacks}`),
  },
  {
    metric: "meshplane event-loop lag, max (ms)",
    show: (r) => fixed(r.usage.loopLagMaxMs, 0),
  },
  {
    metric: "RSS per proxy (KB)",
    only: ["connect"],
    show: (r) => fixed(r.rssPerProxyKB, 1),
    value: (r) => r.rssPerProxyKB,
  },
  {
    metric: "encodes per change",
    only: ["endpoint", "route", "scoped", "churn"],
    show: (r) => {
      const changes = r.changes?.length ?? 0;
      const count = total(r.usage.encodes);
      const types = Object.entries(r.usage.encodes)
        .map(([t, n]) => `${t} ${n}`)
        .join(", ");
      return changes ? `${fixed(count / changes, 1)}${types ? ` (${types})` : ""}` : "–";
    },
  },
  {
    metric: "encodes",
    only: ["connect"],
    show: (r) => `${total(r.usage.encodes)}`,
  },
  { metric: "client CPU, all workers (s)", show: (r) => fixed(r.usage.clientCpuS, 1) },
  {
    metric: "resources resent on resume",
    only: ["churn"],
    show: (r) => (r.protocol === "delta" ? `${r.usage.resent}` : "n/a (SotW resends all)"),
  },
  {
    metric: "accept backlog (ss Send-Q)",
    only: ["connect"],
    show: (r) => (r.backlog === undefined ? "–" : `${r.backlog}`),
  },
  {
    metric: "accept-queue overflows / SYN retransmits",
    only: ["connect", "churn"],
    show: (r) => `${r.usage.listenOverflows} / ${r.usage.synRetrans}`,
  },
];

export function tableRows(results: readonly ScenarioResult[]): Row[] {
  const rows: Row[] = [];
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  for (const scenario of scenarios) {
    const mesh = results.find((r) => r.scenario === scenario && r.target === "meshplane");
    const ceil = results.find((r) => r.scenario === scenario && r.target === "ceiling");
    for (const m of metrics) {
      if (m.only && !m.only.includes(scenario)) continue;
      rows.push({
        scenario,
        metric: m.metric,
        meshplane: mesh
          ? m.show(
              mesh,
              results.filter((r) => r.target === "meshplane"),
            )
          : "–",
        ceiling: ceil
          ? m.show(
              ceil,
              results.filter((r) => r.target === "ceiling"),
            )
          : "–",
        ratio: mesh && ceil && m.value ? ratio(m.value(mesh), m.value(ceil)) : "",
      });
    }
    for (const r of [mesh, ceil]) {
      for (const failure of r?.failures ?? []) {
        rows.push({ scenario, metric: `FAILED (${r?.target})`, meshplane: failure, ceiling: "", ratio: "" });
      }
    }
  }
  return rows;
}

/** A Markdown table, also readable in a terminal. */
export function formatTable(results: readonly ScenarioResult[]): string {
  const rows = tableRows(results);
  const header: Row = {
    scenario: "scenario",
    metric: "metric",
    meshplane: "meshplane",
    ceiling: "ceiling",
    ratio: "ratio",
  };
  const keys = ["scenario", "metric", "meshplane", "ceiling", "ratio"] as const;
  const width = Object.fromEntries(
    keys.map((k) => [k, Math.max(...[header, ...rows].map((r) => r[k].length))]),
  ) as Record<(typeof keys)[number], number>;
  const line = (r: Row) =>
    `| ${keys.map((k, i) => (i < 2 ? r[k].padEnd(width[k]) : r[k].padStart(width[k]))).join(" | ")} |`;
  const rule = `| ${keys.map((k, i) => (i < 2 ? "-".repeat(width[k]) : `${"-".repeat(width[k] - 1)}:`)).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}
