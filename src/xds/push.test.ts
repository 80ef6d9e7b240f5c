// What a change costs on the wire and in work: it is evaluated only for the streams holding or
// asking for what changed (meshplane_xds_evaluations_total), SotW RDS and EDS responses carry only
// the changed resources under the new set's version, and LDS and CDS stay complete.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import type { Resource } from "../api/index.ts";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../gen/envoy/config/route/v3/route_pb.js";
import type { DiscoveryResponse } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { resources } from "../mesh/testing.ts";
import { Pipeline, type ServingState } from "../pipeline/index.ts";
import { silentLogger } from "../telemetry/index.ts";
import { clusterName } from "../translate/index.ts";
import { counterTotal, sotwStream, startTestServer } from "./ads-test-client.ts";
import { TypeUrl } from "./resource-types.ts";

const domain = "cluster.local";

interface MeshOptions {
  readonly services: number;
  /** Endpoint address of each Service, by index; default 10.0.<i/250>.<i%250+1>. */
  readonly address?: Readonly<Record<number, string>>;
  /** Weight of svc-1 in the route on svc-0 (to svc-1 and svc-2), and of svc-4 in the one on svc-3. */
  readonly weights?: readonly [number, number];
}

function mesh(options: MeshOptions): Resource[] {
  const objects: object[] = [];
  for (let i = 0; i < options.services; i++) {
    objects.push(
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
        endpoints: [{ addresses: [options.address?.[i] ?? `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`] }],
      },
    );
  }
  const [first, second] = options.weights ?? [1, 1];
  for (const [parent, weight] of [
    [0, first],
    [3, second],
  ] as const) {
    if (parent + 2 >= options.services) continue;
    objects.push({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GRPCRoute",
      metadata: { name: `split-${parent}` },
      spec: {
        parentRefs: [{ group: "", kind: "Service", name: `svc-${parent}` }],
        rules: [
          {
            backendRefs: [
              { name: `svc-${parent + 1}`, port: 50051, weight },
              { name: `svc-${parent + 2}`, port: 50051, weight: 1 },
            ],
          },
        ],
      },
    });
  }
  return resources(...objects);
}

/** Serving states for successive meshes, as `meshplane serve` publishes them. */
function publisher(): (options: MeshOptions) => ServingState {
  const pipeline = new Pipeline({ domain, logger: silentLogger() });
  let generation = 0;
  return (options) =>
    pipeline.publish({ resources: mesh(options), generation: ++generation }) as ServingState;
}

const cluster = (i: number) => clusterName("default", `svc-${i}`, 50051, domain);
const host = (i: number) => `svc-${i}.default.svc.${domain}:50051`;

const nameOf: Record<string, (any: Any) => string | undefined> = {
  [TypeUrl.Listener]: (any) => anyUnpack(any, ListenerSchema)?.name,
  [TypeUrl.RouteConfiguration]: (any) => anyUnpack(any, RouteConfigurationSchema)?.name,
  [TypeUrl.Cluster]: (any) => anyUnpack(any, ClusterSchema)?.name,
  [TypeUrl.ClusterLoadAssignment]: (any) => anyUnpack(any, ClusterLoadAssignmentSchema)?.clusterName,
};
const names = (response: DiscoveryResponse) =>
  response.resources.map((any) => nameOf[response.typeUrl]?.(any) ?? "?");

/** A SotW stream as grpc-js-xds drives one: every request lists all names; ACKs carry the version. */
function proxy(t: TestContext, connect: () => Parameters<typeof sotwStream>[0], id: string) {
  const stream = sotwStream(connect());
  const subscribed = new Map<string, string[]>();
  let sentNode = false;
  const request = (typeUrl: string, resourceNames: string[], answered?: DiscoveryResponse) => {
    subscribed.set(typeUrl, resourceNames);
    stream.send({
      ...(sentNode ? {} : { node: { id, metadata: { NAMESPACE: "default" } } }),
      typeUrl,
      resourceNames,
      versionInfo: answered?.versionInfo ?? "",
      responseNonce: answered?.nonce ?? "",
    });
    sentNode = true;
  };
  t.after(() => stream.end());
  return {
    stream,
    subscribe: request,
    ack: (response: DiscoveryResponse) =>
      request(response.typeUrl, subscribed.get(response.typeUrl) ?? [], response),
  };
}

/** Waits until `streams` proxies have ACKed everything they were sent. */
async function acked(server: Awaited<ReturnType<typeof startTestServer>>["server"], streams: number) {
  for (let i = 0; i < 200; i++) {
    const all = server.proxies();
    const done = all.every((p) => p.types.every((type) => type.ackedVersion === type.sentVersion));
    if (all.length === streams && done) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail("the proxies' ACKs did not arrive");
}

type Type = "lds" | "rds" | "cds" | "eds";
async function counts(metrics: Awaited<ReturnType<typeof startTestServer>>["metrics"]) {
  const by = async (metric: typeof metrics.pushes) =>
    Object.fromEntries((await metric.get()).values.map((v) => [v.labels.type as Type, v.value]));
  return { evaluations: await by(metrics.evaluations), pushes: await by(metrics.pushes) };
}

test("a change held by 1 of 100 streams is evaluated for that stream only", async (t) => {
  const publish = publisher();
  const { server, metrics, connect } = await startTestServer(t, publish({ services: 20 }));
  // Streams 0..98 ask for the endpoints of svc-5..14 (ten per set); stream 99 alone for svc-19's.
  const proxies = Array.from({ length: 100 }, (_, p) => proxy(t, connect, `p${p}`));
  for (const [p, each] of proxies.entries()) {
    each.subscribe(TypeUrl.ClusterLoadAssignment, [p === 99 ? cluster(19) : cluster(5 + (p % 10))]);
  }
  for (const each of proxies) each.ack(await each.stream.next());
  await acked(server, 100);
  const before = await counts(metrics);
  await server.setSnapshot(publish({ services: 20, address: { 19: "10.0.9.9" } }));
  const after = await counts(metrics);
  assert.equal((after.evaluations.eds ?? 0) - (before.evaluations.eds ?? 0), 1, "one stream evaluated");
  assert.equal((after.pushes.eds ?? 0) - (before.pushes.eds ?? 0), 1, "one response sent");
  const update = await proxies[99]?.stream.next();
  assert.deepEqual(update && names(update), [cluster(19)]);
  assert.ok(await proxies[0]?.stream.quiet(100), "the others hear nothing");

  // A state without a change set (a new cache) evaluates every stream, and sends nothing new.
  proxies[99]?.ack(update as DiscoveryResponse);
  await acked(server, 100);
  const moved = publish({ services: 20, address: { 19: "10.0.9.9", 0: "10.0.8.8" } });
  await server.setSnapshot({ ...moved, changes: undefined });
  const full = await counts(metrics);
  assert.equal((full.evaluations.eds ?? 0) - (after.evaluations.eds ?? 0), 100, "every stream evaluated");
  assert.equal((full.pushes.eds ?? 0) - (after.pushes.eds ?? 0), 0, "nobody's endpoints changed");
});

test("SotW RDS and EDS carry only the changed resources, under the new set's version", async (t) => {
  const publish = publisher();
  const { server, connect } = await startTestServer(t, publish({ services: 8 }));
  const p = proxy(t, connect, "p");
  p.subscribe(TypeUrl.RouteConfiguration, [host(0), host(3), host(5)]);
  const routes = await p.stream.next();
  assert.deepEqual(names(routes).sort(), [host(0), host(3), host(5)], "the first response is complete");
  p.ack(routes);
  p.subscribe(TypeUrl.ClusterLoadAssignment, [0, 1, 2, 3, 4].map(cluster));
  const endpoints = await p.stream.next();
  assert.equal(endpoints.resources.length, 5);
  p.ack(endpoints);

  await server.setSnapshot(publish({ services: 8, weights: [7, 1] }));
  const route = await p.stream.next();
  assert.deepEqual(names(route), [host(0)], "the one route configuration whose weights changed");
  assert.notEqual(route.versionInfo, routes.versionInfo);
  p.ack(route);
  assert.ok(await p.stream.quiet(100));

  await server.setSnapshot(publish({ services: 8, weights: [7, 1], address: { 2: "10.0.9.9" } }));
  const endpoint = await p.stream.next();
  assert.equal(endpoint.typeUrl, TypeUrl.ClusterLoadAssignment);
  assert.deepEqual(names(endpoint), [cluster(2)]);
  assert.notEqual(endpoint.versionInfo, endpoints.versionInfo);
  p.ack(endpoint);

  // A name added to the subscription: only its resource is sent.
  p.subscribe(TypeUrl.ClusterLoadAssignment, [0, 1, 2, 3, 4, 6].map(cluster), endpoint);
  const added = await p.stream.next();
  assert.deepEqual(names(added), [cluster(6)]);
  p.ack(added);
  // A name dropped, or one that does not exist: the proxy lacks nothing, nothing is sent.
  p.subscribe(TypeUrl.ClusterLoadAssignment, [0, 1, 2, 3, 6].map(cluster).concat("missing"), added);
  assert.ok(await p.stream.quiet(150));
  // A dropped name asked for again: the proxy forgot it, so it is sent again, although the set is
  // back to a version already sent (grpc-js-xds switching a route back to a former cluster).
  p.subscribe(TypeUrl.ClusterLoadAssignment, [0, 1, 2, 3, 4, 6].map(cluster), added);
  const again = await p.stream.next();
  assert.deepEqual(names(again), [cluster(4)]);
  assert.equal(again.versionInfo, added.versionInfo, "the same set as before, the same version");
  p.ack(again);

  // A second proxy asking for the same names gets all of them, at the same version.
  const q = proxy(t, connect, "q");
  q.subscribe(TypeUrl.RouteConfiguration, [host(0), host(3), host(5)]);
  const fresh = await q.stream.next();
  assert.deepEqual(names(fresh).sort(), [host(0), host(3), host(5)]);
  assert.equal(fresh.versionInfo, route.versionInfo, "one version for one set, however it was delivered");
});

test("LDS and CDS stay complete: a change resends the whole set, named or wildcard", async (t) => {
  const publish = publisher();
  const { server, connect } = await startTestServer(t, publish({ services: 6 }));
  const p = proxy(t, connect, "p");
  p.subscribe(TypeUrl.Cluster, []); // wildcard
  const clusters = await p.stream.next();
  assert.equal(clusters.resources.length, 7, "six Services and the blackhole cluster");
  p.ack(clusters);
  p.subscribe(TypeUrl.Listener, ["svc-0:50051", "svc-1:50051", "svc-4:50051"]);
  const listeners = await p.stream.next();
  assert.equal(listeners.resources.length, 3);
  p.ack(listeners);

  // A new Service: a new cluster and its listener, sent with every other one.
  await server.setSnapshot(publish({ services: 7 }));
  const moreClusters = await p.stream.next();
  assert.equal(moreClusters.typeUrl, TypeUrl.Cluster);
  assert.deepEqual(names(moreClusters).sort(), [...names(clusters), cluster(6)].sort());
  p.ack(moreClusters);
  assert.ok(await p.stream.quiet(100), "svc-0, svc-1 and svc-4's listeners did not change");

  // svc-4 removed: the listener set without it says it is gone.
  await server.setSnapshot(publish({ services: 4 }));
  const byType = new Map<string, DiscoveryResponse>();
  for (let i = 0; i < 2; i++) {
    const response = await p.stream.next();
    byType.set(response.typeUrl, response);
    p.ack(response);
  }
  assert.deepEqual(names(byType.get(TypeUrl.Listener) as DiscoveryResponse).sort(), [
    "svc-0:50051",
    "svc-1:50051",
  ]);
  assert.equal(byType.get(TypeUrl.Cluster)?.resources.length, 5, "four Services and the blackhole");
});

test("a stream that ACKs without changing names costs no evaluation", async (t) => {
  const publish = publisher();
  const { metrics, connect } = await startTestServer(t, publish({ services: 3 }));
  const p = proxy(t, connect, "p");
  p.subscribe(TypeUrl.ClusterLoadAssignment, [cluster(0)]);
  const first = await p.stream.next();
  const evaluated = await counterTotal(metrics.evaluations);
  for (let i = 0; i < 5; i++) p.ack(first);
  assert.ok(await p.stream.quiet(100));
  assert.equal(await counterTotal(metrics.evaluations), evaluated);
});
