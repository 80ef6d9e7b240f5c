// Delta (incremental) ADS protocol tests with a raw client: only what changed is sent, removals
// are explicit, and a resumed stream receives nothing it already has.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { DeltaDiscoveryResponse } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { clusterSnapshot, counterTotal, deltaStream, startTestServer } from "./ads-test-client.ts";
import { TypeUrl } from "./resource-types.ts";

const node = { id: "delta-1", metadata: { NAMESPACE: "team-a" } };
const names = (r: DeltaDiscoveryResponse) => r.resources.map((x) => x.name).sort();
const versions = (r: DeltaDiscoveryResponse) =>
  Object.fromEntries(r.resources.map((x) => [x.name, x.version]));

async function setup(t: TestContext, clusters: Record<string, number> = { a: 1, b: 1, c: 1 }) {
  const env = await startTestServer(t, clusterSnapshot(1, clusters));
  const open = () => {
    const stream = deltaStream(env.connect());
    const ack = (r: DeltaDiscoveryResponse) => stream.send({ typeUrl: r.typeUrl, responseNonce: r.nonce });
    return { stream, ack };
  };
  return { ...env, open };
}

test("wildcard CDS: everything once, then only what changed, and removals", async (t) => {
  const { server, open } = await setup(t);
  const { stream, ack } = open();
  stream.send({ node, typeUrl: TypeUrl.Cluster });
  const first = await stream.next();
  assert.deepEqual(names(first), ["a", "b", "c"]);
  ack(first);
  assert.ok(await stream.quiet());

  await server.setSnapshot(clusterSnapshot(2, { a: 1, b: 2, c: 1 }));
  const changed = await stream.next();
  assert.deepEqual(names(changed), ["b"], "only the changed resource is sent");
  assert.deepEqual(changed.removedResources, []);
  ack(changed);

  await server.setSnapshot(clusterSnapshot(3, { a: 1, b: 2 }));
  const removal = await stream.next();
  assert.deepEqual(names(removal), []);
  assert.deepEqual(removal.removedResources, ["c"]);
  ack(removal);
  assert.ok(await stream.quiet());
});

test("explicit names: a missing name is reported removed once; unsubscribe stops updates", async (t) => {
  const { server, open } = await setup(t);
  const { stream, ack } = open();
  stream.send({ node, typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: ["a", "nope"] });
  const first = await stream.next();
  assert.deepEqual(names(first), ["a"]);
  assert.deepEqual(first.removedResources, ["nope"], "a subscribed name that does not exist is reported");
  ack(first);
  assert.ok(await stream.quiet(), "the absence is reported once");

  stream.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesUnsubscribe: ["a"] });
  assert.ok(await stream.quiet(), "unsubscribing needs no response");
  await server.setSnapshot(clusterSnapshot(2, { a: 9, b: 1, c: 1 }));
  assert.ok(await stream.quiet(), "no updates for an unsubscribed resource");

  stream.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: ["a"] });
  const again = await stream.next();
  assert.deepEqual(names(again), ["a"], "resubscribing sends the resource again");
});

test("resume: a reconnecting proxy declares what it holds and receives only what changed", async (t) => {
  const { server, open } = await setup(t);
  const one = open();
  one.stream.send({ node, typeUrl: TypeUrl.Cluster });
  const first = await one.stream.next();
  one.ack(first);
  const held = versions(first);
  one.stream.end();

  // Unchanged while away: the resumed stream gets nothing at all.
  const two = open();
  two.stream.send({ node, typeUrl: TypeUrl.Cluster, initialResourceVersions: held });
  assert.ok(await two.stream.quiet(), "nothing is resent to a proxy that already holds it");
  two.stream.end();

  // Changed while away: only the difference.
  await server.setSnapshot(clusterSnapshot(2, { a: 1, b: 5, d: 1 }));
  const three = open();
  three.stream.send({ node, typeUrl: TypeUrl.Cluster, initialResourceVersions: held });
  const catchUp = await three.stream.next();
  assert.deepEqual(names(catchUp), ["b", "d"]);
  assert.deepEqual(catchUp.removedResources, ["c"]);
});

test("NACK: the rejected resource is not resent; fixed content is sent; stale nonces still subscribe", async (t) => {
  const { server, open, metrics } = await setup(t);
  const { stream, ack } = open();
  stream.send({ node, typeUrl: TypeUrl.Cluster });
  const first = await stream.next();
  ack(first);
  await server.setSnapshot(clusterSnapshot(2, { a: 7, b: 1, c: 1 }));
  const bad = await stream.next();
  stream.send({
    typeUrl: TypeUrl.Cluster,
    responseNonce: bad.nonce,
    errorDetail: { code: 3, message: "a is bad" },
  });
  assert.ok(await stream.quiet(), "the rejected version is not resent");
  const status = server.proxies()[0]?.types.find((s) => s.typeUrl === TypeUrl.Cluster);
  assert.equal(status?.lastNack?.message, "a is bad");
  assert.equal(status?.ackedVersion, first.systemVersionInfo);
  assert.equal(await counterTotal(metrics.nacks), 1);

  await server.setSnapshot(clusterSnapshot(3, { a: 8, b: 1, c: 1 }));
  const fixed = await stream.next();
  assert.deepEqual(names(fixed), ["a"]);
  // A late request with an old nonce is not an ACK, but its subscription change applies.
  stream.send({
    typeUrl: TypeUrl.ClusterLoadAssignment,
    resourceNamesSubscribe: ["b"],
    responseNonce: "stale",
  });
  const eds = await stream.next();
  assert.equal(eds.typeUrl, TypeUrl.ClusterLoadAssignment);
  assert.deepEqual(names(eds), ["b"]);
  assert.equal(await counterTotal(metrics.staleRequests), 1);
});

test("resubscribing a missing name reports it missing again", async (t) => {
  const { open } = await setup(t);
  const { stream, ack } = open();
  stream.send({ node, typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: ["a", "nope"] });
  const first = await stream.next();
  assert.deepEqual(first.removedResources, ["nope"]);
  ack(first);
  stream.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesUnsubscribe: ["nope"] });
  assert.ok(await stream.quiet());
  stream.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: ["nope"] });
  const again = await stream.next();
  assert.deepEqual(again.removedResources, ["nope"], "the same resolved set, but a new name to answer");
});
