// RFC 7396: the examples of its Appendix A, and the bodies kubectl sends.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyMergePatch } from "./merge-patch.ts";
import type { JsonValue } from "./json.ts";

const cases: [name: string, target: JsonValue | undefined, patch: JsonValue, expected: JsonValue][] = [
  // RFC 7396 Appendix A, in order.
  ["A.1 replace a value", { a: "b" }, { a: "c" }, { a: "c" }],
  ["A.2 add a member", { a: "b" }, { b: "c" }, { a: "b", b: "c" }],
  ["A.3 null deletes", { a: "b" }, { a: null }, {}],
  ["A.4 null deletes one of two", { a: "b", b: "c" }, { a: null }, { b: "c" }],
  ["A.5 arrays replace", { a: ["b"] }, { a: "c" }, { a: "c" }],
  ["A.6 scalar replaced by array", { a: "c" }, { a: ["b"] }, { a: ["b"] }],
  ["A.7 nested merge", { a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
  ["A.8 arrays of objects replace", { a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
  ["A.9 array patch replaces the target", ["a", "b"], ["c", "d"], ["c", "d"]],
  ["A.10 object target replaced by array", { a: "b" }, ["c"], ["c"]],
  ["A.11 null patch", { a: "foo" }, null, null],
  ["A.12 string patch", { a: "foo" }, "bar", "bar"],
  ["A.13 null member of the target is kept", { e: null }, { a: 1 }, { e: null, a: 1 }],
  ["A.14 array target becomes an object", [1, 2], { a: "b", c: null }, { a: "b" }],
  ["A.15 nested nulls under a new member are dropped", {}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ["no target", undefined, { a: 1 }, { a: 1 }],
  // kubectl label / annotate / client-side apply of a custom resource.
  [
    "kubectl label --overwrite and removal",
    { metadata: { name: "r", labels: { a: "1", b: "2" } } },
    { metadata: { labels: { a: "3", b: null, c: "4" } } },
    { metadata: { name: "r", labels: { a: "3", c: "4" } } },
  ],
  [
    "kubectl apply of an HTTPRoute: rules are replaced wholesale",
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "r", annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" } },
      spec: {
        rules: [
          {
            backendRefs: [
              { name: "v1", port: 80, weight: 90 },
              { name: "v2", port: 80, weight: 10 },
            ],
          },
        ],
      },
    },
    {
      metadata: { annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"spec":{}}\n' } },
      spec: { rules: [{ backendRefs: [{ name: "v2", port: 80 }] }] },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: {
        name: "r",
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"spec":{}}\n' },
      },
      spec: { rules: [{ backendRefs: [{ name: "v2", port: 80 }] }] },
    },
  ],
];

for (const [name, target, patch, expected] of cases) {
  test(`merge patch: ${name}`, () => {
    const before = structuredClone(target);
    assert.deepEqual(applyMergePatch(target, patch), expected);
    assert.deepEqual(target, before, "the target is not changed");
  });
}

test("merge patch: the result shares nothing with the patch", () => {
  const patch = { a: { b: [1] } };
  const result = applyMergePatch({}, patch) as { a: { b: number[] } };
  result.a.b.push(2);
  assert.deepEqual(patch, { a: { b: [1] } });
});
