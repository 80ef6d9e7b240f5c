// Gateway API matches normalised to one path/header form for both route kinds.
import type { GRPCRouteRule, HTTPRouteRule } from "../api/index.ts";
import type { HeaderMatch, PathMatch, RouteMatch } from "./model.ts";

const matchAll: RouteMatch = {
  path: { type: "Prefix", value: "/" },
  headers: [],
  method: undefined,
  queryParams: [],
  grpc: undefined,
};

export function httpRouteMatches(rule: HTTPRouteRule | undefined): RouteMatch[] {
  // A rule without matches matches every request (PathPrefix "/").
  if (!rule?.matches?.length) return [matchAll];
  return rule.matches.map((match) => ({
    path: httpPath(match.path),
    headers: headerMatches(match.headers),
    method: match.method,
    queryParams: (match.queryParams ?? []).map((q) => ({
      name: q.name,
      type: q.type === "RegularExpression" ? "Regex" : "Exact",
      value: q.value,
    })),
    grpc: undefined,
  }));
}

function httpPath(path: { type?: string; value?: string } | undefined): PathMatch {
  const value = path?.value ?? "/";
  switch (path?.type ?? "PathPrefix") {
    case "Exact":
      return { type: "Exact", value };
    case "RegularExpression":
      return { type: "Regex", value };
    default:
      // Prefix matching is element-wise; a trailing slash is not significant.
      return { type: "Prefix", value: value.length > 1 ? value.replace(/\/+$/, "") : "/" };
  }
}

/** GEP-1016: gRPC service/method matches are matches on the HTTP/2 path `/service/method`. */
export function grpcRouteMatches(rule: GRPCRouteRule | undefined): RouteMatch[] {
  if (!rule?.matches?.length) return [matchAll];
  return rule.matches.map((match) => ({
    path: grpcPath(match.method),
    headers: headerMatches(match.headers),
    method: undefined,
    queryParams: [],
    grpc: { service: match.method?.service, method: match.method?.method },
  }));
}

function grpcPath(method: { type?: string; service?: string; method?: string } | undefined): PathMatch {
  if (!method) return { type: "Prefix", value: "/" };
  const { service, method: name } = method;
  if ((method.type ?? "Exact") === "Exact") {
    if (service !== undefined && name !== undefined) return { type: "Exact", value: `/${service}/${name}` };
    if (service !== undefined) return { type: "Prefix", value: `/${service}/` };
    return { type: "Regex", value: `/[^/]+/${escapeRegex(name ?? "")}` };
  }
  return { type: "Regex", value: `/${service ?? "[^/]+"}/${name ?? "[^/]+"}` };
}

function headerMatches(
  headers: readonly { type?: string; name: string; value: string }[] | undefined,
): HeaderMatch[] {
  // Header names are case-insensitive; with duplicates the first one wins (Gateway API).
  const seen = new Set<string>();
  const result: HeaderMatch[] = [];
  for (const header of headers ?? []) {
    const name = header.name.toLowerCase();
    if (seen.has(name)) continue;
    seen.add(name);
    result.push({ name, type: header.type === "RegularExpression" ? "Regex" : "Exact", value: header.value });
  }
  return result;
}

function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
