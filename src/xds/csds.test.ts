// CSDS: per-resource statuses from subscription state (a table), node matching, the request
// limits, and the service over gRPC against a proxy that ACKs one cluster and NACKs another.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { ClientResourceStatus } from "../gen/envoy/admin/v3/config_dump_shared_pb.js";
import { NodeSchema } from "../gen/envoy/config/core/v3/base_pb.js";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import {
  ClientStatusRequestSchema,
  ClientStatusResponseSchema,
  ConfigStatus,
  type ClientStatusResponse,
} from "../gen/envoy/service/status/v3/csds_pb.js";
import { NodeMatcherSchema } from "../gen/envoy/type/matcher/v3/node_pb.js";
import { defaultLimits, LimitExceededError } from "../limits/index.ts";
import { clusterSnapshot, counterTotal, sotwStream, startTestServer } from "./ads-test-client.ts";
import type { EncodedResource } from "./cache.ts";
import {
  CsdsRequestError,
  decodeStatusRequest,
  nodeFilter,
  resourceStatuses,
  type SubscriptionState,
} from "./csds.ts";
import type { Rejection } from "./rejections.ts";
import { TypeUrl } from "./resource-types.ts";
import { absent, type Held, type InFlight } from "./subscription.ts";
import { encodeAny } from "./wire.ts";

const resource = (name: string, hash: string): EncodedResource =>
  ({
    name,
    hash,
    any: encodeAny(
      TypeUrl.Cluster,
      toBinary(ClusterSchema, create(ClusterSchema, { name, altStatName: hash })),
    ),
    source: undefined,
  }) as unknown as EncodedResource;

const rejection = (rejectedHash: string, error: string): Rejection => ({
  rejectedHash,
  keptHash: null,
  error,
  objects: [],
  since: new Date(1_000),
  at: new Date(2_000),
  count: 2,
  retryAt: 3_000,
});

const inFlight = (...resources: EncodedResource[]): InFlight => ({
  nonce: "7",
  version: "v",
  resources,
  removed: [],
  replacesSet: false,
  withheld: new Set(),
});

function state(fields: {
  names?: string[];
  wildcard?: boolean;
  held?: [string, Held][];
  rejections?: [string, Rejection][];
  inFlight?: InFlight;
  target?: EncodedResource[];
}): SubscriptionState {
  return {
    typeUrl: TypeUrl.Cluster,
    wildcard: fields.wildcard ?? false,
    names: new Set(fields.names ?? []),
    held: new Map(fields.held ?? []),
    rejections: new Map(fields.rejections ?? []),
    inFlight: fields.inFlight,
    target: fields.target && { version: "set", resources: fields.target },
  };
}

const a1 = resource("a", "a1");
const a2 = resource("a", "a2");
const b1 = resource("b", "b1");
const { ACKED, NACKED, REQUESTED, DOES_NOT_EXIST } = ClientResourceStatus;
const { SYNCED, STALE, NOT_SENT, ERROR } = ConfigStatus;

const cases: [
  title: string,
  state: SubscriptionState,
  expected: { name: string; client: ClientResourceStatus; config: ConfigStatus; version: string }[],
][] = [
  [
    "accepted the version meant for it: ACKED, SYNCED",
    state({ names: ["a"], held: [["a", a1]], target: [a1] }),
    [{ name: "a", client: ACKED, config: SYNCED, version: "a1" }],
  ],
  [
    "a newer version in flight: still ACKED on the old one, STALE",
    state({ names: ["a"], held: [["a", a1]], target: [a2], inFlight: inFlight(a2) }),
    [{ name: "a", client: ACKED, config: STALE, version: "a1" }],
  ],
  [
    "a newer version not sent yet (flow control): NOT_SENT",
    state({ names: ["a"], held: [["a", a1]], target: [a2] }),
    [{ name: "a", client: ACKED, config: NOT_SENT, version: "a1" }],
  ],
  [
    "rejected: NACKED on its last good version, ERROR",
    state({ names: ["a"], held: [["a", a1]], target: [a2], rejections: [["a", rejection("a2", "bad a")]] }),
    [{ name: "a", client: NACKED, config: ERROR, version: "a1" }],
  ],
  [
    "rejected, and a newer version sent since: still NACKED, the newer one STALE",
    state({
      names: ["a"],
      held: [["a", a1]],
      target: [resource("a", "a3")],
      inFlight: inFlight(resource("a", "a3")),
      rejections: [["a", rejection("a2", "bad a")]],
    }),
    [{ name: "a", client: NACKED, config: STALE, version: "a1" }],
  ],
  [
    "asked for, never evaluated: REQUESTED",
    state({ names: ["a"] }),
    [{ name: "a", client: REQUESTED, config: NOT_SENT, version: "" }],
  ],
  [
    "asked for, sent, not answered yet: REQUESTED, STALE",
    state({ names: ["a"], target: [a1], inFlight: inFlight(a1) }),
    [{ name: "a", client: REQUESTED, config: STALE, version: "" }],
  ],
  [
    "asked for, no such resource: DOES_NOT_EXIST",
    state({ names: ["a", "zz"], held: [["a", a1]], target: [a1] }),
    [
      { name: "a", client: ACKED, config: SYNCED, version: "a1" },
      { name: "zz", client: DOES_NOT_EXIST, config: NOT_SENT, version: "" },
    ],
  ],
  [
    "delta: told it is gone and ACKed that: DOES_NOT_EXIST, SYNCED",
    state({ names: ["a"], held: [["a", absent]], target: [] }),
    [{ name: "a", client: DOES_NOT_EXIST, config: SYNCED, version: "" }],
  ],
  [
    "delta resume: holds a declared version only",
    state({ names: ["a"], held: [["a", "a1"]], target: [a1] }),
    [{ name: "a", client: ACKED, config: SYNCED, version: "a1" }],
  ],
  [
    "wildcard: what it holds and what it is meant to have, by name",
    state({ wildcard: true, held: [["b", b1]], target: [a1, b1] }),
    [
      { name: "a", client: REQUESTED, config: NOT_SENT, version: "" },
      { name: "b", client: ACKED, config: SYNCED, version: "b1" },
    ],
  ],
];

for (const [title, subscription, expected] of cases) {
  test(`resourceStatuses: ${title}`, () => {
    const statuses = resourceStatuses(subscription, true);
    assert.deepEqual(
      statuses.map((s) => ({
        name: s.name,
        client: s.clientStatus,
        config: s.configStatus,
        version: s.versionInfo,
      })),
      expected,
    );
    for (const status of statuses) assert.equal(status.typeUrl, TypeUrl.Cluster);
  });
}

test("resourceStatuses: the config is the accepted version; a NACK carries the rejected one and why", () => {
  const subscription = state({
    names: ["a"],
    held: [["a", a1]],
    target: [a2],
    rejections: [["a", rejection("a2", "bad a")]],
  });
  const [status] = resourceStatuses(subscription, true);
  assert.equal(status?.xdsConfig && anyUnpack(status.xdsConfig, ClusterSchema)?.altStatName, "a1");
  const failure = status?.errorState;
  assert.equal(failure?.details, "bad a");
  assert.equal(failure?.versionInfo, "a2");
  assert.equal(failure?.lastUpdateAttempt?.seconds, 2n, "the latest rejection, not the first");
  assert.equal(
    failure?.failedConfiguration && anyUnpack(failure.failedConfiguration, ClusterSchema)?.altStatName,
    "a2",
  );
  const [bare] = resourceStatuses(subscription, false);
  assert.equal(bare?.xdsConfig, undefined, "exclude_resource_contents leaves the config out");
  assert.equal(bare?.errorState?.failedConfiguration, undefined);
});

const node = (id: string) => create(NodeSchema, { id });
const matcher = (nodeId: MessageInitShape<typeof NodeMatcherSchema>["nodeId"]) =>
  create(NodeMatcherSchema, { nodeId });

test("nodeFilter: exact, prefix, suffix, contains, ignore_case; OR across matchers; none matches all", () => {
  const ids = ["default/a", "default/b", "team/A", "team/b-canary"];
  const matching = (matchers: ReturnType<typeof matcher>[]) => {
    const filter = nodeFilter(matchers);
    return ids.filter((id) => filter(node(id)));
  };
  assert.deepEqual(matching([]), ids);
  assert.deepEqual(matching([matcher({ matchPattern: { case: "exact", value: "default/a" } })]), [
    "default/a",
  ]);
  assert.deepEqual(matching([matcher({ matchPattern: { case: "prefix", value: "team/" } })]), [
    "team/A",
    "team/b-canary",
  ]);
  assert.deepEqual(matching([matcher({ matchPattern: { case: "suffix", value: "-canary" } })]), [
    "team/b-canary",
  ]);
  assert.deepEqual(matching([matcher({ matchPattern: { case: "contains", value: "/b" } })]), [
    "default/b",
    "team/b-canary",
  ]);
  assert.deepEqual(
    matching([matcher({ matchPattern: { case: "exact", value: "TEAM/a" }, ignoreCase: true })]),
    ["team/A"],
  );
  assert.deepEqual(
    matching([
      matcher({ matchPattern: { case: "exact", value: "default/a" } }),
      matcher({ matchPattern: { case: "suffix", value: "canary" } }),
    ]),
    ["default/a", "team/b-canary"],
  );
});

test("nodeFilter: regular expressions and metadata matchers are refused as UNIMPLEMENTED, never ignored", () => {
  const refusal = (matchers: ReturnType<typeof matcher>[]) => {
    try {
      nodeFilter(matchers);
    } catch (error) {
      return error;
    }
    return undefined;
  };
  const regex = refusal([matcher({ matchPattern: { case: "safeRegex", value: { regex: "(a+)+$" } } })]);
  assert.ok(regex instanceof CsdsRequestError);
  assert.equal(regex.code, grpc.status.UNIMPLEMENTED);
  assert.match(regex.message, /node_matchers\[0\]\.node_id: safeRegex is not supported/);
  const metadata = refusal([
    create(NodeMatcherSchema, { nodeMetadatas: [{ path: [{ segment: { case: "key", value: "k" } }] }] }),
  ]);
  assert.ok(metadata instanceof CsdsRequestError);
  assert.equal(metadata.code, grpc.status.UNIMPLEMENTED);
});

test("decodeStatusRequest: node matchers are counted on the bytes, before decoding", () => {
  const limits = { ...defaultLimits, "csds.nodeMatchers": 3 };
  const request = (count: number) =>
    toBinary(
      ClientStatusRequestSchema,
      create(ClientStatusRequestSchema, {
        nodeMatchers: Array.from({ length: count }, (_, i) =>
          matcher({ matchPattern: { case: "exact", value: `n${i}` } }),
        ),
      }),
    );
  const ok = decodeStatusRequest(request(3), limits);
  assert.ok(!(ok instanceof Error));
  assert.equal(ok.nodeMatchers.length, 3);
  const refused = decodeStatusRequest(request(4), limits);
  assert.ok(refused instanceof LimitExceededError);
  assert.equal(refused.limit, "csds.nodeMatchers");
  assert.ok(decodeStatusRequest(new Uint8Array([0x0a, 0x05, 0x01]), limits) instanceof Error, "malformed");
});

const csdsPath = "/envoy.service.status.v3.ClientStatusDiscoveryService";

function fetchStatus(
  client: grpc.Client,
  request: MessageInitShape<typeof ClientStatusRequestSchema>,
): Promise<ClientStatusResponse> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `${csdsPath}/FetchClientStatus`,
      (message: MessageInitShape<typeof ClientStatusRequestSchema>) =>
        Buffer.from(toBinary(ClientStatusRequestSchema, create(ClientStatusRequestSchema, message))),
      (bytes: Buffer) => fromBinary(ClientStatusResponseSchema, bytes),
      request,
      (error, response) =>
        error || !response ? reject(error ?? new Error("no response")) : resolve(response),
    );
  });
}

/** A proxy on CDS that ACKs the first version and NACKs the second, which changes cluster a. */
async function proxyWithNack(t: TestContext) {
  const started = await startTestServer(t, clusterSnapshot(1, { a: 1, b: 1 }));
  const stream = sotwStream(started.connect());
  stream.send({ typeUrl: TypeUrl.Cluster, node: { id: "team/nacker", userAgentName: "test" } });
  const first = await stream.next();
  stream.send({ typeUrl: TypeUrl.Cluster, versionInfo: first.versionInfo, responseNonce: first.nonce });
  void started.server.setSnapshot(clusterSnapshot(2, { a: 2, b: 1 }, { names: ["a"] }));
  const bad = await stream.next();
  stream.send({
    typeUrl: TypeUrl.Cluster,
    versionInfo: first.versionInfo,
    responseNonce: bad.nonce,
    errorDetail: { code: 3, message: "resource index 0: cluster a: connect_timeout too long" },
  });
  assert.ok(await stream.quiet(), "the rejected version is not resent");
  return started;
}

test("FetchClientStatus over gRPC: per client, ACKED and NACKED resources with the client's error", async (t) => {
  const { connect } = await proxyWithNack(t);
  const client = connect();
  const response = await fetchStatus(client, {});
  assert.equal(response.config.length, 1);
  const [config] = response.config;
  assert.equal(config?.node?.id, "team/nacker");
  assert.equal(config?.node?.userAgentName, "test");
  const byName = new Map(config?.genericXdsConfigs.map((c) => [c.name, c]));
  const a = byName.get("a");
  const b = byName.get("b");
  assert.equal(a?.clientStatus, NACKED);
  assert.equal(a?.configStatus, ERROR);
  assert.match(a?.errorState?.details ?? "", /connect_timeout too long/);
  assert.equal(
    a?.xdsConfig && anyUnpack(a.xdsConfig, ClusterSchema)?.connectTimeout?.seconds,
    1n,
    "the config is the version the client kept",
  );
  assert.equal(b?.clientStatus, ACKED);
  assert.equal(b?.configStatus, SYNCED);
  assert.equal(b?.typeUrl, TypeUrl.Cluster);

  const none = await fetchStatus(client, {
    nodeMatchers: [{ nodeId: { matchPattern: { case: "prefix", value: "other/" } } }],
  });
  assert.deepEqual(none.config, [], "a matcher no client matches selects nobody");
});

test("CSDS refuses a request over its limits with a status naming the limit, and counts it", async (t) => {
  const started = await startTestServer(t, clusterSnapshot(1, { a: 1 }), {
    limits: { "csds.nodeMatchers": 2, "csds.responseBytes": 1 },
  });
  const stream = sotwStream(started.connect());
  stream.send({ typeUrl: TypeUrl.Cluster, node: { id: "p" } });
  await stream.next();
  const client = started.connect();
  const tooMany = await fetchStatus(client, {
    nodeMatchers: [{}, {}, {}].map(() => ({ nodeId: { matchPattern: { case: "exact", value: "p" } } })),
  }).catch((error: grpc.ServiceError) => error);
  assert.equal((tooMany as grpc.ServiceError).code, grpc.status.RESOURCE_EXHAUSTED);
  assert.match((tooMany as grpc.ServiceError).details, /csds\.nodeMatchers/);
  const tooBig = await fetchStatus(client, {}).catch((error: grpc.ServiceError) => error);
  assert.equal((tooBig as grpc.ServiceError).code, grpc.status.RESOURCE_EXHAUSTED);
  assert.match((tooBig as grpc.ServiceError).details, /csds\.responseBytes/);
  assert.equal(await counterTotal(started.metrics.inputRefusals), 2);
});

test("StreamClientStatus answers each request with the state at that moment", async (t) => {
  const { connect, server } = await proxyWithNack(t);
  const client = connect();
  const call = client.makeBidiStreamRequest(
    `${csdsPath}/StreamClientStatus`,
    (message: MessageInitShape<typeof ClientStatusRequestSchema>) =>
      Buffer.from(toBinary(ClientStatusRequestSchema, create(ClientStatusRequestSchema, message))),
    (bytes: Buffer) => fromBinary(ClientStatusResponseSchema, bytes),
  );
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  const responses: ClientStatusResponse[] = [];
  const next = () =>
    new Promise<ClientStatusResponse>((resolve) =>
      call.once("data", (r: ClientStatusResponse) => resolve(r)),
    );
  let reply = next();
  call.write({});
  responses.push(await reply);
  // The fixed version: the proxy is offered it and has not answered it yet.
  await server.setSnapshot(clusterSnapshot(3, { a: 3, b: 1 }, { names: ["a"] }));
  reply = next();
  call.write({});
  responses.push(await reply);
  const status = (r: ClientStatusResponse) =>
    r.config[0]?.genericXdsConfigs.find((c) => c.name === "a")?.configStatus;
  assert.equal(status(responses[0]!), ERROR);
  assert.equal(status(responses[1]!), STALE, "the fix is sent and not answered yet");
  call.end();
  assert.equal((await ended).code, grpc.status.OK, "the server ends the stream when the client does");
});
