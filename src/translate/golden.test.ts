// Golden tests: each folder in testdata/ holds input.yaml (mesh resources plus one `Proxy`
// document naming the caller's namespace and dialled targets) and one expected JSON file per xDS
// type; `client: grpc-python/1.51` in the Proxy document generates for that client group. Regenerate after an intended change with `npm run golden`, then review the diff. Every
// generated resource must also pass grpc-js-xds's own validation: the client would ACK it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { parseAllDocuments } from "yaml";
import { validateResource, type Resource } from "../api/index.ts";
import { buildMeshSnapshot } from "../mesh/index.ts";
import { clientView } from "./client-chain.ts";
import { parseClientSpec } from "./clients/index.ts";
import { grpcJsXdsErrors } from "./grpc/testing/grpc-js-xds.ts";
import { packedTypesRegistry } from "./json.ts";
import type { GeneratedResource } from "./types.ts";

const testdata = join(import.meta.dirname, "testdata");
const update = process.env.UPDATE_GOLDEN === "1";
const registry = packedTypesRegistry();

interface ProxyDocument {
  namespace: string;
  targets: string[];
  /** A client group as `meshplane explain --client` takes it; absent: a client that names none. */
  client?: string;
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
    if (!result.ok)
      throw new Error(`${dir}: invalid ${result.kind} ${result.name}: ${JSON.stringify(result.errors)}`);
    resources.push(result.resource);
  }
  if (!proxy) throw new Error(`${dir}/input.yaml needs a document with kind: Proxy, namespace and targets`);
  return { resources, proxy };
}

function asJson(resources: readonly GeneratedResource[]): string {
  const json = resources.map((r) => toJson(r.schema, r.message, { registry }));
  return `${JSON.stringify(json, null, 2)}\n`;
}

for (const name of readdirSync(testdata).sort()) {
  test(`golden: ${name}`, () => {
    const dir = join(testdata, name);
    const { resources, proxy } = loadCase(dir);
    const mesh = buildMeshSnapshot(resources, { domain: "cluster.local" });
    const view = clientView(
      mesh,
      {
        flavour: "grpc",
        instanceIps: [],
        namespace: proxy.namespace,
        ...(proxy.client ? { client: parseClientSpec(proxy.client) } : {}),
      },
      proxy.targets,
    );
    const outputs: Record<string, string> = {
      "lds.json": asJson(view.listeners),
      "rds.json": asJson(view.routeConfigurations),
      "cds.json": asJson(view.clusters),
      "eds.json": asJson(view.loadAssignments),
      "issues.json": `${JSON.stringify(mesh.issues, null, 2)}\n`,
    };
    for (const resource of Object.values(view).flat()) {
      assert.deepEqual(grpcJsXdsErrors(resource), [], `${name}: grpc-js-xds rejects ${resource.name}`);
    }
    for (const [file, actual] of Object.entries(outputs)) {
      const path = join(dir, file);
      if (update) writeFileSync(path, actual);
      assert.ok(existsSync(path), `${path} missing: run npm run golden`);
      assert.equal(
        actual,
        readFileSync(path, "utf8"),
        `${name}/${file} differs: review, then npm run golden`,
      );
    }
  });
}
