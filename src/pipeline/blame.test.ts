// A rejected resource is blamed on what its generator read; a proxy's error quoting an endpoint
// address narrows the EndpointSlices to those that carry it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildMeshSnapshot, MeshFacets } from "../mesh/index.ts";
import { resources } from "../mesh/testing.ts";
import { translate } from "../translate/index.ts";
import { builtFrom } from "./blame.ts";

const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

const slice = (name: string, addressType: string, addresses: string[]) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name, labels: { "kubernetes.io/service-name": "greeter" } },
  addressType,
  ports: [{ name: "grpc", port: 8080 }],
  endpoints: [{ addresses }],
});

const mesh = buildMeshSnapshot(
  resources(
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "greeter" },
      spec: { ports: [{ name: "grpc", port: 50051 }] },
    },
    slice("greeter-ipv4", "IPv4", ["10.0.0.1", "10.0.0.2"]),
    slice("greeter-dup", "IPv4", ["10.0.0.2"]),
    slice("greeter-fqdn", "FQDN", ["greeter.example.com"]),
  ),
  { domain: "cluster.local" },
);

const { provenance } = translate(
  new MeshFacets(mesh),
  { namespace: "default", flavour: "grpc", instanceIps: [] },
  EDS,
  "outbound|50051||greeter.default.svc.cluster.local",
);

const all = [
  "Service default/greeter",
  "EndpointSlice default/greeter-dup",
  "EndpointSlice default/greeter-fqdn",
  "EndpointSlice default/greeter-ipv4",
];

const cases: [error: string | undefined, expected: string[]][] = [
  [undefined, all],
  ["address is not a valid IPv4 or IPv6 address: 10.0.0.1]", [all[0]!, "EndpointSlice default/greeter-ipv4"]],
  [
    "address is a duplicate: 10.0.0.2",
    [all[0]!, "EndpointSlice default/greeter-dup", "EndpointSlice default/greeter-ipv4"],
  ],
  ["greeter.example.com is not an IP address", [all[0]!, "EndpointSlice default/greeter-fqdn"]],
  // Whole tokens only: neither quotes 10.0.0.1.
  ["10.0.0.20 and 10.0.0.1.5 quote no slice's address", all],
];

for (const [error, expected] of cases) {
  test(`builtFrom: error ${JSON.stringify(error)}`, () => {
    assert.deepEqual(builtFrom(provenance, error), expected);
  });
}
