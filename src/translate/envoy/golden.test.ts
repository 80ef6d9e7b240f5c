// Golden tests for Envoy sidecars. Each folder in testdata/ holds input.yaml (mesh resources plus
// one `kind: Proxy` document with the sidecar's namespace and instanceIps) and the expected JSON
// per xDS type, fetched as Envoy fetches them: LDS and CDS wildcard, RDS for the names the
// listeners use, EDS for the EDS clusters, SDS for the secrets their TLS contexts name; plus the
// mesh issues. Every resource must pass the PGV
// rules Envoy enforces. Regenerate after an intended change with `npm run golden`, then review.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { parseAllDocuments } from "yaml";
import { validateResource, type Resource } from "../../api/index.ts";
import {
  ClusterSchema,
  Cluster_DiscoveryType,
  type Cluster,
} from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { SecretSchema } from "../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { buildMeshSnapshot, type MeshSnapshot } from "../../mesh/index.ts";
import { typeUrlOf } from "../proto.ts";
import type { GeneratedResource, ProxyProfile } from "../types.ts";
import { generateResources } from "../generator.ts";
import { assertValidEnvoy } from "./pgv-assert.ts";
import { envoyRegistry } from "./registry.ts";
import { domain, envoyProfile } from "./testing.ts";

const testdata = join(import.meta.dirname, "testdata");
const update = process.env.UPDATE_GOLDEN === "1";

interface GoldenCase {
  readonly mesh: MeshSnapshot;
  readonly profile: ProxyProfile;
}

function loadCase(dir: string): GoldenCase {
  const resources: Resource[] = [];
  let proxy: { namespace: string; instanceIps?: string[] } | undefined;
  for (const doc of parseAllDocuments(readFileSync(join(dir, "input.yaml"), "utf8"))) {
    const value = doc.toJS() as { kind?: string } | null;
    if (!value) continue;
    if (value.kind === "Proxy") {
      proxy = value as typeof proxy;
      continue;
    }
    const result = validateResource(value);
    if (!result.ok)
      throw new Error(`${dir}: invalid ${result.kind} ${result.name}: ${JSON.stringify(result.errors)}`);
    resources.push(result.resource);
  }
  if (!proxy) throw new Error(`${dir}/input.yaml needs a document with kind: Proxy and namespace`);
  return {
    mesh: buildMeshSnapshot(resources, { domain }),
    profile: envoyProfile(proxy.namespace, proxy.instanceIps ?? []),
  };
}

/** What a sidecar holds after subscribing as Envoy does. */
function sidecarView({ mesh, profile }: GoldenCase): Record<string, GeneratedResource[]> {
  const fetch = (schema: Parameters<typeof typeUrlOf>[0], names?: Iterable<string>) =>
    generateResources(
      mesh,
      profile,
      typeUrlOf(schema),
      names ? { wildcard: false, names: [...new Set(names)].sort() } : { wildcard: true, names: [] },
    );
  const listeners = fetch(ListenerSchema);
  const clusters = fetch(ClusterSchema);
  return {
    "lds.json": listeners,
    "rds.json": fetch(
      RouteConfigurationSchema,
      listeners.flatMap((l) => rdsNames(l.message as Listener)),
    ),
    "cds.json": clusters,
    "eds.json": fetch(
      ClusterLoadAssignmentSchema,
      clusters.flatMap((c) => {
        const cluster = c.message as Cluster;
        return cluster.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS
          ? [cluster.edsClusterConfig?.serviceName || c.name]
          : [];
      }),
    ),
    "sds.json": fetch(SecretSchema, sdsNames([...listeners, ...clusters])),
  };
}

/** The SDS secrets TLS contexts name: every `{name, sdsConfig}` in the resources' JSON. */
function sdsNames(resources: readonly GeneratedResource[]): string[] {
  const names: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === "object" && value !== null) {
      const record = value as Record<string, unknown>;
      if (typeof record.name === "string" && record.sdsConfig !== undefined) names.push(record.name);
      Object.values(record).forEach(walk);
    }
  };
  for (const r of resources) walk(toJson(r.schema, r.message, { registry: envoyRegistry }));
  return names;
}

function rdsNames(listener: Listener): string[] {
  return listener.filterChains.flatMap((chain) =>
    chain.filters.flatMap((filter) => {
      const packed = filter.configType.case === "typedConfig" ? filter.configType.value : undefined;
      if (packed?.typeUrl !== typeUrlOf(HttpConnectionManagerSchema)) return [];
      const manager = anyUnpack(packed, HttpConnectionManagerSchema);
      return manager?.routeSpecifier.case === "rds" ? [manager.routeSpecifier.value.routeConfigName] : [];
    }),
  );
}

function asJson(resources: readonly GeneratedResource[]): string {
  const json = resources.map((r) => toJson(r.schema, r.message, { registry: envoyRegistry }));
  return `${JSON.stringify(json, null, 2)}\n`;
}

for (const name of readdirSync(testdata).sort()) {
  const dir = join(testdata, name);
  test(`envoy golden: ${name}`, () => {
    const golden = loadCase(dir);
    const view = sidecarView(golden);
    const outputs: Record<string, string> = Object.fromEntries(
      Object.entries(view).map(([file, resources]) => [file, asJson(resources)]),
    );
    outputs["issues.json"] = `${JSON.stringify(golden.mesh.issues, null, 2)}\n`;
    if (update) for (const [file, actual] of Object.entries(outputs)) writeFileSync(join(dir, file), actual);
    assertValidEnvoy(Object.values(view).flat());
    for (const [file, actual] of Object.entries(outputs)) {
      const path = join(dir, file);
      assert.ok(existsSync(path), `${path} missing: run npm run golden`);
      assert.equal(
        actual,
        readFileSync(path, "utf8"),
        `${name}/${file} differs: review, then npm run golden`,
      );
    }
  });
}

test("envoy: every resource a sidecar gets for the examples passes the PGV rules", () => {
  const examples = join(import.meta.dirname, "../../../examples");
  const resources = ["quickstart/mesh", "policies"].flatMap((folder) =>
    readdirSync(join(examples, folder))
      .filter((file) => file.endsWith(".yaml"))
      .flatMap((file) =>
        parseAllDocuments(readFileSync(join(examples, folder, file), "utf8"), { version: "1.1" }).map(
          (doc) => {
            const result = validateResource(doc.toJS());
            if (!result.ok) throw new Error(`${folder}/${file}: ${JSON.stringify(result.errors)}`);
            return result.resource;
          },
        ),
      ),
  );
  // A sidecar beside greeter-v1 (127.0.0.1), in the examples' namespace.
  const view = sidecarView({
    mesh: buildMeshSnapshot(resources, { domain }),
    profile: envoyProfile("default", ["127.0.0.1"]),
  });
  const all = Object.values(view).flat();
  for (const [file, list] of Object.entries(view)) assert.ok(list.length > 0, `${file} is not empty`);
  assertValidEnvoy(all);
});
