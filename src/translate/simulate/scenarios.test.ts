// Table-driven simulation over generated xDS. Each testdata/<scenario>.yaml holds mesh resources
// and one `kind: Simulation` document whose cases say which route, rule and clusters a request
// reaches, per data plane. The explain text of every case is a golden file next to it
// (testdata/<scenario>.golden.txt); regenerate with `npm run golden` and review the diff.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { validateResource, type Resource } from "../../api/index.ts";
import { buildMeshSnapshot, type MeshSnapshot } from "../../mesh/index.ts";
import { generateResources } from "../generator.ts";
import { blackholeCluster, clusterName, resolveTarget } from "../names.ts";
import { explainText } from "./explain.ts";
import { collectResources } from "./resources.ts";
import { simulateRequest } from "./simulate.ts";
import type { SimulationFlavour, SimulationOutcome, SimulationResult } from "./types.ts";
import { viewOf } from "../testing.ts";

const testdata = join(import.meta.dirname, "testdata");
const update = process.env.UPDATE_GOLDEN === "1";
const domain = "cluster.local";

interface Expectation {
  readonly outcome: SimulationOutcome;
  /** The xDS route taken (`Kind/ns/name/rule/<rule>` or `default`); null: none. */
  readonly route?: string | null;
  readonly stage?: string;
  /** [cluster, share, served?]: `name.namespace:port`, `blackhole`, or a literal cluster name. */
  readonly backends?: readonly [string, number, boolean?][];
  /** Substrings of reasons of routes passed over, in their order (other routes may come between). */
  readonly reasons?: readonly string[];
  /** Substrings the explain text contains. */
  readonly text?: readonly string[];
}

interface Case {
  readonly name: string;
  readonly flavours?: readonly SimulationFlavour[];
  readonly namespace?: string;
  readonly target: string;
  readonly grpcMethod?: string;
  readonly path?: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly expect: Expectation;
  /** Per data plane differences from `expect`. */
  readonly grpc?: Partial<Expectation>;
  readonly envoy?: Partial<Expectation>;
}

function loadScenario(file: string): { resources: Resource[]; cases: Case[] } {
  const resources: Resource[] = [];
  let cases: Case[] | undefined;
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const value = doc.toJS() as { kind?: string; cases?: Case[] } | null;
    if (!value) continue;
    if (value.kind === "Simulation") {
      cases = value.cases;
      continue;
    }
    const result = validateResource(value);
    if (!result.ok)
      throw new Error(`${file}: invalid ${result.kind} ${result.name}: ${JSON.stringify(result.errors)}`);
    resources.push(result.resource);
  }
  if (!cases) throw new Error(`${file} needs a document with kind: Simulation and cases`);
  return { resources, cases };
}

function cluster(short: string): string {
  if (short === "blackhole") return blackholeCluster;
  const match = /^([^.]+)\.([^:]+):(\d+)$/.exec(short);
  return match ? clusterName(match[2] as string, match[1] as string, Number(match[3]), domain) : short;
}

function simulate(mesh: MeshSnapshot, c: Case, flavour: SimulationFlavour): SimulationResult {
  const namespace = c.namespace ?? "default";
  const profile = { namespace, flavour, instanceIps: [] };
  const resources = collectResources(
    (typeUrl, request) => generateResources(mesh, profile, typeUrl, request),
    flavour,
    [c.target],
  );
  return simulateRequest(
    resources,
    {
      target: c.target,
      path: c.grpcMethod ?? c.path ?? "/",
      method: c.method,
      headers: Object.entries(c.headers ?? {}),
      grpc: c.grpcMethod !== undefined,
      destinationIp: resolveTarget(viewOf(mesh, namespace), c.target, namespace)?.service.clusterIP,
    },
    flavour,
  );
}

function check(result: SimulationResult, expected: Expectation): void {
  const text = explainText(result);
  assert.equal(result.outcome, expected.outcome, text);
  if (expected.route !== undefined) assert.equal(result.route?.name ?? null, expected.route, text);
  if (expected.stage !== undefined) assert.equal(result.failure?.stage, expected.stage, text);
  if (expected.backends) {
    assert.deepEqual(
      result.backends.map((b) => [b.cluster, Number(b.share.toFixed(4)), b.ok]),
      expected.backends.map(([name, share, ok]) => [cluster(name), share, ok ?? true]),
      text,
    );
  }
  if (expected.reasons) {
    let next = 0;
    for (const reason of expected.reasons) {
      const at = result.routes.findIndex((r, i) => i >= next && r.reason?.includes(reason));
      assert.ok(at >= 0, `no route passed over because of "${reason}" (in order)\n${text}`);
      next = at + 1;
    }
  }
  for (const fragment of expected.text ?? []) assert.ok(text.includes(fragment), `${fragment}\n${text}`);
}

for (const file of readdirSync(testdata)
  .filter((f) => f.endsWith(".yaml"))
  .sort()) {
  const scenario = file.replace(/\.yaml$/, "");
  const { resources, cases } = loadScenario(join(testdata, file));
  const mesh = buildMeshSnapshot(resources, { domain });
  const golden: string[] = [];
  for (const c of cases) {
    for (const flavour of c.flavours ?? ["grpc"]) {
      const result = simulate(mesh, c, flavour);
      golden.push(`### ${c.name} [${flavour}]\n${explainText(result)}`);
      test(`simulation ${scenario} [${flavour}]: ${c.name}`, () =>
        check(result, { ...c.expect, ...c[flavour] }));
    }
  }
  test(`simulation ${scenario}: explain text matches the golden file`, () => {
    const path = join(testdata, `${scenario}.golden.txt`);
    const actual = golden.join("\n");
    if (update) writeFileSync(path, actual);
    assert.ok(existsSync(path), `${path} missing: run npm run golden`);
    assert.equal(
      actual,
      readFileSync(path, "utf8"),
      `${scenario}.golden.txt differs: review, then npm run golden`,
    );
  });
}
