import type { Tracing, TracingOptions } from "./tracing.ts";

export { createLogger, silentLogger, type Logger, type LoggerOptions } from "./logger.ts";
export { createMetrics, type MeshplaneMetrics } from "./metrics.ts";
export type { ChangeTrace, Commit, SentResponse, ServedCommit, Tracing, TracingOptions } from "./tracing.ts";

/**
 * Starts exporting traces (tracing.ts). The OpenTelemetry SDK is loaded here, on first use, so a
 * control plane without `--otlp-endpoint` never loads it.
 */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const { Tracing } = await import("./tracing.ts");
  return new Tracing(options);
}
