// Which client each proxy runs, read from the node of its first request: shown in /debug/syncz
// (ProxyStatus.client), counted per client group for status, and part of its profile.
import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterSnapshot, sotwStream, startTestServer } from "./ads-test-client.ts";
import { TypeUrl } from "./resource-types.ts";

const userAgent = (name: string, version: string) => ({
  userAgentName: name,
  userAgentVersionType: { case: "userAgentVersion" as const, value: version },
});

test("syncz: each proxy's implementation, version, group and client features; client groups once each", async (t) => {
  const { server, connect } = await startTestServer(t, clusterSnapshot(1, { a: 1 }));
  const nodes = [
    {
      id: "py-1",
      ...userAgent("gRPC C-core linux Python", "C-core 29.0.0 Python 1.51.1"),
      clientFeatures: ["envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"],
    },
    { id: "cxx-1", ...userAgent("gRPC C-core linux", "C-core 29.0.0") },
    {
      id: "js-1",
      ...userAgent("gRPC Node Pure JS", "1.14.1"),
      clientFeatures: ["envoy.lb.does_not_support_overprovisioning"],
    },
    { id: "other", ...userAgent("some-client", "0.1") },
  ];
  for (const node of nodes) {
    const stream = sotwStream(connect());
    stream.send({ node, typeUrl: TypeUrl.Cluster });
    await stream.next();
  }
  const byNode = new Map(server.proxies().map((p) => [p.nodeId, p]));
  assert.deepEqual(byNode.get("py-1")?.client, {
    implementation: "grpc-core",
    language: "Python",
    version: "1.51.1",
    group: "grpc-python/1.51",
    features: ["envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"],
  });
  // C++ says only the core number: no release.
  assert.deepEqual(byNode.get("cxx-1")?.client, {
    implementation: "grpc-core",
    language: null,
    version: null,
    group: "grpc-core",
    features: [],
  });
  assert.equal(byNode.get("js-1")?.client?.group, "grpc-js/1.14");
  assert.equal(byNode.get("other")?.client, null);
  assert.equal(
    byNode.get("other")?.userAgent,
    "some-client/0.1",
    "an unknown client is still shown as it says",
  );
  assert.deepEqual(server.clientGroups(), ["grpc-core", "grpc-js/1.14", "grpc-python/1.51"]);
});
