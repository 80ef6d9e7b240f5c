// LDS for proxyless gRPC servers (gRFC A36). An xDS-enabled server bound to IP:PORT asks for the
// listener named by its bootstrap's template (agent/bootstrap.ts), `grpc/server?xds.resource.
// listening_address=IP:PORT`, and serves only once it has one whose socket address is exactly
// IP:PORT. What grpc-js-xds 1.14 demands of it (listener-resource-type.ts, server.ts): no
// listener_filters, no use_original_dst, every filter chain with exactly one HttpConnectionManager
// whose last and only terminal HTTP filter is the router, routes whose action is
// non_forwarding_action (other actions fail the calls they match), and a filter_chain_match a
// server can match: transport_protocol, server_names or application_protocols need listener
// filters gRPC does not have, so such a chain never matches. One chain without a match therefore
// serves every connection, TLS or plaintext by the port's mTLS mode (A29).
import { isIP } from "node:net";
import { create } from "@bufbuild/protobuf";
import { AddressSchema } from "../../gen/envoy/config/core/v3/address_pb.js";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import {
  HttpConnectionManagerSchema,
  HttpConnectionManager_CodecType,
  HttpFilterSchema,
  type HttpFilter,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { PortSecurity } from "../../mesh/index.ts";
import { packAny } from "../proto.ts";
import { serverTlsSocket } from "./tls.ts";

/** The bootstrap's `server_listener_resource_name_template` without its `%s`. */
export const serverListenerPrefix = "grpc/server?xds.resource.listening_address=";

export interface ListeningAddress {
  /** An IP literal, without brackets. */
  readonly ip: string;
  readonly port: number;
}

/** The address a server listener name asks for; undefined when it is not one (or not IP:PORT). */
export function parseServerListenerName(name: string): ListeningAddress | undefined {
  if (!name.startsWith(serverListenerPrefix)) return undefined;
  // grpc-js-xds binds only `IP:port` (server.ts isValidIpPort), IPv6 in brackets.
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(name.slice(serverListenerPrefix.length));
  const ip = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (ip === undefined || isIP(ip) === 0 || !(port >= 1 && port <= 65_535)) return undefined;
  return { ip, port };
}

const routerFilter = (): HttpFilter =>
  create(HttpFilterSchema, {
    name: "envoy.filters.http.router",
    configType: { case: "typedConfig", value: packAny(RouterSchema, create(RouterSchema)) },
  });

/**
 * The listener for a server at `address`. `httpFilters` run before the router, in order
 * (authorization goes there); the route configuration is inline, so a server needs nothing else
 * to start serving. STRICT: TLS with a required client certificate; PERMISSIVE and DISABLE serve
 * plaintext, since a gRPC server cannot tell TLS from plaintext on one port.
 */
export function grpcServerListener(
  name: string,
  address: ListeningAddress,
  security: PortSecurity,
  httpFilters: readonly HttpFilter[],
): Listener {
  const routeConfig = create(RouteConfigurationSchema, {
    name: `inbound|${address.port}`,
    virtualHosts: [
      {
        name: "inbound",
        domains: ["*"],
        routes: [
          {
            match: { pathSpecifier: { case: "prefix", value: "/" } },
            action: { case: "nonForwardingAction", value: {} },
          },
        ],
      },
    ],
  });
  const strict = security.mtls === "STRICT";
  const manager = create(HttpConnectionManagerSchema, {
    codecType: HttpConnectionManager_CodecType.AUTO,
    // Differs by mode on purpose: grpc-js-xds 1.14.1 compares a new listener with the one it
    // serves (server-listener.js listenersEquivalent) with the transport_socket test inverted, so
    // when nothing before it differs, plaintext → TLS throws and kills the server and TLS →
    // plaintext is taken as no change. Unequal HttpConnectionManager bytes end the comparison first.
    statPrefix: strict ? "inbound_mtls" : "inbound",
    routeSpecifier: { case: "routeConfig", value: routeConfig },
    httpFilters: [...httpFilters, routerFilter()],
  });
  return create(ListenerSchema, {
    name,
    address: create(AddressSchema, {
      address: {
        case: "socketAddress",
        value: { address: address.ip, portSpecifier: { case: "portValue", value: address.port } },
      },
    }),
    filterChains: [
      {
        name: `inbound|${address.port}`,
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            configType: { case: "typedConfig", value: packAny(HttpConnectionManagerSchema, manager) },
          },
        ],
        ...(strict && { transportSocket: serverTlsSocket() }),
      },
    ],
  });
}
