// Resources for one proxy profile and request, from one mesh snapshot. Pure: the xDS layer calls
// it and caches the result per snapshot version.
import type { Message } from "@bufbuild/protobuf";
import { generateEnvoyResources } from "./envoy/generator.ts";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../gen/envoy/config/route/v3/route_pb.js";
import { selectRoutes, type MeshSnapshot } from "../mesh/index.ts";
import { edsCluster } from "./grpc/cluster.ts";
import { loadAssignment } from "./grpc/endpoint.ts";
import { grpcClientListener } from "./grpc/listener.ts";
import { portPolicy } from "./grpc/policy.ts";
import { grpcRouteConfiguration } from "./grpc/route.ts";
import {
  blackholeCluster,
  clusterName,
  parseClusterName,
  resolveTarget,
  routeConfigName,
  serviceHost,
  type ServicePortRef,
} from "./names.ts";
import { typeUrlOf } from "./proto.ts";
import type { GeneratedResource, ProxyProfile, ResourceRequest } from "./types.ts";

type Schema =
  | typeof ListenerSchema
  | typeof RouteConfigurationSchema
  | typeof ClusterSchema
  | typeof ClusterLoadAssignmentSchema;

const generators = new Map<
  string,
  (mesh: MeshSnapshot, profile: ProxyProfile, request: ResourceRequest) => GeneratedResource[]
>([
  [typeUrlOf(ListenerSchema), listeners],
  [typeUrlOf(RouteConfigurationSchema), routeConfigurations],
  [typeUrlOf(ClusterSchema), clusters],
  [typeUrlOf(ClusterLoadAssignmentSchema), loadAssignments],
]);

/** Resources of `typeUrl` for a proxy; names that do not resolve are left out (they do not exist). */
export function generateResources(
  mesh: MeshSnapshot,
  profile: ProxyProfile,
  typeUrl: string,
  request: ResourceRequest,
): GeneratedResource[] {
  if (profile.flavour === "envoy") return generateEnvoyResources(mesh, profile, typeUrl, request);
  return generators.get(typeUrl)?.(mesh, profile, request) ?? [];
}

function resource(schema: Schema, name: string, message: Message): GeneratedResource {
  return { name, typeUrl: typeUrlOf(schema), schema, message };
}

function allServicePorts(mesh: MeshSnapshot): ServicePortRef[] {
  return [...mesh.services.values()].flatMap((service) =>
    service.ports.map((p) => ({ service, port: p.port })),
  );
}

/** Every cluster a wildcard CDS or EDS subscriber receives. */
function allClusterNames(mesh: MeshSnapshot): string[] {
  const names = allServicePorts(mesh).map((ref) =>
    clusterName(ref.service.namespace, ref.service.name, ref.port, mesh.domain),
  );
  return [...names, blackholeCluster];
}

function listeners(mesh: MeshSnapshot, profile: ProxyProfile, request: ResourceRequest): GeneratedResource[] {
  const names = request.wildcard
    ? allServicePorts(mesh).map(
        (ref) => `${serviceHost(ref.service.namespace, ref.service.name, mesh.domain)}:${ref.port}`,
      )
    : request.names;
  return names.flatMap((name) => {
    const ref = resolveTarget(mesh, name, profile.namespace);
    if (!ref) return [];
    const table = selectRoutes(
      mesh,
      { namespace: ref.service.namespace, name: ref.service.name, port: ref.port },
      profile.namespace,
    );
    const routeName = routeConfigName(ref, mesh.domain, table?.consumerNamespace);
    return [resource(ListenerSchema, name, grpcClientListener(name, routeName))];
  });
}

function routeConfigurations(
  mesh: MeshSnapshot,
  _profile: ProxyProfile,
  request: ResourceRequest,
): GeneratedResource[] {
  return request.names.flatMap((name) => {
    const [base = "", consumer] = name.split("|consumer=");
    const ref = resolveTarget(mesh, base, "");
    if (!ref) return [];
    const { namespace, name: serviceName } = ref.service;
    const table = selectRoutes(mesh, { namespace, name: serviceName, port: ref.port }, consumer ?? namespace);
    // A consumer name stays valid only while that namespace still has consumer routes.
    if (table?.consumerNamespace !== consumer) return [];
    return [resource(RouteConfigurationSchema, name, grpcRouteConfiguration(name, ref, table, mesh))];
  });
}

function clusters(mesh: MeshSnapshot, _profile: ProxyProfile, request: ResourceRequest): GeneratedResource[] {
  const names = request.wildcard ? allClusterNames(mesh) : request.names;
  return names.flatMap((name) => {
    if (name === blackholeCluster) return [resource(ClusterSchema, name, edsCluster(name, undefined))];
    const ref = parseClusterName(mesh, name);
    return ref ? [resource(ClusterSchema, name, edsCluster(name, portPolicy(ref.service, ref.port)))] : [];
  });
}

function loadAssignments(
  mesh: MeshSnapshot,
  _profile: ProxyProfile,
  request: ResourceRequest,
): GeneratedResource[] {
  const names = request.wildcard ? allClusterNames(mesh) : request.names;
  return names.flatMap((name) => {
    if (name === blackholeCluster)
      return [resource(ClusterLoadAssignmentSchema, name, loadAssignment(name, [], undefined))];
    const ref = parseClusterName(mesh, name);
    const port = ref?.service.ports.find((p) => p.port === ref.port);
    if (!ref || !port) return [];
    const locality = portPolicy(ref.service, ref.port)?.locality;
    return [resource(ClusterLoadAssignmentSchema, name, loadAssignment(name, port.endpoints, locality))];
  });
}
