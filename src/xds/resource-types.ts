// The xDS resource types meshplane serves, and the order in which ADS pushes them.

export const TypeUrl = {
  Listener: "type.googleapis.com/envoy.config.listener.v3.Listener",
  RouteConfiguration: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
  Cluster: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
  ClusterLoadAssignment: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
  /** SDS over ADS, Envoy sidecars only (proxyless gRPC reads certificates from files, A29). */
  Secret: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
} as const;

export type TypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl];

/** Short names used in logs, metrics labels and the debug endpoints. */
export const typeShortName: Record<TypeUrl, "lds" | "rds" | "cds" | "eds" | "sds"> = {
  [TypeUrl.Listener]: "lds",
  [TypeUrl.RouteConfiguration]: "rds",
  [TypeUrl.Cluster]: "cds",
  [TypeUrl.ClusterLoadAssignment]: "eds",
  [TypeUrl.Secret]: "sds",
};

/**
 * Make-before-break order (xDS protocol, "Eventual consistency considerations"): a proxy must
 * learn about clusters and their endpoints before listeners and routes that reference them, and
 * about secrets before the clusters and listeners whose TLS contexts name them.
 */
export const pushOrder: readonly TypeUrl[] = [
  TypeUrl.Secret,
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration,
];

/**
 * In state-of-the-world, LDS and CDS responses carry every resource the proxy should have; a
 * name missing from a response means it was deleted. RDS and EDS carry only what was asked.
 */
export function requiresFullState(typeUrl: TypeUrl): boolean {
  return typeUrl === TypeUrl.Listener || typeUrl === TypeUrl.Cluster;
}

export function isKnownTypeUrl(value: string): value is TypeUrl {
  return Object.values(TypeUrl).includes(value as TypeUrl);
}
