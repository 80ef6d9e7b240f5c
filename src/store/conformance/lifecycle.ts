// Status subresource, finalizers and deletion, concurrent writers, and durability across reopen.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isStoreError } from "../errors.ts";
import {
  expectNothingBefore,
  fakeClock,
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

export function lifecycleTests(backend: ConformanceBackend): void {
  test("updateStatus changes only status; main updates keep the stored status", () =>
    withStore(backend, async (store) => {
      const created = await store.create(services, service("web", "default", { app: "web" }));
      const withStatus = await store.updateStatus(services, {
        ...created,
        metadata: { ...created.metadata, labels: { app: "ignored" } },
        spec: { ports: [{ port: 1 }] },
        status: { conditions: [{ type: "Accepted", status: "True" }] },
      });
      assert.ok(rv(withStatus) > rv(created));
      assert.deepEqual(withStatus.status, { conditions: [{ type: "Accepted", status: "True" }] });
      assert.deepEqual(withStatus.spec, created.spec, "spec is not written through status");
      assert.deepEqual(withStatus.metadata.labels, { app: "web" }, "labels are not written through status");
      assert.equal(withStatus.metadata.generation, 1);
      await rejectsWith(store.updateStatus(services, { ...created, status: { stale: true } }), "Conflict");

      const main = await store.update(services, {
        ...withStatus,
        spec: { ports: [{ port: 2 }] },
        status: { x: 1 },
      });
      assert.deepEqual(main.status, withStatus.status, "main update keeps the stored status");
      assert.deepEqual(main.spec, { ports: [{ port: 2 }] });

      const cleared = await store.updateStatus(services, { ...main, status: undefined });
      assert.equal(cleared.status, undefined);
      assert.deepEqual(await store.get(services, { namespace: "default", name: "web" }), cleared);
    }));

  test("finalizers: delete marks the object, emptying the finalizers deletes it", () =>
    withStore(backend, async (store, clock) => {
      const created = await store.create(services, {
        ...service("web"),
        metadata: { name: "web", namespace: "default", finalizers: ["meshplane.dev/cleanup", "other.dev/x"] },
      });
      const watch = await store.watch(services, { resourceVersion: created.metadata.resourceVersion });
      const key = { namespace: "default", name: "web" };
      clock.advance(60_000);

      const marked = await store.delete(services, key);
      assert.equal(marked.deleted, false);
      assert.equal(marked.object.metadata.deletionTimestamp, "2025-01-02T03:05:05Z");
      assert.equal(marked.object.metadata.deletionGracePeriodSeconds, 0);
      assert.ok(rv(marked.object) > rv(created));
      assert.deepEqual(await store.get(services, key), marked.object, "still there while finalizers remain");

      const again = await store.delete(services, key);
      assert.equal(again.deleted, false);
      assert.equal(
        again.object.metadata.resourceVersion,
        marked.object.metadata.resourceVersion,
        "no new write",
      );

      await rejectsWith(
        store.update(services, {
          ...marked.object,
          metadata: {
            ...marked.object.metadata,
            finalizers: ["meshplane.dev/cleanup", "other.dev/x", "new.dev/y"],
          },
        }),
        "Invalid",
        /no new finalizers can be added if the object is being deleted/,
      );
      const status = await store.updateStatus(services, {
        ...marked.object,
        status: { phase: "Terminating" },
      });
      const one = await store.update(services, {
        ...status,
        metadata: { ...status.metadata, finalizers: ["other.dev/x"], deletionTimestamp: undefined },
      });
      assert.equal(
        one.metadata.deletionTimestamp,
        marked.object.metadata.deletionTimestamp,
        "deletionTimestamp stays",
      );
      const gone = await store.update(services, { ...one, metadata: { ...one.metadata, finalizers: [] } });
      assert.ok(rv(gone) > rv(one));
      await rejectsWith(store.get(services, key), "NotFound");

      assert.deepEqual(await take(watch, 4), [
        `MODIFIED web@${rv(marked.object)}`,
        `MODIFIED web@${rv(status)}`,
        `MODIFIED web@${rv(one)}`,
        `DELETED web@${rv(gone)}`,
      ]);
      await expectNothingBefore(watch, () => store.create(services, service("marker")));
      watch.stop();
    }));

  test("concurrent updates from one resourceVersion: exactly one wins, the rest Conflict", () =>
    withStore(backend, async (store) => {
      const created = await store.create(services, service("web"));
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          store.update(services, { ...created, spec: { ports: [{ port: 100 + i }] } }),
        ),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r) => r.status === "rejected");
      assert.equal(won.length, 1);
      assert.ok(
        lost.every((r) => isStoreError(r.reason, "Conflict")),
        String(lost.map((r) => r.reason)),
      );
      const stored = await store.get(services, { namespace: "default", name: "web" });
      assert.deepEqual(stored, won[0]?.value);
    }));

  test("concurrent creates of one name: exactly one wins, the rest AlreadyExists", () =>
    withStore(backend, async (store) => {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => store.create(routes, route("r"))),
      );
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
      assert.ok(
        results.every((r) => r.status === "fulfilled" || isStoreError(r.reason, "AlreadyExists")),
        String(results),
      );
    }));

  test("concurrent unconditional updates all apply, each at its own resourceVersion", () =>
    withStore(backend, async (store) => {
      const created = await store.create(services, service("web"));
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          store.update(services, {
            ...created,
            metadata: { ...created.metadata, resourceVersion: "", labels: { n: String(i) } },
          }),
        ),
      );
      assert.equal(new Set(results.map(rv)).size, 6);
      const newest = results.reduce((a, b) => (rv(a) > rv(b) ? a : b));
      assert.deepEqual(await store.get(services, { namespace: "default", name: "web" }), newest);
    }));

  if (backend.reopen) {
    const reopen = backend.reopen.bind(backend);
    test("reopening keeps objects, the resourceVersion sequence and the watch history", async () => {
      const clock = fakeClock();
      let store = await backend.open({ clock });
      try {
        const a = await store.create(services, service("a", "default", { app: "a" }));
        const b = await store.create(routes, route("b"));
        const status = await store.updateStatus(services, { ...a, status: { ok: true } });
        const deleted = await store.delete(routes, { namespace: "default", name: "b" });
        const before = await store.currentResourceVersion();
        store = await reopen(store, { clock });
        assert.equal(await store.currentResourceVersion(), before);
        assert.deepEqual(await store.get(services, { namespace: "default", name: "a" }), status);
        await rejectsWith(store.get(routes, { namespace: "default", name: "b" }), "NotFound");
        const next = await store.create(services, service("c"));
        assert.ok(rv(next) > Number(before));
        const watch = await store.watch(routes, { resourceVersion: a.metadata.resourceVersion });
        assert.deepEqual(await take(watch, 2), [`ADDED b@${rv(b)}`, `DELETED b@${rv(deleted.object)}`]);
        watch.stop();
      } finally {
        await store.close();
      }
    });
  }
}
