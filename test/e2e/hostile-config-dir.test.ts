// Hostile or careless input in the config directory never takes meshplane down (issue #10): a
// large file applies in concurrent batches and a route edit made during its sync is served within
// seconds; a file over dir.fileBytes is refused in /debug/config_errors while /healthz answers
// and memory stays flat; a link out of the directory is refused without reading its target; a
// YAML syntax error is reported without echoing the file. ConfigMap-style links inside the
// directory keep working.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiRequest } from "./support/api.ts";
import {
  adminText,
  assertAllOn,
  configErrors,
  meshYaml,
  metricValue,
  parseMetrics,
  startMeshFixture,
  suiteScope,
  summary,
  waitFor,
  sleep,
  waitForConfigError,
  warmUp,
  weighted,
  type ConfigErrorEntry,
  type MeshFixture,
} from "./support/index.ts";

const port = 50051;
const target = `xds:///greeter:${port}`;
const routeFile = "20-route.yaml";
const route = (backend: string) =>
  meshYaml()
    .grpcRoute("greeter-route", {
      parent: "greeter",
      port,
      rules: [{ backendRefs: weighted({ [backend]: 100 }) }],
    })
    .render();

/** `services` Services with four EndpointSlices each: five objects per service, as a mesh has. */
function largeFile(services: number): string {
  const docs: string[] = [];
  for (let i = 0; i < services; i++) {
    docs.push(
      `apiVersion: v1\nkind: Service\nmetadata: { name: bulk-${i}, namespace: bulk }\n` +
        `spec: { ports: [{ name: grpc, port: 8080 }] }\n`,
    );
    for (let j = 0; j < 4; j++) {
      docs.push(
        `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n` +
          `metadata: { name: bulk-${i}-${j}, namespace: bulk, labels: { kubernetes.io/service-name: bulk-${i} } }\n` +
          `addressType: IPv4\nports: [{ name: grpc, port: 8080 }]\n` +
          `endpoints: [{ addresses: ["10.${j}.${i >> 8}.${i & 255}"] }]\n`,
      );
    }
  }
  return docs.join("---\n");
}

/** The resident memory of the process, from /proc (Linux). */
async function rssBytes(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  assert.ok(kib !== undefined, `VmRSS in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

describe("a hostile config directory", { timeout: 120_000 }, () => {
  const scope = suiteScope();
  let mesh: MeshFixture;

  before(async () => {
    mesh = await startMeshFixture(scope.defer, {
      greeters: ["v1", "v2"],
      nodeId: "default/hostile-dir-client",
      meshplaneArgs: ["--limit", "dir.fileBytes=1MiB"],
      files: ({ v1, v2 }) => ({
        "00-services.yaml": meshYaml()
          .service("greeter", port, [{ port: v1!.port }, { port: v2!.port }])
          .service("greeter-v1", port, [{ port: v1!.port }])
          .service("greeter-v2", port, [{ port: v2!.port }])
          .render(),
        [routeFile]: route("greeter-v1"),
      }),
    });
    await warmUp(mesh.client, target);
  });

  test("a large file applies in batches; a route edit made during its sync is served within seconds", async () => {
    const services = 400;
    const objects = services * 5;
    const dropped = Date.now();
    await mesh.config.write("50-bulk.yaml", largeFile(services));
    await mesh.meshplane.waitForLog(
      (line) => line.msg === "config loaded" && Number(line.objects) >= objects,
      20_000,
      `the ${objects} objects of 50-bulk.yaml loaded`,
    );
    // The sync has begun; what it has left takes seconds more.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const edited = Date.now();
    await mesh.config.write(routeFile, route("greeter-v2"));
    let last = "";
    await waitFor(
      async () => {
        const result = await mesh.client.call({ target, calls: 10, deadlineMs: 2_000 });
        last = summary(result);
        return result.ok === 10 && result.counts.v2 === 10;
      },
      { timeoutMs: 6_000, intervalMs: 100, message: "the route edit served" },
    ).catch((error: Error) => assert.fail(`${error.message}; last calls: ${last}`));
    const servedAfterMs = Date.now() - edited;
    assertAllOn(await mesh.client.call({ target, calls: 50 }), "v2", "the edited route");
    await mesh.meshplane.waitForLog(
      (line) => line.msg === "config directory sync superseded by a newer directory state",
      1_000,
      "the bulk sync superseded by the route edit",
    );
    const synced = await mesh.meshplane.waitForLog(
      (line) => line.msg === "config directory synced to the store" && Number(line.created) >= objects,
      40_000,
      `the ${objects} objects written`,
    );
    const perSecond = objects / ((Date.parse(String(synced.time)) - dropped) / 1000);
    // Measured 100/s (load 10) to 450/s on a shared 2-core machine; the store's fsync per write bounds it.
    assert.ok(perSecond >= 50, `${objects} objects at ${perSecond.toFixed(0)}/s, floor 50/s`);
    assert.ok(servedAfterMs < 6_000, `route edit served after ${servedAfterMs} ms`);
    assert.equal(synced.failed, 0, "every object written");
    console.log(
      `# ${objects} objects at ${perSecond.toFixed(0)}/s; route edit served after ${servedAfterMs} ms`,
    );
  });

  test("a file over dir.fileBytes is refused in /debug/config_errors; /healthz answers; RSS stays flat", async () => {
    const rssBefore = await rssBytes(mesh.meshplane.pid);
    // One valid object, 2 MB: read and parsed, it would be written to the store.
    const huge = `apiVersion: v1\nkind: Service\nmetadata:\n  name: huge\n  annotations:\n${Array.from(
      { length: 20_000 },
      (_, i) => `    a${i}: "${"x".repeat(90)}"\n`,
    ).join("")}spec: { ports: [{ port: 80 }] }\n`;
    assert.ok(huge.length > 2_000_000);
    await mesh.config.write("60-huge.yaml", huge);
    // /healthz is asked all along: a process busy with the file would answer late or not at all.
    const healthzMs: number[] = [];
    let refusal: ConfigErrorEntry | undefined;
    for (const deadline = Date.now() + 10_000; !refusal && Date.now() < deadline; await sleep(20)) {
      const started = Date.now();
      assert.equal(await adminText(mesh.admin, "/healthz", 2_000), "ok\n");
      healthzMs.push(Date.now() - started);
      refusal = (await configErrors(mesh.admin)).find((e) => e.file === "60-huge.yaml");
    }
    assert.ok(refusal, "60-huge.yaml is in /debug/config_errors");
    assert.match(
      refusal.message,
      /^the file exceeds limit dir\.fileBytes of 1 MiB \(found \d+(\.\d+)? (MiB|bytes)\); an operator can raise it with `meshplane serve --limit dir\.fileBytes=VALUE`$/,
    );
    assert.ok(Math.max(...healthzMs) < 1_000, `/healthz answered in ${Math.max(...healthzMs)} ms at worst`);
    const metrics = parseMetrics(await adminText(mesh.admin, "/metrics"));
    assert.ok(
      (metricValue(metrics, "meshplane_input_refusals_total", { limit: "dir.fileBytes" }) ?? 0) >= 1,
      "the refusal is counted",
    );
    const grown = (await rssBytes(mesh.meshplane.pid)) - rssBefore;
    assert.ok(
      grown < 100 * 1024 * 1024,
      `RSS grew by ${(grown / 1024 / 1024).toFixed(1)} MiB (bound 100 MiB)`,
    );
    console.log(
      `# RSS grew by ${(grown / 1024 / 1024).toFixed(1)} MiB; /healthz answered in ${Math.max(...healthzMs)} ms at worst`,
    );
    const stored = await apiRequest(
      mesh.meshplane.apiUrl!,
      "GET",
      "/api/v1/namespaces/default/services/huge",
    );
    assert.equal(stored.status, 404, "nothing of the file reached the store");
  });

  test("a link to a file outside the directory is refused; its content appears nowhere", async (t) => {
    const outside = await mkdtemp(join(tmpdir(), "meshplane-e2e-outside-"));
    t.after(() => rm(outside, { recursive: true, force: true }));
    const secret = `s3cr3t-${process.pid}-${Date.now()}`;
    await writeFile(
      join(outside, "credentials.yaml"),
      `apiVersion: v1\nkind: Service\nmetadata: { name: ${secret} }\nspec: { ports: [{ port: 80 }] }\n` +
        `---\npassword: ${secret}\n]${secret}\n`,
    );
    await symlink(join(outside, "credentials.yaml"), join(mesh.config.path, "70-linked.yaml"));
    const errors = await waitForConfigError(
      mesh.admin,
      (e) => e.file === "70-linked.yaml" && /resolves outside the config directory/.test(e.message),
      "70-linked.yaml refused",
    );
    const stored = await apiRequest(
      mesh.meshplane.apiUrl!,
      "GET",
      `/api/v1/namespaces/default/services/${secret}`,
    );
    assert.equal(stored.status, 404, "nothing of the target reached the store");
    const everything = JSON.stringify(errors) + mesh.meshplane.tail(20_000);
    assert.ok(
      !everything.includes(secret),
      "the target's content is in neither /debug/config_errors nor the logs",
    );
    assert.ok(!everything.includes(outside), "nor is where it points");
  });

  test("a YAML syntax error is reported by file, line and reason without echoing the file", async () => {
    const secret = `hunter2-${process.pid}-${Date.now()}`;
    await mesh.config.write("80-broken.yaml", `apiVersion: v1\nkind: Service\nspec: [1, 2]]${secret}\n`);
    const errors = await waitForConfigError(
      mesh.admin,
      (e) => e.file === "80-broken.yaml",
      "80-broken.yaml reported",
    );
    const entry = errors.find((e) => e.file === "80-broken.yaml")!;
    assert.match(entry.message, /^YAML syntax error at line 3, column \d+: [^\n]{1,150}$/);
    const everything = JSON.stringify(errors) + mesh.meshplane.tail(20_000);
    assert.ok(!everything.includes(secret), `the file's content is not echoed: ${entry.message}`);
  });

  test("files presented through ConfigMap-style ..data links inside the directory load", async () => {
    const dir = mesh.config.path;
    await mkdir(join(dir, "..2024_01_01"));
    await writeFile(
      join(dir, "..2024_01_01", "cm.yaml"),
      meshYaml()
        .service("from-configmap", port, [{ port: 1 }])
        .render(),
    );
    await symlink("..2024_01_01", join(dir, "..data"));
    await symlink("..data/cm.yaml", join(dir, "90-cm.yaml"));
    const stored = await waitFor(
      async () => {
        const reply = await apiRequest(
          mesh.meshplane.apiUrl!,
          "GET",
          "/api/v1/namespaces/default/services/from-configmap",
        );
        return reply.status === 200 ? reply : undefined;
      },
      { timeoutMs: 10_000, message: "the ConfigMap's Service in the store" },
    );
    const labels = (stored.body?.metadata as { labels?: Record<string, string> }).labels;
    assert.equal(labels?.["app.kubernetes.io/managed-by"], "meshplane-config-dir");
    assert.deepEqual(
      (await configErrors(mesh.admin)).filter((e) => e.file === "90-cm.yaml"),
      [],
      "no error for the linked file",
    );
  });
});
