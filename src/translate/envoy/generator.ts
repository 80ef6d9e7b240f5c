// Resources for Envoy sidecars, from the same mesh snapshot as proxyless gRPC. Listeners depend
// on the proxy (its IPs decide the inbound chains) and route configurations on its namespace
// (consumer routes, short host names); clusters and endpoints are the same for every sidecar.
import type { Message } from "@bufbuild/protobuf";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { effectivePolicy, type MeshSnapshot } from "../../mesh/index.ts";
import { loadAssignment } from "../grpc/endpoint.ts";
import { blackholeCluster, clusterName, parseClusterName, type ServicePortRef } from "../names.ts";
import { typeUrlOf } from "../proto.ts";
import type { GeneratedResource, ProxyProfile, ResourceRequest } from "../types.ts";
import {
  blackholeClusterResource,
  inboundCluster,
  inboundPassthroughClusterResource,
  outboundCluster,
  outboundPassthroughCluster,
} from "./cluster.ts";
import { allWorkloadPorts, servedPorts } from "./inbound.ts";
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

type Schema =
  | typeof ListenerSchema
  | typeof RouteConfigurationSchema
  | typeof ClusterSchema
  | typeof ClusterLoadAssignmentSchema;

type Generate = (mesh: MeshSnapshot, profile: ProxyProfile, request: ResourceRequest) => GeneratedResource[];

const generators = new Map<string, Generate>([
  [typeUrlOf(ListenerSchema), listeners],
  [typeUrlOf(RouteConfigurationSchema), routeConfigurations],
  [typeUrlOf(ClusterSchema), clusters],
  [typeUrlOf(ClusterLoadAssignmentSchema), loadAssignments],
]);

/** Resources of `typeUrl` for an Envoy sidecar; names that do not resolve are left out. */
export function generateEnvoyResources(
  mesh: MeshSnapshot,
  profile: ProxyProfile,
  typeUrl: string,
  request: ResourceRequest,
): GeneratedResource[] {
  return generators.get(typeUrl)?.(mesh, profile, request) ?? [];
}

function resource(schema: Schema, name: string, message: Message): GeneratedResource {
  return { name, typeUrl: typeUrlOf(schema), schema, message };
}

function selected(request: ResourceRequest, all: () => string[]): string[] {
  return request.wildcard ? all() : [...request.names];
}

/** Port numbers with an outbound listener: every Service port but the capture ports. */
function outboundPorts(mesh: MeshSnapshot): number[] {
  const ports = new Set<number>();
  for (const service of mesh.services.values()) for (const p of service.ports) ports.add(p.port);
  return [...ports].filter((p) => !reservedPorts.has(p)).sort((a, b) => a - b);
}

function listeners(mesh: MeshSnapshot, profile: ProxyProfile, request: ResourceRequest): GeneratedResource[] {
  const ports = outboundPorts(mesh);
  const byName = new Map<string, () => GeneratedResource>([
    [virtualOutboundListener, () => resource(ListenerSchema, virtualOutboundListener, virtualOutbound())],
    [
      virtualInboundListener,
      () =>
        resource(
          ListenerSchema,
          virtualInboundListener,
          virtualInbound(servedPorts(mesh, profile.instanceIps)),
        ),
    ],
    ...ports.map((port): [string, () => GeneratedResource] => [
      outboundListenerName(port),
      () => resource(ListenerSchema, outboundListenerName(port), outboundListener(port)),
    ]),
  ]);
  return selected(request, () => [...byName.keys()]).flatMap((name) => byName.get(name)?.() ?? []);
}

function routeConfigurations(
  mesh: MeshSnapshot,
  profile: ProxyProfile,
  request: ResourceRequest,
): GeneratedResource[] {
  return selected(request, () => outboundPorts(mesh).map(String)).flatMap((name) => {
    const port = parseOutboundRouteName(name);
    const config =
      port === undefined || reservedPorts.has(port)
        ? undefined
        : outboundRouteConfiguration(mesh, port, profile.namespace);
    return config ? [resource(RouteConfigurationSchema, name, config)] : [];
  });
}

function outboundRefs(mesh: MeshSnapshot): ServicePortRef[] {
  return [...mesh.services.values()].flatMap((service) =>
    service.ports.map((p) => ({ service, port: p.port })),
  );
}

function outboundClusterNames(mesh: MeshSnapshot): string[] {
  return outboundRefs(mesh).map((ref) =>
    clusterName(ref.service.namespace, ref.service.name, ref.port, mesh.domain),
  );
}

function clusters(mesh: MeshSnapshot, _profile: ProxyProfile, request: ResourceRequest): GeneratedResource[] {
  const workloadPorts = new Set(allWorkloadPorts(mesh));
  const fixed = new Map([
    [passthroughCluster, outboundPassthroughCluster],
    [inboundPassthroughCluster, inboundPassthroughClusterResource],
    [blackholeCluster, blackholeClusterResource],
  ]);
  const names = selected(request, () => [
    ...outboundClusterNames(mesh),
    ...[...workloadPorts].map(inboundClusterName),
    ...fixed.keys(),
  ]);
  return names.flatMap((name) => {
    const make = fixed.get(name);
    if (make) return [resource(ClusterSchema, name, make())];
    const inboundPort = parseInboundClusterName(name);
    if (inboundPort !== undefined) {
      return workloadPorts.has(inboundPort)
        ? [resource(ClusterSchema, name, inboundCluster(inboundPort))]
        : [];
    }
    const ref = parseClusterName(mesh, name);
    const port = ref?.service.ports.find((p) => p.port === ref.port);
    return ref && port
      ? [resource(ClusterSchema, name, outboundCluster(name, port, effectivePolicy(ref.service, port)))]
      : [];
  });
}

function loadAssignments(
  mesh: MeshSnapshot,
  _profile: ProxyProfile,
  request: ResourceRequest,
): GeneratedResource[] {
  return selected(request, () => outboundClusterNames(mesh)).flatMap((name) => {
    const ref = parseClusterName(mesh, name);
    const port = ref?.service.ports.find((p) => p.port === ref.port);
    if (!ref || !port) return [];
    const locality = effectivePolicy(ref.service, port)?.locality;
    return [resource(ClusterLoadAssignmentSchema, name, loadAssignment(name, port.endpoints, locality))];
  });
}
