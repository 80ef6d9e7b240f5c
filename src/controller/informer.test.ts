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
import { UnknownIndexError, namespaceIndex, type IndexFunction } from "./indexed-cache.ts";
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

const routes: ResourceType = { group: "gateway.networking.k8s.io", resource: "httproutes", namespaced: true };
const route = (name: string, namespace: string, parents: string[]): KubeObject => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name, namespace },
  spec: { parentRefs: parents.map((p) => ({ kind: "Service", name: p })) },
});
/** `namespace/name` of every parent Service of a route. */
const parentServices: IndexFunction = (object) => {
  const refs = (object.spec as { parentRefs?: { name: string }[] } | undefined)?.parentRefs ?? [];
  return refs.map((ref) => `${object.metadata.namespace}/${ref.name}`);
};

test("indexes: byIndex follows adds, updates and deletes, and the cache is current when listeners run", async (t) => {
  const store = createMemoryStore();
  await store.create(routes, route("r1", "default", ["web"]));
  await store.create(routes, route("r2", "default", ["web", "api"]));
  await store.create(routes, route("r3", "other", ["web"]));
  const informer = new Informer({
    store,
    type: routes,
    logger: silentLogger(),
    indexers: { namespace: namespaceIndex, parent: parentServices },
  });
  t.after(() => informer.stop());
  const names = (objects: KubeObject[]) => objects.map((o) => o.metadata.name).sort();
  const seen: string[] = [];
  informer.onEvent((e) => {
    // What a handler reads from the index already includes the event it is told about.
    seen.push(
      `${e.type} ${e.object.metadata.name}: ${names(informer.byIndex("parent", "default/web")).join(",")}`,
    );
  });
  await informer.start();
  assert.deepEqual(names(informer.byIndex("parent", "default/web")), ["r1", "r2"]);
  assert.deepEqual(names(informer.byIndex("parent", "default/api")), ["r2"]);
  assert.deepEqual(names(informer.byIndex("namespace", "other")), ["r3"]);
  assert.deepEqual(informer.byIndex("parent", "default/none"), []);
  assert.throws(() => informer.byIndex("owner", "x"), UnknownIndexError);

  const r1 = await store.get(routes, { namespace: "default", name: "r1" });
  await store.update(routes, { ...r1, spec: { parentRefs: [{ kind: "Service", name: "api" }] } });
  await store.delete(routes, { namespace: "default", name: "r2" });
  await until(() => seen.length === 5, `events ${seen.join("; ")}`);
  assert.deepEqual(seen.slice(3), ["MODIFIED r1: r2", "DELETED r2: "]);
  assert.deepEqual(names(informer.byIndex("parent", "default/api")), ["r1"]);
  assert.deepEqual(informer.byIndex("parent", "default/web"), []);
  assert.equal(informer.get("default/r2"), undefined);
  assert.equal(informer.get("other/r3")?.metadata.name, "r3");
});

test("MODIFIED events carry the object the cache held before", async (t) => {
  const store = createMemoryStore();
  await store.create(services, svc("a", 80));
  const informer = new Informer({ store, type: services, logger: silentLogger() });
  t.after(() => informer.stop());
  const changes: string[] = [];
  informer.onEvent((e) => {
    if (e.type === "MODIFIED")
      changes.push(`${JSON.stringify(e.oldObject.spec)} -> ${JSON.stringify(e.object.spec)}`);
  });
  await informer.start();
  const a = await store.get(services, { namespace: "default", name: "a" });
  await store.update(services, { ...a, spec: { ports: [{ port: 81 }] } });
  await until(() => changes.length === 1, "a MODIFIED event");
  assert.deepEqual(changes, ['{"ports":[{"port":80}]} -> {"ports":[{"port":81}]}']);
});
