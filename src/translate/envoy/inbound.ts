// The filter chains of `virtualInbound`, by the mTLS mode of each served port (PeerAuthentication),
// in Istio's layout. The tls_inspector listener filter tells TLS from plaintext, so a chain can
// match `transport_protocol`: STRICT has only a TLS chain (a plaintext connection to the port
// matches no chain and is closed: Envoy does not fall back to chains of other ports), PERMISSIVE a
// TLS chain and a plaintext one for everything else (`raw_buffer`, or nothing detected when a
// server-first protocol sends no bytes), DISABLE only the plaintext chain.
import { create } from "@bufbuild/protobuf";
import type { TransportSocket } from "../../gen/envoy/config/core/v3/base_pb.js";
import {
  FilterChainSchema,
  FilterSchema,
  type Filter,
  type FilterChain,
} from "../../gen/envoy/config/listener/v3/listener_components_pb.js";
import {
  HttpConnectionManagerSchema,
  HttpConnectionManager_CodecType,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { TcpProxySchema } from "../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import type { MtlsMode, PortSecurity } from "../../mesh/security-model.ts";
import { durationMs, packAny } from "../proto.ts";
import { inboundHttpFilters } from "./http-filters.ts";
import {
  httpConnectionManagerName,
  inboundClusterName,
  inboundPassthroughCluster,
  tcpProxyName,
  virtualInboundListener,
} from "./names.ts";
import { downstreamMtls } from "./tls.ts";

/** A port the workload serves, with the security its Services ask for there. */
export interface InboundPort {
  readonly port: number;
  readonly security: PortSecurity;
}

/** The transport_protocol tls_inspector sets for TLS; plaintext chains match any ("" is unset). */
const tlsProtocol = "tls";

/** Whether a mode needs tls_inspector (to match transport_protocol). */
export function inspectsTls(mode: MtlsMode): boolean {
  return mode !== "DISABLE";
}

/** The chains of one served port: HTTP to the application on 127.0.0.1:<port>. */
export function inboundChains(inbound: InboundPort, trustDomain: string): FilterChain[] {
  const { port, security } = inbound;
  const filters = [httpManagerFilter(inboundManager(port, security, trustDomain))];
  const name = `${virtualInboundListener}_${port}`;
  return byMode(security.mtls, trustDomain, (transportProtocol, transportSocket, suffix) =>
    create(FilterChainSchema, {
      name: `${name}${suffix}`,
      filterChainMatch: { destinationPort: port, transportProtocol },
      filters,
      transportSocket,
    }),
  );
}

/**
 * The chain for connections to ports no Service names, forwarded as TCP; under the mesh-wide
 * mode, so STRICT leaves no plaintext way into the workload either.
 */
export function passthroughChains(mode: MtlsMode, trustDomain: string): FilterChain[] {
  const filters = [tcpProxyFilter(inboundPassthroughCluster)];
  const name = `${virtualInboundListener}-catchall-tcp`;
  return byMode(mode, trustDomain, (transportProtocol, transportSocket, suffix) =>
    create(FilterChainSchema, {
      name: `${name}${suffix}`,
      ...(transportProtocol !== "" && { filterChainMatch: { transportProtocol } }),
      filters,
      transportSocket,
    }),
  );
}

type ChainMaker = (
  transportProtocol: string,
  transportSocket: TransportSocket | undefined,
  nameSuffix: string,
) => FilterChain;

function byMode(mode: MtlsMode, trustDomain: string, chain: ChainMaker): FilterChain[] {
  switch (mode) {
    case "STRICT":
      return [chain(tlsProtocol, downstreamMtls(trustDomain), "_mtls")];
    case "PERMISSIVE":
      return [chain(tlsProtocol, downstreamMtls(trustDomain), "_mtls"), chain("", undefined, "")];
    case "DISABLE":
      return [chain("", undefined, "")];
  }
}

/** The connection manager of a served port, with an inline route to the application, no time limit. */
function inboundManager(port: number, security: PortSecurity, trustDomain: string) {
  const cluster = inboundClusterName(port);
  return create(HttpConnectionManagerSchema, {
    codecType: HttpConnectionManager_CodecType.AUTO,
    statPrefix: `inbound_0.0.0.0_${port}`,
    routeSpecifier: {
      case: "routeConfig",
      value: {
        name: cluster,
        virtualHosts: [
          {
            name: `inbound|http|${port}`,
            domains: ["*"],
            routes: [
              {
                name: "default",
                match: { pathSpecifier: { case: "prefix", value: "/" } },
                action: {
                  case: "route",
                  value: { clusterSpecifier: { case: "cluster", value: cluster }, timeout: durationMs(0) },
                },
              },
            ],
          },
        ],
      },
    },
    httpFilters: inboundHttpFilters(security, trustDomain),
  });
}

function httpManagerFilter(manager: ReturnType<typeof inboundManager>): Filter {
  return create(FilterSchema, {
    name: httpConnectionManagerName,
    configType: { case: "typedConfig", value: packAny(HttpConnectionManagerSchema, manager) },
  });
}

function tcpProxyFilter(cluster: string): Filter {
  const proxy = create(TcpProxySchema, {
    statPrefix: cluster,
    clusterSpecifier: { case: "cluster", value: cluster },
  });
  return create(FilterSchema, {
    name: tcpProxyName,
    configType: { case: "typedConfig", value: packAny(TcpProxySchema, proxy) },
  });
}
