// meshplane quick start, part two: an automatic rollback. A canary that fails 30 % of its calls is
// rolled out by a Rollout; Prometheus measures its success rate; meshplane sends all traffic back
// to the stable version on its own and says why.
//
//   npm run demo:rollback            # installed package: meshplane rollback-demo
//
// Needs Prometheus (Debian: apt-get install -y prometheus). What it does, one line per step: start
// greeter v1 (healthy) and v2 (fails 30 % of calls), both exporting the standard gRPC server
// metrics; start Prometheus scraping them every second; start `meshplane serve` on a copy of
// ./mesh with the route at 100/0; start a proxyless gRPC client calling in a loop; add a Rollout
// (10 % → analysis → 50 % ...) to the config directory; print each step the controller takes and
// the split the client sees, until the rollout is rolled back. Exit 0 = rolled back, traffic on v1.
import { spawn, type ChildProcess } from "node:child_process";
import { cp, readFile, rename, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { spawnChild, type Child } from "./lib/child.ts";
import { DemoError, runMeshplane, sendCalls, runDemo, type DemoRun } from "./lib/demo-kit.ts";
import type { CallResult } from "./lib/protocol.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const ext = extname(import.meta.filename);
const cli = here(`../../src/cli/main${ext}`);
const target = "xds:///greeter:50051";
const nodeId = "default/rollback-demo-client";
const backends = [
  { name: "v1", service: "greeter-v1", port: 20061, failRate: 0 },
  { name: "v2", service: "greeter-v2", port: 20062, failRate: 0.3 },
] as const;

let stepNumber = 0;
const totalSteps = 7;
const step = (text: string) => console.log(`\n[${++stepNumber}/${totalSteps}] ${text}`);
const detail = (text: string) => console.log(`      ${text}`);
const elapsed = (since: number) => `${((Date.now() - since) / 1000).toFixed(1).padStart(5)} s`;

async function freePort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new DemoError(
          `cannot bind 127.0.0.1:${port}: ${error.code ?? error.message}; is another demo running?`,
        ),
      ),
    );
    probe.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      const bound = (probe.address() as { port: number }).port;
      probe.close(() => resolve(bound));
    });
  });
}

const runCli = (args: string[]) => runMeshplane(cli, args);

let prometheus: ChildProcess | undefined;
async function startPrometheus(work: string, targets: Record<string, string>): Promise<string> {
  const port = await freePort();
  const jobs = Object.entries(targets)
    .map(([job, address]) => `  - job_name: ${job}\n    static_configs:\n      - targets: ["${address}"]`)
    .join("\n");
  await writeFile(join(work, "prometheus.yml"), `global:\n  scrape_interval: 1s\nscrape_configs:\n${jobs}\n`);
  const proc = spawn(
    "prometheus",
    [
      `--config.file=${join(work, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(work, "tsdb")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: "ignore" },
  );
  prometheus = proc;
  await new Promise<void>((resolve, reject) => {
    proc.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new DemoError(
          error.code === "ENOENT"
            ? "prometheus is not installed: apt-get install -y prometheus"
            : error.message,
        ),
      ),
    );
    proc.once("spawn", () => resolve());
  });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 150; attempt++) {
    if (
      await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return url;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new DemoError("prometheus did not become ready within 15 s");
}

const call = (client: Child, calls: number) =>
  sendCalls(client, target, calls, { concurrency: 5, deadlineMs: 2_000 });

const share = (result: CallResult, name: string) => {
  const all = result.ok + Object.values(result.errors).reduce((a, b) => a + b, 0);
  return all === 0 ? 0 : (100 * (result.counts[name] ?? 0)) / all;
};
const failedShare = (result: CallResult) => {
  const failed = Object.values(result.errors).reduce((a, b) => a + b, 0);
  return (100 * failed) / Math.max(1, result.ok + failed);
};

const rollout = (
  prometheusUrl: string,
) => `# Added by the demo: roll greeter-v2 out, checking its success rate in Prometheus.
apiVersion: meshplane.dev/v1alpha1
kind: Rollout
metadata:
  name: greeter
  namespace: default
spec:
  routeRef: { kind: GRPCRoute, name: greeter-split }
  stableBackend: { name: greeter-v1 }
  canaryBackend: { name: greeter-v2 }
  steps:
    - setWeight: 20
    - analysis:
        interval: 3s
        count: 3
        metrics:
          - name: success-rate
            successCondition: ">= 0.95"
            prometheus: { address: "${prometheusUrl}", template: GrpcSuccessRate, window: 5s }
    - setWeight: 50
`;

async function demo({ work }: DemoRun): Promise<number> {
  const configDir = join(work, "mesh");
  const dataDir = join(work, "data");
  step("Starting greeter v1 (healthy) and v2 (fails 30 % of calls), both exporting gRPC server metrics");
  const metrics: Record<string, string> = {};
  for (const backend of backends) {
    await freePort(backend.port);
    const child = spawnChild(`greeter ${backend.name}`, [
      here(`./greeter-server${ext}`),
      ...["--name", backend.name, "--address", `127.0.0.1:${backend.port}`],
      ...["--fail-rate", String(backend.failRate), "--metrics-address", "127.0.0.1:0"],
    ]);
    const line = await child.waitForJson(
      (json) => json.msg === "greeter listening",
      10_000,
      "greeter listening",
    );
    metrics[backend.service] = String(line.metricsAddress);
    detail(
      `${backend.service}: gRPC on ${String(line.address)}, metrics on http://${metrics[backend.service]}/metrics`,
    );
  }

  step("Starting Prometheus, scraping both every second (job name = backend Service name)");
  const prometheusUrl = await startPrometheus(work, metrics);
  detail(`${prometheusUrl}  (try ${prometheusUrl}/graph?g0.expr=grpc_server_handled_total)`);

  step("Starting meshplane on a copy of the example mesh, the route at greeter-v1 100, greeter-v2 0");
  await cp(here("./mesh/"), configDir, { recursive: true });
  const routeFile = join(configDir, "20-greeter-split.yaml");
  const doc = parseDocument(await readFile(routeFile, "utf8"));
  [100, 0].forEach((weight, i) => doc.setIn(["spec", "rules", 0, "backendRefs", i, "weight"], weight));
  await writeFile(routeFile, doc.toString());
  const meshplane = spawnChild("meshplane", [
    cli,
    ...["serve", "--config-dir", configDir, "--data-dir", dataDir],
    ...["--xds-address", "127.0.0.1:0", "--admin-address", "127.0.0.1:0", "--api-address", "127.0.0.1:0"],
  ]);
  const ready = await meshplane.waitForJson(
    (line) => line.msg === "meshplane ready",
    15_000,
    '"meshplane ready"',
  );
  detail(`xDS on ${String(ready.xdsAddress)}`);

  step(`Starting a proxyless gRPC client calling ${target} in a loop`);
  const bootstrapPath = join(work, "bootstrap.json");
  await runCli([
    "bootstrap",
    "--xds-address",
    String(ready.xdsAddress),
    "--node-id",
    nodeId,
    "--namespace",
    "default",
    "--output",
    bootstrapPath,
  ]);
  const client = spawnChild("xds-client", [here(`./xds-client${ext}`)], {
    env: { ...process.env, GRPC_XDS_BOOTSTRAP: bootstrapPath },
    stdin: true,
  });
  await client.waitForJson((json) => json.msg === "xds client ready", 10_000, "xds client ready");
  client.write(JSON.stringify({ id: 0, target, calls: 1, waitForReady: true, deadlineMs: 20_000 }));
  await client.waitForJson((json) => json.id === 0, 30_000, "the first call");
  let window: CallResult[] = [];
  let running = true;
  const traffic = (async () => {
    while (running) window.push(await call(client, 50));
  })();
  const takeWindow = () => {
    const merged: CallResult = {
      id: 0,
      target,
      method: "SayHello",
      ok: 0,
      counts: {},
      errors: {},
      errorSamples: [],
      elapsedMs: 0,
    };
    for (const r of window) {
      merged.ok += r.ok;
      for (const [k, n] of Object.entries(r.counts)) merged.counts[k] = (merged.counts[k] ?? 0) + n;
      for (const [k, n] of Object.entries(r.errors)) merged.errors[k] = (merged.errors[k] ?? 0) + n;
    }
    window = [];
    return merged;
  };
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const baseline = takeWindow();
  detail(
    `before: v1 ${share(baseline, "v1").toFixed(0)} %, v2 ${share(baseline, "v2").toFixed(0)} %, failed ${failedShare(baseline).toFixed(1)} %`,
  );

  step(
    "Adding rollout.yaml to the config directory: 20 % → analysis (success rate >= 0.95, 3 rounds, every 3 s) → 50 %",
  );
  await writeFile(join(work, "rollout.tmp"), rollout(prometheusUrl));
  await rename(join(work, "rollout.tmp"), join(configDir, "30-rollout.yaml"));

  step("Watching the rollout controller (its events) and the client's split");
  const started = Date.now();
  let rolledBack = false;
  const seen = new Set<string>();
  const printEvents = () => {
    for (const line of meshplane.jsonLines()) {
      if (typeof line.rollout !== "string" || typeof line.reason !== "string") continue;
      const key = `${String(line.time)}${line.reason}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const r = takeWindow();
      detail(`${elapsed(started)}  ${line.reason.padEnd(20)} ${String(line.msg)}`);
      detail(
        `${" ".repeat(9)}client since the last line: v1 ${share(r, "v1").toFixed(0)} %, v2 ${share(r, "v2").toFixed(0)} %, failed ${failedShare(r).toFixed(1)} %`,
      );
      if (line.reason === "RolledBack") rolledBack = true;
    }
  };
  for (let i = 0; i < 600 && !rolledBack; i++) {
    printEvents();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!rolledBack) throw new DemoError("no rollback within 60 s");

  step("After the rollback: the client's traffic and the Rollout's own account");
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  takeWindow();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const after = takeWindow();
  running = false;
  await traffic;
  detail(
    `client: v1 ${share(after, "v1").toFixed(0)} %, v2 ${share(after, "v2").toFixed(0)} %, failed ${failedShare(after).toFixed(1)} %`,
  );
  const status = await runCli(["rollout", "status", "greeter", "--data-dir", dataDir]);
  for (const line of status.trimEnd().split("\n")) detail(line);
  const back = share(after, "v1") === 100;
  console.log(`\n${rolledBack ? "PASS" : "FAIL"}  the failing canary was rolled back automatically`);
  console.log(`${back ? "PASS" : "FAIL"}  all traffic is back on greeter-v1`);
  return rolledBack && back ? 0 : 1;
}

runDemo("rollback-demo", demo, () => prometheus?.kill("SIGTERM"));
