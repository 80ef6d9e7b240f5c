// The xDS types of Envoy sidecars, from the same mesh as proxyless gRPC, one resource per name,
// read through the MeshView. Listeners depend on the sidecar's IPs (which ports it serves decide
// the inbound chains) and route configurations on its namespace (consumer routes, short host
// names); clusters and endpoints are the same for every sidecar; secrets name files in the
// sidecar's certificate directory.
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { SecretSchema } from "../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { workloadSecurity, workloadSpiffeId, type PortSecurity } from "../../mesh/security-model.ts";
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
import type { InboundPort } from "./inbound.ts";
import { jwksCluster, jwksClusterName, jwksEndpoint, type JwksEndpoint } from "./jwt.ts";
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
import { isHttp2Port } from "./protocol.ts";
import { outboundRouteConfiguration } from "./route-config.ts";
import { defaultCertDir, secretNames, secretResource } from "./secret.ts";
import { upstreamMtls } from "./tls.ts";

/** Port numbers with an outbound listener: every Service port but the capture ports. */
function outboundPorts(view: MeshView): number[] {
  return view.ports().filter((p) => !reservedPorts.has(p));
}

/**
 * The ports this workload serves: those of endpoints whose address is one of its IPs, in any
 * Service, ready or not (a pod that is starting up still receives its probes through the proxy),
 * each with the security of the Service ports that send to it.
 */
function servedPorts(view: MeshView): InboundPort[] {
  const byPort = new Map<number, ReturnType<MeshView["security"]>[]>();
  for (const server of view.instanceIps.flatMap((ip) => view.serversAt(ip))) {
    byPort.set(server.targetPort, [...(byPort.get(server.targetPort) ?? []), view.security(server)]);
  }
  return (
    [...byPort]
      .sort(([a], [b]) => a - b)
      // Every entry holds at least one Service port's security.
      .map(([port, all]) => ({ port, security: workloadSecurity(all) as PortSecurity }))
  );
}

/**
 * The JWKS servers of every RequestAuthentication in the mesh, by cluster name. CDS is shared by
 * all sidecars, so each gets them all. A URL the translator refuses is left out here; the
 * listener that needs it fails and names the policy.
 */
function jwksEndpoints(view: MeshView): Map<string, JwksEndpoint> {
  const endpoints = new Map<string, JwksEndpoint>();
  for (const ref of view.servicePorts()) {
    for (const rule of view.security(ref).jwtRules) {
      try {
        const endpoint = jwksEndpoint(rule);
        if (endpoint) endpoints.set(jwksClusterName(endpoint), endpoint);
      } catch {
        continue;
      }
    }
  }
  return endpoints;
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
    if (name === virtualInboundListener)
      return virtualInbound(servedPorts(view), view.meshSecurity().mtls, view.trustDomain);
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
    ...jwksEndpoints(view).keys(),
  ],
  build: (view, name) => {
    const make = fixedClusters.get(name);
    if (make) return make();
    const inboundPort = parseInboundClusterName(name);
    if (inboundPort !== undefined) {
      return view.endpointPorts().includes(inboundPort) ? inboundCluster(inboundPort) : undefined;
    }
    if (name.startsWith("jwks|")) {
      const endpoint = jwksEndpoints(view).get(name);
      return endpoint && jwksCluster(endpoint);
    }
    const ref = parseClusterName(view, name);
    const port = ref?.service.ports.find((p) => p.port === ref.port);
    if (!ref || !port) return undefined;
    // Clients originate mTLS exactly to STRICT ports, expecting the identities that serve them.
    const { namespace } = ref.service;
    const mtls =
      view.security(portName(ref)).mtls === "STRICT"
        ? upstreamMtls(
            ref.service.serviceAccounts.map((sa) => workloadSpiffeId(view.trustDomain, namespace, sa)),
            isHttp2Port(port),
          )
        : undefined;
    return outboundCluster(name, port, view.policy(portName(ref)), mtls);
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

/** SDS: the two secrets every sidecar's TLS contexts name (secret.ts). */
const secrets: ResourceType = {
  schema: SecretSchema,
  profile: ["certDir"],
  names: () => secretNames,
  build: (view, name) => secretResource(name, view.certDir ?? defaultCertDir),
};

export const envoyResourceTypes: ReadonlyMap<string, ResourceType> = new Map(
  [listeners, routeConfigurations, clusters, loadAssignments, secrets].map((type) => [
    typeUrlOf(type.schema),
    type,
  ]),
);
