// Distributions and before/after snapshots of the server and the workers around a scenario.
import type { WorkerStats } from "./ipc.ts";
import { counterDelta, metricSum, tcpCounters, type Metrics, type TcpCounters } from "./procstat.ts";
import type { ProcSample } from "./procstat.ts";
import type { Target } from "./targets.ts";
import type { WorkerPool } from "./workers.ts";

export interface Dist {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentiles. */
export function dist(values: readonly number[]): Dist | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
  return {
    count: sorted.length,
    min: sorted[0] as number,
    p50: rank(0.5),
    p90: rank(0.9),
    p99: rank(0.99),
    max: sorted[sorted.length - 1] as number,
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface Snapshot {
  readonly at: number;
  readonly proc: ProcSample;
  readonly metrics: Metrics | undefined;
  readonly ownEncodes: number | undefined;
  readonly workers: WorkerStats;
  readonly tcp: TcpCounters;
}

export async function snapshot(target: Target, pool: WorkerPool): Promise<Snapshot> {
  const [metrics, ownEncodes, workers] = await Promise.all([
    target.metrics(),
    target.ownEncodes(),
    pool.stats(),
  ]);
  return { at: Date.now(), proc: target.sample(), metrics, ownEncodes, workers, tcp: tcpCounters() };
}

export interface Usage {
  readonly wallS: number;
  readonly serverCpuS: number;
  readonly rssMB: number;
  readonly peakRssMB: number;
  readonly serverFds: number;
  readonly clientCpuS: number;
  readonly clientRssMB: number;
  /** Payload bytes every proxy received (DiscoveryResponse messages, before HTTP/2 framing). */
  readonly bytes: number;
  readonly responses: number;
  readonly resent: number;
  readonly clientErrors: number;
  readonly errorSamples: readonly string[];
  /** meshplane_xds_resource_encodes_total by type (the ceiling: its own count, as "all"). */
  readonly encodes: Readonly<Record<string, number>>;
  readonly pushes: Readonly<Record<string, number>>;
  /** System-wide: connections the kernel dropped because an accept queue was full, SYNs resent. */
  readonly listenOverflows: number;
  readonly synRetrans: number;
  /** meshplane's own view (/metrics, after the scenario); undefined for the ceiling. */
  readonly heapUsedMB?: number;
  readonly externalMB?: number;
  /** Worst event-loop delay since the previous scrape (prom-client resets it per scrape). */
  readonly loopLagMaxMs?: number;
  /** meshplane_xds_push_duration_seconds: snapshot applied → every stream pushed, mean over the scenario. */
  readonly pushDurationMeanMs?: number;
  readonly snapshotsPushed?: number;
  /** Requests meshplane ignored as stale, and NACKs: both should stay 0 with this client. */
  readonly staleRequests?: number;
  readonly nacks?: number;
}

export function usage(before: Snapshot, after: Snapshot): Usage {
  const mb = (bytes: number) => bytes / 2 ** 20;
  const encodes =
    after.ownEncodes !== undefined
      ? { all: after.ownEncodes - (before.ownEncodes ?? 0) }
      : counterDelta(before.metrics, after.metrics, "meshplane_xds_resource_encodes_total", "type");
  return {
    wallS: (after.at - before.at) / 1000,
    serverCpuS: after.proc.cpuSeconds - before.proc.cpuSeconds,
    rssMB: mb(after.proc.rssBytes),
    peakRssMB: mb(after.proc.peakRssBytes),
    serverFds: after.proc.fds,
    clientCpuS: after.workers.cpuSeconds - before.workers.cpuSeconds,
    clientRssMB: mb(after.workers.rssBytes),
    bytes: after.workers.bytes - before.workers.bytes,
    responses: after.workers.responses - before.workers.responses,
    resent: after.workers.resent - before.workers.resent,
    clientErrors: after.workers.errors - before.workers.errors,
    errorSamples: after.workers.errorSamples,
    encodes,
    pushes: counterDelta(before.metrics, after.metrics, "meshplane_xds_pushes_total", "type"),
    listenOverflows: after.tcp.listenOverflows - before.tcp.listenOverflows,
    synRetrans: after.tcp.synRetrans - before.tcp.synRetrans,
    ...meshplaneView(before.metrics, after.metrics),
  };
}

function meshplaneView(before: Metrics | undefined, after: Metrics | undefined): Partial<Usage> {
  if (!after) return {};
  const delta = (name: string) => metricSum(after, name) - metricSum(before, name);
  const pushes = delta("meshplane_xds_push_duration_seconds_count");
  return {
    heapUsedMB: metricSum(after, "meshplane_nodejs_heap_size_used_bytes") / 2 ** 20,
    externalMB: metricSum(after, "meshplane_nodejs_external_memory_bytes") / 2 ** 20,
    loopLagMaxMs: metricSum(after, "meshplane_nodejs_eventloop_lag_max_seconds") * 1000,
    pushDurationMeanMs:
      pushes > 0 ? (delta("meshplane_xds_push_duration_seconds_sum") * 1000) / pushes : undefined,
    snapshotsPushed: pushes,
    staleRequests: delta("meshplane_xds_stale_requests_total"),
    nacks: delta("meshplane_xds_nacks_total"),
  };
}

export function total(record: Readonly<Record<string, number>>): number {
  return Object.values(record).reduce((s, v) => s + v, 0);
}
