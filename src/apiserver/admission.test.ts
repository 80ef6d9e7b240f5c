// Binding a request body to its URL, defaults, and validation outcomes; the resource table's rules.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../store/index.ts";
import { applyDefaults, bindToTarget, generateName, validate } from "./admission.ts";
import type { ResourceTarget } from "./request.ts";
import { findResource, groupVersions, resources, versionRank, type ResourceDef } from "./resources.ts";
import { ApiError } from "./status.ts";

const routes = findResource("gateway.networking.k8s.io", "v1", "grpcroutes") as ResourceDef;
const namespaces = findResource("", "v1", "namespaces") as ResourceDef;
const target = (extra: Partial<ResourceTarget> = {}): ResourceTarget => ({
  def: routes,
  version: "v1",
  namespace: "team",
  ...extra,
});

const binds: [
  name: string,
  body: unknown,
  t: ResourceTarget,
  expected: { namespace?: string; name?: string } | RegExp,
][] = [
  ["namespace from the URL", { metadata: { name: "r" } }, target(), { namespace: "team", name: "r" }],
  [
    "same namespace",
    { metadata: { name: "r", namespace: "team" } },
    target(),
    { namespace: "team", name: "r" },
  ],
  [
    "other namespace",
    { metadata: { name: "r", namespace: "x" } },
    target(),
    /namespace of the provided object does not match/,
  ],
  [
    "name from the URL",
    { metadata: { creationTimestamp: null } },
    target({ name: "r" }),
    { namespace: "team", name: "r" },
  ],
  [
    "other name",
    { metadata: { name: "q" } },
    target({ name: "r" }),
    /name of the object \(q\) does not match the name on the URL \(r\)/,
  ],
  [
    "other version",
    { apiVersion: "gateway.networking.k8s.io/v1beta1", metadata: { name: "r" } },
    target(),
    /API version in the data/,
  ],
  ["other kind", { kind: "HTTPRoute", metadata: { name: "r" } }, target(), /kind in the data \(HTTPRoute\)/],
  ["not an object", [1], target(), /must be a JSON object/],
  [
    "cluster-scoped with a namespace",
    { metadata: { name: "n", namespace: "x" } },
    { def: namespaces, version: "v1" },
    /does not match/,
  ],
];

for (const [name, body, t, expected] of binds) {
  test(`bindToTarget: ${name}`, () => {
    if (expected instanceof RegExp) {
      assert.throws(
        () => bindToTarget(body, t),
        (e: unknown) => e instanceof ApiError && e.code === 400 && expected.test(e.message),
      );
      return;
    }
    const bound = bindToTarget(body, t);
    assert.equal(bound.metadata.namespace, expected.namespace);
    assert.equal(bound.metadata.name, expected.name);
    assert.equal(bound.kind, t.def.kind);
    assert.ok(!("creationTimestamp" in bound.metadata));
  });
}

test("generateName appends five characters; explicit names win", () => {
  const generated = generateName({ apiVersion: "v1", kind: "X", metadata: { generateName: "web-" } });
  assert.match(generated.metadata.name ?? "", /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  assert.equal(
    generateName({ apiVersion: "v1", kind: "X", metadata: { name: "a", generateName: "b-" } }).metadata.name,
    "a",
  );
});

test("validate stores in the storage version; namespaces are DNS labels", () => {
  const httproutes = findResource("gateway.networking.k8s.io", "v1beta1", "httproutes") as ResourceDef;
  const route = {
    apiVersion: "gateway.networking.k8s.io/v1beta1",
    kind: "HTTPRoute",
    metadata: { name: "h", namespace: "team" },
    spec: { parentRefs: [{ group: "", kind: "Service", name: "s" }] },
  } as KubeObject;
  assert.equal(validate(httproutes, route).apiVersion, "gateway.networking.k8s.io/v1");
  const ns = (name: string) =>
    applyDefaults(namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  assert.deepEqual(ns("ok").spec, { finalizers: ["kubernetes"] });
  assert.deepEqual(ns("ok").metadata.labels, { "kubernetes.io/metadata.name": "ok" });
  assert.doesNotThrow(() => validate(namespaces, ns("team-1")));
  assert.throws(
    () => validate(namespaces, ns("a.b")),
    (e: unknown) => e instanceof ApiError && e.code === 422 && /metadata.name/.test(e.message),
  );
});

test("the resource table: unique names per group, preferred versions first, short names unique", () => {
  const keys = resources.map((r) => `${r.group}/${r.plural}`);
  assert.equal(new Set(keys).size, keys.length);
  const shortNames = resources.flatMap((r) => r.shortNames);
  assert.equal(new Set(shortNames).size, shortNames.length);
  for (const def of resources) {
    assert.ok(def.versions.includes(def.storageVersion), def.plural);
    assert.equal(def.listKind, `${def.kind}List`);
    assert.equal(def.singular, def.kind.toLowerCase());
    assert.ok(
      !def.patchKinds.includes("strategic") || def.group === "" || def.group === "discovery.k8s.io",
      `${def.plural}: SMP only for built-ins`,
    );
  }
  assert.ok(
    versionRank("v1") < versionRank("v1beta1") &&
      versionRank("v1beta1") < versionRank("v1alpha1") &&
      versionRank("v2") < versionRank("v1"),
  );
  assert.deepEqual(
    groupVersions().map((gv) => `${gv.group}/${gv.version}`),
    [
      "/v1",
      "discovery.k8s.io/v1",
      "gateway.networking.k8s.io/v1",
      "gateway.networking.k8s.io/v1beta1",
      "meshplane.dev/v1alpha1",
      "events.k8s.io/v1",
    ],
  );
});
