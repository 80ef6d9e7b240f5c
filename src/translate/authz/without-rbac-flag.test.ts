// What `meshplane bootstrap --help` tells operators: a grpc-js-xds server started without
// GRPC_XDS_EXPERIMENTAL_RBAC=true rejects (NACKs) a listener that carries RBAC filters, rather
// than serving without authorization, because the filters are not optional.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { MeshFacets, openPortSecurity } from "../../mesh/index.ts";
import { translate } from "../generator.ts";
import { serverListenerPrefix } from "../grpc/server-listener.ts";
import { endpoint, mesh, service, servicePort } from "../grpc/testing/mesh.ts";
import { typeUrlOf } from "../proto.ts";
import { authz, rule, source } from "./testing.ts";

// grpc-js-xds reads the variable once, when it loads (environment.ts).
delete process.env.GRPC_XDS_EXPERIMENTAL_RBAC;
const { grpcJsXdsErrors } = await import("../grpc/testing/grpc-js-xds.ts");

test("without GRPC_XDS_EXPERIMENTAL_RBAC a proxyless server NACKs its listener once a policy applies", () => {
  const listener = (authorization: typeof openPortSecurity.authorization) => {
    const security = { ...openPortSecurity, authorization };
    const snapshot = mesh([
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
    const profile = { namespace: "shop", flavour: "grpc" as const, instanceIps: [] };
    const name = `${serverListenerPrefix}10.0.0.1:8080`;
    const resource = translate(new MeshFacets(snapshot), profile, typeUrlOf(ListenerSchema), name).resource;
    assert.ok(resource);
    return resource;
  };
  assert.deepEqual(grpcJsXdsErrors(listener([])), []);
  const errors = grpcJsXdsErrors(
    listener([
      authz("ALLOW", "ledger", [
        rule([source({ principals: ["spiffe://cluster.local/ns/shop/sa/checkout"] })]),
      ]),
    ]),
  );
  assert.equal(errors.length, 1, "rejected");
  assert.match(errors[0]!, /meshplane\.authz\.allow filter validation failed/);
});
