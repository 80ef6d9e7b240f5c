// The RBAC filters in the listeners that serve a port: a proxyless server's listener (gRFC A36)
// and an Envoy sidecar's inbound chains run them before the router, in order (Envoy: after
// jwt_authn, whose claims they match); grpc-js-xds accepts the proxyless listener, PGV the Envoy
// one; the provenance names the AuthorizationPolicy, so a NACK is blamed on it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { MeshFacets, openPortSecurity, type PortSecurity } from "../../mesh/index.ts";
import { assertValidEnvoy } from "../envoy/pgv-assert.ts";
import * as envoy from "../envoy/testing.ts";
import { translate } from "../generator.ts";
import { serverListenerPrefix } from "../grpc/server-listener.ts";
import { endpoint, mesh, service, servicePort } from "../grpc/testing/mesh.ts";
import { typeUrlOf } from "../proto.ts";
import { authz, grpcJsRbac, operation, rule, source } from "./testing.ts";

// RBAC must be registered before grpc-js-xds loads (the listener decoder is imported below).
const grpcJs = grpcJsRbac();
const { grpcJsXdsErrors } = await import("../grpc/testing/grpc-js-xds.ts");

const checkout = "spiffe://cluster.local/ns/shop/sa/checkout";
const LDS = typeUrlOf(ListenerSchema);
const profile = { namespace: "shop", flavour: "grpc" as const, instanceIps: [] };

function ledgerMesh(security: PortSecurity) {
  return mesh([
    service("ledger", {
      namespace: "shop",
      ports: [
        servicePort(50051, [endpoint("10.0.0.1", "", true, 8080)], undefined, {
          security,
          slices: [{ object: "EndpointSlice shop/ledger-1", addresses: ["10.0.0.1"] }],
        }),
      ],
    }),
  ]);
}

function serverListener(security: PortSecurity) {
  const translation = translate(
    new MeshFacets(ledgerMesh(security)),
    profile,
    LDS,
    `${serverListenerPrefix}10.0.0.1:8080`,
  );
  assert.ok(translation.resource);
  return translation.resource;
}

function httpFilters(listener: Listener) {
  const config = listener.filterChains[0]?.filters[0]?.configType;
  assert.equal(config?.case, "typedConfig");
  const manager = anyUnpack(config.value, HttpConnectionManagerSchema);
  assert.ok(manager);
  return manager.httpFilters;
}

test("proxyless server listener: DENY, then ALLOW, then the router; grpc-js-xds accepts it", () => {
  const security: PortSecurity = {
    ...openPortSecurity,
    mtls: "STRICT",
    authorization: [
      authz("ALLOW", "ledger", [
        rule([source({ principals: [checkout] })], [operation({ paths: ["/ledger.Ledger/Post"] })]),
      ]),
      authz("DENY", "no-guests", [rule([source({ namespaces: ["guest"] })])]),
      authz("AUDIT", "audit", [rule()]),
    ],
  };
  const resource = serverListener(security);
  const filters = httpFilters(resource.message as Listener);
  assert.deepEqual(
    filters.map((f) => f.name),
    ["meshplane.authz.deny", "meshplane.authz.allow", "envoy.filters.http.router"],
  );
  assert.ok(filters.slice(0, 2).every((f) => !f.isOptional && grpcJs.parse(f)));
  assert.deepEqual(grpcJsXdsErrors(resource), []);
  const read = resource.provenance.objects.join("\n");
  for (const name of ["AuthorizationPolicy shop/ledger", "AuthorizationPolicy shop/no-guests"]) {
    assert.match(read, new RegExp(name), `provenance: ${read}`);
  }
});

test("proxyless server listener without policies: the router alone", () => {
  const filters = httpFilters(serverListener(openPortSecurity).message as Listener);
  assert.deepEqual(
    filters.map((f) => f.name),
    ["envoy.filters.http.router"],
  );
});

test("Envoy inbound chains: jwt_authn, DENY, ALLOW, AUDIT as LOG first, then the router, in every mode's chain", () => {
  const security = envoy.portSecurity({
    mtls: "PERMISSIVE",
    jwtRules: [envoy.jwtRule()],
    authorization: [
      authz("DENY", "no-guests", [rule([source({ namespaces: ["guest"] })])]),
      authz("ALLOW", "users", [rule([source({ requestPrincipals: ["https://issuer.example/*"] })])]),
      authz("AUDIT", "audit", [rule()]),
    ],
  });
  const snapshot = envoy.meshOf([
    envoy.service("shop", "ledger", {
      ports: [envoy.servicePort(50051, { endpoints: [envoy.endpoint("10.1.0.1", 8080)], security })],
    }),
  ]);
  const resource = translate(
    new MeshFacets(snapshot),
    envoy.envoyProfile("shop", ["10.1.0.1"]),
    LDS,
    "virtualInbound",
  ).resource;
  assert.ok(resource);
  assertValidEnvoy([resource]);
  const listener = resource.message as Listener;
  const served = listener.filterChains.filter((c) => c.filterChainMatch?.destinationPort === 8080);
  assert.equal(served.length, 2, "PERMISSIVE: an mTLS chain and a plaintext chain");
  for (const chain of served) {
    const config = chain.filters[0]?.configType;
    assert.equal(config?.case, "typedConfig");
    assert.deepEqual(
      anyUnpack(config.value, HttpConnectionManagerSchema)?.httpFilters.map((f) => f.name),
      [
        "envoy.filters.http.jwt_authn",
        "meshplane.authz.audit",
        "meshplane.authz.deny",
        "meshplane.authz.allow",
        "envoy.filters.http.router",
      ],
      chain.name,
    );
  }
  const read = resource.provenance.objects.join("\n");
  for (const name of ["no-guests", "users", "audit"])
    assert.match(read, new RegExp(`AuthorizationPolicy shop/${name}`));
});
