// NACK isolation with a raw ADS client playing the proxy: a rejected resource stays at the
// proxy's last good version while everything else keeps flowing, newer versions of it back off,
// a fix is sent and ACKed, and the rejection is visible per proxy and per config object.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { Any } from "@bufbuild/protobuf/wkt";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import type {
  DeltaDiscoveryResponse,
  DiscoveryResponse,
} from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import {
  clusterSnapshot,
  counterTotal,
  deltaStream,
  listenerSnapshot,
  sotwStream,
  startTestServer,
} from "./ads-test-client.ts";
import { FakeClock } from "../clock/index.ts";
import { TypeUrl } from "./resource-types.ts";

const node = { id: "proxy-1", metadata: { NAMESPACE: "default" } };

/** Listener name → its content marker (statPrefix `v<n>`), and the raw bytes of each. */
function listeners(response: DiscoveryResponse) {
  return Object.fromEntries(
    response.resources.map((any) => {
      const listener = anyUnpack(any, ListenerSchema)!;
      return [listener.name, listener.statPrefix];
    }),
  );
}

function bytesOf(response: { resources: Any[] }, name: string, unpackName: (any: Any) => string) {
  const any = response.resources.find((r) => unpackName(r) === name);
  assert.ok(any, `${name} in the response`);
  return Buffer.from(any.value).toString("base64");
}

const listenerName = (any: Any) => anyUnpack(any, ListenerSchema)?.name ?? "";
const clusterName = (any: Any) => anyUnpack(any, ClusterSchema)?.name ?? "";

async function gauge(metric: { get(): Promise<{ values: { value: number; labels: object }[] }> }) {
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function sotwListeners(t: TestContext, names: string[]) {
  const env = await startTestServer(t, listenerSnapshot(1, { l1: 1, l2: 1 }));
  const stream = sotwStream(env.connect());
  stream.send({ node, typeUrl: TypeUrl.Listener, resourceNames: names });
  const ack = (r: DiscoveryResponse) =>
    stream.send({
      typeUrl: TypeUrl.Listener,
      resourceNames: names,
      versionInfo: r.versionInfo,
      responseNonce: r.nonce,
    });
  const nack = (r: DiscoveryResponse, message: string) =>
    stream.send({
      typeUrl: TypeUrl.Listener,
      resourceNames: names,
      responseNonce: r.nonce,
      errorDetail: { code: 14, message },
    });
  return { ...env, stream, ack, nack };
}

test("SotW: one rejected listener keeps its last good bytes; other changes flow; a fix is ACKed", async (t) => {
  const { server, metrics, stream, ack, nack } = await sotwListeners(t, ["l1", "l2"]);
  const first = await stream.next();
  assert.deepEqual(listeners(first), { l1: "v1", l2: "v1" });
  const goodL1 = bytesOf(first, "l1", listenerName);
  ack(first);
  assert.ok(await stream.quiet());

  await server.setSnapshot(listenerSnapshot(2, { l1: 2, l2: 1 }));
  const bad = await stream.next();
  assert.deepEqual(listeners(bad), { l1: "v2", l2: "v1" });
  // As grpc-js-xds words it: positions in the response, l1 is the first resource.
  nack(bad, "xDS response validation errors: [resource index 0: Listener message validation failed: [boom]]");
  assert.ok(await stream.quiet(), "the rejected listener is not resent");

  const [status] = server.proxies();
  assert.equal(status?.types[0]?.lastNack?.rejectedVersion, bad.versionInfo);
  assert.equal(status?.types[0]?.ackedVersion, first.versionInfo);
  const [rejection] = status?.rejections ?? [];
  assert.deepEqual(
    { ...rejection, rejectedHash: undefined, keptHash: undefined, since: undefined, retryAt: undefined },
    {
      type: "lds",
      resource: "l1",
      rejectedHash: undefined,
      keptHash: undefined,
      error: "Listener message validation failed: [boom]",
      objects: ["Service default/l1"],
      since: undefined,
      count: 1,
      retryAt: undefined,
    },
  );
  assert.notEqual(rejection?.rejectedHash, rejection?.keptHash);
  assert.deepEqual(
    server.rejections().objects.map((o) => [o.object, o.proxies]),
    [["Service default/l1", 1]],
  );
  assert.equal(await gauge(metrics.rejectedResources), 1);
  assert.deepEqual(server.ackedCount(TypeUrl.Listener, "l1"), { subscribed: 1, acked: 0 });
  assert.deepEqual(server.ackedCount(TypeUrl.Listener, "l2"), { subscribed: 1, acked: 1 });

  // An unrelated change: l2's new version goes out with l1 at its last good bytes, not the bad ones.
  await server.setSnapshot(listenerSnapshot(3, { l1: 2, l2: 3 }));
  const unrelated = await stream.next();
  assert.deepEqual(listeners(unrelated), { l1: "v1", l2: "v3" });
  assert.equal(bytesOf(unrelated, "l1", listenerName), goodL1);
  ack(unrelated);
  assert.ok(await stream.quiet());
  assert.equal(server.proxies()[0]?.rejections.length, 1, "still held back: l1 has not changed");
  assert.deepEqual(server.ackedCount(TypeUrl.Listener, "l2"), { subscribed: 1, acked: 1 });

  await server.setSnapshot(listenerSnapshot(4, { l1: 4, l2: 3 }));
  const fixed = await stream.next();
  assert.deepEqual(listeners(fixed), { l1: "v4", l2: "v3" });
  ack(fixed);
  assert.ok(await stream.quiet());
  assert.deepEqual(server.proxies()[0]?.rejections, []);
  assert.equal(server.proxies()[0]?.types[0]?.ackedVersion, fixed.versionInfo);
  assert.deepEqual(server.rejections(), { objects: [], unattributed: [] });
  assert.equal(await gauge(metrics.rejectedResources), 0);
  assert.deepEqual(server.ackedCount(TypeUrl.Listener, "l1"), { subscribed: 1, acked: 1 });
  assert.equal(await counterTotal(metrics.nacks), 1);
});

test("SotW: a rejected listener the proxy never had stays out of the set until its content changes", async (t) => {
  const { server, stream, ack, nack } = await sotwListeners(t, ["l1", "l3"]);
  const first = await stream.next();
  assert.deepEqual(listeners(first), { l1: "v1" });
  ack(first);
  await server.setSnapshot(listenerSnapshot(2, { l1: 1, l2: 1, l3: 1 }));
  const withL3 = await stream.next();
  assert.deepEqual(listeners(withL3), { l1: "v1", l3: "v1" });
  // As Envoy words it: by name.
  nack(withL3, "Error adding/updating listener(s) l3: duplicate listener found\n");
  assert.ok(await stream.quiet());
  assert.equal(server.proxies()[0]?.rejections[0]?.keptHash, null);
  assert.equal(server.proxies()[0]?.rejections[0]?.error, nackTextOf(server));

  await server.setSnapshot(listenerSnapshot(3, { l1: 3, l2: 1, l3: 1 }));
  const unrelated = await stream.next();
  assert.deepEqual(listeners(unrelated), { l1: "v3" }, "l3 is left out: the proxy never had it");
  ack(unrelated);
  await server.setSnapshot(listenerSnapshot(4, { l1: 3, l2: 1, l3: 4 }));
  const fixed = await stream.next();
  assert.deepEqual(listeners(fixed), { l1: "v3", l3: "v4" });
  ack(fixed);
  assert.ok(await stream.quiet());
  assert.deepEqual(server.proxies()[0]?.rejections, []);
});

function nackTextOf(server: {
  proxies(): readonly { types: readonly { lastNack: { message: string } | null }[] }[];
}) {
  return server.proxies()[0]?.types[0]?.lastNack?.message;
}

test("SotW: the same answer repeated with a subscription change is not a second NACK", async (t) => {
  const { server, metrics, stream, ack } = await sotwListeners(t, ["l1", "l2"]);
  const first = await stream.next();
  ack(first);
  await server.setSnapshot(listenerSnapshot(2, { l1: 2, l2: 1 }));
  const bad = await stream.next();
  const error = { code: 14, message: "xDS response validation errors: [resource index 0: bad]" };
  stream.send({
    typeUrl: TypeUrl.Listener,
    resourceNames: ["l1", "l2"],
    responseNonce: bad.nonce,
    errorDetail: error,
  });
  assert.ok(await stream.quiet());
  // grpc-js-xds sends its last nonce and error again whenever it changes what it watches.
  stream.send({
    typeUrl: TypeUrl.Listener,
    resourceNames: ["l1"],
    responseNonce: bad.nonce,
    errorDetail: error,
  });
  const narrowed = await stream.next();
  assert.deepEqual(listeners(narrowed), { l1: "v1" }, "the new set, l1 still at its last good version");
  assert.equal(await counterTotal(metrics.nacks), 1);
  assert.equal(server.proxies()[0]?.types[0]?.nackCount, 1);
  assert.equal(server.proxies()[0]?.rejections[0]?.count, 1);
});

test("SotW backoff: newer versions of a resource rejected again wait 1 s, 2 s, ...; a fix resets it", async (t) => {
  const clock = new FakeClock(Date.parse("2025-01-01T00:00:00.000Z"));
  const env = await startTestServer(t, clusterSnapshot(1, { a: 1, b: 1 }), {
    now: () => new Date(clock.now()),
    timers: clock,
    backoff: { initialMs: 1000, maxMs: 60_000 },
  });
  const stream = sotwStream(env.connect());
  const ack = (r: DiscoveryResponse) =>
    stream.send({ typeUrl: TypeUrl.Cluster, versionInfo: r.versionInfo, responseNonce: r.nonce });
  const nack = (r: DiscoveryResponse) =>
    stream.send({
      typeUrl: TypeUrl.Cluster,
      responseNonce: r.nonce,
      errorDetail: { code: 14, message: "Error adding/updating cluster(s) a: bad connect_timeout" },
    });
  const timeoutOf = (r: DiscoveryResponse, name: string) =>
    r.resources.map((any) => anyUnpack(any, ClusterSchema)).find((c) => c?.name === name)?.connectTimeout
      ?.seconds;
  stream.send({ node, typeUrl: TypeUrl.Cluster });
  const first = await stream.next();
  ack(first);
  const goodA = bytesOf(first, "a", clusterName);

  let version = 1;
  const change = (a: number, b = 1) => env.server.setSnapshot(clusterSnapshot(++version, { a, b }));

  await change(2);
  nack(await stream.next()); // first rejection: the next version is offered at once
  await change(3);
  const third = await stream.next();
  assert.equal(timeoutOf(third, "a"), 3n);
  nack(third); // second in a row: newer versions wait 1 s
  assert.ok(await stream.quiet(100));

  await change(4);
  assert.ok(await stream.quiet(100), "a's newer version waits out the backoff");
  await change(4, 2);
  const unrelated = await stream.next();
  assert.equal(timeoutOf(unrelated, "b"), 2n, "other resources are not held up");
  assert.equal(bytesOf(unrelated, "a", clusterName), goodA, "a stays at its last good bytes");
  ack(unrelated);
  await clock.advance(999);
  assert.ok(await stream.quiet(100));
  await clock.advance(1);
  const retried = await stream.next();
  assert.equal(timeoutOf(retried, "a"), 4n, "after 1 s the newest version of a is offered");
  nack(retried); // third in a row: 2 s
  assert.ok(await stream.quiet(100));
  assert.equal(env.server.proxies()[0]?.rejections[0]?.count, 3);
  assert.equal(env.server.proxies()[0]?.rejections[0]?.retryAt, new Date(clock.now() + 2000).toISOString());

  await change(5, 2);
  await clock.advance(1999);
  assert.ok(await stream.quiet(100));
  await clock.advance(1);
  const fixed = await stream.next();
  assert.equal(timeoutOf(fixed, "a"), 5n);
  ack(fixed); // accepted: the series ends
  assert.ok(await stream.quiet(100));
  assert.deepEqual(env.server.proxies()[0]?.rejections, []);

  await change(6, 2);
  nack(await stream.next());
  await change(7, 2);
  assert.equal(
    timeoutOf(await stream.next(), "a"),
    7n,
    "after a fix, the first rejection costs no wait again",
  );
  assert.equal(clock.pendingTimers, 0, "no retry pending");
});

test("delta: the rejected resource is withheld, the accepted one of the same response is not resent", async (t) => {
  const clock = new FakeClock(Date.parse("2025-01-01T00:00:00.000Z"));
  const env = await startTestServer(t, clusterSnapshot(1, { a: 1, b: 1, c: 1 }), {
    now: () => new Date(clock.now()),
    timers: clock,
    backoff: { initialMs: 1000, maxMs: 60_000 },
  });
  const stream = deltaStream(env.connect());
  const ack = (r: DeltaDiscoveryResponse) => stream.send({ typeUrl: r.typeUrl, responseNonce: r.nonce });
  const nack = (r: DeltaDiscoveryResponse, message: string) =>
    stream.send({ typeUrl: r.typeUrl, responseNonce: r.nonce, errorDetail: { code: 3, message } });
  const sent = (r: DeltaDiscoveryResponse) => Object.fromEntries(r.resources.map((x) => [x.name, x.version]));
  stream.send({ node, typeUrl: TypeUrl.Cluster });
  const first = await stream.next();
  ack(first);

  await env.server.setSnapshot(clusterSnapshot(2, { a: 2, b: 2, c: 1 }));
  const both = await stream.next();
  assert.deepEqual(Object.keys(sent(both)).sort(), ["a", "b"]);
  nack(
    both,
    "Proto constraint validation failed (ClusterValidationError.Name: a: value length must be at least 1)",
  );
  assert.ok(await stream.quiet(100), "neither a (rejected) nor b (accepted) is resent");
  assert.deepEqual(env.server.ackedCount(TypeUrl.Cluster, "b"), { subscribed: 1, acked: 1 });
  assert.deepEqual(env.server.ackedCount(TypeUrl.Cluster, "a"), { subscribed: 1, acked: 0 });
  const [rejection] = env.server.proxies()[0]?.rejections ?? [];
  assert.equal(rejection?.resource, "a");
  assert.equal(rejection?.rejectedHash, sent(both).a);
  assert.equal(rejection?.keptHash, sent(first).a);

  await env.server.setSnapshot(clusterSnapshot(3, { a: 2, b: 2, c: 3 }));
  const unrelated = await stream.next();
  assert.deepEqual(Object.keys(sent(unrelated)), ["c"]);
  ack(unrelated);

  await env.server.setSnapshot(clusterSnapshot(4, { a: 4, b: 2, c: 3 }));
  const again = await stream.next();
  assert.deepEqual(Object.keys(sent(again)), ["a"], "a newer version after one rejection is offered at once");
  nack(again, "resource index 0: still bad");
  await env.server.setSnapshot(clusterSnapshot(5, { a: 5, b: 2, c: 3 }));
  assert.ok(await stream.quiet(100), "the next one waits out the backoff");
  await clock.advance(1000);
  const retried = await stream.next();
  assert.deepEqual(Object.keys(sent(retried)), ["a"]);
  ack(retried);
  assert.ok(await stream.quiet(100));
  assert.deepEqual(env.server.proxies()[0]?.rejections, []);
  assert.deepEqual(env.server.ackedCount(TypeUrl.Cluster, "a"), { subscribed: 1, acked: 1 });
});

test("a closed stream takes its rejections and counts with it", async (t) => {
  const { server, metrics, stream, ack, nack } = await sotwListeners(t, ["l1", "l2"]);
  ack(await stream.next());
  await server.setSnapshot(listenerSnapshot(2, { l1: 2, l2: 1 }));
  nack(await stream.next(), "Error adding/updating listener(s) l1: bad");
  assert.ok(await stream.quiet(100));
  assert.equal(server.rejections().objects.length, 1);
  stream.end();
  for (let i = 0; i < 50 && server.streamCount > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(server.streamCount, 0);
  assert.deepEqual(server.rejections(), { objects: [], unattributed: [] });
  assert.equal(await gauge(metrics.rejectedResources), 0);
  assert.deepEqual(server.ackedCount(TypeUrl.Listener, "l2"), { subscribed: 0, acked: 0 });
});

test("SotW EDS: a rejected resource of a partial response stays at its last good version; the backoff retry reaches only its stream", async (t) => {
  const clock = new FakeClock(Date.parse("2025-01-01T00:00:00.000Z"));
  const env = await startTestServer(t, clusterSnapshot(1, { a: 1, b: 1, c: 1 }), {
    now: () => new Date(clock.now()),
    timers: clock,
    backoff: { initialMs: 1000, maxMs: 60_000 },
  });
  const open = (id: string, names: string[]) => {
    const stream = sotwStream(env.connect());
    const send = (fields: Parameters<typeof stream.send>[0]) =>
      stream.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: names, ...fields });
    send({ node: { ...node, id } });
    return {
      stream,
      ack: (r: DiscoveryResponse) => send({ versionInfo: r.versionInfo, responseNonce: r.nonce }),
      nack: (r: DiscoveryResponse) =>
        send({ responseNonce: r.nonce, errorDetail: { code: 14, message: "resource index 0: bad" } }),
    };
  };
  const factor = (r: DiscoveryResponse) =>
    Object.fromEntries(
      r.resources.map((any) => {
        const assignment = anyUnpack(any, ClusterLoadAssignmentSchema);
        return [assignment?.clusterName, assignment?.policy?.overprovisioningFactor];
      }),
    );
  const one = open("one", ["a", "b", "c"]);
  const other = open("other", ["b"]);
  const first = await one.stream.next();
  assert.deepEqual(factor(first), { a: 1, b: 1, c: 1 });
  one.ack(first);
  other.ack(await other.stream.next());

  let version = 1;
  const contents = { a: 1, b: 1, c: 1 };
  const change = (name: "a" | "b", content: number) => {
    contents[name] = content;
    return env.server.setSnapshot(clusterSnapshot(++version, { ...contents }, { names: [name] }));
  };
  const evaluations = () => counterTotal(env.metrics.evaluations);

  let evaluated = await evaluations();
  await change("a", 2);
  assert.equal((await evaluations()) - evaluated, 1, "only the stream holding a is evaluated");
  const second = await one.stream.next();
  assert.deepEqual(factor(second), { a: 2 }, "the partial response carries a alone");
  one.nack(second); // the first rejection: the next version is offered at once
  await change("a", 3);
  const third = await one.stream.next();
  assert.deepEqual(factor(third), { a: 3 });
  one.nack(third); // the second in a row: newer versions wait 1 s
  assert.ok(await one.stream.quiet(100));
  await change("a", 4);
  assert.ok(await one.stream.quiet(100), "a's newer version waits out the backoff");

  evaluated = await evaluations();
  await change("b", 2);
  assert.equal((await evaluations()) - evaluated, 2, "both streams hold b");
  const withB = await one.stream.next();
  assert.deepEqual(factor(withB), { b: 2 }, "a stays at its last good version, which the proxy holds");
  one.ack(withB);
  const otherB = await other.stream.next();
  assert.deepEqual(factor(otherB), { b: 2 });
  other.ack(otherB);
  assert.deepEqual(env.server.ackedCount(TypeUrl.ClusterLoadAssignment, "a"), { subscribed: 1, acked: 0 });

  await clock.advance(1000);
  const retried = await one.stream.next();
  assert.deepEqual(factor(retried), { a: 4 }, "after 1 s the newest version of a is offered");
  one.ack(retried);
  assert.ok(await other.stream.quiet(100), "the retry is the rejecting stream's alone");
  assert.ok(await one.stream.quiet(100));
  assert.deepEqual(env.server.proxies().find((p) => p.nodeId === "one")?.rejections, []);
  assert.deepEqual(env.server.ackedCount(TypeUrl.ClusterLoadAssignment, "a"), { subscribed: 1, acked: 1 });
});
