// Watch: synthetic ADDED from "0", exact replay after a resourceVersion, Expired, scoping,
// selector transitions, and how a watch ends.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isStoreError } from "../errors.ts";
import type { KubeObject, ResourceStore, WatchOptions } from "../types.ts";
import {
  expectNothingBefore,
  meshConfig,
  meshConfigs,
  nextEvent,
  rejectsWith,
  route,
  routes,
  rv,
  service,
  services,
  take,
  withStore,
  type ConformanceBackend,
} from "./harness.ts";

/** A history of every kind of write to services, with the event each should produce. */
async function writeHistory(
  store: ResourceStore,
): Promise<{ start: KubeObject; events: string[]; rvs: number[] }> {
  const events: string[] = [];
  const rvs: number[] = [];
  const record = (type: string, object: KubeObject) => {
    events.push(`${type} ${object.metadata.name ?? "?"}@${rv(object)}`);
    rvs.push(rv(object));
    return object;
  };
  const start = await store.create(services, service("start"));
  const a = record("ADDED", await store.create(services, service("a")));
  await store.create(routes, route("a")); // another type: not in this history
  const b = record("ADDED", await store.create(services, service("b", "other")));
  const a2 = record("MODIFIED", await store.update(services, { ...a, spec: { ports: [{ port: 81 }] } }));
  record("MODIFIED", await store.updateStatus(services, { ...b, status: { ready: true } }));
  record("DELETED", (await store.delete(services, { namespace: "default", name: "a" })).object);
  record(
    "ADDED",
    await store.create(services, {
      ...service("c"),
      metadata: { name: "c", namespace: "default", finalizers: ["x.dev/f"] },
    }),
  );
  const c2 = record("MODIFIED", (await store.delete(services, { namespace: "default", name: "c" })).object);
  record("DELETED", await store.update(services, { ...c2, metadata: { ...c2.metadata, finalizers: [] } }));
  assert.ok(rv(a2) > rv(a));
  return { start, events, rvs };
}

export function watchTests(backend: ConformanceBackend): void {
  test('watch from "0" or unset: ADDED for every matching object, then live events', () =>
    withStore(backend, async (store) => {
      const a = await store.create(services, service("a"));
      const b = await store.create(services, service("b", "other"));
      await store.create(routes, route("r"));
      const expected = [`ADDED a@${rv(a)}`, `ADDED b@${rv(b)}`];
      for (const resourceVersion of ["0", undefined]) {
        const watch = await store.watch(services, { resourceVersion });
        assert.deepEqual((await take(watch, expected.length)).sort(), expected.sort());
        const c = await store.create(services, service(`c${resourceVersion ?? ""}`));
        const added = `ADDED ${c.metadata.name ?? ""}@${rv(c)}`;
        assert.deepEqual(await take(watch, 1), [added]);
        expected.push(added);
        watch.stop();
      }
      const scoped = await store.watch(services, { resourceVersion: "0", namespace: "other" });
      assert.deepEqual(await take(scoped, 1), [`ADDED b@${rv(b)}`]);
      await expectNothingBefore(scoped, () => store.create(services, service("marker", "other")));
      scoped.stop();
    }));

  test("watch from a resourceVersion delivers exactly the events after it, in order", () =>
    withStore(backend, async (store) => {
      const { start, events, rvs } = await writeHistory(store);
      const from = [rv(start), ...rvs];
      const watches = [];
      for (let i = 0; i < from.length; i++) {
        const watch = await store.watch(services, { resourceVersion: String(from[i]) });
        assert.deepEqual(await take(watch, events.length - i), events.slice(i), `from ${from[i]}`);
        watches.push(watch);
      }
      const marker = await store.create(services, service("marker"));
      for (const watch of watches) {
        assert.deepEqual(await take(watch, 1), [`ADDED marker@${rv(marker)}`], "nothing else before");
        watch.stop();
      }
    }));

  test("events carry the object at their resourceVersion; DELETED carries the last state", () =>
    withStore(backend, async (store) => {
      const watch = await store.watch(services, { resourceVersion: await store.currentResourceVersion() });
      const created = await store.create(services, service("web", "default", { app: "web" }));
      const updated = await store.update(services, { ...created, spec: { ports: [{ port: 90 }] } });
      const deleted = await store.delete(services, { namespace: "default", name: "web" });
      const events = [await nextEvent(watch), await nextEvent(watch), await nextEvent(watch)];
      assert.deepEqual(
        events.map((e) => e.type),
        ["ADDED", "MODIFIED", "DELETED"],
      );
      assert.deepEqual(events[0]?.object, created);
      assert.deepEqual(events[1]?.object, updated);
      assert.deepEqual(events[2]?.object, deleted.object);
      assert.deepEqual(events[2]?.object.spec, { ports: [{ port: 90 }] });
      assert.ok(Object.isFrozen(events[0]?.object), "event objects are shared and frozen");
      watch.stop();
    }));

  test("a watch sees only its type and namespace", () =>
    withStore(backend, async (store) => {
      const from = await store.currentResourceVersion();
      const all = await store.watch(services, { resourceVersion: from });
      const inA = await store.watch(services, { resourceVersion: from, namespace: "a" });
      const cluster = await store.watch(meshConfigs, { resourceVersion: from });
      await store.create(routes, route("x", "a"));
      const b = await store.create(services, service("x", "b"));
      const a = await store.create(services, service("x", "a"));
      const m = await store.create(meshConfigs, meshConfig("m"));
      assert.deepEqual(await take(all, 2), [`ADDED x@${rv(b)}`, `ADDED x@${rv(a)}`]);
      assert.deepEqual(await take(inA, 1), [`ADDED x@${rv(a)}`]);
      assert.deepEqual(await take(cluster, 1), [`ADDED m@${rv(m)}`]);
      await expectNothingBefore(inA, () => store.create(services, service("y", "a")));
      for (const w of [all, inA, cluster]) w.stop();
    }));

  test("selector transitions: starting to match is ADDED, stopping is DELETED (live and replayed)", () =>
    withStore(backend, async (store) => {
      const from = await store.currentResourceVersion();
      const options: WatchOptions = { resourceVersion: from, labelSelector: "app=web" };
      const live = await store.watch(services, options);
      const relabel = (o: KubeObject, app: string) =>
        store.update(services, { ...o, metadata: { ...o.metadata, labels: { app } } });
      const created = await store.create(services, service("x", "default", { app: "db" }));
      const toWeb = await relabel(created, "web");
      const edited = await store.update(services, { ...toWeb, spec: { ports: [{ port: 1 }] } });
      const toDb = await relabel(edited, "db");
      const back = await relabel(toDb, "web");
      const gone = await store.delete(services, { namespace: "default", name: "x" });
      const expected = [
        `ADDED x@${rv(toWeb)}`,
        `MODIFIED x@${rv(edited)}`,
        `DELETED x@${rv(toDb)}`,
        `ADDED x@${rv(back)}`,
        `DELETED x@${rv(gone.object)}`,
      ];
      const events = [];
      for (let i = 0; i < expected.length; i++) events.push(await nextEvent(live));
      assert.deepEqual(
        events.map((e) => `${e.type} x@${rv(e.object)}`),
        expected,
      );
      // Stopping to match reports the last matching content at the event's resourceVersion.
      assert.deepEqual(events[2]?.object.metadata.labels, { app: "web" });
      assert.deepEqual(events[2]?.object.spec, { ports: [{ port: 1 }] });
      const replay = await store.watch(services, options);
      assert.deepEqual(await take(replay, expected.length), expected);
      for (const w of [live, replay]) w.stop();
    }));

  test("a field selector on metadata.name follows one object (kubectl get NAME -w)", () =>
    withStore(backend, async (store) => {
      await store.create(services, service("other"));
      const web = await store.create(services, service("web"));
      const watch = await store.watch(services, { namespace: "default", fieldSelector: "metadata.name=web" });
      assert.deepEqual(await take(watch, 1), [`ADDED web@${rv(web)}`]);
      await store.create(services, service("third"));
      const status = await store.updateStatus(services, { ...web, status: { s: 1 } });
      assert.deepEqual(await take(watch, 1), [`MODIFIED web@${rv(status)}`]);
      watch.stop();
    }));

  test("a resourceVersion older than the retained history is Expired", () =>
    withStore(
      backend,
      async (store) => {
        const first = await store.create(services, service("s0"));
        for (let i = 1; i < 12; i++) await store.create(services, service(`s${i}`));
        await rejectsWith(
          store.watch(services, { resourceVersion: first.metadata.resourceVersion }),
          "Expired",
          new RegExp(`^too old resource version: ${first.metadata.resourceVersion}`),
        );
        const recent = await store.watch(services, { resourceVersion: await store.currentResourceVersion() });
        await expectNothingBefore(recent, () => store.create(services, service("later")));
        recent.stop();
      },
      { historySize: 4 },
    ));

  test("a watch from a resourceVersion not yet reached waits for it", () =>
    withStore(backend, async (store) => {
      const now = Number(await store.currentResourceVersion());
      const watch = await store.watch(services, { resourceVersion: String(now + 1) });
      await store.create(services, service("skipped"));
      await expectNothingBefore(watch, () => store.create(services, service("seen")));
      watch.stop();
    }));

  test("stop ends the iteration; close ends every watch; bad resourceVersions are Invalid", () =>
    withStore(backend, async (store) => {
      await rejectsWith(store.watch(services, { resourceVersion: "abc" }), "Invalid");
      await rejectsWith(store.watch(services, { labelSelector: "a in (" }), "Invalid");
      const stopped = await store.watch(services);
      const pending = stopped[Symbol.asyncIterator]().next();
      stopped.stop();
      assert.deepEqual(await pending, { value: undefined, done: true });
      const viaBreak = await store.watch(services);
      await store.create(services, service("a"));
      for await (const event of viaBreak) {
        assert.equal(event.type, "ADDED");
        break;
      }
      const open = await store.watch(services, { resourceVersion: await store.currentResourceVersion() });
      const iterator = open[Symbol.asyncIterator]();
      const waiting = iterator.next();
      await store.close();
      const result = await waiting.catch((error: unknown) => error);
      assert.ok(
        (typeof result === "object" && result !== null && "done" in result && result.done === true) ||
          isStoreError(result, "Unavailable"),
        `closing ends the watch: ${String(result)}`,
      );
    }));
}
