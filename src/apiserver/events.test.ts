// Events through the API: the rollout controller's stored core Events served as v1 and as
// events.k8s.io/v1, found by the involved object's fields as `kubectl describe` asks, in lists and
// watches; and the Rollout kind served with validation and printer columns.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FakeClock } from "../clock/index.ts";
import { eventType, StoreEventSink } from "../rollout/index.ts";
import type { KubeObject } from "../store/index.ts";
import { startTestServer, type TestServer } from "./testing.ts";

let api: TestServer;
const clock = new FakeClock(Date.parse("2026-03-01T10:00:00Z"));
const rollout = (name: string, uid: string): KubeObject => ({
  apiVersion: "meshplane.dev/v1alpha1",
  kind: "Rollout",
  metadata: { name, namespace: "default", uid, resourceVersion: "7" },
});

before(async () => {
  api = await startTestServer({ clock });
  const sink = new StoreEventSink({ store: api.store, instance: "replica-a", clock });
  await sink.record(rollout("greeter", "u-1"), {
    type: "Normal",
    reason: "StepCompleted",
    message: "step 0: canary at 10%",
  });
  await sink.record(rollout("greeter", "u-1"), {
    type: "Warning",
    reason: "RolledBack",
    message: "step 1: analysis failed",
  });
  await sink.record(rollout("other", "u-2"), { type: "Normal", reason: "Completed", message: "done" });
});
after(() => api.close());

const core = "/api/v1/namespaces/default/events";
const v1 = "/apis/events.k8s.io/v1/namespaces/default/events";

test("kubectl describe's query finds exactly the object's events", async () => {
  const selector = encodeURIComponent(
    "involvedObject.name=greeter,involvedObject.namespace=default,involvedObject.kind=Rollout,involvedObject.uid=u-1",
  );
  const reply = await api.request("GET", `${core}?fieldSelector=${selector}&limit=500`);
  assert.equal(reply.status, 200);
  assert.equal(reply.json.kind, "EventList");
  assert.deepEqual(
    reply.json.items.map((e: { reason: string; type: string }) => `${e.type} ${e.reason}`).sort(),
    ["Normal StepCompleted", "Warning RolledBack"],
  );
  const event = reply.json.items.find((e: { reason: string }) => e.reason === "RolledBack");
  assert.deepEqual(event.involvedObject, {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "Rollout",
    name: "greeter",
    namespace: "default",
    uid: "u-1",
    resourceVersion: "7",
  });
  assert.equal(event.source.component, "meshplane.dev/rollout-controller");
  assert.equal(event.reportingInstance, "replica-a");
  assert.equal(event.lastTimestamp, "2026-03-01T10:00:00Z");
  const negated = await api.request(
    "GET",
    `${core}?fieldSelector=${encodeURIComponent("reason!=RolledBack,metadata.namespace=default")}`,
  );
  assert.equal(negated.json.items.length, 2);
});

test("the same events as events.k8s.io/v1, with its field names and selectors", async () => {
  const reply = await api.request(
    "GET",
    `${v1}?fieldSelector=${encodeURIComponent("regarding.name=greeter,type=Warning")}`,
  );
  assert.equal(reply.status, 200);
  assert.equal(reply.json.apiVersion, "events.k8s.io/v1");
  const [event] = reply.json.items;
  assert.equal(reply.json.items.length, 1);
  assert.equal(event.apiVersion, "events.k8s.io/v1");
  assert.equal(event.note, "step 1: analysis failed");
  assert.equal(event.regarding.kind, "Rollout");
  assert.equal(event.reportingController, "meshplane.dev/rollout-controller");
  assert.equal(event.eventTime, "2026-03-01T10:00:00.000000Z");
  assert.equal(event.deprecatedCount, 1);
  const one = await api.request("GET", `${v1}/${event.metadata.name}`);
  assert.equal(one.json.note, "step 1: analysis failed");
  const table = await api.request("GET", v1, {
    headers: { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" },
  });
  assert.deepEqual(
    table.json.columnDefinitions.map((c: { name: string }) => c.name),
    ["Name", "Type", "Reason", "Object", "Note"],
  );
});

test("unknown field selectors are refused; events are read-only", async () => {
  const bad = await api.request("GET", `${core}?fieldSelector=${encodeURIComponent("spec.nope=1")}`);
  assert.equal(bad.status, 400);
  assert.match(bad.json.message, /field label not supported: spec.nope/);
  assert.equal((await api.request("POST", v1, { body: {} })).status, 405);
});

test("a watch with an involved-object selector sees only that object's events", async () => {
  const controller = new AbortController();
  const response = await fetch(
    `${api.url}${core}?watch=true&fieldSelector=${encodeURIComponent("involvedObject.name=other")}`,
    { signal: controller.signal },
  );
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = "";
  // Bare newlines are keep-alives; the first event is the first non-empty line.
  while (!/\S\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
  controller.abort();
  const line = text.split("\n").find((l) => l.trim() !== "") as string;
  const first = JSON.parse(line) as { type: string; object: { reason: string } };
  assert.deepEqual([first.type, first.object.reason], ["ADDED", "Completed"]);
});

test("retention: at most maxPerObject events per object, the newest kept", async () => {
  const sink = new StoreEventSink({ store: api.store, instance: "replica-a", clock, maxPerObject: 3 });
  for (let i = 0; i < 5; i++) {
    await clock.advance(1000);
    await sink.record(rollout("busy", "u-3"), {
      type: "Normal",
      reason: "StepCompleted",
      message: `step ${i}`,
    });
  }
  const { items } = await api.store.list(eventType, {
    namespace: "default",
    labelSelector: "events.meshplane.dev/regarding-uid=u-3",
  });
  assert.deepEqual(items.map((e) => e.message).sort(), ["step 2", "step 3", "step 4"]);
});

test("Rollouts are served: validation with field paths, and printer columns", async () => {
  const path = "/apis/meshplane.dev/v1alpha1/namespaces/default/rollouts";
  const body = {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "Rollout",
    metadata: { name: "greeter" },
    spec: {
      routeRef: { kind: "GRPCRoute", name: "greeter" },
      stableBackend: { name: "v1" },
      canaryBackend: { name: "v1" },
      steps: [{ setWeight: 10 }],
    },
  };
  const invalid = await api.request("POST", path, { body });
  assert.equal(invalid.status, 422);
  assert.match(invalid.json.message, /spec.canaryBackend.name: .*must differ from spec.stableBackend.name/);
  const created = await api.request("POST", path, {
    body: { ...body, spec: { ...body.spec, canaryBackend: { name: "v2" } } },
  });
  assert.equal(created.status, 201, created.text);
  const status = {
    phase: "Progressing",
    currentStep: 1,
    canaryWeight: 10,
    lastAnalysis: "Successful step 1: sr=0.9900",
    message: "m",
  };
  const written = await api.request("PUT", `${path}/greeter/status`, { body: { ...created.json, status } });
  assert.equal(written.status, 200, written.text);
  const table = await api.request("GET", path, {
    headers: { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" },
  });
  assert.deepEqual(
    table.json.columnDefinitions.map((c: { name: string }) => c.name),
    ["Name", "Phase", "Step", "Weight", "Last-Analysis", "Message", "Age"],
  );
  assert.deepEqual(table.json.rows[0].cells.slice(0, 6), [
    "greeter",
    "Progressing",
    "1/1",
    10,
    "Successful step 1: sr=0.9900",
    "m",
  ]);
});
