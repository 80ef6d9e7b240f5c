// What a traffic simulation takes and answers. Results are plain JSON values (no bigints, no
// Maps), so `meshplane explain -o json` prints them as they are.
import type { Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { ClusterLoadAssignment } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import type { DataPlaneFlavour } from "../../mesh/index.ts";

/**
 * `grpc`: a proxyless gRPC client (gRFC A27/A28 semantics; deviations of grpc-js-xds are noted).
 * `envoy`: an Envoy sidecar.
 */
export type SimulationFlavour = DataPlaneFlavour;

/** The xDS a data plane holds: what the simulation runs against. */
export interface SimulationResources {
  readonly listeners: readonly Listener[];
  readonly routes: readonly RouteConfiguration[];
  readonly clusters: readonly Cluster[];
  readonly endpoints: readonly ClusterLoadAssignment[];
}

export interface SimulatedRequest {
  /** What the caller dialled, `host[:port]`: the listener name of a gRPC client, the authority. */
  readonly target: string;
  /** `/pkg.Service/Method`, or an HTTP path with an optional query string (Envoy). */
  readonly path: string;
  /** HTTP method (Envoy); a gRPC call is always POST. Default: POST for grpc, GET for envoy. */
  readonly method?: string | undefined;
  /** Headers or gRPC metadata in order; names are case-insensitive, repeated names allowed. */
  readonly headers?: readonly (readonly [string, string])[] | undefined;
  /** Envoy: the IP the target resolves to (a Service's cluster IP), which picks the listener. */
  readonly destinationIp?: string | undefined;
  /** Envoy: a gRPC call through the sidecar (content-type application/grpc, method POST). */
  readonly grpc?: boolean | undefined;
}

/** The request as the data plane sees it. */
export interface ObservedRequest {
  readonly target: string;
  readonly authority: string;
  readonly method: string;
  /** The path without its query string. */
  readonly path: string;
  readonly query: string | undefined;
  /** What header matchers see, names lower-cased, in order. */
  readonly headers: readonly (readonly [string, string])[];
}

/**
 * routed: every matching request reaches an endpoint. partial: some share fails (an invalid
 * backend, a fault abort below 100%). redirected / direct-response: the data plane answers itself.
 * failed: the request cannot succeed.
 */
export type SimulationOutcome = "routed" | "partial" | "redirected" | "direct-response" | "failed";

export type SimulationStage = "listener" | "route-configuration" | "virtual-host" | "route" | "backend";

export interface SimulationFailure {
  readonly stage: SimulationStage;
  readonly message: string;
  /** The status the caller sees: a gRPC code for proxyless clients and gRPC calls, else HTTP. */
  readonly grpcStatus?: number | undefined;
  readonly httpStatus?: number | undefined;
}

/** Where an xDS route came from, decoded from its name (`Kind/ns/name/rule/<name|index>`). */
export interface RouteOrigin {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** The rule's name, or its index as a string. */
  readonly rule: string;
}

export interface RouteEvaluation {
  /** Position in the virtual host's route list. */
  readonly index: number;
  readonly name: string;
  readonly origin: RouteOrigin | undefined;
  /**
   * matched: taken. no-match: a condition failed. skipped: the data plane ignores this route.
   * fraction: matched, but runtime_fraction sends only `fraction` of such requests here; the rest
   * go on to the next routes.
   */
  readonly result: "matched" | "no-match" | "skipped" | "fraction";
  /** no-match: the first condition that failed. skipped: why the route is ignored. */
  readonly reason: string | undefined;
  /** The conditions that held (all of them for a matched route). */
  readonly held: readonly string[];
  readonly fraction: number | undefined;
}

export interface TimeoutReport {
  /** Milliseconds; undefined: none (the caller's deadline applies). */
  readonly ms: number | undefined;
  /** Which field (or default) decided it. */
  readonly source: string;
}

export interface RetryReport {
  readonly retryOn: readonly string[];
  /** Retries after the first attempt. */
  readonly numRetries: number;
  readonly perTryTimeoutMs: number | undefined;
  readonly retriableStatusCodes: readonly number[];
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** route or virtual host */
  readonly source: string;
}

export interface HeaderChange {
  /** add: append a value; set: replace or add; add-if-absent; overwrite-if-exists; remove. */
  readonly action: "add" | "set" | "add-if-absent" | "overwrite-if-exists" | "remove";
  readonly name: string;
  readonly value: string | undefined;
  /** route, virtual host, route configuration or weighted cluster <name>. */
  readonly level: string;
}

export interface MirrorReport {
  readonly cluster: string;
  readonly percent: number;
  readonly known: boolean;
}

export interface FaultReport {
  /** The HTTP filter's name in the listener. */
  readonly filter: string;
  /** Where the config came from: listener, virtual host, route, weighted cluster. */
  readonly level: string;
  readonly delay:
    { readonly ms: number | undefined; readonly fromHeader: boolean; readonly percent: number } | undefined;
  readonly abort:
    | {
        readonly grpcStatus: number | undefined;
        readonly httpStatus: number | undefined;
        readonly fromHeader: boolean;
        readonly percent: number;
      }
    | undefined;
}

export interface RedirectReport {
  readonly status: number;
  readonly location: string;
}

export interface ActionReport {
  readonly type: "forward" | "redirect" | "direct-response" | "non-forwarding" | "unsupported";
  readonly timeout: TimeoutReport | undefined;
  readonly maxStreamDurationMs: number | undefined;
  readonly retry: RetryReport | undefined;
  readonly requestHeaders: readonly HeaderChange[];
  readonly responseHeaders: readonly HeaderChange[];
  /** The path the upstream sees after prefix/regex rewrites; undefined when unchanged. */
  readonly rewrittenPath: string | undefined;
  readonly rewrittenHost: string | undefined;
  readonly mirrors: readonly MirrorReport[];
  readonly redirect: RedirectReport | undefined;
  readonly directResponse: { readonly status: number; readonly body: string | undefined } | undefined;
  readonly hashPolicies: readonly string[];
}

export interface EndpointReport {
  readonly address: string;
  readonly port: number;
  readonly health: string;
  readonly usable: boolean;
}

export interface LocalityReport {
  readonly locality: string;
  readonly priority: number;
  readonly weight: number;
  /** Why the data plane ignores the whole locality. */
  readonly skipped: string | undefined;
  readonly endpoints: readonly EndpointReport[];
}

export interface ClusterReport {
  readonly type: string;
  readonly lbPolicy: string;
  readonly connectTimeoutMs: number | undefined;
  readonly circuitBreaker: Readonly<Record<string, number>> | undefined;
  readonly outlierDetection: Readonly<Record<string, number>> | undefined;
  readonly edsServiceName: string | undefined;
}

export interface BackendResult {
  readonly cluster: string;
  readonly weight: number;
  /** Fraction (0–1) of the requests taking the route that go to this cluster. */
  readonly share: number;
  /** Whether this share is served. */
  readonly ok: boolean;
  readonly reason: string | undefined;
  readonly fault: FaultReport | undefined;
  readonly details: ClusterReport | undefined;
  readonly localities: readonly LocalityReport[];
  readonly usableEndpoints: number;
}

export interface SimulationResult {
  readonly flavour: SimulationFlavour;
  /** The client release the verdicts are for ("C-core 1.51.0 (Python)"); undefined: any gRPC client. */
  readonly client: string | undefined;
  readonly request: ObservedRequest;
  readonly outcome: SimulationOutcome;
  readonly failure: SimulationFailure | undefined;
  readonly listener:
    | {
        readonly name: string;
        readonly routeConfigName: string | undefined;
        readonly httpFilters: readonly string[];
      }
    | undefined;
  readonly routeConfiguration: string | undefined;
  readonly virtualHost:
    { readonly name: string; readonly domain: string; readonly matchType: string } | undefined;
  /** The routes considered, in order, up to the one taken. */
  readonly routes: readonly RouteEvaluation[];
  readonly route: RouteEvaluation | undefined;
  readonly action: ActionReport | undefined;
  readonly backends: readonly BackendResult[];
  /** Problems for which the data plane rejects (NACKs) a resource the request depends on. */
  readonly rejected: readonly string[];
  /** Features the named client release ignores (it predates them): config that is not applied. */
  readonly ignored: readonly string[];
  /** What the data plane ignores, or where clients disagree. */
  readonly notes: readonly string[];
}
