// LDS for an Envoy sidecar, in Istio's layout. iptables sends the workload's outgoing
// connections to `virtualOutbound` (15001), which hands each one to the listener for its original
// destination port, `0.0.0.0_<port>` (not bound itself); connections to the workload go to
// `virtualInbound` (15006), which picks a filter chain by original destination port and sends the
// request to the application on 127.0.0.1. Anything else passes through untouched.
import { create } from "@bufbuild/protobuf";
import { TrafficDirection } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { Address } from "../../gen/envoy/config/core/v3/address_pb.js";
import { AddressSchema } from "../../gen/envoy/config/core/v3/address_pb.js";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import {
  FilterChainSchema,
  FilterSchema,
  type Filter,
  type FilterChain,
} from "../../gen/envoy/config/listener/v3/listener_components_pb.js";
import { OriginalDstSchema } from "../../gen/envoy/extensions/filters/listener/original_dst/v3/original_dst_pb.js";
import { TlsInspectorSchema } from "../../gen/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector_pb.js";
import {
  HttpConnectionManagerSchema,
  HttpConnectionManager_CodecType,
  type HttpConnectionManager,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { TcpProxySchema } from "../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import type { MtlsMode } from "../../mesh/security-model.ts";
import { faultFilter } from "../grpc/fault.ts";
import { adsConfigSource, packAny } from "../proto.ts";
import { routerFilter } from "./http-filters.ts";
import { inboundChains, inspectsTls, passthroughChains, type InboundPort } from "./inbound.ts";
import {
  httpConnectionManagerName,
  originalDstListenerFilterName,
  outboundListenerName,
  outboundRouteName,
  passthroughCluster,
  tcpProxyName,
  tlsInspectorListenerFilterName,
  virtualInboundListener,
  virtualInboundPort,
  virtualOutboundListener,
  virtualOutboundPort,
} from "./names.ts";

const anyAddress = "0.0.0.0";

/** The listener for outbound calls to `port`: HTTP, routed by the route configuration `<port>`. */
export function outboundListener(port: number): Listener {
  const name = outboundListenerName(port);
  const manager = create(HttpConnectionManagerSchema, {
    codecType: HttpConnectionManager_CodecType.AUTO,
    statPrefix: `outbound_${name}`,
    routeSpecifier: {
      case: "rds",
      value: { configSource: adsConfigSource(), routeConfigName: outboundRouteName(port) },
    },
    // Faults are configured per route; the filter injects nothing where no route overrides it.
    httpFilters: [faultFilter(), routerFilter()],
  });
  return create(ListenerSchema, {
    name,
    address: socketAddress(anyAddress, port),
    // Connections reach it only through virtualOutbound's hand-off.
    bindToPort: false,
    trafficDirection: TrafficDirection.OUTBOUND,
    filterChains: [create(FilterChainSchema, { filters: [httpManagerFilter(manager)] })],
  });
}

/** The capture listener for outgoing connections; ports with no listener pass through. */
export function virtualOutbound(): Listener {
  return create(ListenerSchema, {
    name: virtualOutboundListener,
    address: socketAddress(anyAddress, virtualOutboundPort),
    useOriginalDst: true,
    trafficDirection: TrafficDirection.OUTBOUND,
    filterChains: [passthroughChain(`${virtualOutboundListener}-catchall-tcp`, passthroughCluster)],
  });
}

/**
 * The capture listener for incoming connections. The original_dst listener filter restores the
 * destination iptables rewrote, so chains can match on the workload port; tls_inspector, where
 * some mode accepts mTLS, lets them match on TLS (inbound.ts). It must not set
 * `use_original_dst`: that would hand the connection to the outbound listener of that port.
 */
export function virtualInbound(
  served: readonly InboundPort[],
  meshMode: MtlsMode,
  trustDomain: string,
): Listener {
  const tls = inspectsTls(meshMode) || served.some((p) => inspectsTls(p.security.mtls));
  return create(ListenerSchema, {
    name: virtualInboundListener,
    address: socketAddress(anyAddress, virtualInboundPort),
    trafficDirection: TrafficDirection.INBOUND,
    listenerFilters: [
      {
        name: originalDstListenerFilterName,
        configType: { case: "typedConfig", value: packAny(OriginalDstSchema, create(OriginalDstSchema)) },
      },
      ...(tls
        ? [
            {
              name: tlsInspectorListenerFilterName,
              configType: {
                case: "typedConfig" as const,
                value: packAny(TlsInspectorSchema, create(TlsInspectorSchema)),
              },
            },
          ]
        : []),
    ],
    // A server-first protocol sends nothing for tls_inspector to read: after the timeout its
    // connection goes on to the plaintext chain instead of being closed (Istio does the same).
    ...(tls && { continueOnListenerFiltersTimeout: true }),
    filterChains: [
      ...served.flatMap((port) => inboundChains(port, trustDomain)),
      ...passthroughChains(meshMode, trustDomain),
    ],
  });
}

/** A chain without a match: catches what no other chain takes, forwarded as plain TCP. */
function passthroughChain(name: string, cluster: string): FilterChain {
  const proxy = create(TcpProxySchema, {
    statPrefix: cluster,
    clusterSpecifier: { case: "cluster", value: cluster },
  });
  return create(FilterChainSchema, {
    name,
    filters: [
      { name: tcpProxyName, configType: { case: "typedConfig", value: packAny(TcpProxySchema, proxy) } },
    ],
  });
}

function httpManagerFilter(manager: HttpConnectionManager): Filter {
  return create(FilterSchema, {
    name: httpConnectionManagerName,
    configType: { case: "typedConfig", value: packAny(HttpConnectionManagerSchema, manager) },
  });
}

function socketAddress(address: string, port: number): Address {
  return create(AddressSchema, {
    address: { case: "socketAddress", value: { address, portSpecifier: { case: "portValue", value: port } } },
  });
}
