// Writes through the API as the start of a change's trace: each one a server span with its store
// commits as children, exported over OTLP to a receiver that decodes the protobuf, and the trace id
// recorded on the object only when the write changes its content.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { systemClock } from "../clock/index.ts";
import { startTracing, type Tracing } from "../telemetry/index.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../telemetry/testing.ts";
import { startTestServer, type TestServer } from "./testing.ts";
import { traceIdAnnotation } from "./write-trace.ts";

const servicePath = "/api/v1/namespaces/default/services";
const service = (port: number, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "greeter", namespace: "default", labels },
  spec: { ports: [{ port }] },
});

describe("traced API writes", () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  let api: TestServer;

  before(async () => {
    receiver = await startOtlpReceiver();
    tracing = await startTracing({
      endpoint: receiver.url,
      clock: systemClock,
      replica: "test",
      version: "0.0.0",
      exportDelayMs: 50,
    });
    api = await startTestServer({ tracing });
  });

  after(async () => {
    await api.close();
    await tracing.shutdown();
    await receiver.close();
  });

  /** The spans of `traceId`, once `names` have all arrived. */
  const spansOf = (traceId: string, names: string[]): Promise<ReceivedSpan[]> =>
    receiver.waitFor(
      (spans) => {
        const mine = spans.filter((s) => s.traceId === traceId);
        return names.every((name) => mine.some((s) => s.name === name)) ? mine : undefined;
      },
      `spans ${names.join(", ")} of trace ${traceId}`,
    );

  let created: { metadata: { resourceVersion: string; annotations?: Record<string, string> } };

  test("a create records its trace id on the object; the trace has the write and its commit", async () => {
    const reply = await api.request("POST", servicePath, { body: service(80) });
    assert.equal(reply.status, 201, reply.text);
    created = reply.json;
    const traceId = created.metadata.annotations?.[traceIdAnnotation];
    assert.match(traceId ?? "", /^[0-9a-f]{32}$/, JSON.stringify(created.metadata));
    const spans = await spansOf(traceId!, ["meshplane.api.write", "meshplane.store.commit"]);
    const write = spans.find((s) => s.name === "meshplane.api.write")!;
    const commit = spans.find((s) => s.name === "meshplane.store.commit")!;
    assert.equal(write.parentSpanId, "", "a write without a caller's trace starts one");
    assert.equal(write.attributes["http.request.method"], "POST");
    assert.equal(write.attributes["url.path"], servicePath);
    assert.equal(commit.parentSpanId, write.spanId);
    assert.equal(commit.attributes["meshplane.object"], "Service default/greeter");
    assert.equal(commit.attributes["k8s.resource_version"], created.metadata.resourceVersion);
    assert.equal(receiver.resource["service.name"], "meshplane");
  });

  test("an update that changes nothing stays a no-op: same resourceVersion, same trace id", async () => {
    const current = (await api.request("GET", `${servicePath}/greeter`)).json;
    const reply = await api.request("PUT", `${servicePath}/greeter`, { body: current });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json.metadata.resourceVersion, created.metadata.resourceVersion);
    assert.deepEqual(reply.json.metadata.annotations, created.metadata.annotations);
  });

  test("a change records the new write's trace id", async () => {
    const reply = await api.request("PATCH", `${servicePath}/greeter`, {
      body: { metadata: { labels: { tier: "canary" } } },
      headers: { "content-type": "application/merge-patch+json" },
    });
    assert.equal(reply.status, 200, reply.text);
    const traceId = reply.json.metadata.annotations?.[traceIdAnnotation];
    assert.match(traceId ?? "", /^[0-9a-f]{32}$/);
    assert.notEqual(traceId, created.metadata.annotations?.[traceIdAnnotation]);
    const spans = await spansOf(traceId, ["meshplane.api.write", "meshplane.store.commit"]);
    assert.equal(
      spans.find((s) => s.name === "meshplane.api.write")?.attributes["http.request.method"],
      "PATCH",
    );
  });

  test("a status write keeps the trace id of the last change", async () => {
    const current = (await api.request("GET", `${servicePath}/greeter`)).json;
    const reply = await api.request("PUT", `${servicePath}/greeter/status`, {
      body: { ...current, status: { loadBalancer: { ingress: [{ ip: "10.0.0.1" }] } } },
    });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(
      reply.json.metadata.annotations?.[traceIdAnnotation],
      current.metadata.annotations?.[traceIdAnnotation],
    );
  });

  test("a W3C traceparent continues the caller's trace", async () => {
    const callerTrace = "0af7651916cd43dd8448eb211c80319c";
    const callerSpan = "b7ad6b7169203331";
    const reply = await api.request("DELETE", `${servicePath}/greeter`, {
      headers: { traceparent: `00-${callerTrace}-${callerSpan}-01` },
    });
    assert.equal(reply.status, 200, reply.text);
    const spans = await spansOf(callerTrace, ["meshplane.api.write", "meshplane.store.commit"]);
    const write = spans.find((s) => s.name === "meshplane.api.write")!;
    assert.equal(write.parentSpanId, callerSpan);
    assert.equal(
      spans.find((s) => s.name === "meshplane.store.commit")?.attributes["meshplane.deleted"],
      true,
    );
  });
});
