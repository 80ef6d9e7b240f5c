// Properties that make the server scale: resources are encoded once per change and shared, SotW
// and delta serve identical bytes, and a proxy that stops reading cannot hold up the others.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { Resource } from "../api/index.ts";
import { validateResource } from "../api/index.ts";
import { Pipeline, type ServingState } from "../pipeline/index.ts";
import { silentLogger } from "../telemetry/index.ts";
import { clusterName } from "../translate/index.ts";
import { counterTotal, deltaStream, sotwStream, startTestServer } from "./ads-test-client.ts";
import { TypeUrl } from "./resource-types.ts";

const domain = "cluster.local";

function mesh(services: number, endpointOf: (i: number) => string): Resource[] {
  const objects = Array.from({ length: services }, (_, i) => [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: `svc-${i}` },
      spec: { ports: [{ name: "grpc", port: 50051 }] },
    },
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: `svc-${i}-a`, labels: { "kubernetes.io/service-name": `svc-${i}` } },
      addressType: "IPv4",
      ports: [{ name: "grpc", port: 8080 }],
      endpoints: [{ addresses: [endpointOf(i)] }],
    },
  ]).flat();
  return objects.map((o) => {
    const result = validateResource(o);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    return result.resource;
  });
}

/** Serving states for successive configurations, as `meshplane serve` publishes them. */
function states(): (resources: Resource[]) => ServingState {
  const pipeline = new Pipeline({ domain, logger: silentLogger() });
  let generation = 0;
  return (resources) => pipeline.publish({ resources, generation: ++generation }) as ServingState;
}

const clusters = (n: number) =>
  Array.from({ length: n }, (_, i) => clusterName("default", `svc-${i}`, 50051, domain));

async function encodesForOneEndpointChange(
  t: TestContext,
  proxies: number,
): Promise<{ encodes: number; updated: number }> {
  const publish = states();
  const { server, metrics, connect } = await startTestServer(t, publish(mesh(20, (i) => `10.0.0.${i + 1}`)));
  const streams = Array.from({ length: proxies }, (_, p) => {
    const stream = deltaStream(connect());
    stream.send({
      node: { id: `p${p}` },
      typeUrl: TypeUrl.ClusterLoadAssignment,
      resourceNamesSubscribe: clusters(20),
    });
    return stream;
  });
  for (const stream of streams) {
    const initial = await stream.next();
    stream.send({ typeUrl: initial.typeUrl, responseNonce: initial.nonce });
  }
  const encodesBefore = await counterTotal(metrics.resourceEncodes);
  const after = mesh(20, (i) => (i === 7 ? "10.0.9.9" : `10.0.0.${i + 1}`));
  await server.setSnapshot(publish(after));
  let updated = 0;
  for (const stream of streams) {
    const update = await stream.next();
    assert.deepEqual(
      update.resources.map((r) => r.name),
      [clusters(20)[7]],
    );
    updated++;
  }
  return { encodes: (await counterTotal(metrics.resourceEncodes)) - encodesBefore, updated };
}

test("one endpoint change costs one encode, whatever the number of proxies", async (t) => {
  for (const proxies of [1, 40]) {
    const { encodes, updated } = await encodesForOneEndpointChange(t, proxies);
    assert.equal(updated, proxies, "every subscribed proxy receives the change");
    assert.equal(encodes, 1, `${proxies} proxies: one changed ClusterLoadAssignment, one encode`);
  }
});

test("SotW and delta serve the same resources, byte for byte", async (t) => {
  const resources = mesh(5, (i) => `10.0.0.${i + 1}`);
  const { connect } = await startTestServer(t, states()(resources));
  const sotw = sotwStream(connect());
  const delta = deltaStream(connect());
  const cases: [TypeUrl, string[]][] = [
    [TypeUrl.Listener, ["svc-1:50051", "svc-2.default.svc.cluster.local:50051"]],
    [TypeUrl.RouteConfiguration, ["svc-1.default.svc.cluster.local:50051"]],
    [TypeUrl.Cluster, clusters(5)],
    [TypeUrl.ClusterLoadAssignment, clusters(5)],
  ];
  for (const [typeUrl, names] of cases) {
    sotw.send({ node: { id: "s" }, typeUrl, resourceNames: names });
    delta.send({ node: { id: "d" }, typeUrl, resourceNamesSubscribe: names });
    const fromSotw = await sotw.next();
    const fromDelta = await delta.next();
    const sotwBytes = Object.fromEntries(
      fromSotw.resources.map((any, i) => [names.toSorted()[i], Buffer.from(any.value).toString("base64")]),
    );
    const deltaBytes = Object.fromEntries(
      fromDelta.resources.map((r) => [r.name, Buffer.from(r.resource?.value ?? []).toString("base64")]),
    );
    assert.equal(fromSotw.resources.length, names.length, `${typeUrl}: all names resolve`);
    assert.deepEqual(sotwBytes, deltaBytes, `${typeUrl}: same bytes from both protocols`);
  }
});

test("a proxy that stops reading neither delays others nor accumulates responses", async (t) => {
  const big = (n: number) => mesh(200, (i) => `10.${n % 250}.${Math.floor(i / 250)}.${(i % 250) + 1}`);
  const publish = states();
  const { server, connect } = await startTestServer(t, publish(big(0)));
  const stuck = sotwStream(connect());
  stuck.send({ node: { id: "stuck" }, typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: clusters(200) });
  await stuck.next();
  stuck.call.pause(); // stops reading; never answers
  const healthy = sotwStream(connect());
  healthy.send({
    node: { id: "healthy" },
    typeUrl: TypeUrl.ClusterLoadAssignment,
    resourceNames: clusters(200),
  });
  let response = await healthy.next();
  assert.equal(response.resources.length, 200);
  const latencies: number[] = [];
  for (let version = 2; version <= 30; version++) {
    healthy.send({
      typeUrl: response.typeUrl,
      versionInfo: response.versionInfo,
      responseNonce: response.nonce,
      // A SotW request always carries the full name list; an ACK without names would unsubscribe.
      resourceNames: clusters(200),
    });
    const next = publish(big(version));
    const started = performance.now();
    void server.setSnapshot(next);
    response = await healthy.next(2000);
    latencies.push(performance.now() - started);
    assert.equal(response.resources.length, 200);
  }
  const stuckStatus = server.proxies().find((p) => p.nodeId === "stuck");
  // Flow control: the stuck proxy never answered its first response, so nothing more was written
  // to it; its memory is bounded by one response per subscribed type.
  assert.equal(stuckStatus?.types[0]?.sentNonce, "1");
  assert.ok(
    Math.max(...latencies) < 1000,
    `healthy proxy latencies ${latencies.map(Math.round).join(",")} ms`,
  );
});
