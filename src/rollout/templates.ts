// Ready-made PromQL over the standard gRPC server metrics, the names go-grpc-prometheus
// (grpc-ecosystem/go-grpc-middleware providers/prometheus) and grpc-java's Prometheus exporter use:
//
//   grpc_server_handled_total{grpc_service, grpc_method, grpc_type, grpc_code}   counter
//   grpc_server_handling_seconds_bucket{grpc_service, grpc_method, grpc_type, le} histogram
//
// grpc-js exports nothing by itself; a server counts its calls with prom-client under these names
// (examples/quickstart/lib/grpc-metrics.ts shows how). `selector` picks the canary's series, by
// default `job="<canary backend name>"`, the job name the scrape config gives the canary's target.
import { prometheusDefaults, type PrometheusProvider } from "../api/index.ts";

export const grpcHandledMetric = "grpc_server_handled_total";
export const grpcHandlingSecondsMetric = "grpc_server_handling_seconds";

/** The PromQL a provider spec asks for: its own query, or its template filled in. */
export function prometheusQuery(spec: PrometheusProvider, canaryBackend: string): string {
  if (spec.query !== undefined) return spec.query;
  const selector = spec.selector ?? `job=${JSON.stringify(canaryBackend)}`;
  const window = spec.window ?? prometheusDefaults.window;
  switch (spec.template) {
    case "GrpcLatencyQuantile":
      // Seconds; histogram_quantile over the summed buckets of every canary instance.
      return `histogram_quantile(${spec.quantile ?? prometheusDefaults.quantile}, sum by (le) (rate(${grpcHandlingSecondsMetric}_bucket{${selector}}[${window}])))`;
    default:
      // Share of calls that ended OK. `or vector(0)`: a canary whose every call fails has no OK
      // series at all, which must read 0, not "no data"; no calls at all still reads no data.
      return `(sum(rate(${grpcHandledMetric}{${selector},grpc_code="OK"}[${window}])) or vector(0)) / sum(rate(${grpcHandledMetric}{${selector}}[${window}]))`;
  }
}
