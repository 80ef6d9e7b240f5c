// The xDS types proxyless gRPC clients fetch (gRFC A27), one resource per name, read through the
// MeshView. Listeners depend on the caller's namespace: a short name such as `greeter:50051`
// resolves in it, and consumer routes depend on it too (route configuration names carry the
// consumer namespace, so route configurations are shared across namespaces). Route
// configurations depend on the client's release only where it needs another encoding.
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import {
  blackholeCluster,
  clusterName,
  parseClusterName,
  portName,
  resolveTarget,
  routeConfigName,
  serviceHost,
} from "../names.ts";
import { typeUrlOf } from "../proto.ts";
import type { ResourceType } from "../types.ts";
import type { MeshView } from "../view.ts";
import { edsCluster } from "./cluster.ts";
import { loadAssignment } from "./endpoint.ts";
import { grpcClientListener } from "./listener.ts";
import { grpcRouteConfiguration } from "./route.ts";

/** Every cluster a wildcard CDS or EDS subscriber receives. */
function allClusterNames(view: MeshView): string[] {
  const names = view.servicePorts().map((p) => clusterName(p.namespace, p.name, p.port, view.domain));
  return [...names, blackholeCluster];
}

const listeners: ResourceType = {
  schema: ListenerSchema,
  profile: ["namespace"],
  names: (view) =>
    view.servicePorts().map((p) => `${serviceHost(p.namespace, p.name, view.domain)}:${p.port}`),
  build: (view, name) => {
    const caller = view.callerNamespace;
    const ref = resolveTarget(view, name, caller);
    if (!ref) return undefined;
    // The listener names the route configuration, which depends on whose routes apply, not on them.
    const consumer = view.consumerNamespace(portName(ref), caller);
    return grpcClientListener(name, routeConfigName(ref, view.domain, consumer));
  },
};

const routeConfigurations: ResourceType = {
  schema: RouteConfigurationSchema,
  // Header matchers: C-core before 1.56 rejects string_match (clients/encoding.ts).
  profile: ["client"],
  // Route configurations are fetched by name only (the listeners name them).
  names: () => [],
  build: (view, name) => {
    const [base = "", consumer] = name.split("|consumer=");
    const ref = resolveTarget(view, base, "");
    if (!ref) return undefined;
    const caller = consumer ?? ref.service.namespace;
    // A consumer name stays valid only while that namespace still has consumer routes.
    if (view.consumerNamespace(portName(ref), caller) !== consumer) return undefined;
    return grpcRouteConfiguration(name, ref, view.routeTable(portName(ref), caller), view);
  },
};

const clusters: ResourceType = {
  schema: ClusterSchema,
  profile: [],
  names: allClusterNames,
  build: (view, name) => {
    if (name === blackholeCluster) return edsCluster(name, undefined);
    const ref = parseClusterName(view, name);
    return ref && edsCluster(name, view.policy(portName(ref)));
  },
};

const loadAssignments: ResourceType = {
  schema: ClusterLoadAssignmentSchema,
  profile: [],
  names: allClusterNames,
  build: (view, name) => {
    if (name === blackholeCluster) return loadAssignment(name, [], undefined);
    const ref = parseClusterName(view, name);
    if (!ref) return undefined;
    return loadAssignment(name, view.endpoints(portName(ref)), view.policy(portName(ref))?.locality);
  },
};

export const grpcResourceTypes: ReadonlyMap<string, ResourceType> = new Map(
  [listeners, routeConfigurations, clusters, loadAssignments].map((type) => [typeUrlOf(type.schema), type]),
);
