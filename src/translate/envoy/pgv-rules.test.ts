// Every rule kind the validator claims to handle, on small synthetic descriptors: a message T with
// one field `v` of the type under test carrying the rules under test. Envoy's own descriptors use
// only some kinds (pgv.test.ts); these cases pin down the rest.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, type DescMessage } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { FieldRulesSchema, KnownRegex } from "../../gen/validate/validate_pb.js";
import { inspectEnvoyMessage } from "./pgv.ts";
import { compileRules, handledRules } from "./pgv-rules.ts";
import { syntheticSchema as schemaOf, type Rules, type ScalarFieldType, type Spec } from "./pgv-synthetic.ts";

const json = (value: unknown) =>
  JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
const typed = (kind: string, value: object): Rules => ({ type: { case: kind, value } }) as Rules;
const str = (value: object): Rules => typed("string", value);

interface Case {
  readonly name: string;
  readonly spec: Spec;
  readonly rules: Rules;
  /** The field's value; undefined leaves it unset. */
  readonly value?: unknown;
  /** Violations as "path rule". */
  readonly want: readonly string[];
  readonly now?: Date;
}

const cases: Case[] = [];
const add = (spec: Spec, rules: Rules, rows: [name: string, value: unknown, want: string[]][]) => {
  for (const [name, value, want] of rows) cases.push({ name, spec, rules, value, want });
};

// Numbers: every numeric type, every ordered rule, inside ranges and excluded windows.
for (const type of ["double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64"].concat([
  "fixed32",
  "fixed64",
  "sfixed32",
  "sfixed64",
]) as ScalarFieldType[]) {
  const n = (x: number) => (type.endsWith("64") && type !== "double" ? BigInt(x) : x);
  const spec = { type };
  add(spec, typed(type, { const: n(5) }), [
    [`${type} const ok`, n(5), []],
    [`${type} const`, n(4), [`v ${type}.const`]],
  ]);
  add(spec, typed(type, { lt: n(10) }), [
    [`${type} lt`, n(10), [`v ${type}.lt`]],
    [`${type} lt ok`, n(9), []],
  ]);
  add(spec, typed(type, { lte: n(10) }), [
    [`${type} lte`, n(11), [`v ${type}.lte`]],
    [`${type} lte ok`, n(10), []],
  ]);
  add(spec, typed(type, { gt: n(1) }), [
    [`${type} gt`, n(1), [`v ${type}.gt`]],
    [`${type} gt on the zero value`, undefined, [`v ${type}.gt`]],
    [`${type} gt ok`, n(2), []],
  ]);
  add(spec, typed(type, { gte: n(2) }), [
    [`${type} gte`, n(1), [`v ${type}.gte`]],
    [`${type} gte ok`, n(2), []],
  ]);
  add(spec, typed(type, { in: [n(1), n(2)] }), [
    [`${type} in`, n(3), [`v ${type}.in`]],
    [`${type} in ok`, n(2), []],
  ]);
  add(spec, typed(type, { notIn: [n(3)] }), [
    [`${type} not_in`, n(3), [`v ${type}.not_in`]],
    [`${type} not_in ok`, n(2), []],
  ]);
  add(spec, typed(type, { gt: n(1), lt: n(5) }), [
    [`${type} (1, 5) above`, n(5), [`v ${type}.lt`]],
    [`${type} (1, 5) below`, n(1), [`v ${type}.gt`]],
    [`${type} (1, 5) inside`, n(3), []],
  ]);
  add(spec, typed(type, { lt: n(2), gt: n(4) }), [
    [`${type} outside [2, 4]`, n(3), [`v ${type}.outside_closed`]],
    [`${type} outside [2, 4] at 2`, n(2), [`v ${type}.outside_closed`]],
    [`${type} outside [2, 4] ok`, n(5), []],
  ]);
  add(spec, typed(type, { lte: n(2), gte: n(4) }), [
    [`${type} outside (2, 4)`, n(3), [`v ${type}.outside_open`]],
    [`${type} outside (2, 4) at 2`, n(2), []],
  ]);
  add(spec, typed(type, { lt: n(2), gte: n(4) }), [
    [`${type} outside [2, 4)`, n(2), [`v ${type}.outside_include_left`]],
  ]);
  add(spec, typed(type, { lte: n(2), gt: n(4) }), [
    [`${type} outside (2, 4]`, n(4), [`v ${type}.outside_include_right`]],
  ]);
}
add({ type: "double" }, typed("double", { gt: 0 }), [["NaN breaks no bound (as in PGV)", NaN, []]]);

// Presence: implicit scalars are checked at zero, oneof members and `optional` only when set.
add({ type: "uint32", optional: true }, typed("uint32", { gte: 1 }), [
  ["optional unset", undefined, []],
  ["optional set to 0", 0, ["v uint32.gte"]],
]);
add({ type: "string", oneof: "plain" }, str({ minLen: 1n }), [["oneof member not chosen", undefined, []]]);
cases.push({
  name: "oneof member chosen",
  spec: { type: "string", oneof: "plain" },
  rules: str({ minLen: 1n }),
  value: { o: { case: "v", value: "" } },
  want: ["v string.min_len"],
});
add({ type: "string", oneof: "required" }, {}, [["oneof.required", undefined, ["o oneof.required"]]]);
cases.push({
  name: "oneof.required satisfied",
  spec: { type: "string", oneof: "required" },
  rules: {},
  value: { o: { case: "w", value: "x" } },
  want: [],
});
add({ type: "string", disabled: true }, str({ minLen: 1n }), [["message.disabled", "", []]]);

// Wrappers: the inner value's rules, only when set.
add({ type: "google.protobuf.UInt32Value" }, typed("uint32", { gte: 1 }), [
  ["wrapper unset", undefined, []],
  ["wrapper 0", 0, ["v uint32.gte"]],
]);
add({ type: "google.protobuf.StringValue" }, { ...str({ minLen: 2n }), message: { required: true } }, [
  ["wrapper required", undefined, ["v message.required"]],
  ["wrapper string", "a", ["v string.min_len"]],
]);

add({ type: "bool" }, typed("bool", { const: true }), [
  ["bool const", false, ["v bool.const"]],
  ["bool const ok", true, []],
]);

// Strings.
const strings: [rules: object, value: string, want: string | undefined][] = [
  [{ const: "a" }, "b", "const"],
  [{ len: 5n }, "héllo", undefined],
  [{ len: 5n }, "hello!", "len"],
  [{ minLen: 1n }, "", "min_len"],
  [{ minLen: 2n }, "😀😀", undefined],
  [{ maxLen: 2n }, "abc", "max_len"],
  [{ lenBytes: 2n }, "é", undefined],
  [{ lenBytes: 2n }, "e", "len_bytes"],
  [{ minBytes: 2n }, "e", "min_bytes"],
  [{ maxBytes: 1n }, "é", "max_bytes"],
  [{ pattern: "^[a-z]+$" }, "abc", undefined],
  [{ pattern: "^[a-z]+$" }, "ab1", "pattern"],
  [{ pattern: "(?i)^ABC\\z" }, "abc", undefined],
  [{ pattern: "^[^?#]+[^?#/]$" }, "/api/", "pattern"],
  [{ prefix: "/api" }, "/v1", "prefix"],
  [{ suffix: ".com" }, "a.org", "suffix"],
  [{ contains: "mid" }, "none", "contains"],
  [{ notContains: ".." }, "a/../b", "not_contains"],
  [{ in: ["http", "https"] }, "ftp", "in"],
  [{ notIn: ["admin"] }, "admin", "not_in"],
  [{ wellKnown: { case: "email", value: true } }, "dev@example.com", undefined],
  [{ wellKnown: { case: "email", value: true } }, "Dev <dev@example.com>", undefined],
  [{ wellKnown: { case: "email", value: true } }, "example.com", "email"],
  [{ wellKnown: { case: "hostname", value: true } }, "api-1.example.com.", undefined],
  [{ wellKnown: { case: "hostname", value: true } }, "-api.example.com", "hostname"],
  [{ wellKnown: { case: "ip", value: true } }, "2001:db8::1", undefined],
  [{ wellKnown: { case: "ip", value: true } }, "10.0.0.256", "ip"],
  [{ wellKnown: { case: "ipv4", value: true } }, "10.0.0.1", undefined],
  [{ wellKnown: { case: "ipv4", value: true } }, "010.0.0.1", "ipv4"],
  [{ wellKnown: { case: "ipv6", value: true } }, "::ffff:10.0.0.1", "ipv6"],
  [{ wellKnown: { case: "ipv6", value: true } }, "fe80::1:2:3:4", undefined],
  [{ wellKnown: { case: "uri", value: true } }, "https://example.com/a?b#c", undefined],
  [{ wellKnown: { case: "uri", value: true } }, "/relative", "uri"],
  [{ wellKnown: { case: "uriRef", value: true } }, "/relative", undefined],
  [{ wellKnown: { case: "uriRef", value: true } }, "/a%zz", "uri_ref"],
  [{ wellKnown: { case: "address", value: true } }, "::1", undefined],
  [{ wellKnown: { case: "address", value: true } }, "svc.local", undefined],
  [{ wellKnown: { case: "address", value: true } }, "bad host", "address"],
  [{ wellKnown: { case: "uuid", value: true } }, "123e4567-e89b-12d3-a456-426614174000", undefined],
  [{ wellKnown: { case: "uuid", value: true } }, "123e4567e89b12d3a456426614174000", "uuid"],
  [{ wellKnown: { case: "wellKnownRegex", value: KnownRegex.HTTP_HEADER_NAME } }, ":authority", undefined],
  [{ wellKnown: { case: "wellKnownRegex", value: KnownRegex.HTTP_HEADER_NAME } }, "x a", "well_known_regex"],
  [
    { wellKnown: { case: "wellKnownRegex", value: KnownRegex.HTTP_HEADER_NAME }, strict: false },
    "x a",
    undefined,
  ],
  [
    { wellKnown: { case: "wellKnownRegex", value: KnownRegex.HTTP_HEADER_NAME }, strict: false },
    "x\na",
    "well_known_regex",
  ],
  [{ wellKnown: { case: "wellKnownRegex", value: KnownRegex.HTTP_HEADER_VALUE } }, "a\tb", undefined],
  [
    { wellKnown: { case: "wellKnownRegex", value: KnownRegex.HTTP_HEADER_VALUE } },
    "a\u0001",
    "well_known_regex",
  ],
  [{ minLen: 3n, ignoreEmpty: true }, "", undefined],
  [{ minLen: 3n, ignoreEmpty: true }, "ab", "min_len"],
];
for (const [value, [stringRules, input, rule]] of strings.entries())
  add({ type: "string" }, str(stringRules), [
    [`string #${value} ${json(stringRules)} ${json(input)}`, input, rule ? [`v string.${rule}`] : []],
  ]);

// Bytes.
const b = (...bytes: number[]) => new Uint8Array(bytes);
const mapped = b(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1);
const v6 = b(0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
const bytes: [rules: object, value: Uint8Array, want: string | undefined][] = [
  [{ const: b(1, 2) }, b(1, 3), "const"],
  [{ len: 2n }, b(1), "len"],
  [{ minLen: 1n }, b(), "min_len"],
  [{ maxLen: 1n }, b(1, 2), "max_len"],
  [{ pattern: "^ab$" }, b(0x61, 0x62), undefined],
  [{ pattern: "^ab$" }, b(0x61), "pattern"],
  [{ prefix: b(1) }, b(2, 1), "prefix"],
  [{ suffix: b(1) }, b(1, 2), "suffix"],
  [{ contains: b(2, 3) }, b(1, 2, 3, 4), undefined],
  [{ contains: b(3, 2) }, b(1, 2, 3, 4), "contains"],
  [{ in: [b(1)] }, b(2), "in"],
  [{ notIn: [b(1)] }, b(1), "not_in"],
  [{ wellKnown: { case: "ip", value: true } }, b(10, 0, 0, 1), undefined],
  [{ wellKnown: { case: "ip", value: true } }, b(10, 0, 0, 1, 5), "ip"],
  [{ wellKnown: { case: "ipv4", value: true } }, mapped, undefined],
  [{ wellKnown: { case: "ipv4", value: true } }, v6, "ipv4"],
  [{ wellKnown: { case: "ipv6", value: true } }, mapped, "ipv6"],
  [{ wellKnown: { case: "ipv6", value: true } }, v6, undefined],
];
for (const [index, [bytesRules, input, rule]] of bytes.entries())
  add({ type: "bytes" }, typed("bytes", bytesRules), [
    [`bytes #${index}`, input, rule ? [`v bytes.${rule}`] : []],
  ]);

// Enums.
add({ type: "enum" }, typed("enum", { const: 1 }), [["enum const", 2, ["v enum.const"]]]);
add({ type: "enum" }, typed("enum", { definedOnly: true }), [
  ["enum defined_only", 7, ["v enum.defined_only"]],
  ["enum defined_only ok", 2, []],
]);
add({ type: "enum" }, typed("enum", { in: [1, 2] }), [["enum in", 0, ["v enum.in"]]]);
add({ type: "enum" }, typed("enum", { notIn: [0] }), [
  ["enum not_in (zero value)", undefined, ["v enum.not_in"]],
]);

// Messages.
add({ type: "Inner" }, { message: { required: true } }, [
  ["message.required", undefined, ["v message.required"]],
  ["embedded messages are validated", { s: "" }, ["v.s string.min_len"]],
]);
add({ type: "Inner" }, { message: { skip: true } }, [["message.skip", { s: "" }, []]]);

// Repeated.
add({ type: "string", repeated: true }, typed("repeated", { minItems: 1n }), [
  ["min_items", [], ["v repeated.min_items"]],
]);
add({ type: "string", repeated: true }, typed("repeated", { maxItems: 1n }), [
  ["max_items", ["a", "b"], ["v repeated.max_items"]],
]);
add({ type: "string", repeated: true }, typed("repeated", { unique: true }), [
  ["unique", ["a", "b", "a"], ["v[2] repeated.unique"]],
  ["unique ok", ["a", "b"], []],
]);
add({ type: "bytes", repeated: true }, typed("repeated", { unique: true }), [
  ["unique bytes", [b(1), b(1)], ["v[1] repeated.unique"]],
]);
add({ type: "string", repeated: true }, typed("repeated", { items: str({ minLen: 1n }) }), [
  ["items", ["a", ""], ["v[1] repeated.items.string.min_len"]],
]);
add({ type: "Inner", repeated: true }, {}, [
  ["message items are validated", [{ s: "a" }, { s: "" }], ["v[1].s string.min_len"]],
]);
add(
  { type: "google.protobuf.Duration", repeated: true },
  typed("repeated", { items: typed("duration", { gt: {} }) }),
  [["duration items", [{ seconds: 1n }, {}], ["v[1] repeated.items.duration.gt"]]],
);

// Maps.
add({ type: "string", mapKey: "string" }, typed("map", { minPairs: 1n }), [
  ["min_pairs", {}, ["v map.min_pairs"]],
]);
add({ type: "string", mapKey: "string" }, typed("map", { maxPairs: 1n }), [
  ["max_pairs", { a: "", b: "" }, ["v map.max_pairs"]],
]);
add({ type: "Inner", mapKey: "string" }, typed("map", { noSparse: true }), [
  ["no_sparse (message values always present)", { a: { s: "x" } }, []],
  ["message values are validated", { a: { s: "" } }, ['v["a"].s string.min_len']],
]);
add({ type: "string", mapKey: "string" }, typed("map", { keys: str({ minLen: 1n }) }), [
  ["keys", { "": "x" }, ['v[""] map.keys.string.min_len']],
]);
add({ type: "uint32", mapKey: "int32" }, typed("map", { values: typed("uint32", { gte: 1 }) }), [
  ["values", { 5: 0 }, ["v[5] map.values.uint32.gte"]],
]);

// Any.
const cluster = (name: string) => anyPack(ClusterSchema, create(ClusterSchema, { name }));
const clusterUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
add({ type: "google.protobuf.Any" }, typed("any", { required: true }), [
  ["any.required", undefined, ["v any.required"]],
  ["the packed message is validated", cluster(""), ["v.name string.min_len"]],
]);
add({ type: "google.protobuf.Any" }, typed("any", { in: [clusterUrl] }), [
  ["any.in: wrong type", anyPack(RouterSchema, create(RouterSchema)), ["v any.in"]],
  ["any.in ok", cluster("c"), []],
]);
add({ type: "google.protobuf.Any" }, typed("any", { notIn: [clusterUrl] }), [
  ["any.not_in", cluster("c"), ["v any.not_in"]],
]);

// Durations (compared as nanoseconds) and timestamps.
const s = (seconds: number, nanos = 0) => ({ seconds: BigInt(seconds), nanos });
add({ type: "google.protobuf.Duration" }, typed("duration", { required: true }), [
  ["duration.required", undefined, ["v duration.required"]],
]);
add({ type: "google.protobuf.Duration" }, typed("duration", { const: s(1) }), [
  ["duration.const", s(1, 1), ["v duration.const"]],
]);
add({ type: "google.protobuf.Duration" }, typed("duration", { lt: s(1) }), [
  ["duration.lt", s(1), ["v duration.lt"]],
]);
add({ type: "google.protobuf.Duration" }, typed("duration", { lte: s(1) }), [
  ["duration.lte", s(1, 1), ["v duration.lte"]],
]);
add({ type: "google.protobuf.Duration" }, typed("duration", { gt: s(0) }), [
  ["duration.gt", s(0), ["v duration.gt"]],
  ["duration.gt unset", undefined, []],
  ["duration.gt 1ns", s(0, 1), []],
]);
add({ type: "google.protobuf.Duration" }, typed("duration", { gte: s(0, 1_000_000) }), [
  ["duration.gte", s(0, 999_999), ["v duration.gte"]],
]);
add({ type: "google.protobuf.Duration" }, typed("duration", { in: [s(1), s(2)] }), [
  ["duration.in", s(3), ["v duration.in"]],
]);
add({ type: "google.protobuf.Duration" }, typed("duration", { notIn: [s(1)] }), [
  ["duration.not_in", s(1), ["v duration.not_in"]],
]);
add({ type: "google.protobuf.Duration" }, typed("duration", { gt: s(0) }), [
  ["invalid Duration", s(-1, 5), ["v duration.valid"]],
]);
const now = new Date("2026-01-01T00:00:00Z");
const t = (offsetSeconds: number) => s(now.getTime() / 1000 + offsetSeconds);
add({ type: "google.protobuf.Timestamp" }, typed("timestamp", { required: true }), [
  ["timestamp.required", undefined, ["v timestamp.required"]],
]);
add({ type: "google.protobuf.Timestamp" }, typed("timestamp", { const: t(0) }), [
  ["timestamp.const", t(1), ["v timestamp.const"]],
]);
add({ type: "google.protobuf.Timestamp" }, typed("timestamp", { lt: t(0) }), [
  ["timestamp.lt", t(0), ["v timestamp.lt"]],
]);
add({ type: "google.protobuf.Timestamp" }, typed("timestamp", { lte: t(0) }), [
  ["timestamp.lte", t(1), ["v timestamp.lte"]],
]);
add({ type: "google.protobuf.Timestamp" }, typed("timestamp", { gt: t(0) }), [
  ["timestamp.gt", t(0), ["v timestamp.gt"]],
]);
add({ type: "google.protobuf.Timestamp" }, typed("timestamp", { gte: t(0) }), [
  ["timestamp.gte", t(-1), ["v timestamp.gte"]],
]);
add({ type: "google.protobuf.Timestamp" }, typed("timestamp", { gt: t(0) }), [
  ["invalid Timestamp", s(1, -1), ["v timestamp.valid"]],
]);
for (const [rules, value, want] of [
  [{ ltNow: true }, t(1), ["v timestamp.lt_now"]],
  [{ ltNow: true }, t(-1), []],
  [{ gtNow: true }, t(-1), ["v timestamp.gt_now"]],
  [{ gtNow: true, within: s(60) }, t(120), ["v timestamp.gt_now"]],
  [{ within: s(60) }, t(-120), ["v timestamp.within"]],
  [{ within: s(60) }, t(30), []],
] as const)
  cases.push({
    name: `timestamp ${JSON.stringify(Object.keys(rules))} ${value.seconds}`,
    spec: { type: "google.protobuf.Timestamp" },
    rules: typed("timestamp", rules),
    value,
    want,
    now,
  });

function messageFor(schema: DescMessage, c: Case) {
  if (c.value === undefined) return create(schema);
  if (typeof c.value === "object" && c.value !== null && "o" in c.value)
    return create(schema, c.value as never);
  return create(schema, { v: c.value } as never);
}

for (const c of cases) {
  test(`rule: ${c.name}`, () => {
    const schema = schemaOf(c.spec, c.rules);
    const report = inspectEnvoyMessage(schema, messageFor(schema, c), { ...(c.now ? { now: c.now } : {}) });
    assert.deepEqual(
      report.violations.map((v) => `${v.path} ${v.rule}`),
      c.want,
      JSON.stringify(report.violations),
    );
    assert.deepEqual(report.notes, []);
  });
}

test("every handled rule kind has a case", () => {
  const covered = new Set(cases.flatMap((c) => compileRules(create(FieldRulesSchema, c.rules)).kinds));
  for (const c of cases) {
    if (c.spec.oneof === "required") covered.add("oneof.required");
    if (c.spec.disabled) covered.add("message.disabled");
  }
  const handled = Object.entries(handledRules).flatMap(([type, names]) => names.map((n) => `${type}.${n}`));
  assert.deepEqual(
    [...handled, "oneof.required", "message.disabled"].filter((kind) => !covered.has(kind)),
    [],
  );
});

test("timestamp rules relative to now are a note when no clock is given", () => {
  const schema = schemaOf({ type: "google.protobuf.Timestamp" }, typed("timestamp", { ltNow: true }));
  const report = inspectEnvoyMessage(schema, create(schema, { v: t(0) } as never));
  assert.deepEqual(report.violations, []);
  assert.deepEqual(
    report.notes.map((n) => `${n.path} ${n.rule}`),
    ["v timestamp.lt_now"],
  );
});

test("rules the validator cannot evaluate are violations, never skipped", () => {
  const future = create(FieldRulesSchema, str({ minLen: 1n }));
  future.type.value!.$unknown = [{ no: 99, wireType: 0, data: new Uint8Array([1]) }];
  const unknown = schemaOf({ type: "string" }, future);
  assert.deepEqual(
    inspectEnvoyMessage(unknown, create(unknown, { v: "x" } as never)).violations.map(
      (v) => `${v.path} ${v.rule}`,
    ),
    ["v pgv.unsupported"],
  );
  const misplaced = schemaOf({ type: "int32" }, str({ minLen: 1n }));
  const [violation] = inspectEnvoyMessage(misplaced, create(misplaced)).violations;
  assert.equal(violation?.rule, "pgv.unsupported");
  assert.match(violation.message, /string rules on a int32 value/);
  const untranslatable = schemaOf({ type: "string" }, str({ pattern: "\\C" }));
  assert.equal(
    inspectEnvoyMessage(untranslatable, create(untranslatable)).violations[0]?.rule,
    "pgv.unsupported",
  );
});

test("an Any of an unknown type is noted, and a violation only through any.in", () => {
  const unknown = { typeUrl: "type.googleapis.com/acme.Thing", value: new Uint8Array() };
  const open = schemaOf({ type: "google.protobuf.Any" }, {});
  const report = inspectEnvoyMessage(open, create(open, { v: unknown } as never));
  assert.deepEqual(report.violations, []);
  assert.deepEqual(
    report.notes.map((n) => `${n.path} ${n.rule}`),
    ["v any.unknown_type"],
  );
  const restricted = schemaOf({ type: "google.protobuf.Any" }, typed("any", { in: [clusterUrl] }));
  const rejected = inspectEnvoyMessage(restricted, create(restricted, { v: unknown } as never));
  assert.deepEqual(
    rejected.violations.map((v) => `${v.path} ${v.rule}`),
    ["v any.in"],
  );
});
