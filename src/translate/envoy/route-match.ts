// Gateway API matches as Envoy route matches. Everything Gateway API can say has an Envoy form:
// element-wise path prefixes (`path_separated_prefix`), methods (the `:method` pseudo-header) and
// query parameters.
import { create } from "@bufbuild/protobuf";
import {
  HeaderMatcherSchema,
  QueryParameterMatcherSchema,
  RouteMatchSchema,
  type HeaderMatcher,
  type QueryParameterMatcher,
  type RouteMatch as EnvoyRouteMatch,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RegexMatcherSchema } from "../../gen/envoy/type/matcher/v3/regex_pb.js";
import { StringMatcherSchema, type StringMatcher } from "../../gen/envoy/type/matcher/v3/string_pb.js";
import type { PathMatch, RouteMatch } from "../../mesh/index.ts";

export function envoyRouteMatch(match: RouteMatch): EnvoyRouteMatch {
  const headers = match.headers.map((h) => headerMatcher(h.name, stringMatcher(h.type, h.value)));
  if (match.method !== undefined)
    headers.push(headerMatcher(":method", stringMatcher("Exact", match.method)));
  return create(RouteMatchSchema, {
    pathSpecifier: pathSpecifier(match.path),
    headers,
    queryParameters: match.queryParams.map((q) => queryMatcher(q.name, stringMatcher(q.type, q.value))),
  });
}

/**
 * Exact and regex paths map one to one (Envoy matches a regex against the whole path, without the
 * query string). A Gateway API prefix matches whole path elements, which is exactly
 * `path_separated_prefix`; that field rejects `/` and a trailing `/`, and for those a plain
 * prefix means the same (`/` matches everything; `/svc/` is a gRPC service prefix).
 */
function pathSpecifier(path: PathMatch): EnvoyRouteMatch["pathSpecifier"] {
  switch (path.type) {
    case "Exact":
      return { case: "path", value: path.value };
    case "Regex":
      return { case: "safeRegex", value: create(RegexMatcherSchema, { regex: path.value }) };
    case "Prefix":
      return path.value.endsWith("/")
        ? { case: "prefix", value: path.value }
        : { case: "pathSeparatedPrefix", value: path.value };
  }
}

function stringMatcher(type: "Exact" | "Regex", value: string): StringMatcher {
  return create(StringMatcherSchema, {
    matchPattern:
      type === "Exact"
        ? { case: "exact", value }
        : { case: "safeRegex", value: create(RegexMatcherSchema, { regex: value }) },
  });
}

function headerMatcher(name: string, matcher: StringMatcher): HeaderMatcher {
  return create(HeaderMatcherSchema, {
    name,
    headerMatchSpecifier: { case: "stringMatch", value: matcher },
  });
}

function queryMatcher(name: string, matcher: StringMatcher): QueryParameterMatcher {
  return create(QueryParameterMatcherSchema, {
    name,
    queryParameterMatchSpecifier: { case: "stringMatch", value: matcher },
  });
}
