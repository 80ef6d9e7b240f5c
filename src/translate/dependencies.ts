// Which generated resources a configuration change can affect. Each xDS type declares the kinds
// it is built from; resource names carry the Service they belong to, so most changes touch a
// handful of resources: an EndpointSlice edit recomputes that Service's endpoints and nothing else.
import type { ChangeSet, DataPlaneFlavour } from "../mesh/index.ts";
import type { ProxyProfile } from "./types.ts";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../gen/envoy/config/route/v3/route_pb.js";
import { blackholeCluster } from "./names.ts";
import { typeUrlOf } from "./proto.ts";

const LDS = typeUrlOf(ListenerSchema);
const RDS = typeUrlOf(RouteConfigurationSchema);
const CDS = typeUrlOf(ClusterSchema);
const EDS = typeUrlOf(ClusterLoadAssignmentSchema);

/**
 * The configuration kinds each xDS type is generated from. TrafficPolicy shapes clusters (load
 * balancing, limits), endpoints (locality) and routes (retries, hash keys of the backends); a
 * FaultInjection only routes. Listeners depend on neither: their fault filter is unconditional.
 * The mesh layer marks a policy's target Services in `services` and the parents of routes using
 * a FaultInjection in `routeParents`, which the per-name checks below read.
 */
export const typeDependencies: Readonly<Record<string, readonly string[]>> = {
  [LDS]: ["Service", "GRPCRoute", "HTTPRoute"],
  [RDS]: ["Service", "GRPCRoute", "HTTPRoute", "TrafficPolicy", "FaultInjection"],
  [CDS]: ["Service", "TrafficPolicy"],
  [EDS]: ["Service", "EndpointSlice", "TrafficPolicy"],
};

/**
 * Envoy sidecars also depend on endpoints for listeners and clusters: the inbound listener's
 * chains and the inbound clusters follow the ports the mesh's endpoints serve on.
 */
const envoyTypeDependencies: Readonly<Record<string, readonly string[]>> = {
  ...typeDependencies,
  [LDS]: [...(typeDependencies[LDS] ?? []), "EndpointSlice"],
  [CDS]: [...(typeDependencies[CDS] ?? []), "EndpointSlice"],
};

/**
 * Whether the resource's content depends on who asks. For proxyless gRPC only listeners do: a
 * short name such as `greeter:50051` resolves in the caller's namespace, and consumer routes
 * depend on it too (route names carry the consumer namespace). Envoy sidecars also get their
 * inbound listeners from their own IPs, and per-port route tables that mix producer and
 * consumer routes for the caller's namespace.
 */
export function isProfileDependent(typeUrl: string, profile: ProxyProfile): boolean {
  return typeUrl === LDS || (profile.flavour === "envoy" && typeUrl === RDS);
}

/** The name used for "the list of all resources of this type" (wildcard subscriptions). */
export const wildcardList = "*";

/**
 * Whether resource `name` of `typeUrl` (or, for `wildcardList`, the set of names) may differ after
 * `changes`. Errs on the side of true: a false here means the previous bytes are served as is.
 */
export function isAffected(
  typeUrl: string,
  name: string,
  changes: ChangeSet,
  flavour: DataPlaneFlavour = "grpc",
): boolean {
  const kinds = (flavour === "envoy" ? envoyTypeDependencies : typeDependencies)[typeUrl];
  if (kinds && !kinds.some((kind) => changes.kinds.has(kind))) return false;
  return flavour === "envoy"
    ? isAffectedForEnvoy(typeUrl, name, changes)
    : isAffectedForGrpc(typeUrl, name, changes);
}

function isAffectedForGrpc(typeUrl: string, name: string, changes: ChangeSet): boolean {
  const anyService = changes.services.size > 0;
  if (name === wildcardList) return anyService;
  switch (typeUrl) {
    case EDS: {
      const service = clusterService(name);
      return service !== undefined && (changes.services.has(service) || changes.endpoints.has(service));
    }
    case CDS: {
      const service = clusterService(name);
      return service !== undefined && changes.services.has(service);
    }
    // Routes also depend on whether their backend Services exist and on their policies (hash
    // keys), so any Service change counts.
    case RDS:
      return anyService || changes.routeParents.has(routeService(name) ?? "");
    case LDS:
      return anyService || listenerMayName(name, changes.routeParents);
    default:
      return true;
  }
}

/**
 * Envoy names (src/translate/envoy): listeners `0.0.0.0_<port>` (content fixed by the port),
 * `virtualOutbound`, `virtualInbound` (chains per endpoint port of this proxy); route tables
 * `<port>` mixing every Service on the port; outbound clusters named as for gRPC, and fixed
 * inbound, passthrough and blackhole clusters.
 */
function isAffectedForEnvoy(typeUrl: string, name: string, changes: ChangeSet): boolean {
  const anyService = changes.services.size > 0;
  const anyEndpoints = changes.endpoints.size > 0;
  switch (typeUrl) {
    case LDS:
      if (name === wildcardList) return anyService;
      return name === "virtualInbound" && (anyService || anyEndpoints);
    case RDS:
      return name === wildcardList || anyService || changes.routeParents.size > 0;
    case CDS:
      if (name === wildcardList) return anyService || anyEndpoints;
      return name.startsWith("outbound|") && isAffectedForGrpc(typeUrl, name, changes);
    default:
      return isAffectedForGrpc(typeUrl, name, changes);
  }
}

/** `outbound|<port>||<name>.<ns>.svc.<domain>` → `ns/name`; the blackhole never changes. */
function clusterService(cluster: string): string | undefined {
  if (cluster === blackholeCluster) return undefined;
  const match = /^outbound\|\d+\|\|([^.]+)\.([^.]+)\.svc\./.exec(cluster);
  return match ? `${match[2]}/${match[1]}` : "";
}

/** `<name>.<ns>.svc.<domain>:<port>[|consumer=<ns>]` → `ns/name` */
function routeService(routeName: string): string | undefined {
  const match = /^([^.]+)\.([^.]+)\.svc\./.exec(routeName);
  return match ? `${match[2]}/${match[1]}` : undefined;
}

/**
 * A dialled name may be a short name resolved in the caller's namespace, so match on the Service
 * name alone; an IP (a cluster IP) could be any Service.
 */
function listenerMayName(listener: string, services: ReadonlySet<string>): boolean {
  if (services.size === 0) return false;
  const host = listener.replace(/:\d+$/, "");
  if (/^[\d.]+$/.test(host) || host.includes(":")) return true;
  const name = host.split(".")[0];
  for (const service of services) if (service.endsWith(`/${name}`)) return true;
  return false;
}
