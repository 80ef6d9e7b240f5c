// The request limits on encoded requests: each limit, its status code, and requests whose bytes
// the decoder would read differently from the walk (refused as malformed, never decoded).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type JsonObject } from "@bufbuild/protobuf";
import {
  DeltaDiscoveryRequestSchema,
  DiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
  type DiscoveryRequest,
} from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { LimitExceededError } from "../limits/index.ts";
import {
  checkRequest,
  decodeRequest,
  deltaLayout,
  isRefusal,
  MalformedRequestError,
  refusalStatus,
  sotwLayout,
  type RequestLayout,
  type XdsRequestLimits,
} from "./request-limits.ts";

const limits: XdsRequestLimits = {
  "xds.namesPerRequest": 4,
  "xds.nameBytes": 16,
  "xds.nodeIdBytes": 32,
  "xds.nodeMetadataBytes": 64,
};

const sotw = (fields: Parameters<typeof create<typeof DiscoveryRequestSchema>>[1]) =>
  toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, fields));
const delta = (fields: Parameters<typeof create<typeof DeltaDiscoveryRequestSchema>>[1]) =>
  toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, fields));
const names = (n: number) => Array.from({ length: n }, (_, i) => `n${i}`);
const cds = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

/** Field 100 as `depth` groups, one inside the other (start-group tag 0xa3 0x06, end 0xa4 0x06). */
const nestedGroups = (depth: number) =>
  Uint8Array.from([
    ...Array.from({ length: depth }, () => [0xa3, 0x06]).flat(),
    ...Array.from({ length: depth }, () => [0xa4, 0x06]).flat(),
  ]);

/**
 * Five resource_names fields tagged as varints (0x18). A walk going by wire types reads each as
 * a varint 2 and an unknown varint field 15 (0x78 0x01); the decoder, going by the field's kind,
 * reads a 2-character name ("x\u0001").
 */
const hiddenNames = Uint8Array.from(Array.from({ length: 5 }, () => [0x18, 0x02, 0x78, 0x01]).flat());

/** Concatenates encoded parts: a request's fields can be repeated or hand-made. */
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

interface Case {
  readonly name: string;
  readonly variant: "sotw" | "delta";
  readonly bytes: Uint8Array;
  /** The limit that refuses it, "malformed", or undefined: accepted. */
  readonly refusedBy: string | undefined;
  readonly code?: grpc.status;
}

const cases: Case[] = [
  {
    name: "names at the limit",
    variant: "sotw",
    bytes: sotw({ typeUrl: cds, resourceNames: names(4), node: { id: "p" } }),
    refusedBy: undefined,
  },
  {
    name: "one name over the limit",
    variant: "sotw",
    bytes: sotw({ typeUrl: cds, resourceNames: names(5) }),
    refusedBy: "xds.namesPerRequest",
    code: grpc.status.RESOURCE_EXHAUSTED,
  },
  {
    name: "resource locators count as names",
    variant: "sotw",
    bytes: sotw({ resourceNames: names(3), resourceLocators: [{ name: "a" }, { name: "b" }] }),
    refusedBy: "xds.namesPerRequest",
    code: grpc.status.RESOURCE_EXHAUSTED,
  },
  {
    name: "delta: subscribe plus unsubscribe",
    variant: "delta",
    bytes: delta({ resourceNamesSubscribe: names(3), resourceNamesUnsubscribe: names(2) }),
    refusedBy: "xds.namesPerRequest",
    code: grpc.status.RESOURCE_EXHAUSTED,
  },
  {
    name: "delta: initial_resource_versions entries count",
    variant: "delta",
    bytes: delta({
      resourceNamesSubscribe: names(2),
      initialResourceVersions: { a: "1", b: "2", c: "3" },
    }),
    refusedBy: "xds.namesPerRequest",
    code: grpc.status.RESOURCE_EXHAUSTED,
  },
  {
    name: "delta within the limit",
    variant: "delta",
    bytes: delta({ resourceNamesSubscribe: names(2), initialResourceVersions: { n0: "v", n1: "v" } }),
    refusedBy: undefined,
  },
  {
    name: "a name at its size limit",
    variant: "sotw",
    bytes: sotw({ resourceNames: ["x".repeat(16)] }),
    refusedBy: undefined,
  },
  {
    name: "a name over its size limit",
    variant: "sotw",
    bytes: sotw({ resourceNames: ["x".repeat(17)] }),
    refusedBy: "xds.nameBytes",
    code: grpc.status.INVALID_ARGUMENT,
  },
  {
    name: "a name's size is counted in bytes, not characters",
    variant: "sotw",
    bytes: sotw({ resourceNames: ["é".repeat(9)] }),
    refusedBy: "xds.nameBytes",
    code: grpc.status.INVALID_ARGUMENT,
  },
  {
    name: "delta: an unsubscribed name over its size limit",
    variant: "delta",
    bytes: delta({ resourceNamesUnsubscribe: ["y".repeat(17)] }),
    refusedBy: "xds.nameBytes",
    code: grpc.status.INVALID_ARGUMENT,
  },
  {
    name: "node.id over its limit",
    variant: "sotw",
    bytes: sotw({ node: { id: "i".repeat(33) } }),
    refusedBy: "xds.nodeIdBytes",
    code: grpc.status.INVALID_ARGUMENT,
  },
  {
    name: "node.cluster over its limit",
    variant: "delta",
    bytes: delta({ node: { id: "p", cluster: "c".repeat(33) } }),
    refusedBy: "xds.nodeIdBytes",
    code: grpc.status.INVALID_ARGUMENT,
  },
  {
    name: "node metadata over its limit",
    variant: "sotw",
    bytes: sotw({ node: { id: "p", metadata: { NAMESPACE: "n".repeat(64) } } }),
    refusedBy: "xds.nodeMetadataBytes",
    code: grpc.status.INVALID_ARGUMENT,
  },
  {
    name: "node metadata split over repeated node fields (merged when decoded)",
    variant: "sotw",
    bytes: concat(
      sotw({ node: { metadata: { A: "a".repeat(30) } } }),
      sotw({ node: { metadata: { B: "b".repeat(30) } } }),
    ),
    refusedBy: "xds.nodeMetadataBytes",
    code: grpc.status.INVALID_ARGUMENT,
  },
  {
    name: "a names field with a varint wire type (the decoder would read it as a name)",
    variant: "sotw",
    // field 3, wire type 0 (tag 0x18), then what the decoder would take as a 2-byte string
    bytes: concat(sotw({ typeUrl: cds }), Uint8Array.of(0x18, 0x02, 0x61, 0x62)),
    refusedBy: "malformed",
    code: grpc.status.INVALID_ARGUMENT,
  },
  {
    name: "names hidden in fields of a varint wire type (see the test below)",
    variant: "sotw",
    bytes: hiddenNames,
    refusedBy: "malformed",
    code: grpc.status.INVALID_ARGUMENT,
  },
  {
    name: "a truncated length",
    variant: "sotw",
    bytes: Uint8Array.of(0x1a, 0x05, 0x61),
    refusedBy: "malformed",
    code: grpc.status.INVALID_ARGUMENT,
  },
  {
    name: "a tag longer than 32 bits",
    variant: "sotw",
    bytes: Uint8Array.of(0x9a, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00),
    refusedBy: "malformed",
    code: grpc.status.INVALID_ARGUMENT,
  },
  {
    name: "groups nested deeper than the decoder allows",
    variant: "sotw",
    bytes: nestedGroups(101),
    refusedBy: "malformed",
    code: grpc.status.INVALID_ARGUMENT,
  },
  {
    name: "an unknown group nested within the decoder's depth is skipped",
    variant: "sotw",
    bytes: concat(nestedGroups(50), sotw({ resourceNames: ["a"] })),
    refusedBy: undefined,
  },
  {
    name: "an unknown field of any wire type is skipped",
    variant: "delta",
    // field 100 as a varint and as fixed32, then a name
    bytes: concat(
      Uint8Array.of(0xa0, 0x06, 0x7f, 0xa5, 0x06, 1, 2, 3, 4),
      delta({ resourceNamesSubscribe: ["a"] }),
    ),
    refusedBy: undefined,
  },
];

for (const { name, variant, bytes, refusedBy, code } of cases) {
  test(`${variant} request: ${name}`, () => {
    const layout: RequestLayout = variant === "sotw" ? sotwLayout : deltaLayout;
    const refusal = checkRequest(bytes, layout, limits);
    if (refusedBy === undefined) {
      assert.equal(refusal, undefined, refusal?.refused.message);
      const decoded = decodeRequest(bytes, layout, limits);
      assert.equal(isRefusal(decoded), false, "a request within the limits is decoded");
      return;
    }
    assert.ok(refusal, "refused");
    if (refusedBy === "malformed") {
      assert.ok(refusal.refused instanceof MalformedRequestError, refusal.refused.message);
    } else {
      assert.ok(refusal.refused instanceof LimitExceededError, refusal.refused.message);
      assert.equal(refusal.refused.limit, refusedBy);
      assert.match(refusal.refused.message, new RegExp(`limit ${refusedBy.replace(".", "\\.")} of`));
    }
    assert.equal(refusalStatus(refusal.refused), code);
    assert.ok(isRefusal(decodeRequest(bytes, layout, limits)), "a refused request is not decoded");
  });
}

test("the decoder reads a field by its declared kind whatever its wire type (why the walk refuses a mismatch)", () => {
  assert.equal(fromBinary(DiscoveryRequestSchema, hiddenNames).resourceNames.length, 5);
});

test("the node id of a refused request is logged as a short excerpt", () => {
  const id = `proxy-${"z".repeat(10 * 1024 * 1024)}`;
  const refusal = checkRequest(sotw({ node: { id } }), sotwLayout, limits);
  assert.ok(refusal?.node !== undefined);
  assert.ok(refusal.node.length < 200, `excerpt of ${refusal.node.length} characters`);
  assert.match(refusal.node, /^proxy-z+…\(10485766 bytes in all\)$/);
  const short = checkRequest(sotw({ node: { id: "ok\nid" }, resourceNames: names(5) }), sotwLayout, limits);
  assert.equal(short?.node, "ok\\nid", "control characters are escaped");
});

test("a request whose node metadata is too deep to decode is refused as malformed", () => {
  let value: JsonObject = { leaf: "x" };
  for (let i = 0; i < 120; i++) value = { v: value };
  const bytes = sotw({ node: { id: "deep", metadata: value } });
  const decoded = decodeRequest(bytes, sotwLayout, { ...limits, "xds.nodeMetadataBytes": 1 << 20 });
  assert.ok(isRefusal(decoded) && decoded.refused instanceof MalformedRequestError);
});

test("the decoded request of either variant is the message", () => {
  const request = decodeRequest(sotw({ typeUrl: cds, resourceNames: ["a"] }), sotwLayout, limits);
  assert.ok(!isRefusal(request));
  assert.deepEqual((request as DiscoveryRequest).resourceNames, ["a"]);
  const deltaRequest = decodeRequest(delta({ resourceNamesSubscribe: ["b"] }), deltaLayout, limits);
  assert.deepEqual((deltaRequest as DeltaDiscoveryRequest).resourceNamesSubscribe, ["b"]);
});
