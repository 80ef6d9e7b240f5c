// A rollout survives its leader: three `meshplane serve` replicas on a three-member etcd cluster
// run a Rollout whose analysis reads a real HTTP webhook on 127.0.0.1. The leader replica is killed
// with -9 in the middle of an analysis; another takes the lease and continues from the same step
// with the same counts: no promotion repeated (one StepCompleted per step), no round skipped (the
// analysis passes with exactly `count` rounds, each an interval after the one before).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { haveEtcd, installHint, startEtcdCluster, type EtcdCluster } from "../support/etcd.ts";
import { apiRequest, kubectl } from "./support/api.ts";
import { adminJson, meshYaml, suiteScope, waitFor, weighted } from "./support/index.ts";
import { startReplicas, type Replica, type Replicas } from "./support/replicas.ts";

const leaseSeconds = 3;
const intervalSeconds = 2;
const count = 4;

interface Status {
  phase?: string;
  currentStep?: number;
  analysis?: { successful: number };
  history?: { step: number; successful: number; failed: number; rounds: { at: string }[] }[];
}

describe("rollout across a leader crash (etcd, three replicas)", { timeout: 120_000 }, () => {
  const scope = suiteScope();
  let etcd: EtcdCluster;
  let replicas: Replicas;
  let cacheDir: string;
  let webhookUrl: string;
  let skip = false;

  const kc = async (replica: Replica, args: string[], input?: string) => {
    const run = await kubectl(replica.kubeconfig, cacheDir, args, input);
    assert.equal(run.code, 0, `kubectl ${args.join(" ")}: ${run.stderr}`);
    return run.stdout;
  };
  const leader = async (): Promise<Replica | undefined> => {
    for (const r of replicas.alive()) {
      const info = await adminJson<{ leader: boolean }>(r.adminAddress, "/debug/replica", 2_000).catch(
        () => undefined,
      );
      if (info?.leader) return r;
    }
    return undefined;
  };
  const status = async (): Promise<Status> => {
    const [reader] = replicas.alive() as [Replica];
    const reply = await apiRequest(
      reader.apiUrl,
      "GET",
      "/apis/meshplane.dev/v1alpha1/namespaces/default/rollouts/greeter",
    );
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return (reply.body?.status ?? {}) as Status;
  };

  before(async (t) => {
    if (!haveEtcd) {
      if (process.env.CI) assert.fail(installHint);
      skip = true;
      t.diagnostic(installHint);
      return;
    }
    cacheDir = await mkdtemp(join(tmpdir(), "meshplane-e2e-rollout-ha-"));
    scope.defer(() => rm(cacheDir, { recursive: true, force: true }));
    // The analysis provider: a real HTTP server answering a healthy success rate.
    const webhook = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ data: { successRate: 0.999 } }));
    });
    await new Promise<void>((resolve) => webhook.listen(0, "127.0.0.1", resolve));
    scope.defer(() => new Promise<void>((resolve) => webhook.close(() => resolve())));
    webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/rate`;
    etcd = await startEtcdCluster(3);
    scope.defer(() => etcd.stop());
    replicas = await startReplicas({
      names: ["A", "B", "C"],
      storeUrl: etcd.storeUrl,
      args: ["--lease-duration", String(leaseSeconds)],
    });
    scope.defer(() => replicas.stop());
  });

  test("the leader killed with -9 mid-analysis: another continues from the same step and counts", async (t) => {
    if (skip) return t.skip(installHint);
    const first = replicas.get("A");
    await kc(
      first,
      ["apply", "-f", "-"],
      meshYaml()
        .service("greeter", 50051, [])
        .service("greeter-v1", 50051, [])
        .service("greeter-v2", 50051, [])
        .grpcRoute("greeter-split", {
          parent: "greeter",
          port: 50051,
          rules: [{ backendRefs: weighted({ "greeter-v1": 100, "greeter-v2": 0 }, 50051) }],
        })
        .render(),
    );
    const analysis = {
      analysis: {
        interval: `${intervalSeconds}s`,
        count,
        metrics: [
          { name: "sr", successCondition: ">= 0.99", web: { url: webhookUrl, jsonPath: "data.successRate" } },
        ],
      },
    };
    await kc(
      first,
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "meshplane.dev/v1alpha1",
        kind: "Rollout",
        metadata: { name: "greeter", namespace: "default" },
        spec: {
          routeRef: { kind: "GRPCRoute", name: "greeter-split" },
          stableBackend: { name: "greeter-v1" },
          canaryBackend: { name: "greeter-v2" },
          steps: [{ setWeight: 20 }, analysis, { setWeight: 60 }],
        },
      }),
    );

    await waitFor(async () => ((await status()).analysis?.successful ?? 0) >= 2, {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: "two analysis rounds recorded",
    });
    const old = await waitFor(leader, { timeoutMs: 10_000, message: "a leader" });
    const before = await status();
    const killedAt = Date.now();
    await old.kill();
    const next = await waitFor(leader, {
      timeoutMs: (leaseSeconds + 10) * 1000,
      intervalMs: 100,
      message: "another replica to lead",
    });
    assert.notEqual(next.name, old.name);
    t.diagnostic(
      `killed leader ${old.name} at step ${before.currentStep} after ${before.analysis?.successful} rounds; ${next.name} leads ${Date.now() - killedAt} ms later`,
    );

    const done = await waitFor(
      async () => {
        const s = await status();
        return s.phase === "Succeeded" ? s : false;
      },
      { timeoutMs: 45_000, intervalMs: 200, message: "the rollout to complete under the new leader" },
    );
    const [passed] = done.history ?? [];
    assert.equal(passed?.step, 1);
    assert.equal(passed?.successful, count, "every round counted once: none skipped, none repeated");
    const times = (passed?.rounds ?? []).map((r) => Date.parse(r.at));
    for (let i = 1; i < times.length; i++) {
      assert.ok(
        (times[i] as number) - (times[i - 1] as number) >= intervalSeconds * 1000,
        `rounds ${times.join(", ")}`,
      );
    }
    const events = JSON.parse(await kc(next, ["get", "events", "-o", "json"])) as {
      items: { reason: string; message: string }[];
    };
    const reasons = events.items.map((e) => e.reason);
    assert.equal(reasons.filter((r) => r === "StepCompleted").length, 2, reasons.join());
    assert.equal(reasons.filter((r) => r === "AnalysisSuccessful").length, 1, reasons.join());
    assert.equal(reasons.filter((r) => r === "Completed").length, 1, reasons.join());
    const route = JSON.parse(await kc(next, ["get", "grpcroute", "greeter-split", "-o", "json"])) as {
      spec: { rules: { backendRefs: { name: string; weight: number }[] }[] };
    };
    assert.deepEqual(
      route.spec.rules[0]?.backendRefs.map((b) => [b.name, b.weight]),
      [
        ["greeter-v1", 0],
        ["greeter-v2", 100],
      ],
    );
  });
});
