// RDS for proxyless gRPC clients (gRFC A28): one virtual host per Service port, routes in
// Gateway API precedence order because the client takes the first match.
import { create } from "@bufbuild/protobuf";
import {
  RouteConfigurationSchema,
  type RouteConfiguration,
} from "../../gen/envoy/config/route/v3/route_pb.js";
import type {
  HeaderMatcher,
  Route,
  RouteAction,
  RouteMatch as EnvoyRouteMatch,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import {
  HeaderMatcherSchema,
  RouteActionSchema,
  RouteSchema,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RegexMatcherSchema } from "../../gen/envoy/type/matcher/v3/regex_pb.js";
import { StringMatcherSchema } from "../../gen/envoy/type/matcher/v3/string_pb.js";
import type { HeaderMatch, RouteBackend, RouteTable, RouteTableEntry } from "../../mesh/index.ts";
import { blackholeCluster, clusterName, serviceHostForms, type ServicePortRef } from "../names.ts";
import { durationMs } from "../proto.ts";

export function grpcRouteConfiguration(
  name: string,
  ref: ServicePortRef,
  table: RouteTable | undefined,
  domain: string,
): RouteConfiguration {
  const hosts = serviceHostForms(ref.service, domain);
  const routes = table
    ? table.entries.flatMap((entry) => entryRoutes(entry, domain))
    : [defaultRoute(clusterName(ref.service.namespace, ref.service.name, ref.port, domain))];
  return create(RouteConfigurationSchema, {
    name,
    virtualHosts: [
      {
        name: `${hosts[3]}:${ref.port}`,
        // grpc-js-xds matches domains against the dialled `host:port` exactly as written.
        domains: hosts.flatMap((host) => [`${host}:${ref.port}`, host]),
        routes,
      },
    ],
  });
}

function defaultRoute(cluster: string): Route {
  return create(RouteSchema, {
    name: "default",
    match: { pathSpecifier: { case: "prefix", value: "/" } },
    action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: cluster } } },
  });
}

/** One table entry as zero, one or two xDS routes. */
function entryRoutes({ route, rule, match }: RouteTableEntry, domain: string): Route[] {
  // Every gRPC call is an HTTP/2 POST: a POST match always holds, any other method never does.
  if (match.method !== undefined && match.method !== "POST") return [];
  // gRFC A28: query parameter matchers never match a gRPC request.
  if (match.queryParams.length > 0) return [];
  const name = `${route.kind}/${route.namespace}/${route.name}/rule/${rule.name ?? rule.index}`;
  const action = routeAction(rule.backends, rule.requestTimeoutMs, domain);
  const headers = match.headers.map(headerMatcher);
  const make = (pathSpecifier: EnvoyRouteMatch["pathSpecifier"]): Route =>
    create(RouteSchema, {
      name,
      match: { pathSpecifier, headers },
      action: { case: "route", value: action },
    });
  const { path } = match;
  switch (path.type) {
    case "Exact":
      return [make({ case: "path", value: path.value })];
    case "Regex":
      return [make({ case: "safeRegex", value: create(RegexMatcherSchema, { regex: path.value }) })];
    case "Prefix":
      if (path.value === "/" || path.value.endsWith("/"))
        return [make({ case: "prefix", value: path.value })];
      // Gateway API prefixes match whole path elements: `/a` matches `/a` and `/a/...`, not `/ab`.
      return [make({ case: "path", value: path.value }), make({ case: "prefix", value: `${path.value}/` })];
  }
}

function headerMatcher(header: HeaderMatch): HeaderMatcher {
  const matchPattern =
    header.type === "Exact"
      ? { case: "exact" as const, value: header.value }
      : { case: "safeRegex" as const, value: create(RegexMatcherSchema, { regex: header.value }) };
  return create(HeaderMatcherSchema, {
    name: header.name,
    headerMatchSpecifier: { case: "stringMatch", value: create(StringMatcherSchema, { matchPattern }) },
  });
}

/**
 * Weighted backends. Invalid backends keep their share but send it to a cluster with no
 * endpoints, so exactly that share fails with UNAVAILABLE (Gateway API: the share of an invalid
 * backendRef must fail). `total_weight` is set to the sum because older gRPC clients divide by it
 * (default 100) while grpc-js-xds 1.14 divides by the sum.
 */
function routeAction(
  backends: readonly RouteBackend[],
  timeoutMs: number | undefined,
  domain: string,
): RouteAction {
  const weights = new Map<string, number>();
  for (const backend of backends) {
    if (backend.weight === 0) continue;
    const cluster = backend.invalid
      ? blackholeCluster
      : clusterName(backend.namespace, backend.name, backend.port, domain);
    weights.set(cluster, (weights.get(cluster) ?? 0) + backend.weight);
  }
  const clusters = [...weights].map(([name, weight]) => ({ name, weight }));
  const timeout =
    timeoutMs === undefined
      ? {}
      : {
          maxStreamDuration: {
            maxStreamDuration: durationMs(timeoutMs),
            grpcTimeoutHeaderMax: durationMs(timeoutMs),
          },
        };
  const only = clusters.length === 1 ? clusters[0] : undefined;
  if (clusters.length === 0 || only) {
    return create(RouteActionSchema, {
      clusterSpecifier: { case: "cluster", value: only?.name ?? blackholeCluster },
      ...timeout,
    });
  }
  return create(RouteActionSchema, {
    clusterSpecifier: {
      case: "weightedClusters",
      value: { clusters, totalWeight: clusters.reduce((sum, c) => sum + c.weight, 0) },
    },
    ...timeout,
  });
}
