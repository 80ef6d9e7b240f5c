// The resolved mesh: what the translators read. Immutable values, built by build.ts from the
// declarative resources; nothing here knows about xDS.

export interface MeshEndpoint {
  readonly address: string;
  readonly port: number;
  /** Topology zone, which becomes the xDS locality. */
  readonly zone: string;
  readonly ready: boolean;
}

export interface MeshServicePort {
  readonly name: string | undefined;
  readonly port: number;
  readonly appProtocol: string | undefined;
  /** Endpoints of this port across all EndpointSlices of the Service. */
  readonly endpoints: readonly MeshEndpoint[];
}

export interface MeshService {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIP: string | undefined;
  readonly ports: readonly MeshServicePort[];
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

export interface RouteRule {
  /** Position of the rule in its route, for precedence ties and messages. */
  readonly index: number;
  readonly name: string | undefined;
  readonly matches: readonly RouteMatch[];
  readonly backends: readonly RouteBackend[];
  /** timeouts.request, milliseconds; undefined = the caller's deadline; 0 = disabled. */
  readonly requestTimeoutMs: number | undefined;
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
}

export interface MeshSnapshot {
  readonly domain: string;
  /** Keyed by `namespace/name`. */
  readonly services: ReadonlyMap<string, MeshService>;
  /** Keyed by `namespace/name:port` of the parent Service. */
  readonly attachments: ReadonlyMap<string, readonly RouteAttachment[]>;
  readonly issues: readonly MeshIssue[];
}

export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function attachmentKey(namespace: string, name: string, port: number): string {
  return `${namespace}/${name}:${port}`;
}
