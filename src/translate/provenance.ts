// Which configuration objects an xDS resource is built from, as `Kind namespace/name`: when a
// proxy rejects a resource, these are the objects whose status should say so. Mirrors the
// generators' naming (names.ts) without generating anything. Pure.
import { objectRef, serviceNameLabel, type Resource } from "../api/index.ts";
import {
  selectRoutes,
  type MeshRoute,
  type MeshService,
  type MeshServicePort,
  type MeshSnapshot,
} from "../mesh/index.ts";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../gen/envoy/config/route/v3/route_pb.js";
import { parseClusterName, resolveTarget, type ServicePortRef } from "./names.ts";
import { typeUrlOf } from "./proto.ts";

export interface ProvenanceContext {
  /** The namespace of the proxy the resource was built for: short listener names resolve in it. */
  readonly callerNamespace: string;
  /** The resources the mesh was built from; EndpointSlice names are not kept in the mesh model. */
  readonly resources: readonly Resource[];
  /**
   * The proxy's error about the resource, if any: when it quotes an endpoint address, only the
   * EndpointSlices with that address are listed (the others did nothing wrong).
   */
  readonly error?: string;
}

const LDS = typeUrlOf(ListenerSchema);
const RDS = typeUrlOf(RouteConfigurationSchema);
const CDS = typeUrlOf(ClusterSchema);
const EDS = typeUrlOf(ClusterLoadAssignmentSchema);

/**
 * The objects resource `name` of `typeUrl` is built from, the parent Service first; empty for
 * names that resolve to nothing meshplane generates from configuration (e.g. the blackhole).
 * - Listener, RouteConfiguration: the Service, the routes in force on that port for the caller
 *   (a consumer route configuration: only that namespace's routes), the FaultInjection objects
 *   their rules use, and the Service's TrafficPolicy objects (retries come from them).
 * - Cluster: the Service and its TrafficPolicy objects.
 * - ClusterLoadAssignment: the Service, its TrafficPolicy objects (locality weights and
 *   failover) and the EndpointSlices that give the port its endpoints.
 */
export function provenance(
  mesh: MeshSnapshot,
  typeUrl: string,
  name: string,
  context: ProvenanceContext,
): string[] {
  switch (typeUrl) {
    case LDS: {
      const ref = resolveTarget(mesh, name, context.callerNamespace);
      return ref ? routedPortSources(mesh, ref, context.callerNamespace) : [];
    }
    case RDS: {
      const [base = "", consumer] = name.split("|consumer=");
      const ref = resolveTarget(mesh, base, "");
      return ref ? routedPortSources(mesh, ref, consumer ?? ref.service.namespace) : [];
    }
    case CDS: {
      const ref = parseClusterName(mesh, name);
      return ref ? unique([serviceRef(ref.service), ...policySources(ref)]) : [];
    }
    case EDS: {
      const ref = parseClusterName(mesh, name);
      if (!ref) return [];
      const slices = endpointSlices(context.resources, ref.service, servicePort(ref), context.error);
      return unique([serviceRef(ref.service), ...policySources(ref), ...slices]);
    }
    default:
      return [];
  }
}

function routedPortSources(mesh: MeshSnapshot, ref: ServicePortRef, callerNamespace: string): string[] {
  const { namespace, name } = ref.service;
  const table = selectRoutes(mesh, { namespace, name, port: ref.port }, callerNamespace);
  const routes = [...new Set(table?.entries.map((entry) => entry.route) ?? [])];
  const faults = routes.flatMap((route) =>
    route.rules.flatMap((rule) =>
      rule.filters.flatMap((filter) => (filter.type === "Fault" ? [filter.fault.source] : [])),
    ),
  );
  return unique([serviceRef(ref.service), ...routes.map(routeRef).sort(), ...faults, ...policySources(ref)]);
}

function policySources(ref: ServicePortRef): string[] {
  return [ref.service.policy?.source, servicePort(ref)?.policy?.source].filter(
    (source): source is string => source !== undefined,
  );
}

function servicePort(ref: ServicePortRef): MeshServicePort | undefined {
  return ref.service.ports.find((port) => port.port === ref.port);
}

/**
 * Slices owned by the Service (its name label) with a port named like the Service port; only
 * those with an address `error` quotes, when it quotes one.
 */
function endpointSlices(
  resources: readonly Resource[],
  service: MeshService,
  port: MeshServicePort | undefined,
  error: string | undefined,
): string[] {
  const portName = port?.name ?? "";
  const slices = resources.flatMap((resource) =>
    resource.kind === "EndpointSlice" &&
    (resource.metadata.namespace ?? "default") === service.namespace &&
    resource.metadata.labels?.[serviceNameLabel] === service.name &&
    (resource.ports ?? []).some((p) => (p.name ?? "") === portName)
      ? [resource]
      : [],
  );
  const quoted =
    error === undefined
      ? []
      : slices.filter((slice) =>
          slice.endpoints.some((endpoint) => endpoint.addresses.some((address) => quotes(error, address))),
        );
  return (quoted.length > 0 ? quoted : slices)
    .map((slice) => objectRef("EndpointSlice", { ...slice.metadata, namespace: service.namespace }))
    .sort();
}

/** Whether `text` contains `value` as a whole token (`10.0.0.1` is not quoted by `10.0.0.10`). */
function quotes(text: string, value: string): boolean {
  for (let at = text.indexOf(value); at !== -1; at = text.indexOf(value, at + 1)) {
    const before = text[at - 1];
    const boundedBefore = before === undefined || !/[\w.:]/.test(before);
    const boundedAfter = !/^(\w|[.:]\w)/.test(text.slice(at + value.length));
    if (boundedBefore && boundedAfter) return true;
  }
  return false;
}

function serviceRef(service: MeshService): string {
  return objectRef("Service", service);
}

function routeRef(route: MeshRoute): string {
  return objectRef(route.kind, route);
}

function unique(objects: readonly string[]): string[] {
  return [...new Set(objects)];
}
