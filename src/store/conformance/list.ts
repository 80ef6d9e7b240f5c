// List: namespaces, key order, label and field selectors, and pages consistent at one revision.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject, ListOptions, ResourceStore } from "../types.ts";
import { rejectsWith, service, services, withStore, type ConformanceBackend } from "./harness.ts";

const names = (items: readonly KubeObject[]) =>
  items.map((o) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name));

async function seed(store: ResourceStore): Promise<void> {
  const objects: ReadonlyArray<readonly [string, string, Record<string, string>]> = [
    ["web", "a", { app: "web", tier: "front", version: "3" }],
    ["api", "a", { app: "api", tier: "back" }],
    ["db", "a", { app: "db" }],
    ["web", "b", { app: "web", tier: "front", canary: "" }],
    ["cache", "b", {}],
    ["web", "a-b", { app: "web", version: "12" }],
  ];
  for (const [name, namespace, labels] of objects)
    await store.create(services, service(name, namespace, labels));
}

async function listAll(
  store: ResourceStore,
  options: ListOptions,
): Promise<{ items: KubeObject[]; pages: number; rvs: Set<string> }> {
  const items: KubeObject[] = [];
  const rvs = new Set<string>();
  let pages = 0;
  let token = options.continue;
  do {
    const page = await store.list(services, { ...options, continue: token });
    assert.ok(options.limit === undefined || page.items.length <= options.limit);
    items.push(...page.items);
    rvs.add(page.resourceVersion);
    token = page.continue;
    pages++;
  } while (token);
  return { items, pages, rvs };
}

export function listTests(backend: ConformanceBackend): void {
  test("lists one namespace or all, in key order (`namespace/name` as bytes), at the store's resourceVersion", () =>
    withStore(backend, async (store) => {
      await seed(store);
      const all = await store.list(services);
      assert.deepEqual(names(all.items), ["a-b/web", "a/api", "a/db", "a/web", "b/cache", "b/web"]);
      assert.equal(all.resourceVersion, await store.currentResourceVersion());
      assert.equal(all.continue, undefined);
      assert.deepEqual(names((await store.list(services, { namespace: "a" })).items), [
        "a/api",
        "a/db",
        "a/web",
      ]);
      assert.deepEqual(names((await store.list(services, { namespace: "zzz" })).items), []);
      for (const item of all.items) {
        assert.equal(item.apiVersion, "v1");
        assert.equal(item.kind, "Service");
        assert.match(item.metadata.resourceVersion ?? "", /^\d+$/);
      }
    }));

  const labelCases: ReadonlyArray<readonly [string, string[]]> = [
    ["", ["a-b/web", "a/api", "a/db", "a/web", "b/cache", "b/web"]],
    ["app=web", ["a-b/web", "a/web", "b/web"]],
    ["app==web", ["a-b/web", "a/web", "b/web"]],
    ["app!=web", ["a/api", "a/db", "b/cache"]],
    ["app in (api, db)", ["a/api", "a/db"]],
    ["app notin (web,api)", ["a/db", "b/cache"]],
    ["tier", ["a/api", "a/web", "b/web"]],
    ["!tier", ["a-b/web", "a/db", "b/cache"]],
    ["app=web,tier=front", ["a/web", "b/web"]],
    ["app=web, !tier", ["a-b/web"]],
    ["canary=", ["b/web"]],
    ["canary", ["b/web"]],
    ["version>5", ["a-b/web"]],
    ["version<5", ["a/web"]],
    ["app in (web),tier notin (back)", ["a-b/web", "a/web", "b/web"]],
    ["nothing=here", []],
  ];
  test("label selectors: equality and set-based", () =>
    withStore(backend, async (store) => {
      await seed(store);
      for (const [labelSelector, expected] of labelCases) {
        assert.deepEqual(
          names((await store.list(services, { labelSelector })).items),
          expected,
          labelSelector,
        );
      }
    }));

  const fieldCases: ReadonlyArray<readonly [string, string[]]> = [
    ["metadata.name=web", ["a-b/web", "a/web", "b/web"]],
    ["metadata.name==web", ["a-b/web", "a/web", "b/web"]],
    ["metadata.name!=web", ["a/api", "a/db", "b/cache"]],
    ["metadata.namespace=b", ["b/cache", "b/web"]],
    ["metadata.namespace!=a,metadata.name=web", ["a-b/web", "b/web"]],
    ["metadata.name=nope", []],
  ];
  test("field selectors on metadata.name and metadata.namespace", () =>
    withStore(backend, async (store) => {
      await seed(store);
      for (const [fieldSelector, expected] of fieldCases) {
        assert.deepEqual(
          names((await store.list(services, { fieldSelector })).items),
          expected,
          fieldSelector,
        );
      }
      const both = await store.list(services, {
        namespace: "a",
        labelSelector: "app",
        fieldSelector: "metadata.name!=db",
      });
      assert.deepEqual(names(both.items), ["a/api", "a/web"]);
    }));

  const invalidOptions: ReadonlyArray<readonly [string, ListOptions]> = [
    ["label selector without a key", { labelSelector: "=x" }],
    ["unclosed value set", { labelSelector: "a in (x" }],
    ["empty value set", { labelSelector: "a in ()" }],
    ["bad label value", { labelSelector: "a=b c" }],
    ["non-integer gt", { labelSelector: "a>x" }],
    ["unsupported field", { fieldSelector: "spec.type=ClusterIP" }],
    ["field selector without operator", { fieldSelector: "metadata.name" }],
    ["negative limit", { limit: -1 }],
    ["continue token not ours", { continue: "not-a-token" }],
    ["namespace not a DNS label", { namespace: "Bad" }],
  ];
  test("malformed selectors and options are Invalid", () =>
    withStore(backend, async (store) => {
      for (const [what, options] of invalidOptions) {
        await rejectsWith(store.list(services, options), "Invalid").catch((error: unknown) => {
          throw new Error(`${what}: ${String(error)}`);
        });
      }
    }));

  test("pages are consistent at the first page's resourceVersion while objects change", () =>
    withStore(backend, async (store) => {
      for (let i = 0; i < 8; i++) await store.create(services, service(`s${i}`, "default", { n: String(i) }));
      const snapshot = await store.list(services);
      const first = await store.list(services, { limit: 3 });
      assert.deepEqual(names(first.items), names(snapshot.items.slice(0, 3)));
      assert.ok(first.continue);
      // Between pages: delete an unread object, create one that sorts among the unread, change
      // another unread one, and delete one already read.
      await store.delete(services, { namespace: "default", name: "s4" });
      await store.create(services, service("s45", "default", { n: "new" }));
      const s6 = await store.get(services, { namespace: "default", name: "s6" });
      await store.update(services, { ...s6, metadata: { ...s6.metadata, labels: { n: "changed" } } });
      await store.delete(services, { namespace: "default", name: "s0" });
      const rest = await listAll(store, { limit: 3, continue: first.continue });
      assert.deepEqual(
        [...first.items, ...rest.items],
        snapshot.items,
        "the list as it was at the first page",
      );
      assert.deepEqual(rest.rvs, new Set([first.resourceVersion]));
      assert.equal(rest.pages, 2, "5 remaining items in pages of 3, no empty last page");

      const fresh = await listAll(store, { limit: 3 });
      assert.deepEqual(names(fresh.items), [
        "default/s1",
        "default/s2",
        "default/s3",
        "default/s45",
        "default/s5",
        "default/s6",
        "default/s7",
      ]);
      assert.deepEqual(fresh.items, (await store.list(services)).items);
    }));

  test("pages with selectors hold up to the limit of matching items", () =>
    withStore(backend, async (store) => {
      for (let i = 0; i < 12; i++) {
        await store.create(
          services,
          service(`s${String(i).padStart(2, "0")}`, i % 2 ? "odd" : "even", { even: String(i % 2 === 0) }),
        );
      }
      const result = await listAll(store, { limit: 2, labelSelector: "even=true" });
      assert.deepEqual(names(result.items), [
        "even/s00",
        "even/s02",
        "even/s04",
        "even/s06",
        "even/s08",
        "even/s10",
      ]);
      assert.equal(result.pages, 3);
      const ns = await listAll(store, { limit: 4, namespace: "odd", fieldSelector: "metadata.name!=s05" });
      assert.deepEqual(names(ns.items), ["odd/s01", "odd/s03", "odd/s07", "odd/s09", "odd/s11"]);
      const exact = await store.list(services, { limit: 6, labelSelector: "even=true" });
      assert.equal(exact.items.length, 6);
      assert.equal(exact.continue, undefined, "no continue when nothing more matches");
    }));

  test("a continue token older than the retained history is Expired", () =>
    withStore(
      backend,
      async (store) => {
        for (let i = 0; i < 4; i++) await store.create(services, service(`s${i}`));
        const first = await store.list(services, { limit: 2 });
        for (let i = 0; i < 10; i++) await store.create(services, service(`t${i}`));
        await rejectsWith(
          store.list(services, { limit: 2, continue: first.continue }),
          "Expired",
          /continue parameter is too old/,
        );
      },
      { historySize: 4 },
    ));
}
