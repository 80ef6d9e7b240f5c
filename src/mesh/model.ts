// The resolved mesh: what the translators read. Immutable values, built by build.ts from the
// declarative resources; nothing here knows about xDS.
import type { PortSecurity } from "./security-model.ts";

export interface MeshEndpoint {
  readonly address: string;
  readonly port: number;
  /** Topology zone, which becomes the xDS locality. */
  readonly zone: string;
  readonly ready: boolean;
}

/** An EndpointSlice that lists a Service port, with the addresses it gives (as written). */
export interface EndpointSource {
  /** `EndpointSlice namespace/name` */
  readonly object: string;
  readonly addresses: readonly string[];
}

export interface MeshServicePort {
  readonly name: string | undefined;
  readonly port: number;
  readonly appProtocol: string | undefined;
  /** Endpoints of this port across all EndpointSlices of the Service. */
  readonly endpoints: readonly MeshEndpoint[];
  /**
   * The slices with a port named like this one, FQDN ones included (skipped for endpoints, with
   * an issue): what the endpoints were built from.
   */
  readonly slices: readonly EndpointSource[];
  /** A TrafficPolicy targeting this port (sectionName) overrides the Service-wide one. */
  readonly policy: ServicePolicy | undefined;
  /** mTLS mode, authorization and JWT rules in force for this port's servers (security.ts). */
  readonly security: PortSecurity;
}

export interface MeshService {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIP: string | undefined;
  readonly ports: readonly MeshServicePort[];
  /** The TrafficPolicy attached to the whole Service, if any (port-scoped ones are on the port). */
  readonly policy: ServicePolicy | undefined;
  /**
   * The service accounts its workloads run as (the `meshplane.dev/service-accounts` annotation,
   * else the Service's name): the identities a client accepts from its servers.
   */
  readonly serviceAccounts: readonly string[];
}

export type LoadBalancerPolicy = "RoundRobin" | "LeastRequest" | "RingHash";

/** What a request is hashed on for RingHash (gRFC A42: header, or the channel for affinity). */
export type HashPolicy =
  | { readonly type: "Header"; readonly name: string }
  | { readonly type: "SourceIP" }
  | { readonly type: "Channel" };

export interface LocalityPolicy {
  /** Relative traffic weight per zone; zones not listed get weight 1. */
  readonly weights: ReadonlyMap<string, number>;
  /**
   * Failover order: endpoints of the first zone get priority 0, the next priority 1, ...; zones not
   * listed share the last priority. Empty: every zone has priority 0.
   */
  readonly failoverOrder: readonly string[];
}

export interface OutlierDetectionPolicy {
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
  /** Envoy only: eject after this many consecutive 5xx / gRPC errors. */
  readonly consecutiveErrors: number | undefined;
  /** gRFC A50 and Envoy: eject hosts whose failure percentage exceeds `threshold`. */
  readonly failurePercentage:
    { readonly threshold: number; readonly minimumHosts: number; readonly requestVolume: number } | undefined;
}

/** The effective meshplane.dev TrafficPolicy for a Service (or one of its ports). */
export interface ServicePolicy {
  /** `TrafficPolicy namespace/name`, for status and messages. */
  readonly source: string;
  readonly loadBalancer: LoadBalancerPolicy | undefined;
  readonly ringHash: { readonly minimumRingSize: number; readonly maximumRingSize: number } | undefined;
  readonly hashPolicies: readonly HashPolicy[];
  readonly locality: LocalityPolicy | undefined;
  readonly circuitBreaker:
    | {
        readonly maxRequests: number | undefined;
        readonly maxConnections: number | undefined;
        readonly maxPendingRequests: number | undefined;
        readonly maxRetries: number | undefined;
      }
    | undefined;
  readonly outlierDetection: OutlierDetectionPolicy | undefined;
  readonly connectTimeoutMs: number | undefined;
  /** Retry for calls to this Service when the route rule gives none. */
  readonly retry: RetryPolicy | undefined;
}

export type PathMatch =
  | { readonly type: "Exact"; readonly value: string }
  | { readonly type: "Prefix"; readonly value: string }
  | { readonly type: "Regex"; readonly value: string };

export interface HeaderMatch {
  /** Lower-case: gRPC metadata keys are lower-case and HTTP/2 header names too. */
  readonly name: string;
  readonly type: "Exact" | "Regex";
  readonly value: string;
}

export interface RouteMatch {
  readonly path: PathMatch;
  readonly headers: readonly HeaderMatch[];
  /** HTTP method (HTTPRoute only). */
  readonly method: string | undefined;
  readonly queryParams: readonly {
    readonly name: string;
    readonly type: "Exact" | "Regex";
    readonly value: string;
  }[];
  /** GRPCRoute only: the service and method as written, for GRPCRoute precedence. */
  readonly grpc: { readonly service: string | undefined; readonly method: string | undefined } | undefined;
}

export interface RouteBackend {
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
  readonly weight: number;
  /** Why this backend cannot receive traffic; its share of requests must then fail. */
  readonly invalid: string | undefined;
}

export interface HeaderValue {
  readonly name: string;
  readonly value: string;
}

/** Gateway API HTTPHeaderFilter; header names lower-cased. */
export interface HeaderModifier {
  readonly set: readonly HeaderValue[];
  readonly add: readonly HeaderValue[];
  readonly remove: readonly string[];
}

export type PathModifier =
  | { readonly type: "ReplaceFullPath"; readonly value: string }
  | { readonly type: "ReplacePrefixMatch"; readonly value: string };

/** Delay and abort, each applied to a percentage of requests (0–100, fractional allowed). */
export interface MeshFault {
  /** `Kind namespace/name` of the FaultInjection object. */
  readonly source: string;
  readonly delay: { readonly fixedDelayMs: number; readonly percent: number } | undefined;
  readonly abort:
    | {
        /** A gRPC status code (proxyless and Envoy) ... */
        readonly grpcStatus: number | undefined;
        /** ... or an HTTP status (Envoy; gRPC maps it to a status code). Exactly one is set. */
        readonly httpStatus: number | undefined;
        readonly percent: number;
      }
    | undefined;
}

/** A rule's filters in the order written; filters a data plane cannot apply are reported, not dropped here. */
export type RouteFilter =
  | { readonly type: "RequestHeaderModifier"; readonly modifier: HeaderModifier }
  | { readonly type: "ResponseHeaderModifier"; readonly modifier: HeaderModifier }
  | { readonly type: "RequestMirror"; readonly backend: RouteBackend; readonly percent: number }
  | {
      readonly type: "URLRewrite";
      readonly hostname: string | undefined;
      readonly path: PathModifier | undefined;
    }
  | {
      readonly type: "RequestRedirect";
      readonly scheme: "http" | "https" | undefined;
      readonly hostname: string | undefined;
      readonly path: PathModifier | undefined;
      readonly port: number | undefined;
      readonly statusCode: number;
    }
  | { readonly type: "Fault"; readonly fault: MeshFault };

/**
 * When and how often a failed attempt is retried. HTTPRoute `retry` gives HTTP codes; a
 * TrafficPolicy gives gRPC status names (`unavailable`, `resource-exhausted`, ...).
 */
export interface RetryPolicy {
  /**
   * Retries after the first attempt (Gateway API `attempts`): 1 when an HTTPRoute retry stanza
   * leaves it unset; 0 (HTTPRoute only) turns retries off, the TrafficPolicy fallback included.
   */
  readonly attempts: number;
  readonly httpCodes: readonly number[];
  /** gRPC status names as Envoy's `retry_on` spells them: `unavailable`, `cancelled`, ... */
  readonly grpcCodes: readonly string[];
  readonly backoffBaseMs: number | undefined;
  readonly backoffMaxMs: number | undefined;
}

export interface RouteRule {
  /** Position of the rule in its route, for precedence ties and messages. */
  readonly index: number;
  readonly name: string | undefined;
  readonly matches: readonly RouteMatch[];
  readonly backends: readonly RouteBackend[];
  /** timeouts.request, milliseconds; undefined = the caller's deadline; 0 = disabled. */
  readonly requestTimeoutMs: number | undefined;
  /** timeouts.backendRequest: per attempt, milliseconds (Envoy per_try_timeout). */
  readonly backendRequestTimeoutMs: number | undefined;
  readonly filters: readonly RouteFilter[];
  /** The rule's own retry (HTTPRoute); unset falls back to the parent Service's TrafficPolicy. */
  readonly retry: RetryPolicy | undefined;
}

export type RouteKind = "GRPCRoute" | "HTTPRoute";

export interface MeshRoute {
  readonly kind: RouteKind;
  readonly namespace: string;
  readonly name: string;
  readonly creationTimestamp: string;
  readonly rules: readonly RouteRule[];
}

/** A route bound to one Service port through a parentRef. */
export interface RouteAttachment {
  readonly route: MeshRoute;
  readonly serviceNamespace: string;
  readonly serviceName: string;
  readonly port: number;
}

/** Why an object was (partly) rejected, in Gateway API status vocabulary. */
export interface MeshIssue {
  /** `Kind namespace/name` */
  readonly object: string;
  readonly field: string;
  /** Gateway API condition reason: BackendNotFound, NoMatchingParent, UnsupportedValue, ... */
  readonly reason: string;
  readonly message: string;
  /** Set when only one data-plane flavour is affected (e.g. a match proxyless gRPC cannot express). */
  readonly flavour?: DataPlaneFlavour;
  /**
   * Set when only some client releases of that flavour are affected: the connected client groups
   * it concerns ("grpc-python/1.51"), from translate/clients/predict.ts.
   */
  readonly clients?: readonly string[];
}

/** Proxyless gRPC clients and servers, or Envoy sidecars. */
export type DataPlaneFlavour = "grpc" | "envoy";

export interface MeshSnapshot {
  readonly domain: string;
  /** SPIFFE trust domain of workload identities (`spiffe://<trustDomain>/ns/…/sa/…`). */
  readonly trustDomain: string;
  /** Security for a server that backs no Service port: mesh-wide policies only. */
  readonly meshSecurity: PortSecurity;
  /** Keyed by `namespace/name`. */
  readonly services: ReadonlyMap<string, MeshService>;
  /** Keyed by `namespace/name:port` of the parent Service. */
  readonly attachments: ReadonlyMap<string, readonly RouteAttachment[]>;
  readonly issues: readonly MeshIssue[];
}

export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The TrafficPolicy in force for one port: the port-scoped one, else the Service-wide one. */
export function effectivePolicy(service: MeshService, port: MeshServicePort): ServicePolicy | undefined {
  return port.policy ?? service.policy;
}

export function attachmentKey(namespace: string, name: string, port: number): string {
  return `${namespace}/${name}:${port}`;
}
