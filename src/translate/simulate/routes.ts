// Route selection: the first route whose conditions all hold wins (Envoy, and gRFC A28 for
// proxyless clients), so every route before it is reported with the condition that failed.
import type { Route } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import type { FractionalPercent } from "../../gen/envoy/type/v3/percent_pb.js";
import { FractionalPercent_DenominatorType } from "../../gen/envoy/type/v3/percent_pb.js";
import { headerCheck, pathCheck, queryCheck, type Check } from "./matchers.ts";
import { headerValue } from "./request.ts";
import type { ObservedRequest, RouteEvaluation, RouteOrigin, SimulationFlavour } from "./types.ts";

/** The origin encoded in meshplane's route names: `HTTPRoute/ns/name/rule/<name|index>`. */
export function routeOrigin(name: string): RouteOrigin | undefined {
  const match = /^(HTTPRoute|GRPCRoute)\/([^/]+)\/([^/]+)\/rule\/(.+)$/.exec(name);
  if (!match) return undefined;
  const [, kind = "", namespace = "", routeName = "", rule = ""] = match;
  return { kind, namespace, name: routeName, rule };
}

/** A FractionalPercent as a fraction of 1, capped at 1. */
export function fractionOf(
  percent: Pick<FractionalPercent, "numerator" | "denominator"> | undefined,
): number {
  if (!percent) return 1;
  const denominator =
    percent.denominator === FractionalPercent_DenominatorType.MILLION
      ? 1_000_000
      : percent.denominator === FractionalPercent_DenominatorType.TEN_THOUSAND
        ? 10_000
        : 100;
  return Math.min(1, percent.numerator / denominator);
}

export interface RouteSelection {
  readonly evaluations: readonly RouteEvaluation[];
  /** The index of the route taken, in the virtual host's list. */
  readonly chosen: number | undefined;
  readonly notes: readonly string[];
}

export function selectRoute(
  routes: readonly Route[],
  request: ObservedRequest,
  flavour: SimulationFlavour,
): RouteSelection {
  const evaluations: RouteEvaluation[] = [];
  const notes: string[] = [];
  for (const [index, route] of routes.entries()) {
    const evaluation = evaluateRoute(route, index, request, flavour, notes);
    evaluations.push(evaluation);
    if (evaluation.result === "matched") return { evaluations, chosen: index, notes };
  }
  return { evaluations, chosen: undefined, notes };
}

function evaluateRoute(
  route: Route,
  index: number,
  request: ObservedRequest,
  flavour: SimulationFlavour,
  notes: string[],
): RouteEvaluation {
  const base = { index, name: route.name, origin: routeOrigin(route.name) };
  const label = route.name ? `route ${route.name}` : `route #${index}`;
  const match = route.match;
  if (!match)
    return { ...base, result: "no-match", reason: "the route has no match", held: [], fraction: undefined };
  const checks: Check[] = [pathCheck(match, request, flavour)];
  checks.push(...match.headers.map((header) => headerCheck(header, request, flavour)));
  if (flavour === "envoy") {
    checks.push(...match.queryParameters.map((query) => queryCheck(query, request)));
    if (match.grpc) checks.push(grpcContentType(request));
  }
  for (const check of checks) {
    if (check.deviation) notes.push(`${label}: ${check.deviation}`);
    if (check.problem) notes.push(`${label}: ${check.problem}`);
  }
  const failed = checks.find((check) => !check.ok);
  const held = (failed ? checks.slice(0, checks.indexOf(failed)) : checks).map((check) => check.text);
  const skip = flavour === "grpc" ? grpcSkipReason(route) : undefined;
  if (skip) {
    if (!failed && match.queryParameters.length > 0) {
      notes.push(
        `${label}: grpc-js-xds 1.14 ignores query_parameters and would take this route (gRFC A28 says never)`,
      );
    }
    return { ...base, result: "skipped", reason: skip, held, fraction: undefined };
  }
  if (failed) return { ...base, result: "no-match", reason: failed.text, held, fraction: undefined };
  const fraction = match.runtimeFraction ? fractionOf(match.runtimeFraction.defaultValue) : 1;
  if (fraction <= 0) {
    return { ...base, result: "no-match", reason: "runtime_fraction is 0%: never taken", held, fraction: 0 };
  }
  if (fraction < 1) {
    const text = `runtime_fraction: ${formatPercent(fraction)} of matching requests take this route`;
    return { ...base, result: "fraction", reason: undefined, held: [...held, text], fraction };
  }
  return { ...base, result: "matched", reason: undefined, held, fraction: undefined };
}

/** Routes a proxyless client ignores outright (gRFC A28). */
function grpcSkipReason(route: Route): string | undefined {
  if ((route.match?.queryParameters.length ?? 0) > 0) {
    return "query parameter matchers never match a gRPC call (gRFC A28)";
  }
  if (route.action.case === "route" && route.action.value.clusterSpecifier.case === "clusterHeader") {
    return "cluster_header routes are ignored by gRPC clients (gRFC A28)";
  }
  return undefined;
}

function grpcContentType(request: ObservedRequest): Check {
  const lookup = headerValue(request, "content-type", "envoy");
  const ok = lookup.present && lookup.value.startsWith("application/grpc");
  const seen = lookup.present ? JSON.stringify(lookup.value) : "missing";
  return { ok, text: `content-type ${seen} ${ok ? "is" : "is not"} gRPC (match.grpc)` };
}

export function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(4))}%`;
}
