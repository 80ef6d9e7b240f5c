// Every code from the input that produces it, through the code that finds it (files parsed and
// validated by sources/ and api/, references by mesh/): a reworded server message, or a problem
// that moves to another code, fails here.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { defaultLimits } from "../limits/index.ts";
import { translationFailedReason } from "../pipeline/index.ts";
import { ConfigDirSync, type ObjectWriter } from "../sources/index.ts";
import { silentLogger } from "../telemetry/index.ts";
import { analyzeDirectory, analyzeFiles } from "./offline.ts";
import { codeSpecs } from "./codes.ts";
import { codeOf, finding, sortFindings } from "./findings.ts";

const service = (name: string, extra = "") =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}${extra} }\nspec: { ports: [{ name: grpc, port: 50051 }] }\n`;
const route = (name: string, spec: string) =>
  `apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: { name: ${name} }\nspec:\n${spec}`;
const parent = `  parentRefs: [{ group: "", kind: Service, name: greeter, port: 50051 }]\n`;
const policy = (name: string, target: string) =>
  `apiVersion: meshplane.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: { name: ${name} }\nspec:\n  targetRefs: [{ group: "", kind: Service, name: ${target} }]\n  loadBalancer: { type: RoundRobin }\n`;
const httpRoute = (name: string, rule: string) =>
  `apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: ${name} }\nspec:\n${parent}  rules:\n${rule}`;

/** Each offline code, the file that produces it, and where it is reported. */
const offline: { code: string; yaml: string; object: string; field: string }[] = [
  { code: "MP0101", yaml: "kind: [unclosed\n", object: "", field: "" },
  {
    code: "MP0103",
    yaml: `${service("greeter")}---\n${service("greeter")}`,
    object: "Service default/greeter",
    field: "",
  },
  {
    code: "MP0104",
    yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n",
    object: "ConfigMap default/x",
    field: "kind",
  },
  {
    code: "MP0105",
    yaml: route("r", `${parent}  rules: [{ backendRefs: [{ name: greeter, port: 50051, weight: -1 }] }]\n`),
    object: "GRPCRoute default/r",
    field: "spec.rules[0].backendRefs[0].weight",
  },
  {
    code: "MP0201",
    yaml: route("r", `${parent}  rules: [{ backendRefs: [{ name: missing, port: 50051 }] }]\n`),
    object: "GRPCRoute default/r",
    field: "spec.rules[0].backendRefs[0]",
  },
  {
    code: "MP0202",
    yaml: route(
      "r",
      `${parent}  rules: [{ backendRefs: [{ group: example.com, kind: Bucket, name: b, port: 1 }] }]\n`,
    ),
    object: "GRPCRoute default/r",
    field: "spec.rules[0].backendRefs[0]",
  },
  {
    code: "MP0203",
    yaml: route(
      "r",
      `  parentRefs: [{ group: "", kind: Service, name: nowhere, port: 50051 }]\n  rules: [{ backendRefs: [{ name: greeter, port: 50051 }] }]\n`,
    ),
    object: "GRPCRoute default/r",
    field: "spec.parentRefs[0]",
  },
  {
    code: "MP0204",
    yaml: policy("p", "missing"),
    object: "TrafficPolicy default/p",
    field: "spec.targetRefs[0]",
  },
  {
    code: "MP0205",
    yaml: `${policy("a", "greeter")}---\n${policy("b", "greeter")}`,
    object: "TrafficPolicy default/b",
    field: "spec.targetRefs[0]",
  },
  {
    code: "MP0206",
    yaml: "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: s, labels: { kubernetes.io/service-name: greeter } }\naddressType: FQDN\nports: [{ name: grpc, port: 8080 }]\nendpoints: [{ addresses: [a.example.com] }]\n",
    object: "EndpointSlice default/s",
    field: "addressType",
  },
  {
    code: "MP0207",
    yaml: httpRoute(
      "h",
      "    - matches: [{ method: GET }]\n      backendRefs: [{ name: greeter, port: 50051 }]\n",
    ),
    object: "HTTPRoute default/h",
    field: "spec.rules[0].matches[0].method",
  },
  {
    code: "MP0208",
    yaml: httpRoute(
      "h",
      "    - filters:\n        - { type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: a, value: b }] } }\n        - { type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: c, value: d }] } }\n      backendRefs: [{ name: greeter, port: 50051 }]\n",
    ),
    object: "HTTPRoute default/h",
    field: "spec.rules[0].filters[1]",
  },
];

for (const c of offline) {
  test(`analyze -f finds ${c.code} at ${c.object || "the file"} ${c.field}`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "meshplane-analyze-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, "00-base.yaml"), c.code === "MP0103" ? "" : service("greeter"));
    await writeFile(join(dir, "10-case.yaml"), c.yaml);
    const files = [join(dir, "00-base.yaml"), join(dir, "10-case.yaml")];
    const findings = (await analyzeFiles(files, { domain: "cluster.local" })).errors.map(finding);
    const found = findings.filter((f) => f.code === c.code);
    assert.deepEqual(
      found.map((f) => [f.object, f.field]),
      [[c.object, c.field]],
      JSON.stringify(findings, null, 2),
    );
    // The same directory, loaded as `serve --config-dir` loads it, gives the same findings.
    const fromDir = (await analyzeDirectory(dir, { domain: "cluster.local" })).errors.map(finding);
    assert.deepEqual(
      sortFindings(fromDir).map((f) => [f.code, f.object, f.field, f.message]),
      sortFindings(findings).map((f) => [f.code, f.object, f.field, f.message.replaceAll(`${dir}/`, "")]),
    );
  });
}

test("analyze -f: a file over an input limit is MP0102", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "meshplane-analyze-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "big.yaml");
  await writeFile(file, service("greeter"));
  const { errors } = await analyzeFiles([file], {
    domain: "cluster.local",
    limits: { ...defaultLimits, "dir.fileBytes": 16 },
  });
  assert.deepEqual(
    errors.map((e) => [codeOf(e), e.file, e.limit]),
    [["MP0102", file, "dir.fileBytes"]],
  );
});

test("an object the store refuses (config directory sync) is MP0106", async () => {
  const refusing: ObjectWriter = {
    apply: async () => {
      throw new Error("admission webhook said no");
    },
    listManaged: async () => [],
    delete: async () => undefined,
    ensureNamespace: async () => undefined,
  };
  const sync = new ConfigDirSync({ writer: refusing, logger: silentLogger() });
  const dir = await mkdtemp(join(tmpdir(), "meshplane-analyze-"));
  try {
    await writeFile(join(dir, "s.yaml"), service("greeter"));
    const state = await analyzeDirectory(dir, { domain: "cluster.local" });
    await sync.sync({ resources: state.resources, errors: [], generation: 1 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(
    sync.errors().map((e) => [codeOf(e), e.object]),
    [["MP0106", "Service default/greeter"]],
  );
});

test("mesh issues: a translator fault is MP0209, an unknown reason MP0299", () => {
  const issue = { file: "", object: "GRPCRoute default/r", field: "", message: "m" };
  assert.equal(codeOf({ ...issue, reason: translationFailedReason }), "MP0209");
  assert.equal(codeOf({ ...issue, reason: "SomethingNew" }), "MP0299");
});

test("every code is tested above, in translation.test.ts (MP0209) or in the e2e test (MP0301: NACKs, test/e2e/cli.test.ts)", () => {
  const covered = new Set([...offline.map((c) => c.code), "MP0102", "MP0106", "MP0209", "MP0299", "MP0301"]);
  assert.deepEqual(
    codeSpecs.map((s) => s.code).filter((code) => !covered.has(code)),
    [],
  );
});
