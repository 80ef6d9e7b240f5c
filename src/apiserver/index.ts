// The Kubernetes-compatible API server: discovery, OpenAPI v3, CRUD, PATCH, watch, Table output and
// Status errors over a ResourceStore, so kubectl and client libraries work against meshplane.
export {
  createApiServer,
  serverVersion,
  type ApiMetrics,
  type ApiServer,
  type ApiServerAddress,
  type ApiServerOptions,
} from "./server.ts";
export type { ApiLogger } from "./context.ts";
export { writeKubeconfig, type KubeconfigOptions } from "./kubeconfig.ts";
export { resources, type ResourceDef } from "./resources.ts";
export { ApiError, type Status } from "./status.ts";
export type { PatchEngine, PatchInput } from "./patch-engine.ts";
export { ApiClientError, createApiClient, type ApiClient, type ApiClientOptions } from "./client.ts";
export { traceIdAnnotation, tracedStore } from "./write-trace.ts";
