// Full decoding of the resources a proxyless gRPC client receives, reduced to what its resolution
// chain needs next (grpc-js-xds: listener → route configuration → clusters → endpoints), plus the
// checks the change scenarios watch for. Every resource is decoded completely with the generated
// @bufbuild/protobuf schemas, as a real client would, and then dropped: only names are kept.
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Any } from "@bufbuild/protobuf/wkt";
import { ClusterSchema } from "../../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import {
  ClusterLoadAssignmentSchema,
  type ClusterLoadAssignment,
} from "../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../src/gen/envoy/config/listener/v3/listener_pb.js";
import {
  RouteConfigurationSchema,
  type RouteConfiguration,
} from "../../src/gen/envoy/config/route/v3/route_pb.js";
import { HttpConnectionManagerSchema } from "../../src/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { TypeUrl } from "../../src/xds/resource-types.ts";
import type { WatchCheck } from "./changes.ts";

export interface Decoded {
  readonly name: string;
  /** Names of the next type in the chain this resource references (RDS, CDS or EDS names). */
  readonly refs: readonly string[];
  /** Whether the resource satisfies `check` (evaluated while the full message is at hand). */
  readonly matches: (check: WatchCheck) => boolean;
}

const never = (): boolean => false;

export function decodeResource(typeUrl: string, any: Any): Decoded {
  if (any.typeUrl !== typeUrl) throw new Error(`resource of type ${any.typeUrl} in a ${typeUrl} response`);
  switch (typeUrl) {
    case TypeUrl.Listener: {
      const listener = anyUnpack(any, ListenerSchema);
      const packed = listener?.apiListener?.apiListener;
      const manager = packed ? anyUnpack(packed, HttpConnectionManagerSchema) : undefined;
      if (!listener || !manager) throw new Error("listener without an HttpConnectionManager api_listener");
      const refs =
        manager.routeSpecifier.case === "rds" ? [manager.routeSpecifier.value.routeConfigName] : [];
      return { name: listener.name, refs, matches: never };
    }
    case TypeUrl.RouteConfiguration: {
      const config = anyUnpack(any, RouteConfigurationSchema);
      if (!config) throw new Error("undecodable RouteConfiguration");
      return { name: config.name, refs: routeClusters(config), matches: (c) => routeMatches(config, c) };
    }
    case TypeUrl.Cluster: {
      const cluster = anyUnpack(any, ClusterSchema);
      if (!cluster) throw new Error("undecodable Cluster");
      return {
        name: cluster.name,
        refs: [cluster.edsClusterConfig?.serviceName || cluster.name],
        matches: never,
      };
    }
    case TypeUrl.ClusterLoadAssignment: {
      const assignment = anyUnpack(any, ClusterLoadAssignmentSchema);
      if (!assignment) throw new Error("undecodable ClusterLoadAssignment");
      return { name: assignment.clusterName, refs: [], matches: (c) => endpointMatches(assignment, c) };
    }
    default:
      throw new Error(`unexpected type ${typeUrl}`);
  }
}

function routeClusters(config: RouteConfiguration): string[] {
  const names = new Set<string>();
  for (const vhost of config.virtualHosts) {
    for (const route of vhost.routes) {
      if (route.action.case !== "route") continue;
      const specifier = route.action.value.clusterSpecifier;
      if (specifier.case === "cluster") names.add(specifier.value);
      else if (specifier.case === "weightedClusters")
        for (const c of specifier.value.clusters) names.add(c.name);
    }
  }
  return [...names].sort();
}

function routeMatches(config: RouteConfiguration, check: WatchCheck): boolean {
  if (check.kind !== "weight") return false;
  return config.virtualHosts.some((vhost) =>
    vhost.routes.some(
      (route) =>
        route.action.case === "route" &&
        route.action.value.clusterSpecifier.case === "weightedClusters" &&
        route.action.value.clusterSpecifier.value.clusters.some(
          (c) => c.name === check.cluster && c.weight === check.weight,
        ),
    ),
  );
}

function endpointMatches(assignment: ClusterLoadAssignment, check: WatchCheck): boolean {
  if (check.kind !== "address") return false;
  return assignment.endpoints.some((locality) =>
    locality.lbEndpoints.some(
      (lb) =>
        lb.hostIdentifier.case === "endpoint" &&
        lb.hostIdentifier.value.address?.address.case === "socketAddress" &&
        lb.hostIdentifier.value.address.address.value.address === check.address,
    ),
  );
}
