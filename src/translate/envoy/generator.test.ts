// Dispatch by type, name resolution, and which resources differ between sidecars: the xDS cache
// shares CDS and EDS across all sidecars (isProfileDependent), so they must not depend on the proxy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toBinary } from "@bufbuild/protobuf";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { SecretSchema } from "../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { isProfileDependent } from "../dependencies.ts";
import { typeUrlOf } from "../proto.ts";
import type { GeneratedResource, ProxyProfile, ResourceRequest } from "../types.ts";
import { generateEnvoyResources } from "./generator.ts";
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
const types = [ListenerSchema, RouteConfigurationSchema, ClusterSchema, ClusterLoadAssignmentSchema] as const;

function encoded(resources: GeneratedResource[]): string[] {
  return resources.map((r) => `${r.name}=${Buffer.from(toBinary(r.schema, r.message)).toString("base64")}`);
}

function generate(profile: ProxyProfile, schema: (typeof types)[number], request = wildcard) {
  const resources = generateEnvoyResources(mesh, profile, typeUrlOf(schema), request);
  assertValidEnvoy(resources);
  return resources;
}

test("only listeners and route configurations differ between sidecars, as isProfileDependent says", () => {
  const profiles = [
    envoyProfile("shop", ["10.1.0.1"]),
    envoyProfile("tools", ["10.2.0.1"]),
    envoyProfile("shop"),
  ];
  for (const schema of types) {
    const outputs = profiles.map((p) => encoded(generate(p, schema)));
    const differ = outputs.some((o) => JSON.stringify(o) !== JSON.stringify(outputs[0]));
    assert.equal(differ, isProfileDependent(typeUrlOf(schema), profiles[0]!), schema.typeName);
  }
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

test("types Envoy sidecars get nothing of yet produce nothing", () => {
  assert.deepEqual(generateEnvoyResources(mesh, envoyProfile("shop"), typeUrlOf(SecretSchema), wildcard), []);
});
