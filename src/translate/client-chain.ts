// What a proxyless gRPC client ends up holding after dialling some targets: the same resolution
// chain grpc-js-xds follows (listener → route configuration → clusters → endpoints). Used by the
// golden tests and by tools that show a proxy's view of the mesh.
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import type { Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "../gen/envoy/config/route/v3/route_pb.js";
import { RouteConfigurationSchema } from "../gen/envoy/config/route/v3/route_pb.js";
import { HttpConnectionManagerSchema } from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { MeshSnapshot } from "../mesh/index.ts";
import { generateResources } from "./generator.ts";
import { typeUrlOf } from "./proto.ts";
import type { GeneratedResource, ProxyProfile } from "./types.ts";

export interface ClientView {
  readonly listeners: GeneratedResource[];
  readonly routeConfigurations: GeneratedResource[];
  readonly clusters: GeneratedResource[];
  readonly loadAssignments: GeneratedResource[];
}

export function clientView(
  mesh: MeshSnapshot,
  profile: ProxyProfile,
  targets: readonly string[],
): ClientView {
  const fetch = (schema: Parameters<typeof typeUrlOf>[0], names: Iterable<string>) =>
    generateResources(mesh, profile, typeUrlOf(schema), {
      wildcard: false,
      names: [...new Set(names)].sort(),
    });
  const listeners = fetch(ListenerSchema, targets);
  const routeConfigurations = fetch(
    RouteConfigurationSchema,
    listeners.flatMap((l) => routeNameOf(l.message as Listener)),
  );
  const clusters = fetch(
    ClusterSchema,
    routeConfigurations.flatMap((r) => clustersOf(r.message as RouteConfiguration)),
  );
  const loadAssignments = fetch(
    ClusterLoadAssignmentSchema,
    clusters.map((c) => (c.message as Cluster).edsClusterConfig?.serviceName || c.name),
  );
  return { listeners, routeConfigurations, clusters, loadAssignments };
}

function routeNameOf(listener: Listener): string[] {
  const packed = listener.apiListener?.apiListener;
  const manager = packed ? anyUnpack(packed, HttpConnectionManagerSchema) : undefined;
  return manager?.routeSpecifier.case === "rds" ? [manager.routeSpecifier.value.routeConfigName] : [];
}

function clustersOf(config: RouteConfiguration): string[] {
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
