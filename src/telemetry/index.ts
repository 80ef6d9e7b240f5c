export { createLogger, silentLogger, type Logger, type LoggerOptions } from "./logger.ts";
export { createMetrics, type MeshplaneMetrics } from "./metrics.ts";
