// Protocol tests of the SotW ADS server with a raw gRPC client that plays the proxy, so each
// protocol step (ACK, NACK, stale nonce, flow control) is driven and observed exactly.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import {
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { createLogger, createMetrics, silentLogger } from "../telemetry/index.ts";
import { packedTypesRegistry, type GeneratedResource } from "../translate/index.ts";
import { ResourceCache, type ConfigSnapshot } from "./cache.ts";
import { TypeUrl } from "./resource-types.ts";
import { XdsServer } from "./server.ts";

/** A snapshot whose CDS holds one cluster per name in `clusters`, with a tunable timeout. */
function snapshot(version: number, clusters: Record<string, number>): ConfigSnapshot {
  return {
    version,
    isProfileDependent: () => false,
    generate: (_profile, typeUrl, request): GeneratedResource[] => {
      if (typeUrl !== TypeUrl.Cluster) return [];
      const names = request.wildcard ? Object.keys(clusters) : request.names.filter((n) => n in clusters);
      return names.map((name) => ({
        name,
        typeUrl,
        schema: ClusterSchema,
        message: create(ClusterSchema, {
          name,
          connectTimeout: { seconds: BigInt(clusters[name] as number) },
        }),
      }));
    },
  };
}

class FakeProxy {
  private readonly responses: DiscoveryResponse[] = [];
  private readonly waiters: ((r: DiscoveryResponse) => void)[] = [];
  readonly call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;

  constructor(client: grpc.Client) {
    this.call = client.makeBidiStreamRequest(
      "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
      (r: DiscoveryRequest) => Buffer.from(toBinary(DiscoveryRequestSchema, r)),
      (b: Buffer) => fromBinary(DiscoveryResponseSchema, b),
    );
    this.call.on("data", (r: DiscoveryResponse) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(r);
      else this.responses.push(r);
    });
    this.call.on("error", () => {});
  }

  send(fields: MessageInitShape<typeof DiscoveryRequestSchema>): void {
    this.call.write(create(DiscoveryRequestSchema, { typeUrl: TypeUrl.Cluster, ...fields }));
  }

  next(timeoutMs = 2000): Promise<DiscoveryResponse> {
    const queued = this.responses.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiter = (r: DiscoveryResponse) => {
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error("no response"));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Resolves true if nothing arrives within `ms`. */
  async quiet(ms = 300): Promise<boolean> {
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }
}

async function setup(t: test.TestContext) {
  const metrics = createMetrics({ defaultMetrics: false });
  const server = new XdsServer({
    cache: new ResourceCache({ metrics }),
    metrics,
    logger: process.env.XDS_DEBUG ? createLogger({ level: "debug" }) : silentLogger(),
    controlPlaneId: "test",
    jsonRegistry: packedTypesRegistry(),
  });
  server.setSnapshot(snapshot(1, { a: 1, b: 1 }));
  const { port } = await server.listen("127.0.0.1", 0);
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.after(async () => {
    client.close();
    await server.close(100);
  });
  const proxy = new FakeProxy(client);
  proxy.send({ node: { id: "proxy-1", metadata: { NAMESPACE: "team-a" } }, resourceNames: [] });
  return { server, proxy, metrics };
}

const names = (response: DiscoveryResponse) =>
  response.resources.map((r) => anyUnpack(r, ClusterSchema)?.name);
const counter = async (metrics: ReturnType<typeof createMetrics>, name: "acks" | "nacks" | "staleRequests") =>
  (await metrics[name].get()).values.reduce((sum, v) => sum + v.value, 0);

test("wildcard CDS gets the full state, and an ACK gets nothing more", async (t) => {
  const { proxy, server, metrics } = await setup(t);
  const first = await proxy.next();
  assert.deepEqual(names(first), ["a", "b"]);
  proxy.send({ versionInfo: first.versionInfo, responseNonce: first.nonce });
  assert.ok(await proxy.quiet());
  assert.equal(await counter(metrics, "acks"), 1);
  const [status] = server.proxies();
  assert.equal(status?.nodeId, "proxy-1");
  assert.equal(status?.namespace, "team-a");
  assert.equal(status?.types[0]?.ackedVersion, first.versionInfo);
});

test("a NACK is recorded and the rejected version is not resent; a fixed config is", async (t) => {
  const { proxy, server, metrics } = await setup(t);
  const first = await proxy.next();
  proxy.send({ versionInfo: first.versionInfo, responseNonce: first.nonce });
  server.setSnapshot(snapshot(2, { a: 2, b: 1 }));
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
  assert.equal(await counter(metrics, "nacks"), 1);
  server.setSnapshot(snapshot(3, { a: 3, b: 1 }));
  const fixed = await proxy.next();
  assert.notEqual(fixed.versionInfo, bad.versionInfo);
});

test("a request with a stale nonce is ignored", async (t) => {
  const { proxy, server, metrics } = await setup(t);
  const first = await proxy.next();
  proxy.send({ versionInfo: first.versionInfo, responseNonce: first.nonce });
  server.setSnapshot(snapshot(2, { a: 2, b: 2 }));
  const second = await proxy.next();
  // An answer to the first response arriving late must not change what the server tracks.
  proxy.send({ versionInfo: "", responseNonce: first.nonce, errorDetail: { code: 3, message: "late" } });
  assert.ok(await proxy.quiet());
  assert.equal(await counter(metrics, "staleRequests"), 1);
  assert.equal(server.proxies()[0]?.types[0]?.lastNack, null);
  proxy.send({ versionInfo: second.versionInfo, responseNonce: second.nonce });
  assert.ok(await proxy.quiet());
  assert.equal(server.proxies()[0]?.types[0]?.ackedVersion, second.versionInfo);
});

test("one response in flight per type: changes coalesce until the proxy answers", async (t) => {
  const { proxy, server } = await setup(t);
  const first = await proxy.next();
  for (let v = 2; v <= 5; v++) server.setSnapshot(snapshot(v, { a: v, b: 1 }));
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
