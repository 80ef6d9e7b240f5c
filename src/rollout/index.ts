export {
  RolloutController,
  rolloutType,
  type EventSink,
  type RolloutControllerOptions,
  type RolloutMetrics,
} from "./controller.ts";
export { HttpMetricReader, type MetricReader, type HttpMetricReaderOptions } from "./providers.ts";
export { StoreEventSink, eventType } from "./events.ts";
export { readStatus, type RolloutStatus, type RolloutPhase } from "./status.ts";
export { grpcHandledMetric, grpcHandlingSecondsMetric, prometheusQuery } from "./templates.ts";
