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
export {
  clientGroupLabel,
  clientIdentity,
  clientIssues,
  clientName,
  clientOfGroup,
  clientSpecNames,
  ClientSpecError,
  featureUses,
  featureVerdict,
  formatVersion as formatClientVersion,
  parseClientSpec,
  type ClientFeature,
  type ClientIdentity,
  type FeatureVerdict,
} from "./clients/index.ts";
