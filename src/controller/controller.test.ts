import { test } from "node:test";
import assert from "node:assert/strict";
import { createMemoryStore, type KubeObject, type ResourceType } from "../store/index.ts";
import { createMetrics, silentLogger, type MeshplaneMetrics } from "../telemetry/index.ts";
import { promtoolCheckMetrics, requirePromtool } from "../../test/support/promtool.ts";
import { Controller, TerminalError, type EventSource, type Reconciler } from "./controller.ts";
import { FakeClock, settle } from "../clock/index.ts";
import { Informer, objectKey, type InformerEvent } from "./informer.ts";

/** An event source driven by hand: `sync()` ends the initial list, `emit` delivers an event. */
class FakeSource implements EventSource {
  readonly synced: Promise<void>;
  sync!: () => void;
  private readonly objects = new Map<string, KubeObject>();
  private readonly listeners: ((event: InformerEvent) => void)[] = [];

  constructor() {
    this.synced = new Promise((resolve) => (this.sync = resolve));
  }

  list(): KubeObject[] {
    return [...this.objects.values()];
  }

  onEvent(listener: (event: InformerEvent) => void): void {
    this.listeners.push(listener);
  }

  put(name: string): void {
    const object = thing(name);
    const old = this.objects.get(name);
    this.objects.set(name, object);
    for (const l of this.listeners)
      l(old ? { type: "MODIFIED", object, oldObject: old } : { type: "ADDED", object });
  }
}

const thing = (name: string): KubeObject => ({ apiVersion: "v1", kind: "Thing", metadata: { name } });

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function setup(reconcile: Reconciler, options: { workers?: number; metrics?: MeshplaneMetrics } = {}) {
  const clock = new FakeClock(1_000_000);
  const metrics = options.metrics ?? createMetrics({ defaultMetrics: false });
  const controller = new Controller({
    name: "things",
    reconcile,
    clock,
    metrics,
    logger: silentLogger(),
    workers: options.workers ?? 1,
  });
  const abort = new AbortController();
  return { clock, metrics, controller, abort };
}

async function value(
  metrics: MeshplaneMetrics,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, name);
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value ?? 0;
}

test("workers start only after every source synced, with everything the sources hold", async () => {
  const reconciled: string[] = [];
  const { controller, abort } = setup(async (key) => {
    reconciled.push(key);
    return {};
  });
  const a = new FakeSource();
  const b = new FakeSource();
  controller.watch(a).watch(b);
  a.put("x"); // before run: not queued, but listed when the run starts
  const running = controller.run(abort.signal);
  a.put("y");
  a.sync();
  await settle();
  assert.deepEqual(reconciled, [], "b has not synced");
  b.put("z");
  b.sync();
  await settle();
  assert.deepEqual(reconciled.sort(), ["x", "y", "z"]);
  abort.abort();
  await running;
});

test("store changes reach reconcile through an informer; a Service change enqueues the routes naming it", async (t) => {
  const store = createMemoryStore();
  const services: ResourceType = { group: "", resource: "services", namespaced: true };
  const routes: ResourceType = {
    group: "gateway.networking.k8s.io",
    resource: "httproutes",
    namespaced: true,
  };
  const logger = silentLogger();
  const parentOf = (o: KubeObject) =>
    ((o.spec as { parentRefs?: { name: string }[] }).parentRefs ?? []).map(
      (p) => `${o.metadata.namespace}/${p.name}`,
    );
  const routeInformer = new Informer({ store, type: routes, logger, indexers: { parent: parentOf } });
  const serviceInformer = new Informer({ store, type: services, logger });
  t.after(() => {
    routeInformer.stop();
    serviceInformer.stop();
  });
  const reconciled: string[] = [];
  let seenParents: string[] = [];
  const { controller, abort } = setup(async (key) => {
    reconciled.push(key);
    seenParents = parentOf(routeInformer.get(key) as KubeObject);
    return {};
  });
  controller
    .watch(routeInformer)
    .watch(serviceInformer, (e) => routeInformer.byIndex("parent", objectKey(e.object)).map(objectKey));
  const route = (name: string, parent: string): KubeObject => ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace: "default" },
    spec: { parentRefs: [{ name: parent }] },
  });
  const service = (name: string): KubeObject => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
  });
  await store.create(routes, route("to-web", "web"));
  await store.create(routes, route("to-api", "api"));
  await Promise.all([routeInformer.start(), serviceInformer.start()]);
  const running = controller.run(abort.signal);
  await waitFor(() => reconciled.length === 2);
  assert.deepEqual(reconciled.sort(), ["default/to-api", "default/to-web"]);

  reconciled.length = 0;
  await store.create(services, service("web"));
  await waitFor(() => reconciled.length === 1);
  assert.deepEqual(reconciled, ["default/to-web"], "only the route whose parent changed");

  reconciled.length = 0;
  const toApi = await store.get(routes, { namespace: "default", name: "to-api" });
  await store.update(routes, { ...toApi, spec: { parentRefs: [{ name: "web" }] } });
  await waitFor(() => reconciled.length === 1);
  assert.deepEqual(seenParents, ["default/web"], "reconcile reads the cache, already updated");
  abort.abort();
  await running;
});

test("errors retry with per-key exponential backoff; success forgets it", async () => {
  const attempts: number[] = [];
  let failures = 3;
  const { clock, controller, abort, metrics } = setup(async () => {
    attempts.push(clock.now());
    if (failures-- > 0) throw new Error("backend not ready");
    return {};
  });
  const source = new FakeSource();
  controller.watch(source);
  source.put("x");
  source.sync();
  const running = controller.run(abort.signal);
  await clock.advance(1000);
  const start = attempts[0] as number;
  assert.deepEqual(
    attempts.map((t) => t - start),
    [0, 5, 15, 35],
    "retried after 5, 10, 20 ms",
  );
  assert.equal(
    await value(metrics, "meshplane_controller_reconcile_errors_total", { controller: "things" }),
    3,
  );
  assert.equal(
    await value(metrics, "meshplane_controller_requeues_total", { controller: "things", reason: "error" }),
    3,
  );
  // Success forgot the failures: the next error starts from the base delay again.
  failures = 1;
  source.put("x");
  await clock.advance(1000);
  assert.deepEqual(
    attempts.slice(4).map((t) => t - (attempts[4] as number)),
    [0, 5],
  );
  abort.abort();
  await running;
});

test("requeueAfterMs reconciles the key again after that delay", async () => {
  const times: number[] = [];
  const { clock, controller, abort, metrics } = setup(async () => {
    times.push(clock.now());
    return times.length < 3 ? { requeueAfterMs: 30_000 } : {};
  });
  const source = new FakeSource();
  controller.watch(source);
  source.put("x");
  source.sync();
  const running = controller.run(abort.signal);
  await clock.advance(120_000);
  assert.deepEqual(
    times.map((t) => t - (times[0] as number)),
    [0, 30_000, 60_000],
  );
  assert.equal(
    await value(metrics, "meshplane_controller_requeues_total", {
      controller: "things",
      reason: "requeue_after",
    }),
    2,
  );
  abort.abort();
  await running;
});

test("a TerminalError is counted but not retried", async () => {
  let calls = 0;
  const { clock, controller, abort, metrics } = setup(async () => {
    calls++;
    throw new TerminalError("spec.port is out of range");
  });
  const source = new FakeSource();
  controller.watch(source);
  source.put("x");
  source.sync();
  const running = controller.run(abort.signal);
  await clock.advance(100_000);
  assert.equal(calls, 1);
  assert.equal(clock.pendingTimers, 0, "nothing scheduled");
  assert.equal(
    await value(metrics, "meshplane_controller_reconcile_errors_total", { controller: "things" }),
    1,
  );
  assert.equal(
    await value(metrics, "meshplane_controller_requeues_total", { controller: "things", reason: "error" }),
    0,
  );
  const histogram = await metrics.controllerReconcileDuration.get();
  const terminal = histogram.values.find(
    (v) => v.metricName?.endsWith("_count") && v.labels.result === "terminal_error",
  );
  assert.equal(terminal?.value, 1);
  abort.abort();
  await running;
});

test("with several workers, one key is never reconciled twice at once; other keys run alongside", async () => {
  const active = new Map<string, number>();
  let maxSameKey = 0;
  let maxTotal = 0;
  const gates: (() => void)[] = [];
  const { controller, abort } = setup(
    async (key) => {
      active.set(key, (active.get(key) ?? 0) + 1);
      maxSameKey = Math.max(maxSameKey, active.get(key) as number);
      maxTotal = Math.max(
        maxTotal,
        [...active.values()].reduce((a, b) => a + b, 0),
      );
      const gate = deferred();
      gates.push(gate.resolve);
      await gate.promise;
      active.set(key, (active.get(key) as number) - 1);
      return {};
    },
    { workers: 4 },
  );
  const source = new FakeSource();
  controller.watch(source);
  source.sync();
  const running = controller.run(abort.signal);
  await settle();
  for (let round = 0; round < 3; round++) {
    source.put("hot");
    source.put("a");
    source.put("b");
    await settle();
    source.put("hot"); // while "hot" is in process: queued once more, after it finishes
    source.put("hot");
    for (const open of gates.splice(0)) open();
    await settle();
  }
  while (gates.length > 0) {
    for (const open of gates.splice(0)) open();
    await settle();
  }
  assert.equal(maxSameKey, 1);
  assert.equal(maxTotal, 3, "hot, a and b ran concurrently");
  abort.abort();
  await running;
});

test("abort: in-flight reconciles see their signal aborted, queued keys are dropped, run resolves", async () => {
  const started: string[] = [];
  let sawAbort = false;
  const { controller, abort, metrics } = setup(async (key, signal) => {
    started.push(key);
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    sawAbort = signal.aborted;
    throw signal.reason;
  });
  const source = new FakeSource();
  controller.watch(source);
  for (const name of ["a", "b", "c"]) source.put(name);
  source.sync();
  const running = controller.run(abort.signal);
  await settle();
  assert.deepEqual(started, ["a"]);
  assert.equal(await value(metrics, "meshplane_controller_queue_depth", { controller: "things" }), 2);
  abort.abort();
  await running;
  assert.ok(sawAbort);
  assert.deepEqual(started, ["a"], "b and c were not started after the abort");
  assert.equal(
    await value(metrics, "meshplane_controller_reconcile_errors_total", { controller: "things" }),
    0,
    "ending by shutdown is not an error",
  );
  assert.equal(await value(metrics, "meshplane_controller_queue_depth", { controller: "things" }), 0);
});

test("an abort while waiting for the sources ends run; a later run starts over from the sources", async () => {
  const reconciled: string[] = [];
  const { controller } = setup(async (key) => {
    reconciled.push(key);
    return {};
  });
  const source = new FakeSource();
  controller.watch(source);
  const first = new AbortController();
  const running = controller.run(first.signal);
  await assert.rejects(controller.run(first.signal), /already running/);
  first.abort();
  await running;
  source.put("x");
  source.sync();
  const second = new AbortController();
  const again = controller.run(second.signal);
  await settle();
  assert.deepEqual(reconciled, ["x"]);
  second.abort();
  await again;
});

test("the controller series pass promtool check metrics", async (t) => {
  const metrics = createMetrics({ defaultMetrics: false });
  let calls = 0;
  const { clock, controller, abort } = setup(
    async () => {
      calls++;
      if (calls === 1) throw new Error("transient");
      return calls === 2 ? { requeueAfterMs: 10 } : {};
    },
    { metrics },
  );
  const source = new FakeSource();
  controller.watch(source);
  source.put("x");
  source.sync();
  const running = controller.run(abort.signal);
  await clock.advance(100);
  abort.abort();
  await running;
  const text = await metrics.registry.metrics();
  for (const name of [
    "meshplane_controller_queue_depth",
    "meshplane_controller_reconcile_duration_seconds_bucket",
    "meshplane_controller_reconcile_errors_total",
    "meshplane_controller_requeues_total",
  ]) {
    assert.match(text, new RegExp(`^${name}\\{[^}]*controller="things"`, "m"), name);
  }
  if (!requirePromtool(t)) return;
  const { code, output } = await promtoolCheckMetrics(text);
  assert.equal(code, 0, output);
  assert.equal(output.trim(), "", output);
});

async function waitFor(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}
