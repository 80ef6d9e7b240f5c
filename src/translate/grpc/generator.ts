// The xDS types proxyless gRPC clients fetch (gRFC A27), one resource per name, read through the
// MeshView. Listeners depend on the caller's namespace: a short name such as `greeter:50051`
// resolves in it, and consumer routes depend on it too (route configuration names carry the
// consumer namespace, so route configurations are shared across namespaces). Route
// configurations depend on the client's release only where it needs another encoding. Servers
// (gRFC A36) ask for listeners by their listening address (server-listener.ts); those read the
// Service ports at that address and their security, never the caller's namespace.
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { workloadSecurity, workloadSpiffeId } from "../../mesh/index.ts";
import { authorizationFilters } from "../authz/index.ts";
import {
  blackholeCluster,
  clusterName,
  parseClusterName,
  portName,
  resolveTarget,
  routeConfigName,
  serviceHost,
  type ServicePortRef,
} from "../names.ts";
import { typeUrlOf } from "../proto.ts";
import type { ResourceType } from "../types.ts";
import type { MeshView } from "../view.ts";
import { edsCluster } from "./cluster.ts";
import { loadAssignment } from "./endpoint.ts";
import { grpcClientListener } from "./listener.ts";
import { grpcServerListener, parseServerListenerName, type ListeningAddress } from "./server-listener.ts";
import { clientTlsSocket } from "./tls.ts";
import { grpcRouteConfiguration } from "./route.ts";

/** Every cluster a wildcard CDS or EDS subscriber receives. */
function allClusterNames(view: MeshView): string[] {
  const names = view.servicePorts().map((p) => clusterName(p.namespace, p.name, p.port, view.domain));
  return [...names, blackholeCluster];
}

/**
 * A server's listener, from the Service ports its address backs (gRFC A36). HTTP filters before
 * the router: the RBAC filters of its AuthorizationPolicies (gRFC A41).
 */
function serverListener(view: MeshView, name: string, address: ListeningAddress) {
  const ports = view.servicePortsAt(address.ip, address.port).map((ref) => view.security(ref));
  const security = workloadSecurity(ports) ?? view.meshSecurity();
  const { filters } = authorizationFilters(security, { flavour: "grpc", trustDomain: view.trustDomain });
  return grpcServerListener(name, address, security, filters);
}

/** The servers of a STRICT port, by SPIFFE ID: who a client accepts at the other end (A29). */
function clusterTls(view: MeshView, ref: ServicePortRef) {
  if (view.security(portName(ref)).mtls !== "STRICT") return undefined;
  const { namespace, serviceAccounts } = ref.service;
  return clientTlsSocket(serviceAccounts.map((sa) => workloadSpiffeId(view.trustDomain, namespace, sa)));
}

const listeners: ResourceType = {
  schema: ListenerSchema,
  profile: ["namespace"],
  names: (view) =>
    view.servicePorts().map((p) => `${serviceHost(p.namespace, p.name, view.domain)}:${p.port}`),
  build: (view, name) => {
    const server = parseServerListenerName(name);
    if (server) return serverListener(view, name, server);
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
    if (!ref) return undefined;
    return edsCluster(name, view.policy(portName(ref)), clusterTls(view, ref));
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
