// RFC 6902 operations and RFC 6901 pointers; every failure names the operation index and path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyJsonPatch, decodeJsonPatch, formatPointer, parsePointer } from "./json-patch.ts";
import { isPatchError, type PatchErrorReason } from "./errors.ts";
import type { JsonValue } from "./json.ts";
import { LimitExceededError } from "../../limits/index.ts";

const service = () => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "greeter", labels: { app: "greeter", "app.kubernetes.io/name": "g" } },
  spec: { selector: { app: "greeter" }, ports: [{ name: "grpc", port: 50051, targetPort: 50051 }] },
});

const applies: [name: string, document: JsonValue, patch: JsonValue, expected: JsonValue][] = [
  [
    "kubectl patch --type=json: replace a port's targetPort",
    service(),
    [{ op: "replace", path: "/spec/ports/0/targetPort", value: 8080 }],
    { ...service(), spec: { ...service().spec, ports: [{ name: "grpc", port: 50051, targetPort: 8080 }] } },
  ],
  [
    "add appends with - and inserts at an index",
    { a: [1, 3] },
    [
      { op: "add", path: "/a/-", value: 4 },
      { op: "add", path: "/a/1", value: 2 },
      { op: "add", path: "/a/4", value: 5 },
    ],
    { a: [1, 2, 3, 4, 5] },
  ],
  [
    "add replaces an existing member; value null is a value",
    { a: 1 },
    [
      { op: "add", path: "/a", value: 2 },
      { op: "add", path: "/b", value: null },
    ],
    { a: 2, b: null },
  ],
  [
    "~1 and ~0 escape / and ~ in label keys",
    service(),
    [
      { op: "remove", path: "/metadata/labels/app.kubernetes.io~1name" },
      { op: "add", path: "/metadata/labels/a~0b", value: "x" },
    ],
    { ...service(), metadata: { name: "greeter", labels: { app: "greeter", "a~b": "x" } } },
  ],
  ["remove from an array shifts the rest", { a: [1, 2, 3] }, [{ op: "remove", path: "/a/0" }], { a: [2, 3] }],
  [
    "move and copy",
    { a: { b: 1 }, c: [] },
    [
      { op: "copy", from: "/a/b", path: "/c/-" },
      { op: "move", from: "/a", path: "/d" },
    ],
    { c: [1], d: { b: 1 } },
  ],
  ["move to itself is a no-op", { a: 1 }, [{ op: "move", from: "/a", path: "/a" }], { a: 1 }],
  [
    "test compares deeply, object key order aside",
    { a: { x: [1, { y: 2 }], z: true } },
    [{ op: "test", path: "/a", value: { z: true, x: [1, { y: 2 }] } }],
    { a: { x: [1, { y: 2 }], z: true } },
  ],
  ["replace the whole document", { a: 1 }, [{ op: "replace", path: "", value: { b: 2 } }], { b: 2 }],
  ["an empty patch changes nothing", { a: 1 }, [], { a: 1 }],
  [
    "the key __proto__ is data",
    {},
    [{ op: "add", path: "/__proto__", value: { x: 1 } }],
    JSON.parse('{"__proto__":{"x":1}}'),
  ],
];

for (const [name, document, patch, expected] of applies) {
  test(`json patch: ${name}`, () => {
    const before = structuredClone(document);
    assert.deepEqual(applyJsonPatch(document, patch), expected);
    assert.deepEqual(document, before, "the input is not changed");
  });
}

const failures: [
  name: string,
  document: JsonValue,
  patch: JsonValue,
  reason: PatchErrorReason,
  message: RegExp,
  operation?: number,
  path?: string,
][] = [
  ["not an array", {}, { op: "add" }, "BadRequest", /must be an array of operations, got object/],
  [
    "unknown op",
    {},
    [{ op: "frobnicate", path: "/a" }],
    "BadRequest",
    /operation 0: unknown op "frobnicate"/,
    0,
  ],
  [
    "missing value",
    {},
    [
      { op: "add", path: "/a", value: 1 },
      { op: "add", path: "/b" },
    ],
    "BadRequest",
    /operation 1: "add" needs a "value"/,
    1,
    "/b",
  ],
  [
    "missing from",
    {},
    [{ op: "move", path: "/a" }],
    "BadRequest",
    /operation 0: "move" needs a string "from"/,
    0,
  ],
  [
    "bad pointer",
    {},
    [{ op: "remove", path: "a/b" }],
    "BadRequest",
    /"path" "a\/b" is not a JSON pointer: must be empty or start with "\/"/,
  ],
  ["bad escape", {}, [{ op: "remove", path: "/a~2" }], "BadRequest", /"~" must be followed by 0 or 1/],
  [
    "replace of a missing member",
    service(),
    [
      { op: "test", path: "/kind", value: "Service" },
      { op: "replace", path: "/spec/clusterIP", value: "None" },
    ],
    "Invalid",
    /^json patch operation 1 \(replace "\/spec\/clusterIP"\): \/spec\/clusterIP does not exist$/,
    1,
    "/spec/clusterIP",
  ],
  [
    "remove of a missing member",
    { a: {} },
    [{ op: "remove", path: "/a/b" }],
    "Invalid",
    /operation 0 \(remove "\/a\/b"\): \/a\/b does not exist/,
    0,
    "/a/b",
  ],
  [
    "add under a missing parent",
    {},
    [{ op: "add", path: "/a/b", value: 1 }],
    "Invalid",
    /\/a does not exist/,
  ],
  [
    "index past the end",
    service(),
    [{ op: "replace", path: "/spec/ports/1", value: {} }],
    "Invalid",
    /index 1 is out of range \(array length 1\)/,
    0,
    "/spec/ports/1",
  ],
  [
    "add past the end",
    { a: [] },
    [{ op: "add", path: "/a/1", value: 1 }],
    "Invalid",
    /index 1 is out of range/,
  ],
  [
    "leading zero index",
    { a: [1] },
    [{ op: "remove", path: "/a/00" }],
    "Invalid",
    /"00" is not an array index/,
  ],
  [
    "- only when adding",
    { a: [1] },
    [{ op: "remove", path: "/a/-" }],
    "Invalid",
    /"-" is not an array index/,
  ],
  [
    "through a scalar",
    { a: 1 },
    [{ op: "add", path: "/a/b", value: 1 }],
    "Invalid",
    /\/a is number, not an object or array/,
  ],
  [
    "failed test",
    { a: 1 },
    [{ op: "test", path: "/a", value: 2 }],
    "Invalid",
    /operation 0 \(test "\/a"\): test failed/,
    0,
    "/a",
  ],
  [
    "test of a missing member",
    {},
    [{ op: "test", path: "/a", value: null }],
    "Invalid",
    /\/a does not exist/,
  ],
  [
    "move into its own child",
    { a: { b: {} } },
    [{ op: "move", from: "/a", path: "/a/b/c" }],
    "Invalid",
    /can not move \/a into its own child/,
  ],
  ["remove the root", { a: 1 }, [{ op: "remove", path: "" }], "Invalid", /whole document can not be removed/],
];

for (const [name, document, patch, reason, message, operation, path] of failures) {
  test(`json patch error: ${name}`, () => {
    assert.throws(
      () => applyJsonPatch(document, patch),
      (error: unknown) => {
        assert.ok(isPatchError(error), String(error));
        assert.equal(error.reason, reason);
        assert.match(error.message, message);
        if (operation !== undefined) assert.equal(error.operation, operation);
        if (path !== undefined) assert.equal(error.path, path);
        return true;
      },
    );
  });
}

test("json patch: a failing operation leaves nothing half-applied", () => {
  const document = { a: 1 };
  assert.throws(() =>
    applyJsonPatch(document, [
      { op: "replace", path: "/a", value: 2 },
      { op: "test", path: "/a", value: 3 },
    ]),
  );
  assert.deepEqual(document, { a: 1 });
});

test("json pointers round-trip", () => {
  for (const pointer of ["", "/", "/a~1b/~0c", "/spec/ports/0", "//x"]) {
    assert.equal(formatPointer(parsePointer(pointer)), pointer);
  }
  assert.deepEqual(parsePointer("/a~01"), ["a~1"]);
  assert.deepEqual(decodeJsonPatch([{ op: "copy", from: "/a", path: "/b", extra: true }]), [
    { op: "copy", path: "/b", from: "/a" },
  ]);
});

const limits = { "object.bytes": 1000, "api.patchOperations": 20 };
const doubling = (n: number) => [
  { op: "add", path: "/a", value: { x: "y".repeat(50) } },
  ...Array.from({ length: n }, (_, i) => ({ op: "copy", from: "/a", path: `/a/c${i}` })),
];
const bounded: [name: string, document: JsonValue, patch: JsonValue, limit: string, message: RegExp][] = [
  [
    "more operations than api.patchOperations",
    {},
    Array.from({ length: 21 }, () => ({ op: "test", path: "", value: {} })),
    "api.patchOperations",
    /^the number of operations in the JSON patch exceeds limit api\.patchOperations of 20 \(found 21\)/,
  ],
  [
    "copies that double the object",
    {},
    doubling(10),
    "object.bytes",
    /the object as patched by operation \d+ exceeds limit object\.bytes of 1000 bytes/,
  ],
  [
    "an add past the size",
    { a: "x".repeat(900) },
    [{ op: "add", path: "/b", value: "y".repeat(200) }],
    "object.bytes",
    /operation 0 exceeds limit object\.bytes/,
  ],
  [
    "copies and removes that keep the size but copy too much in all",
    { a: "x".repeat(300) },
    Array.from({ length: 8 }, (): JsonValue[] => [
      { op: "copy", from: "/a", path: "/b" },
      { op: "remove", path: "/b" },
    ]).flat(),
    "object.bytes",
    /the values copied by the JSON patch up to operation 6 exceeds limit object\.bytes/,
  ],
  [
    "a replaced whole document too large",
    {},
    [{ op: "replace", path: "", value: { a: "z".repeat(1200) } }],
    "object.bytes",
    /operation 0 exceeds/,
  ],
];
for (const [name, document, patch, limit, message] of bounded) {
  test(`json patch within limits: ${name}`, () => {
    assert.throws(
      () => applyJsonPatch(document, patch, limits),
      (error: unknown) =>
        error instanceof LimitExceededError && error.limit === limit && message.test(error.message),
    );
  });
}

test("json patch within limits: an object already over the size may still shrink; moves are not copies", () => {
  const over = { a: "x".repeat(1500), b: 1 };
  assert.deepEqual(applyJsonPatch(over, [{ op: "remove", path: "/a" }], limits), { b: 1 });
  assert.throws(
    () => applyJsonPatch(over, [{ op: "add", path: "/c", value: 1 }], limits),
    LimitExceededError,
  );
  const moves = Array.from({ length: 20 }, (_, i) => ({
    op: "move",
    from: i % 2 ? "/b" : "/a",
    path: i % 2 ? "/a" : "/b",
  }));
  assert.deepEqual(applyJsonPatch({ a: "y".repeat(900) }, moves, limits), { a: "y".repeat(900) });
});

test("json patch: 18 doublings of the default limits are refused in milliseconds", () => {
  const started = performance.now();
  assert.throws(
    () => applyJsonPatch({ a: { x: "y".repeat(1000) } }, doubling(18)),
    /object\.bytes of 1\.5 MiB/,
  );
  assert.ok(performance.now() - started < 200, `${Math.round(performance.now() - started)} ms`);
});
