// `meshplane explain` on authorization: the called servers decide with the RBAC filters meshplane
// generates for their port, for the caller given by --from / --source-ip / --request-principal,
// on the server's data plane (--server-flavour). Exit 1 when a server refuses the request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const main = join(import.meta.dirname, "main.ts");

const mesh = `
apiVersion: v1
kind: Service
metadata: { name: ledger, namespace: shop }
spec: { ports: [{ name: grpc, port: 50051 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ledger-1, namespace: shop, labels: { kubernetes.io/service-name: ledger } }
addressType: IPv4
endpoints: [{ addresses: ["10.0.0.1"] }]
ports: [{ name: grpc, port: 8080 }]
---
apiVersion: meshplane.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: ledger-post, namespace: shop }
spec:
  targetRefs: [{ group: "", kind: Service, name: ledger }]
  action: ALLOW
  rules:
    - from: [{ source: { principals: ["spiffe://cluster.local/ns/shop/sa/checkout"] } }]
      to: [{ operation: { grpc: { service: ledger.Ledger, method: Post } } }]
    - from: [{ source: { requestPrincipals: ["https://issuer.example/alice"] } }]
---
apiVersion: meshplane.dev/v1alpha1
kind: PeerAuthentication
metadata: { name: strict, namespace: shop }
spec: { mtls: { mode: STRICT } }
---
apiVersion: meshplane.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: no-outsiders, namespace: shop }
spec:
  action: DENY
  rules: [{ from: [{ source: { notIpBlocks: ["10.0.0.0/8"] } }] }]
`;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function explain(...args: string[]): Promise<Run> {
  const base = ["--target", "ledger.shop:50051", "--namespace", "shop", "--config-dir", dir];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, "explain", ...base, ...args],
      { timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

const dir = mkdtempSync(join(tmpdir(), "meshplane-explain-authz-"));
writeFileSync(join(dir, "mesh.yaml"), mesh);
test.after(() => rmSync(dir, { recursive: true, force: true }));

const post = ["--grpc-method", "/ledger.Ledger/Post", "--source-ip", "10.1.0.7"];

test("the allowed identity: exit 0, the deciding policy and the server port", async () => {
  const run = await explain(...post, "--from", "spiffe://cluster.local/ns/shop/sa/checkout");
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /Authz {5}shop\/ledger:50051 at 10\.0\.0\.1:8080\n/);
  assert.match(run.stdout, /meshplane\.authz\.deny \(DENY\): ALLOWED/);
  assert.match(
    run.stdout,
    /meshplane\.authz\.allow \(ALLOW\): ALLOWED: AuthorizationPolicy shop\/ledger-post rules\[0\]/,
  );
});

test("another identity, a caller outside 10/8, a plaintext caller to a STRICT port: exit 1 and why", async () => {
  const [web, outside, plaintext] = await Promise.all([
    explain(...post, "--from", "spiffe://cluster.local/ns/shop/sa/web"),
    explain(
      "--grpc-method",
      "/ledger.Ledger/Post",
      "--source-ip",
      "192.168.1.1",
      "--from",
      "spiffe://cluster.local/ns/shop/sa/checkout",
    ),
    explain(...post),
  ]);
  assert.equal(web.code, 1, web.stdout);
  assert.match(
    web.stdout,
    /DENIED \(gRPC status 7\) by meshplane\.authz\.allow: no policy of this ALLOW filter matches/,
  );
  assert.match(
    web.stdout,
    /peer spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web does not match principal exact/,
  );
  assert.equal(outside.code, 1, outside.stdout);
  assert.match(
    outside.stdout,
    /by meshplane\.authz\.deny: AuthorizationPolicy shop\/no-outsiders rules\[0\]/,
  );
  assert.match(outside.stdout, /not \(source 192\.168\.1\.1 is not in 10\.0\.0\.0\/8\)/);
  assert.equal(plaintext.code, 1, plaintext.stdout);
  assert.match(
    plaintext.stdout,
    /FAILS: the port is STRICT: a caller without a certificate \(--from\) cannot connect/,
  );
});

test("an end user from a JWT: allowed by Envoy servers; proxyless ones leave the rule out and say so", async () => {
  const jwt = [
    "--request-principal",
    "https://issuer.example/alice",
    "--from",
    "spiffe://cluster.local/ns/shop/sa/web",
    "--grpc-method",
    "/ledger.Ledger/Get",
    "--source-ip",
    "10.1.0.7",
  ];
  const [envoy, grpc] = await Promise.all([
    explain(...jwt, "--server-flavour", "envoy"),
    explain(...jwt, "--server-flavour", "grpc", "-o", "json"),
  ]);
  assert.equal(envoy.code, 0, envoy.stdout);
  assert.match(envoy.stdout, /ALLOWED: AuthorizationPolicy shop\/ledger-post rules\[1\]/);
  assert.equal(grpc.code, 1, grpc.stdout);
  const output = JSON.parse(grpc.stdout) as {
    authorization: { report: { decision: string } }[];
    issues: { object: string; field: string; flavour?: string }[];
  };
  assert.deepEqual(
    output.authorization.map((a) => a.report.decision),
    ["denied"],
  );
  assert.ok(
    output.issues.some(
      (i) =>
        i.object === "AuthorizationPolicy shop/ledger-post" &&
        i.field === "spec.rules[1].from[0].source.requestPrincipals" &&
        i.flavour === "grpc",
    ),
    JSON.stringify(output.issues),
  );
});

test("authorization usage errors exit 2", async () => {
  const runs = await Promise.all([
    explain(...post, "--from", "checkout"),
    explain("--grpc-method", "/ledger.Ledger/Post", "--source-ip", "10.1"),
    explain(...post, "--request-principal", "alice"),
  ]);
  assert.deepEqual(
    runs.map((r) => r.code),
    [2, 2, 2],
  );
  assert.match(runs[0]!.stderr, /--from checkout: expected a SPIFFE ID/);
  assert.match(runs[1]!.stderr, /--source-ip 10\.1: not an IP address/);
  assert.match(runs[2]!.stderr, /--request-principal alice: expected <issuer>\/<subject>/);
});
