// meshplane quick start: a canary split for a proxyless gRPC client, then a live weight change.
//
//   npm run demo                      # 1000 calls per phase (installed package: meshplane demo)
//   npm run demo -- --calls 5000      # more calls, tighter split
//   npm run demo -- --keep-running    # leave everything up afterwards (Ctrl-C to stop)
//
// What it does, one line per step: start `meshplane serve` on a copy of ./mesh, start two greeter
// backends (v1 on 127.0.0.1:20061, v2 on :20062), write a gRPC xDS bootstrap with `meshplane
// bootstrap`, start a real @grpc/grpc-js-xds client, send calls to xds:///greeter:50051 and compare
// the split with the route's weights (90/10); then edit the route file to 50/50, wait until the
// client has ACKed the new route, and measure again on the same client. Exit 0 = both PASS.
import { cp, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseDocument } from "yaml";
import { spawnChild, type Child } from "./lib/child.ts";
import {
  assertPortFree,
  DemoError,
  runMeshplane,
  sendCalls,
  steps,
  runDemo,
  type DemoRun,
} from "./lib/demo-kit.ts";
import type { CallCommandInput, CallResult } from "./lib/protocol.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
// .ts in a clone; .js in the published package, where this demo and the CLI are compiled into
// dist/ in the same layout.
const ext = extname(import.meta.filename);
const cli = here(`../../src/cli/main${ext}`);
const meshDir = here("./mesh/");
const routeFile = "20-greeter-split.yaml";
const target = "xds:///greeter:50051";
const nodeId = "default/quickstart-client";
const backends = [
  { name: "v1", service: "greeter-v1", port: 20061 },
  { name: "v2", service: "greeter-v2", port: 20062 },
] as const;
const tolerancePoints = 4;
const rdsTypeUrl = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "1000" },
    "keep-running": { type: "boolean", default: false },
  },
  strict: true,
});
const calls = Number(values.calls);
if (!Number.isInteger(calls) || calls < 1 || calls > 100_000) {
  console.error("--calls must be an integer between 1 and 100000");
  process.exit(2);
}

const { step, detail } = steps(9);
const runCli = (args: string[]) => runMeshplane(cli, args);
const runCalls = (
  client: Child,
  count: number,
  extra: Omit<CallCommandInput, "target" | "calls" | "id"> = {},
) => sendCalls(client, target, count, extra);

/** Prints observed vs configured shares; returns true when every backend is within tolerance. */
function report(result: CallResult, weights: readonly [number, number]): boolean {
  const total = weights[0] + weights[1];
  const all = result.ok + Object.values(result.errors).reduce((sum, n) => sum + n, 0);
  console.log("");
  console.log(
    `      ${"backend".padEnd(12)}${"configured".padStart(12)}${"observed".padStart(12)}${"calls".padStart(9)}`,
  );
  let pass = true;
  backends.forEach((backend, i) => {
    const configured = (100 * (weights[i] ?? 0)) / total;
    const count = result.counts[backend.name] ?? 0;
    const observed = all === 0 ? 0 : (100 * count) / all;
    const within = Math.abs(observed - configured) <= tolerancePoints;
    pass &&= within;
    console.log(
      `      ${backend.service.padEnd(12)}${`${configured.toFixed(1)} %`.padStart(12)}` +
        `${`${observed.toFixed(1)} %`.padStart(12)}${String(count).padStart(9)}${within ? "" : "  <- off"}`,
    );
  });
  const unexpected = Object.keys(result.counts).filter((name) => !backends.some((b) => b.name === name));
  for (const name of unexpected)
    console.log(
      `      ${name.padEnd(12)}${"-".padStart(12)}${"".padStart(12)}${String(result.counts[name]).padStart(9)}`,
    );
  const failed = all - result.ok;
  console.log(
    `      ${all} calls in ${result.elapsedMs} ms, ${failed === 0 ? "no errors" : `${failed} errors: ${JSON.stringify(result.errors)}`}`,
  );
  for (const sample of result.errorSamples) console.log(`        e.g. ${sample}`);
  return pass && unexpected.length === 0;
}

interface ConfigProblem {
  file: string;
  object: string;
  field: string;
  message: string;
}

async function configErrors(adminAddress: string): Promise<ConfigProblem[]> {
  const response = await fetch(`http://${adminAddress}/debug/config_errors`, {
    signal: AbortSignal.timeout(2_000),
  });
  if (!response.ok) throw new DemoError(`/debug/config_errors answered ${response.status}`);
  return ((await response.json()) as { errors: ConfigProblem[] }).errors;
}

interface TypeStatus {
  typeUrl: string;
  sentVersion: string | null;
  ackedVersion: string | null;
  lastNack: { message?: string } | null;
}

async function rdsStatus(adminAddress: string): Promise<TypeStatus | undefined> {
  const response = await fetch(`http://${adminAddress}/debug/syncz`, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) throw new Error(`/debug/syncz answered ${response.status}`);
  const body = (await response.json()) as { proxies?: Array<{ nodeId: string; types?: TypeStatus[] }> };
  const proxy = body.proxies?.find((p) => p.nodeId === nodeId);
  return proxy?.types?.find((t) => t.typeUrl === rdsTypeUrl);
}

/** Polls /debug/syncz until the client ACKs an RDS version other than `before` (bounded). */
async function waitForNewRoute(
  adminAddress: string,
  before: string | null,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: TypeStatus | undefined;
  for (let attempt = 0; attempt < 1_000 && Date.now() < deadline; attempt += 1) {
    last = await rdsStatus(adminAddress).catch(() => undefined);
    if (last?.ackedVersion && last.ackedVersion !== before) return last.ackedVersion;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const nack = last?.lastNack ? ` Last NACK: ${last.lastNack.message}` : "";
  throw new DemoError(
    `the client did not ACK a new route within ${timeoutMs / 1000} s ` +
      `(RDS sent ${last?.sentVersion ?? "?"}, acked ${last?.ackedVersion ?? "?"}).${nack}`,
  );
}

async function setWeights(file: string, staging: string, weights: readonly [number, number]): Promise<void> {
  // parseDocument keeps the comments; rename makes the change atomic for the file watcher.
  const doc = parseDocument(await readFile(file, "utf8"));
  weights.forEach((weight, i) => doc.setIn(["spec", "rules", 0, "backendRefs", i, "weight"], weight));
  await writeFile(staging, doc.toString());
  await rename(staging, file);
}

async function demo({ work, waitForInterrupt }: DemoRun): Promise<number> {
  const configDir = join(work, "mesh");
  step("Checking that the backend ports are free");
  for (const backend of backends) await assertPortFree(backend.port, `greeter ${backend.name}`);
  detail(backends.map((b) => `127.0.0.1:${b.port}`).join(" and ") + " are free");

  step("Copying the example mesh to a scratch directory");
  await cp(meshDir, configDir, { recursive: true });
  detail(`${configDir}  (Service greeter, greeter-v1, greeter-v2, GRPCRoute greeter-split 90/10)`);

  step("Starting the control plane: meshplane serve --config-dir <scratch>");
  const meshplane = spawnChild("meshplane", [
    cli,
    "serve",
    "--config-dir",
    configDir,
    // The embedded default store (sqlite) in the scratch directory, so the demo leaves nothing behind.
    "--data-dir",
    join(dirname(configDir), "data"),
    "--xds-address",
    "127.0.0.1:0",
    "--admin-address",
    "127.0.0.1:0",
    "--api-address",
    "127.0.0.1:0",
  ]);
  const ready = await meshplane.waitForJson(
    (line) => line.msg === "meshplane ready",
    15_000,
    '"meshplane ready"',
  );
  const xdsAddress = String(ready.xdsAddress);
  const adminAddress = String(ready.adminAddress);
  detail(`xDS (ADS) on ${xdsAddress}, admin on http://${adminAddress}`);
  const problems = await configErrors(adminAddress);
  detail(problems.length === 0 ? "config accepted: no errors in /debug/config_errors" : "config problems:");
  for (const p of problems) detail(`  ${p.file} ${p.object} ${p.field}: ${p.message}`);

  step("Starting the greeter backends (plain gRPC servers, no xDS on the server side)");
  for (const backend of backends) {
    const child = spawnChild(`greeter ${backend.name}`, [
      here(`./greeter-server${ext}`),
      "--name",
      backend.name,
      "--address",
      `127.0.0.1:${backend.port}`,
    ]);
    const line = await child.waitForJson(
      (json) => json.msg === "greeter listening",
      10_000,
      "greeter listening",
    );
    detail(`${backend.service}: ${String(line.address)}`);
  }

  step("Writing the client's xDS bootstrap: meshplane bootstrap --node-id ... --namespace default");
  const bootstrapPath = join(work, "bootstrap.json");
  await runCli([
    "bootstrap",
    "--xds-address",
    xdsAddress,
    "--node-id",
    nodeId,
    "--namespace",
    "default",
    "--output",
    bootstrapPath,
  ]);
  detail(`GRPC_XDS_BOOTSTRAP=${bootstrapPath}`);

  step(`Starting a proxyless gRPC client (@grpc/grpc-js-xds) and calling ${target}`);
  const client = spawnChild("xds-client", [here(`./xds-client${ext}`)], {
    env: { ...process.env, GRPC_XDS_BOOTSTRAP: bootstrapPath },
    stdin: true,
  });
  await client.waitForJson((json) => json.msg === "xds client ready", 10_000, "xds client ready");
  const started = Date.now();
  // The first call waits while the client fetches listener → route → clusters → endpoints.
  const first = await runCalls(client, 1, { waitForReady: true, deadlineMs: 20_000 });
  if (first.ok !== 1) throw new DemoError(`the first call failed: ${first.errorSamples.join("; ")}`);
  detail(
    `first call answered by ${Object.keys(first.counts).join("")} after ${Date.now() - started} ms (xDS resolution included)`,
  );

  step(`Sending ${calls} calls with the route at 90/10`);
  const before = await runCalls(client, calls);
  const firstPass = report(before, [90, 10]);

  step(`Editing ${routeFile}: weights 90/10 → 50/50 (meshplane hot-reloads the file)`);
  const ackedBefore = (await rdsStatus(adminAddress))?.ackedVersion ?? null;
  await setWeights(join(configDir, routeFile), join(work, `${routeFile}.tmp`), [50, 50]);
  const changeStarted = Date.now();
  const ackedAfter = await waitForNewRoute(adminAddress, ackedBefore, 10_000);
  detail(
    `the client ACKed route version ${ackedAfter} (was ${ackedBefore}) ${Date.now() - changeStarted} ms after the edit`,
  );

  step(`Sending ${calls} calls on the same client with the route at 50/50`);
  const after = await runCalls(client, calls);
  const secondPass = report(after, [50, 50]);

  console.log("");
  console.log(`${firstPass ? "PASS" : "FAIL"}  90/10 split observed within ±${tolerancePoints} points`);
  console.log(
    `${secondPass ? "PASS" : "FAIL"}  50/50 split observed within ±${tolerancePoints} points after a live edit`,
  );

  if (values["keep-running"]) {
    console.log(`\nStill running (Ctrl-C to stop). Try:`);
    console.log(`  curl -s http://${adminAddress}/debug/syncz`);
    console.log(`  $EDITOR ${join(configDir, routeFile)}`);
    console.log(`  GRPC_XDS_BOOTSTRAP=${bootstrapPath} node ${here(`./xds-client${ext}`)}`);
    console.log(`    then type: {"id":1,"target":"${target}","calls":100}`);
    await waitForInterrupt();
    console.log("\nStopping meshplane, the greeters and the client.");
  }
  return firstPass && secondPass ? 0 : 1;
}

runDemo("quickstart", demo);
