// Protobuf request bodies as kubectl's typed client sends them, built with a small encoder.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeProtobuf } from "./protobuf.ts";
import { ApiError } from "./status.ts";

type Value = string | number | boolean | Buffer | Value[] | { [field: number]: Value };

function varint(n: bigint): Buffer {
  const bytes: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);
  return Buffer.from(bytes);
}

/** Encodes `{fieldNumber: value}`; arrays repeat the field, objects are nested messages. */
function encode(message: { [field: number]: Value }): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(message)) {
    const field = Number(key);
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item === "number" || typeof item === "boolean") {
        parts.push(varint(BigInt(field << 3)), varint(BigInt(Number(item))));
      } else {
        const bytes =
          typeof item === "string"
            ? Buffer.from(item)
            : Buffer.isBuffer(item)
              ? item
              : encode(item as { [f: number]: Value });
        parts.push(varint(BigInt((field << 3) | 2)), varint(BigInt(bytes.length)), bytes);
      }
    }
  }
  return Buffer.concat(parts);
}

const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([Buffer.from("k8s\0", "binary"), encode({ 1: { 1: apiVersion, 2: kind }, 2: raw })]);

test("a Namespace as kubectl create namespace sends it", () => {
  // Zero values are on the wire (gogo proto2 non-pointer fields) and must disappear.
  const raw = encode({
    1: {
      1: "team",
      2: "",
      3: "",
      7: 0,
      8: { 1: 0, 2: 0 },
      11: [
        { 1: "a", 2: "b" },
        { 1: "c", 2: "d" },
      ],
    },
    2: {},
    3: { 1: "" },
  });
  assert.deepEqual(decodeProtobuf(envelope("v1", "Namespace", raw)), {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "team", labels: { a: "b", c: "d" } },
  });
});

test("a Service as kubectl create service sends it", () => {
  const port = (name: string, p: number, target: { [f: number]: Value }) => ({
    1: name,
    2: "TCP",
    3: p,
    4: target,
    5: 0,
  });
  const raw = encode({
    1: { 1: "foo", 3: "", 8: { 1: 1_700_000_000 } },
    2: {
      1: [port("80-8080", 80, { 1: 0, 2: 8080, 3: "" }), port("grpc", 50051, { 1: 1, 2: 0, 3: "grpc" })],
      2: [{ 1: "app", 2: "foo" }],
      3: "",
      4: "ClusterIP",
      12: 0,
      13: false,
      14: { 1: { 1: 10800 } },
      99: "ignored unknown field",
    },
  });
  assert.deepEqual(decodeProtobuf(envelope("v1", "Service", raw)), {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "foo", creationTimestamp: "2023-11-14T22:13:20Z" },
    spec: {
      ports: [
        { name: "80-8080", protocol: "TCP", port: 80, targetPort: 8080 },
        { name: "grpc", protocol: "TCP", port: 50051, targetPort: "grpc" },
      ],
      selector: { app: "foo" },
      type: "ClusterIP",
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
    },
  });
});

test("other kinds, missing magic and garbage are refused", () => {
  assert.throws(
    () => decodeProtobuf(envelope("apps/v1", "Deployment", Buffer.alloc(0))),
    (e: unknown) => e instanceof ApiError && e.code === 415,
  );
  assert.throws(
    () => decodeProtobuf(Buffer.from("{}")),
    (e: unknown) => e instanceof ApiError && e.code === 400,
  );
  assert.throws(
    () => decodeProtobuf(Buffer.concat([Buffer.from("k8s\0", "binary"), Buffer.from([0x0a, 0x7f])])),
    (e: unknown) => e instanceof ApiError && e.code === 400,
  );
});

test("hostile Namespaces: invalid UTF-8 refused, 100,000 labels decoded in linear time, __proto__ is data", () => {
  const invalid = encode({ 1: { 1: Buffer.from([0x61, 0xff]) } });
  assert.throws(
    () => decodeProtobuf(envelope("v1", "Namespace", invalid)),
    (e: unknown) =>
      e instanceof ApiError && e.code === 400 && /field name is not valid UTF-8/.test(e.message),
  );
  // Linear, not quadratic: ten times the labels costs about ten times the time (a quadratic map
  // would cost a hundred). A ratio of best-of-three timings holds on a loaded machine, where an
  // absolute bound would not.
  const decodeLabels = (count: number) => {
    const labels = Array.from({ length: count }, (_, i) => ({ 1: `k${i}`, 2: "v" }));
    const bytes = envelope("v1", "Namespace", encode({ 1: { 1: "n", 11: labels } }));
    let best = Infinity;
    let decoded: { metadata: { labels: Record<string, string> } } | undefined;
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      decoded = decodeProtobuf(bytes) as { metadata: { labels: Record<string, string> } };
      best = Math.min(best, performance.now() - started);
    }
    return { best, decoded };
  };
  const few = decodeLabels(10_000);
  const many = decodeLabels(100_000);
  assert.equal(Object.keys(many.decoded?.metadata.labels ?? {}).length, 100_000);
  const ratio = many.best / Math.max(few.best, 0.1);
  assert.ok(ratio < 35, `10,000 labels: ${few.best.toFixed(1)} ms; 100,000: ${many.best.toFixed(1)} ms`);
  const proto = decodeProtobuf(
    envelope("v1", "Namespace", encode({ 1: { 1: "n", 11: [{ 1: "__proto__", 2: "x" }] } })),
  ) as {
    metadata: { labels: Record<string, string> };
  };
  assert.deepEqual(Object.keys(proto.metadata.labels), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(proto.metadata.labels), Object.prototype);
});
