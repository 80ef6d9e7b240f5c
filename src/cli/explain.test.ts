// `meshplane explain` as a user runs it: a child process on a config directory or a running API,
// its output and its exit codes (0 routed, 1 the request would fail, 2 usage errors).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { storedKind } from "../api/index.ts";
import { createApiClient, writeKubeconfig } from "../apiserver/index.ts";
import { startTestServer } from "../apiserver/testing.ts";
import type { KubeObject } from "../store/index.ts";

const main = join(import.meta.dirname, "main.ts");

const mesh = `
apiVersion: v1
kind: Service
metadata: { name: greeter, namespace: default }
spec: { clusterIP: 10.96.0.10, ports: [{ name: grpc, port: 50051 }] }
---
apiVersion: v1
kind: Service
metadata: { name: greeter-v1, namespace: default }
spec: { ports: [{ name: grpc, port: 50051 }] }
---
apiVersion: v1
kind: Service
metadata: { name: greeter-v2, namespace: default }
spec: { ports: [{ name: grpc, port: 50051 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: greeter-v1-1, namespace: default, labels: { kubernetes.io/service-name: greeter-v1 } }
addressType: IPv4
endpoints: [{ addresses: ["10.0.0.1"] }]
ports: [{ name: grpc, port: 50051 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: greeter-v2-1, namespace: default, labels: { kubernetes.io/service-name: greeter-v2 } }
addressType: IPv4
endpoints: [{ addresses: ["10.0.0.2"] }]
ports: [{ name: grpc, port: 50051 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: greeter, namespace: default }
spec:
  parentRefs: [{ group: "", kind: Service, name: greeter, port: 50051 }]
  rules:
    - name: vip
      matches: [{ path: { value: /pkg.Greeter }, headers: [{ name: x-user, value: alice }] }]
      backendRefs: [{ name: greeter-v2, port: 50051 }]
    - name: greeter
      matches: [{ path: { value: /pkg.Greeter } }]
      backendRefs: [{ name: greeter-v1, port: 50051 }]
    - name: status
      matches: [{ path: { value: /status }, method: GET }]
      backendRefs: [{ name: greeter-v1, port: 50051 }]
`;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function explain(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, "explain", ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), "meshplane-explain-"));
writeFileSync(join(dir, "mesh.yaml"), mesh);
test.after(() => rmSync(dir, { recursive: true, force: true }));

test("a routed gRPC call: exit 0, the route, rule and cluster", async () => {
  const run = await explain(
    "--target",
    "greeter:50051",
    "--grpc-method",
    "/pkg.Greeter/SayHello",
    "--config-dir",
    dir,
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stdout,
    /#1 HTTPRoute default\/greeter rule vip: no match: header x-user: missing \(wants exact "alice"\)/,
  );
  assert.match(run.stdout, /HTTPRoute default\/greeter rule greeter: MATCHED/);
  assert.match(run.stdout, /100% {2}outbound\|50051\|\|greeter-v1\.default\.svc\.cluster\.local/);
  assert.match(run.stdout, /Result {4}ROUTED/);
  // The GET-only rule cannot select a gRPC call; the mesh says so.
  assert.match(
    run.stdout,
    /Config issues\n {2}- HTTPRoute default\/greeter spec\.rules\[2\]\.matches\[0\]\.method: /,
  );
});

test("metadata selects the header rule", async () => {
  const run = await explain(
    "--target",
    "greeter:50051",
    "--grpc-method",
    "pkg.Greeter/SayHello",
    "-H",
    "x-user=alice",
    "--config-dir",
    dir,
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /rule vip: MATCHED/);
});

test("a request no rule matches: exit 1 and why", async () => {
  const run = await explain(
    "--target",
    "greeter:50051",
    "--grpc-method",
    "/other.Svc/Call",
    "--config-dir",
    dir,
  );
  assert.equal(run.code, 1);
  assert.match(run.stdout, /FAILS at route \(gRPC status 14\)/);
});

test("a target that is no Service: exit 1", async () => {
  const run = await explain("--target", "nowhere:1", "--grpc-method", "/a.B/C", "--config-dir", dir);
  assert.equal(run.code, 1);
  assert.match(run.stdout, /nowhere:1 is no Service port seen from namespace default/);
});

test("Envoy: an HTTP GET with a method match, as JSON", async () => {
  const run = await explain(
    "--target",
    "greeter:50051",
    "--path",
    "/status",
    "--method",
    "GET",
    "--flavour",
    "envoy",
    "-o",
    "json",
    "--config-dir",
    dir,
  );
  assert.equal(run.code, 0, run.stderr);
  const output = JSON.parse(run.stdout) as {
    simulation: { outcome: string; route: { name: string; held: string[] } };
  };
  assert.equal(output.simulation.outcome, "routed");
  assert.equal(output.simulation.route.name, "HTTPRoute/default/greeter/rule/status");
  assert.ok(output.simulation.route.held.includes('header :method "GET" matches exact "GET"'));
});

test("--client grpc-python/1.51: C-core's verdict on what it is sent: the header rule routes", async () => {
  const args = ["--target", "greeter:50051", "--grpc-method", "/pkg.Greeter/SayHello", "-H", "x-user=alice"];
  const run = await explain(...args, "--client", "grpc-python/1.51", "--config-dir", dir);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /\(proxyless gRPC, C-core 1\.51\.0 \(Python\)\)/);
  assert.match(run.stdout, /rule vip: MATCHED/);
  assert.doesNotMatch(run.stdout, /Rejected \(NACK\)/);
  const json = await explain(...args, "--client", "grpc-python/1.51", "-o", "json", "--config-dir", dir);
  const output = JSON.parse(json.stdout) as { simulation: { client: string; rejected: string[] } };
  assert.deepEqual([output.simulation.client, output.simulation.rejected], ["C-core 1.51.0 (Python)", []]);
});

// Apart from the other usage errors: each case is a child process, and a dozen at once outlast
// the timeout on a loaded machine.
test("--client usage errors exit 2 with the form expected", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["--target", "greeter:50051", "--path", "/x", "--client", "grpc-rust/1.0", "--config-dir", dir],
      /--client grpc-rust\/1\.0: grpc-rust is not one of grpc-js, .*grpc-python/,
    ],
    [
      ["--target", "greeter:50051", "--path", "/x", "--client", "grpc-python", "--config-dir", dir],
      /expected NAME\/VERSION such as grpc-python\/1\.51/,
    ],
    [
      [
        "--target",
        "x:1",
        "--path",
        "/x",
        "--flavour",
        "envoy",
        "--client",
        "grpc-go/1.60",
        "--config-dir",
        dir,
      ],
      /--client is for --flavour grpc/,
    ],
  ];
  const runs = await Promise.all(cases.map(([args]) => explain(...args)));
  cases.forEach(([args, message], i) => {
    const run = runs[i] as Run;
    assert.equal(run.code, 2, `${args.join(" ")}\n${run.stdout}${run.stderr}`);
    assert.match(run.stderr, message);
  });
});

test("--help documents --client", async () => {
  const run = await explain("--help");
  assert.match(run.stdout, /--client <name\/version>/);
  assert.match(run.stdout, /grpc-python\/1\.51/);
});

test("usage errors exit 2 with a message", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["--target", "greeter:50051", "--path", "/x", "--trust-domain", "Example.org", "--config-dir", dir],
      /--trust-domain.*trust domain "Example.org" must be 1 to 255 lowercase letters/,
    ],
    [["--target", "greeter:50051", "--config-dir", dir], /give exactly one of --grpc-method/],
    [
      ["--target", "greeter:50051", "--grpc-method", "nonsense", "--config-dir", dir],
      /expected \/package\.Service\/Method/,
    ],
    [
      ["--target", "greeter:50051", "--path", "/x?a=1", "--config-dir", dir],
      /no query string; use --flavour envoy/,
    ],
    [
      ["--target", "greeter:50051", "--path", "/x", "--flavour", "istio", "--config-dir", dir],
      /Allowed choices are grpc, envoy/,
    ],
    [["--grpc-method", "/a.B/C", "--config-dir", dir], /required option '--target/],
    [
      ["--target", "greeter:50051", "--path", "/x", "--config-dir", join(dir, "missing")],
      /cannot read config directory/,
    ],
    [
      ["--target", "greeter:50051", "--path", "/x", "--data-dir", join(dir, "missing")],
      /cannot read kubeconfig .*start `meshplane serve/,
    ],
  ];
  const runs = await Promise.all(cases.map(([args]) => explain(...args)));
  cases.forEach(([args, message], i) => {
    const run = runs[i] as Run;
    assert.equal(run.code, 2, `${args.join(" ")}\n${run.stdout}${run.stderr}`);
    assert.match(run.stderr, message);
  });
});

test("from a running meshplane API through its kubeconfig", async () => {
  const server = await startTestServer();
  try {
    const client = createApiClient({ url: server.url });
    await client.ensureNamespace("default");
    for (const doc of parseAllDocuments(mesh)) {
      const object = doc.toJS() as KubeObject;
      const kind = storedKind(object.kind);
      assert.ok(kind, object.kind);
      await client.apply(kind, object, "explain-test", true);
    }
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, writeKubeconfig({ server: server.url }));
    const run = await explain(
      "--target",
      "greeter.default:50051",
      "--grpc-method",
      "/pkg.Greeter/SayHello",
      "--kubeconfig",
      kubeconfig,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /rule greeter: MATCHED/);
    assert.equal(run.stderr, "");
  } finally {
    await server.close();
  }
});
