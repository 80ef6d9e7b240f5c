// HTTPRoute and GRPCRoute in the model's form: rules with normalised matches, resolved backends,
// filters, timeouts and retries; and the Service ports each route binds to (GEP-1294).
import {
  objectRef,
  parseDurationMs,
  type GRPCRoute,
  type GRPCRouteRule,
  type HTTPRoute,
  type HTTPRouteRule,
} from "../api/index.ts";
import { resolveBackend } from "./backends.ts";
import { ruleFilters, type FilterScope } from "./filters.ts";
import { grpcRouteMatches, httpRouteMatches } from "./matches.ts";
import {
  serviceKey,
  type MeshFault,
  type MeshIssue,
  type MeshRoute,
  type MeshService,
  type RetryPolicy,
  type RouteAttachment,
  type RouteMatch,
  type RouteRule,
} from "./model.ts";
import { proxylessMatchIssues, proxylessRuleIssues } from "./proxyless.ts";

export interface RouteScope {
  readonly services: ReadonlyMap<string, MeshService>;
  /** FaultInjection objects by `namespace/name`. */
  readonly faults: ReadonlyMap<string, MeshFault>;
  readonly issues: MeshIssue[];
  /** Issues that concern proxyless gRPC callers only. */
  readonly proxyless: MeshIssue[];
}

export function toMeshRoute(route: GRPCRoute | HTTPRoute, scope: RouteScope): MeshRoute {
  const namespace = route.metadata.namespace ?? "default";
  const filterScope: FilterScope = {
    ...scope,
    kind: route.kind,
    ref: objectRef(route.kind, route.metadata),
    namespace,
  };
  // A route without rules has one rule that matches everything and has no backends.
  const rules =
    route.kind === "HTTPRoute"
      ? (route.spec.rules ?? [{}]).map((rule, index) => httpRule(rule, index, filterScope))
      : (route.spec.rules ?? [{}]).map((rule, index) => grpcRule(rule, index, filterScope));
  return {
    kind: route.kind,
    namespace,
    name: route.metadata.name,
    creationTimestamp: route.metadata.creationTimestamp ?? "",
    rules,
  };
}

function httpRule(rule: HTTPRouteRule, index: number, scope: FilterScope): RouteRule {
  const field = `spec.rules[${index}]`;
  const common = commonRule(rule, index, httpRouteMatches(rule), scope);
  scope.proxyless.push(
    ...proxylessMatchIssues(scope.ref, rule, field),
    ...proxylessRuleIssues(scope.ref, rule, field),
  );
  return { ...common, ...ruleTimeouts(rule, field, scope), retry: ruleRetry(rule.retry) };
}

/** GRPCRoute v1 has no timeouts or retry: the caller's deadline and the TrafficPolicy apply. */
function grpcRule(rule: GRPCRouteRule, index: number, scope: FilterScope): RouteRule {
  return {
    ...commonRule(rule, index, grpcRouteMatches(rule), scope),
    requestTimeoutMs: undefined,
    backendRequestTimeoutMs: undefined,
    retry: undefined,
  };
}

function commonRule(
  rule: HTTPRouteRule | GRPCRouteRule,
  index: number,
  matches: RouteMatch[],
  scope: FilterScope,
): Pick<RouteRule, "index" | "name" | "matches" | "backends" | "filters"> {
  const field = `spec.rules[${index}]`;
  const backends = (rule.backendRefs ?? []).map((ref, b) => {
    const at = `${field}.backendRefs[${b}]`;
    const { backend, reason } = resolveBackend(ref, at, scope.namespace, scope.services);
    if (reason) {
      scope.issues.push({
        object: scope.ref,
        field: at,
        reason,
        message: backend.invalid ?? reason,
      });
    }
    return backend;
  });
  const filters = ruleFilters(rule, field, matches, scope);
  return { index, name: rule.name, matches, backends, filters };
}

/** GEP-1742: backendRequest bounds one attempt and must not exceed request ("0s" disables either). */
function ruleTimeouts(
  rule: HTTPRouteRule,
  field: string,
  scope: FilterScope,
): Pick<RouteRule, "requestTimeoutMs" | "backendRequestTimeoutMs"> {
  const written = rule.timeouts;
  const request = written?.request === undefined ? undefined : parseDurationMs(written.request);
  const backendRequest =
    written?.backendRequest === undefined ? undefined : parseDurationMs(written.backendRequest);
  if (request !== undefined && request > 0 && backendRequest !== undefined && backendRequest > request) {
    scope.issues.push({
      object: scope.ref,
      field: `${field}.timeouts.backendRequest`,
      reason: "UnsupportedValue",
      message: `${written?.backendRequest} exceeds timeouts.request (${written?.request}); make it at most the request timeout. Each attempt is capped at ${written?.request} until then`,
    });
    return { requestTimeoutMs: request, backendRequestTimeoutMs: request };
  }
  return { requestTimeoutMs: request, backendRequestTimeoutMs: backendRequest };
}

/**
 * GEP-1731 retry: codes as written (each translator maps them for its data plane), attempts
 * default 1 when a retry stanza is present, 0 disables retries.
 */
function ruleRetry(retry: HTTPRouteRule["retry"]): RetryPolicy | undefined {
  if (!retry) return undefined;
  return {
    attempts: retry.attempts ?? 1,
    httpCodes: retry.codes ?? [],
    grpcCodes: [],
    // xDS needs a positive base interval: "0s" (no backoff) becomes the shortest one, 1 ms.
    backoffBaseMs: retry.backoff === undefined ? undefined : Math.max(1, parseDurationMs(retry.backoff)),
    backoffMaxMs: undefined,
  };
}

/** Binds a route to each Service port its parentRefs select (GEP-1294). */
export function resolveParents(
  route: GRPCRoute | HTTPRoute,
  meshRoute: MeshRoute,
  services: ReadonlyMap<string, MeshService>,
  issues: MeshIssue[],
): RouteAttachment[] {
  const attachments: RouteAttachment[] = [];
  route.spec.parentRefs.forEach((parent, i) => {
    const namespace = parent.namespace ?? meshRoute.namespace;
    const service = services.get(serviceKey(namespace, parent.name));
    const field = `spec.parentRefs[${i}]`;
    const issue = (message: string) =>
      issues.push({
        object: objectRef(route.kind, route.metadata),
        field,
        reason: "NoMatchingParent",
        message,
      });
    const what = `parent Service ${namespace}/${parent.name}`;
    if (!service) {
      const names = parent.namespace === undefined ? "name" : "name or namespace";
      return issue(`${what} does not exist: create it or fix ${field}.${names}`);
    }
    const ports = service.ports.filter(
      (p) =>
        (parent.port === undefined || p.port === parent.port) &&
        (parent.sectionName === undefined || p.name === parent.sectionName),
    );
    if (ports.length === 0) {
      // Only port and sectionName narrow the ports, and a Service has at least one.
      const written = [
        ...(parent.port === undefined ? [] : [["port", `${parent.port}`]]),
        ...(parent.sectionName === undefined ? [] : [["sectionName", parent.sectionName]]),
      ];
      const available = service.ports.map((p) => (p.name ? `${p.port} (${p.name})` : `${p.port}`));
      return issue(
        `${what} has no port matching ${written.map(([key, value]) => `${key} ${value}`).join(" and ")}: its ports are ${available.join(", ")}; fix ${written.map(([key]) => `${field}.${key}`).join(" or ")}`,
      );
    }
    for (const port of ports) {
      attachments.push({
        route: meshRoute,
        serviceNamespace: namespace,
        serviceName: parent.name,
        port: port.port,
      });
    }
  });
  return attachments;
}
