// One route per route-table entry, in Gateway API precedence order (Envoy takes the first route
// that matches; a request matching none gets 404, as Gateway API asks once a route attaches).
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { HTTPFaultSchema } from "../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import {
  RouteActionSchema,
  RouteAction_HashPolicySchema,
  RouteSchema,
  type Route,
  type RouteAction,
  type RouteAction_HashPolicy,
  type WeightedCluster_ClusterWeightSchema,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import type { HashPolicy, RetryPolicy, RouteBackend, RouteKind, RouteTableEntry } from "../../mesh/index.ts";
import { faultFilterName, faultOverride, fractionalPercent } from "../grpc/fault.ts";
import { blackholeCluster, clusterName, type ServicePortRef } from "../names.ts";
import { durationMs, packAny } from "../proto.ts";
import type { MeshView } from "../view.ts";
import { envoyRetryPolicy } from "./retry.ts";
import { envoyRouteMatch } from "./route-match.ts";
import { headerMutations, mirrorPolicies, redirectAction, urlRewrite } from "./route-filters.ts";

type RouteInit = MessageInitShape<typeof RouteSchema>;
type ClusterWeightInit = MessageInitShape<typeof WeightedCluster_ClusterWeightSchema>;

/** gRPC UNAVAILABLE: what a gRPC caller sees for an invalid backend's share (Gateway API). */
const grpcUnavailable = 14;

/**
 * The route for one table entry. `serviceRetry` is the called Service port's TrafficPolicy
 * retry, used by rules that give none.
 */
export function tableEntryRoute(
  { route, rule, match }: RouteTableEntry,
  serviceRetry: RetryPolicy | undefined,
  view: MeshView,
): Route {
  const redirect = rule.filters.find((f) => f.type === "RequestRedirect");
  const fault = rule.filters.find((f) => f.type === "Fault")?.fault;
  const override = fault && faultOverride(fault);
  const rewrite = rule.filters.find((f) => f.type === "URLRewrite");
  const action: RouteInit["action"] = redirect
    ? { case: "redirect", value: redirectAction(redirect, match.path) }
    : backendAction(rule.backends, route.kind, view, {
        timeout: durationMs(rule.requestTimeoutMs ?? 0),
        retryPolicy: envoyRetryPolicy(rule.retry ?? serviceRetry, rule.backendRequestTimeoutMs),
        requestMirrorPolicies: mirrorPolicies(rule.filters, view.domain),
        ...(rewrite && urlRewrite(rewrite, match.path)),
      });
  return create(RouteSchema, {
    name: `${route.kind}/${route.namespace}/${route.name}/rule/${rule.name ?? rule.index}`,
    match: envoyRouteMatch(match),
    action,
    typedPerFilterConfig: override ? { [faultFilterName]: override } : {},
    ...headerMutations(rule.filters),
  });
}

/** A Service port no route attaches to: every request goes to the Service. */
export function defaultRoute(
  ref: ServicePortRef,
  serviceRetry: RetryPolicy | undefined,
  view: MeshView,
): Route {
  const self: RouteBackend = {
    namespace: ref.service.namespace,
    name: ref.service.name,
    port: ref.port,
    weight: 1,
    invalid: undefined,
  };
  return create(RouteSchema, {
    name: "default",
    match: { pathSpecifier: { case: "prefix", value: "/" } },
    action: backendAction([self], "HTTPRoute", view, {
      timeout: durationMs(0),
      retryPolicy: envoyRetryPolicy(serviceRetry, undefined),
      requestMirrorPolicies: [],
    }),
  });
}

/** RouteAction fields besides where the request goes. */
type ActionOptions = Exclude<MessageInitShape<typeof RouteActionSchema>, RouteAction>;

/**
 * Weighted backends (weight 0 gets nothing, so it is left out). An invalid backend's share must
 * fail (Gateway API): it goes to the endpoint-less cluster with a fault abort of 500 (HTTPRoute)
 * or UNAVAILABLE (GRPCRoute) on that weighted entry. With no valid backend at all the route
 * answers itself: 500, or 503 for gRPC callers, which they see as UNAVAILABLE.
 */
function backendAction(
  backends: readonly RouteBackend[],
  kind: RouteKind,
  view: MeshView,
  options: ActionOptions,
): RouteInit["action"] {
  const live = backends.filter((b) => b.weight > 0);
  const valid = live.filter((b) => !b.invalid);
  if (valid.length === 0) {
    return { case: "directResponse", value: { status: kind === "GRPCRoute" ? 503 : 500 } };
  }
  const weights = new Map<string, number>();
  for (const b of valid) {
    const name = clusterName(b.namespace, b.name, b.port, view.domain);
    weights.set(name, (weights.get(name) ?? 0) + b.weight);
  }
  const failingWeight = live.filter((b) => b.invalid).reduce((sum, b) => sum + b.weight, 0);
  const clusters: ClusterWeightInit[] = [...weights].map(([name, weight]) => ({
    name,
    weight,
  }));
  if (failingWeight > 0) {
    clusters.push({
      name: blackholeCluster,
      weight: failingWeight,
      typedPerFilterConfig: { [faultFilterName]: abortAll(kind) },
    });
  }
  const only = clusters.length === 1 ? clusters[0] : undefined;
  return {
    case: "route",
    value: create(RouteActionSchema, {
      clusterSpecifier: only
        ? { case: "cluster", value: only.name ?? "" }
        : { case: "weightedClusters", value: { clusters } },
      ...options,
      hashPolicy: hashPolicies(valid, view),
    }),
  };
}

function abortAll(kind: RouteKind): Any {
  const errorType =
    kind === "GRPCRoute"
      ? { case: "grpcStatus" as const, value: grpcUnavailable }
      : { case: "httpStatus" as const, value: 500 };
  return packAny(
    HTTPFaultSchema,
    create(HTTPFaultSchema, { abort: { errorType, percentage: fractionalPercent(100) } }),
  );
}

/**
 * What a request hashes on when it reaches a RingHash Service: a header or the caller's address.
 * gRPC's per-channel affinity has no Envoy counterpart (every caller of a sidecar shares it).
 * Backends of one route may disagree; their keys are combined in backend order, each once.
 */
function hashPolicies(backends: readonly RouteBackend[], view: MeshView): RouteAction_HashPolicy[] {
  const keys = new Map<string, RouteAction_HashPolicy>();
  for (const backend of backends) {
    const policy = view.policy(backend);
    if (policy?.loadBalancer !== "RingHash") continue;
    for (const hash of policy.hashPolicies) {
      const key = JSON.stringify(hash);
      const entry = envoyHashPolicy(hash);
      if (entry && !keys.has(key)) keys.set(key, entry);
    }
  }
  return [...keys.values()];
}

function envoyHashPolicy(hash: HashPolicy): RouteAction_HashPolicy | undefined {
  switch (hash.type) {
    case "Header":
      return create(RouteAction_HashPolicySchema, {
        policySpecifier: { case: "header", value: { headerName: hash.name } },
      });
    case "SourceIP":
      return create(RouteAction_HashPolicySchema, {
        policySpecifier: { case: "connectionProperties", value: { sourceIp: true } },
      });
    case "Channel":
      return undefined;
  }
}
