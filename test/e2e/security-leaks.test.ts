// No secret leaves meshplane: a run with the CA, join tokens, agents holding
// workload keys, an admin token, API tokens and the dashboard; then everything meshplane said is
// captured — its JSON logs (stdout and stderr), the agents' and the CLI's output, API responses,
// every /debug/* view (with the admin token), /metrics, CSDS, `meshplane proxy-config … secrets`
// and the dashboard feed — and searched for every private key (the CA's, each workload's) and every
// token, whole and as any 32-character fragment, of the text or of its base64 encodings.
// Fragments common to every key of a kind (the PKCS#8 header of every P-256 key, a token's format)
// are not secrets and are left out. The search is shown to work first: each secret is non-empty,
// found in the file it comes from, and not in another secret's file.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { spawnChild, type Child } from "../../examples/quickstart/lib/child.ts";
import { builtDashboardDir } from "../../src/admin/dashboard-assets.ts";
import {
  cliPath,
  greeterMesh,
  repoRoot,
  runCli,
  startMeshplane,
  startXdsClient,
  tempConfigDir,
  waitFor,
  type Meshplane,
  type TempConfigDir,
  type XdsClient,
} from "./support/index.ts";

const run = promisify(execFile);
const fragmentLength = 32;

/** Every 32-character window of `text` (whitespace removed), and of its three base64 alignments. */
function fragmentsOf(secret: string): Set<string> {
  const compact = (text: string) => text.replace(/\s+/g, "");
  const sources = [compact(secret)];
  for (const offset of [0, 1, 2]) {
    // Base64 of the text from `offset`: the middle of any base64 encoding of the secret contains it.
    const encoded = Buffer.from(secret.slice(offset)).toString("base64");
    sources.push(encoded.slice(4, -4), encoded.slice(4, -4).replace(/\+/g, "-").replace(/\//g, "_"));
  }
  const windows = new Set<string>();
  for (const source of sources) {
    for (let at = 0; at + fragmentLength <= source.length; at += 1) {
      const window = source.slice(at, at + fragmentLength);
      // PEM armour and padding are not secret.
      if (!/-----|BEGIN|END|PRIVATE|={2}/.test(window)) windows.add(window);
    }
  }
  return windows;
}

/**
 * Each secret's fragments that no other secret (nor a decoy P-256 key) shares: what is common to
 * every key or token says nothing about one of them, and would make the search find anything.
 */
function distinctFragments(secrets: readonly string[]): Set<string>[] {
  const decoy = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  }) as string;
  const sets = [...secrets, decoy].map(fragmentsOf);
  const seen = new Map<string, number>();
  for (const set of sets) for (const window of set) seen.set(window, (seen.get(window) ?? 0) + 1);
  return sets
    .slice(0, secrets.length)
    .map((set) => new Set([...set].filter((window) => seen.get(window) === 1)));
}

/** Which of `fragments` occur in `text` (JSON escapes and whitespace removed, as a reader would). */
function found(text: string, fragments: Set<string>): string[] {
  const compact = text
    .replace(/\\[nr]/g, "")
    .replace(/\\\//g, "/")
    .replace(/\s+/g, "");
  const hits = new Set<string>();
  for (let at = 0; at + fragmentLength <= compact.length; at += 1) {
    const window = compact.slice(at, at + fragmentLength);
    if (fragments.has(window)) hits.add(window);
  }
  return [...hits];
}

describe("no private key or token leaks from meshplane", () => {
  let work: string;
  let dataDir: string;
  let config: TempConfigDir;
  let meshplane: Meshplane;
  let client: XdsClient | undefined;
  const agents: Child[] = [];
  /** name → { secret, the file it was read from } */
  const secrets = new Map<string, { value: string; file: string }>();
  const adminToken = `admin-${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
  const apiToken = `api-${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
  /** Everything meshplane (and the commands around it) said, by where it came from. */
  const said = new Map<string, string>();
  const dashboard = existsSync(join(builtDashboardDir, "index.html"));

  /**
   * The agent's key.pem now, kept as a copy: the agent replaces the file at every renewal (every
   * 5 s here), and the search is checked against the file the secret was read from.
   */
  const keyAsWritten = async (keyFile: string, copy: string) => {
    const value = await readFile(keyFile, "utf8");
    await writeFile(join(work, copy), value, { mode: 0o600 });
    return { value, file: join(work, copy) };
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "meshplane-e2e-leaks-"));
    dataDir = join(work, "data");
    config = await tempConfigDir({ "mesh.yaml": greeterMesh({ v1Port: 50081, v2Port: 50082 }).render() });
    await writeFile(join(work, "admin-tokens"), `${adminToken}\n`, { mode: 0o600 });
    await writeFile(join(work, "api-tokens"), `${apiToken}\n`, { mode: 0o600 });
    secrets.set("admin token", { value: adminToken, file: join(work, "admin-tokens") });
    secrets.set("API token", { value: apiToken, file: join(work, "api-tokens") });
    await run(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"]
        .concat(["-subj", "/CN=meshplane", "-addext", "subjectAltName=IP:127.0.0.1"])
        .concat(["-keyout", join(work, "api-key.pem"), "-out", join(work, "api-cert.pem")]),
      { timeout: 10_000 },
    );
    secrets.set("API TLS key", {
      value: await readFile(join(work, "api-key.pem"), "utf8"),
      file: join(work, "api-key.pem"),
    });
    meshplane = await startMeshplane({
      configDir: config.path,
      args: ["--data-dir", dataDir, "--ca-address", "127.0.0.1:0", "--workload-cert-ttl", "10s"]
        .concat(["--admin-token-file", join(work, "admin-tokens")])
        .concat(["--api-token-file", join(work, "api-tokens")])
        .concat(["--api-tls-cert", join(work, "api-cert.pem"), "--api-tls-key", join(work, "api-key.pem")])
        .concat(["--log-level", "debug"])
        .concat(dashboard ? ["--dashboard-address", "127.0.0.1:0"] : []),
    });
    const caAddress = String(meshplane.logs().find((line) => line.msg === "meshplane ready")?.caAddress);
    const caState = join(dataDir, "ca", "ca-state.json");
    const state = JSON.parse(await readFile(caState, "utf8")) as { roots: { key: string }[] };
    secrets.set("CA key", { value: state.roots[0]?.key ?? "", file: caState });
    for (const sa of ["checkout", "frontend"]) {
      const tokenFile = join(work, `token-${sa}`);
      const created = await runCli(
        ["token", "create", "--data-dir", dataDir, "--namespace", "shop", "--service-account", sa].concat([
          "--ttl",
          "10m",
          "-o",
          tokenFile,
        ]),
      );
      said.set(`token create ${sa}`, created.stdout + created.stderr);
      secrets.set(`join token ${sa}`, { value: (await readFile(tokenFile, "utf8")).trim(), file: tokenFile });
      const certDir = join(work, `certs-${sa}`);
      const agent = spawnChild(
        `agent-${sa}`,
        [
          cliPath,
          "agent",
          "--token-file",
          tokenFile,
          "--cert-dir",
          certDir,
          "--ca-address",
          caAddress,
        ].concat(["--log-level", "debug"]),
        { cwd: repoRoot },
      );
      agents.push(agent);
      await agent.waitForJson((line) => line.msg === "workload certificate written", 10_000, "certificates");
      const keyFile = join(certDir, "key.pem");
      secrets.set(`workload key ${sa}`, await keyAsWritten(keyFile, `key-${sa}-1.pem`));
    }
    // A real proxyless client, so that the debug views, CSDS and proxy-config have a proxy to show.
    client = await startXdsClient({
      xdsAddress: meshplane.xdsAddress,
      nodeId: "leak-client",
      namespace: "default",
    });
    await client.call({ target: "xds:///greeter:50051", calls: 1, deadlineMs: 3_000 });
    // One renewal of each agent (10-second certificates), so renewals are in the logs too.
    await waitFor(
      () =>
        agents.every(
          (agent) =>
            agent.jsonLines().filter((line) => line.msg === "workload certificate written").length >= 2,
        ),
      { timeoutMs: 15_000, intervalMs: 250, message: "a renewal of each agent" },
    );
    // The CA key and one workload key again, after the renewals: the files hold the newest.
    for (const sa of ["checkout", "frontend"]) {
      const keyFile = join(work, `certs-${sa}`, "key.pem");
      secrets.set(`renewed workload key ${sa}`, await keyAsWritten(keyFile, `key-${sa}-2.pem`));
    }
  });
  after(async () => {
    await client?.stop();
    for (const agent of agents) await agent.stop(2_000);
    await meshplane?.stop();
    await config?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const apiGet = (path: string) =>
    new Promise<string>((resolve, reject) => {
      const url = new URL(path, meshplane.apiUrl);
      const req = request(
        url,
        { headers: { authorization: `Bearer ${apiToken}` }, rejectUnauthorized: false },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => resolve(`${res.statusCode} ${JSON.stringify(res.headers)} ${text}`));
        },
      );
      req.on("error", reject);
      req.end();
    });

  const adminGet = async (path: string) => {
    const response = await fetch(`http://${meshplane.adminAddress}${path}`, {
      headers: { authorization: `Bearer ${adminToken}` },
      signal: AbortSignal.timeout(5_000),
    });
    return `${response.status} ${JSON.stringify([...response.headers])} ${await response.text()}`;
  };

  /** CSDS FetchClientStatus with an empty request; the response's raw protobuf bytes as text. */
  const csdsBytes = async () => {
    const channel = new grpc.Client(meshplane.xdsAddress, grpc.credentials.createInsecure());
    try {
      return await new Promise<string>((resolve, reject) =>
        channel.makeUnaryRequest(
          "/envoy.service.status.v3.ClientStatusDiscoveryService/FetchClientStatus",
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.alloc(0),
          { deadline: Date.now() + 5_000 },
          (error, response) => (error ? reject(error) : resolve((response as Buffer).toString("latin1"))),
        ),
      );
    } finally {
      channel.close();
    }
  };

  /** The dashboard's live feed (server-sent events) for a moment: its first snapshot and updates. */
  const dashboardFeed = async () => {
    const ready = meshplane.logs().find((line) => line.msg === "meshplane ready");
    const url = new URL("/api/events", String(ready?.dashboardUrl));
    return new Promise<string>((resolve, reject) => {
      let text = "";
      const req = request(
        url,
        { headers: { authorization: `Bearer ${apiToken}` }, rejectUnauthorized: false },
        (res) => {
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("error", () => resolve(text));
          setTimeout(() => {
            req.destroy();
            resolve(text);
          }, 2_000);
        },
      );
      req.on("error", (error) => (text ? resolve(text) : reject(error)));
      req.end();
    });
  };

  test("the search finds each secret where it belongs (so it can fail), then nowhere in what meshplane said", async (t) => {
    // The search works: every secret is there, and is found in its own file.
    assert.ok(secrets.size >= 10, `${secrets.size} secrets collected`);
    const entries = [...secrets].map(([name, { value, file }]) => ({ name, value, file }));
    const fragments = distinctFragments(entries.map((entry) => entry.value));
    for (const [index, { name, value, file }] of entries.entries()) {
      const own = fragments[index] as Set<string>;
      assert.ok(value.length >= 40, `${name} is empty or short (${value.length})`);
      assert.ok(own.size > 8, `${name}: ${own.size} fragments of its own`);
      assert.ok(found(await readFile(file, "utf8"), own).length > 0, `${name} is not found in ${file}`);
      const other = entries[(index + 1) % entries.length] as { file: string };
      if (other.file !== file) {
        assert.deepEqual(
          found(await readFile(other.file, "utf8"), own),
          [],
          `${name} found in ${other.file}`,
        );
      }
    }
    // ... and as base64 inside other text (as a proto's bytes field shows in JSON).
    const keyIndex = entries.findIndex((entry) => entry.value.includes("PRIVATE KEY"));
    const encoded = `{"inline_bytes":"${Buffer.from(entries[keyIndex]?.value ?? "").toString("base64")}"}`;
    assert.ok(found(encoded, fragments[keyIndex] as Set<string>).length > 0, "a base64-encoded key is found");

    // What meshplane says: API, debug views, metrics, CSDS, CLI views, dashboard, logs.
    for (const path of [
      "/api/v1/namespaces",
      "/api/v1/services",
      "/apis",
      "/api/v1/namespaces/default/services",
    ]) {
      said.set(`API ${path}`, await apiGet(path));
    }
    assert.match(said.get("API /api/v1/services") ?? "", /^200 /, "the API answered with the token");
    for (const path of [
      "/debug/syncz",
      "/debug/config_dump",
      "/debug/config_dump?node=leak-client",
      "/debug/config_errors",
      "/debug/nacks",
      "/debug/replica",
      "/debug/replicas",
      "/debug/resources",
      "/metrics",
      "/readyz",
    ]) {
      said.set(`admin ${path}`, await adminGet(path));
    }
    assert.match(
      said.get("admin /debug/config_dump") ?? "",
      /^200 [\s\S]*leak-client/,
      "the dump shows the proxy",
    );
    said.set("CSDS", await csdsBytes());
    assert.match(said.get("CSDS") ?? "", /leak-client/, "CSDS shows the proxy");
    for (const kind of ["secrets", "listeners", "clusters"]) {
      for (const output of ["table", "json"]) {
        const shown = await runCli([
          "proxy-config",
          "leak-client",
          kind,
          "--admin-address",
          meshplane.adminAddress,
          "-o",
          output,
        ]);
        said.set(`proxy-config ${kind} -o ${output}`, `${shown.code} ${shown.stdout} ${shown.stderr}`);
      }
    }
    if (dashboard) {
      said.set("dashboard feed", await dashboardFeed());
      assert.match(said.get("dashboard feed") ?? "", /^(event|data):/m, "the feed sent its snapshot");
    } else t.diagnostic(`dashboard not built (${builtDashboardDir}): its feed is not searched`);
    said.set("meshplane logs", meshplane.tail(1_000_000));
    for (const agent of agents) said.set(`logs of ${agent.name}`, agent.tail(1_000_000));
    said.set("xds client", client?.tail(10_000) ?? "");

    assert.ok(
      (said.get("meshplane logs") ?? "").includes("workload certificate issued"),
      "the logs were captured",
    );
    const leaks: string[] = [];
    for (const [index, { name }] of entries.entries()) {
      for (const [where, text] of said) {
        const hits = found(text, fragments[index] as Set<string>);
        if (hits.length > 0)
          leaks.push(`${name} in ${where} (${hits.length} fragments, e.g. ${hits[0]?.slice(0, 6)}…)`);
      }
    }
    assert.deepEqual(leaks, []);
    const bytes = [...said.values()].reduce((sum, text) => sum + text.length, 0);
    t.diagnostic(
      `${secrets.size} secrets searched for in ${said.size} captures (${bytes} characters): none found`,
    );
  });
});
