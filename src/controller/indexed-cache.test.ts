import { test } from "node:test";
import assert from "node:assert/strict";
import type { KubeObject } from "../store/index.ts";
import { IndexedCache, UnknownIndexError, namespaceIndex } from "./indexed-cache.ts";

const object = (
  namespace: string | undefined,
  name: string,
  labels: Record<string, string> = {},
): KubeObject => ({
  apiVersion: "v1",
  kind: "Thing",
  metadata: { name, ...(namespace ? { namespace } : {}), labels },
});
const byLabelValues = (o: KubeObject) => Object.values(o.metadata.labels ?? {});

test("objects are filed under every value their index function returns, once each", () => {
  const cache = new IndexedCache({ namespace: namespaceIndex, label: byLabelValues });
  cache.set("a/x", object("a", "x", { tier: "web", app: "web" }));
  cache.set("b/y", object("b", "y", { tier: "web" }));
  cache.set("z", object(undefined, "z", { tier: "db" }));
  const names = (objects: KubeObject[]) => objects.map((o) => o.metadata.name).sort();
  assert.deepEqual(names(cache.byIndex("label", "web")), ["x", "y"]);
  assert.deepEqual(names(cache.byIndex("namespace", "a")), ["x"]);
  assert.deepEqual(cache.byIndex("namespace", ""), [], "cluster-scoped objects have no namespace entry");
  assert.deepEqual(names(cache.list()), ["x", "y", "z"]);
});

test("set refiles, delete unfiles, and both return the previous object", () => {
  const cache = new IndexedCache({ label: byLabelValues });
  const first = object("a", "x", { tier: "web" });
  assert.equal(cache.set("a/x", first), undefined);
  assert.equal(cache.set("a/x", object("a", "x", { tier: "db" })), first);
  assert.deepEqual(cache.byIndex("label", "web"), []);
  assert.equal(cache.byIndex("label", "db").length, 1);
  assert.equal(cache.delete("a/x")?.metadata.labels?.tier, "db");
  assert.deepEqual(cache.byIndex("label", "db"), []);
  assert.equal(cache.delete("a/x"), undefined);
  assert.equal(cache.get("a/x"), undefined);
});

test("an index never declared is an error, not an empty answer", () => {
  assert.throws(() => new IndexedCache().byIndex("namespace", "a"), UnknownIndexError);
});
