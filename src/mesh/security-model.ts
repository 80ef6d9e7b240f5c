// The resolved security of the mesh: for every Service port, the mTLS mode its servers run
// (PeerAuthentication), who may call it (AuthorizationPolicy) and which end-user tokens it
// accepts (RequestAuthentication). Immutable values; nothing here knows about xDS. The shapes
// follow Istio's security API (security.istio.io/v1) so that its semantics carry over, with
// Gateway API policy attachment (targetRefs) instead of workload selectors.

/** PeerAuthentication modes. PERMISSIVE accepts plaintext and mTLS where the data plane can. */
export type MtlsMode = "STRICT" | "PERMISSIVE" | "DISABLE";

/** The mesh-wide default until a PeerAuthentication in the root namespace says otherwise. */
export const defaultMtlsMode: MtlsMode = "PERMISSIVE";

/** The namespace whose untargeted PeerAuthentication (and AuthorizationPolicy) apply mesh-wide. */
export const meshRootNamespace = "meshplane-system";

/** A string match in Istio's form: exact, `prefix*`, `*suffix`, or `*` (any non-empty value). */
export type StringPattern = string;

/**
 * Who is calling. Within one source every set field must match (AND); within a field any listed
 * value matches (OR); a `not…` field matches when none of its values does. Unset fields match
 * anything.
 */
export interface AuthorizationSource {
  /** Peer identities as full SPIFFE IDs (`spiffe://td/ns/x/sa/y`), patterns allowed. */
  readonly principals: readonly StringPattern[];
  readonly notPrincipals: readonly StringPattern[];
  /** The peer's namespace (from its SPIFFE ID, so mTLS is required to match). */
  readonly namespaces: readonly StringPattern[];
  readonly notNamespaces: readonly StringPattern[];
  /** CIDR blocks (`10.0.0.0/8`) or single addresses of the direct peer. */
  readonly ipBlocks: readonly string[];
  readonly notIpBlocks: readonly string[];
  /** End users as `<iss>/<sub>` from a validated JWT (RequestAuthentication), patterns allowed. */
  readonly requestPrincipals: readonly StringPattern[];
  readonly notRequestPrincipals: readonly StringPattern[];
}

/** A header condition: the request matches when the header has one of `values` (patterns). */
export interface AuthorizationHeader {
  /** Lower-case. */
  readonly name: string;
  readonly values: readonly StringPattern[];
}

/** What is called; the same AND / OR rules as AuthorizationSource. */
export interface AuthorizationOperation {
  /**
   * Request paths (HTTP) or gRPC methods as paths: `/pkg.Service/Method`, `/pkg.Service/*`.
   * The API's `grpc: {service, method}` form is turned into paths by the mesh build.
   */
  readonly paths: readonly StringPattern[];
  readonly notPaths: readonly StringPattern[];
  /** HTTP methods (gRPC calls are POST). */
  readonly methods: readonly string[];
  readonly notMethods: readonly string[];
  /** Destination ports (the server port the request arrived on). */
  readonly ports: readonly number[];
  readonly notPorts: readonly number[];
  readonly headers: readonly AuthorizationHeader[];
}

/**
 * One rule: it matches when some source matches (or `from` is empty) and some operation matches
 * (or `to` is empty).
 */
export interface AuthorizationRule {
  readonly from: readonly AuthorizationSource[];
  readonly to: readonly AuthorizationOperation[];
}

export type AuthorizationAction = "ALLOW" | "DENY" | "AUDIT";

/**
 * One AuthorizationPolicy as it applies to one port. Istio's evaluation: any matching DENY
 * denies; then, if any ALLOW policy applies, the request must match one of them; no ALLOW policy
 * means allow. AUDIT only marks. A policy with no rules matches nothing (so an ALLOW policy with
 * no rules denies every request, Istio's "deny all").
 */
export interface MeshAuthorizationPolicy {
  /** `AuthorizationPolicy namespace/name`, for status, blame and `meshplane explain`. */
  readonly source: string;
  readonly action: AuthorizationAction;
  readonly rules: readonly AuthorizationRule[];
}

/** Where a JWT is read from: a header with an optional value prefix, or a query parameter. */
export type JwtLocation =
  { readonly header: string; readonly prefix: string } | { readonly queryParameter: string };

/** One issuer a RequestAuthentication accepts (Istio JWTRule). */
export interface JwtRule {
  /** `RequestAuthentication namespace/name`, for status and blame. */
  readonly source: string;
  readonly issuer: string;
  /** Accepted `aud` values; empty accepts any audience. */
  readonly audiences: readonly string[];
  /** Exactly one of the two: a JWKS URL (fetched by the data plane) or the JWKS document inline. */
  readonly jwksUri: string | undefined;
  readonly jwks: string | undefined;
  /**
   * Never empty: without fromHeaders/fromParams the mesh build fills in Istio's defaults, the
   * `Authorization` header with prefix `Bearer ` and the `access_token` query parameter.
   */
  readonly locations: readonly JwtLocation[];
  readonly forwardOriginalToken: boolean;
}

/** The security in force on one Service port, as its servers must apply it. */
export interface PortSecurity {
  readonly mtls: MtlsMode;
  /** `PeerAuthentication namespace/name` that decided the mode; undefined: the mesh default. */
  readonly mtlsSource: string | undefined;
  /** Every AuthorizationPolicy that applies (mesh-wide, namespace-wide, Service, port), by name. */
  readonly authorization: readonly MeshAuthorizationPolicy[];
  /** Every JWT rule that applies; a request with an invalid token is refused, one without passes. */
  readonly jwtRules: readonly JwtRule[];
}

/** What a port gets with no security policy at all. */
export const openPortSecurity: PortSecurity = {
  mtls: defaultMtlsMode,
  mtlsSource: undefined,
  authorization: [],
  jwtRules: [],
};

/** The Service-account annotation: which workload identities serve a Service (comma-separated). */
export const serviceAccountsAnnotation = "meshplane.dev/service-accounts";

/** The SPIFFE ID of a workload; translators use it for SAN matching and RBAC principals. */
export function workloadSpiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

const strictness: Record<MtlsMode, number> = { DISABLE: 0, PERMISSIVE: 1, STRICT: 2 };

/**
 * The security of one workload port that several Service ports send to (one server behind two
 * Services). Istio applies every policy that selects a workload, so every authorization policy and
 * JWT rule of any of them applies, each once, and the strictest mode wins: one socket cannot serve
 * two modes, and a STRICT Service is never served in plaintext through another. Undefined for no
 * port.
 */
export function workloadSecurity(ports: readonly PortSecurity[]): PortSecurity | undefined {
  const [first, ...rest] = ports;
  if (!first || rest.length === 0) return first;
  const strictest = ports.reduce((a, b) => (strictness[b.mtls] > strictness[a.mtls] ? b : a));
  const unique = <T>(items: readonly T[], key: (item: T) => string) => [
    ...new Map(items.map((item) => [key(item), item])).values(),
  ];
  return {
    mtls: strictest.mtls,
    mtlsSource: strictest.mtlsSource,
    authorization: unique(
      ports.flatMap((p) => p.authorization),
      (policy) => policy.source,
    ),
    // One RequestAuthentication may hold several rules (one source): equal rules count once.
    jwtRules: unique(
      ports.flatMap((p) => p.jwtRules),
      (rule) => JSON.stringify(rule),
    ),
  };
}
