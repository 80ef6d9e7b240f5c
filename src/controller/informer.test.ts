import { test } from "node:test";
import assert from "node:assert/strict";
import {
  createMemoryStore,
  StoreError,
  type KubeObject,
  type ResourceStore,
  type ResourceType,
} from "../store/index.ts";
import { silentLogger } from "../telemetry/index.ts";
import { Informer, type InformerEvent } from "./informer.ts";

const services: ResourceType = { group: "", resource: "services", namespaced: true };
const svc = (name: string, port = 80): KubeObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "default" },
  spec: { ports: [{ port }] },
});

async function until(check: () => boolean, message: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${message}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("lists, then follows adds, updates and deletes", async (t) => {
  const store = createMemoryStore();
  await store.create(services, svc("a"));
  const informer = new Informer({ store, type: services, logger: silentLogger() });
  t.after(() => informer.stop());
  const events: string[] = [];
  informer.onEvent((e: InformerEvent) => events.push(`${e.type} ${e.object.metadata.name}`));
  await informer.start();
  assert.ok(informer.hasSynced);
  assert.deepEqual(events, ["ADDED a"]);

  await store.create(services, svc("b"));
  const a = await store.get(services, { namespace: "default", name: "a" });
  await store.update(services, { ...a, spec: { ports: [{ port: 81 }] } });
  await store.delete(services, { namespace: "default", name: "b" });
  await until(() => events.length === 4, `events ${events.join(", ")}`);
  assert.deepEqual(events, ["ADDED a", "ADDED b", "MODIFIED a", "DELETED b"]);
  assert.deepEqual(
    informer.list().map((o) => o.metadata.name),
    ["a"],
  );
});

test("an expired watch relists and reports what vanished meanwhile", async (t) => {
  const store = createMemoryStore();
  await store.create(services, svc("keep"));
  await store.create(services, svc("gone"));
  // The first watch fails as Expired after the world moved on, as when the informer's resume
  // point falls out of the server's history.
  let failNext = true;
  const expiring: ResourceStore = Object.assign(Object.create(store) as ResourceStore, {
    watch: async (...args: Parameters<ResourceStore["watch"]>) => {
      if (!failNext) return store.watch(...args);
      failNext = false;
      await store.delete(services, { namespace: "default", name: "gone" });
      await store.create(services, svc("new"));
      throw new StoreError("Expired", "too old resource version");
    },
  });
  const informer = new Informer({
    store: expiring,
    type: services,
    logger: silentLogger(),
    initialBackoffMs: 10,
  });
  t.after(() => informer.stop());
  const events: string[] = [];
  informer.onEvent((e) => events.push(`${e.type} ${e.object.metadata.name}`));
  await informer.start();
  await until(() => events.length === 4, `events ${events.join(", ")}`);
  assert.deepEqual(events, ["ADDED gone", "ADDED keep", "DELETED gone", "ADDED new"]);
  assert.deepEqual(
    informer
      .list()
      .map((o) => o.metadata.name)
      .sort(),
    ["keep", "new"],
  );
  // And it follows live events after the relist.
  await store.delete(services, { namespace: "default", name: "keep" });
  await until(() => events.length === 5, `events ${events.join(", ")}`);
});
