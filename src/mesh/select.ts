// Which routes apply to a caller, in which order. Gateway API mesh semantics (GEP-1294): routes
// in the Service's namespace (producer routes) apply to every caller; routes in the caller's own
// namespace (consumer routes) replace them for that caller. Within the chosen group GRPCRoute wins
// over HTTPRoute on the same port, and rules are ordered by the Gateway API precedence rules,
// because gRPC clients and Envoy take the first route that matches.
import {
  attachmentKey,
  type MeshIssue,
  type MeshRoute,
  type MeshSnapshot,
  type RouteMatch,
  type RouteRule,
} from "./model.ts";

export interface RouteTableEntry {
  readonly route: MeshRoute;
  readonly rule: RouteRule;
  readonly match: RouteMatch;
}

export interface RouteTable {
  /** Set when consumer routes of this namespace replaced the producer routes. */
  readonly consumerNamespace: string | undefined;
  readonly entries: readonly RouteTableEntry[];
}

/** The ordered route table for `caller` calling a Service port; undefined when no route attaches. */
export function selectRoutes(
  mesh: MeshSnapshot,
  service: { namespace: string; name: string; port: number },
  callerNamespace: string,
): RouteTable | undefined {
  const attached = mesh.attachments.get(attachmentKey(service.namespace, service.name, service.port)) ?? [];
  const group = routeGroup(
    attached.map((a) => a.route),
    service.namespace,
    callerNamespace,
  );
  return group && routeTable(group.routes, group.consumerNamespace);
}

/** Who a route is: what decides whether it is in a caller's group, without its rules. */
export type RouteIdentity = Pick<MeshRoute, "kind" | "namespace" | "name">;

/**
 * The routes that apply to `caller` among those attached to a Service port (each once, of the
 * winning kind), and the consumer namespace when its routes replaced the producer's; undefined
 * when none applies. Decided by who the routes are alone, never by their rules.
 */
export function routeGroup<R extends RouteIdentity>(
  attached: readonly R[],
  serviceNamespace: string,
  callerNamespace: string,
): { readonly routes: readonly R[]; readonly consumerNamespace: string | undefined } | undefined {
  const consumer =
    callerNamespace === serviceNamespace ? [] : attached.filter((r) => r.namespace === callerNamespace);
  const group = consumer.length > 0 ? consumer : attached.filter((r) => r.namespace === serviceNamespace);
  if (group.length === 0) return undefined;
  const kind = winningKind(group);
  const unique = new Map(group.filter((r) => r.kind === kind).map((r) => [routeId(r), r]));
  return {
    routes: [...unique.values()],
    consumerNamespace: consumer.length > 0 ? callerNamespace : undefined,
  };
}

/** The table of one caller group's routes (see routeGroup), in precedence order. */
export function routeTable(routes: readonly MeshRoute[], consumerNamespace: string | undefined): RouteTable {
  const kind = winningKind(routes);
  const entries = routes.flatMap((route) =>
    route.rules.flatMap((rule) => rule.matches.map((match) => ({ route, rule, match }))),
  );
  entries.sort(kind === "GRPCRoute" ? compareGrpc : compareHttp);
  return { consumerNamespace, entries };
}

/** Routes that lose to a GRPCRoute on the same Service port and caller group. */
export function routeKindConflicts(mesh: Pick<MeshSnapshot, "attachments">): MeshIssue[] {
  const issues: MeshIssue[] = [];
  for (const [key, attached] of mesh.attachments) {
    const groups = Map.groupBy(attached, (a) => a.route.namespace);
    for (const group of groups.values()) {
      const routes = group.map((a) => a.route);
      if (winningKind(routes) !== "GRPCRoute") continue;
      for (const route of new Set(routes.filter((r) => r.kind === "HTTPRoute"))) {
        issues.push({
          object: `HTTPRoute ${route.namespace}/${route.name}`,
          field: "spec.parentRefs",
          reason: "Conflicted",
          message: `a GRPCRoute is attached to ${key} too; GRPCRoute takes precedence over HTTPRoute on one port, so this route is not used there; move its rules into the GRPCRoute or attach it to another port`,
        });
      }
    }
  }
  return issues;
}

function winningKind(group: readonly RouteIdentity[]): MeshRoute["kind"] {
  return group.some((r) => r.kind === "GRPCRoute") ? "GRPCRoute" : "HTTPRoute";
}

function routeId(route: RouteIdentity): string {
  return `${route.kind} ${route.namespace}/${route.name}`;
}

/**
 * HTTPRoute precedence (HTTPRouteRule): exact path, then the longest prefix, then regular
 * expressions (longest first), then a method match, most header matches, most query param matches.
 */
function compareHttp(a: RouteTableEntry, b: RouteTableEntry): number {
  return (
    pathRank(a.match) - pathRank(b.match) ||
    b.match.path.value.length - a.match.path.value.length ||
    Number(b.match.method !== undefined) - Number(a.match.method !== undefined) ||
    b.match.headers.length - a.match.headers.length ||
    b.match.queryParams.length - a.match.queryParams.length ||
    compareRouteAge(a, b)
  );
}

// Where regular expressions rank is implementation-specific in Gateway API. They go after every
// prefix, as Istio orders them: a prefix says how specific it is, a pattern does not. So a
// regex rule only sees requests that no PathPrefix match (PathPrefix "/" included) takes.
function pathRank(match: RouteMatch): number {
  return match.path.type === "Exact" ? 0 : match.path.type === "Prefix" ? 1 : 2;
}

/** GRPCRoute precedence: most characters in the service, then the method, then most headers. */
function compareGrpc(a: RouteTableEntry, b: RouteTableEntry): number {
  return (
    (b.match.grpc?.service?.length ?? 0) - (a.match.grpc?.service?.length ?? 0) ||
    (b.match.grpc?.method?.length ?? 0) - (a.match.grpc?.method?.length ?? 0) ||
    b.match.headers.length - a.match.headers.length ||
    compareRouteAge(a, b)
  );
}

/** Ties: the oldest route, then namespace/name alphabetically, then rule and match order. */
function compareRouteAge(a: RouteTableEntry, b: RouteTableEntry): number {
  return (
    compareStrings(a.route.creationTimestamp, b.route.creationTimestamp) ||
    compareStrings(`${a.route.namespace}/${a.route.name}`, `${b.route.namespace}/${b.route.name}`) ||
    a.rule.index - b.rule.index ||
    a.rule.matches.indexOf(a.match) - b.rule.matches.indexOf(b.match)
  );
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
