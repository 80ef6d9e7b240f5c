import { test } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { DiscoveryResponseSchema } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { encodeAny, encodeDiscoveryResponse } from "./wire.ts";
import { TypeUrl } from "./resource-types.ts";

// Sizes straddle the one/two/three-byte varint boundaries.
for (const nameLength of [0, 1, 100, 127, 128, 300, 20_000]) {
  test(`hand-written DiscoveryResponse decodes with the generated codec (name length ${nameLength})`, () => {
    const clusters = ["a", "x".repeat(nameLength)].map((name) => create(ClusterSchema, { name }));
    const encoded = clusters.map((c) => encodeAny(TypeUrl.Cluster, toBinary(ClusterSchema, c)));
    const bytes = encodeDiscoveryResponse({
      versionInfo: "v".repeat(nameLength % 200),
      resources: encoded,
      typeUrl: TypeUrl.Cluster,
      nonce: "42",
      controlPlaneId: "meshplane-test",
    });
    const decoded = fromBinary(DiscoveryResponseSchema, bytes);
    assert.equal(decoded.versionInfo, "v".repeat(nameLength % 200));
    assert.equal(decoded.typeUrl, TypeUrl.Cluster);
    assert.equal(decoded.nonce, "42");
    assert.equal(decoded.controlPlane?.identifier, "meshplane-test");
    assert.deepEqual(
      decoded.resources.map((any) => anyUnpack(any, ClusterSchema)?.name),
      clusters.map((c) => c.name),
    );
  });
}
