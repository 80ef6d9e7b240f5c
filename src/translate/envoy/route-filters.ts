// Gateway API HTTPRoute filters that Envoy applies on the route itself: header modifiers,
// mirrors, URL rewrites and redirects. Faults go through the fault filter (../grpc/fault.ts
// builds the per-route HTTPFault for both flavours).
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  HeaderValueOptionSchema,
  HeaderValueOption_HeaderAppendAction,
  type HeaderValueOption,
} from "../../gen/envoy/config/core/v3/base_pb.js";
import {
  RedirectActionSchema,
  RedirectAction_RedirectResponseCode,
  RouteAction_RequestMirrorPolicySchema,
  type RouteActionSchema,
  type RedirectAction,
  type RouteAction,
  type RouteAction_RequestMirrorPolicy,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import type { HeaderModifier, PathMatch, RouteFilter } from "../../mesh/index.ts";
import { fractionalPercent } from "../grpc/fault.ts";
import { clusterName } from "../names.ts";
import { fullPathRegexRewrite, pathRewrite } from "./rewrite.ts";

type Filter<T extends RouteFilter["type"]> = Extract<RouteFilter, { type: T }>;

export interface HeaderMutations {
  readonly requestHeadersToAdd: HeaderValueOption[];
  readonly requestHeadersToRemove: string[];
  readonly responseHeadersToAdd: HeaderValueOption[];
  readonly responseHeadersToRemove: string[];
}

/** Request and response header modifiers, as route-level header mutations. */
export function headerMutations(filters: readonly RouteFilter[]): HeaderMutations {
  const request = filters.flatMap((f) => (f.type === "RequestHeaderModifier" ? [f.modifier] : []));
  const response = filters.flatMap((f) => (f.type === "ResponseHeaderModifier" ? [f.modifier] : []));
  return {
    requestHeadersToAdd: request.flatMap(headerValues),
    requestHeadersToRemove: request.flatMap((m) => m.remove),
    responseHeadersToAdd: response.flatMap(headerValues),
    responseHeadersToRemove: response.flatMap((m) => m.remove),
  };
}

/** `set` replaces any value the header had; `add` appends to it (Gateway API HTTPHeaderFilter). */
function headerValues(modifier: HeaderModifier): HeaderValueOption[] {
  const option = (name: string, value: string, appendAction: HeaderValueOption_HeaderAppendAction) =>
    create(HeaderValueOptionSchema, { header: { key: name, value }, appendAction });
  return [
    ...modifier.set.map((h) =>
      option(h.name, h.value, HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD),
    ),
    ...modifier.add.map((h) =>
      option(h.name, h.value, HeaderValueOption_HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD),
    ),
  ];
}

/**
 * One mirror policy per RequestMirror filter. A mirror whose backend is invalid or whose
 * percentage is 0 copies nothing, so it is left out (the mesh layer reports invalid backends).
 */
export function mirrorPolicies(
  filters: readonly RouteFilter[],
  domain: string,
): RouteAction_RequestMirrorPolicy[] {
  return filters.flatMap((f) => {
    if (f.type !== "RequestMirror" || f.backend.invalid || f.percent <= 0) return [];
    const { namespace, name, port } = f.backend;
    return [
      create(RouteAction_RequestMirrorPolicySchema, {
        cluster: clusterName(namespace, name, port, domain),
        runtimeFraction: { defaultValue: fractionalPercent(f.percent) },
      }),
    ];
  });
}

/** URLRewrite's host and path rewrites as RouteAction fields. */
export function urlRewrite(
  filter: Filter<"URLRewrite">,
  matched: PathMatch,
): Exclude<MessageInitShape<typeof RouteActionSchema>, RouteAction> {
  const rewrite = filter.path && pathRewrite(filter.path, matched);
  return {
    ...(filter.hostname !== undefined && {
      hostRewriteSpecifier: { case: "hostRewriteLiteral", value: filter.hostname },
    }),
    ...(rewrite?.case === "prefixRewrite" && { prefixRewrite: rewrite.value }),
    ...(rewrite?.case === "regexRewrite" && { regexRewrite: rewrite.value }),
    ...(rewrite?.case === "fullPath" && { regexRewrite: fullPathRegexRewrite(rewrite.value) }),
  };
}

const redirectCodes: ReadonlyMap<number, RedirectAction_RedirectResponseCode> = new Map([
  [301, RedirectAction_RedirectResponseCode.MOVED_PERMANENTLY],
  [302, RedirectAction_RedirectResponseCode.FOUND],
  [303, RedirectAction_RedirectResponseCode.SEE_OTHER],
  [307, RedirectAction_RedirectResponseCode.TEMPORARY_REDIRECT],
  [308, RedirectAction_RedirectResponseCode.PERMANENT_REDIRECT],
]);

/** RequestRedirect; Gateway API's default status is 302. */
export function redirectAction(filter: Filter<"RequestRedirect">, matched: PathMatch): RedirectAction {
  const rewrite = filter.path && pathRewrite(filter.path, matched);
  return create(RedirectActionSchema, {
    ...(filter.scheme !== undefined && {
      schemeRewriteSpecifier: { case: "schemeRedirect", value: filter.scheme },
    }),
    hostRedirect: filter.hostname ?? "",
    portRedirect: filter.port ?? 0,
    ...(rewrite && {
      pathRewriteSpecifier:
        rewrite.case === "fullPath" ? { case: "pathRedirect", value: rewrite.value } : rewrite,
    }),
    responseCode: redirectCodes.get(filter.statusCode) ?? RedirectAction_RedirectResponseCode.FOUND,
  });
}
