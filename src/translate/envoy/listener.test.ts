// LDS: capture listeners, one outbound listener per port, inbound chains from the proxy's IPs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { TrafficDirection } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { FilterChain } from "../../gen/envoy/config/listener/v3/listener_components_pb.js";
import {
  HttpConnectionManagerSchema,
  type HttpConnectionManager,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { TcpProxySchema } from "../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import type { MeshSnapshot } from "../../mesh/index.ts";
import { typeUrlOf } from "../proto.ts";
import { generateResources } from "../generator.ts";
import { assertValidEnvoy } from "./pgv-assert.ts";
import { endpoint, envoyProfile, meshOf, service, servicePort } from "./testing.ts";

const lds = typeUrlOf(ListenerSchema);

function listeners(mesh: MeshSnapshot, ips: string[] = [], names?: string[]): Map<string, Listener> {
  const request = names ? { wildcard: false, names } : { wildcard: true, names: [] };
  const resources = generateResources(mesh, envoyProfile("shop", ips), lds, request);
  assertValidEnvoy(resources);
  return new Map(resources.map((r) => [r.name, r.message as Listener]));
}

function manager(chain: FilterChain | undefined): HttpConnectionManager {
  const filter = chain?.filters[0];
  assert.equal(filter?.name, "envoy.filters.network.http_connection_manager");
  const packed = filter.configType.case === "typedConfig" ? filter.configType.value : undefined;
  const unpacked = packed && anyUnpack(packed, HttpConnectionManagerSchema);
  assert.ok(unpacked);
  return unpacked;
}

function tcpCluster(chain: FilterChain | undefined): string | undefined {
  const filter = chain?.filters[0];
  assert.equal(filter?.name, "envoy.filters.network.tcp_proxy");
  const packed = filter.configType.case === "typedConfig" ? filter.configType.value : undefined;
  const proxy = packed && anyUnpack(packed, TcpProxySchema);
  return proxy?.clusterSpecifier.case === "cluster" ? proxy.clusterSpecifier.value : undefined;
}

const web = service("shop", "web", {
  ports: [
    servicePort(80, { endpoints: [endpoint("10.1.0.1", 8080), endpoint("10.1.0.2", 8080)] }),
    servicePort(9090, { name: "grpc", endpoints: [endpoint("10.1.0.1", 9000, "zone-a", false)] }),
  ],
});
const api = service("shop", "api", { ports: [servicePort(80, { endpoints: [endpoint("10.1.0.3", 8080)] })] });
const admin = service("shop", "admin", {
  ports: [servicePort(8080, { endpoints: [endpoint("10.1.0.1", 8080)] }), servicePort(15001)],
});
const mesh = meshOf([web, api, admin]);

test("wildcard LDS: both capture listeners and one listener per Service port number", () => {
  assert.deepEqual(
    [...listeners(mesh).keys()],
    ["virtualOutbound", "virtualInbound", "0.0.0.0_80", "0.0.0.0_8080", "0.0.0.0_9090"],
  );
  assert.deepEqual(
    [...listeners(mesh, [], ["0.0.0.0_80", "0.0.0.0_81", "virtualInbound"]).keys()],
    ["0.0.0.0_80", "virtualInbound"],
  );
});

test("an outbound listener is not bound, routes over RDS `<port>` and runs fault then router", () => {
  const listener = listeners(mesh).get("0.0.0.0_80");
  assert.equal(listener?.bindToPort, false);
  assert.equal(listener?.trafficDirection, TrafficDirection.OUTBOUND);
  const address = listener?.address?.address;
  assert.equal(address?.case === "socketAddress" && address.value.address, "0.0.0.0");
  const hcm = manager(listener?.filterChains[0]);
  assert.equal(hcm.routeSpecifier.case, "rds");
  assert.equal(hcm.routeSpecifier.case === "rds" && hcm.routeSpecifier.value.routeConfigName, "80");
  assert.equal(
    hcm.routeSpecifier.case === "rds" && hcm.routeSpecifier.value.configSource?.configSourceSpecifier.case,
    "ads",
  );
  assert.deepEqual(
    hcm.httpFilters.map((f) => f.name),
    ["envoy.filters.http.fault", "envoy.filters.http.router"],
  );
});

test("virtualOutbound hands connections to the listener of their original port, else passes through", () => {
  const listener = listeners(mesh).get("virtualOutbound");
  const address = listener?.address?.address;
  assert.equal(address?.case === "socketAddress" && address.value.portSpecifier.value, 15001);
  assert.equal(listener?.useOriginalDst, true);
  assert.equal(listener?.bindToPort, undefined);
  assert.equal(listener?.filterChains.length, 1);
  assert.equal(tcpCluster(listener?.filterChains[0]), "PassthroughCluster");
});

test("virtualInbound: one chain per port this workload's IPs serve, ready or not, plus pass-through", () => {
  const listener = listeners(mesh, ["10.1.0.1"]).get("virtualInbound");
  const address = listener?.address?.address;
  assert.equal(address?.case === "socketAddress" && address.value.portSpecifier.value, 15006);
  assert.equal(listener?.useOriginalDst, undefined);
  assert.equal(listener?.trafficDirection, TrafficDirection.INBOUND);
  assert.deepEqual(
    listener?.listenerFilters.map((f) => f.name),
    ["envoy.filters.listener.original_dst", "envoy.filters.listener.tls_inspector"],
  );
  // PERMISSIVE (the mesh default): an mTLS and a plaintext chain per port (security.test.ts).
  const chains = (listener?.filterChains ?? []).filter((c) => !c.name.endsWith("_mtls"));
  // 8080 backs two Services (web:80 and admin:8080): one chain, or Envoy rejects the listener.
  assert.deepEqual(
    chains.map((c) => c.filterChainMatch?.destinationPort),
    [8080, 9000, undefined],
  );
  const hcm = manager(chains[0]);
  const inline = hcm.routeSpecifier.case === "routeConfig" ? hcm.routeSpecifier.value : undefined;
  const action = inline?.virtualHosts[0]?.routes[0]?.action;
  assert.deepEqual(inline?.virtualHosts[0]?.domains, ["*"]);
  assert.equal(action?.case === "route" && action.value.clusterSpecifier.value, "inbound|8080||");
  assert.deepEqual(
    hcm.httpFilters.map((f) => f.name),
    ["envoy.filters.http.router"],
  );
  assert.equal(tcpCluster(chains[2]), "InboundPassthroughCluster");
});

test("virtualInbound of a proxy whose IPs back no endpoint has only the pass-through chain", () => {
  const chains = listeners(mesh, ["10.9.9.9"]).get("virtualInbound")?.filterChains ?? [];
  assert.deepEqual(
    chains.map((c) => c.name),
    ["virtualInbound-catchall-tcp_mtls", "virtualInbound-catchall-tcp"],
  );
  const two = listeners(mesh, ["10.1.0.2", "10.1.0.3"]).get("virtualInbound")?.filterChains ?? [];
  assert.deepEqual(
    two.map((c) => c.filterChainMatch?.destinationPort),
    [8080, 8080, undefined, undefined],
  );
});
