// FieldsV1 parsing and writing, path printing and set algebra.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FieldSet, formatPath, keyElement, valueElement, type FieldPath } from "./fieldset.ts";
import type { JsonObject } from "./json.ts";

// A managedFields entry as a real API server writes it for `kubectl create` of a Service.
const kubectlCreate: JsonObject = {
  "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
  "f:spec": {
    "f:ports": {
      ".": {},
      'k:{"port":80,"protocol":"TCP"}': {
        ".": {},
        "f:name": {},
        "f:port": {},
        "f:protocol": {},
        "f:targetPort": {},
      },
      'k:{"port":443,"protocol":"TCP"}': { ".": {}, "f:port": {} },
    },
    "f:selector": {},
    "f:sessionAffinity": {},
    "f:type": {},
  },
};

test("FieldsV1 round-trips, members and children alike", () => {
  const set = FieldSet.fromFieldsV1(kubectlCreate);
  assert.equal(JSON.stringify(set.toFieldsV1()), JSON.stringify(kubectlCreate));
  assert.ok(set.has(["f:spec", "f:ports"]));
  assert.ok(set.has(["f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}', "f:targetPort"]));
  assert.ok(!set.has(["f:spec"]), "a node with children and no `.` is not a member");
});

test("FieldsV1 keys are put in canonical form and upstream order", () => {
  const set = FieldSet.fromFieldsV1({
    "v:2": {},
    'k:{"protocol":"UDP", "port":53}': {},
    "f:b": {},
    "i:1": {},
    'v:"a"': {},
    "f:a": {},
    "x:unknown": {},
  });
  assert.deepEqual(Object.keys(set.toFieldsV1()), [
    "f:a",
    "f:b",
    'k:{"port":53,"protocol":"UDP"}',
    "v:2",
    'v:"a"',
    "i:1",
  ]);
  assert.throws(() => FieldSet.fromFieldsV1({ "k:[1]": {} }), /invalid key element/);
  assert.throws(() => FieldSet.fromFieldsV1({ nonsense: {} }), /invalid path element/);
});

const paths: [FieldPath, string][] = [
  [
    ["f:spec", "f:ports", keyElement({ protocol: "TCP", port: 80 }), "f:targetPort"],
    '.spec.ports[port=80,protocol="TCP"].targetPort',
  ],
  [["f:metadata", "f:finalizers", valueElement("example.com/x")], '.metadata.finalizers[="example.com/x"]'],
  [["f:metadata", "f:ownerReferences", keyElement({ uid: "u1" })], '.metadata.ownerReferences[uid="u1"]'],
  [["f:a", "i:3"], ".a[3]"],
];

for (const [path, text] of paths) {
  test(`path prints as ${text}`, () => assert.equal(formatPath(path), text));
}

test("set algebra: union, intersection, difference, without", () => {
  const a = FieldSet.of([
    ["f:spec", "f:a"],
    ["f:spec", "f:b"],
    ["f:status", "f:x"],
  ]);
  const b = FieldSet.of([["f:spec", "f:b"], ["f:spec", "f:c"], ["f:spec"]]);
  assert.deepEqual(a.union(b).paths(), [
    ["f:spec"],
    ["f:spec", "f:a"],
    ["f:spec", "f:b"],
    ["f:spec", "f:c"],
    ["f:status", "f:x"],
  ]);
  assert.deepEqual(a.intersection(b).paths(), [["f:spec", "f:b"]]);
  assert.deepEqual(a.difference(b).paths(), [
    ["f:spec", "f:a"],
    ["f:status", "f:x"],
  ]);
  assert.deepEqual(
    b.difference(FieldSet.of([["f:spec"]])).paths(),
    [
      ["f:spec", "f:b"],
      ["f:spec", "f:c"],
    ],
    "children stay",
  );
  assert.deepEqual(a.without(["f:status"]).paths(), [
    ["f:spec", "f:a"],
    ["f:spec", "f:b"],
  ]);
  assert.ok(a.difference(a).isEmpty());
  assert.deepEqual(a.paths().length, 3, "operations do not change their operands");
});
