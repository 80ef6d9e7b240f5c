// The config directory written into the store, and the store read back as configuration.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateResource, type Resource } from "../api/index.ts";
import { createMemoryStore, type KubeObject } from "../store/index.ts";
import { silentLogger } from "../telemetry/index.ts";
import { ConfigDirSync, managedByLabel } from "./dir-sync.ts";
import { storeWriter } from "./store-writer.ts";
import type { ObjectWriter } from "./dir-sync.ts";
import { StoreConfigSource } from "./store-source.ts";

const services = { group: "", resource: "services", namespaced: true };

function service(name: string, port = 80): Resource {
  const result = validateResource({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: { ports: [{ port }] },
  });
  if (!result.ok) throw new Error("invalid");
  return result.resource;
}

const state = (...resources: Resource[]) => ({ resources, errors: [], generation: 1 });

async function until(check: () => boolean, message: () => string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${message()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("the directory's objects are created, updated and pruned; foreign objects are left alone", async () => {
  const store = createMemoryStore();
  const sync = new ConfigDirSync({ writer: storeWriter(store), logger: silentLogger() });
  const byKubectl: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "manual", namespace: "default" },
    spec: { ports: [{ port: 1 }] },
  };
  await store.create(services, byKubectl);

  assert.deepEqual(await sync.sync(state(service("a"), service("b"))), {
    created: 2,
    updated: 0,
    deleted: 0,
    failed: [],
  });
  const a = await store.get(services, { namespace: "default", name: "a" });
  assert.equal(a.metadata.labels?.[managedByLabel], "meshplane-config-dir");

  assert.deepEqual(
    await sync.sync(state(service("a"), service("b"))),
    { created: 0, updated: 0, deleted: 0, failed: [] },
    "an unchanged directory writes nothing",
  );
  assert.deepEqual(await sync.sync(state(service("a", 81))), {
    created: 0,
    updated: 1,
    deleted: 1,
    failed: [],
  });
  const { items } = await store.list(services);
  assert.deepEqual(items.map((o) => o.metadata.name).sort(), ["a", "manual"]);
  assert.deepEqual((items.find((o) => o.metadata.name === "a")?.spec as { ports: unknown })?.ports, [
    { port: 81 },
  ]);
});

test("the store source follows writes and reports objects that do not validate", async (t) => {
  const store = createMemoryStore();
  await store.create(services, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "ok", namespace: "default" },
    spec: { ports: [{ port: 80 }] },
  });
  const source = new StoreConfigSource({ store, logger: silentLogger() });
  t.after(() => source.stop());
  const initial = await source.start();
  assert.deepEqual(
    initial.resources.map((r) => r.metadata.name),
    ["ok"],
  );

  await store.create(services, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "bad", namespace: "default" },
    spec: { ports: [{ port: 0 }] },
  });
  await until(
    () => source.current().errors.length === 1,
    () => JSON.stringify(source.current()),
  );
  assert.deepEqual(source.current().errors[0], {
    file: "",
    object: "Service default/bad",
    field: "spec.ports[0].port",
    message: "must be >= 1",
  });
  await store.delete(services, { namespace: "default", name: "bad" });
  await until(
    () => source.current().errors.length === 0,
    () => JSON.stringify(source.current()),
  );
  assert.equal(source.current().resources.length, 1);
});

test("the sync creates the namespaces the directory uses and writes only what changed", async () => {
  const calls: string[] = [];
  const writer: ObjectWriter = {
    apply: async (kind, object) => (
      calls.push(`apply ${kind.kind} ${object.metadata.namespace}/${object.metadata.name}`),
      "created"
    ),
    listManaged: async () => [],
    delete: async (kind, namespace, name) => void calls.push(`delete ${kind.kind} ${namespace}/${name}`),
    ensureNamespace: async (name) => void calls.push(`namespace ${name}`),
  };
  const sync = new ConfigDirSync({ writer, logger: silentLogger() });
  const inShop = (name: string, port = 80) => {
    const result = validateResource({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "shop" },
      spec: { ports: [{ port }] },
    });
    if (!result.ok) throw new Error("invalid");
    return result.resource;
  };
  await sync.sync(state(service("a"), inShop("b")));
  assert.deepEqual(calls.splice(0), [
    "namespace default",
    "namespace shop",
    "apply Service default/a",
    "apply Service shop/b",
  ]);
  await sync.sync(state(service("a"), inShop("b", 81), inShop("c")));
  assert.deepEqual(
    calls.splice(0),
    ["apply Service shop/b", "apply Service shop/c"],
    "unchanged objects are skipped",
  );
  await sync.sync(state(inShop("b", 81)));
  assert.deepEqual(
    calls.splice(0).sort(),
    ["delete Service default/a", "delete Service shop/c"],
    "removals by diff",
  );
});

test("a status-only write does not recompute the configuration; a label change does", async () => {
  const store = createMemoryStore();
  const created = await store.create(services, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "a", namespace: "default" },
    spec: { ports: [{ port: 80 }] },
  });
  const source = new StoreConfigSource({ store, logger: silentLogger() });
  const first = (await source.start()).generation;
  const generations: number[] = [];
  source.onChange((s) => generations.push(s.generation));
  const withStatus = await store.updateStatus(services, { ...created, status: { conditions: [] } });
  await store.update(services, { ...withStatus, metadata: { ...withStatus.metadata, labels: { x: "y" } } });
  await until(
    () => generations.length > 0,
    () => `a recompute after the label change: ${JSON.stringify(generations)}`,
  );
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(generations, [first + 1], "one recompute, for the label change only");
  await source.stop();
});

test("a bulk write is recomputed a bounded number of times, not once per object", async () => {
  const store = createMemoryStore();
  const source = new StoreConfigSource({ store, logger: silentLogger() });
  const first = (await source.start()).generation;
  let recomputes = 0;
  source.onChange(() => recomputes++);
  const objects = 2000;
  // Back to back, as a bulk apply's writes arrive: each one's event comes in its own microtask.
  for (let i = 0; i < objects; i++) {
    await store.create(services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: `s${i}`, namespace: "default" },
      spec: { ports: [{ port: 80 }] },
    });
  }
  await until(
    () => source.current().resources.length === objects,
    () => `${source.current().resources.length} of ${objects} objects`,
  );
  // Each recompute walks every object: one per write would make the bulk write quadratic.
  assert.ok(recomputes <= objects / 10, `${recomputes} recomputes for ${objects} writes`);
  assert.ok(source.current().generation > first);
  await source.stop();
});
