// The xDS a data plane ends up holding, fetched the way it subscribes: a proxyless client asks
// for the listeners it dials and follows their names (gRFC A27); Envoy takes every listener and
// cluster (wildcard LDS/CDS) and asks for the route configurations and endpoints they name.
import {
  ClusterSchema,
  Cluster_DiscoveryType,
  type Cluster,
} from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import {
  ClusterLoadAssignmentSchema,
  type ClusterLoadAssignment,
} from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import {
  RouteConfigurationSchema,
  type RouteConfiguration,
} from "../../gen/envoy/config/route/v3/route_pb.js";
import { typeUrlOf } from "../proto.ts";
import type { GeneratedResource, ResourceRequest } from "../types.ts";
import { unpackManager } from "./listener.ts";
import type { SimulationFlavour, SimulationResources } from "./types.ts";

/** One resource type for one request, as the xDS server would answer it. */
export type GenerateResources = (typeUrl: string, request: ResourceRequest) => GeneratedResource[];

export function collectResources(
  generate: GenerateResources,
  flavour: SimulationFlavour,
  targets: readonly string[],
): SimulationResources {
  const fetch = <T>(schema: Parameters<typeof typeUrlOf>[0], names: Iterable<string> | "wildcard") =>
    generate(
      typeUrlOf(schema),
      names === "wildcard"
        ? { wildcard: true, names: [] }
        : { wildcard: false, names: [...new Set(names)].sort() },
    ).map((r) => r.message as T);
  const listeners = fetch<Listener>(ListenerSchema, flavour === "grpc" ? targets : "wildcard");
  const routes = fetch<RouteConfiguration>(RouteConfigurationSchema, listeners.flatMap(routeNames));
  const clusters = fetch<Cluster>(
    ClusterSchema,
    flavour === "grpc" ? routes.flatMap(clusterNames) : "wildcard",
  );
  const endpoints = fetch<ClusterLoadAssignment>(
    ClusterLoadAssignmentSchema,
    clusters.flatMap((c) =>
      c.clusterDiscoveryType.case === "type" && c.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS
        ? [c.edsClusterConfig?.serviceName || c.name]
        : [],
    ),
  );
  return { listeners, routes, clusters, endpoints };
}

function routeNames(listener: Listener): string[] {
  const configs = [
    listener.apiListener?.apiListener,
    ...[
      ...listener.filterChains,
      ...(listener.defaultFilterChain ? [listener.defaultFilterChain] : []),
    ].flatMap((chain) =>
      chain.filters.map((f) => (f.configType.case === "typedConfig" ? f.configType.value : undefined)),
    ),
  ];
  return configs.flatMap((config) => {
    const specifier = unpackManager(config)?.routeSpecifier;
    return specifier?.case === "rds" ? [specifier.value.routeConfigName] : [];
  });
}

function clusterNames(config: RouteConfiguration): string[] {
  return config.virtualHosts.flatMap((vhost) =>
    vhost.routes.flatMap((route) => {
      if (route.action.case !== "route") return [];
      const specifier = route.action.value.clusterSpecifier;
      if (specifier.case === "cluster") return [specifier.value];
      if (specifier.case === "weightedClusters") return specifier.value.clusters.map((c) => c.name);
      return [];
    }),
  );
}
