// The MeshView records every read, lookups that find nothing included, and refuses proxy
// attributes its resource type does not declare (the cache would share the result wrongly).
import { test } from "node:test";
import assert from "node:assert/strict";
import { MeshFacets } from "../mesh/index.ts";
import { mesh, policy, service, servicePort } from "./grpc/testing/mesh.ts";
import { MeshView, UndeclaredProfileReadError } from "./view.ts";

const facets = new MeshFacets(
  mesh([service("greeter", { ports: [servicePort(50051, [], policy({ connectTimeoutMs: 10 }))] })]),
);
const profile = { namespace: "default", flavour: "grpc", instanceIps: ["10.0.0.1"] } as const;

test("view: reads are recorded, a lookup that finds nothing too; objects come Services first", () => {
  const view = new MeshView(facets, profile, []);
  assert.equal(view.policy({ namespace: "default", name: "greeter", port: 50051 })?.connectTimeoutMs, 10);
  assert.ok(view.service("default", "greeter"));
  assert.equal(view.service("default", "missing"), undefined);
  const { reads, objects } = view.provenance();
  assert.deepEqual(
    [...reads],
    ["policy default/greeter:50051", "Service default/greeter", "Service default/missing"],
  );
  assert.deepEqual(objects, ["Service default/greeter", "TrafficPolicy default/test"]);
});

test("view: proxy attributes the resource type does not declare are refused", () => {
  const undeclared = new MeshView(facets, profile, []);
  assert.throws(() => undeclared.callerNamespace, UndeclaredProfileReadError);
  assert.throws(() => undeclared.instanceIps, UndeclaredProfileReadError);
  assert.throws(() => undeclared.clientEncoding, UndeclaredProfileReadError);
  assert.deepEqual(new MeshView(facets, profile, ["client"]).clientEncoding, { headerStringMatch: true });
  const declared = new MeshView(facets, profile, ["namespace"]);
  assert.equal(declared.callerNamespace, "default");
  assert.throws(() => declared.instanceIps, /instanceIps, which its resource type does not declare/);
});
