// Test support: small xDS resources built by hand, for the parts of the simulation the
// generators do not emit (yet), and for data-plane rules the generators must never trip.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import {
  ClusterSchema,
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
  type Cluster,
} from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import {
  ClusterLoadAssignmentSchema,
  type ClusterLoadAssignment,
} from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteSchema, type Route } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import {
  RouteConfigurationSchema,
  type RouteConfiguration,
} from "../../gen/envoy/config/route/v3/route_pb.js";
import { HTTPFaultSchema } from "../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import {
  HttpConnectionManagerSchema,
  type HttpConnectionManager,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { adsConfigSource, packAny } from "../proto.ts";
import {
  FractionalPercentSchema,
  FractionalPercent_DenominatorType,
  type FractionalPercent,
} from "../../gen/envoy/type/v3/percent_pb.js";
import type { SimulatedRequest, SimulationFlavour, SimulationResources } from "./types.ts";

export const faultFilterName = "envoy.filters.http.fault";

export function manager(
  routeConfigName: string,
  init: MessageInitShape<typeof HttpConnectionManagerSchema> = {},
): HttpConnectionManager {
  return create(HttpConnectionManagerSchema, {
    routeSpecifier: { case: "rds", value: { configSource: adsConfigSource(), routeConfigName } },
    httpFilters: [
      {
        name: faultFilterName,
        configType: { case: "typedConfig", value: packAny(HTTPFaultSchema, create(HTTPFaultSchema)) },
      },
      {
        name: "envoy.filters.http.router",
        configType: { case: "typedConfig", value: packAny(RouterSchema, create(RouterSchema)) },
      },
    ],
    ...(init as object),
  } as MessageInitShape<typeof HttpConnectionManagerSchema>);
}

/** A proxyless client's listener for `target` (gRFC A27 api_listener). */
export function apiListener(target: string, hcm: HttpConnectionManager = manager(target)): Listener {
  return create(ListenerSchema, {
    name: target,
    apiListener: { apiListener: packAny(HttpConnectionManagerSchema, hcm) },
  });
}

/** A sidecar listener on `address:port` whose single chain runs `hcm`. */
export function socketListener(
  name: string,
  address: string,
  port: number,
  hcm: HttpConnectionManager,
): Listener {
  return create(ListenerSchema, {
    name,
    address: {
      address: {
        case: "socketAddress",
        value: { address, portSpecifier: { case: "portValue", value: port } },
      },
    },
    filterChains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            configType: { case: "typedConfig", value: packAny(HttpConnectionManagerSchema, hcm) },
          },
        ],
      },
    ],
  });
}

export function route(init: MessageInitShape<typeof RouteSchema>): Route {
  return create(RouteSchema, init);
}

/** A route to one cluster with a prefix match, the common case. */
export function prefixRoute(
  name: string,
  prefix: string,
  cluster: string,
  extra: MessageInitShape<typeof RouteSchema> = {},
): Route {
  // Init shapes are unions with the message type, so a spread needs the cast back.
  return route({
    name,
    match: { pathSpecifier: { case: "prefix", value: prefix } },
    action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: cluster } } },
    ...(extra as object),
  } as MessageInitShape<typeof RouteSchema>);
}

export function routeConfiguration(name: string, domains: string[], routes: Route[]): RouteConfiguration {
  return create(RouteConfigurationSchema, { name, virtualHosts: [{ name: "vhost", domains, routes }] });
}

export function edsCluster(name: string, init: MessageInitShape<typeof ClusterSchema> = {}): Cluster {
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: adsConfigSource(), serviceName: name },
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
    ...(init as object),
  } as MessageInitShape<typeof ClusterSchema>);
}

export interface TestEndpoint {
  readonly address: string;
  readonly port?: number;
  readonly zone?: string;
  readonly priority?: number;
  readonly health?: HealthStatus;
  /** Locality weight; default: the number of endpoints in the zone. */
  readonly weight?: number;
}

export function assignment(name: string, endpoints: readonly TestEndpoint[]): ClusterLoadAssignment {
  const groups = Map.groupBy(endpoints, (e) => `${e.priority ?? 0}|${e.zone ?? ""}`);
  return create(ClusterLoadAssignmentSchema, {
    clusterName: name,
    endpoints: [...groups.values()].map((members) => ({
      locality: { zone: members[0]?.zone ?? "" },
      priority: members[0]?.priority ?? 0,
      loadBalancingWeight: members[0]?.weight ?? members.length,
      lbEndpoints: members.map((e) => ({
        healthStatus: e.health ?? HealthStatus.HEALTHY,
        hostIdentifier: {
          case: "endpoint" as const,
          value: {
            address: {
              address: {
                case: "socketAddress" as const,
                value: {
                  address: e.address,
                  portSpecifier: { case: "portValue" as const, value: e.port ?? 8080 },
                },
              },
            },
          },
        },
      })),
    })),
  });
}

/** Clusters named `names`, each with one healthy endpoint, plus the given listeners and routes. */
export function resources(
  listeners: Listener[],
  routes: RouteConfiguration[],
  clusterNames: string[],
  extra: Partial<SimulationResources> = {},
): SimulationResources {
  return {
    listeners,
    routes,
    clusters: [...clusterNames.map((name) => edsCluster(name)), ...(extra.clusters ?? [])],
    endpoints: [
      ...clusterNames.map((name, i) => assignment(name, [{ address: `10.0.0.${i + 1}` }])),
      ...(extra.endpoints ?? []),
    ],
  };
}

export const target = "greeter:50051";
export const call: SimulatedRequest = { target, path: "/pkg.Greeter/SayHello" };

/** A listener and route configuration `rc` for `target` in the flavour's layout, plus clusters. */
export function mesh(
  flavour: SimulationFlavour,
  routes: Route[],
  clusters: string[],
  extra: Partial<SimulationResources> = {},
): SimulationResources {
  const listener =
    flavour === "grpc"
      ? apiListener(target, manager("rc"))
      : socketListener("0.0.0.0_50051", "0.0.0.0", 50051, manager("rc"));
  return resources([listener], [routeConfiguration("rc", ["greeter", target], routes)], clusters, extra);
}

export function percent(numerator: number): FractionalPercent {
  return create(FractionalPercentSchema, {
    numerator,
    denominator: FractionalPercent_DenominatorType.HUNDRED,
  });
}

/** `typed_per_filter_config` overriding the fault filter with `init`. */
export function fault(init: MessageInitShape<typeof HTTPFaultSchema>): Record<string, Any> {
  return { [faultFilterName]: packAny(HTTPFaultSchema, create(HTTPFaultSchema, init)) };
}
