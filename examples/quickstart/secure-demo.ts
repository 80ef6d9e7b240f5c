// meshplane secure demo: mutual TLS with workload certificates and a denied call, for real
// proxyless gRPC on 127.0.0.1.
//
//   npm run demo:secure               # installed package: meshplane secure-demo
//   npm run demo:secure -- --keep-running
//
// What it does, one line per step: start `meshplane serve` with its certificate authority on a
// copy of ./secure-mesh (Service shop/ledger, PeerAuthentication STRICT for namespace shop, an
// AuthorizationPolicy that lets only shop/checkout call SayHello); mint a join token and run
// `meshplane agent` for three identities (ledger, checkout, intruder); start the ledger as an
// xDS-enabled gRPC server (grpc-js-xds XdsServer) and three clients; then show that checkout's
// calls succeed over mTLS (the server sees its SPIFFE ID), that intruder is refused with
// PERMISSION_DENIED, that SayGoodbye is refused to everyone, and that a plaintext client cannot
// connect at all. Exit 0 = every check PASS.
import { cp } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { spawnChild, type Child } from "./lib/child.ts";
import { assertPortFree, runMeshplane, sendCalls, steps, runDemo, type DemoRun } from "./lib/demo-kit.ts";
import type { CallResult } from "./lib/protocol.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const ext = extname(import.meta.filename);
const cli = here(`../../src/cli/main${ext}`);
const meshDir = here("./secure-mesh/");
const ledgerPort = 20071;
const target = "xds:///ledger.shop:50051";
const spiffe = (sa: string) => `spiffe://cluster.local/ns/shop/sa/${sa}`;
const callsPerCheck = 20;

const { values } = parseArgs({
  options: { "keep-running": { type: "boolean", default: false } },
  strict: true,
});

const { step, detail } = steps(8);

interface Check {
  readonly name: string;
  readonly pass: boolean;
}

/** One line per outcome: how many calls succeeded or failed, and with which status. */
function describe(result: CallResult): string {
  const outcomes = [
    ...Object.entries(result.counts).map(([backend, n]) => `${n} OK (${backend})`),
    ...Object.entries(result.errors).map(([code, n]) => `${n} ${code}`),
  ];
  return outcomes.join(", ");
}

async function demo({ work, waitForInterrupt }: DemoRun): Promise<number> {
  const configDir = join(work, "mesh");
  const meshplaneCli = (args: string[]) => runMeshplane(cli, args);
  step("Checking that the ledger's port is free");
  await assertPortFree(ledgerPort, "the ledger server");
  detail(`127.0.0.1:${ledgerPort} is free`);

  step("Copying the secure example mesh to a scratch directory");
  await cp(meshDir, configDir, { recursive: true });
  detail(`${configDir}`);
  detail("  Service shop/ledger, PeerAuthentication shop/default (STRICT),");
  detail(`  AuthorizationPolicy shop/ledger-callers (ALLOW ${spiffe("checkout")} → SayHello)`);

  step("Starting the control plane with its certificate authority: meshplane serve --ca-address");
  const dataDir = join(work, "data");
  const meshplane = spawnChild("meshplane", [
    cli,
    "serve",
    "--config-dir",
    configDir,
    "--data-dir",
    dataDir,
    "--xds-address",
    "127.0.0.1:0",
    "--admin-address",
    "127.0.0.1:0",
    "--api-address",
    "127.0.0.1:0",
    "--ca-address",
    "127.0.0.1:0",
  ]);
  const ready = await meshplane.waitForJson(
    (line) => line.msg === "meshplane ready",
    15_000,
    '"meshplane ready"',
  );
  const xdsAddress = String(ready.xdsAddress);
  const caAddress = String(ready.caAddress);
  detail(`xDS on ${xdsAddress}, certificate signing on https://${caAddress}`);

  step("Minting a join token per identity and running meshplane agent for each");
  const bootstraps = new Map<string, string>();
  for (const sa of ["ledger", "checkout", "intruder"]) {
    const tokenFile = join(work, `${sa}.token`);
    const certDir = join(work, `certs-${sa}`);
    await meshplaneCli([
      "token",
      "create",
      "--data-dir",
      dataDir,
      "--namespace",
      "shop",
      "--service-account",
      sa,
      "--ttl",
      "10m",
      "-o",
      tokenFile,
    ]);
    const agent = spawnChild(`agent ${sa}`, [
      cli,
      "agent",
      "--token-file",
      tokenFile,
      "--cert-dir",
      certDir,
      "--ca-address",
      caAddress,
    ]);
    await agent.waitForJson(
      (line) => line.msg === "workload certificate written",
      15_000,
      `${sa}'s certificate`,
    );
    const bootstrap = join(work, `bootstrap-${sa}.json`);
    await meshplaneCli([
      "bootstrap",
      "--xds-address",
      xdsAddress,
      "--node-id",
      `shop/${sa}`,
      "--namespace",
      "shop",
      "--cert-dir",
      certDir,
      "-o",
      bootstrap,
    ]);
    bootstraps.set(sa, bootstrap);
    detail(`${spiffe(sa)}: ${certDir}/cert-chain.pem (key made by the agent, never sent)`);
  }

  step(`Starting the ledger as an xDS-enabled gRPC server on 127.0.0.1:${ledgerPort}`);
  const ledger = spawnChild(
    "ledger",
    [here(`./greeter-server${ext}`), "--name", "ledger", "--address", `127.0.0.1:${ledgerPort}`, "--xds"],
    {
      env: {
        ...process.env,
        GRPC_XDS_BOOTSTRAP: bootstraps.get("ledger"),
        GRPC_XDS_EXPERIMENTAL_RBAC: "true",
      },
    },
  );
  await ledger.waitForJson((json) => json.msg === "greeter listening", 20_000, "the ledger serving");
  detail("serving with the listener meshplane sent: mTLS required, RBAC in front of the handler");

  const client = async (sa: string, xdsCredentials: boolean): Promise<Child> => {
    const child = spawnChild(
      `client ${sa}${xdsCredentials ? "" : " (plaintext)"}`,
      [here(`./xds-client${ext}`), ...(xdsCredentials ? ["--xds-credentials"] : [])],
      { env: { ...process.env, GRPC_XDS_BOOTSTRAP: bootstraps.get(sa) }, stdin: true },
    );
    await child.waitForJson((json) => json.msg === "xds client ready", 10_000, "xds client ready");
    return child;
  };
  const checkout = await client("checkout", true);
  const intruder = await client("intruder", true);
  const plaintext = await client("checkout", false);
  const checks: Check[] = [];
  const expect = (name: string, result: CallResult, pass: boolean) => {
    detail(describe(result));
    checks.push({ name, pass });
  };

  step(`checkout calls SayHello ${callsPerCheck} times (mTLS, allowed by the policy)`);
  const allowed = await sendCalls(checkout, target, callsPerCheck, { waitForReady: true });
  expect(
    "checkout → SayHello succeeds over mTLS, and the ledger sees checkout's SPIFFE ID",
    allowed,
    allowed.ok === callsPerCheck && allowed.counts[`ledger <- ${spiffe("checkout")}`] === callsPerCheck,
  );

  step(`intruder calls SayHello ${callsPerCheck} times (mTLS, but not allowed)`);
  const denied = await sendCalls(intruder, target, callsPerCheck, { waitForReady: true });
  expect(
    "intruder → SayHello is refused with PERMISSION_DENIED",
    denied,
    denied.errors.PERMISSION_DENIED === callsPerCheck,
  );

  step("checkout calls SayGoodbye (no rule allows it), then a plaintext client calls SayHello");
  const goodbye = await sendCalls(checkout, target, callsPerCheck, { method: "SayGoodbye" });
  expect(
    "checkout → SayGoodbye is refused with PERMISSION_DENIED",
    goodbye,
    goodbye.errors.PERMISSION_DENIED === callsPerCheck,
  );
  const refused = await sendCalls(plaintext, target, callsPerCheck, { deadlineMs: 3_000 });
  expect("a plaintext client cannot connect (STRICT)", refused, refused.ok === 0);

  console.log("");
  for (const check of checks) console.log(`${check.pass ? "PASS" : "FAIL"}  ${check.name}`);
  if (values["keep-running"]) {
    console.log(`\nStill running (Ctrl-C to stop). Try: edit ${configDir}/20-ledger-callers.yaml`);
    await waitForInterrupt();
  }
  return checks.every((check) => check.pass) ? 0 : 1;
}

runDemo("secure-demo", demo);
