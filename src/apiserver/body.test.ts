// Request bodies: media types checked from the headers, reading within api.bodyBytes, decoding
// within the object limits.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { test } from "node:test";
import { LimitExceededError, defaultLimits, type ObjectLimits } from "../limits/index.ts";
import { decodeBody, hasBody, readBody, requireObjectMediaType, type BodyRole } from "./body.ts";
import { ApiError } from "./status.ts";

const small: ObjectLimits = {
  "object.bytes": 200,
  "object.nestingDepth": 4,
  "object.nodes": 30,
  "object.stringLength": 50,
};

const mediaTypes: [type: string | undefined, what: "object" | "DeleteOptions", ok: boolean][] = [
  ["application/json", "object", true],
  ["application/json; charset=utf-8", "object", true],
  ["application/yaml", "object", true],
  ["application/vnd.kubernetes.protobuf", "object", true],
  [undefined, "object", false],
  ["text/plain", "object", false],
  ["application/x-www-form-urlencoded", "object", false],
  ["application/apply-patch+yaml", "object", false],
  ["application/json", "DeleteOptions", true],
  ["application/vnd.kubernetes.protobuf", "DeleteOptions", false],
];
for (const [type, what, ok] of mediaTypes) {
  test(`${what} body as ${type ?? "no Content-Type"}: ${ok ? "accepted" : "415"}`, () => {
    const check = () => requireObjectMediaType(type, what);
    if (ok) assert.doesNotThrow(check);
    else assert.throws(check, (e: unknown) => e instanceof ApiError && e.code === 415);
  });
}

test("hasBody: a non-zero Content-Length or chunked", () => {
  assert.equal(hasBody({}), false);
  assert.equal(hasBody({ "content-length": "0" }), false);
  assert.equal(hasBody({ "content-length": "2" }), true);
  assert.equal(hasBody({ "transfer-encoding": "chunked" }), true);
});

type Outcome =
  { value: unknown; duplicateKeys?: string[] } | { status: number; message: RegExp } | { limit: string };
const decodes: [name: string, type: string, role: BodyRole, body: string | Buffer, outcome: Outcome][] = [
  ["JSON", "application/json", "object", '{"a":[1,"x"]}', { value: { a: [1, "x"] } }],
  [
    "JSON with a duplicate key",
    "application/json",
    "object",
    '{"a":1,"a":2}',
    { value: { a: 2 }, duplicateKeys: ["a"] },
  ],
  ["YAML", "application/yaml", "object", "a:\n  b: [1, 2]\n", { value: { a: { b: [1, 2] } } }],
  [
    "an apply body that is JSON",
    "application/apply-patch+yaml",
    "patch",
    '{"a": {"b": 1}}',
    { value: { a: { b: 1 } } },
  ],
  [
    "an apply body that only starts like JSON",
    "application/apply-patch+yaml",
    "patch",
    "{a: 1}\n",
    { value: { a: 1 } },
  ],
  ["a merge patch", "application/merge-patch+json", "patch", '{"a":null}', { value: { a: null } }],
  [
    "an empty object body",
    "application/json",
    "object",
    "  ",
    { status: 400, message: /^the request body is empty: expected a JSON object$/ },
  ],
  [
    "an empty patch",
    "application/merge-patch+json",
    "patch",
    "",
    { status: 400, message: /^error decoding patch: the patch is empty$/ },
  ],
  [
    "JSON syntax",
    "application/json",
    "object",
    "{",
    { status: 400, message: /^couldn't get version\/kind; json parse error: / },
  ],
  [
    "a patch's syntax",
    "application/json-patch+json",
    "patch",
    "[{",
    { status: 400, message: /^error decoding patch: / },
  ],
  ["YAML syntax", "application/yaml", "object", "a: [\n", { status: 400, message: /^error decoding YAML: / }],
  [
    "two YAML documents",
    "application/apply-patch+yaml",
    "patch",
    "a: 1\n---\nb: 2\n",
    { status: 400, message: /expected one YAML document, found 2/ },
  ],
  [
    "invalid UTF-8",
    "application/json",
    "object",
    Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
    { status: 400, message: /not valid UTF-8/ },
  ],
  [
    "a body in another media type",
    "application/cbor",
    "object",
    "{}",
    { status: 415, message: /unknown format/ },
  ],
  ["deep JSON", "application/json", "object", "[[[[[1]]]]]", { limit: "object.nestingDepth" }],
  [
    "a long string",
    "application/json",
    "object",
    `{"a":"${"x".repeat(51)}"}`,
    { limit: "object.stringLength" },
  ],
  ["many values", "application/json", "object", `[${"1,".repeat(40)}1]`, { limit: "object.nodes" }],
  [
    "a YAML alias bomb",
    "application/yaml",
    "object",
    "a: &a [x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a]\nc: [*b, *b]\n",
    { limit: "object.nodes" },
  ],
];
for (const [name, type, role, body, outcome] of decodes) {
  test(`decode ${name}`, () => {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const run = () => decodeBody(bytes, type, small, role);
    if ("value" in outcome) {
      assert.deepEqual(run(), { value: outcome.value, duplicateKeys: outcome.duplicateKeys ?? [] });
    } else if ("limit" in outcome) {
      assert.throws(run, (e: unknown) => e instanceof LimitExceededError && e.limit === outcome.limit);
    } else {
      assert.throws(
        run,
        (e: unknown) => e instanceof ApiError && e.code === outcome.status && outcome.message.test(e.message),
      );
    }
  });
}

test("a protobuf body is measured against the object limits once decoded", () => {
  const varint = (n: number) => (n < 128 ? [n] : [(n & 0x7f) | 0x80, n >> 7]);
  const field = (n: number, bytes: Buffer) => Buffer.from([(n << 3) | 2, ...varint(bytes.length), ...bytes]);
  const meta = field(1, Buffer.concat([field(1, Buffer.from("v1")), field(2, Buffer.from("Namespace"))]));
  const name = field(1, field(1, Buffer.from("n".repeat(300))));
  const body = Buffer.concat([Buffer.from("k8s\0"), meta, field(2, name)]);
  assert.throws(
    () =>
      decodeBody(
        body,
        "application/vnd.kubernetes.protobuf",
        { ...small, "object.stringLength": 1000 },
        "object",
      ),
    (e: unknown) => e instanceof LimitExceededError && e.limit === "object.bytes",
  );
});

/** An IncomingMessage stand-in: the headers and a body in chunks. */
function incoming(headers: Record<string, string>, chunks: Buffer[]): IncomingMessage {
  return Object.assign(Readable.from(chunks), { headers }) as unknown as IncomingMessage;
}

test("readBody: within the limit, the body; over it, 413 naming api.bodyBytes", async () => {
  const chunk = Buffer.alloc(400, "a");
  assert.equal((await readBody(incoming({}, [chunk, chunk]), 1000)).length, 800);
  const cases: [string, Record<string, string>, Buffer[], RegExp][] = [
    ["sent", {}, [chunk, chunk, chunk], /^the request body exceeds limit api\.bodyBytes of 1000 bytes;/],
    ["announced, drained", { "content-length": "1200" }, [chunk, chunk, chunk], /\(found 1200 bytes\)/],
    ["announced far over, refused unread", { "content-length": "1000000" }, [], /\(found 1000000 bytes\)/],
    ["sent far over", {}, Array(10).fill(chunk) as Buffer[], /api\.bodyBytes/],
  ];
  for (const [name, headers, chunks, message] of cases) {
    await assert.rejects(
      readBody(incoming(headers, chunks), 1000),
      (e: unknown) => e instanceof LimitExceededError && message.test(e.message),
      name,
    );
  }
});

test("the default limits decode a 1 MB object", () => {
  const big = JSON.stringify({ a: "x".repeat(200_000), b: Array.from({ length: 10_000 }, (_, i) => i) });
  assert.doesNotThrow(() => decodeBody(Buffer.from(big), "application/json", defaultLimits, "object"));
});
