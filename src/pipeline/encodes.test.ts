// What a change costs: a resource whose inputs did not change is neither regenerated nor
// re-encoded, so a route weight edit costs exactly one RouteConfiguration encode and an
// EndpointSlice edit exactly the affected ClusterLoadAssignment, whatever the number of proxies,
// for proxyless gRPC clients and Envoy sidecars alike (meshplane_xds_resource_encodes_total).
// Route configurations differ by client only where a client needs another encoding: one encode
// per client group that needs its own, however many proxies each has.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { Resource } from "../api/index.ts";
import { resources } from "../mesh/testing.ts";
import { silentLogger } from "../telemetry/index.ts";
import { clusterName } from "../translate/index.ts";
import { deltaStream, startTestServer } from "../xds/ads-test-client.ts";
import { TypeUrl } from "../xds/resource-types.ts";
import { Pipeline } from "./pipeline.ts";
import type { ServingState } from "./serving-state.ts";

const domain = "cluster.local";
const services = 10;

/** Services svc-0..9 with one endpoint each; a GRPCRoute on svc-0 splits between svc-1 and svc-2. */
function config(options: { weight: number; svc5Address: string }): Resource[] {
  const objects: object[] = [];
  for (let i = 0; i < services; i++) {
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
        endpoints: [{ addresses: [i === 5 ? options.svc5Address : `10.0.0.${i + 1}`] }],
      },
    );
  }
  objects.push({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GRPCRoute",
    metadata: { name: "split" },
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: "svc-0" }],
      rules: [
        {
          backendRefs: [
            { name: "svc-1", port: 50051, weight: options.weight },
            { name: "svc-2", port: 50051, weight: 1 },
          ],
        },
      ],
    },
  });
  return resources(...objects);
}

const clusters = Array.from({ length: services }, (_, i) =>
  clusterName("default", `svc-${i}`, 50051, domain),
);
const host = (i: number) => `svc-${i}.default.svc.${domain}:50051`;

/** What each flavour subscribes to, by type: names, or [] for a wildcard subscription. */
const subscriptions = {
  grpc: [
    [TypeUrl.Listener, ["svc-0:50051", "svc-1:50051"]],
    [TypeUrl.RouteConfiguration, [host(0), host(1)]],
    [TypeUrl.Cluster, []],
    [TypeUrl.ClusterLoadAssignment, clusters],
  ],
  envoy: [
    [TypeUrl.Listener, []],
    [TypeUrl.RouteConfiguration, ["50051"]],
    [TypeUrl.Cluster, []],
    [TypeUrl.ClusterLoadAssignment, clusters],
  ],
} as const;

/** A proxyless client's user agent, as its node carries it. */
interface UserAgent {
  readonly userAgentName: string;
  readonly userAgentVersionType: { case: "userAgentVersion"; value: string };
}
const userAgent = (name: string, version: string): UserAgent => ({
  userAgentName: name,
  userAgentVersionType: { case: "userAgentVersion", value: version },
});
const grpcJs = userAgent("gRPC Node Pure JS", "1.14.1");
const grpcGo = userAgent("gRPC Go", "1.60.1");
const cCorePython = userAgent("gRPC C-core linux Python", "C-core 29.0.0 Python 1.51.1");
const cCore = userAgent("gRPC C-core linux", "C-core 29.0.0");

async function encodesPerEdit(
  t: TestContext,
  flavour: "grpc" | "envoy",
  proxies: number,
  clients: readonly UserAgent[] = [],
) {
  const pipeline = new Pipeline({ domain, logger: silentLogger() });
  let generation = 0;
  const publish = (weight: number, svc5Address: string) =>
    pipeline.publish({
      resources: config({ weight, svc5Address }),
      generation: ++generation,
    }) as ServingState;
  const { server, metrics, connect } = await startTestServer(t, publish(1, "10.0.0.6"));
  const streams: ReturnType<typeof deltaStream>[] = [];
  for (let p = 0; p < proxies; p++) {
    const stream = deltaStream(connect());
    const node = {
      id: `${flavour}-${p}`,
      metadata: { NAMESPACE: "default", INSTANCE_IPS: `10.1.${Math.floor(p / 250)}.${p % 250}` },
      ...(flavour === "envoy" ? { userAgentName: "envoy" } : clients[p % clients.length]),
    };
    for (const [typeUrl, names] of subscriptions[flavour]) {
      stream.send({ node, typeUrl, resourceNamesSubscribe: [...names] });
      const response = await stream.next();
      stream.send({ typeUrl: response.typeUrl, responseNonce: response.nonce });
    }
    streams.push(stream);
  }
  const encodes = async (): Promise<Record<string, number>> => {
    const values = (await metrics.resourceEncodes.get()).values;
    return Object.fromEntries(values.filter((v) => v.value > 0).map((v) => [v.labels.type, v.value]));
  };
  /** Applies an edit and returns the encodes it cost by type, after every proxy got the update. */
  const edit = async (
    weight: number,
    svc5Address: string,
    updated: string,
  ): Promise<Record<string, number>> => {
    const before = await encodes();
    await server.setSnapshot(publish(weight, svc5Address));
    for (const stream of streams) {
      const response = await stream.next();
      assert.deepEqual(
        response.resources.map((r) => r.name),
        [updated],
        `${flavour}: every proxy receives the one changed resource`,
      );
      stream.send({ typeUrl: response.typeUrl, responseNonce: response.nonce });
    }
    const after = await encodes();
    return Object.fromEntries(
      Object.entries(after).flatMap(([type, n]) =>
        n - (before[type] ?? 0) > 0 ? [[type, n - (before[type] ?? 0)]] : [],
      ),
    );
  };
  const routeName = flavour === "grpc" ? host(0) : "50051";
  return {
    weight: await edit(5, "10.0.0.6", routeName),
    endpoint: await edit(5, "10.0.9.9", clusters[5] as string),
  };
}

for (const flavour of ["grpc", "envoy"] as const) {
  for (const proxies of [1, 20]) {
    test(`${flavour}, ${proxies} proxies: a route weight edit costs one RDS encode, an EndpointSlice edit one EDS encode`, async (t) => {
      const { weight, endpoint } = await encodesPerEdit(t, flavour, proxies);
      assert.deepEqual(weight, { rds: 1 });
      assert.deepEqual(endpoint, { eds: 1 });
    });
  }
}

const groups: readonly { name: string; clients: readonly UserAgent[]; rds: number }[] = [
  { name: "grpc-js-xds 1.14 and grpc-go 1.60 (one encoding)", clients: [grpcJs, grpcGo], rds: 1 },
  {
    name: "C-core 1.51 via Python and C-core via C++ (one encoding)",
    clients: [cCorePython, cCore],
    rds: 1,
  },
  { name: "grpc-js-xds 1.14 and C-core 1.51 (two encodings)", clients: [grpcJs, cCorePython], rds: 2 },
];
for (const { name, clients, rds } of groups) {
  test(`grpc, 20 proxies of ${name}: a route weight edit costs ${rds} RDS encode(s), an EndpointSlice edit one`, async (t) => {
    const { weight, endpoint } = await encodesPerEdit(t, "grpc", 20, clients);
    assert.deepEqual(weight, { rds });
    assert.deepEqual(endpoint, { eds: 1 });
  });
}
