// Create, get, update and delete: identity, server-set metadata, optimistic concurrency, errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isStoreError } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import {
  meshConfig,
  meshConfigs,
  rejectsWith,
  route,
  routes,
  rv,
  service,
  services,
  withStore,
  type ConformanceBackend,
} from "./harness.ts";

const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function crudTests(backend: ConformanceBackend): void {
  test("create sets uid, creationTimestamp, generation 1 and a resourceVersion; get returns it", () =>
    withStore(backend, async (store) => {
      const before = Number(await store.currentResourceVersion());
      const created = await store.create(services, service("web"));
      assert.match(created.metadata.uid ?? "", uuidRe);
      assert.equal(created.metadata.creationTimestamp, "2025-01-02T03:04:05Z");
      assert.equal(created.metadata.generation, 1);
      assert.match(created.metadata.resourceVersion ?? "", /^[1-9][0-9]*$/);
      assert.ok(rv(created) > before);
      assert.equal(await store.currentResourceVersion(), created.metadata.resourceVersion);
      assert.deepEqual(await store.get(services, { namespace: "default", name: "web" }), created);
      const other = await store.create(services, service("api"));
      assert.notEqual(other.metadata.uid, created.metadata.uid);
    }));

  test("create drops status and replaces server-set metadata the client sent", () =>
    withStore(backend, async (store) => {
      const input = service("web", "default", undefined, { status: { loadBalancer: {} } });
      Object.assign(input.metadata, {
        uid: "client-uid",
        resourceVersion: "999999",
        generation: 7,
        creationTimestamp: "2000-01-01T00:00:00Z",
        deletionTimestamp: "2000-01-01T00:00:00Z",
      });
      const created = await store.create(services, input);
      assert.equal(created.status, undefined);
      assert.notEqual(created.metadata.uid, "client-uid");
      assert.equal(created.metadata.generation, 1);
      assert.equal(created.metadata.creationTimestamp, "2025-01-02T03:04:05Z");
      assert.equal(created.metadata.deletionTimestamp, undefined);
      assert.notEqual(created.metadata.resourceVersion, "999999");
      assert.deepEqual(created.spec, { ports: [{ port: 80 }] });
    }));

  test("the store keeps its own copy: changing inputs or results changes nothing stored", () =>
    withStore(backend, async (store) => {
      const input = service("web", "default", { app: "web" });
      const created = await store.create(services, input);
      (input.metadata.labels as Record<string, string>).app = "changed";
      (created.spec as { ports: unknown[] }).ports.push({ port: 81 });
      const stored = await store.get(services, { namespace: "default", name: "web" });
      assert.deepEqual(stored.metadata.labels, { app: "web" });
      assert.deepEqual(stored.spec, { ports: [{ port: 80 }] });
    }));

  test("create of an existing name fails with AlreadyExists", () =>
    withStore(backend, async (store) => {
      await store.create(services, service("web"));
      await rejectsWith(
        store.create(services, service("web")),
        "AlreadyExists",
        'services "web" already exists',
      );
      await store.create(services, service("web", "other"));
      await store.create(routes, route("web"));
      await rejectsWith(
        store.create(routes, route("web")),
        "AlreadyExists",
        'httproutes.gateway.networking.k8s.io "web" already exists',
      );
    }));

  test("a missing object is NotFound for get, update, updateStatus and delete", () =>
    withStore(backend, async (store) => {
      const message = 'services "nope" not found';
      const key = { namespace: "default", name: "nope" };
      await rejectsWith(store.get(services, key), "NotFound", message);
      await rejectsWith(store.update(services, service("nope")), "NotFound", message);
      await rejectsWith(store.updateStatus(services, service("nope")), "NotFound", message);
      await rejectsWith(store.delete(services, key), "NotFound", message);
      await rejectsWith(
        store.get(routes, key),
        "NotFound",
        'httproutes.gateway.networking.k8s.io "nope" not found',
      );
      await store.create(services, service("nope", "other"));
      await rejectsWith(store.get(services, key), "NotFound", message);
    }));

  const malformed: ReadonlyArray<readonly [string, () => KubeObject, string, typeof services?]> = [
    ["metadata missing", () => ({ apiVersion: "v1", kind: "Service" }) as unknown as KubeObject, "metadata"],
    ["name missing", () => ({ ...service("x"), metadata: { namespace: "default" } }), "metadata.name"],
    ["name with a slash", () => service("a/b"), "metadata.name"],
    ["name with a space", () => service("a b"), "metadata.name"],
    ["namespace missing", () => ({ ...service("x"), metadata: { name: "x" } }), "metadata.namespace"],
    ["namespace not a DNS label", () => service("x", "Bad_NS"), "metadata.namespace"],
    [
      "namespace on a cluster-scoped type",
      () => ({ ...meshConfig("x"), metadata: { name: "x", namespace: "default" } }),
      "metadata.namespace",
      meshConfigs,
    ],
    [
      "a label value that is not a string",
      () => service("x", "default", { app: 1 } as unknown as Record<string, string>),
      "metadata.labels[app]",
    ],
    ["a malformed label key", () => service("x", "default", { "-bad": "v" }), "metadata.labels"],
    [
      "a label value too long",
      () => service("x", "default", { app: "v".repeat(64) }),
      "metadata.labels[app]",
    ],
    [
      "finalizers not a list",
      () => ({
        ...service("x"),
        metadata: { name: "x", namespace: "default", finalizers: "f" as unknown as string[] },
      }),
      "metadata.finalizers",
    ],
    [
      "a resourceVersion that is not a number",
      () => ({ ...service("x"), metadata: { name: "x", namespace: "default", resourceVersion: "abc" } }),
      "metadata.resourceVersion",
    ],
    ["apiVersion of another group", () => ({ ...route("x"), apiVersion: "v1" }), "apiVersion", routes],
    ["kind missing", () => ({ ...service("x"), kind: "" }), "kind"],
  ];
  test("malformed metadata is Invalid, with the field named", () =>
    withStore(backend, async (store) => {
      for (const [what, make, field, type = services] of malformed) {
        await assert.rejects(store.create(type, make()), (error: unknown) => {
          assert.ok(isStoreError(error, "Invalid"), `${what}: ${String(error)}`);
          assert.ok(
            error.details.causes?.some((c) => c.field === field),
            `${what}: expected a cause on ${field}, got ${error.message}`,
          );
          return true;
        });
      }
      await rejectsWith(store.get(services, { name: "x" }), "Invalid", /metadata.namespace: Required value/);
      const list = await store.list(services);
      assert.equal(list.items.length, 0, "nothing malformed was stored");
    }));

  test("generateName makes a unique name", () =>
    withStore(backend, async (store) => {
      const input = { ...service(""), metadata: { generateName: "web-", namespace: "default" } };
      const a = await store.create(services, input);
      const b = await store.create(services, input);
      assert.match(a.metadata.name ?? "", /^web-[a-z0-9]{5}$/);
      assert.notEqual(a.metadata.name, b.metadata.name);
    }));

  test("cluster-scoped objects have no namespace", () =>
    withStore(backend, async (store) => {
      const created = await store.create(meshConfigs, meshConfig("mesh"));
      assert.equal(created.metadata.namespace, undefined);
      assert.deepEqual(await store.get(meshConfigs, { name: "mesh" }), created);
      await rejectsWith(store.list(meshConfigs, { namespace: "default" }), "Invalid");
      assert.deepEqual((await store.list(meshConfigs)).items, [created]);
    }));

  test("one resourceVersion sequence across all types, bumped by every write", () =>
    withStore(backend, async (store) => {
      const seen: number[] = [];
      const a = await store.create(services, service("a"));
      seen.push(rv(a));
      seen.push(rv(await store.create(routes, route("a"))));
      seen.push(rv(await store.create(meshConfigs, meshConfig("a"))));
      seen.push(rv(await store.update(services, { ...a, metadata: { ...a.metadata, labels: { x: "y" } } })));
      seen.push(
        rv(
          await store.updateStatus(services, {
            ...a,
            metadata: { ...a.metadata, resourceVersion: "" },
            status: { s: 1 },
          }),
        ),
      );
      seen.push(rv((await store.delete(routes, { namespace: "default", name: "a" })).object));
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `${seen.join(" < ")}`);
      assert.equal(Number(await store.currentResourceVersion()), seen.at(-1));
    }));

  test("update needs the stored resourceVersion, or none for an unconditional update", () =>
    withStore(backend, async (store) => {
      const created = await store.create(services, service("web"));
      const first = await store.update(services, { ...created, spec: { ports: [{ port: 81 }] } });
      assert.ok(rv(first) > rv(created));
      await rejectsWith(
        store.update(services, { ...created, spec: { ports: [{ port: 82 }] } }),
        "Conflict",
        'Operation cannot be fulfilled on services "web": the object has been modified; please apply your changes to the latest version and try again',
      );
      const unconditional = await store.update(services, {
        ...created,
        metadata: { ...created.metadata, resourceVersion: "" },
        spec: { ports: [{ port: 83 }] },
      });
      assert.deepEqual(unconditional.spec, { ports: [{ port: 83 }] });
      const { resourceVersion: _omit, ...withoutRv } = unconditional.metadata;
      const again = await store.update(services, {
        ...unconditional,
        metadata: withoutRv,
        spec: { ports: [{ port: 84 }] },
      });
      assert.ok(rv(again) > rv(unconditional));
      assert.deepEqual(await store.get(services, { namespace: "default", name: "web" }), again);
    }));

  test("generation moves only when something outside metadata and status changes", () =>
    withStore(backend, async (store) => {
      let current = await store.create(services, service("web"));
      const steps: ReadonlyArray<readonly [string, (o: KubeObject) => KubeObject, number]> = [
        ["label added", (o) => ({ ...o, metadata: { ...o.metadata, labels: { a: "b" } } }), 1],
        ["annotation added", (o) => ({ ...o, metadata: { ...o.metadata, annotations: { n: "v" } } }), 1],
        ["finalizer added", (o) => ({ ...o, metadata: { ...o.metadata, finalizers: ["x.dev/f"] } }), 1],
        ["spec changed", (o) => ({ ...o, spec: { ports: [{ port: 90 }] } }), 2],
        ["new top-level field", (o) => ({ ...o, extra: { a: 1 } }), 3],
        [
          "generation forged",
          (o) => ({ ...o, metadata: { ...o.metadata, generation: 99, labels: { a: "c" } } }),
          3,
        ],
      ];
      for (const [what, change, generation] of steps) {
        current = await store.update(services, change(current));
        assert.equal(current.metadata.generation, generation, what);
      }
      current = await store.updateStatus(services, { ...current, status: { ok: true } });
      assert.equal(current.metadata.generation, 3, "status update");
    }));

  test("an update that changes nothing writes nothing", () =>
    withStore(backend, async (store) => {
      const created = await store.create(services, service("web", "default", { a: "b" }));
      const same = await store.update(services, {
        ...created,
        metadata: { ...created.metadata, labels: { a: "b" } },
      });
      assert.equal(same.metadata.resourceVersion, created.metadata.resourceVersion);
      const statusOnly = await store.update(services, { ...created, status: { ignored: true } });
      assert.equal(statusOnly.metadata.resourceVersion, created.metadata.resourceVersion);
      assert.equal(await store.currentResourceVersion(), created.metadata.resourceVersion);
    }));

  test("update keeps server-managed metadata and refuses another object's uid", () =>
    withStore(backend, async (store) => {
      const created = await store.create(services, service("web"));
      const updated = await store.update(services, {
        ...created,
        metadata: {
          ...created.metadata,
          creationTimestamp: "2000-01-01T00:00:00Z",
          deletionTimestamp: "2000-01-01T00:00:00Z",
          labels: { a: "b" },
        },
      });
      assert.equal(updated.metadata.creationTimestamp, created.metadata.creationTimestamp);
      assert.equal(updated.metadata.deletionTimestamp, undefined);
      assert.equal(updated.metadata.uid, created.metadata.uid);
      await rejectsWith(
        store.update(services, { ...updated, metadata: { ...updated.metadata, uid: "someone-else" } }),
        "Conflict",
        /Precondition failed: UID in precondition: someone-else/,
      );
    }));

  test("delete without finalizers removes the object and returns its last state", () =>
    withStore(backend, async (store) => {
      const created = await store.create(services, service("web"));
      const result = await store.delete(services, { namespace: "default", name: "web" });
      assert.equal(result.deleted, true);
      assert.ok(rv(result.object) > rv(created));
      assert.deepEqual(result.object.spec, created.spec);
      assert.equal(result.object.metadata.uid, created.metadata.uid);
      await rejectsWith(store.get(services, { namespace: "default", name: "web" }), "NotFound");
      await store.create(services, service("web"));
    }));

  test("delete preconditions on uid and resourceVersion", () =>
    withStore(backend, async (store) => {
      const created = await store.create(services, service("web"));
      const key = { namespace: "default", name: "web" };
      const cases: ReadonlyArray<readonly [{ uid?: string; resourceVersion?: string }, RegExp]> = [
        [{ uid: "other" }, /Precondition failed: UID in precondition: other, UID in object meta: /],
        [
          { resourceVersion: "1" },
          /Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: /,
        ],
      ];
      for (const [preconditions, message] of cases) {
        await rejectsWith(store.delete(services, key, { preconditions }), "Conflict", message);
      }
      const result = await store.delete(services, key, {
        preconditions: {
          uid: created.metadata.uid ?? "",
          resourceVersion: created.metadata.resourceVersion ?? "",
        },
      });
      assert.equal(result.deleted, true);
    }));

  test("a closed store answers Unavailable", async () => {
    const store = await backend.open({ clock: { now: () => 0 } });
    await store.close();
    await rejectsWith(store.get(services, { namespace: "default", name: "x" }), "Unavailable");
    await rejectsWith(store.create(services, service("x")), "Unavailable");
    await rejectsWith(store.watch(services), "Unavailable");
    await store.close();
  });
}
