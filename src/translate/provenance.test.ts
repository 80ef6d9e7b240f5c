// Which configuration objects each resource is built from, as its generator recorded them
// (MeshView), over the golden-test meshes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { validateResource, type Resource } from "../api/index.ts";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../gen/envoy/config/route/v3/route_pb.js";
import { buildMeshSnapshot, MeshFacets } from "../mesh/index.ts";
import { translate } from "./generator.ts";
import { blackholeCluster } from "./names.ts";
import { typeUrlOf } from "./proto.ts";

const LDS = typeUrlOf(ListenerSchema);
const RDS = typeUrlOf(RouteConfigurationSchema);
const CDS = typeUrlOf(ClusterSchema);
const EDS = typeUrlOf(ClusterLoadAssignmentSchema);

/** A golden-test input's mesh (its `Proxy` document is for the golden test only). */
function load(name: string): MeshFacets {
  const resources: Resource[] = [];
  const text = readFileSync(join(import.meta.dirname, "testdata", name, "input.yaml"), "utf8");
  for (const doc of parseAllDocuments(text)) {
    const value = doc.toJS() as { kind?: string } | null;
    if (!value || value.kind === "Proxy") continue;
    const result = validateResource(value);
    if (!result.ok) throw new Error(`${name}: ${JSON.stringify(result.errors)}`);
    resources.push(result.resource);
  }
  return new MeshFacets(buildMeshSnapshot(resources, { domain: "cluster.local" }));
}

const cluster = (name: string, namespace = "default", port = 50051) =>
  `outbound|${port}||${name}.${namespace}.svc.cluster.local`;

type Case = [input: string, typeUrl: string, name: string, caller: string, expected: string[]];

const cases: Case[] = [
  // A listener names its route configuration only: whose routes apply decides the name, but no
  // route's rules are in it.
  ["consumer-route", LDS, "greeter.backend:50051", "frontend", ["Service backend/greeter"]],
  ["consumer-route", LDS, "greeter.backend:50051", "backend", ["Service backend/greeter"]],
  ["consumer-route", LDS, "greeter:50051", "backend", ["Service backend/greeter"]],
  // Consumer routes: the caller's namespace decides which routes a route table uses.
  [
    "consumer-route",
    RDS,
    "greeter.backend.svc.cluster.local:50051|consumer=frontend",
    "any",
    ["Service backend/greeter", "GRPCRoute frontend/frontend-canary"],
  ],
  [
    "consumer-route",
    RDS,
    "greeter.backend.svc.cluster.local:50051",
    "frontend",
    ["Service backend/greeter", "GRPCRoute backend/producer"],
  ],
  ["consumer-route", CDS, cluster("greeter-v2", "backend"), "frontend", ["Service backend/greeter-v2"]],
  // Faults referenced by the route's rules.
  [
    "fault",
    RDS,
    "greeter.default.svc.cluster.local:50051",
    "default",
    [
      "Service default/greeter",
      "GRPCRoute default/greeter",
      "FaultInjection default/http-503",
      "FaultInjection default/slow-and-flaky",
    ],
  ],
  // TrafficPolicy: retries reach the route table, settings reach the cluster and endpoints.
  [
    "retry",
    RDS,
    "echo.default.svc.cluster.local:7000",
    "default",
    ["Service default/echo", "HTTPRoute default/echo", "TrafficPolicy default/echo-retry"],
  ],
  [
    "retry",
    RDS,
    "plain.default.svc.cluster.local:8000",
    "default",
    ["Service default/plain", "TrafficPolicy default/plain-retry"],
  ],
  [
    "retry",
    CDS,
    cluster("greeter"),
    "default",
    ["Service default/greeter", "TrafficPolicy default/greeter-retry"],
  ],
  [
    "locality",
    EDS,
    cluster("greeter"),
    "default",
    ["Service default/greeter", "TrafficPolicy default/greeter-zones", "EndpointSlice default/greeter-1"],
  ],
  // Endpoints: every slice of the Service with the port's name, FQDN ones included (they are
  // skipped with an issue on the slice, which is still what the endpoints came from).
  [
    "default-route",
    EDS,
    cluster("greeter"),
    "default",
    [
      "Service default/greeter",
      "EndpointSlice default/greeter-dup",
      "EndpointSlice default/greeter-fqdn",
      "EndpointSlice default/greeter-ipv4",
    ],
  ],
  ["default-route", LDS, "greeter", "default", ["Service default/greeter"]],
  // Names meshplane does not build from configuration.
  ["default-route", LDS, "unknown:50051", "default", []],
  ["default-route", CDS, blackholeCluster, "default", []],
  // A name that does not exist records what was looked up: the Service without that port.
  ["default-route", EDS, cluster("greeter", "default", 9999), "default", ["Service default/greeter"]],
  [
    "default-route",
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
    "x",
    "default",
    [],
  ],
  // Envoy: a route table per port mixes every Service on it; the inbound listener follows the
  // slices that list the sidecar's own address.
  ["retry", RDS, "8000", "default", ["Service default/plain", "TrafficPolicy default/plain-retry"]],
];

for (const [input, typeUrl, name, caller, expected] of cases) {
  const flavour = /^\d+$/.test(name) ? "envoy" : "grpc";
  test(`provenance ${input}: ${flavour} ${typeUrl.split(".").pop()} ${name} for a caller in ${caller}`, () => {
    const profile = { namespace: caller, flavour, instanceIps: [] } as const;
    assert.deepEqual(translate(load(input), profile, typeUrl, name).provenance.objects, expected);
  });
}

test("provenance: an Envoy inbound listener is built from the slices that list the sidecar's address", () => {
  const facets = load("default-route");
  const profile = { namespace: "default", flavour: "envoy", instanceIps: ["10.0.0.1"] } as const;
  const { provenance } = translate(facets, profile, LDS, "virtualInbound");
  assert.deepEqual(provenance.objects, ["EndpointSlice default/greeter-ipv4"]);
  assert.deepEqual(
    provenance.addresses.map((a) => a.object),
    ["EndpointSlice default/greeter-ipv4"],
  );
});
