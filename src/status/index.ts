export { StatusController, type StatusControllerOptions } from "./status-controller.ts";
export { ReplicaReporter, type ReplicaReporterOptions } from "./reporter.ts";
export { meshControllerName } from "./route-status.ts";
export { liveReplicas, replicaReportType, type ReplicaEntry, type ReplicaReport } from "./replica-report.ts";
export { mergeConditions, type Condition, type DesiredCondition } from "./conditions.ts";
export { objectReach } from "./reach.ts";
