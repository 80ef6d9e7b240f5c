// Unknown fields pruned against each kind's schema, and what fieldValidation makes of the problems.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  parseFieldValidation,
  pruneUnknownFields,
  reportFieldProblems,
  type FieldValidation,
} from "./fields.ts";
import { findResource, type ResourceDef } from "./resources.ts";
import { ApiError } from "./status.ts";

const def = (group: string, version: string, plural: string) =>
  findResource(group, version, plural) as ResourceDef;
const services = def("", "v1", "services");
const slices = def("discovery.k8s.io", "v1", "endpointslices");
const namespaces = def("", "v1", "namespaces");
const routes = def("gateway.networking.k8s.io", "v1", "grpcroutes");
const policies = def("meshplane.dev", "v1alpha1", "trafficpolicies");

const service = (spec: object, metadata: object = {}) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "s", ...metadata },
  spec: { ports: [{ port: 80 }], ...spec },
});

const cases: [name: string, kind: ResourceDef, object: unknown, unknown: string[], kept: unknown][] = [
  ["a Service's unknown spec field", services, service({ x0: [1, 2] }), ["spec.x0"], service({})],
  [
    "upstream Service fields are kept",
    services,
    service({
      sessionAffinity: "ClientIP",
      ipFamilies: ["IPv4"],
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } },
    }),
    [],
    service({
      sessionAffinity: "ClientIP",
      ipFamilies: ["IPv4"],
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } },
    }),
  ],
  [
    "a typo in a port, by index",
    services,
    service({ ports: [{ port: 80 }, { port: 81, nodePorts: 3 }] }),
    ["spec.ports[1].nodePorts"],
    service({ ports: [{ port: 80 }, { port: 81 }] }),
  ],
  [
    "unknown metadata, labels kept whatever their keys",
    services,
    service({}, { labels: { "a.b/c": "d" }, colour: "red" }),
    ["metadata.colour"],
    service({}, { labels: { "a.b/c": "d" } }),
  ],
  ["an unknown top-level field", services, { ...service({}), extra: {} }, ["extra"], service({})],
  [
    "an EndpointSlice endpoint's unknown field; hints kept",
    slices,
    {
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.0.0.1"], hints: { forZones: [{ name: "a" }] }, weight: 3 }],
    },
    ["endpoints[0].weight"],
    { addressType: "IPv4", endpoints: [{ addresses: ["10.0.0.1"], hints: { forZones: [{ name: "a" }] } }] },
  ],
  [
    "a Namespace's unknown spec and status fields",
    namespaces,
    { spec: { finalizers: ["kubernetes"], x: 1 }, status: { phase: "Active", y: 2 } },
    ["spec.x", "status.y"],
    { spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } },
  ],
  [
    "a route's unknown field; its free-form status kept whole",
    routes,
    { spec: { colour: "red", parentRefs: [{ name: "s", weight: 1 }] }, status: { anything: [1] } },
    ["spec.colour", "spec.parentRefs[0].weight"],
    { spec: { parentRefs: [{ name: "s" }] }, status: { anything: [1] } },
  ],
  [
    "a policy's unknown spec field",
    policies,
    { spec: { targetRefs: [], x: 1 } },
    ["spec.x"],
    { spec: { targetRefs: [] } },
  ],
  [
    "the key __proto__ is data, pruned like any other",
    services,
    JSON.parse('{"spec":{"ports":[{"port":80}],"__proto__":{"polluted":true}}}'),
    ["spec.__proto__"],
    { spec: { ports: [{ port: 80 }] } },
  ],
];

for (const [name, kind, object, unknown, kept] of cases) {
  test(`prune: ${name}`, () => {
    const before = structuredClone(object);
    const pruned = pruneUnknownFields(kind.schema, object);
    assert.deepEqual(pruned.unknown, unknown);
    assert.deepEqual(pruned.value, kept);
    assert.deepEqual(object, before, "the input is not changed");
    if (unknown.length === 0) assert.equal(pruned.value, object, "nothing removed: the same object");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
}

const problems = { unknown: ["spec.x0"], duplicates: ["metadata.name"] };
const modes: [FieldValidation, string[] | RegExp][] = [
  ["Strict", /^strict decoding error: unknown field "spec\.x0", duplicate field "metadata\.name"$/],
  ["Warn", ['unknown field "spec.x0"', 'duplicate field "metadata.name"']],
  ["Ignore", []],
];
for (const [mode, outcome] of modes) {
  test(`fieldValidation=${mode}`, () => {
    const warnings: string[] = [];
    if (outcome instanceof RegExp) {
      assert.throws(
        () => reportFieldProblems(problems, mode, warnings),
        (e: unknown) => e instanceof ApiError && e.code === 400 && outcome.test(e.message),
      );
    } else {
      reportFieldProblems(problems, mode, warnings);
      assert.deepEqual(warnings, outcome);
    }
  });
}

test("many problems: ten listed, the rest counted; long paths shortened", () => {
  const many = {
    unknown: Array.from({ length: 25 }, (_, i) => `spec.${"k".repeat(500)}${i}`),
    duplicates: [],
  };
  const warnings: string[] = [];
  reportFieldProblems(many, "Warn", warnings);
  assert.equal(warnings.length, 11);
  assert.equal(warnings[10], "15 more unknown or duplicate fields were dropped");
  assert.ok(warnings.every((w) => w.length < 200));
  assert.throws(() => reportFieldProblems(many, "Strict", []), /, and 15 more$/);
});

test("fieldValidation values: Warn by default, upstream's three spellings only", () => {
  assert.equal(parseFieldValidation(null), "Warn");
  assert.equal(parseFieldValidation(""), "Warn");
  assert.equal(parseFieldValidation("Strict"), "Strict");
  assert.throws(() => parseFieldValidation("strict"), /Unsupported value "strict"/);
  assert.throws(
    () => parseFieldValidation("x".repeat(10_000)),
    (e: unknown) => e instanceof ApiError && e.message.length < 300,
  );
});
