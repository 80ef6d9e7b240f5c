// Which configuration objects each resource is built from, over the golden-test meshes.
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
import { buildMeshSnapshot, type MeshSnapshot } from "../mesh/index.ts";
import { blackholeCluster } from "./names.ts";
import { typeUrlOf } from "./proto.ts";
import { provenance } from "./provenance.ts";

const LDS = typeUrlOf(ListenerSchema);
const RDS = typeUrlOf(RouteConfigurationSchema);
const CDS = typeUrlOf(ClusterSchema);
const EDS = typeUrlOf(ClusterLoadAssignmentSchema);

/** A golden-test input's mesh resources (its `Proxy` document is for the golden test only). */
function load(name: string): { mesh: MeshSnapshot; resources: Resource[] } {
  const resources: Resource[] = [];
  const text = readFileSync(join(import.meta.dirname, "testdata", name, "input.yaml"), "utf8");
  for (const doc of parseAllDocuments(text)) {
    const value = doc.toJS() as { kind?: string } | null;
    if (!value || value.kind === "Proxy") continue;
    const result = validateResource(value);
    if (!result.ok) throw new Error(`${name}: ${JSON.stringify(result.errors)}`);
    resources.push(result.resource);
  }
  return { mesh: buildMeshSnapshot(resources, { domain: "cluster.local" }), resources };
}

const cluster = (name: string, namespace = "default", port = 50051) =>
  `outbound|${port}||${name}.${namespace}.svc.cluster.local`;

type Case = [
  input: string,
  typeUrl: string,
  name: string,
  caller: string,
  expected: string[],
  error?: string,
];

const cases: Case[] = [
  // Consumer routes: the caller's namespace decides which routes a listener and route table use.
  [
    "consumer-route",
    LDS,
    "greeter.backend:50051",
    "frontend",
    ["Service backend/greeter", "GRPCRoute frontend/frontend-canary"],
  ],
  [
    "consumer-route",
    LDS,
    "greeter.backend:50051",
    "backend",
    ["Service backend/greeter", "GRPCRoute backend/producer"],
  ],
  [
    "consumer-route",
    LDS,
    "greeter:50051",
    "backend",
    ["Service backend/greeter", "GRPCRoute backend/producer"],
  ],
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
      "FaultInjection default/slow-and-flaky",
      "FaultInjection default/http-503",
    ],
  ],
  // TrafficPolicy: retries reach the route table, settings reach the cluster and endpoints.
  [
    "retry",
    LDS,
    "echo:7000",
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
  // A proxy's error quoting an address narrows the slices to those that carry it.
  ...(
    [
      ["address is not a valid IPv4 or IPv6 address: 10.0.0.1]", ["EndpointSlice default/greeter-ipv4"]],
      [
        "address is a duplicate: 10.0.0.2",
        ["EndpointSlice default/greeter-dup", "EndpointSlice default/greeter-ipv4"],
      ],
      [
        "10.0.0.20 and 10.0.0.1.5 quote no slice's address",
        [
          "EndpointSlice default/greeter-dup",
          "EndpointSlice default/greeter-fqdn",
          "EndpointSlice default/greeter-ipv4",
        ],
      ],
    ] as const
  ).map(([error, slices]): Case => [
    "default-route",
    EDS,
    cluster("greeter"),
    "default",
    ["Service default/greeter", ...slices],
    error,
  ]),
  // Names meshplane does not build from configuration.
  ["default-route", LDS, "unknown:50051", "default", []],
  ["default-route", CDS, blackholeCluster, "default", []],
  ["default-route", EDS, cluster("greeter", "default", 9999), "default", []],
  [
    "default-route",
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
    "x",
    "default",
    [],
  ],
];

for (const [input, typeUrl, name, caller, expected, error] of cases) {
  const quoting = error === undefined ? "" : `, error "${error}"`;
  test(`provenance ${input}: ${typeUrl.split(".").pop()} ${name} for a caller in ${caller}${quoting}`, () => {
    const { mesh, resources } = load(input);
    assert.deepEqual(
      provenance(mesh, typeUrl, name, { callerNamespace: caller, resources, error }),
      expected,
    );
  });
}
