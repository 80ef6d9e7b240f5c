// Smoke tests of the harness's own helpers: mesh YAML builder (validated by src/api),
// the quick-start mesh, config directories and waitFor.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { validateResource, type Resource } from "../../../src/api/index.ts";
import { tempConfigDir } from "./config.ts";
import { greeterMesh, meshYaml, weighted } from "./mesh-yaml.ts";
import { quickstartMeshDir } from "./paths.ts";
import { FatalWaitError, waitFor } from "./wait.ts";
import { metricValue, parseMetrics } from "./metrics.ts";
import { assertAllOn, assertSplit } from "./expect.ts";

function validateAll(yaml: string, source: string): Resource[] {
  return parseAllDocuments(yaml).map((doc, i) => {
    assert.deepEqual(doc.errors, [], `${source} document ${i} parses`);
    const result = validateResource(doc.toJS());
    assert.ok(result.ok, `${source} document ${i}: ${JSON.stringify(result)}`);
    return result.resource;
  });
}

test("the quick-start mesh validates and routes greeter 90/10 to existing Services", async () => {
  const files = (await readdir(quickstartMeshDir)).filter((f) => f.endsWith(".yaml")).sort();
  assert.ok(files.length >= 3);
  const resources: Resource[] = [];
  for (const file of files) {
    resources.push(...validateAll(await readFile(join(quickstartMeshDir, file), "utf8"), file));
  }
  const keys = resources.map((r) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`);
  assert.equal(new Set(keys).size, keys.length, `no duplicate objects: ${keys.join(", ")}`);
  const services = new Set(resources.filter((r) => r.kind === "Service").map((r) => r.metadata.name));
  assert.deepEqual([...services].sort(), ["greeter", "greeter-v1", "greeter-v2"]);
  const route = resources.find((r) => r.kind === "GRPCRoute");
  assert.ok(route?.kind === "GRPCRoute");
  assert.deepEqual(route.spec.parentRefs, [{ group: "", kind: "Service", name: "greeter", port: 50051 }]);
  const refs = route.spec.rules?.[0]?.backendRefs ?? [];
  assert.deepEqual(
    refs.map((r) => [r.name, r.port, r.weight]),
    [
      ["greeter-v1", 50051, 90],
      ["greeter-v2", 50051, 10],
    ],
  );
  for (const ref of refs) assert.ok(services.has(ref.name));
  const slicePorts = resources.flatMap((r) =>
    r.kind === "EndpointSlice"
      ? [`${r.metadata.labels?.["kubernetes.io/service-name"]}:${r.ports?.[0]?.port}`]
      : [],
  );
  assert.deepEqual(slicePorts.sort(), [
    "greeter-v1:20061",
    "greeter-v2:20062",
    "greeter:20061",
    "greeter:20062",
  ]);
});

test("meshYaml renders valid Services, EndpointSlices and routes", () => {
  const yaml = greeterMesh({ v1Port: 40001, v2Port: 40002, weights: [70, 30] })
    .httpRoute("web", {
      parent: { name: "greeter", sectionName: "grpc" },
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/meshplane.demo.Greeter" } }],
          backendRefs: weighted({ "greeter-v1": 1 }),
        },
      ],
    })
    .render();
  const resources = validateAll(yaml, "greeterMesh");
  assert.deepEqual(
    resources.map((r) => r.kind),
    [
      "Service",
      "EndpointSlice",
      "EndpointSlice",
      "Service",
      "EndpointSlice",
      "Service",
      "EndpointSlice",
      "GRPCRoute",
      "HTTPRoute",
    ],
  );
  const zone = resources.find((r) => r.kind === "EndpointSlice" && r.metadata.name === "greeter-1");
  assert.ok(zone?.kind === "EndpointSlice");
  assert.equal(zone.endpoints[0]?.zone, "zone-a");
  assert.equal(zone.ports?.[0]?.port, 40001);
  assert.throws(() => meshYaml().endpointSlice("s", "s-1", [{ port: 1 }, { port: 2 }]), /share a port/);
  const unready = validateAll(
    meshYaml()
      .service("a", 80, [{ port: 8080, ready: false }], { namespace: "ns1" })
      .render(),
    "x",
  );
  assert.ok(unready[1]?.kind === "EndpointSlice");
  assert.deepEqual(unready[1].endpoints[0]?.conditions, { ready: false });
  assert.equal(unready[1].metadata.namespace, "ns1");
});

test("tempConfigDir writes atomically inside its directory and cleans up", async () => {
  const dir = await tempConfigDir({ "a.yaml": "x: 1\n", "sub/b.yaml": "y: 2\n" });
  assert.equal(await dir.read("sub/b.yaml"), "y: 2\n");
  await dir.write("a.yaml", "x: 3\n");
  assert.equal(await dir.read("a.yaml"), "x: 3\n");
  assert.deepEqual(
    (await readdir(dir.path)).sort(),
    ["a.yaml", "sub"],
    "no temporary files left in the config dir",
  );
  await dir.remove("a.yaml");
  await assert.rejects(dir.read("a.yaml"), /ENOENT/);
  await assert.rejects(dir.write("../escape.yaml", ""), /not inside/);
  await dir.stop();
  await assert.rejects(stat(dir.path), /ENOENT/);
});

test("waitFor returns the first truthy value, times out with its message, stops on FatalWaitError", async () => {
  let n = 0;
  assert.equal(await waitFor(() => (++n >= 3 ? n : undefined), { intervalMs: 1 }), 3);
  await assert.rejects(
    waitFor(() => false, { timeoutMs: 50, intervalMs: 10, message: "the impossible" }),
    /timed out after 50 ms waiting for the impossible \(last: false\)/,
  );
  await assert.rejects(
    waitFor(
      () => {
        throw new Error("flaky");
      },
      { timeoutMs: 30, intervalMs: 10 },
    ),
    /last: flaky/,
  );
  const started = Date.now();
  await assert.rejects(
    waitFor(
      () => {
        throw new FatalWaitError("NACKed");
      },
      { timeoutMs: 5_000 },
    ),
    /NACKed/,
  );
  assert.ok(Date.now() - started < 1_000);
});

test("parseMetrics and metricValue read labelled samples; ambiguity is an error", () => {
  const samples = parseMetrics(
    [
      "# HELP meshplane_xds_acks_total ACKs.",
      "# TYPE meshplane_xds_acks_total counter",
      'meshplane_xds_acks_total{type="lds"} 3',
      'meshplane_xds_acks_total{type="eds"} 5',
      'meshplane_build_info{version="a\\"b"} 1',
      "meshplane_up 1 1700000000000",
      "",
    ].join("\n"),
  );
  assert.equal(metricValue(samples, "meshplane_xds_acks_total", { type: "eds" }), 5);
  assert.equal(metricValue(samples, "meshplane_xds_acks_total", { type: "cds" }), undefined);
  assert.equal(metricValue(samples, "meshplane_build_info", { version: 'a"b' }), 1);
  assert.equal(metricValue(samples, "meshplane_up"), 1);
  assert.throws(() => metricValue(samples, "meshplane_xds_acks_total"), /matches 2 samples/);
  assert.throws(() => parseMetrics("not a metric line at all"), /unparsable/);
});

test("assertSplit and assertAllOn say what was observed", () => {
  const result = {
    id: 1,
    target: "xds:///greeter:50051",
    method: "SayHello" as const,
    ok: 95,
    counts: { v1: 80, v2: 15 },
    errors: { UNAVAILABLE: 5 },
    errorSamples: ["UNAVAILABLE: no healthy upstream"],
    elapsedMs: 12,
  };
  assert.throws(
    () => assertSplit(result, { v1: 80, v2: 20 }, 4, "split"),
    /split: expected no failed calls; observed SayHello xds:\/\/\/greeter:50051: 100 calls, ok 95, counts \{"v1":80,"v2":15\} \[v1 80\.0%, v2 15\.0%\], errors \{"UNAVAILABLE":5\} \(e\.g\. UNAVAILABLE: no healthy upstream\)/,
  );
  const clean = { ...result, ok: 100, counts: { v1: 80, v2: 20 }, errors: {}, errorSamples: [] };
  assertSplit(clean, { v1: 80, v2: 20 }, 4, "split");
  assert.throws(
    () => assertSplit(clean, { v1: 90, v2: 10 }, 4, "split"),
    /v1 got 80\.00% of 100 calls, configured 90\.0% ± 4/,
  );
  assert.throws(() => assertSplit(clean, { v1: 1 }, 4, "split"), /unexpected backends/);
  assert.throws(() => assertAllOn(clean, "v1", "only v1"), /only v1: expected all calls on v1; observed/);
  assertAllOn({ ...clean, counts: { v1: 100 } }, "v1", "only v1");
});
