export { ResourceCache, type ConfigSnapshot, type EncodedResource, type ResolvedResources } from "./cache.ts";
export { pushOrder, TypeUrl, typeShortName } from "./resource-types.ts";
export { XdsServer, type XdsServerOptions } from "./server.ts";
export type { NackRecord, ProxyStatus, ProxyStatusSource, TypeSyncStatus } from "./status.ts";
