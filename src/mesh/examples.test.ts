// The policy examples are valid, and on top of the quick-start mesh they attach without problems;
// only what proxyless gRPC clients cannot apply is reported, and only for them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { validateResource, type Resource } from "../api/index.ts";
import { buildMeshSnapshot } from "./build.ts";
import { issueLines } from "./testing.ts";

const examples = join(import.meta.dirname, "../../examples");

function load(dir: string): Resource[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith(".yaml"))
    .sort()
    .flatMap((file) =>
      // YAML 1.1, as kubectl reads it: there `on`, `yes` and `no` are booleans.
      parseAllDocuments(readFileSync(join(dir, file), "utf8"), { version: "1.1" }).map((doc) => {
        const result = validateResource(doc.toJS());
        if (!result.ok) throw new Error(`${file}: ${JSON.stringify(result.errors)}`);
        return result.resource;
      }),
    );
}

test("examples/policies on the quick-start mesh", () => {
  const policies = load(join(examples, "policies"));
  assert.deepEqual(
    policies.map((r) => `${r.kind}/${r.metadata.name}`),
    [
      "FaultInjection/greeter-chaos",
      "GRPCRoute/greeter-chaos",
      "TrafficPolicy/greeter",
      "TrafficPolicy/greeter-affinity",
    ],
  );
  const mesh = buildMeshSnapshot([...load(join(examples, "quickstart/mesh")), ...policies], {
    domain: "cluster.local",
  });
  assert.deepEqual(issueLines(mesh.issues), []);
  const greeter = mesh.services.get("default/greeter");
  assert.equal(greeter?.ports[0]?.policy?.loadBalancer, "RingHash");
  assert.equal(mesh.services.get("default/greeter-v2")?.policy?.source, "TrafficPolicy default/greeter");
  const chaos = mesh.attachments.get("default/greeter:50051")?.find((a) => a.route.name === "greeter-chaos");
  assert.deepEqual(
    chaos?.route.rules[0]?.filters.map((f) => (f.type === "Fault" ? f.fault.source : f.type)),
    ["FaultInjection default/greeter-chaos"],
  );
});

test("examples/security on the quick-start mesh", () => {
  const policies = load(join(examples, "security"));
  const mesh = buildMeshSnapshot([...load(join(examples, "quickstart/mesh")), ...policies], {
    domain: "cluster.local",
  });
  // Only what proxyless gRPC servers cannot apply: they have no JWT filter.
  assert.deepEqual(issueLines(mesh.issues), [
    "RequestAuthentication default/greeter-jwt spec.jwtRules UnsupportedValue [grpc]",
  ]);
  const security = mesh.services.get("default/greeter")?.ports[0]?.security;
  assert.equal(security?.mtls, "STRICT");
  assert.equal(security?.mtlsSource, "PeerAuthentication meshplane-system/mesh-strict");
  assert.deepEqual(
    security?.authorization.map((p) => `${p.action} ${p.source} ${p.rules[0]?.to[0]?.paths.join(",") ?? ""}`),
    [
      "ALLOW AuthorizationPolicy default/greeter-callers /meshplane.demo.Greeter/SayHello",
      "DENY AuthorizationPolicy default/greeter-deny-outside ",
    ],
  );
  assert.deepEqual(
    security?.jwtRules.map((r) => r.issuer),
    ["https://accounts.example.com"],
  );
  assert.equal(mesh.meshSecurity.mtls, "STRICT");
});
