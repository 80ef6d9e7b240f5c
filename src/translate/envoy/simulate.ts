// Test support: which route of a RouteConfiguration Envoy picks for a request, and the path it
// forwards, following Envoy's documented matching for the fields the generator emits (exact
// domains then `*`, first matching route). Lets tests check behaviour, not just field values.
// JavaScript regular expressions stand in for RE2; the patterns used in tests mean the same.
import type { RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import type {
  HeaderMatcher,
  Route,
  RouteAction,
  RouteMatch,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import type { StringMatcher } from "../../gen/envoy/type/matcher/v3/string_pb.js";

export interface SimRequest {
  readonly host: string;
  /** Path with an optional query string. */
  readonly path: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export function pickRoute(config: RouteConfiguration, request: SimRequest): Route | undefined {
  const host = request.host.toLowerCase();
  const vhost =
    config.virtualHosts.find((v) => v.domains.includes(host)) ??
    config.virtualHosts.find((v) => v.domains.includes("*"));
  return vhost?.routes.find((r) => r.match && routeMatches(r.match, request));
}

function routeMatches(match: RouteMatch, request: SimRequest): boolean {
  const [path = "", query = ""] = request.path.split("?", 2);
  const params = new URLSearchParams(query);
  const headers: Record<string, string> = { ":method": request.method ?? "GET", ...request.headers };
  return (
    pathMatches(match.pathSpecifier, path) &&
    match.headers.every((h) => headerMatches(h, headers[h.name])) &&
    match.queryParameters.every((q) => {
      const value = params.get(q.name);
      const spec = q.queryParameterMatchSpecifier;
      return value !== null && spec.case === "stringMatch" && stringMatches(spec.value, value);
    })
  );
}

function pathMatches(spec: RouteMatch["pathSpecifier"], path: string): boolean {
  switch (spec.case) {
    case "path":
      return path === spec.value;
    case "prefix":
      return path.startsWith(spec.value);
    case "pathSeparatedPrefix":
      return path === spec.value || path.startsWith(`${spec.value}/`);
    case "safeRegex":
      return new RegExp(`^(?:${spec.value.regex})$`).test(path);
    default:
      return false;
  }
}

function headerMatches(matcher: HeaderMatcher, value: string | undefined): boolean {
  const spec = matcher.headerMatchSpecifier;
  return value !== undefined && spec.case === "stringMatch" && stringMatches(spec.value, value);
}

function stringMatches(matcher: StringMatcher, value: string): boolean {
  const pattern = matcher.matchPattern;
  if (pattern.case === "exact") return value === pattern.value;
  if (pattern.case === "safeRegex") return new RegExp(`^(?:${pattern.value.regex})$`).test(value);
  return false;
}

/** The path Envoy forwards after the route's prefix or regex rewrite (query string kept). */
export function rewrittenPath(route: Route, requestPath: string): string {
  const [path = "", query] = requestPath.split("?", 2);
  const action: RouteAction | undefined = route.action.case === "route" ? route.action.value : undefined;
  let result = path;
  if (action?.prefixRewrite && route.match) {
    const spec = route.match.pathSpecifier;
    const matched =
      spec.case === "path" || spec.case === "prefix" || spec.case === "pathSeparatedPrefix" ? spec.value : "";
    result = action.prefixRewrite + path.slice(matched.length);
  } else if (action?.regexRewrite?.pattern) {
    // Envoy substitutes every match (RE2 GlobalReplace).
    const pattern = new RegExp(action.regexRewrite.pattern.regex, "g");
    result = path.replace(pattern, action.regexRewrite.substitution);
  }
  return query === undefined ? result : `${result}?${query}`;
}
