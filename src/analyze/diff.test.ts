import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Resource } from "../api/index.ts";
import { applyChanges, diffResources, type SubscribedProxy } from "./diff.ts";
import { analyzeFiles } from "./offline.ts";

const LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
const RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

const services = ["greeter", "greeter-v1", "greeter-v2", "other"]
  .map(
    (name) =>
      `apiVersion: v1\nkind: Service\nmetadata: { name: ${name} }\nspec: { ports: [{ name: grpc, port: 50051 }] }\n`,
  )
  .join("---\n");
const slices = ["greeter-v1", "greeter-v2", "other"]
  .map(
    (name, i) =>
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: ${name}, labels: { kubernetes.io/service-name: ${name} } }\naddressType: IPv4\nports: [{ name: grpc, port: 8080 }]\nendpoints: [{ addresses: ["10.0.0.${i + 1}"] }]\n`,
  )
  .join("---\n");
const split = (v1: number, v2: number) =>
  `apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: { name: greeter-split }\nspec:\n  parentRefs: [{ group: "", kind: Service, name: greeter, port: 50051 }]\n  rules:\n    - backendRefs:\n        - { name: greeter-v1, port: 50051, weight: ${v1} }\n        - { name: greeter-v2, port: 50051, weight: ${v2} }\n`;

async function load(yaml: string): Promise<readonly Resource[]> {
  const dir = await mkdtemp(join(tmpdir(), "meshplane-diff-"));
  try {
    await writeFile(join(dir, "mesh.yaml"), yaml);
    const { resources, errors } = await analyzeFiles([join(dir, "mesh.yaml")], { domain: "cluster.local" });
    // A change alone refers to objects it does not define: only the files' own errors count.
    assert.deepEqual(
      errors.filter((e) => e.reason === undefined),
      [],
    );
    return resources;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const cluster = (name: string) => `outbound|50051||${name}.default.svc.cluster.local`;

/** A grpc-js-xds client of `target` as it subscribes: the listener by name, then what it names. */
function client(node: string, service: string, clusters: string[]): SubscribedProxy {
  return {
    node,
    replica: "r1",
    profile: { namespace: "default", flavour: "grpc", instanceIps: [] },
    types: [
      { typeUrl: LDS, wildcard: false, subscribed: [`${service}:50051`] },
      { typeUrl: RDS, wildcard: false, subscribed: [`${service}.default.svc.cluster.local:50051`] },
      { typeUrl: CDS, wildcard: false, subscribed: clusters.map(cluster) },
      { typeUrl: EDS, wildcard: false, subscribed: clusters.map(cluster) },
    ],
  };
}

test("a weight change alters exactly the one RouteConfiguration, for the proxies that hold it", async () => {
  const before = await load(`${services}---\n${slices}---\n${split(90, 10)}`);
  const change = await load(split(50, 50));
  const proxies = [
    client("default/a", "greeter", ["greeter-v1", "greeter-v2"]),
    client("default/b", "greeter", ["greeter-v1", "greeter-v2"]),
    client("default/c", "other", ["other"]),
  ];
  const differences = diffResources(before, applyChanges(before, change), proxies, {
    domain: "cluster.local",
  });
  assert.deepEqual(
    differences.map((d) => [d.typeUrl, d.name, d.change, d.proxies]),
    [[RDS, "greeter.default.svc.cluster.local:50051", "changed", ["default/a@r1", "default/b@r1"]]],
  );
  const lines = (differences[0]?.diff ?? "").split("\n");
  assert.deepEqual(
    lines.filter((l) => /^[-+] /.test(l)).map((l) => l.replace(/\s+/g, " ")),
    ['- "weight": 90', '+ "weight": 50', '- "weight": 10', '+ "weight": 50'],
  );
});

test("no change, no difference; a new object replaces nothing and adds what it creates", async () => {
  const before = await load(`${services}---\n${slices}---\n${split(90, 10)}`);
  const proxies = [client("default/a", "greeter", ["greeter-v1", "greeter-v2"])];
  assert.deepEqual(diffResources(before, applyChanges(before, []), proxies, { domain: "cluster.local" }), []);
  const added = await load(split(90, 10).replace("greeter-split", "greeter-split-2"));
  assert.equal(applyChanges(before, added).length, before.length + 1);
});
