// `--dashboard`: one page's worth of the web dashboard's live feed held open for the whole run
// against meshplane, read by the harness (so its CPU is not meshplane's): bytes a second, frames,
// the largest frame, and, from meshplane's /metrics, the time it spent building updates, which
// is the server CPU the dashboard costs (the writes themselves are a memcpy per page).
import { metricSum, type Metrics } from "./procstat.ts";

export interface DashboardFeedFigures {
  readonly seconds: number;
  readonly bytes: number;
  readonly bytesPerSecond: number;
  readonly snapshots: number;
  readonly deltas: number;
  readonly firstSnapshotBytes: number;
  readonly largestFrameBytes: number;
  /** Updates meshplane built while the feed was open, and their mean build time. */
  readonly updates: number;
  readonly meanUpdateMs: number;
  /** Seconds of meshplane's main thread spent building updates, per second of the run. */
  readonly updateCpuShare: number;
  readonly error?: string;
}

export interface DashboardFeedReader {
  /** Settles when the feed ends on its own (meshplane closed it, or it failed). */
  readonly ended: Promise<void>;
  /** Closes the feed; `metrics` is meshplane's /metrics scraped just before. */
  stop(metrics: Metrics | undefined): Promise<DashboardFeedFigures>;
}

const updateMetric = "meshplane_dashboard_update_duration_seconds";

export function openDashboardFeed(url: string, metricsAtOpen: Metrics | undefined): DashboardFeedReader {
  const abort = new AbortController();
  const started = performance.now();
  let bytes = 0;
  let snapshots = 0;
  let deltas = 0;
  let firstSnapshotBytes = 0;
  let largestFrameBytes = 0;
  let error: string | undefined;
  const reading = (async () => {
    const response = await fetch(new URL("/api/events", url), { signal: abort.signal });
    if (!response.ok || !response.body) throw new Error(`dashboard feed: HTTP ${response.status}`);
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of response.body) {
      bytes += chunk.byteLength;
      pending += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = pending.indexOf("\n\n")) !== -1) {
        const frame = pending.slice(0, end + 2);
        pending = pending.slice(end + 2);
        const size = Buffer.byteLength(frame);
        largestFrameBytes = Math.max(largestFrameBytes, size);
        if (frame.startsWith("event: snapshot")) {
          if (snapshots++ === 0) firstSnapshotBytes = size;
        } else if (frame.startsWith("event: delta")) deltas++;
      }
    }
  })().catch((e: unknown) => {
    if (!abort.signal.aborted) error = (e as Error).message;
  });
  return {
    ended: reading,
    async stop(metrics) {
      const seconds = (performance.now() - started) / 1000;
      abort.abort();
      await reading;
      const updates =
        metricSum(metrics, `${updateMetric}_count`) - metricSum(metricsAtOpen, `${updateMetric}_count`);
      const updateSeconds =
        metricSum(metrics, `${updateMetric}_sum`) - metricSum(metricsAtOpen, `${updateMetric}_sum`);
      return {
        seconds: round(seconds),
        bytes,
        bytesPerSecond: Math.round(bytes / seconds),
        snapshots,
        deltas,
        firstSnapshotBytes,
        largestFrameBytes,
        updates,
        meanUpdateMs: updates > 0 ? round((updateSeconds / updates) * 1000) : 0,
        updateCpuShare: round(updateSeconds / seconds, 4),
        ...(error ? { error } : {}),
      };
    },
  };
}

function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export function formatDashboardFigures(figures: DashboardFeedFigures): string {
  return (
    `dashboard feed: ${(figures.bytesPerSecond / 1024).toFixed(1)} KiB/s over ${figures.seconds} s ` +
    `(${figures.snapshots} snapshot of ${(figures.firstSnapshotBytes / 1024).toFixed(1)} KiB, ${figures.deltas} deltas, ` +
    `largest frame ${(figures.largestFrameBytes / 1024).toFixed(1)} KiB); ${figures.updates} updates built, ` +
    `mean ${figures.meanUpdateMs} ms, ${(figures.updateCpuShare * 100).toFixed(2)} % of a core` +
    (figures.error ? `; error: ${figures.error}` : "")
  );
}
