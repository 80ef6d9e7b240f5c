// The Rollout controller over a real (memory) store, on the fake clock, with a scripted metric
// reader: the proxies' `Programmed` report is written by the test, the way the status controller
// writes it. Covers the whole state machine: promotion through analysis, rollback, inconclusive
// pauses, manual weight edits, promote, abort, a missing route, and a new leader continuing.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RolloutMetric } from "../api/index.ts";
import { FakeClock } from "../clock/index.ts";
import { meshControllerName } from "../status/index.ts";
import { createMemoryStore, type KubeObject, type ResourceStore, type ResourceType } from "../store/index.ts";
import { createMetrics, silentLogger } from "../telemetry/index.ts";
import { RolloutController, rolloutType } from "./controller.ts";
import { eventType, StoreEventSink } from "./events.ts";
import type { Reading } from "./judge.ts";
import type { MetricReader } from "./providers.ts";
import { readStatus, type RolloutStatus } from "./status.ts";

const routeType: ResourceType = {
  group: "gateway.networking.k8s.io",
  resource: "grpcroutes",
  namespaced: true,
};
const serviceType: ResourceType = { group: "", resource: "services", namespaced: true };
const key = { namespace: "default", name: "greeter" };

const successRate: RolloutMetric = {
  name: "sr",
  successCondition: ">= 0.95",
  web: { url: "http://127.0.0.1:1/unused" },
};
const analysis = { analysis: { interval: "10s", count: 2, metrics: [successRate] } };
const twoSteps = [{ setWeight: 10 }, analysis, { setWeight: 50 }, analysis];

class ScriptedReader implements MetricReader {
  calls = 0;
  /** What the next reads return. */
  next: () => Reading = () => ({ value: 0.99 });
  /** Checked on every read: the split being judged must be programmed. */
  check: () => Promise<void> = async () => {};

  async read(): Promise<Reading> {
    this.calls++;
    await this.check();
    return this.next();
  }
}

function service(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
    spec: { ports: [{ port: 50051 }] },
  };
}

function route(): KubeObject {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GRPCRoute",
    metadata: { name: "greeter", namespace: "default" },
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: "greeter" }],
      rules: [
        {
          matches: [{ method: { service: "helloworld.Greeter" } }],
          backendRefs: [
            { name: "greeter-v1", port: 50051, weight: 100 },
            { name: "greeter-v2", port: 50051, weight: 0 },
          ],
        },
      ],
    },
  };
}

function rollout(steps: unknown[]): KubeObject {
  return {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "Rollout",
    metadata: { name: "greeter", namespace: "default" },
    spec: {
      routeRef: { kind: "GRPCRoute", name: "greeter" },
      stableBackend: { name: "greeter-v1" },
      canaryBackend: { name: "greeter-v2" },
      steps,
    },
  };
}

async function setup(
  t: { after: (fn: () => Promise<void>) => void },
  steps: unknown[],
  options: { withRoute?: boolean } = {},
) {
  const clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
  const store = createMemoryStore({ clock });
  const metrics = createMetrics({ defaultMetrics: false });
  const reader = new ScriptedReader();
  for (const name of ["greeter-v1", "greeter-v2"]) await store.create(serviceType, service(name));
  if (options.withRoute ?? true) await store.create(routeType, route());
  await store.create(rolloutType, rollout(steps));
  const runs: { abort: AbortController; done: Promise<void> }[] = [];
  const start = () => {
    const controller = new RolloutController({
      store,
      logger: silentLogger(),
      metrics,
      reader,
      events: new StoreEventSink({ store, instance: `replica-${runs.length}`, clock }),
      clock,
    });
    const abort = new AbortController();
    runs.push({ abort, done: controller.run(abort.signal) });
    return async () => {
      abort.abort();
      await runs.at(-1)?.done;
    };
  };
  t.after(async () => {
    for (const run of runs) run.abort.abort();
    await Promise.all(runs.map((r) => r.done));
    await store.close();
  });
  /** Proxies ACK at once: every route generation is reported Programmed when the test drives time. */
  let proxiesAck = true;
  const program = async () => {
    const current = await store.get(routeType, key);
    const generation = current.metadata.generation ?? 1;
    if (programmedGeneration(current) === generation) return;
    const condition = {
      type: "Programmed",
      status: "True",
      reason: "Programmed",
      message: "reached 2 of 2 connected proxies",
      observedGeneration: generation,
      lastTransitionTime: new Date(clock.now()).toISOString(),
    };
    const parents = [
      {
        parentRef: { group: "", kind: "Service", name: "greeter" },
        controllerName: meshControllerName,
        conditions: [condition],
      },
    ];
    await store.updateStatus(routeType, { ...current, status: { parents } });
  };
  const status = async (): Promise<RolloutStatus | undefined> =>
    readStatus(await store.get(rolloutType, key));
  const canaryWeight = async () => weightOf(await store.get(routeType, key), "greeter-v2");
  const weights: number[] = [];
  /** Moves time in 500 ms ticks until `predicate` holds, noting each canary weight the route had. */
  const until = async (
    what: string,
    predicate: (s: RolloutStatus | undefined) => boolean | Promise<boolean>,
    maxMs = 200_000,
  ) => {
    for (let elapsed = 0; elapsed <= maxMs; elapsed += 500) {
      const weight = await canaryWeight().catch(() => undefined);
      if (weight !== undefined && weights.at(-1) !== weight) weights.push(weight);
      if (await predicate(await status())) return;
      if (proxiesAck) await program().catch(() => {});
      await clock.advance(500);
    }
    assert.fail(`not reached within ${maxMs} ms: ${what}; status ${JSON.stringify(await status())}`);
  };
  const events = async () =>
    (await store.list(eventType, { namespace: "default" })).items
      // In the order written (several can share one instant of the fake clock).
      .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion))
      .map((e) => `${String(e.reason)}: ${String(e.message)}`);
  const patchSpec = async (change: object) => {
    const current = await store.get(rolloutType, key);
    await store.update(rolloutType, { ...current, spec: { ...(current.spec as object), ...change } });
  };
  return {
    clock,
    store,
    metrics,
    reader,
    start,
    until,
    status,
    events,
    weights,
    patchSpec,
    canaryWeight,
    setProxiesAck: (value: boolean) => (proxiesAck = value),
  };
}

function weightOf(object: KubeObject, backend: string): number | undefined {
  const rules = (object.spec as { rules: { backendRefs: { name: string; weight?: number }[] }[] }).rules;
  return rules[0]?.backendRefs.find((b) => b.name === backend)?.weight;
}

function programmedGeneration(route: KubeObject): number | undefined {
  const parents = (
    route.status as { parents?: { conditions: { type: string; observedGeneration: number }[] }[] } | undefined
  )?.parents;
  return parents?.[0]?.conditions.find((c) => c.type === "Programmed")?.observedGeneration;
}

/** Fails the read when the route's current generation is not what the proxies run. */
function requireProgrammed(store: ResourceStore): () => Promise<void> {
  return async () => {
    const current = await store.get(routeType, key);
    assert.equal(
      programmedGeneration(current),
      current.metadata.generation,
      "analysis judged a split the proxies do not run yet",
    );
  };
}

test("a good canary goes 10 → 50 → 100 through two analyses, each judging only the programmed split", async (t) => {
  const world = await setup(t, twoSteps);
  world.reader.check = requireProgrammed(world.store);
  world.start();
  await world.until("Succeeded", (s) => s?.phase === "Succeeded");
  assert.deepEqual(world.weights, [0, 10, 50, 100]);
  assert.equal(world.reader.calls, 4, "two rounds per analysis, none repeated or skipped");
  const status = (await world.status()) as RolloutStatus;
  assert.equal(status.currentStep, 4);
  assert.equal(status.canaryWeight, 100);
  assert.deepEqual(
    status.history.map((a) => [a.step, a.result, a.successful, a.failed]),
    [
      [1, "Successful", 2, 0],
      [3, "Successful", 2, 0],
    ],
  );
  assert.match(status.lastAnalysis ?? "", /^Successful step 3: sr=0\.99/);
  const conditions = Object.fromEntries(status.conditions.map((c) => [c.type, `${c.status}/${c.reason}`]));
  assert.deepEqual(conditions, {
    Accepted: "True/Accepted",
    Progressing: "False/Succeeded",
    Paused: "False/NotPaused",
    Degraded: "False/NotDegraded",
  });
  const reasons = (await world.events()).map((e) => e.split(":")[0]);
  assert.deepEqual(reasons, [
    "StepCompleted",
    "AnalysisSuccessful",
    "StepCompleted",
    "AnalysisSuccessful",
    "Completed",
  ]);
  const weight = await world.metrics.rolloutCanaryWeight.get();
  assert.equal(weight.values.find((v) => v.labels.rollout === "default/greeter")?.value, 100);
  const phases = await world.metrics.rolloutPhase.get();
  assert.equal(phases.values.find((v) => v.labels.phase === "Succeeded")?.value, 1);
});

test("a failing canary is rolled back at the first failed round: Degraded with the values, and events say why", async (t) => {
  const world = await setup(t, twoSteps);
  world.reader.next = () => ({ value: 0.7 });
  world.start();
  await world.until("analysis started", (s) => s?.analysis !== undefined);
  const started = world.clock.now();
  await world.until("Degraded", async (s) => s?.phase === "Degraded" && (await world.canaryWeight()) === 0);
  assert.ok(world.clock.now() - started <= 2 * 10_000, `rolled back after ${world.clock.now() - started} ms`);
  assert.equal(await world.canaryWeight(), 0);
  assert.deepEqual(world.weights, [0, 10, 0]);
  const status = (await world.status()) as RolloutStatus;
  const degraded = status.conditions.find((c) => c.type === "Degraded");
  assert.equal(degraded?.status, "True");
  assert.match(
    degraded?.message ?? "",
    /step 1: analysis failed \(sr >= 0.95 to pass\): 0 passed, 1 failed; last sr=0\.7000; all traffic back to stable greeter-v1/,
  );
  assert.deepEqual(status.history.at(-1)?.rounds.at(-1)?.measurements, [
    { metric: "sr", result: "Failed", value: 0.7 },
  ]);
  const events = await world.events();
  assert.match(events.at(-1) ?? "", /^RolledBack: step 1: analysis failed .* sr=0\.7000/);
  // Rolled back stays rolled back: time passes, nothing more is measured or written.
  const calls = world.reader.calls;
  await world.clock.advance(60_000);
  assert.equal(world.reader.calls, calls);
  assert.equal(await world.canaryWeight(), 0);
});

test("an unreachable provider pauses as inconclusive, never promotes, and resumes when it answers", async (t) => {
  const world = await setup(t, twoSteps);
  world.reader.next = () => ({ error: "prometheus http://127.0.0.1:9: ECONNREFUSED" });
  world.start();
  await world.until("paused inconclusive", (s) => s?.phase === "Paused");
  let status = (await world.status()) as RolloutStatus;
  assert.equal(status.pauseReason, "Inconclusive");
  assert.match(
    status.message,
    /analysis inconclusive, paused \(never promoted\).*sr=\? \(prometheus http:\/\/127\.0\.0\.1:9: ECONNREFUSED\)/,
  );
  await world.clock.advance(60_000);
  assert.equal(await world.canaryWeight(), 10, "still at the first weight");
  assert.equal((await world.status())?.currentStep, 1);
  world.reader.next = () => ({ value: 0.99 });
  await world.until("Succeeded", (s) => s?.phase === "Succeeded");
  status = (await world.status()) as RolloutStatus;
  assert.equal(status.history[0]?.successful, 2, "inconclusive rounds are not counted as passes");
  const reasons = (await world.events()).map((e) => e.split(":")[0]);
  assert.deepEqual(reasons.slice(0, 3), ["StepCompleted", "AnalysisInconclusive", "Resumed"]);
});

test("a manual weight edit pauses the rollout with the reason; resume takes the weights back", async (t) => {
  const world = await setup(t, [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }]);
  world.start();
  await world.until("at the pause", (s) => s?.currentStep === 1);
  const current = await world.store.get(routeType, key);
  const edited = structuredClone(current);
  const refs =
    (edited.spec as { rules: { backendRefs: { weight: number }[] }[] }).rules[0]?.backendRefs ?? [];
  (refs[0] as { weight: number }).weight = 70;
  (refs[1] as { weight: number }).weight = 30;
  await world.store.update(routeType, edited);
  await world.until("paused for the edit", (s) => s?.pauseReason === "ManualWeightChange");
  const status = (await world.status()) as RolloutStatus;
  assert.equal(status.phase, "Paused");
  assert.match(
    status.conditions.find((c) => c.type === "Paused")?.message ?? "",
    /changed outside the rollout \(stable 70, canary 30; the rollout set 90, 10\)/,
  );
  assert.equal(((await world.store.get(rolloutType, key)).spec as { paused?: boolean }).paused, true);
  await world.clock.advance(120_000);
  assert.equal(await world.canaryWeight(), 30, "the user's weights are left alone while paused");
  await world.patchSpec({ paused: false });
  await world.until(
    "weights taken back",
    async (s) => s?.pauseReason === "AwaitingPromotion" && (await world.canaryWeight()) === 10,
  );
  await world.patchSpec({ promote: 1 });
  await world.until("Succeeded", (s) => s?.phase === "Succeeded");
  assert.deepEqual(world.weights, [0, 10, 30, 10, 50, 100]);
  const reasons = (await world.events()).map((e) => e.split(":")[0]);
  assert.ok(reasons.includes("ManualWeightChange") && reasons.includes("Resumed"), reasons.join());
});

test("a pause without duration waits for promote; abort sends all traffic back and lifting it starts over", async (t) => {
  const world = await setup(t, [{ setWeight: 20 }, { pause: {} }]);
  world.start();
  await world.until("awaiting promotion", (s) => s?.pauseReason === "AwaitingPromotion");
  await world.clock.advance(600_000);
  assert.equal((await world.status())?.currentStep, 1, "an indefinite pause stays");
  await world.patchSpec({ abort: true });
  await world.until("Aborted", async (s) => s?.phase === "Aborted" && (await world.canaryWeight()) === 0);
  assert.equal(await world.canaryWeight(), 0);
  await world.patchSpec({ abort: false });
  await world.until("awaiting promotion again", (s) => s?.pauseReason === "AwaitingPromotion");
  assert.equal(await world.canaryWeight(), 20);
  await world.patchSpec({ promote: 1 });
  await world.until("Succeeded", (s) => s?.phase === "Succeeded");
  assert.deepEqual(world.weights, [0, 20, 0, 20, 100]);
  const spec = (await world.store.get(rolloutType, key)).spec as { promote?: number };
  assert.equal(spec.promote, undefined, "a promotion is consumed, so a later run of step 1 waits again");
  const reasons = (await world.events()).map((e) => e.split(":")[0]);
  assert.deepEqual(reasons, [
    "StepCompleted",
    "AwaitingPromotion",
    "Aborted",
    "Restarted",
    "StepCompleted",
    "AwaitingPromotion",
    "Promoted",
    "Completed",
  ]);
});

test("weights wait for the proxies: no step completes before its weights are programmed", async (t) => {
  const world = await setup(t, [{ setWeight: 10 }, { setWeight: 40 }]);
  world.setProxiesAck(false);
  world.start();
  await world.until("weight written", async () => (await world.canaryWeight()) === 10);
  await world.clock.advance(30_000);
  const status = (await world.status()) as RolloutStatus;
  assert.equal(status.currentStep, 0);
  assert.match(
    status.message,
    /step 0: canary at 10%; waiting until programmed: the route has no status yet/,
  );
  world.setProxiesAck(true);
  await world.until("Succeeded", (s) => s?.phase === "Succeeded");
});

test("a missing route is Accepted=False with the reason, until it appears", async (t) => {
  const world = await setup(t, [{ setWeight: 10 }], { withRoute: false });
  world.start();
  await world.until(
    "not accepted",
    (s) => s?.conditions.some((c) => c.type === "Accepted" && c.status === "False") ?? false,
  );
  const accepted = (await world.status())?.conditions.find((c) => c.type === "Accepted");
  assert.equal(accepted?.reason, "RouteNotFound");
  assert.match(accepted?.message ?? "", /GRPCRoute default\/greeter does not exist/);
  await world.store.create(routeType, route());
  await world.until("Succeeded", (s) => s?.phase === "Succeeded");
  assert.equal((await world.status())?.conditions.find((c) => c.type === "Accepted")?.status, "True");
});

test("a new leader continues from the status: no promotion repeated, no analysis round skipped", async (t) => {
  const world = await setup(t, twoSteps);
  const stop = world.start();
  await world.until("one round taken", (s) => s?.analysis?.successful === 1);
  await stop();
  await world.clock.advance(30_000);
  world.start();
  await world.until("Succeeded", (s) => s?.phase === "Succeeded");
  assert.equal(world.reader.calls, 4);
  assert.deepEqual(world.weights, [0, 10, 50, 100]);
  const reasons = (await world.events()).map((e) => e.split(":")[0]);
  assert.deepEqual(reasons, [
    "StepCompleted",
    "AnalysisSuccessful",
    "StepCompleted",
    "AnalysisSuccessful",
    "Completed",
  ]);
});

test("a missing backend Service is Accepted=False with BackendNotFound", async (t) => {
  const world = await setup(t, [{ setWeight: 10 }]);
  await world.store.delete(serviceType, { namespace: "default", name: "greeter-v2" });
  world.start();
  await world.until(
    "not accepted",
    (s) => s?.conditions.some((c) => c.type === "Accepted" && c.status === "False") ?? false,
  );
  const accepted = (await world.status())?.conditions.find((c) => c.type === "Accepted");
  assert.equal(accepted?.reason, "BackendNotFound");
  assert.match(accepted?.message ?? "", /Service greeter-v2 not found in namespace default/);
  assert.equal(await world.canaryWeight(), 0, "the route is not touched");
  await world.store.create(serviceType, service("greeter-v2"));
  await world.until("Succeeded", (s) => s?.phase === "Succeeded");
});

test("header exposure adds the canary rule, kept through the weights, removed at the end", async (t) => {
  const world = await setup(t, [
    { exposeByHeader: { name: "x-canary", value: "true" } },
    { setWeight: 10 },
    { pause: {} },
  ]);
  world.start();
  await world.until("at the pause", (s) => s?.pauseReason === "AwaitingPromotion");
  const rules = async () =>
    (
      (await world.store.get(routeType, key)).spec as {
        rules: { name?: string; matches?: unknown[]; backendRefs: unknown[] }[];
      }
    ).rules;
  const exposed = await rules();
  assert.equal(exposed.length, 2);
  assert.deepEqual(exposed[1], {
    name: "rollout-greeter-canary",
    matches: [
      {
        method: { service: "helloworld.Greeter" },
        headers: [{ type: "Exact", name: "x-canary", value: "true" }],
      },
    ],
    backendRefs: [{ name: "greeter-v2", port: 50051, weight: 1 }],
  });
  assert.deepEqual((await world.status())?.exposedHeader, { name: "x-canary", value: "true" });
  await world.patchSpec({ promote: 2 });
  await world.until("Succeeded", (s) => s?.phase === "Succeeded");
  assert.equal((await rules()).length, 1, "the exposure rule is gone");
  assert.deepEqual(world.weights, [0, 10, 100]);
});
