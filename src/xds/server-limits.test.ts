// The xDS input limits through a real server: each refused request or stream ends with the
// status code of its kind and a message naming the limit, is counted and logged once with a
// bounded node id, and a closed stream gives back everything it held.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  DeltaDiscoveryRequestSchema,
  DiscoveryRequestSchema,
} from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { ProxyProfile } from "../pipeline/index.ts";
import type { Limits } from "../limits/index.ts";
import { createLogger } from "../telemetry/index.ts";
import { clusterSnapshot, deltaStream, rawClient, sotwStream, startTestServer } from "./ads-test-client.ts";
import { TypeUrl } from "./resource-types.ts";
import { nackTextChars } from "./stream.ts";

/** A logger whose JSON lines the test reads. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, lines };
}

async function server(t: TestContext, limits: Partial<Limits>) {
  const { logger, lines } = capturingLogger();
  const started = await startTestServer(t, clusterSnapshot(1, { a: 1, b: 1 }), { limits, logger });
  return { ...started, lines };
}

/** Polls `condition` every 20 ms for up to `ms`; fails with `what`. */
async function until(condition: () => boolean, what: string, ms = 2000): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited >= ms) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function refusals(metrics: Awaited<ReturnType<typeof server>>["metrics"]) {
  const { values } = await metrics.inputRefusals.get();
  return Object.fromEntries(values.map((v) => [String(v.labels.limit), v.value]));
}

type Sotw = MessageInitShape<typeof DiscoveryRequestSchema>;
type Delta = MessageInitShape<typeof DeltaDiscoveryRequestSchema>;
const names = (n: number, prefix = "n") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const node = { id: "proxy-1" };

const requestCases: {
  name: string;
  limits: Partial<Limits>;
  requests: { sotw: Sotw[] } | { delta: Delta[] };
  code: grpc.status;
  limit: string;
  node: string | undefined;
}[] = [
  {
    name: "SotW: more names than xds.namesPerRequest",
    limits: { "xds.namesPerRequest": 3 },
    requests: { sotw: [{ node, typeUrl: TypeUrl.Cluster, resourceNames: names(4) }] },
    code: grpc.status.RESOURCE_EXHAUSTED,
    limit: "xds.namesPerRequest",
    node: "proxy-1",
  },
  {
    name: "delta: subscribe plus unsubscribe over xds.namesPerRequest",
    limits: { "xds.namesPerRequest": 3 },
    requests: {
      delta: [
        {
          node,
          typeUrl: TypeUrl.Cluster,
          resourceNamesSubscribe: names(2),
          resourceNamesUnsubscribe: names(2, "u"),
        },
      ],
    },
    code: grpc.status.RESOURCE_EXHAUSTED,
    limit: "xds.namesPerRequest",
    node: "proxy-1",
  },
  {
    name: "delta: subscriptions adding up over xds.namesPerRequest on one stream",
    limits: { "xds.namesPerRequest": 3 },
    requests: {
      delta: [
        { node, typeUrl: TypeUrl.Cluster, resourceNamesSubscribe: names(2) },
        { typeUrl: TypeUrl.Cluster, resourceNamesSubscribe: names(2, "m") },
      ],
    },
    code: grpc.status.RESOURCE_EXHAUSTED,
    limit: "xds.namesPerRequest",
    node: "proxy-1",
  },
  {
    name: "a name longer than xds.nameBytes",
    limits: { "xds.nameBytes": 16 },
    requests: { sotw: [{ node, typeUrl: TypeUrl.Cluster, resourceNames: ["x".repeat(17)] }] },
    code: grpc.status.INVALID_ARGUMENT,
    limit: "xds.nameBytes",
    node: "proxy-1",
  },
  {
    name: "a node id longer than xds.nodeIdBytes (logged as an excerpt)",
    limits: { "xds.nodeIdBytes": 64 },
    requests: { sotw: [{ node: { id: `long-${"i".repeat(1000)}` }, typeUrl: TypeUrl.Cluster }] },
    code: grpc.status.INVALID_ARGUMENT,
    limit: "xds.nodeIdBytes",
    node: `long-${"i".repeat(115)}…(1005 bytes in all)`,
  },
  {
    name: "node metadata larger than xds.nodeMetadataBytes",
    limits: { "xds.nodeMetadataBytes": 32 },
    requests: {
      delta: [{ node: { id: "p", metadata: { NAMESPACE: "n".repeat(40) } }, typeUrl: TypeUrl.Cluster }],
    },
    code: grpc.status.INVALID_ARGUMENT,
    limit: "xds.nodeMetadataBytes",
    node: "p",
  },
];

for (const { name, limits, requests, code, limit, node: loggedNode } of requestCases) {
  test(`refused: ${name}`, async (t) => {
    const { server: xds, metrics, connect, lines } = await server(t, limits);
    let ended;
    if ("sotw" in requests) {
      const stream = sotwStream(connect());
      for (const request of requests.sotw) stream.send(request);
      ended = await stream.ended();
    } else {
      const stream = deltaStream(connect());
      for (const request of requests.delta) stream.send(request);
      ended = await stream.ended();
    }
    assert.equal(ended.code, code, `status ${grpc.status[ended.code]}: ${ended.details}`);
    assert.match(
      ended.details,
      new RegExp(`exceeds limit ${limit.replace(".", "\\.")} of .*--limit ${limit}=VALUE`),
    );
    assert.deepEqual(await refusals(metrics), { [limit]: 1 });
    const logged = lines.filter((line) => line.msg === "xDS request refused; stream ended");
    assert.equal(logged.length, 1, JSON.stringify(lines));
    assert.equal(logged[0]?.limit, limit);
    assert.equal(logged[0]?.node, loggedNode);
    await until(() => xds.streamCount === 0, "the refused stream to be released");
  });
}

test("refused: a malformed request ends its stream with INVALID_ARGUMENT and is never decoded", async (t) => {
  const { connect } = await server(t, {});
  const client = connect();
  const call = client.makeBidiStreamRequest(
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
    (bytes: Buffer) => bytes,
    (bytes: Buffer) => bytes,
  );
  const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  call.on("error", () => {});
  // resource_names (field 3) with a varint wire type: the decoder would read a name from it.
  call.write(Buffer.from([0x18, 0x02, 0x61, 0x62]));
  const ended = await status;
  assert.equal(ended.code, grpc.status.INVALID_ARGUMENT);
  assert.match(ended.details, /not a well-formed envoy\.service\.discovery\.v3\.DiscoveryRequest/);
});

const streamCases: { limit: "xds.streamsPerPeer" | "xds.streams" }[] = [
  { limit: "xds.streamsPerPeer" },
  { limit: "xds.streams" },
];

for (const { limit } of streamCases) {
  test(`refused: a stream beyond ${limit}, until one closes`, async (t) => {
    const { server: xds, metrics, port, lines } = await server(t, { [limit]: 2 });
    const clients: grpc.Client[] = [];
    t.after(() => clients.forEach((c) => c.close()));
    const open = () => {
      const client = rawClient(port);
      clients.push(client);
      const stream = sotwStream(client);
      stream.send({ node, typeUrl: TypeUrl.Cluster });
      return stream;
    };
    const first = open();
    await first.next();
    await open().next();
    const third = open();
    const ended = await third.ended();
    assert.equal(ended.code, grpc.status.RESOURCE_EXHAUSTED, ended.details);
    assert.match(ended.details, new RegExp(`limit ${limit.replace(".", "\\.")} of 2`));
    assert.deepEqual(await refusals(metrics), { [limit]: 1 });
    assert.equal(lines.filter((line) => line.limit === limit).length, 1);
    first.end();
    await until(() => xds.streamCount === 1, "the closed stream to be released");
    await open().next();
  });
}

test("xds.streamsPerConnection: streams beyond it wait on the connection instead of opening", async (t) => {
  const { server: xds, connect } = await server(t, { "xds.streamsPerConnection": 2 });
  const client = connect();
  const streams = [sotwStream(client), sotwStream(client), sotwStream(client)];
  for (const stream of streams) stream.send({ node, typeUrl: TypeUrl.Cluster });
  await streams[0]?.next();
  await streams[1]?.next();
  assert.ok(await streams[2]?.quiet(300), "the third stream is held back by HTTP/2");
  assert.equal(xds.streamCount, 2);
  streams[0]?.end();
  await streams[2]?.next();
});

test("a closed stream releases its status, rejections, reach counts and peer count", async (t) => {
  const { server: xds, connect } = await server(t, { "xds.streamsPerPeer": 1 });
  const stream = sotwStream(connect());
  stream.send({ node: { id: "nacker" }, typeUrl: TypeUrl.Cluster });
  const sent = await stream.next();
  stream.send({
    typeUrl: TypeUrl.Cluster,
    responseNonce: sent.nonce,
    errorDetail: { code: 3, message: `cluster a: ${"bad ".repeat(250_000)}` },
  });
  await until(() => xds.rejections().unattributed.length > 0, "the NACK to be recorded");
  const nack = xds.proxies()[0]?.types[0]?.lastNack;
  assert.ok(
    nack && nack.message.length < nackTextChars + 40,
    `kept NACK text: ${nack?.message.length} chars`,
  );
  assert.ok(xds.ackedCount(TypeUrl.Cluster, "b").subscribed > 0);

  stream.end();
  await until(() => xds.streamCount === 0, "the stream to be released");
  assert.deepEqual(xds.proxies(), []);
  assert.deepEqual(xds.rejections(), { objects: [], unattributed: [] });
  assert.deepEqual(xds.ackedCount(TypeUrl.Cluster, "a"), { subscribed: 0, acked: 0 });
  assert.deepEqual(xds.ackedCount(TypeUrl.Cluster, "b"), { subscribed: 0, acked: 0 });
  const again = sotwStream(connect());
  again.send({ node: { id: "nacker" }, typeUrl: TypeUrl.Cluster });
  await again.next();
});

test("a closed stream's proxy group is dropped from the cache with its last proxy", async (t) => {
  // LDS-like: resources depend on the proxy's profile, so each namespace is a group of its own.
  const base = clusterSnapshot(1, { a: 1 });
  let generated = 0;
  const snapshot = {
    ...base,
    profileGroup: (_typeUrl: string, profile: ProxyProfile) => `${profile.flavour}|ns=${profile.namespace}`,
    generate: (...args: Parameters<typeof base.generate>) => {
      generated++;
      return base.generate(...args);
    },
  };
  const { server: xds, connect } = await startTestServer(t, snapshot);
  const proxy = async () => {
    const stream = sotwStream(connect());
    stream.send({ node: { id: "p", metadata: { NAMESPACE: "team-a" } }, typeUrl: TypeUrl.Cluster });
    await stream.next();
    return stream;
  };
  const first = await proxy();
  const second = await proxy();
  assert.equal(generated, 1, "proxies of one profile share what was generated");
  first.end();
  second.end();
  await until(() => xds.streamCount === 0, "both streams to be released");
  await proxy();
  assert.equal(generated, 2, "the group went with its last proxy and is generated anew");
});
