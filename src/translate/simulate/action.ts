// What the taken route does with the request: where it goes (clusters and their shares), and what
// happens on the way (timeouts, retries, header changes, rewrites, mirrors), or the answer the data
// plane gives itself (redirect, direct response). Proxyless clients apply only part of this
// (gRFC A28/A31/A44); what they ignore is reported as a note.
import type { Duration } from "@bufbuild/protobuf/wkt";
import type { DataSource, HeaderValueOption } from "../../gen/envoy/config/core/v3/base_pb.js";
import { HeaderValueOption_HeaderAppendAction } from "../../gen/envoy/config/core/v3/base_pb.js";
import type {
  RedirectAction,
  RetryPolicy,
  Route,
  RouteAction,
  RouteAction_HashPolicy,
  VirtualHost,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RedirectAction_RedirectResponseCode } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import type { RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import type { HttpConnectionManager } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { durationToMs, type FilterConfigLevel } from "./fault.ts";
import { replaceAll } from "./regex.ts";
import { headerValue } from "./request.ts";
import { fractionOf } from "./routes.ts";
import type {
  ActionReport,
  HeaderChange,
  MirrorReport,
  ObservedRequest,
  RedirectReport,
  RetryReport,
  SimulationFlavour,
  TimeoutReport,
} from "./types.ts";

/** A cluster the route sends a share of requests to, before the cluster itself is looked at. */
export interface PlannedBackend {
  readonly cluster: string;
  readonly weight: number;
  readonly share: number;
  /** Per-filter config levels for this backend, most specific first. */
  readonly levels: readonly FilterConfigLevel[];
  /** Set when the route cannot name a cluster for this share (a missing cluster_header). */
  readonly failure: string | undefined;
}

export interface RouteContext {
  readonly route: Route;
  readonly virtualHost: VirtualHost;
  readonly config: RouteConfiguration;
  readonly manager: HttpConnectionManager;
  readonly request: ObservedRequest;
  readonly flavour: SimulationFlavour;
  readonly knownClusters: ReadonlySet<string>;
}

const grpcRetryOn = new Set([
  "cancelled",
  "deadline-exceeded",
  "internal",
  "resource-exhausted",
  "unavailable",
]);
const defaultBackoffBaseMs = 25;
const envoyDefaultTimeoutMs = 15_000;

const emptyAction: ActionReport = {
  type: "unsupported",
  timeout: undefined,
  maxStreamDurationMs: undefined,
  retry: undefined,
  requestHeaders: [],
  responseHeaders: [],
  rewrittenPath: undefined,
  rewrittenHost: undefined,
  mirrors: [],
  redirect: undefined,
  directResponse: undefined,
  hashPolicies: [],
};

export function describeAction(
  context: RouteContext,
  notes: string[],
): { action: ActionReport; backends: PlannedBackend[] } {
  const { route, virtualHost, config, flavour } = context;
  const routeLevels: FilterConfigLevel[] = [
    { level: "route", configs: route.typedPerFilterConfig },
    { level: "virtual host", configs: virtualHost.typedPerFilterConfig },
    // gRPC clients read no route-configuration level (grpc-js-xds resolver-xds.ts).
    ...(flavour === "envoy" ? [{ level: "route configuration", configs: config.typedPerFilterConfig }] : []),
  ];
  const headers = {
    requestHeaders: [
      ...headerChanges(route.requestHeadersToAdd, route.requestHeadersToRemove, "route"),
      ...headerChanges(virtualHost.requestHeadersToAdd, virtualHost.requestHeadersToRemove, "virtual host"),
      ...headerChanges(config.requestHeadersToAdd, config.requestHeadersToRemove, "route configuration"),
    ],
    responseHeaders: [
      ...headerChanges(route.responseHeadersToAdd, route.responseHeadersToRemove, "route"),
      ...headerChanges(virtualHost.responseHeadersToAdd, virtualHost.responseHeadersToRemove, "virtual host"),
      ...headerChanges(config.responseHeadersToAdd, config.responseHeadersToRemove, "route configuration"),
    ],
  };
  switch (route.action.case) {
    case "redirect":
      return {
        action: {
          ...emptyAction,
          ...headers,
          type: "redirect",
          redirect: redirect(route.action.value, context),
        },
        backends: [],
      };
    case "directResponse": {
      const { status, body } = route.action.value;
      return {
        action: {
          ...emptyAction,
          ...headers,
          type: "direct-response",
          directResponse: { status, body: bodyText(body?.specifier) },
        },
        backends: [],
      };
    }
    case "nonForwardingAction":
      return { action: { ...emptyAction, type: "non-forwarding" }, backends: [] };
    case "route":
      return forward(route.action.value, context, headers, routeLevels, notes);
    default:
      return { action: emptyAction, backends: [] };
  }
}

function forward(
  action: RouteAction,
  context: RouteContext,
  headers: Pick<ActionReport, "requestHeaders" | "responseHeaders">,
  routeLevels: readonly FilterConfigLevel[],
  notes: string[],
): { action: ActionReport; backends: PlannedBackend[] } {
  const { flavour } = context;
  const backends = plannedBackends(action, context, routeLevels, notes);
  const clusterHeaders = backendHeaderChanges(action);
  const requestHeaders = [...headers.requestHeaders, ...clusterHeaders.request];
  const responseHeaders = [...headers.responseHeaders, ...clusterHeaders.response];
  const mirrors = [...action.requestMirrorPolicies, ...context.virtualHost.requestMirrorPolicies].map(
    (mirror): MirrorReport => ({
      cluster: mirror.cluster,
      percent: (mirror.runtimeFraction ? fractionOf(mirror.runtimeFraction.defaultValue) : 1) * 100,
      known: context.knownClusters.has(mirror.cluster),
    }),
  );
  const rewrite = rewrites(action, context);
  if (flavour === "grpc") {
    const ignored = [
      requestHeaders.length + responseHeaders.length > 0 ? "header modifiers" : "",
      rewrite.path !== undefined || rewrite.host !== undefined ? "rewrites" : "",
      mirrors.length > 0 ? "request mirrors" : "",
      action.timeout ? "RouteAction.timeout (they use max_stream_duration)" : "",
      action.retryPolicy?.perTryTimeout ? "per_try_timeout" : "",
    ].filter(Boolean);
    if (ignored.length > 0) notes.push(`proxyless gRPC clients ignore ${ignored.join(", ")} on this route`);
  }
  // What a proxyless client ignores is noted above, not reported as if it happened.
  const applied = flavour === "envoy";
  return {
    action: {
      type: "forward",
      timeout: timeout(action, context, notes),
      maxStreamDurationMs: durationToMs(action.maxStreamDuration?.maxStreamDuration),
      retry: retry(retrySource(action, context.virtualHost), flavour, notes),
      requestHeaders: applied ? requestHeaders : [],
      responseHeaders: applied ? responseHeaders : [],
      rewrittenPath: applied ? rewrite.path : undefined,
      rewrittenHost: applied ? rewrite.host : undefined,
      mirrors: applied ? mirrors : [],
      redirect: undefined,
      directResponse: undefined,
      hashPolicies: action.hashPolicy.map((policy) => hashPolicyText(policy, flavour)),
    },
    backends,
  };
}

function bodyText(body: DataSource["specifier"] | undefined): string | undefined {
  if (!body?.case) return undefined;
  if (body.case === "inlineString") return body.value;
  if (body.case === "inlineBytes") return new TextDecoder().decode(body.value);
  return `(from ${body.case})`;
}

function hashPolicyText(policy: RouteAction_HashPolicy, flavour: SimulationFlavour): string {
  const specifier = policy.policySpecifier;
  let text: string;
  switch (specifier.case) {
    case "header":
      text = `header ${specifier.value.headerName}`;
      break;
    case "filterState":
      text = `filter state ${specifier.value.key}`;
      break;
    case "cookie":
      text = `cookie ${specifier.value.name}`;
      break;
    case "queryParameter":
      text = `query parameter ${specifier.value.name}`;
      break;
    case "connectionProperties":
      text = "source IP";
      break;
    default:
      text = "(unset)";
  }
  // gRFC A42: gRPC hashes on headers and on the channel id only.
  const honoured =
    flavour === "envoy" ||
    specifier.case === "header" ||
    (specifier.case === "filterState" && specifier.value.key === "io.grpc.channel_id");
  return honoured ? text : `${text} (ignored by gRPC clients)`;
}

function plannedBackends(
  action: RouteAction,
  context: RouteContext,
  routeLevels: readonly FilterConfigLevel[],
  notes: string[],
): PlannedBackend[] {
  const specifier = action.clusterSpecifier;
  switch (specifier.case) {
    case "cluster":
      return [{ cluster: specifier.value, weight: 1, share: 1, levels: routeLevels, failure: undefined }];
    case "weightedClusters": {
      const clusters = specifier.value.clusters;
      const sum = clusters.reduce((total, c) => total + (c.weight ?? 0), 0);
      const total = specifier.value.totalWeight;
      if (total !== undefined && total !== sum) {
        notes.push(
          `weighted_clusters total_weight ${total} differs from the sum of the weights ${sum}: clients dividing by total_weight (older gRPC) split differently`,
        );
      }
      return clusters.map((c) => ({
        cluster: c.name,
        weight: c.weight ?? 0,
        share: sum > 0 ? (c.weight ?? 0) / sum : 0,
        levels: [{ level: `weighted cluster ${c.name}`, configs: c.typedPerFilterConfig }, ...routeLevels],
        failure: undefined,
      }));
    }
    case "clusterHeader": {
      const lookup = headerValue(context.request, specifier.value, context.flavour);
      return [
        {
          cluster: lookup.present ? lookup.value : "",
          weight: 1,
          share: 1,
          levels: routeLevels,
          failure: lookup.present ? undefined : `cluster_header ${specifier.value}: ${lookup.why}`,
        },
      ];
    }
    default:
      return [
        {
          cluster: "",
          weight: 1,
          share: 1,
          levels: routeLevels,
          failure: `cluster specifier ${specifier.case ?? "(unset)"} is not simulated`,
        },
      ];
  }
}

function backendHeaderChanges(action: RouteAction): { request: HeaderChange[]; response: HeaderChange[] } {
  if (action.clusterSpecifier.case !== "weightedClusters") return { request: [], response: [] };
  const clusters = action.clusterSpecifier.value.clusters;
  return {
    request: clusters.flatMap((c) =>
      headerChanges(c.requestHeadersToAdd, c.requestHeadersToRemove, `weighted cluster ${c.name}`),
    ),
    response: clusters.flatMap((c) =>
      headerChanges(c.responseHeadersToAdd, c.responseHeadersToRemove, `weighted cluster ${c.name}`),
    ),
  };
}

export function headerChanges(
  options: readonly HeaderValueOption[],
  removes: readonly string[],
  level: string,
): HeaderChange[] {
  const changes = options.map((option): HeaderChange => {
    const name = option.header?.key.toLowerCase() ?? "";
    const value = option.header?.value ?? "";
    // The deprecated `append` flag wins over append_action when set.
    if (option.append !== undefined) return { action: option.append ? "add" : "set", name, value, level };
    const action = {
      [HeaderValueOption_HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD]: "add",
      [HeaderValueOption_HeaderAppendAction.ADD_IF_ABSENT]: "add-if-absent",
      [HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD]: "set",
      [HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS]: "overwrite-if-exists",
    }[option.appendAction] as HeaderChange["action"];
    return { action, name, value, level };
  });
  return [
    ...changes,
    ...removes.map((name): HeaderChange => ({
      action: "remove",
      name: name.toLowerCase(),
      value: undefined,
      level,
    })),
  ];
}

function timeout(action: RouteAction, context: RouteContext, notes: string[]): TimeoutReport {
  const ms = (duration: Duration | undefined) => durationToMs(duration);
  if (context.flavour === "envoy") {
    const route = ms(action.timeout);
    if (route === undefined)
      return { ms: envoyDefaultTimeoutMs, source: "Envoy's default (route timeout unset)" };
    return route === 0
      ? { ms: undefined, source: "route timeout is 0s" }
      : { ms: route, source: "route timeout" };
  }
  // gRFC A31: the route's max_stream_duration caps the caller's deadline.
  const stream = action.maxStreamDuration;
  const listener = context.manager.commonHttpProtocolOptions;
  const [value, source] =
    stream?.grpcTimeoutHeaderMax !== undefined
      ? [ms(stream.grpcTimeoutHeaderMax), "max_stream_duration.grpc_timeout_header_max"]
      : stream?.maxStreamDuration !== undefined
        ? [ms(stream.maxStreamDuration), "max_stream_duration.max_stream_duration"]
        : [
            ms(listener?.maxStreamDuration),
            "the listener's common_http_protocol_options.max_stream_duration",
          ];
  if (stream?.grpcTimeoutHeaderMax === undefined && stream?.maxStreamDuration === undefined) {
    const idle = ms(listener?.idleTimeout);
    if (idle !== value) {
      notes.push(
        `grpc-js-xds 1.14 takes the default deadline cap from idle_timeout (${idle ?? "unset"} ms) instead`,
      );
    }
  }
  if (value === undefined)
    return { ms: undefined, source: "no max_stream_duration: the caller's deadline applies" };
  if (value === 0) return { ms: undefined, source: `${source} is 0: the caller's deadline applies` };
  return { ms: value, source };
}

/** The route's retry policy, else the virtual host's (Envoy and gRFC A44 alike). */
function retrySource(action: RouteAction, virtualHost: VirtualHost) {
  if (action.retryPolicy) return { policy: action.retryPolicy, source: "route" };
  return virtualHost.retryPolicy ? { policy: virtualHost.retryPolicy, source: "virtual host" } : undefined;
}

function retry(
  found: { policy: RetryPolicy; source: string } | undefined,
  flavour: SimulationFlavour,
  notes: string[],
): RetryReport | undefined {
  if (!found) return undefined;
  const { policy, source } = found;
  const conditions = policy.retryOn
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean);
  const retryOn = flavour === "grpc" ? conditions.filter((c) => grpcRetryOn.has(c)) : conditions;
  const ignored = conditions.filter((c) => !retryOn.includes(c));
  if (ignored.length > 0)
    notes.push(
      `gRPC clients ignore retry_on ${ignored.join(", ")} (gRFC A44 retries gRPC status codes only)`,
    );
  if (retryOn.length === 0) return undefined;
  const base = durationToMs(policy.retryBackOff?.baseInterval) ?? defaultBackoffBaseMs;
  return {
    retryOn,
    numRetries: policy.numRetries ?? 1,
    perTryTimeoutMs: flavour === "envoy" ? durationToMs(policy.perTryTimeout) : undefined,
    retriableStatusCodes: flavour === "envoy" ? policy.retriableStatusCodes : [],
    backoffBaseMs: base,
    backoffMaxMs: durationToMs(policy.retryBackOff?.maxInterval) ?? base * 10,
    source,
  };
}

/** The length of the path the route's path matcher covered, for prefix rewrites. */
function matchedPrefix(context: RouteContext): string | undefined {
  const specifier = context.route.match?.pathSpecifier;
  switch (specifier?.case) {
    case "prefix":
    case "path":
    case "pathSeparatedPrefix":
      return specifier.value;
    default:
      return undefined;
  }
}

function rewrites(
  action: RouteAction,
  context: RouteContext,
): { path: string | undefined; host: string | undefined } {
  const { request } = context;
  const query = request.query === undefined ? "" : `?${request.query}`;
  let path: string | undefined;
  const prefix = matchedPrefix(context);
  if (action.prefixRewrite !== "" && prefix !== undefined) {
    path = `${action.prefixRewrite}${request.path.slice(prefix.length)}${query}`;
  } else if (action.regexRewrite?.pattern) {
    const rewritten = replaceAll(
      action.regexRewrite.pattern.regex,
      request.path,
      action.regexRewrite.substitution,
    );
    path = rewritten === undefined ? undefined : `${rewritten}${query}`;
  }
  const host = action.hostRewriteSpecifier;
  const rewrittenHost =
    host.case === "hostRewriteLiteral"
      ? host.value
      : host.case === "autoHostRewrite" && host.value
        ? "(the upstream host's name)"
        : host.case === "hostRewriteHeader"
          ? (() => {
              const lookup = headerValue(request, host.value, context.flavour);
              return lookup.present ? lookup.value : undefined;
            })()
          : undefined;
  return { path, host: rewrittenHost };
}

const redirectStatus: Record<number, number> = {
  [RedirectAction_RedirectResponseCode.MOVED_PERMANENTLY]: 301,
  [RedirectAction_RedirectResponseCode.FOUND]: 302,
  [RedirectAction_RedirectResponseCode.SEE_OTHER]: 303,
  [RedirectAction_RedirectResponseCode.TEMPORARY_REDIRECT]: 307,
  [RedirectAction_RedirectResponseCode.PERMANENT_REDIRECT]: 308,
};

function redirect(action: RedirectAction, context: RouteContext): RedirectReport {
  const { request } = context;
  const scheme =
    action.schemeRewriteSpecifier.case === "httpsRedirect" && action.schemeRewriteSpecifier.value
      ? "https"
      : action.schemeRewriteSpecifier.case === "schemeRedirect"
        ? action.schemeRewriteSpecifier.value
        : "http";
  let host = action.hostRedirect !== "" ? action.hostRedirect : request.authority;
  if (action.portRedirect !== 0) host = `${host.replace(/:\d+$/, "")}:${action.portRedirect}`;
  let path = request.path;
  let query = action.stripQuery || request.query === undefined ? "" : `?${request.query}`;
  const rewrite = action.pathRewriteSpecifier;
  if (rewrite.case === "pathRedirect") {
    path = rewrite.value;
    if (path.includes("?")) query = "";
  } else if (rewrite.case === "prefixRewrite") {
    const prefix = matchedPrefix(context) ?? "";
    path = `${rewrite.value}${request.path.slice(prefix.length)}`;
  } else if (rewrite.case === "regexRewrite" && rewrite.value.pattern) {
    path = replaceAll(rewrite.value.pattern.regex, path, rewrite.value.substitution) ?? path;
  }
  return {
    status: redirectStatus[action.responseCode] ?? 301,
    location: `${scheme}://${host}${path}${query}`,
  };
}
