export { generateResources, profileGroup, translate, translateNames } from "./generator.ts";
export { packedTypesRegistry } from "./json.ts";
export { blackholeCluster, clusterName, resolveTarget, routeConfigName, serviceHost } from "./names.ts";
export type {
  GeneratedResource,
  NameList,
  ProxyProfile,
  ResourceRequest,
  ResourceType,
  Translation,
} from "./types.ts";
export { MeshView, UndeclaredProfileReadError, type ProfileField, type Provenance } from "./view.ts";
