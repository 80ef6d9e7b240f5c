export * from "./model.ts";
export { buildMeshSnapshot, type BuildOptions } from "./build.ts";
export { selectRoutes, type RouteTable, type RouteTableEntry } from "./select.ts";
export { diffResources, type ChangeSet } from "./changes.ts";
export { grpcRetryableHttpCodes } from "./proxyless.ts";
