// Server-side figures: CPU time and RSS from /proc, and meshplane's Prometheus counters.
import { readdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcSample {
  /** utime + stime, seconds. */
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  /** Peak RSS so far (VmHWM). */
  readonly peakRssBytes: number;
  readonly threads: number;
  readonly fds: number;
}

export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command (which may contain spaces) start at state, field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  let fds = 0;
  try {
    fds = readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    fds = -1;
  }
  return {
    cpuSeconds: (utime + stime) / ticksPerSecond(),
    rssBytes: kb("VmRSS"),
    peakRssBytes: kb("VmHWM"),
    threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0),
    fds,
  };
}

/** System-wide TCP counters (/proc/net/netstat): accept-queue overflows and SYN retransmits. */
export interface TcpCounters {
  readonly listenOverflows: number;
  readonly synRetrans: number;
}

export function tcpCounters(): TcpCounters {
  try {
    const lines = readFileSync("/proc/net/netstat", "utf8").split("\n");
    const header = lines.findIndex((l) => l.startsWith("TcpExt:"));
    const names = (lines[header] ?? "").split(" ");
    const values = (lines[header + 1] ?? "").split(" ").map(Number);
    const get = (name: string) => values[names.indexOf(name)] ?? 0;
    return { listenOverflows: get("ListenOverflows"), synRetrans: get("TCPSynRetrans") };
  } catch {
    return { listenOverflows: 0, synRetrans: 0 };
  }
}

/** Prometheus text → sample name with labels (as written) → value. */
export type Metrics = Map<string, number>;

export async function scrapeMetrics(adminAddress: string): Promise<Metrics> {
  const response = await fetch(`http://${adminAddress}/metrics`, { signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  const metrics: Metrics = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    metrics.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return metrics;
}

/** Sum of every sample of `name` (all label sets), e.g. meshplane_xds_resource_encodes_total. */
export function metricSum(metrics: Metrics | undefined, name: string, labelFilter?: string): number {
  if (!metrics) return 0;
  let total = 0;
  for (const [key, value] of metrics) {
    const base = key.includes("{") ? key.slice(0, key.indexOf("{")) : key;
    if (base === name && (!labelFilter || key.includes(labelFilter))) total += value;
  }
  return total;
}

/** Per-label difference of a counter between two scrapes, e.g. { eds: 1, rds: 0 }. */
export function counterDelta(
  before: Metrics | undefined,
  after: Metrics | undefined,
  name: string,
  label: string,
): Record<string, number> {
  const out: Record<string, number> = {};
  if (!after) return out;
  for (const [key, value] of after) {
    if (!key.startsWith(`${name}{`)) continue;
    const match = new RegExp(`${label}="([^"]*)"`).exec(key);
    const which = match?.[1] ?? "";
    const delta = value - (before?.get(key) ?? 0);
    if (delta !== 0) out[which] = (out[which] ?? 0) + delta;
  }
  return out;
}

/**
 * The accept-queue length the kernel applies to the TCP listener on `port` (`ss -ltn` shows it as
 * Send-Q), or undefined when `ss` is missing or finds no listener.
 */
export function listenBacklog(port: number): number | undefined {
  try {
    const out = execFileSync("ss", ["-ltnH", `sport = :${port}`], { encoding: "utf8", timeout: 5000 });
    const fields = out.trim().split(/\s+/);
    return fields[0] === "LISTEN" ? Number(fields[2]) : undefined;
  } catch {
    return undefined;
  }
}
