// Dispatch by type, name resolution, and which resources differ between sidecars: the xDS cache
// shares a type's resources between sidecars of one profile group, so resources must be equal
// within a group; CDS and EDS are shared by every sidecar.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toBinary } from "@bufbuild/protobuf";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { SecretSchema } from "../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { generateResources, profileGroup } from "../generator.ts";
import { typeUrlOf } from "../proto.ts";
import type { GeneratedResource, ProxyProfile, ResourceRequest } from "../types.ts";
import { assertValidEnvoy } from "./pgv-assert.ts";
import {
  attach,
  backend,
  endpoint,
  envoyProfile,
  meshOf,
  route,
  rule,
  service,
  servicePort,
} from "./testing.ts";

const web = service("shop", "web", {
  ports: [servicePort(80, { endpoints: [endpoint("10.1.0.1", 8080)] }), servicePort(15006)],
});
const api = service("tools", "api", {
  ports: [servicePort(80, { endpoints: [endpoint("10.2.0.1", 8081)] })],
});
const consumer = route("HTTPRoute", "tools", "pin", [rule({ backends: [backend("tools", "api", 80)] })]);
const mesh = meshOf([web, api], [attach(consumer, web, 80)]);

const wildcard: ResourceRequest = { wildcard: true, names: [] };
const types = [
  ListenerSchema,
  RouteConfigurationSchema,
  ClusterSchema,
  ClusterLoadAssignmentSchema,
  SecretSchema,
] as const;

function encoded(resources: GeneratedResource[]): string[] {
  return resources.map((r) => `${r.name}=${Buffer.from(toBinary(r.schema, r.message)).toString("base64")}`);
}

function generate(profile: ProxyProfile, schema: (typeof types)[number], request = wildcard) {
  const resources = generateResources(mesh, profile, typeUrlOf(schema), request);
  assertValidEnvoy(resources);
  return resources;
}

test("sidecars of one profile group get equal resources; only listeners and route configurations have groups", () => {
  const profiles = [
    envoyProfile("shop", ["10.1.0.1"]),
    envoyProfile("tools", ["10.2.0.1"]),
    envoyProfile("shop"),
    envoyProfile("tools", ["10.1.0.1"]),
    { ...envoyProfile("tools", ["10.1.0.1"]), certDir: "/etc/certs" },
  ];
  const groupsPerType: Record<string, number> = {};
  for (const schema of types) {
    const byGroup = new Map<string, string>();
    const outputs = new Set<string>();
    for (const profile of profiles) {
      const output = JSON.stringify(encoded(generate(profile, schema)));
      const group = profileGroup(typeUrlOf(schema), profile);
      assert.equal(byGroup.get(group) ?? output, output, `${schema.typeName}: one group, one output`);
      byGroup.set(group, output);
      outputs.add(output);
    }
    assert.equal(outputs.size, byGroup.size, `${schema.typeName}: each group differs from the others`);
    groupsPerType[schema.typeName.split(".").at(-1) as string] = byGroup.size;
  }
  assert.deepEqual(groupsPerType, {
    Listener: 3, // by IPs: 10.1.0.1 serves 8080, 10.2.0.1 serves 8081, no IPs serve nothing
    RouteConfiguration: 2, // by namespace: shop, tools
    Cluster: 1,
    ClusterLoadAssignment: 1,
    Secret: 2, // by certificate directory: the default, /etc/certs
  });
});

test("RDS resolves port names only; ports of no Service and capture ports do not exist", () => {
  const names = (request: string[]) =>
    generate(envoyProfile("shop"), RouteConfigurationSchema, { wildcard: false, names: request }).map(
      (r) => r.name,
    );
  assert.deepEqual(names(["80", "81", "15006", "web:80", "080", ""]), ["80"]);
  assert.deepEqual(
    generate(envoyProfile("shop"), RouteConfigurationSchema).map((r) => r.name),
    ["80"],
  );
  // A Service port equal to a capture port gets no listener either.
  assert.ok(!generate(envoyProfile("shop"), ListenerSchema).some((r) => r.name === "0.0.0.0_15006"));
});

test("SDS has exactly the two secrets TLS contexts name; other names resolve to nothing", () => {
  const names = (request: ResourceRequest) =>
    generate(envoyProfile("shop"), SecretSchema, request).map((r) => r.name);
  assert.deepEqual(names(wildcard), ["default", "ROOTCA"]);
  assert.deepEqual(names({ wildcard: false, names: ["ROOTCA", "default", "file-cert", ""] }), [
    "ROOTCA",
    "default",
  ]);
});
