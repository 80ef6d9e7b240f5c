// Real kubectl drives a running meshplane through the API it serves, and the change reaches a real
// grpc-js-xds client's routing; a restart on the same data directory keeps everything.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ackedVersion,
  assertAllOn,
  meshYaml,
  startGreeter,
  startMeshplane,
  startXdsClient,
  tempConfigDir,
  waitFor,
  waitForAckChange,
  warmUp,
  type Greeter,
  type Meshplane,
  type TempConfigDir,
} from "./support/index.ts";

const target = "xds:///greeter:50051";

function routeTo(backend: string): string {
  return meshYaml()
    .grpcRoute("greeter", {
      parent: "greeter",
      port: 50051,
      rules: [{ backendRefs: [{ name: backend, port: 50051 }] }],
    })
    .render();
}

describe("kubectl against meshplane", { timeout: 120_000 }, () => {
  let dataDir: string;
  let config: TempConfigDir;
  let greeters: Greeter[];
  let meshplane: Meshplane;

  const kubectl = (args: string[], input?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        "kubectl",
        args,
        {
          env: {
            ...process.env,
            KUBECONFIG: meshplane.kubeconfig,
            KUBECACHEDIR: join(dataDir, "kube-cache"),
          },
          timeout: 30_000,
        },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin?.end(input);
    });

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "meshplane-e2e-kubectl-"));
    greeters = await Promise.all(["v1", "v2"].map((name) => startGreeter({ name })));
    const [v1, v2] = greeters as [Greeter, Greeter];
    // The directory holds the Services; the route exists only through kubectl.
    config = await tempConfigDir({
      "services.yaml": meshYaml()
        .service("greeter", 50051, [])
        .service("greeter-v1", 50051, [{ port: v1.port }])
        .service("greeter-v2", 50051, [{ port: v2.port }])
        .render(),
    });
    meshplane = await startMeshplane({ configDir: config.path, args: ["--data-dir", dataDir] });
  });

  after(async () => {
    await meshplane?.stop();
    await Promise.all(greeters?.map((g) => g.stop()) ?? []);
    await config?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test("a route applied and patched with kubectl routes a grpc-js-xds client; a restart keeps it", async (t) => {
    assert.ok(meshplane.kubeconfig, "meshplane wrote a kubeconfig for its API");
    const applied = await kubectl(["apply", "-f", "-"], routeTo("greeter-v2"));
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /grpcroute.gateway.networking.k8s.io\/greeter created/);

    const client = await startXdsClient({
      xdsAddress: meshplane.xdsAddress,
      nodeId: "kubectl-client",
      namespace: "default",
    });
    t.after(() => client.stop());
    await warmUp(client, target);
    assertAllOn(await client.call({ target, calls: 50 }), "v2", "after kubectl apply");

    const before = await ackedVersion(meshplane.adminAddress, "kubectl-client", "rds");
    const patched = await kubectl([
      "patch",
      "grpcroute",
      "greeter",
      "--type=json",
      "-p",
      '[{"op":"replace","path":"/spec/rules/0/backendRefs/0/name","value":"greeter-v1"}]',
    ]);
    assert.equal(patched.code, 0, patched.stderr);
    await waitForAckChange(meshplane.adminAddress, { nodeId: "kubectl-client", type: "rds", from: before });
    // The client applies the new route once it also holds the newly referenced cluster (CDS, EDS).
    await waitFor(async () => (await client.call({ target, calls: 10 })).counts["v1"] === 10, {
      timeoutMs: 10_000,
      intervalMs: 100,
      message: "calls to move to v1 after kubectl patch",
    });
    assertAllOn(await client.call({ target, calls: 50 }), "v1", "after kubectl patch");

    // An invalid edit is refused with the field path and changes nothing.
    const invalid = await kubectl(
      ["apply", "-f", "-"],
      [
        "apiVersion: gateway.networking.k8s.io/v1",
        "kind: GRPCRoute",
        "metadata: { name: greeter, namespace: default }",
        "spec:",
        '  parentRefs: [{ group: "", kind: Service, name: greeter, port: 50051 }]',
        "  rules: [{ backendRefs: [{ name: greeter-v2, port: 50051, weight: -1 }] }]",
      ].join("\n"),
    );
    assert.notEqual(invalid.code, 0);
    assert.match(invalid.stderr, /is invalid: spec\.rules\[0\]\.backendRefs\[0\]\.weight/);
    assertAllOn(await client.call({ target, calls: 20 }), "v1", "after the refused edit");

    // Restart on the same data directory: the kubectl-made route is still there and still routes.
    await client.stop();
    assert.equal(await meshplane.stop(), 0);
    meshplane = await startMeshplane({ configDir: config.path, args: ["--data-dir", dataDir] });
    const got = await kubectl([
      "get",
      "grpcroute",
      "greeter",
      "-o",
      "jsonpath={.spec.rules[0].backendRefs[0].name}",
    ]);
    assert.equal(got.stdout, "greeter-v1", got.stderr);
    const fresh = await startXdsClient({
      xdsAddress: meshplane.xdsAddress,
      nodeId: "after-restart",
      namespace: "default",
    });
    t.after(() => fresh.stop());
    await warmUp(fresh, target);
    assertAllOn(await fresh.call({ target, calls: 50 }), "v1", "after a restart");
  });
});
