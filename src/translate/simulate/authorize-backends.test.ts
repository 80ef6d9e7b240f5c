// A request followed through the generated xDS to the servers it reaches, each applying the
// authorization of its own Service port: canary backends with different policies decide apart.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { MeshService, PortSecurity } from "../../mesh/index.ts";
import { openPortSecurity } from "../../mesh/index.ts";
import { authz, operation, rule, source } from "../authz/testing.ts";
import { generateResources } from "../generator.ts";
import {
  backend,
  endpoint,
  mesh,
  route,
  rule as routeRule,
  service,
  servicePort,
} from "../grpc/testing/mesh.ts";
import { viewOf } from "../testing.ts";
import type { GenerateFor } from "./authorize-backends.ts";
import { backendAuthorizationText } from "./explain.ts";
import { authorizeBackends } from "./authorize-backends.ts";
import { collectResources } from "./resources.ts";
import { simulateRequest } from "./simulate.ts";

const checkout = "spiffe://cluster.local/ns/shop/sa/checkout";

function ledger(name: string, security: PortSecurity, address: string): MeshService {
  return service(name, {
    namespace: "shop",
    ports: [
      servicePort(50051, [endpoint(address, "", true, 9000)], undefined, {
        security,
        slices: [{ object: `EndpointSlice shop/${name}-1`, addresses: [address] }],
      }),
    ],
  });
}

const locked: PortSecurity = {
  ...openPortSecurity,
  mtls: "STRICT",
  authorization: [
    authz("ALLOW", "ledger", [
      rule(
        [source({ principals: [checkout] })],
        [operation({ paths: ["/ledger.Ledger/Post"], ports: [9000] })],
      ),
    ]),
  ],
};

for (const flavour of ["grpc", "envoy"] as const) {
  test(`${flavour}: each backend decides with its own port's policies`, () => {
    const snapshot = mesh(
      [ledger("ledger", locked, "10.0.0.1"), ledger("ledger-canary", openPortSecurity, "10.0.0.2")],
      [
        {
          route: route(
            [
              routeRule({
                backends: [backend("ledger", 50051, 1, "shop"), backend("ledger-canary", 50051, 1, "shop")],
              }),
            ],
            "split",
            "shop",
          ),
          parent: "ledger",
          namespace: "shop",
        },
      ],
    );
    const profile = { namespace: "shop", flavour, instanceIps: [] };
    const target = "ledger.shop:50051";
    const xds = collectResources(
      (typeUrl, names) => generateResources(snapshot, profile, typeUrl, names),
      flavour,
      [target],
    );
    const result = simulateRequest(xds, { target, path: "/ledger.Ledger/Post", grpc: true }, flavour);
    assert.equal(result.outcome, "routed");
    const view = viewOf(snapshot, "shop");
    const generate: GenerateFor = (server, typeUrl, names) =>
      generateResources(snapshot, server, typeUrl, names);

    const asWeb = authorizeBackends(
      view,
      result,
      { peer: "spiffe://cluster.local/ns/shop/sa/web", sourceIp: "10.0.0.7" },
      flavour,
      generate,
    );
    assert.deepEqual(
      asWeb.map((a) => [a.server, a.endpoint, a.report?.decision]),
      [
        ["shop/ledger:50051", "10.0.0.1:9000", "denied"],
        ["shop/ledger-canary:50051", "10.0.0.2:9000", "allowed"],
      ],
    );
    assert.match(backendAuthorizationText(asWeb[0]!), /^Authz {5}shop\/ledger:50051 at 10\.0\.0\.1:9000\n/);
    assert.match(backendAuthorizationText(asWeb[1]!), /no authorization policy applies/);

    assert.match(
      backendAuthorizationText(asWeb[1]!),
      /note: the port is not STRICT: callers connect in plaintext/,
    );

    const asCheckout = authorizeBackends(
      view,
      result,
      { peer: checkout, sourceIp: "10.0.0.7" },
      flavour,
      generate,
    );
    assert.deepEqual(
      asCheckout.map((a) => [a.report?.decision, a.report?.filters.map((f) => f.decidedBy)]),
      [
        ["allowed", ["AuthorizationPolicy shop/ledger rules[0]"]],
        ["allowed", []],
      ],
    );

    const plaintext = authorizeBackends(
      view,
      result,
      { peer: undefined, sourceIp: "10.0.0.7" },
      flavour,
      generate,
    );
    assert.deepEqual(
      plaintext.map((a) => [a.report?.decision, a.problem]),
      [
        [undefined, "the port is STRICT: a caller without a certificate (--from) cannot connect"],
        ["allowed", undefined],
      ],
    );
    assert.match(backendAuthorizationText(plaintext[0]!), /FAILS: the port is STRICT/);
  });
}
