// Resource names of the Envoy sidecar layout, after Istio's: outbound traffic is captured on
// 15001 and handed to a per-port listener, inbound traffic is captured on 15006. Outbound
// clusters share their names with proxyless gRPC (../names.ts).

/** Where iptables sends the workload's outgoing connections; hands them to `0.0.0.0_<port>`. */
export const virtualOutboundListener = "virtualOutbound";
export const virtualOutboundPort = 15001;

/** Where iptables sends connections to the workload; one filter chain per served port. */
export const virtualInboundListener = "virtualInbound";
export const virtualInboundPort = 15006;

/** Service ports that would collide with the capture listeners get no outbound listener. */
export const reservedPorts: ReadonlySet<number> = new Set([virtualOutboundPort, virtualInboundPort]);

/** Connections to destinations outside the mesh go where they were going (ORIGINAL_DST). */
export const passthroughCluster = "PassthroughCluster";
/** Connections to a workload port no Service names go straight to that port. */
export const inboundPassthroughCluster = "InboundPassthroughCluster";

/** The address inbound passthrough connects from, so iptables does not capture it again (Istio). */
export const inboundPassthroughBindAddress = "127.0.0.6";

export const routerFilterName = "envoy.filters.http.router";
export const httpConnectionManagerName = "envoy.filters.network.http_connection_manager";
export const tcpProxyName = "envoy.filters.network.tcp_proxy";
export const originalDstListenerFilterName = "envoy.filters.listener.original_dst";
export const tlsInspectorListenerFilterName = "envoy.filters.listener.tls_inspector";
export const jwtAuthnFilterName = "envoy.filters.http.jwt_authn";
export const httpProtocolOptionsName = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/** The listener for outbound traffic to one port number: `0.0.0.0_<port>`. */
export function outboundListenerName(port: number): string {
  return `0.0.0.0_${port}`;
}

/** The route configuration of an outbound listener: the port number, as Istio names it. */
export function outboundRouteName(port: number): string {
  return String(port);
}

export function parseOutboundRouteName(name: string): number | undefined {
  return /^[1-9]\d{0,4}$/.test(name) ? Number(name) : undefined;
}

/** The cluster inbound traffic for a workload port goes to (127.0.0.1:<port>). */
export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

export function parseInboundClusterName(name: string): number | undefined {
  const match = /^inbound\|([1-9]\d{0,4})\|\|$/.exec(name);
  return match ? Number(match[1]) : undefined;
}
