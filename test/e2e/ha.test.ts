// High availability: three `meshplane serve` replicas on a three-member etcd cluster, real
// grpc-js-xds clients (each bootstrapped with every replica, its own first) and greeter backends.
// A write through one replica reaches proxies of all; a replica killed with -9 loses its proxies
// to another without failed calls; an etcd member killed changes nothing; without quorum writes
// are refused at once with 503 while xDS and reads keep serving the last state; quorum back,
// everything recovers and every acknowledged write is there.
//
// The cases run in order on shared processes; later ones build on the state earlier ones leave
// (replica B stays dead after (b)). Replica-level cases (leader election) can be appended using
// `replicas` (e.g. a helper asking each replica's admin endpoint which one leads).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import type { DeltaDiscoveryResponse } from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { ClusterLoadAssignmentSchema } from "../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { deltaStream, rawClient } from "../../src/xds/ads-test-client.ts";
import { TypeUrl } from "../../src/xds/resource-types.ts";
import { haveEtcd, installHint, startEtcdCluster, type EtcdCluster } from "../support/etcd.ts";
import { apiRequest, itemNames, kubectl } from "./support/api.ts";
import { callContinuously } from "./support/call-timeline.ts";
import {
  adminJson,
  assertAllOn,
  assertNoErrors,
  meshYaml,
  sleep,
  startGreeter,
  startXdsClient,
  suiteScope,
  waitFor,
  waitForInSync,
  warmUp,
  type Greeter,
  type XdsClient,
} from "./support/index.ts";
import { startReplicas, type Replica, type Replicas } from "./support/replicas.ts";

const target = "xds:///greeter:50051";
const names = ["A", "B", "C"] as const;
type Name = (typeof names)[number];
const nodeId = (name: Name) => `ha-client-${name.toLowerCase()}`;
const edsName = (service: string) => `outbound|50051||${service}.default.svc.cluster.local`;
const slicesPath = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";
const seqName = (i: number) => `seq-${String(i).padStart(4, "0")}`;
/** A refused write answers within 5 s: the store's request bound (4 s), a read before it (0.5 s), the API. */
const refusedWithinMs = 5_000;
/** The controllers' lease TTL: a dead leader's successor takes over within this (plus a margin). */
const leaseSeconds = 3;

function routeTo(backend: string): string {
  return meshYaml()
    .grpcRoute("greeter", {
      parent: "greeter",
      port: 50051,
      rules: [{ backendRefs: [{ name: backend, port: 50051 }] }],
    })
    .render();
}

/** An EndpointSlice of Service `seq` (nobody calls it) with one address per slice. */
function seqSlice(name: string, address: string) {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: "default", labels: { "kubernetes.io/service-name": "seq" } },
    addressType: "IPv4",
    endpoints: [{ addresses: [address] }],
    ports: [{ name: "grpc", port: 50051, protocol: "TCP" }],
  };
}

const node = { id: "ha-delta", metadata: { NAMESPACE: "default" } };
const xdsPort = (replica: Replica) =>
  Number(replica.xdsAddress.slice(replica.xdsAddress.lastIndexOf(":") + 1));
const versions = (r: DeltaDiscoveryResponse) =>
  Object.fromEntries(r.resources.map((x) => [x.name, x.version]));

/** Addresses in the ClusterLoadAssignments of a delta response, by resource name. */
function endpointAddresses(response: DeltaDiscoveryResponse): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const resource of response.resources) {
    if (!resource.resource) continue;
    const cla = fromBinary(ClusterLoadAssignmentSchema, resource.resource.value);
    const addresses = cla.endpoints.flatMap((locality) =>
      locality.lbEndpoints.flatMap((lb) => {
        const endpoint = lb.hostIdentifier.case === "endpoint" ? lb.hostIdentifier.value : undefined;
        const socket =
          endpoint?.address?.address.case === "socketAddress" ? endpoint.address.address.value : undefined;
        return socket ? [socket.address] : [];
      }),
    );
    out.set(resource.name, addresses);
  }
  return out;
}

/**
 * A raw delta ADS stream to `replica` subscribed to EDS `resources` (declaring `held` versions,
 * as a proxy resuming on another replica does); keeps the newest addresses per resource.
 */
function watchEds(replica: Replica, resources: string[], held: Record<string, string> = {}) {
  const client = rawClient(xdsPort(replica));
  const stream = deltaStream(client);
  /** Newest addresses and version per resource. */
  const latest = new Map<string, string[]>();
  const holding: Record<string, string> = { ...held };
  stream.send({
    node,
    typeUrl: TypeUrl.ClusterLoadAssignment,
    resourceNamesSubscribe: resources,
    initialResourceVersions: held,
  });
  return {
    latest,
    held: holding,
    /** The next response (acknowledged), or undefined if none comes within `ms`. */
    async next(ms = 5_000): Promise<DeltaDiscoveryResponse | undefined> {
      const response = await stream.next(ms).catch(() => undefined);
      if (!response) return undefined;
      stream.send({ typeUrl: response.typeUrl, responseNonce: response.nonce });
      for (const [name, addresses] of endpointAddresses(response)) latest.set(name, addresses);
      Object.assign(holding, versions(response));
      return response;
    },
    close() {
      stream.end();
      client.close();
    },
  };
}

/** Waits until every call of `client` lands on `backend`, then checks a larger batch. */
async function waitAllOn(client: XdsClient, backend: string, what: string): Promise<void> {
  await waitFor(async () => (await client.call({ target, calls: 10 })).counts[backend] === 10, {
    timeoutMs: 15_000,
    intervalMs: 100,
    message: `${what}: calls of ${client.nodeId} to move to ${backend}`,
  });
  assertAllOn(await client.call({ target, calls: 30 }), backend, what);
}

if (!haveEtcd) {
  if (process.env.CI) test("meshplane replicas on etcd", () => assert.fail(installHint));
  else test("meshplane replicas on etcd", { skip: installHint }, () => {});
} else {
  describe("meshplane replicas on a three-member etcd cluster", { timeout: 180_000 }, () => {
    const scope = suiteScope();
    let etcd: EtcdCluster;
    let replicas: Replicas;
    let cacheDir: string;
    const clients = new Map<Name, XdsClient>();
    /** Names of the seq EndpointSlices the API acknowledged (201). */
    const acked: string[] = [];
    const client = (name: Name) => clients.get(name) as XdsClient;

    before(async () => {
      cacheDir = await mkdtemp(join(tmpdir(), "meshplane-e2e-ha-"));
      scope.defer(() => rm(cacheDir, { recursive: true, force: true }));
      etcd = await startEtcdCluster(3);
      scope.defer(() => etcd.stop());
      const greeters = await Promise.all(["v1", "v2"].map((name) => startGreeter({ name })));
      for (const g of greeters) scope.defer(() => g.stop());
      const [v1, v2] = greeters as [Greeter, Greeter];
      replicas = await startReplicas({
        names,
        storeUrl: etcd.storeUrl,
        args: ["--lease-duration", String(leaseSeconds)],
      });
      scope.defer(() => replicas.stop());

      // The mesh is written through replica A's API only.
      const mesh = meshYaml()
        .service("greeter", 50051, [])
        .service("greeter-v1", 50051, [{ port: v1.port }])
        .service("greeter-v2", 50051, [{ port: v2.port }])
        .service("seq", 50051, [])
        .render();
      const applied = await kubectl(replicas.get("A").kubeconfig, cacheDir, ["apply", "-f", "-"], mesh);
      assert.equal(applied.code, 0, applied.stderr);
      const route = await kubectl(
        replicas.get("A").kubeconfig,
        cacheDir,
        ["apply", "-f", "-"],
        routeTo("greeter-v1"),
      );
      assert.equal(route.code, 0, route.stderr);

      // Each client lists every replica, its own first: it starts there and fails over in order.
      const started = await Promise.all(
        names.map((name) =>
          startXdsClient({
            xdsAddress: replicas.xdsAddresses(replicas.get(name)),
            nodeId: nodeId(name),
            namespace: "default",
          }),
        ),
      );
      started.forEach((c, i) => {
        clients.set(names[i] as Name, c);
        scope.defer(() => c.stop());
      });
      await Promise.all(started.map((c) => warmUp(c, target)));
    });

    test("(a) a route written through replica A moves the traffic of clients served by B and C", async () => {
      for (const name of names) {
        assert.equal(
          (await replicas.serving(nodeId(name)))?.name,
          name,
          `${nodeId(name)} is on replica ${name}`,
        );
        assertAllOn(await client(name).call({ target, calls: 20 }), "v1", `client ${name} before`);
      }
      const applied = await kubectl(
        replicas.get("A").kubeconfig,
        cacheDir,
        ["apply", "-f", "-"],
        routeTo("greeter-v2"),
      );
      assert.equal(applied.code, 0, applied.stderr);
      await Promise.all(
        names.map((name) => waitAllOn(client(name), "v2", `client ${name} after the route change`)),
      );
    });

    test("(b) replica B killed with -9: its client moves to C without a failed call; delta resumes there with nothing resent", async (t) => {
      const [A, B, C] = names.map((n) => replicas.get(n)) as [Replica, Replica, Replica];
      const eds = [edsName("greeter-v1"), edsName("greeter-v2"), edsName("seq")];
      const onB = watchEds(B, eds);
      while (onB.latest.size < eds.length) assert.ok(await onB.next(), "EDS from replica B");

      const calls = callContinuously(client("B"), { target, calls: 5, concurrency: 1, deadlineMs: 2_000 });
      await sleep(500);
      const killedAt = performance.now();
      await B.kill();
      const now = await replicas.waitServed(nodeId("B"), { not: B }, 15_000);
      const reconnectedMs = Math.round(performance.now() - killedAt);
      await waitForInSync(now.adminAddress, nodeId("B"), 10_000);
      const syncedMs = Math.round(performance.now() - killedAt);
      await sleep(1_000);
      await calls.stop();
      onB.close();
      t.diagnostic(
        `client B after kill -9 of its replica: on replica ${now.name} after ${reconnectedMs} ms, in sync after ${syncedMs} ms; ` +
          `${calls.ok()} calls ok, ${calls.failed()} failed (failure window ${calls.failureWindowMs()} ms) over ${calls.batches.length} batches`,
      );
      assert.equal(now, C, "the next address of its bootstrap");
      assert.equal(
        calls.failed(),
        0,
        `no failed call: ${JSON.stringify(calls.batches.filter((b) => b.failed > 0))}`,
      );
      assert.ok(
        calls.batches.some((b) => b.startMs > killedAt - calls.originMs && b.ok > 0),
        "calls went on during the failover",
      );

      // Resource versions are content hashes: C holds the same versions, so a proxy resuming on C
      // with what B sent it receives nothing.
      const resumed = watchEds(C, eds, onB.held);
      assert.equal(await resumed.next(1_500), undefined, "nothing resent on resume");
      resumed.close();
      const fresh = watchEds(C, eds);
      const first = await fresh.next();
      fresh.close();
      assert.ok(first);
      assert.deepEqual(versions(first), onB.held, "replicas agree on every resource version");

      // The moved client follows new configuration written through A.
      const applied = await kubectl(A.kubeconfig, cacheDir, ["apply", "-f", "-"], routeTo("greeter-v1"));
      assert.equal(applied.code, 0, applied.stderr);
      await Promise.all(
        ["A", "B"].map((n) => waitAllOn(client(n as Name), "v1", `client ${n} after the route change`)),
      );
    });

    test("(c) an etcd member (the leader) killed with -9 mid-way: 50 numbered writes all succeed and reach proxies", async (t) => {
      const [A, , C] = names.map((n) => replicas.get(n)) as [Replica, Replica, Replica];
      const onC = watchEds(C, [edsName("seq")]);
      assert.ok(await onC.next(), "EDS of seq from replica C");
      const latencies: number[] = [];
      let killed = "";
      for (let i = 1; i <= 50; i++) {
        if (i === 21) {
          const leader = await etcd.leader();
          assert.ok(leader, "etcd has a leader");
          killed = leader.name;
          await leader.kill();
        }
        const via = i % 2 === 0 ? A : C;
        const reply = await apiRequest(via.apiUrl, "POST", slicesPath, seqSlice(seqName(i), `127.0.1.${i}`));
        assert.equal(reply.status, 201, `${seqName(i)} through ${via.name}: ${JSON.stringify(reply.body)}`);
        acked.push(seqName(i));
        latencies.push(reply.elapsedMs);
      }
      const slowest = Math.max(...latencies);
      t.diagnostic(`etcd leader ${killed} killed before write 21; write latency max ${slowest} ms`);
      assert.ok(slowest < refusedWithinMs, `slowest write ${slowest} ms`);
      await waitFor(
        async () => {
          await onC.next(500);
          return (onC.latest.get(edsName("seq"))?.length ?? 0) >= 50;
        },
        { timeoutMs: 15_000, intervalMs: 0, message: "replica C to push seq with 50 endpoints" },
      );
      onC.close();
      for (const n of ["A", "B"] as const)
        assertNoErrors(await client(n).call({ target, calls: 20 }), `client ${n}`);
      const listed = await apiRequest(
        A.apiUrl,
        "GET",
        `${slicesPath}?labelSelector=kubernetes.io/service-name%3Dseq`,
      );
      assert.deepEqual(itemNames(listed).sort(), [...acked].sort());
      await Promise.all(etcd.members.filter((m) => !m.running).map((m) => m.restart()));
      await etcd.waitHealthy();
    });

    test("(d) two of three etcd members down: writes refused with 503 fast, xDS and reads keep serving; quorum back: all recovers", async (t) => {
      const [A, , C] = names.map((n) => replicas.get(n)) as [Replica, Replica, Replica];
      await Promise.all(etcd.members.filter((m) => !m.running).map((m) => m.restart()));
      await etcd.waitHealthy();
      const down = etcd.members.slice(0, 2);
      await Promise.all(down.map((m) => m.kill()));

      // Writes: refused within the bound, with a Status that says why and what still works.
      const refused = await apiRequest(A.apiUrl, "POST", slicesPath, seqSlice("no-quorum-1", "127.0.2.1"));
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body?.reason, "ServiceUnavailable");
      assert.match(String(refused.body?.message), /writes are refused; reads serve the last known state/);
      assert.ok(refused.elapsedMs <= refusedWithinMs, `refused after ${refused.elapsedMs} ms`);
      const viaKubectl = await kubectl(C.kubeconfig, cacheDir, ["apply", "-f", "-"], routeTo("greeter-v2"));
      assert.notEqual(viaKubectl.code, 0, viaKubectl.stdout);
      assert.match(viaKubectl.stderr, /ServiceUnavailable/);
      assert.match(
        viaKubectl.stderr,
        /etcd has no quorum( or is [a-z]+)?: [\s\S]*writes are refused; reads serve the last known state/,
      );
      t.diagnostic(
        `without quorum: POST refused in ${refused.elapsedMs} ms; kubectl apply failed in ${viaKubectl.elapsedMs} ms: ${viaKubectl.stderr.trim().split("\n").at(-1)}`,
      );

      // Reads answer from the last known state.
      const listed = await apiRequest(
        C.apiUrl,
        "GET",
        `${slicesPath}?labelSelector=kubernetes.io/service-name%3Dseq`,
      );
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      assert.deepEqual(itemNames(listed).sort(), [...acked].sort());
      const route = await kubectl(A.kubeconfig, cacheDir, [
        "get",
        "grpcroute",
        "greeter",
        "-o",
        "jsonpath={.spec.rules[0].backendRefs[0].name}",
      ]);
      assert.equal(route.stdout, "greeter-v1", route.stderr);

      // xDS keeps serving: clients keep routing, a proxy connecting now gets the last config.
      for (const n of ["A", "B"] as const)
        assertAllOn(await client(n).call({ target, calls: 20 }), "v1", `client ${n}`);
      const late = watchEds(A, [edsName("seq")]);
      assert.ok(await late.next(), "EDS for a proxy connecting without quorum");
      assert.equal(late.latest.get(edsName("seq"))?.length, acked.length);
      late.close();

      // Quorum back: writes succeed, watches resume (changes reach proxies), nothing acknowledged is lost.
      await Promise.all(down.map((m) => m.restart()));
      await etcd.waitHealthy();
      const after = await waitFor(
        async () => {
          const reply = await apiRequest(C.apiUrl, "POST", slicesPath, seqSlice(seqName(51), "127.0.1.51"));
          return reply.status === 201 ? reply : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 200, message: "a write to succeed once quorum is back" },
      );
      assert.equal(after.status, 201);
      acked.push(seqName(51));
      const applied = await kubectl(A.kubeconfig, cacheDir, ["apply", "-f", "-"], routeTo("greeter-v2"));
      assert.equal(applied.code, 0, applied.stderr);
      await Promise.all(
        ["A", "B"].map((n) => waitAllOn(client(n as Name), "v2", `client ${n} after recovery`)),
      );
      const final = await apiRequest(
        A.apiUrl,
        "GET",
        `${slicesPath}?labelSelector=kubernetes.io/service-name%3Dseq`,
      );
      const stored = itemNames(final);
      for (const name of acked) assert.ok(stored.includes(name), `acknowledged ${name} is stored`);
      // The refused write's outcome is unknown (a timed-out write may still be applied): either is fine.
      assert.ok(
        stored.length === acked.length ||
          (stored.length === acked.length + 1 && stored.includes("no-quorum-1")),
      );
    });

    test("(e) the leader replica killed with -9: a live one takes the lease within its TTL, its client moves without a failed call, and route status is right again", async (t) => {
      // B led until (b) killed it; after (d) etcd restarts lease timers, so a dead holder's lease
      // can live one more TTL after quorum returns. Wait for a live leader first.
      const leader = await waitFor(
        async () => {
          for (const r of replicas.alive()) if ((await replicaInfo(r)).leader) return r;
          return undefined;
        },
        { timeoutMs: (leaseSeconds + 10) * 1000, intervalMs: 100, message: "a live replica to lead" },
      );
      const leaderClient = client(leader.name as Name);
      const calls = callContinuously(leaderClient, { target, calls: 5, concurrency: 1, deadlineMs: 2_000 });
      await sleep(500);
      const killedAt = performance.now();
      await leader.kill();
      const successor = await waitFor(
        async () => {
          for (const r of replicas.alive())
            if ((await replicaInfo(r).catch(() => undefined))?.leader) return r;
          return undefined;
        },
        {
          timeoutMs: (leaseSeconds + 5) * 1000,
          intervalMs: 100,
          message: "a live replica to take the lease",
        },
      );
      const takeoverMs = Math.round(performance.now() - killedAt);
      await replicas.waitServed(nodeId(leader.name as Name), { not: leader }, 15_000);
      await sleep(1_000);
      await calls.stop();
      t.diagnostic(
        `leader ${leader.name} killed: ${successor.name} leads after ${takeoverMs} ms (lease ${leaseSeconds} s); ` +
          `its client: ${calls.ok()} calls ok, ${calls.failed()} failed (failure window ${calls.failureWindowMs()} ms)`,
      );
      assert.ok(takeoverMs <= leaseSeconds * 1000 + 2_000, `lease taken within TTL + 2 s: ${takeoverMs} ms`);
      assert.equal(
        calls.failed(),
        0,
        `no failed call: ${JSON.stringify(calls.batches.filter((b) => b.failed > 0))}`,
      );

      // The new leader writes status from the live replicas' reports: every client is counted
      // once the dead replicas' reports expire (15 s without renewal).
      const status = await waitFor(
        async () => {
          const got = await kubectl(successor.kubeconfig, cacheDir, [
            "get",
            "grpcroute",
            "greeter",
            "-o",
            "yaml",
          ]);
          return /reason: Programmed\s/.test(got.stdout) &&
            /reached 3 of 3 connected proxies/.test(got.stdout)
            ? got.stdout
            : undefined;
        },
        { timeoutMs: 40_000, intervalMs: 1_000, message: "GRPCRoute greeter Programmed: reached 3 of 3" },
      );
      assert.match(status, /type: Accepted/);
      assert.match(status, /controllerName: meshplane.dev\/mesh-controller/);
    });
  });
}

/** GET /debug/replica: this replica's name, whether it leads, the lease it sees. */
async function replicaInfo(replica: Replica): Promise<{ replica: string; leader: boolean }> {
  return adminJson<{ replica: string; leader: boolean }>(replica.adminAddress, "/debug/replica", 2_000);
}
