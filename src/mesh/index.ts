export * from "./model.ts";
export * from "./security-model.ts";
export { buildMeshSnapshot, type BuildOptions } from "./build.ts";
export {
  routeGroup,
  routeTable,
  selectRoutes,
  type RouteIdentity,
  type RouteTable,
  type RouteTableEntry,
} from "./select.ts";
export * from "./facets.ts";
export { grpcRetryableHttpCodes } from "./proxyless.ts";
export { defaultJwtLocations, grpcOperationPath } from "./security.ts";
