// Certificate and root rotation under load, with real peers on 127.0.0.1: a grpc-js-xds XdsServer
// (XdsServerCredentials) and a grpc-js-xds client (XdsChannelCredentials) in STRICT mTLS, their
// certificates from `meshplane agent` with a 20-second lifetime (renewed every ~10 s), and a CA
// root that lives 110 s, so that meshplane rotates it with overlap during the run (publishing from
// ~30 s, switched at ~50 s, old root dropped at ~70 s; the next rotation starts then). A call
// every ~100 ms for 2 minutes must all succeed over mTLS. The server ends each connection after
// 3 s (GOAWAY), so the client reconnects and both sides handshake again with the certificates of
// the moment, dozens of times. This is the suite's one long test: about 2.5 minutes.
import assert from "node:assert/strict";
import { X509Certificate, createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { apiRequest } from "./support/api.ts";
import {
  freePort,
  loopbackServiceObjects,
  namespaceObject,
  startWorkloadIdentity,
  strictPeerAuthentication,
  type WorkloadIdentity,
} from "./support/identity.ts";
import {
  cliBootstrap,
  startGreeter,
  startMeshplane,
  startXdsClient,
  waitFor,
  type Greeter,
  type Meshplane,
  type XdsClient,
} from "./support/index.ts";

const namespace = "shop";
const servicePort = 50051;
const runMs = 120_000;
const callEveryMs = 100;
const spiffe = (sa: string) => `spiffe://cluster.local/ns/${namespace}/sa/${sa}`;

/** Serial of the leaf in `dir`/cert-chain.pem and fingerprints of the roots in root-cert.pem. */
async function certificatesIn(dir: string): Promise<{ serial: string; roots: string[] }> {
  const leaf = new X509Certificate(await readFile(join(dir, "cert-chain.pem")));
  const roots = (await readFile(join(dir, "root-cert.pem"), "utf8"))
    .split(/(?<=-----END CERTIFICATE-----\n?)/)
    .filter((pem) => pem.includes("BEGIN CERTIFICATE"))
    .map((pem) => createHash("sha256").update(new X509Certificate(pem).raw).digest("hex").slice(0, 16));
  return { serial: leaf.serialNumber, roots };
}

describe(
  "rotation under continuous mTLS calls (20-second certificates, a root rotation)",
  { timeout: 300_000 },
  () => {
    let work: string;
    let meshplane: Meshplane;
    let serverIdentity: WorkloadIdentity;
    let clientIdentity: WorkloadIdentity;
    let greeter: Greeter;
    let client: XdsClient;
    let port: number;
    const stops: (() => Promise<unknown>)[] = [];

    before(async () => {
      work = await mkdtemp(join(tmpdir(), "meshplane-e2e-rotation-"));
      const dataDir = join(work, "data");
      meshplane = await startMeshplane({
        args: ["--data-dir", dataDir, "--ca-address", "127.0.0.1:0"].concat([
          "--workload-cert-ttl",
          "20s",
          "--ca-root-ttl",
          "110s",
        ]),
      });
      stops.push(() => meshplane.stop());
      const caAddress = String(meshplane.logs().find((line) => line.msg === "meshplane ready")?.caAddress);
      const identity = (serviceAccount: string) =>
        startWorkloadIdentity({ dataDir, caAddress, namespace, serviceAccount, workDir: work });
      serverIdentity = await identity("greeter");
      stops.push(() => serverIdentity.stop());
      clientIdentity = await identity("frontend");
      stops.push(() => clientIdentity.stop());

      port = await freePort();
      const objects = [
        namespaceObject(namespace),
        ...loopbackServiceObjects({ namespace, name: "greeter", servicePort, port }),
        strictPeerAuthentication(namespace),
      ];
      for (const { path, body } of objects) {
        const reply = await apiRequest(meshplane.apiUrl as string, "POST", path, body);
        assert.equal(reply.status, 201, `POST ${path}: ${JSON.stringify(reply.body)}`);
      }
      const bootstrap = join(work, "greeter-bootstrap.json");
      await cliBootstrap({
        xdsAddress: meshplane.xdsAddress,
        nodeId: `${namespace}/greeter-1`,
        namespace,
        certDir: serverIdentity.certDir,
        output: bootstrap,
      });
      greeter = await startGreeter({
        name: "greeter-1",
        port,
        xdsBootstrap: bootstrap,
        maxConnectionAgeMs: 3_000,
      });
      stops.push(() => greeter.stop());
      client = await startXdsClient({
        xdsAddress: meshplane.xdsAddress,
        nodeId: `${namespace}/frontend-1`,
        namespace,
        certDir: clientIdentity.certDir,
        xdsCredentials: true,
        // The subchannel's state changes on stderr: each CONNECTING -> READY is one new connection.
        env: { GRPC_TRACE: "subchannel", GRPC_VERBOSITY: "DEBUG" },
      });
      stops.push(() => client.stop());
    });

    after(async () => {
      for (const stop of stops.reverse()) await stop();
      await rm(work, { recursive: true, force: true });
    });

    test("2 minutes of calls every ~100 ms: 0 failures while both certificates renew and the root rotates", async (t) => {
      const target = `xds:///greeter.${namespace}.svc.cluster.local:${servicePort}`;
      const expected = `greeter-1 <- ${spiffe("frontend")}`;
      // STRICT reached both sides: the first call is mTLS, and the server names the client's identity.
      await waitFor(
        async () => (await client.call({ target, calls: 1, deadlineMs: 2_000 })).counts[expected] === 1,
        { timeoutMs: 20_000, intervalMs: 250, message: `a first mTLS call answered "${expected}"` },
      );

      const serials = { server: new Set<string>(), client: new Set<string>() };
      const bundles = new Set<string>();
      const initialRoots = (await certificatesIn(clientIdentity.certDir)).roots;
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          for (const [side, identity] of [
            ["server", serverIdentity],
            ["client", clientIdentity],
          ] as const) {
            // A read can straddle the agent's swap of the files: the next one sees them whole.
            const seen = await certificatesIn(identity.certDir).catch(() => undefined);
            if (!seen) continue;
            serials[side].add(seen.serial);
            bundles.add(seen.roots.join(","));
          }
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
      })();

      let calls = 0;
      const failures: string[] = [];
      const answers = new Map<string, number>();
      const started = performance.now();
      while (performance.now() - started < runMs) {
        const due = performance.now() + callEveryMs;
        const result = await client.call({ target, calls: 1, deadlineMs: 5_000 });
        calls += 1;
        for (const [answer, n] of Object.entries(result.counts))
          answers.set(answer, (answers.get(answer) ?? 0) + n);
        if (result.ok !== 1)
          failures.push(`${Math.round(performance.now() - started)} ms: ${result.errorSamples.join("; ")}`);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
      }
      const elapsedMs = Math.round(performance.now() - started);
      watching = false;
      await watcher;

      const changes = meshplane
        .logs()
        .filter((line) => line.msg === "certificate authority changed")
        .map((line) => String(line.change));
      const finalRoots = (await certificatesIn(clientIdentity.certDir)).roots;
      const connections = client
        .tail(20_000)
        .split("\n")
        .filter((line) => line.includes(`127.0.0.1:${port} CONNECTING -> READY`)).length;
      t.diagnostic(
        `${calls} calls in ${elapsedMs} ms, ${failures.length} failed, over ${connections} mTLS connections; ` +
          `distinct certificates: server ${serials.server.size}, ` +
          `client ${serials.client.size}; trust bundles seen: ${bundles.size}; CA changes: ${changes.join(", ")}`,
      );
      assert.deepEqual(failures, [], `${failures.length} of ${calls} calls failed`);
      assert.deepEqual([...answers.keys()], [expected], "every call was mTLS with the client's identity");
      assert.ok(calls >= 800, `${calls} calls in 2 minutes`);
      // Connections end after ~3 s: the peers handshook again with renewed certificates many times.
      assert.ok(connections >= 20, `${connections} connections to the server`);
      // 20-second certificates renewed at half-life: ~12 each in 2 minutes; "several" at the least.
      assert.ok(serials.server.size >= 6, `the server held ${serials.server.size} certificates`);
      assert.ok(serials.client.size >= 6, `the client held ${serials.client.size} certificates`);
      // A whole root rotation happened during the calls: both roots trusted, then the old one dropped.
      assert.ok(changes.includes("rotation-started"), changes.join());
      assert.ok(changes.includes("root-dropped"), changes.join());
      assert.ok(
        [...bundles].some((bundle) => bundle.split(",").length === 2),
        "an overlap with two roots",
      );
      assert.ok(!finalRoots.includes(initialRoots[0] as string), "the first root is no longer trusted");
    });
  },
);
