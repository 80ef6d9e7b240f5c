// `meshplane analyze` offline, as CI runs it: the exit code gates on errors, and on what a client
// release named with --client would NACK or break on.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const main = join(import.meta.dirname, "main.ts");

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function analyze(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, "analyze", ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const mesh = `apiVersion: v1
kind: Service
metadata: { name: greeter }
spec: { ports: [{ name: grpc, port: 50051 }] }
---
apiVersion: meshplane.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: ring }
spec:
  targetRefs: [{ group: "", kind: Service, name: greeter }]
  loadBalancer: { type: RingHash }
`;

const dir = mkdtempSync(join(tmpdir(), "meshplane-analyze-cli-"));
const file = join(dir, "mesh.yaml");
writeFileSync(file, mesh);
test.after(() => rmSync(dir, { recursive: true, force: true }));

test("analyze -f --client: exit 1 when a named release would NACK or break on an object, else 0", async () => {
  const cases = [
    { args: [], code: 0, finds: "no problems found" },
    {
      args: ["--client", "grpc-python/1.39"],
      code: 1,
      finds: "rejected (NACK) by connected clients grpc-python/1.39",
    },
    {
      args: ["--client", "grpc-python/1.51"],
      code: 1,
      finds: "broken by connected clients grpc-python/1.51: the client crashes",
    },
    { args: ["--client", "grpc-go/1.60"], code: 0, finds: "no problems found" },
    {
      args: ["--client", "grpc-go/1.60", "--client", "grpc-python/1.39"],
      code: 1,
      finds: "grpc-python/1.39",
    },
  ];
  for (const c of cases) {
    const run = await analyze("-f", file, ...c.args);
    assert.equal(run.code, c.code, `${c.args.join(" ")}: ${run.stdout}${run.stderr}`);
    assert.ok(run.stdout.includes(c.finds), `${c.args.join(" ")}: ${run.stdout}`);
  }
  const json = JSON.parse(
    (await analyze("-f", file, "--client", "grpc-python/1.39", "-o", "json")).stdout,
  ) as {
    code: string;
    object: string;
    field: string;
  }[];
  assert.deepEqual(
    json.map((f) => [f.code, f.object, f.field]),
    [["MP0207", "TrafficPolicy default/ring", "spec.loadBalancer.type"]],
  );
});

test("analyze --client: a name or version that is none is a usage error", async () => {
  const run = await analyze("-f", file, "--client", "grpc-cobol/1.0");
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /--client/);
  const live = await analyze("--client", "grpc-python/1.51", "--admin-address", "127.0.0.1:1");
  assert.equal(live.code, 2);
  assert.match(live.stderr, /--client is for offline analysis/);
});

test("analyze -f: security policies' missing targets, conflicts and proxyless limits get their codes", async () => {
  const policies = join(dir, "security.yaml");
  const pa = (name: string, created: string, spec: string) =>
    `apiVersion: meshplane.dev/v1alpha1\nkind: PeerAuthentication\nmetadata: { name: ${name}, creationTimestamp: "${created}" }\nspec: ${spec}\n---\n`;
  writeFileSync(
    policies,
    mesh +
      "---\n" +
      pa("old", "2026-01-01T00:00:00Z", "{ mtls: { mode: STRICT } }") +
      pa("new", "2026-02-01T00:00:00Z", "{ mtls: { mode: PERMISSIVE } }") +
      pa(
        "gone",
        "2026-01-01T00:00:00Z",
        '{ targetRefs: [{ group: "", kind: Service, name: gone }], mtls: { mode: STRICT } }',
      ),
  );
  const run = await analyze("-f", policies, "--trust-domain", "example.org", "-o", "json");
  const findings = (JSON.parse(run.stdout) as { code: string; object: string; field: string }[])
    .filter((f) => f.object.startsWith("PeerAuthentication"))
    .map((f) => `${f.code} ${f.object} ${f.field}`);
  assert.deepEqual(findings.sort(), [
    "MP0204 PeerAuthentication default/gone spec.targetRefs[0]",
    "MP0205 PeerAuthentication default/new spec.mtls",
    "MP0207 PeerAuthentication default/new spec.mtls.mode",
  ]);
  const bad = await analyze("-f", policies, "--trust-domain", "Bad Domain");
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--trust-domain.*must be 1 to 255 lowercase letters/);
});
