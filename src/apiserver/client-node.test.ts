// @kubernetes/client-node against the API server: an informer over grpcroutes sees add, update and
// delete, and recovers after a 410 Expired by relisting (spec-notes §2). Expired is forced with a
// tiny memory-store history: the test ends the informer's watch, holds its reconnect until more
// writes than the history keeps have happened, then lets it through.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { createMemoryStore, isStoreError, type ResourceStore, type Watch } from "../store/index.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { grpcRoute, routesPath, service, servicesPath, startTestServer } from "./testing.ts";

/** Delegates to `inner`; route watches can be ended and their restarts held at a gate. */
function gatedStore(inner: ResourceStore) {
  let gate: Promise<void> = Promise.resolve();
  let open: (() => void) | undefined;
  const routeWatches = new Set<Watch>();
  const watchCalls: (string | undefined)[] = [];
  const expired: (string | undefined)[] = [];
  const store: ResourceStore = {
    get: (type, key) => inner.get(type, key),
    list: (type, options) => inner.list(type, options),
    create: (type, object) => inner.create(type, object),
    update: (type, object) => inner.update(type, object),
    updateStatus: (type, object) => inner.updateStatus(type, object),
    delete: (type, key, options) => inner.delete(type, key, options),
    currentResourceVersion: () => inner.currentResourceVersion(),
    close: () => inner.close(),
    async watch(type, options) {
      if (type.resource !== "grpcroutes") return inner.watch(type, options);
      watchCalls.push(options?.resourceVersion);
      await gate;
      const watch = await inner.watch(type, options).catch((error: unknown) => {
        if (isStoreError(error, "Expired")) expired.push(options?.resourceVersion);
        throw error;
      });
      routeWatches.add(watch);
      return watch;
    },
  };
  return {
    store,
    watchCalls,
    expired,
    /** Ends the running route watches; their restarts wait until release(). */
    hold() {
      gate = new Promise((resolve) => (open = resolve));
      for (const watch of routeWatches) watch.stop();
      routeWatches.clear();
    },
    release() {
      open?.();
    },
  };
}

async function until(what: string, condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("a client-node informer over grpcroutes: add, update, delete, and relist after Expired", async (t) => {
  const gated = gatedStore(createMemoryStore({ historySize: 4 }));
  // Keepalive newlines every 100 ms: the informer must skip them.
  const api = await startTestServer({ store: gated.store, watch: { keepaliveMs: 100 } });
  t.after(() => api.close());
  await api.request("POST", routesPath, { body: grpcRoute("before") });

  const kc = new k8s.KubeConfig();
  kc.loadFromString(writeKubeconfig({ server: api.url }));
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const list = () =>
    custom.listNamespacedCustomObject({
      group: "gateway.networking.k8s.io",
      version: "v1",
      namespace: "default",
      plural: "grpcroutes",
    }) as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>;
  const informer = k8s.makeInformer(kc, routesPath, list);
  const seen: string[] = [];
  const errors: unknown[] = [];
  const record = (verb: string) => (o: k8s.KubernetesObject) =>
    seen.push(`${verb} ${o.metadata?.name ?? "?"}`);
  informer.on("add", record("add"));
  informer.on("update", record("update"));
  informer.on("delete", record("delete"));
  informer.on("error", (e: unknown) => errors.push(e));
  await informer.start();
  t.after(() => informer.stop());

  await until("the listed route", () => seen.includes("add before"));
  await until("the watch", () => gated.watchCalls.length > 0);

  await api.request("POST", routesPath, { body: grpcRoute("live") });
  await until("a live add", () => seen.includes("add live"));
  const live = (await api.request("GET", `${routesPath}/live`)).json;
  await api.request("PUT", `${routesPath}/live`, {
    body: { ...live, spec: { ...live.spec, hostnames: ["x.example"] } },
  });
  await until("an update", () => seen.includes("update live"));
  await api.request("DELETE", `${routesPath}/live`);
  await until("a delete", () => seen.includes("delete live"));
  assert.deepEqual(
    informer.list("default").map((o) => o.metadata?.name),
    ["before"],
  );

  // Expired: end the watch, change routes and push the history past the informer's resourceVersion.
  const watchesBefore = gated.watchCalls.length;
  gated.hold();
  await until("the reconnect", () => gated.watchCalls.length > watchesBefore);
  const staleRv = gated.watchCalls.at(-1);
  assert.match(staleRv ?? "", /^\d+$/);
  await api.request("DELETE", `${routesPath}/before`);
  await api.request("POST", routesPath, { body: grpcRoute("after") });
  for (let i = 0; i < 5; i++) await api.request("POST", servicesPath, { body: service(`filler-${i}`) });
  seen.length = 0;
  gated.release();

  await until("the relist after Expired", () => seen.includes("delete before") && seen.includes("add after"));
  assert.deepEqual(gated.expired, [staleRv], "the held watch restarted from a compacted resourceVersion");
  assert.deepEqual(
    informer.list("default").map((o) => o.metadata?.name),
    ["after"],
  );
  // The relist restarted the watch from the new list's resourceVersion, not the stale one.
  await until("a fresh watch", () => gated.watchCalls.slice(watchesBefore + 1).some((rv) => rv !== staleRv));
  await api.request("POST", routesPath, { body: grpcRoute("later") });
  await until("events after recovery", () => seen.includes("add later"));
  assert.deepEqual(errors, []);
});
