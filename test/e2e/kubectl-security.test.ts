// Real kubectl and the security kinds: apply, get and explain work for PeerAuthentication,
// AuthorizationPolicy and RequestAuthentication, and a bad object is refused with the field's path
// while nothing is stored.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kubectl } from "./support/api.ts";
import {
  meshYaml,
  startMeshplane,
  tempConfigDir,
  type Meshplane,
  waitFor,
  type TempConfigDir,
} from "./support/index.ts";

const policies = `
apiVersion: meshplane.dev/v1alpha1
kind: PeerAuthentication
metadata: { name: ledger-strict, namespace: default }
spec:
  targetRefs: [{ group: "", kind: Service, name: ledger }]
  mtls: { mode: STRICT }
---
apiVersion: meshplane.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: ledger-post, namespace: default }
spec:
  targetRefs: [{ group: "", kind: Service, name: ledger }]
  rules:
    - from: [{ source: { principals: ["spiffe://cluster.local/ns/shop/sa/checkout"] } }]
      to: [{ operation: { grpc: { service: ledger.Ledger, method: Post } } }]
---
apiVersion: meshplane.dev/v1alpha1
kind: RequestAuthentication
metadata: { name: ledger-jwt, namespace: default }
spec:
  targetRefs: [{ group: "", kind: Service, name: ledger }]
  jwtRules: [{ issuer: "https://issuer.example", jwksUri: "https://issuer.example/jwks.json" }]
`;

describe("kubectl and the security kinds", { timeout: 90_000 }, () => {
  let dataDir: string;
  let config: TempConfigDir;
  let meshplane: Meshplane;
  const run = (args: string[], input?: string) =>
    kubectl(meshplane.kubeconfig as string, join(dataDir, "kube-cache"), args, input);

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "meshplane-e2e-kubectl-security-"));
    config = await tempConfigDir({ "services.yaml": meshYaml().service("ledger", 50051, []).render() });
    meshplane = await startMeshplane({ configDir: config.path, args: ["--data-dir", dataDir] });
  });

  after(async () => {
    await meshplane?.stop();
    await config?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test("apply, get and explain work for all three kinds", async () => {
    const applied = await run(["apply", "-f", "-"], policies);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /peerauthentication.meshplane.dev\/ledger-strict created/);
    assert.match(applied.stdout, /authorizationpolicy.meshplane.dev\/ledger-post created/);
    assert.match(applied.stdout, /requestauthentication.meshplane.dev\/ledger-jwt created/);

    const listed = await run(["get", "pa,ap,ra", "-o", "name"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.stdout.trim().split("\n").sort(), [
      "authorizationpolicy.meshplane.dev/ledger-post",
      "peerauthentication.meshplane.dev/ledger-strict",
      "requestauthentication.meshplane.dev/ledger-jwt",
    ]);
    const table = await run(["get", "peerauthentication"]);
    assert.match(table.stdout, /^NAME\s+TARGETS\s+MODE\s+AGE\nledger-strict\s+ledger\s+STRICT\s+/);

    const explained: [path: string, text: RegExp][] = [
      [
        "peerauthentication.spec.mtls",
        /FIELD: mtls .* mode <string> .*STRICT: servers accept only mutual TLS/,
      ],
      ["authorizationpolicy.spec.rules.from.source.principals", /SPIFFE IDs, spiffe:\/\/<trust-domain>/],
      ["authorizationpolicy.spec.rules.to.operation.grpc", /\/ledger.Ledger\/Post/],
      ["requestauthentication.spec.jwtRules.jwksUri", /https, or http on 127.0.0.1\/localhost only/],
    ];
    for (const [path, text] of explained) {
      const explain = await run(["explain", path]);
      assert.equal(explain.code, 0, `${path}: ${explain.stderr}`);
      // kubectl wraps descriptions at 80 columns.
      assert.match(explain.stdout.replace(/\s+/g, " "), text, path);
    }
  });

  test("the status controller writes Accepted and Programmed on each kind, issues on their field", async () => {
    const missing = `apiVersion: meshplane.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: to-nowhere, namespace: default }
spec: { targetRefs: [{ group: "", kind: Service, name: nowhere }] }
`;
    const applied = await run(["apply", "-f", "-"], missing);
    assert.equal(applied.code, 0, applied.stderr);
    const conditions = async (resource: string) => {
      const got = await run([
        "get",
        resource,
        "-o",
        'jsonpath={range .status.conditions[*]}{.type}={.status}/{.reason}: {.message}{"\\n"}{end}',
      ]);
      return got.stdout.trim().split("\n");
    };
    const expected: [resource: string, accepted: RegExp][] = [
      ["peerauthentication/ledger-strict", /^Accepted=True\/Accepted: Accepted$/],
      ["authorizationpolicy/ledger-post", /^Accepted=True\/Accepted: Accepted$/],
      [
        "requestauthentication/ledger-jwt",
        /^Accepted=True\/Accepted: Accepted; not applied for proxyless gRPC: spec\.jwtRules: proxyless gRPC servers have no JWT filter/,
      ],
      [
        "authorizationpolicy/to-nowhere",
        /^Accepted=False\/TargetNotFound: spec\.targetRefs\[0\]: Service default\/nowhere does not exist/,
      ],
    ];
    // No proxy is connected: nothing runs a listener built from the policy. Programmed is Unknown
    // until the replica's first report, so wait for both conditions.
    const programmed =
      /^Programmed=(True\/Programmed: reached 0 of 0 connected proxies|False\/Invalid: not accepted, so not programmed)$/;
    for (const [resource, accepted] of expected) {
      let last: string[] = [];
      await waitFor(
        async () => {
          last = await conditions(resource);
          return last.length === 2 && accepted.test(last[0] ?? "") && programmed.test(last[1] ?? "");
        },
        { timeoutMs: 15_000, intervalMs: 200, message: `${resource} status` },
      ).catch((error: Error) => {
        throw new Error(`${error.message}; last conditions: ${last.join(" | ")}`);
      });
    }
  });

  test("a bad object is refused with its field's path and nothing is stored", async () => {
    const bad: [object: string, field: RegExp][] = [
      [
        "kind: PeerAuthentication\nmetadata: { name: bad, namespace: default }\nspec: { mtls: { mode: LOOSE } }",
        /is invalid: spec\.mtls\.mode: Unsupported value: "LOOSE": supported values: "STRICT", "PERMISSIVE", "DISABLE"/,
      ],
      [
        'kind: AuthorizationPolicy\nmetadata: { name: bad, namespace: default }\nspec: { rules: [{ from: [{ source: { principals: ["checkout"] } }] }] }',
        /is invalid: spec\.rules\[0\]\.from\[0\]\.source\.principals\[0\]: .*not a SPIFFE ID/,
      ],
      [
        'kind: RequestAuthentication\nmetadata: { name: bad, namespace: default }\nspec: { jwtRules: [{ issuer: i, jwksUri: "http://issuer.example/jwks" }] }',
        /is invalid: spec\.jwtRules\[0\]\.jwksUri: .*use an https URL/,
      ],
    ];
    for (const [object, field] of bad) {
      const refused = await run(["apply", "-f", "-"], `apiVersion: meshplane.dev/v1alpha1\n${object}`);
      assert.notEqual(refused.code, 0, refused.stdout);
      assert.match(refused.stderr, field);
    }
    for (const kind of ["peerauthentication", "authorizationpolicy", "requestauthentication"]) {
      const got = await run(["get", kind, "bad"]);
      assert.notEqual(got.code, 0);
      assert.match(got.stderr, /NotFound|not found/, kind);
    }
  });
});
