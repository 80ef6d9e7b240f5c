// Offline analysis finds what a live control plane reports at /debug/config_errors once proxies of
// each flavour requested everything: the live side is a real xDS server serving the pipeline's
// serving state to ADS streams (grpc and Envoy nodes), whose issues are what /debug/config_errors
// lists (cli/serve.ts); the offline side is analyze/ alone.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { toJson } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { ClusterSchema, type Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { MeshFacets, type MeshIssue, type MeshSnapshot } from "../mesh/index.ts";
import { Pipeline, servingState, TranslationFaults, type ServingState } from "../pipeline/index.ts";
import { silentLogger } from "../telemetry/index.ts";
import {
  backend,
  endpoint,
  mesh,
  policy,
  route,
  rule,
  service,
  servicePort,
} from "../translate/grpc/testing/mesh.ts";
import {
  clientIssues,
  clientOfGroup,
  featureUses,
  packedTypesRegistry,
  parseClientSpec,
} from "../translate/index.ts";
import { sotwStream, startTestServer } from "../xds/ads-test-client.ts";
import { TypeUrl } from "../xds/index.ts";
import { finding, issueAsConfigError, sortFindings, type Finding } from "./findings.ts";
import { analyzeFiles } from "./offline.ts";
import { representativeProfiles, translationIssues } from "./translation.ts";

interface LiveProxy {
  readonly id: string;
  readonly userAgentName?: string;
  readonly userAgentVersion?: string;
  readonly namespace: string;
  readonly instanceIps?: readonly string[];
}

/**
 * What the state's issues are after `proxies` each fetched, as a proxy does, every listener, the
 * route configurations they name, every cluster, and the endpoints of each cluster.
 */
async function requestEverything(t: TestContext, state: ServingState, proxies: readonly LiveProxy[]) {
  const { connect, server } = await startTestServer(t, state);
  const registry = packedTypesRegistry();
  for (const proxy of proxies) {
    const stream = sotwStream(connect());
    t.after(() => stream.end());
    const metadata = {
      NAMESPACE: proxy.namespace,
      ...(proxy.instanceIps ? { INSTANCE_IPS: proxy.instanceIps.join(",") } : {}),
    };
    const node = {
      id: proxy.id,
      metadata,
      ...(proxy.userAgentName ? { userAgentName: proxy.userAgentName } : {}),
      ...(proxy.userAgentVersion
        ? { userAgentVersionType: { case: "userAgentVersion" as const, value: proxy.userAgentVersion } }
        : {}),
    };
    stream.send({ node, typeUrl: TypeUrl.Listener, resourceNames: [] });
    const listeners = (await stream.next()).resources.map((any) => anyUnpack(any, ListenerSchema));
    const routeNames = listeners.flatMap((l) =>
      l ? routeConfigNames(toJson(ListenerSchema, l, { registry })) : [],
    );
    stream.send({ typeUrl: TypeUrl.Cluster, resourceNames: [] });
    const clusters = (await stream.next()).resources.map((any) => anyUnpack(any, ClusterSchema) as Cluster);
    if (routeNames.length > 0) {
      stream.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNames: [...new Set(routeNames)] });
      await stream.next();
    }
    // Only EDS clusters name load assignments (Envoy's static ones carry theirs).
    const edsNames = clusters.flatMap((c) =>
      c.edsClusterConfig ? [c.edsClusterConfig.serviceName || c.name] : [],
    );
    if (edsNames.length > 0) {
      stream.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: edsNames });
      await stream.next();
    }
  }
  return { issues: state.issues, clientGroups: server.clientGroups() };
}

function routeConfigNames(json: unknown): string[] {
  if (Array.isArray(json)) return json.flatMap(routeConfigNames);
  if (json === null || typeof json !== "object") return [];
  return Object.entries(json).flatMap(([key, value]) =>
    key === "routeConfigName" && typeof value === "string" ? [value] : routeConfigNames(value),
  );
}

const liveState = (model: MeshSnapshot) =>
  servingState({
    version: 1,
    resources: [],
    mesh: model,
    facets: new MeshFacets(model),
    changes: undefined,
    faults: new TranslationFaults(silentLogger()),
  });

const rows = (issues: readonly MeshIssue[]) => findingRows(issues.map(issueAsConfigError).map(finding));
const findingRows = (findings: readonly Finding[]) =>
  sortFindings(findings).map((f) => [f.code, f.object, f.field, f.message]);

/** Proxies of both flavours in every namespace, and sidecars on each Service's endpoints. */
const proxiesFor = (namespaces: readonly string[], ips: readonly (readonly string[])[]): LiveProxy[] => [
  ...namespaces.flatMap((namespace) => [
    { id: `grpc-${namespace}`, namespace },
    { id: `envoy-${namespace}`, namespace, userAgentName: "envoy" },
  ]),
  ...ips.map((instanceIps, i) => ({
    id: `sidecar-${i}`,
    namespace: "default",
    userAgentName: "envoy",
    instanceIps,
  })),
];

/** Meshes no API input gives (validation stops them), which make generators fail. */
const faulty: {
  name: string;
  model: MeshSnapshot;
  namespaces: string[];
  ips: string[][];
  /** The resources that fail, each flavour's names. */
  resources: string[];
}[] = [
  {
    name: "a ring size that is no integer (Cluster, both flavours)",
    model: mesh([
      service("greeter", {
        policy: policy({ loadBalancer: "RingHash", ringHash: { minimumRingSize: 1.5, maximumRingSize: 8 } }),
        ports: [servicePort(50051, [endpoint("10.0.0.1")])],
      }),
      service("plain", { namespace: "other", ports: [servicePort(50051, [endpoint("10.0.0.2")])] }),
    ]),
    namespaces: ["default", "other"],
    ips: [["10.0.0.1"], ["10.0.0.2"]],
    resources: ["Cluster outbound|50051||greeter.default.svc.cluster.local"],
  },
  {
    name: "a request timeout that is no number (RouteConfiguration, gRPC by listener, Envoy by port)",
    model: mesh(
      [service("greeter")],
      [
        {
          route: route([rule({ requestTimeoutMs: Number.NaN, backends: [backend("greeter")] })]),
          parent: "greeter",
        },
      ],
    ),
    namespaces: ["default"],
    ips: [],
    resources: ["RouteConfiguration greeter.default.svc.cluster.local:50051", "RouteConfiguration 50051"],
  },
];

for (const c of faulty) {
  test(`offline translation finds the live translator faults: ${c.name}`, async (t) => {
    const offline = translationIssues(c.model);
    const live = await requestEverything(t, liveState(c.model), proxiesFor(c.namespaces, c.ips));
    assert.ok(
      offline.some((i) => i.reason === "TranslationFailed"),
      `the input makes a fault: ${JSON.stringify(offline)}`,
    );
    assert.deepEqual(rows(offline), rows(live.issues));
    assert.ok(rows(offline).every(([code]) => code === "MP0209"));
    const failed = new Set(
      offline.map((i) => i.message.slice(0, i.message.indexOf(" could not be generated"))),
    );
    assert.deepEqual([...failed].sort(), [...c.resources].sort());
  });
}

const yaml = (...objects: string[]) => objects.join("---\n");
const svc = (name: string, namespace = "default") =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: ${namespace} }\nspec: { ports: [{ name: grpc, port: 50051 }] }\n`;
const slice = (name: string, address: string) =>
  `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: ${name}, labels: { kubernetes.io/service-name: ${name} } }\naddressType: IPv4\nports: [{ name: grpc, port: 50051 }]\nendpoints: [{ addresses: [${address}] }]\n`;
const ringHash = `apiVersion: meshplane.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: { name: ring }\nspec:\n  targetRefs: [{ group: "", kind: Service, name: greeter }]\n  loadBalancer: { type: RingHash }\n`;
const consumerRoute = `apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: { name: r, namespace: other }\nspec:\n  parentRefs: [{ group: "", kind: Service, name: greeter, namespace: default, port: 50051 }]\n  rules: [{ backendRefs: [{ name: greeter, namespace: default, port: 50051 }] }]\n`;

test("analyze -f --client: the findings /debug/config_errors lists with that client connected", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "meshplane-analyze-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "mesh.yaml");
  const text = yaml(
    svc("greeter"),
    slice("greeter", "10.0.0.1"),
    svc("web", "other"),
    ringHash,
    consumerRoute,
  );
  await writeFile(file, text);
  const client = parseClientSpec("grpc-python/1.39");
  const offline = await analyzeFiles([file], { domain: "cluster.local", clients: [client] });
  // Live: the same objects published by the pipeline, served to a grpc-python 1.39 client and
  // to Envoy sidecars; /debug/config_errors adds what the connected clients predict (cli/serve.ts).
  const pipeline = new Pipeline({ domain: "cluster.local", logger: silentLogger() });
  const state = pipeline.publish({ resources: offline.resources, generation: 1 });
  assert.ok(state);
  const live = await requestEverything(t, state, [
    ...proxiesFor(["default", "other"], [["10.0.0.1"]]),
    {
      id: "python",
      namespace: "other",
      userAgentName: "gRPC C-core linux Python",
      userAgentVersion: "C-core 20.0.0 Python 1.39.0",
    },
  ]);
  assert.deepEqual(live.clientGroups, ["envoy", "grpc-python/1.39"]);
  const clients = live.clientGroups.flatMap((g) => clientOfGroup(g) ?? []);
  const liveIssues = [...live.issues, ...clientIssues(featureUses(state.mesh), clients)];
  assert.deepEqual(findingRows(offline.errors.map(finding)), rows(liveIssues));
  const predicted = offline.errors.map(finding).filter((f) => f.code === "MP0207");
  assert.deepEqual(
    predicted.map((f) => [f.object, f.field]),
    [["TrafficPolicy default/ring", "spec.loadBalancer.type"]],
  );
  assert.match(predicted[0]?.message ?? "", /rejected \(NACK\) by connected clients grpc-python\/1\.39/);
});

test("translation is per profile group: a thousand Services take a bounded set of profiles", () => {
  const services = Array.from({ length: 1000 }, (_, i) =>
    service(`s${i}`, {
      namespace: `ns${i % 10}`,
      ports: [servicePort(50051, [endpoint(`10.1.${i >> 8}.${i & 255}`)])],
    }),
  );
  const model = mesh(services);
  const profiles = representativeProfiles(model, [parseClientSpec("grpc-python/1.51")]);
  // Per namespace: two gRPC clients and one Envoy; per Service with endpoints, one sidecar.
  assert.equal(profiles.length, 10 * 3 + 1000);
  const started = performance.now();
  assert.deepEqual(translationIssues(model), []);
  const ms = performance.now() - started;
  assert.ok(ms < 60_000, `took ${ms.toFixed(0)} ms`);
});
