// Golden tests for Envoy sidecars. Each folder in testdata/ holds input.yaml (mesh resources plus
// one `kind: Proxy` document with the sidecar's namespace and instanceIps) and the expected JSON
// per xDS type, fetched as Envoy fetches them: LDS and CDS wildcard, RDS for the names the
// listeners use, EDS for the EDS clusters, SDS for the secrets their TLS contexts name; plus the
// mesh issues. Every resource must pass the PGV
// rules Envoy enforces. Regenerate after an intended change with `npm run golden`, then review.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { validateResource, type Resource } from "../../api/index.ts";
import type { Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { buildMeshSnapshot, type MeshSnapshot } from "../../mesh/index.ts";
import type { ProxyProfile } from "../types.ts";
import { assertValidEnvoy } from "./pgv-assert.ts";
import { asJson, domain, envoyProfile, sidecarView } from "./testing.ts";

const testdata = join(import.meta.dirname, "testdata");
const update = process.env.UPDATE_GOLDEN === "1";

interface GoldenCase {
  readonly mesh: MeshSnapshot;
  readonly profile: ProxyProfile;
}

function loadCase(dir: string): GoldenCase {
  const resources: Resource[] = [];
  let proxy: { namespace: string; instanceIps?: string[] } | undefined;
  for (const doc of parseAllDocuments(readFileSync(join(dir, "input.yaml"), "utf8"))) {
    const value = doc.toJS() as { kind?: string } | null;
    if (!value) continue;
    if (value.kind === "Proxy") {
      proxy = value as typeof proxy;
      continue;
    }
    const result = validateResource(value);
    if (!result.ok)
      throw new Error(`${dir}: invalid ${result.kind} ${result.name}: ${JSON.stringify(result.errors)}`);
    resources.push(result.resource);
  }
  if (!proxy) throw new Error(`${dir}/input.yaml needs a document with kind: Proxy and namespace`);
  return {
    mesh: buildMeshSnapshot(resources, { domain }),
    profile: envoyProfile(proxy.namespace, proxy.instanceIps ?? []),
  };
}

for (const name of readdirSync(testdata).sort()) {
  const dir = join(testdata, name);
  test(`envoy golden: ${name}`, () => {
    const golden = loadCase(dir);
    const view = sidecarView(golden);
    const outputs: Record<string, string> = Object.fromEntries(
      Object.entries(view).map(([file, resources]) => [file, asJson(resources)]),
    );
    outputs["issues.json"] = `${JSON.stringify(golden.mesh.issues, null, 2)}\n`;
    if (update) for (const [file, actual] of Object.entries(outputs)) writeFileSync(join(dir, file), actual);
    assertValidEnvoy(Object.values(view).flat());
    for (const [file, actual] of Object.entries(outputs)) {
      const path = join(dir, file);
      assert.ok(existsSync(path), `${path} missing: run npm run golden`);
      assert.equal(
        actual,
        readFileSync(path, "utf8"),
        `${name}/${file} differs: review, then npm run golden`,
      );
    }
  });
}

test("envoy: every resource a sidecar gets for the examples passes the PGV rules", () => {
  const examples = join(import.meta.dirname, "../../../examples");
  const resources = ["quickstart/mesh", "policies", "security"].flatMap((folder) =>
    readdirSync(join(examples, folder))
      .filter((file) => file.endsWith(".yaml"))
      .flatMap((file) =>
        parseAllDocuments(readFileSync(join(examples, folder, file), "utf8"), { version: "1.1" }).map(
          (doc) => {
            const result = validateResource(doc.toJS());
            if (!result.ok) throw new Error(`${folder}/${file}: ${JSON.stringify(result.errors)}`);
            return result.resource;
          },
        ),
      ),
  );
  // A sidecar beside greeter-v1 (127.0.0.1), in the examples' namespace.
  const view = sidecarView({
    mesh: buildMeshSnapshot(resources, { domain }),
    profile: envoyProfile("default", ["127.0.0.1"]),
  });
  const all = Object.values(view).flat();
  for (const [file, list] of Object.entries(view)) assert.ok(list.length > 0, `${file} is not empty`);
  assertValidEnvoy(all);
  // examples/security: mesh-wide STRICT puts mTLS on every outbound cluster, the TLS contexts
  // name both secrets, and the RequestAuthentication's JWKS server gets a cluster.
  const outbound = (view["cds.json"] ?? []).filter((c) => c.name.startsWith("outbound|"));
  assert.ok(outbound.length > 0);
  for (const cluster of outbound)
    assert.ok((cluster.message as Cluster).transportSocket, `${cluster.name} originates mTLS`);
  assert.deepEqual(
    (view["sds.json"] ?? []).map((r) => r.name),
    ["ROOTCA", "default"],
  );
  assert.ok((view["cds.json"] ?? []).some((c) => c.name === "jwks|https|accounts.example.com|443"));
});
