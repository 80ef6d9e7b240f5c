// Every proxyless generator output for the golden inputs passes PGV validation and survives a
// binary round trip: what an Envoy would accept, checked without an Envoy binary.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { validateResource, type Resource } from "../../api/index.ts";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { buildMeshSnapshot } from "../../mesh/index.ts";
import { clientView } from "../client-chain.ts";
import { generateResources } from "../generator.ts";
import { typeUrlOf } from "../proto.ts";
import type { GeneratedResource } from "../types.ts";
import { assertValidEnvoy } from "./pgv-assert.ts";

interface ProxyDocument {
  namespace: string;
  targets: string[];
}

function loadCase(dir: string): { resources: Resource[]; proxy: ProxyDocument } {
  const resources: Resource[] = [];
  let proxy: ProxyDocument | undefined;
  for (const doc of parseAllDocuments(readFileSync(join(dir, "input.yaml"), "utf8"))) {
    const value = doc.toJS() as { kind?: string } | null;
    if (!value) continue;
    if (value.kind === "Proxy") {
      proxy = value as unknown as ProxyDocument;
      continue;
    }
    const result = validateResource(value);
    if (!result.ok) throw new Error(`${dir}: invalid ${result.kind} ${result.name}`);
    resources.push(result.resource);
  }
  if (!proxy) throw new Error(`${dir}/input.yaml has no Proxy document`);
  return { resources, proxy };
}

const testdata = join(import.meta.dirname, "..", "testdata");

test("proxyless generator outputs pass PGV", async (t) => {
  const seenTypes = new Set<string>();
  for (const name of readdirSync(testdata).sort()) {
    await t.test(name, () => {
      const { resources, proxy } = loadCase(join(testdata, name));
      const mesh = buildMeshSnapshot(resources, { domain: "cluster.local" });
      const profile = { flavour: "grpc" as const, instanceIps: [], namespace: proxy.namespace };
      const view = clientView(mesh, profile, proxy.targets);
      const wildcard = [ListenerSchema, ClusterSchema, ClusterLoadAssignmentSchema].flatMap((schema) =>
        generateResources(mesh, profile, typeUrlOf(schema), { wildcard: true, names: [] }),
      );
      const all: GeneratedResource[] = [
        ...view.listeners,
        ...view.routeConfigurations,
        ...view.clusters,
        ...view.loadAssignments,
        ...wildcard,
      ];
      for (const r of all) seenTypes.add(r.typeUrl);
      assertValidEnvoy(all);
    });
  }
  assert.equal(seenTypes.size, 4, `resource types checked: ${[...seenTypes].join(", ")}`);
});
