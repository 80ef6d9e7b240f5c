export { generateResources } from "./generator.ts";
export { packedTypesRegistry } from "./json.ts";
export { blackholeCluster, clusterName, resolveTarget, routeConfigName, serviceHost } from "./names.ts";
export { profileKey, type GeneratedResource, type ProxyProfile, type ResourceRequest } from "./types.ts";
export { isAffected, isProfileDependent, typeDependencies } from "./dependencies.ts";
export { meshConfigSnapshot, type MeshConfigSnapshot } from "./snapshot.ts";
export { provenance, type ProvenanceContext } from "./provenance.ts";
