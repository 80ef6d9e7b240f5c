export type { ConfigSnapshot, EncodedResource, ResolvedResources } from "./cache.ts";
export { pushOrder, TypeUrl, typeShortName } from "./resource-types.ts";
export { defaultAcceptBacklog, listenError } from "./accept-listener.ts";
export { XdsServer, type XdsServerOptions } from "./server.ts";
export { clientAuthModes, type ClientAuth, type ServerKeyPairSource, type XdsTls } from "./tls.ts";
export type {
  NackRecord,
  NackReport,
  ObjectRejection,
  ProxyRejection,
  ProxyStatus,
  ProxyStatusSource,
  ResourceReach,
  ResourceRejection,
  ServedResource,
  TypeSyncStatus,
} from "./status.ts";
export type { BackoffPolicy } from "./rejections.ts";
export { syncStateMeanings, typeSyncState, type SyncState, type TypeSyncVerdict } from "./sync-state.ts";
