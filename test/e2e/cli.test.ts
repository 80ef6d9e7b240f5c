// The operator commands against a running meshplane with real grpc-js-xds clients: one client
// calls a 90/10 split and is in sync; another calls a Service whose EndpointSlice address
// ("127.000.000.001") meshplane accepts and grpc-js-xds rejects, so its EDS is NACKED. The config
// directory also holds objects with problems, so that `analyze` offline can be compared with what
// the server reports at /debug/config_errors.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { finding, type Finding } from "../../src/analyze/index.ts";
import type { ConfigError } from "../../src/sources/index.ts";
import { haveEtcd, installHint, startEtcd } from "../support/etcd.ts";
import {
  adminJson,
  meshYaml,
  runCli,
  startMeshFixture,
  startXdsClient,
  suiteScope,
  waitFor,
  warmUp,
  weighted,
  type CliRun,
  type MeshFixture,
  type XdsClient,
} from "./support/index.ts";
import { startReplicas, type Replicas } from "./support/replicas.ts";

const port = 50051;
const split = (v1: number, v2: number) =>
  meshYaml()
    .grpcRoute("greeter-split", {
      parent: "greeter",
      port,
      rules: [{ backendRefs: weighted({ "greeter-v1": v1, "greeter-v2": v2 }) }],
    })
    .render();

/** Objects with one problem each: a missing backend, a bad weight, a match gRPC never sends. */
const problems = `apiVersion: v1
kind: Service
metadata: { name: lonely }
spec: { ports: [{ name: grpc, port: ${port} }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: to-nowhere }
spec:
  parentRefs: [{ group: "", kind: Service, name: lonely, port: ${port} }]
  rules: [{ backendRefs: [{ name: missing, port: ${port} }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: bad-weight }
spec:
  parentRefs: [{ group: "", kind: Service, name: lonely, port: ${port} }]
  rules: [{ backendRefs: [{ name: lonely, port: ${port}, weight: -1 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { ports: [{ name: http, port: 8080 }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: get-only }
spec:
  parentRefs: [{ group: "", kind: Service, name: web, port: 8080 }]
  rules: [{ matches: [{ method: GET }], backendRefs: [{ name: web, port: 8080 }] }]
`;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const key = (f: Finding) => `${f.code} ${f.object} ${f.field}`;
const explain = (run: CliRun) => `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;

interface StatusRow {
  node: string;
  replica: string;
  client: string;
  types: Record<string, { state: string; error?: string }>;
}

describe("meshplane CLI", { timeout: 60_000 }, () => {
  const scope = suiteScope();
  let mesh: MeshFixture;
  let nacking: XdsClient;
  let replica: string;
  let v1Port: number;
  const admin = () => ["--admin-address", mesh.admin];

  before(async () => {
    mesh = await startMeshFixture(scope.defer, {
      greeters: ["v1", "v2"],
      nodeId: "default/cli-client",
      files: ({ v1, v2 }) => {
        v1Port = v1!.port;
        return {
          "00-mesh.yaml": meshYaml()
            .service("greeter", port, [{ port: v1!.port }, { port: v2!.port }])
            .service("greeter-v1", port, [{ port: v1!.port }])
            .service("greeter-v2", port, [{ port: v2!.port }])
            .service("bad", port, [{ port: v1!.port, address: "127.000.000.001" }])
            .render(),
          "10-split.yaml": split(90, 10),
          "20-problems.yaml": problems,
        };
      },
    });
    nacking = await startXdsClient({
      xdsAddress: mesh.meshplane.xdsAddress,
      nodeId: "default/nack-client",
      namespace: "default",
    });
    scope.defer(() => nacking.stop());
    await warmUp(mesh.client, `xds:///greeter:${port}`);
    // The call fails (the client refuses the only endpoints); subscribing is what matters.
    await nacking.call({ target: `xds:///bad:${port}`, deadlineMs: 1_000, waitForReady: true });
    replica = (await adminJson<{ replica: string }>(mesh.admin, "/debug/replica")).replica;
  });

  test("proxy-status: SYNCED for the client in sync, NACKED with the error for the other, exit 1", async (t) => {
    const rows = await waitFor(
      async () => {
        const run = await runCli(["proxy-status", ...admin(), "-o", "json"]);
        const parsed = JSON.parse(run.stdout || "[]") as StatusRow[];
        const synced = parsed.find((r) => r.node === "default/cli-client");
        const nacked = parsed.find((r) => r.node === "default/nack-client");
        const allSynced = synced && Object.values(synced.types).every((t) => t.state === "SYNCED");
        return allSynced && nacked?.types.EDS?.state === "NACKED" ? parsed : undefined;
      },
      { timeoutMs: 15_000, message: "cli-client SYNCED on every type and nack-client's EDS NACKED" },
    );
    const synced = rows.find((r) => r.node === "default/cli-client")!;
    assert.deepEqual(Object.keys(synced.types), ["CDS", "EDS", "LDS", "RDS"]);
    assert.equal(synced.replica, replica);
    // grpc-js-xds names itself "gRPC Node Pure JS" in node.user_agent_name.
    assert.match(synced.client, /^gRPC Node Pure JS\/\d+\.\d+/);
    assert.match(
      rows.find((r) => r.node === "default/nack-client")!.types.EDS?.error ?? "",
      /127\.000\.000\.001/,
    );

    const table = await runCli(["proxy-status", ...admin()]);
    t.diagnostic(`meshplane proxy-status\n${table.stdout}`);
    assert.equal(table.code, 1, explain(table));
    assert.match(table.stdout, /^NAME +REPLICA +CLIENT +CDS +EDS +LDS +RDS$/m, explain(table));
    assert.match(
      table.stdout,
      new RegExp(
        `^default/cli-client +${escape(replica)} +gRPC Node Pure JS/\\S+ +SYNCED +SYNCED +SYNCED +SYNCED$`,
        "m",
      ),
      explain(table),
    );
    assert.match(
      table.stdout,
      /^NACKED default\/nack-client EDS \(replica .+\): outbound\|50051\|\|bad\.default\.svc\.cluster\.local: .*127\.000\.000\.001/m,
      explain(table),
    );

    // The replica publishes its admin address, which is how a client of another replica finds it.
    await waitFor(
      async () => {
        const { replicas } = await adminJson<{ replicas: { replica: string; adminAddress?: string }[] }>(
          mesh.admin,
          "/debug/replicas",
        );
        return replicas.some((r) => r.replica === replica && r.adminAddress === mesh.admin) || undefined;
      },
      { timeoutMs: 10_000, message: "this replica's admin address in /debug/replicas" },
    );

    const one = await runCli(["proxy-status", "default/cli-client", ...admin()]);
    assert.equal(one.code, 0, explain(one));
    assert.match(one.stdout, /^RDS +SYNCED +1 +\S+ +\S+ +\S+ +0$/m, explain(one));
    const unknown = await runCli(["proxy-status", "default/nobody", ...admin()]);
    assert.equal(unknown.code, 1, explain(unknown));
  });

  test("proxy-config: the routes, clusters, endpoints and listeners the client holds", async () => {
    const node = "default/cli-client";
    const routes = await runCli(["proxy-config", node, "routes", ...admin()]);
    assert.equal(routes.code, 0, explain(routes));
    assert.match(
      routes.stdout,
      /greeter\.default\.svc\.cluster\.local:50051 .* prefix \/ +outbound\|50051\|\|greeter-v1\.default\.svc\.cluster\.local \(90\), outbound\|50051\|\|greeter-v2\.default\.svc\.cluster\.local \(10\)$/m,
      explain(routes),
    );
    const endpoints = await runCli(["proxy-config", node, "endpoints", ...admin()]);
    assert.match(
      endpoints.stdout,
      new RegExp(
        `^outbound\\|50051\\|\\|greeter-v1\\.default\\.svc\\.cluster\\.local +127\\.0\\.0\\.1:${v1Port} `,
        "m",
      ),
      explain(endpoints),
    );
    const listeners = await runCli(["proxy-config", node, "listeners", ...admin()]);
    assert.match(
      listeners.stdout,
      /^greeter:50051 +api listener \(gRPC\) +greeter\.default\.svc\.cluster\.local:50051$/m,
    );
    const clusters = await runCli(["proxy-config", node, "clusters", ...admin(), "-o", "json"]);
    assert.equal(clusters.code, 0, explain(clusters));
    const names = (JSON.parse(clusters.stdout) as { name: string; resource: { type?: string } }[]).map(
      (c) => c.name,
    );
    assert.deepEqual(names, [
      "outbound|50051||greeter-v1.default.svc.cluster.local",
      "outbound|50051||greeter-v2.default.svc.cluster.local",
    ]);
    const yaml = await runCli(["proxy-config", node, "routes", ...admin(), "-o", "yaml"]);
    assert.match(yaml.stdout, /^ *weight: 90$/m, explain(yaml));
    const secrets = await runCli(["proxy-config", node, "secrets", ...admin()]);
    assert.equal(secrets.code, 0, explain(secrets));
    assert.match(secrets.stderr, /no secrets/);
  });

  test("analyze offline finds exactly what /debug/config_errors reports; live adds the NACK; both exit 1", async (t) => {
    const offline = await runCli(["analyze", "--config-dir", mesh.config.path, "-o", "json"]);
    assert.equal(offline.code, 1, explain(offline));
    const offlineKeys = (JSON.parse(offline.stdout) as Finding[]).map(key).sort();
    const { errors } = await adminJson<{ errors: ConfigError[] }>(mesh.admin, "/debug/config_errors");
    assert.deepEqual(offlineKeys, errors.map(finding).map(key).sort());
    assert.deepEqual(offlineKeys, [
      "MP0105 GRPCRoute default/bad-weight spec.rules[0].backendRefs[0].weight",
      "MP0201 GRPCRoute default/to-nowhere spec.rules[0].backendRefs[0]",
      "MP0207 HTTPRoute default/get-only spec.rules[0].matches[0].method",
    ]);

    const live = await runCli(["analyze", ...admin()]);
    t.diagnostic(`meshplane analyze\n${live.stdout}`);
    assert.equal(live.code, 1, explain(live));
    assert.match(
      live.stdout,
      /^MP0301 +error +EndpointSlice default\/bad-1 +- +rejected by 1 proxy: default\/nack-client eds /m,
      explain(live),
    );
    assert.match(live.stdout, /^MP0207 +warning +HTTPRoute default\/get-only /m, explain(live));
    assert.match(live.stdout, /4 errors, 1 warnings/, explain(live));
    assert.match(live.stdout, /MP0201: create the Service/, explain(live));
  });

  test("diff: a weight change reports exactly the RouteConfiguration and the proxy that holds it", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "meshplane-cli-diff-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const change = join(dir, "canary-50.yaml");
    await writeFile(change, split(50, 50));
    const json = await runCli(["diff", "-f", change, ...admin(), "-o", "json"]);
    assert.equal(json.code, 0, explain(json));
    const differences = JSON.parse(json.stdout) as {
      typeUrl: string;
      name: string;
      proxies: string[];
      diff: string;
    }[];
    assert.deepEqual(
      differences.map((d) => [d.typeUrl, d.name, d.proxies]),
      [
        [
          "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
          "greeter.default.svc.cluster.local:50051",
          [`default/cli-client@${replica}`],
        ],
      ],
    );
    assert.match(differences[0]!.diff, /^- +"weight": 90$/m);
    assert.match(differences[0]!.diff, /^\+ +"weight": 50$/m);
    const text = await runCli(["diff", "-f", change, ...admin()]);
    t.diagnostic(`meshplane diff -f canary-50.yaml\n${text.stdout}`);
    assert.match(
      text.stdout,
      /^RouteConfiguration greeter\.default\.svc\.cluster\.local:50051 \(changed; group grpc\) reaches 1 of 2 proxies: default\/cli-client@/m,
      explain(text),
    );
    assert.match(text.stdout, /^1 resources would change$/m);

    const same = await runCli(["diff", "-f", join(mesh.config.path, "10-split.yaml"), ...admin()]);
    assert.match(same.stdout, /^no xDS resource of the 2 connected proxies would change$/m, explain(same));
    await writeFile(change, split(-1, 50));
    const refused = await runCli(["diff", "-f", change, ...admin()]);
    assert.equal(refused.code, 1, explain(refused));
    assert.match(refused.stderr, /the change would be refused/);
  });
});

// Each replica knows only its own streams: given one replica's admin address, proxy-status finds
// the others through the replica reports in etcd and lists every proxy with its replica.
if (!haveEtcd) {
  if (process.env.CI) test("proxy-status across replicas", () => assert.fail(installHint));
  else test("proxy-status across replicas", { skip: installHint }, () => {});
} else {
  describe("proxy-status across replicas on etcd", { timeout: 60_000 }, () => {
    const scope = suiteScope();
    let replicas: Replicas;
    const ids = new Map<string, string>();

    before(async () => {
      const etcd = await startEtcd();
      scope.defer(() => etcd.stop());
      replicas = await startReplicas({ names: ["A", "B"], storeUrl: `etcd://${new URL(etcd.url).host}` });
      scope.defer(() => replicas.stop());
      for (const r of replicas.all)
        ids.set(r.name, (await adminJson<{ replica: string }>(r.adminAddress, "/debug/replica")).replica);
      for (const r of replicas.all) {
        const client = await startXdsClient({
          xdsAddress: replicas.xdsAddresses(r),
          nodeId: `default/client-of-${r.name}`,
          namespace: "default",
        });
        scope.defer(() => client.stop());
        // No such Service: the answer does not matter, the client's ADS stream does.
        await client.call({ target: `xds:///nowhere:${port}`, deadlineMs: 500 });
        await replicas.waitServed(client.nodeId, { replica: r });
      }
    });

    test("one admin address lists the proxies of every replica; a dead replica is named, exit 1", async () => {
      const a = replicas.get("A");
      const rows = await waitFor(
        async () => {
          const run = await runCli(["proxy-status", "--admin-address", a.adminAddress, "-o", "json"]);
          const parsed = JSON.parse(run.stdout || "[]") as StatusRow[];
          return parsed.length === 2 && run.stderr === "" ? parsed : undefined;
        },
        { timeoutMs: 15_000, message: "both replicas' proxies listed through A" },
      );
      assert.deepEqual(
        rows.map((r) => [r.node, r.replica]),
        [
          ["default/client-of-A", ids.get("A")],
          ["default/client-of-B", ids.get("B")],
        ],
      );

      await replicas.get("B").kill();
      // B's report outlives it by the liveness window: its proxies are unknown, and it is said.
      const run = await runCli(["proxy-status", "--admin-address", a.adminAddress]);
      assert.equal(run.code, 1, explain(run));
      assert.match(
        run.stderr,
        new RegExp(
          `^warning: replica ${escape(ids.get("B") ?? "")} \\(\\d+ proxies\\) not asked: meshplane admin at .* not reachable`,
          "m",
        ),
        explain(run),
      );
    });
  });
}
