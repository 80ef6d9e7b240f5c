// RDS for proxyless gRPC clients (gRFC A28): one virtual host per Service port, routes in
// Gateway API precedence order because the client takes the first match. Routes carry what gRPC
// clients apply: timeouts (A31), retries (A44), faults (A33) and ring-hash keys (A42). Header
// modifiers, rewrites and mirrors are ignored by them and not emitted; the mesh layer reports them.
import { create } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import {
  RouteConfigurationSchema,
  type RouteConfiguration,
} from "../../gen/envoy/config/route/v3/route_pb.js";
import type {
  HeaderMatcher,
  Route,
  RouteAction,
  RouteAction_HashPolicy,
  RouteMatch as EnvoyRouteMatch,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import {
  HeaderMatcherSchema,
  RouteActionSchema,
  RouteAction_HashPolicySchema,
  RouteSchema,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RegexMatcherSchema, type RegexMatcher } from "../../gen/envoy/type/matcher/v3/regex_pb.js";
import { StringMatcherSchema } from "../../gen/envoy/type/matcher/v3/string_pb.js";
import type {
  HashPolicy,
  HeaderMatch,
  RetryPolicy,
  RouteBackend,
  RouteRule,
  RouteTable,
  RouteTableEntry,
} from "../../mesh/index.ts";
import { blackholeCluster, clusterName, portName, serviceHostForms, type ServicePortRef } from "../names.ts";
import { durationMs } from "../proto.ts";
import type { ClientEncoding } from "../clients/index.ts";
import type { MeshView } from "../view.ts";
import { faultFilterName, faultOverride } from "./fault.ts";
import { grpcRetryPolicy } from "./retry.ts";

export function grpcRouteConfiguration(
  name: string,
  ref: ServicePortRef,
  table: RouteTable | undefined,
  view: MeshView,
): RouteConfiguration {
  const hosts = serviceHostForms(ref.service, view.domain);
  // A rule without its own retry falls back to the called Service's TrafficPolicy.
  const serviceRetry = view.policy(portName(ref))?.retry;
  const routes = table
    ? table.entries.flatMap((entry) => entryRoutes(entry, serviceRetry, view))
    : [defaultRoute(ref, serviceRetry, view)];
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

/** Without routes, every call goes to the Service itself. */
function defaultRoute(ref: ServicePortRef, retry: RetryPolicy | undefined, view: MeshView): Route {
  const { namespace, name } = ref.service;
  const self = { namespace, name, port: ref.port, weight: 1, invalid: undefined };
  return create(RouteSchema, {
    name: "default",
    match: { pathSpecifier: { case: "prefix", value: "/" } },
    action: { case: "route", value: routeAction([self], undefined, retry, view) },
  });
}

/** One table entry as zero, one or two xDS routes. */
function entryRoutes(
  { route, rule, match }: RouteTableEntry,
  serviceRetry: RetryPolicy | undefined,
  view: MeshView,
): Route[] {
  // Every gRPC call is an HTTP/2 POST: a POST match always holds, any other method never does.
  if (match.method !== undefined && match.method !== "POST") return [];
  // gRFC A28: query parameter matches never match a gRPC request.
  if (match.queryParams.length > 0) return [];
  const name = `${route.kind}/${route.namespace}/${route.name}/rule/${rule.name ?? rule.index}`;
  const encoding = view.clientEncoding;
  const headers = match.headers.map((header) => headerMatcher(header, encoding));
  const { action, typedPerFilterConfig } = ruleAction(rule, serviceRetry, view);
  const make = (pathSpecifier: EnvoyRouteMatch["pathSpecifier"]): Route =>
    create(RouteSchema, {
      name,
      match: { pathSpecifier, headers },
      action: { case: "route", value: action },
      typedPerFilterConfig,
    });
  const { path } = match;
  switch (path.type) {
    case "Exact":
      return [make({ case: "path", value: path.value })];
    case "Regex":
      return [make({ case: "safeRegex", value: wholeMatch(path.value) })];
    case "Prefix":
      if (path.value === "/" || path.value.endsWith("/"))
        return [make({ case: "prefix", value: path.value })];
      // Gateway API prefixes match whole path elements: `/a` matches `/a` and `/a/...`, not `/ab`.
      return [make({ case: "path", value: path.value }), make({ case: "prefix", value: `${path.value}/` })];
  }
}

/**
 * A redirect answers the call without forwarding it; gRPC clients NACK redirect actions and
 * cannot follow one, so matching calls fail on the endpoint-less cluster instead of falling
 * through to a later rule's backends.
 */
function ruleAction(
  rule: RouteRule,
  serviceRetry: RetryPolicy | undefined,
  view: MeshView,
): { action: RouteAction; typedPerFilterConfig: Record<string, Any> } {
  if (rule.filters.some((f) => f.type === "RequestRedirect")) {
    return {
      action: create(RouteActionSchema, { clusterSpecifier: { case: "cluster", value: blackholeCluster } }),
      typedPerFilterConfig: {},
    };
  }
  const fault = rule.filters.find((f) => f.type === "Fault")?.fault;
  const override = fault && faultOverride(fault);
  return {
    action: routeAction(rule.backends, rule.requestTimeoutMs, rule.retry ?? serviceRetry, view),
    typedPerFilterConfig: override ? { [faultFilterName]: override } : {},
  };
}

/**
 * A header match as `string_match` (gRFC A63) for clients that take it, else as `exact_match` or
 * `safe_regex_match`, which mean the same (clients/encoding.ts).
 */
function headerMatcher(header: HeaderMatch, encoding: ClientEncoding): HeaderMatcher {
  const exact = header.type === "Exact";
  if (!encoding.headerStringMatch) {
    return create(HeaderMatcherSchema, {
      name: header.name,
      headerMatchSpecifier: exact
        ? { case: "exactMatch", value: header.value }
        : { case: "safeRegexMatch", value: wholeMatch(header.value) },
    });
  }
  const matchPattern = exact
    ? { case: "exact" as const, value: header.value }
    : { case: "safeRegex" as const, value: wholeMatch(header.value) };
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
  retry: RetryPolicy | undefined,
  view: MeshView,
): RouteAction {
  const live = backends.filter((backend) => backend.weight > 0);
  const weights = new Map<string, number>();
  for (const backend of live) {
    const cluster = backend.invalid
      ? blackholeCluster
      : clusterName(backend.namespace, backend.name, backend.port, view.domain);
    weights.set(cluster, (weights.get(cluster) ?? 0) + backend.weight);
  }
  const clusters = [...weights].map(([name, weight]) => ({ name, weight }));
  const retryPolicy = grpcRetryPolicy(retry);
  const common = {
    ...(timeoutMs !== undefined && {
      maxStreamDuration: {
        maxStreamDuration: durationMs(timeoutMs),
        grpcTimeoutHeaderMax: durationMs(timeoutMs),
      },
    }),
    ...(retryPolicy && { retryPolicy }),
    hashPolicy: hashPolicies(live, view),
  };
  const only = clusters.length === 1 ? clusters[0] : undefined;
  if (clusters.length === 0 || only) {
    return create(RouteActionSchema, {
      clusterSpecifier: { case: "cluster", value: only?.name ?? blackholeCluster },
      ...common,
    });
  }
  return create(RouteActionSchema, {
    clusterSpecifier: {
      case: "weightedClusters",
      value: { clusters, totalWeight: clusters.reduce((sum, c) => sum + c.weight, 0) },
    },
    ...common,
  });
}

/**
 * What a request hashes on when it reaches a RingHash Service (gRFC A42): a header, or the
 * channel for per-client affinity. Source IP has no meaning in a proxyless client. Backends of one
 * route may disagree; their hash keys are combined in backend order, each once.
 */
function hashPolicies(backends: readonly RouteBackend[], view: MeshView): RouteAction_HashPolicy[] {
  const keys = new Map<string, RouteAction_HashPolicy>();
  for (const backend of backends) {
    if (backend.invalid) continue;
    const policy = view.policy(backend);
    if (policy?.loadBalancer !== "RingHash") continue;
    for (const hash of policy.hashPolicies) {
      const key = JSON.stringify(hash);
      const entry = keys.has(key) ? undefined : grpcHashPolicy(hash);
      if (entry) keys.set(key, entry);
    }
  }
  return [...keys.values()];
}

function grpcHashPolicy(hash: HashPolicy): RouteAction_HashPolicy | undefined {
  switch (hash.type) {
    case "Header":
      return create(RouteAction_HashPolicySchema, {
        // gRPC metadata keys are lower-case.
        policySpecifier: { case: "header", value: { headerName: hash.name.toLowerCase() } },
      });
    case "Channel":
      return create(RouteAction_HashPolicySchema, {
        policySpecifier: { case: "filterState", value: { key: "io.grpc.channel_id" } },
      });
    case "SourceIP":
      return undefined;
  }
}

/**
 * A regex that must match the whole value. RE2 (Envoy, grpc-go) matches whole values already;
 * grpc-js-xds anchors with `^${regex}$` and no group, so `gold|silver` would also match
 * `goldfish` there. A non-capturing group makes every client agree.
 */
function wholeMatch(regex: string): RegexMatcher {
  return create(RegexMatcherSchema, { regex: `(?:${regex})` });
}
