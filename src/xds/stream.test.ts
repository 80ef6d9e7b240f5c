// A stream's request handler records what the proxy asked and queues the stream; resolving,
// translating and encoding happen only when the scheduler runs push(). A plain ACK queues nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { DiscoveryRequestSchema } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { systemClock } from "../clock/index.ts";
import { createMetrics, silentLogger } from "../telemetry/index.ts";
import { clusterSnapshot } from "./ads-test-client.ts";
import { ResourceCache, type ConfigSnapshot } from "./cache.ts";
import { PushIndex } from "./push-index.ts";
import { ReachIndex } from "./reach.ts";
import { defaultBackoff, RejectionRegistry } from "./rejections.ts";
import { TypeUrl } from "./resource-types.ts";
import { normalizeSotwRequest, sotwProtocol } from "./sotw.ts";
import { AdsStream } from "./stream.ts";
import type { Subscription } from "./subscription.ts";

function setup() {
  const metrics = createMetrics({ defaultMetrics: false });
  const cache = new ResourceCache({ metrics, unknownNames: 100 });
  const fixture = clusterSnapshot(1, { a: 1, b: 1 });
  const generated: string[] = [];
  const snapshot: ConfigSnapshot = {
    ...fixture,
    generate: (profile, typeUrl, name) => {
      generated.push(name);
      return fixture.generate(profile, typeUrl, name);
    },
  };
  cache.setSnapshot(snapshot);
  const queued: boolean[] = [];
  const written: Uint8Array[] = [];
  const stream = new AdsStream(
    1,
    sotwProtocol,
    {
      cache,
      metrics,
      logger: silentLogger(),
      controlPlaneId: "test",
      now: () => new Date(),
      timers: systemClock,
      backoff: defaultBackoff,
      rejections: new RejectionRegistry(metrics.rejectedResources),
      reach: new ReachIndex(),
      subscriptions: { index: new PushIndex<Subscription>(), maxNames: 100 },
      schedule: (_stream, urgent) => queued.push(urgent),
    },
    (bytes) => written.push(bytes),
  );
  const request = (fields: MessageInitShape<typeof DiscoveryRequestSchema>) =>
    stream.handleRequest(
      normalizeSotwRequest(
        create(DiscoveryRequestSchema, { typeUrl: TypeUrl.ClusterLoadAssignment, ...fields }),
      ),
    );
  return { stream, request, generated, queued, written };
}

test("the handler queues the stream; push() translates and sends; an ACK queues nothing", () => {
  const { stream, request, generated, queued, written } = setup();
  request({ node: { id: "p" }, resourceNames: ["a", "b"] });
  assert.deepEqual(generated, [], "nothing is translated on the request path");
  assert.deepEqual(written, []);
  assert.deepEqual(queued, [true], "queued as the proxy's own request");
  stream.push();
  assert.deepEqual(generated.sort(), ["a", "b"]);
  assert.equal(written.length, 1);
  const [status] = stream.status().types;
  request({ resourceNames: ["a", "b"], versionInfo: status?.sentVersion ?? "", responseNonce: "1" });
  assert.deepEqual(queued, [true], "a plain ACK needs no evaluation");
  assert.equal(stream.status().types[0]?.ackedVersion, status?.sentVersion);
  request({ resourceNames: ["a"], versionInfo: status?.sentVersion ?? "", responseNonce: "1" });
  assert.deepEqual(queued, [true, true], "new names do");
});

test("a push with nothing marked evaluates nothing", () => {
  const { stream, request, generated, written } = setup();
  request({ node: { id: "p" }, resourceNames: ["a"] });
  stream.push();
  const sent = written.length;
  generated.length = 0;
  stream.push();
  assert.deepEqual(generated, []);
  assert.equal(written.length, sent);
});
