// State-of-the-world protocol tests with a raw ADS client that plays the proxy, so each protocol
// step (ACK, NACK, stale nonce, flow control) is driven and observed exactly.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { clusterSnapshot, counterTotal, sotwStream, startTestServer } from "./ads-test-client.ts";
import { TypeUrl } from "./resource-types.ts";

async function setup(t: TestContext) {
  const { server, metrics, connect } = await startTestServer(t, clusterSnapshot(1, { a: 1, b: 1 }));
  const stream = sotwStream(connect());
  const proxy = {
    send: (fields: Parameters<typeof stream.send>[0]) => stream.send({ typeUrl: TypeUrl.Cluster, ...fields }),
    next: (ms?: number) => stream.next(ms),
    quiet: (ms?: number) => stream.quiet(ms),
  };
  proxy.send({ node: { id: "proxy-1", metadata: { NAMESPACE: "team-a" } }, resourceNames: [] });
  return { server, proxy, metrics };
}

const names = (response: { resources: Any[] }) =>
  response.resources.map((r) => anyUnpack(r, ClusterSchema)?.name);

test("wildcard CDS gets the full state, and an ACK gets nothing more", async (t) => {
  const { proxy, server, metrics } = await setup(t);
  const first = await proxy.next();
  assert.deepEqual(names(first), ["a", "b"]);
  proxy.send({ versionInfo: first.versionInfo, responseNonce: first.nonce });
  assert.ok(await proxy.quiet());
  assert.equal(await counterTotal(metrics.acks), 1);
  const [status] = server.proxies();
  assert.equal(status?.nodeId, "proxy-1");
  assert.equal(status?.namespace, "team-a");
  assert.equal(status?.protocol, "sotw");
  assert.equal(status?.types[0]?.ackedVersion, first.versionInfo);
});

test("a NACK is recorded and the rejected version is not resent; a fixed config is", async (t) => {
  const { proxy, server, metrics } = await setup(t);
  const first = await proxy.next();
  proxy.send({ versionInfo: first.versionInfo, responseNonce: first.nonce });
  void server.setSnapshot(clusterSnapshot(2, { a: 2, b: 1 }));
  const bad = await proxy.next();
  assert.notEqual(bad.versionInfo, first.versionInfo);
  proxy.send({
    versionInfo: first.versionInfo,
    responseNonce: bad.nonce,
    errorDetail: { code: 3, message: "cluster a: bad" },
  });
  assert.ok(await proxy.quiet(), "the rejected version must not be resent");
  const types = server.proxies()[0]?.types[0];
  assert.equal(types?.ackedVersion, first.versionInfo, "the proxy stays on its last good version");
  assert.equal(types?.lastNack?.rejectedVersion, bad.versionInfo);
  assert.equal(types?.lastNack?.message, "cluster a: bad");
  assert.equal(await counterTotal(metrics.nacks), 1);
  void server.setSnapshot(clusterSnapshot(3, { a: 3, b: 1 }));
  const fixed = await proxy.next();
  assert.notEqual(fixed.versionInfo, bad.versionInfo);
});

test("a request with a stale nonce is ignored", async (t) => {
  const { proxy, server, metrics } = await setup(t);
  const first = await proxy.next();
  proxy.send({ versionInfo: first.versionInfo, responseNonce: first.nonce });
  void server.setSnapshot(clusterSnapshot(2, { a: 2, b: 2 }));
  const second = await proxy.next();
  // An answer to the first response arriving late must not change what the server tracks.
  proxy.send({ versionInfo: "", responseNonce: first.nonce, errorDetail: { code: 3, message: "late" } });
  assert.ok(await proxy.quiet());
  assert.equal(await counterTotal(metrics.staleRequests), 1);
  assert.equal(server.proxies()[0]?.types[0]?.lastNack, null);
  proxy.send({ versionInfo: second.versionInfo, responseNonce: second.nonce });
  assert.ok(await proxy.quiet());
  assert.equal(server.proxies()[0]?.types[0]?.ackedVersion, second.versionInfo);
});

test("one response in flight per type: changes coalesce until the proxy answers", async (t) => {
  const { proxy, server } = await setup(t);
  const first = await proxy.next();
  for (let v = 2; v <= 5; v++) await server.setSnapshot(clusterSnapshot(v, { a: v, b: 1 }));
  assert.ok(await proxy.quiet(), "nothing is sent while the first response is unanswered");
  proxy.send({ versionInfo: first.versionInfo, responseNonce: first.nonce });
  const latest = await proxy.next();
  const a = latest.resources.map((r) => anyUnpack(r, ClusterSchema)).find((c) => c?.name === "a");
  assert.equal(a?.connectTimeout?.seconds, 5n, "only the newest version is sent");
  assert.ok(await proxy.quiet());
});

test("named subscriptions: adding and removing names changes what is sent", async (t) => {
  const { proxy } = await setup(t);
  const first = await proxy.next();
  proxy.send({ versionInfo: first.versionInfo, responseNonce: first.nonce, resourceNames: ["a"] });
  const onlyA = await proxy.next();
  assert.deepEqual(names(onlyA), ["a"]);
  proxy.send({ versionInfo: onlyA.versionInfo, responseNonce: onlyA.nonce, resourceNames: ["a", "missing"] });
  assert.ok(await proxy.quiet(), "an unknown name adds nothing, so no new version");
});
