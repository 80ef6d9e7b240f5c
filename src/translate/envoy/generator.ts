// The xDS types of Envoy sidecars, from the same mesh as proxyless gRPC, one resource per name,
// read through the MeshView. Listeners depend on the sidecar's IPs (which ports it serves decide
// the inbound chains) and route configurations on its namespace (consumer routes, short host
// names); clusters and endpoints are the same for every sidecar.
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { loadAssignment } from "../grpc/endpoint.ts";
import { blackholeCluster, clusterName, parseClusterName, portName } from "../names.ts";
import { typeUrlOf } from "../proto.ts";
import type { ResourceType } from "../types.ts";
import type { MeshView } from "../view.ts";
import {
  blackholeClusterResource,
  inboundCluster,
  inboundPassthroughClusterResource,
  outboundCluster,
  outboundPassthroughCluster,
} from "./cluster.ts";
import { outboundListener, virtualInbound, virtualOutbound } from "./listener.ts";
import {
  inboundClusterName,
  inboundPassthroughCluster,
  outboundListenerName,
  parseInboundClusterName,
  parseOutboundRouteName,
  passthroughCluster,
  reservedPorts,
  virtualInboundListener,
  virtualOutboundListener,
} from "./names.ts";
import { outboundRouteConfiguration } from "./route-config.ts";

/** Port numbers with an outbound listener: every Service port but the capture ports. */
function outboundPorts(view: MeshView): number[] {
  return view.ports().filter((p) => !reservedPorts.has(p));
}

/**
 * The ports this workload serves: those of endpoints whose address is one of its IPs, in any
 * Service, ready or not (a pod that is starting up still receives its probes through the proxy).
 */
function servedPorts(view: MeshView): number[] {
  const ports = new Set(view.instanceIps.flatMap((ip) => view.portsAt(ip)));
  return [...ports].sort((a, b) => a - b);
}

function outboundClusterNames(view: MeshView): string[] {
  return view.servicePorts().map((p) => clusterName(p.namespace, p.name, p.port, view.domain));
}

const listeners: ResourceType = {
  schema: ListenerSchema,
  profile: ["instanceIps"],
  names: (view) => [
    virtualOutboundListener,
    virtualInboundListener,
    ...outboundPorts(view).map(outboundListenerName),
  ],
  build: (view, name) => {
    if (name === virtualOutboundListener) return virtualOutbound();
    if (name === virtualInboundListener) return virtualInbound(servedPorts(view));
    const port = outboundPorts(view).find((p) => outboundListenerName(p) === name);
    return port === undefined ? undefined : outboundListener(port);
  },
};

const routeConfigurations: ResourceType = {
  schema: RouteConfigurationSchema,
  profile: ["namespace"],
  names: (view) => outboundPorts(view).map(String),
  build: (view, name) => {
    const port = parseOutboundRouteName(name);
    if (port === undefined || reservedPorts.has(port)) return undefined;
    return outboundRouteConfiguration(view, port, view.callerNamespace);
  },
};

/** Clusters every sidecar has, whatever the mesh holds. */
const fixedClusters = new Map([
  [passthroughCluster, outboundPassthroughCluster],
  [inboundPassthroughCluster, inboundPassthroughClusterResource],
  [blackholeCluster, blackholeClusterResource],
]);

/**
 * Inbound clusters (127.0.0.1:<port>) are the same for every sidecar, so CDS carries one per port
 * any workload may serve and stays shared by all sidecars.
 */
const clusters: ResourceType = {
  schema: ClusterSchema,
  profile: [],
  names: (view) => [
    ...outboundClusterNames(view),
    ...view.endpointPorts().map(inboundClusterName),
    ...fixedClusters.keys(),
  ],
  build: (view, name) => {
    const make = fixedClusters.get(name);
    if (make) return make();
    const inboundPort = parseInboundClusterName(name);
    if (inboundPort !== undefined) {
      return view.endpointPorts().includes(inboundPort) ? inboundCluster(inboundPort) : undefined;
    }
    const ref = parseClusterName(view, name);
    const port = ref?.service.ports.find((p) => p.port === ref.port);
    return ref && port && outboundCluster(name, port, view.policy(portName(ref)));
  },
};

const loadAssignments: ResourceType = {
  schema: ClusterLoadAssignmentSchema,
  profile: [],
  names: outboundClusterNames,
  build: (view, name) => {
    const ref = parseClusterName(view, name);
    if (!ref) return undefined;
    return loadAssignment(name, view.endpoints(portName(ref)), view.policy(portName(ref))?.locality);
  },
};

export const envoyResourceTypes: ReadonlyMap<string, ResourceType> = new Map(
  [listeners, routeConfigurations, clusters, loadAssignments].map((type) => [typeUrlOf(type.schema), type]),
);
