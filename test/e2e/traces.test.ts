// Traces from write to ACK, end to end: meshplane runs with --otlp-endpoint pointing at a receiver
// on 127.0.0.1 that decodes the OTLP/HTTP protobuf requests; a plain HTTP write to the API (no
// kubectl) must produce one trace, write → commit → publish → encode → push → the ACK of a real
// grpc-js-xds client, whose trace id the object carries; a write the client rejects ends in a NACK
// span with the client's error.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../../src/telemetry/testing.ts";
import {
  meshYaml,
  startMeshFixture,
  suiteScope,
  waitFor,
  warmUp,
  weighted,
  type MeshFixture,
} from "./support/index.ts";

const port = 50051;
const target = `xds:///greeter:${port}`;
const traceIdAnnotation = "meshplane.dev/trace-id";
const routePath = "/apis/gateway.networking.k8s.io/v1/namespaces/default/grpcroutes/greeter";

interface ApiObject {
  metadata: { resourceVersion: string; annotations?: Record<string, string> };
}

async function api(mesh: MeshFixture, method: string, path: string, body?: unknown, type?: string) {
  const response = await fetch(`${mesh.meshplane.apiUrl}${path}`, {
    method,
    headers: { accept: "application/json", ...(body ? { "content-type": type ?? "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const json = (await response.json()) as ApiObject;
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

describe("traces", { timeout: 120_000 }, () => {
  const scope = suiteScope();
  let receiver: OtlpReceiver;
  let mesh: MeshFixture;
  let v1Port = 0;
  /** The trace id the API PATCH left on the route. */
  let patchTraceId: string | undefined;
  let v2Port = 0;
  const meshFile = "00-greeter.yaml";
  /** The config directory's mesh: greeter routed to `weights`. */
  const greeterFile = (weights: Record<string, number>) =>
    meshYaml()
      .service("greeter", port, [{ port: v1Port }])
      .service("greeter-v1", port, [{ port: v1Port }])
      .service("greeter-v2", port, [{ port: v2Port }])
      .grpcRoute("greeter", { parent: "greeter", port, rules: [{ backendRefs: weighted(weights) }] })
      .render();

  before(async () => {
    receiver = await startOtlpReceiver();
    scope.defer(() => receiver.close());
    mesh = await startMeshFixture(scope.defer, {
      greeters: ["v1", "v2"],
      nodeId: "default/traced-client",
      meshplaneArgs: ["--otlp-endpoint", receiver.url],
      files: ({ v1, v2 }) => {
        v1Port = v1!.port;
        v2Port = v2!.port;
        return { [meshFile]: greeterFile({ "greeter-v1": 1 }) };
      },
    });
    await warmUp(mesh.client, target);
  });

  /** Every span of `traceId` once one matching each of `wanted` has arrived. */
  const trace = (traceId: string, wanted: ((span: ReceivedSpan) => boolean)[], what: string) =>
    receiver.waitFor(
      (spans) => {
        const mine = spans.filter((s) => s.traceId === traceId);
        return wanted.every((w) => mine.some(w)) ? mine : undefined;
      },
      what,
      20_000,
    );

  test("an API PATCH: one trace from the write to the client's ACK, its id on the object", async (t) => {
    const patched = await api(
      mesh,
      "PATCH",
      routePath,
      { spec: { rules: [{ backendRefs: weighted({ "greeter-v2": 1 }) }] } },
      "application/merge-patch+json",
    );
    const traceId = patched.metadata.annotations?.[traceIdAnnotation];
    assert.match(
      traceId ?? "",
      /^[0-9a-f]{32}$/,
      `trace id on the object: ${JSON.stringify(patched.metadata)}`,
    );
    patchTraceId = traceId;
    const stored = await api(mesh, "GET", routePath);
    assert.equal(stored.metadata.annotations?.[traceIdAnnotation], traceId, "and on what the API serves");

    const node = mesh.nodeId;
    const spans = await trace(
      traceId!,
      [
        (s) => s.name === "meshplane.api.write",
        (s) => s.name === "meshplane.store.commit",
        (s) => s.name === "meshplane.pipeline.publish",
        (s) => s.name === "meshplane.xds.encode",
        (s) => s.name === "meshplane.xds.push",
        (s) =>
          s.name === "meshplane.xds.ack" &&
          s.attributes["meshplane.node"] === node &&
          s.attributes["meshplane.xds.type"] === "rds",
      ],
      `write → commit → publish → encode → push → ACK by ${node} in trace ${traceId}`,
    );
    t.diagnostic(
      spans.map((s) => `${s.name} ${s.endMs - s.startMs} ms ${JSON.stringify(s.attributes)}`).join("\n"),
    );
    const [write] = byName(spans, "meshplane.api.write");
    const [commit] = byName(spans, "meshplane.store.commit");
    const [publish] = byName(spans, "meshplane.pipeline.publish");
    const [push] = byName(spans, "meshplane.xds.push");
    const [encode] = byName(spans, "meshplane.xds.encode");
    // The route weight change is a RouteConfiguration.
    const ack = byName(spans, "meshplane.xds.ack").find(
      (s) => s.attributes["meshplane.node"] === node && s.attributes["meshplane.xds.type"] === "rds",
    )!;
    assert.equal(write?.attributes["http.request.method"], "PATCH");
    assert.equal(write?.attributes["meshplane.object"], "GRPCRoute default/greeter");
    assert.equal(commit?.parentSpanId, write?.spanId);
    assert.equal(commit?.attributes["k8s.resource_version"], patched.metadata.resourceVersion);
    assert.equal(publish?.parentSpanId, commit?.spanId, "the publish continues the write's trace");
    assert.ok(
      publish?.links.some((l) => l.spanId === commit?.spanId),
      `the publish links the commit: ${JSON.stringify(publish?.links)}`,
    );
    assert.equal(push?.parentSpanId, publish?.spanId);
    assert.equal(encode?.parentSpanId, push?.spanId);
    assert.ok(Number(encode?.attributes["meshplane.xds.encodes"]) >= 1, JSON.stringify(encode?.attributes));
    assert.equal(ack.parentSpanId, push?.spanId);
    for (const span of spans) assert.equal(span.resource["service.name"], "meshplane");
    // In order: each stage starts no earlier than the one before.
    const starts = [write, commit, publish, push, ack].map((s) => s?.startMs ?? NaN);
    assert.deepEqual(
      starts,
      [...starts].sort((a, b) => a - b),
      "write, commit, publish, push and ACK start in order",
    );
    // The ACKed route is live: calls go to v2.
    await waitFor(async () => (await mesh.client.call({ target, calls: 5 })).counts.v2 === 5, {
      timeoutMs: 10_000,
      message: "calls to reach v2 after the traced change",
    });
  });

  test("a config directory edit: the sync's trace goes on through the API to the client's ACK", async () => {
    // A new weight: the directory applies only what differs from what it applied before.
    await mesh.config.write(meshFile, greeterFile({ "greeter-v1": 3 }));
    const node = mesh.nodeId;
    // The directory applies its route over the API's PATCH: the route changes back, in the sync's trace.
    const traceId = await waitFor(
      async () => {
        const id = (await api(mesh, "GET", routePath)).metadata.annotations?.[traceIdAnnotation];
        return id !== patchTraceId ? id : undefined;
      },
      { timeoutMs: 15_000, message: "the route to carry the config directory sync's trace id" },
    );
    const spans = await trace(
      traceId,
      [
        (s) => s.name === "meshplane.config_dir.sync",
        (s) => s.name === "meshplane.api.write",
        (s) =>
          s.name === "meshplane.store.commit" &&
          s.attributes["meshplane.object"] === "GRPCRoute default/greeter",
        (s) => s.name === "meshplane.pipeline.publish",
        (s) =>
          s.name === "meshplane.xds.ack" &&
          s.attributes["meshplane.node"] === node &&
          s.attributes["meshplane.xds.type"] === "rds",
      ],
      `config_dir.sync → api.write → commit → publish → push → ACK in trace ${traceId}`,
    );
    const [sync] = byName(spans, "meshplane.config_dir.sync");
    assert.equal(sync?.parentSpanId, "", "the file change starts the trace");
    const commit = byName(spans, "meshplane.store.commit").find(
      (s) => s.attributes["meshplane.object"] === "GRPCRoute default/greeter",
    )!;
    const write = spans.find((s) => s.spanId === commit.parentSpanId);
    assert.equal(write?.name, "meshplane.api.write");
    assert.equal(write?.parentSpanId, sync?.spanId, "the API write continues the sync's trace (traceparent)");
    const publish = byName(spans, "meshplane.pipeline.publish").find((p) =>
      p.links.some((l) => l.spanId === commit.spanId),
    );
    assert.ok(publish, "a publish links the route's commit");
    await waitFor(async () => (await mesh.client.call({ target, calls: 5 })).counts.v1 === 5, {
      timeoutMs: 10_000,
      message: "calls back on v1 after the directory edit",
    });
  });

  test("an EndpointSlice the client rejects: the trace ends in a NACK span with the client's error", async (t) => {
    // For the Service the route sends calls to now (the directory edit moved it back to v1).
    const slice = meshYaml().endpointSlice("greeter-v1", "greeter-v1-bad", [
      { address: "127.000.000.001", port: v1Port },
    ]).docs[0];
    const created = await api(
      mesh,
      "POST",
      "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
      slice,
    );
    const traceId = created.metadata.annotations?.[traceIdAnnotation];
    assert.match(traceId ?? "", /^[0-9a-f]{32}$/);
    const spans = await trace(
      traceId!,
      [(s) => s.name === "meshplane.xds.nack" && s.attributes["meshplane.node"] === mesh.nodeId],
      `a NACK by ${mesh.nodeId} in trace ${traceId}`,
    );
    const nack = byName(spans, "meshplane.xds.nack")[0]!;
    t.diagnostic(JSON.stringify(nack.attributes));
    assert.equal(nack.attributes["meshplane.xds.type"], "eds");
    assert.match(String(nack.attributes["meshplane.xds.error"]), /not a valid IPv4/);
    assert.equal(nack.status.code, 2, "status ERROR");
    const push = byName(spans, "meshplane.xds.push")[0];
    assert.equal(nack.parentSpanId, push?.spanId);
    assert.ok(Number(push?.attributes["meshplane.xds.nacks"]) >= 1, JSON.stringify(push?.attributes));
  });
});
