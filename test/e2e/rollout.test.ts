// Progressive delivery against real peers on 127.0.0.1: greeter backends exporting the standard
// gRPC server metrics with prom-client, a real Prometheus scraping them every second, meshplane
// running the Rollout, kubectl creating and reading it, and a real grpc-js-xds client whose
// observed split must follow each step. A good canary is first exposed to calls carrying a header,
// then goes 10 → 50 → 100 (surviving a Prometheus outage mid-analysis as an inconclusive pause); a
// canary failing 30 % of calls is rolled back.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createPrometheus,
  havePrometheus,
  prometheusHint,
  type PrometheusServer,
} from "../support/prometheus.ts";
import { apiRequest, kubectl } from "./support/api.ts";
import {
  assertAllOn,
  assertSplit,
  meshYaml,
  summary,
  runCli,
  startMeshFixture,
  suiteScope,
  waitFor,
  warmUp,
  weighted,
  type CallResult,
  type MeshFixture,
  type XdsClient,
} from "./support/index.ts";

const port = 50051;
const target = `xds:///greeter:${port}`;
const interval = 2_000;

const analysis = {
  analysis: {
    interval: `${interval / 1000}s`,
    count: 2,
    metrics: [
      {
        name: "sr",
        successCondition: ">= 0.95",
        prometheus: { address: "", template: "GrpcSuccessRate", window: "5s" },
      },
    ],
  },
};

/** Header exposure first, held by a pause until `meshplane rollout promote`. */
const exposure = [{ exposeByHeader: { name: "x-canary", value: "true" } }, { pause: {} }];

function rolloutYaml(prometheusUrl: string, stable: string, canary: string, expose = false): string {
  const step = structuredClone(analysis);
  (step.analysis.metrics[0] as { prometheus: { address: string } }).prometheus.address = prometheusUrl;
  return JSON.stringify({
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "Rollout",
    metadata: { name: "greeter", namespace: "default" },
    spec: {
      routeRef: { kind: "GRPCRoute", name: "greeter-split" },
      stableBackend: { name: stable },
      canaryBackend: { name: canary },
      steps: [...(expose ? exposure : []), { setWeight: 10 }, step, { setWeight: 50 }, step],
    },
  });
}

interface Batch {
  readonly start: number;
  readonly end: number;
  readonly result: CallResult;
}

/** Calls in a loop while a test runs, so Prometheus sees traffic and the split can be checked per window. */
class Traffic {
  readonly batches: Batch[] = [];
  private running = true;
  private readonly client: XdsClient;
  private readonly done: Promise<void>;

  constructor(client: XdsClient) {
    this.client = client;
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const start = Date.now();
      const result = await this.client.call({ target, calls: 40, concurrency: 4, deadlineMs: 2_000 });
      this.batches.push({ start, end: Date.now(), result });
    }
  }

  /** The calls of every batch run wholly inside [from, to]. */
  between(from: number, to: number): CallResult {
    const merged: CallResult = {
      id: 0,
      target,
      method: "SayHello",
      ok: 0,
      counts: {},
      errors: {},
      errorSamples: [],
      elapsedMs: to - from,
    };
    for (const { start, end, result } of this.batches) {
      if (start < from || end > to) continue;
      merged.ok += result.ok;
      for (const [k, n] of Object.entries(result.counts)) merged.counts[k] = (merged.counts[k] ?? 0) + n;
      for (const [k, n] of Object.entries(result.errors)) merged.errors[k] = (merged.errors[k] ?? 0) + n;
      merged.errorSamples.push(...result.errorSamples.slice(0, 2 - merged.errorSamples.length));
    }
    return merged;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

interface Status {
  phase?: string;
  pauseReason?: string;
  currentStep?: number;
  canaryWeight?: number;
  message?: string;
  analysis?: { successful: number; startedAt: string };
  history?: {
    step: number;
    startedAt: string;
    result?: string;
    rounds: { measurements: { metric: string; value?: number; message?: string }[] }[];
  }[];
  conditions?: {
    type: string;
    status: string;
    reason: string;
    message: string;
    lastTransitionTime: string;
  }[];
}

describe("rollout", { timeout: 150_000 }, () => {
  const scope = suiteScope();
  let mesh: MeshFixture;
  let prometheus: PrometheusServer;
  let traffic: Traffic;
  let cacheDir: string;
  let skip = false;

  const kc = async (args: string[], input?: string) => {
    const run = await kubectl(mesh.meshplane.kubeconfig as string, cacheDir, args, input);
    assert.equal(run.code, 0, `kubectl ${args.join(" ")}: ${run.stderr}`);
    return run.stdout;
  };
  const rolloutPath = "/apis/meshplane.dev/v1alpha1/namespaces/default/rollouts/greeter";
  const status = async (): Promise<Status> => {
    const reply = await apiRequest(mesh.meshplane.apiUrl as string, "GET", rolloutPath);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return (reply.body?.status ?? {}) as Status;
  };
  const until = (what: string, predicate: (s: Status) => boolean, timeoutMs = 30_000) =>
    waitFor(
      async () => {
        const s = await status();
        return predicate(s) ? { at: Date.now(), status: s } : false;
      },
      { timeoutMs, intervalMs: 100, message: what },
    );

  before(async () => {
    if (!havePrometheus()) {
      skip = true;
      return;
    }
    mesh = await startMeshFixture(scope.defer, {
      greeters: [
        { name: "v1", metrics: true },
        { name: "v2", metrics: true },
        { name: "v3", metrics: true, failRate: 0.3 },
      ],
      nodeId: "default/rollout-client",
      files: ({ v1, v2, v3 }) => ({
        "00-services.yaml": meshYaml()
          .service("greeter", port, [{ port: v1!.port }])
          .service("greeter-v1", port, [{ port: v1!.port }])
          .service("greeter-v2", port, [{ port: v2!.port }])
          .service("greeter-v3", port, [{ port: v3!.port }])
          .render(),
        "10-route.yaml": meshYaml()
          .grpcRoute("greeter-split", {
            parent: "greeter",
            port,
            rules: [{ backendRefs: weighted({ "greeter-v1": 100, "greeter-v2": 0, "greeter-v3": 0 }, port) }],
          })
          .render(),
      }),
    });
    cacheDir = await mkdtemp(join(tmpdir(), "meshplane-rollout-kube-"));
    scope.defer(() => rm(cacheDir, { recursive: true, force: true }));
    // The job names are the backend Services': the templates select `job="<canary backend>"`.
    prometheus = await createPrometheus({
      "greeter-v1": mesh.greeters.v1!.metricsAddress as string,
      "greeter-v2": mesh.greeters.v2!.metricsAddress as string,
      "greeter-v3": mesh.greeters.v3!.metricsAddress as string,
    });
    scope.defer(() => prometheus.close());
    await prometheus.start();
    await warmUp(mesh.client, target, 20);
    traffic = new Traffic(mesh.client);
    scope.defer(() => traffic.stop());
  });

  test("a good canary goes 10 → 50 → 100 through analysis; the client's split follows; a Prometheus outage pauses it", async (t) => {
    if (skip) return t.skip(prometheusHint);
    await kc(["apply", "-f", "-"], rolloutYaml(prometheus.url, "greeter-v1", "greeter-v2", true));

    // Steps 0 and 1: only calls carrying x-canary: true reach the canary, until promoted.
    await until(
      "canary exposed by header, waiting for promotion",
      (s) => s.pauseReason === "AwaitingPromotion",
    );
    const withHeader = await mesh.client.call({ target, calls: 50, metadata: { "x-canary": "true" } });
    assertAllOn(withHeader, "v2", "calls with x-canary: true");
    const without = await mesh.client.call({ target, calls: 50 });
    assertAllOn(without, "v1", "calls without the header");
    const kubeconfig = mesh.meshplane.kubeconfig as string;
    const promoted = await runCli(["rollout", "promote", "greeter", "--kubeconfig", kubeconfig]);
    assert.equal(promoted.stdout, "rollout default/greeter: step 1 promoted\n", promoted.stderr);

    const at10 = await until("canary at 10 %, programmed", (s) => (s.currentStep ?? 0) >= 3);
    const after10 = await until("analysis at 10 % passed", (s) => (s.currentStep ?? 0) >= 4);
    assert.equal(after10.status.history?.[0]?.result, "Successful");
    const split10 = traffic.between(at10.at, after10.at);
    assertSplit(split10, { v1: 90, v2: 10 }, 6, "at 10 %");
    t.diagnostic(`at 10 %: ${summary(split10)}`);

    const at50 = await until("canary at 50 %, programmed", (s) => (s.currentStep ?? 0) >= 5);
    await until("one round at 50 % passed", (s) => (s.analysis?.successful ?? 0) >= 1);
    await prometheus.stop();
    const paused = await until("paused as inconclusive", (s) => s.phase === "Paused", 4 * interval + 5_000);
    assert.equal(paused.status.pauseReason, "Inconclusive");
    assert.equal(paused.status.currentStep, 5, "never promoted while the provider is down");
    assert.equal(paused.status.canaryWeight, 50);
    assert.match(paused.status.message ?? "", /sr=\? \(prometheus http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    const split50 = traffic.between(at50.at, paused.at);
    assertSplit(split50, { v1: 50, v2: 50 }, 8, "at 50 %");
    t.diagnostic(`at 50 %: ${summary(split50)}; paused: ${paused.status.message}`);
    // Still paused a few intervals later: an unreachable provider never lets it pass.
    await new Promise((resolve) => setTimeout(resolve, 2 * interval));
    assert.equal((await status()).currentStep, 5);

    await prometheus.start();
    const done = await until("Succeeded after Prometheus is back", (s) => s.phase === "Succeeded", 30_000);
    assert.equal(done.status.canaryWeight, 100);
    assert.deepEqual(
      done.status.history?.map((a) => a.result),
      ["Successful", "Successful"],
    );
    const last = await mesh.client.call({ target, calls: 100, concurrency: 4 });
    assertAllOn(last, "v2", "after promotion");

    const table = await kc(["get", "rollout", "greeter"]);
    assert.match(table, /NAME\s+PHASE\s+STEP\s+WEIGHT\s+LAST-ANALYSIS\s+AGE/);
    assert.match(table, /greeter\s+Succeeded\s+6\/6\s+100\s+Successful step 5: sr=/);
    const explain = await kc(["explain", "rollout.spec.steps.analysis"]);
    assert.match(explain, /Measures metrics every interval, once the current weights are programmed/);
  });

  test("a canary failing 30 % of calls is rolled back within two analysis intervals; traffic returns to stable", async (t) => {
    if (skip) return t.skip(prometheusHint);
    // The next release: v2 is stable now, v3 the canary (a new revision restarts the rollout).
    await kc(["apply", "-f", "-"], rolloutYaml(prometheus.url, "greeter-v2", "greeter-v3"));
    const degraded = await until("Degraded", (s) => s.phase === "Degraded", 40_000);
    const failed = degraded.status.history?.at(-1);
    assert.equal(failed?.result, "Failed");
    const condition = degraded.status.conditions?.find((c) => c.type === "Degraded");
    assert.equal(condition?.status, "True");
    const took = Date.parse(condition?.lastTransitionTime ?? "") - Date.parse(failed?.startedAt ?? "");
    assert.ok(took <= 2 * interval + 1_000, `rolled back ${took} ms after the analysis started`);
    t.diagnostic(`rolled back ${took} ms after the analysis started: ${condition?.message}`);
    const value = failed?.rounds.at(-1)?.measurements[0]?.value ?? 1;
    assert.ok(value < 0.95 && value > 0.4, `measured success rate ${value}`);
    assert.match(
      condition?.message ?? "",
      /analysis failed \(sr >= 0.95 to pass\): 0 passed, 1 failed; last sr=0\.\d+; all traffic back to stable greeter-v2/,
    );

    const back = await waitFor(
      async () => {
        const result = await mesh.client.call({ target, calls: 100, concurrency: 4 });
        return result.counts.v2 === 100 ? result : false;
      },
      { timeoutMs: 15_000, message: "all calls on v2 again" },
    );
    assertAllOn(back, "v2", "after the rollback");

    const events = JSON.parse(await kc(["get", "events", "-o", "json"])) as {
      items: { reason: string; message: string; involvedObject: { kind: string; name: string } }[];
    };
    const rolledBack = events.items.find((e) => e.reason === "RolledBack");
    assert.equal(rolledBack?.involvedObject.kind, "Rollout");
    assert.match(rolledBack?.message ?? "", /sr=0\.\d+/);
    const describe = await kc(["describe", "rollout", "greeter"]);
    assert.match(describe, /Events:[\s\S]*Warning\s+RolledBack[\s\S]*all traffic back to stable greeter-v2/);
    const cli = await runCli([
      "rollout",
      "status",
      "greeter",
      "--kubeconfig",
      mesh.meshplane.kubeconfig as string,
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /Phase:\s+Degraded/);
    assert.match(cli.stdout, /Analysis at step 1: Failed \(0 passed, 1 failed\)\n.*Failed: sr=0\.\d+ Failed/);
  });
});
