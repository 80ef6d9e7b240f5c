// The certificate authority end to end with real peers on 127.0.0.1: `meshplane serve --ca-address`,
// `meshplane token create`, `meshplane agent` writing the files, openssl checking them, a grpc-js
// server and client doing mTLS with them, refusals of another identity, an expired and an altered
// token, renewal of 6-second certificates, and a grep for secrets in everything meshplane said.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { spawnChild, type Child } from "../../examples/quickstart/lib/child.ts";
import {
  adminText,
  cliPath,
  repoRoot,
  runCli,
  startMeshplane,
  waitFor,
  type Meshplane,
} from "./support/index.ts";

const run = promisify(execFile);
const openssl = async (...args: string[]) => (await run("openssl", args, { timeout: 10_000 })).stdout;
const spiffe = (sa: string) => `spiffe://cluster.local/ns/shop/sa/${sa}`;

describe("certificate authority, join tokens and meshplane agent", () => {
  let work: string;
  let dataDir: string;
  let meshplane: Meshplane;
  let caAddress: string;
  const agents: Child[] = [];
  /** Every token minted and every private key written, to grep for at the end. */
  const secrets: string[] = [];
  /** Bodies meshplane answered with (signing endpoint, API), grepped for secrets at the end. */
  const apiResponses: string[] = [];
  /** The signing endpoint's roots (as the token pins them), to call it directly. */
  let rootsPem = "";

  async function fetchRoots(): Promise<string> {
    const [host, port] = caAddress.split(":");
    return new Promise((resolve, reject) => {
      const req = request(
        { host, port: Number(port), path: "/v1/trust-bundle", rejectUnauthorized: false },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => {
            apiResponses.push(text);
            resolve((JSON.parse(text) as { trustBundle: string }).trustBundle);
          });
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "meshplane-e2e-ca-"));
    dataDir = join(work, "data");
    meshplane = await startMeshplane({
      args: ["--data-dir", dataDir, "--ca-address", "127.0.0.1:0", "--workload-cert-ttl", "6s"],
    });
    const ready = meshplane.logs().find((line) => line.msg === "meshplane ready");
    assert.equal(typeof ready?.caAddress, "string", "the ready line names the CA's address");
    caAddress = ready?.caAddress as string;
    rootsPem = await fetchRoots();
  });
  after(async () => {
    for (const agent of agents) await agent.stop(2_000);
    await meshplane?.stop();
    await rm(work, { recursive: true, force: true });
  });

  async function token(sa: string, ttl = "1h"): Promise<string> {
    const file = join(work, `token-${sa}-${secrets.length}`);
    const created = await runCli([
      "token",
      "create",
      "--data-dir",
      dataDir,
      "--namespace",
      "shop",
      "--service-account",
      sa,
      "--ttl",
      ttl,
      "-o",
      file,
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, "", "with -o the token goes only to the file");
    assert.match(created.stderr, new RegExp(`join token [0-9a-f]{24} for ${spiffe(sa)}, valid until `));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const value = (await readFile(file, "utf8")).trim();
    secrets.push(value);
    return file;
  }

  /** `meshplane agent` for `sa`, running until the suite ends; resolves once it wrote the files. */
  async function startAgent(sa: string): Promise<string> {
    const certDir = join(work, `certs-${sa}`);
    const agent = spawnChild(
      `agent-${sa}`,
      [cliPath, "agent", "--token-file", await token(sa), "--cert-dir", certDir, "--ca-address", caAddress],
      { cwd: repoRoot },
    );
    agents.push(agent);
    await agent.waitForJson(
      (line) => line.msg === "workload certificate written",
      10_000,
      "the agent's first certificate",
    );
    secrets.push(await readFile(join(certDir, "key.pem"), "utf8"));
    return certDir;
  }

  /** One attempt of `meshplane agent --once` with a token file; the agent's exit code and log. */
  let onceRuns = 0;
  async function agentOnce(tokenFile: string) {
    // A fresh directory each time: with a certificate already there, the agent would renew with it.
    const certDir = join(work, `once-${(onceRuns += 1)}`);
    const result = await runCli([
      "agent",
      "--once",
      "--token-file",
      tokenFile,
      "--cert-dir",
      certDir,
      "--ca-address",
      caAddress,
    ]);
    return { code: result.code, output: result.stdout + result.stderr };
  }

  let checkoutDir: string;

  test("the agent writes a chain that openssl verifies against root-cert.pem, with exactly one SPIFFE URI SAN", async () => {
    checkoutDir = await startAgent("checkout");
    const chain = join(checkoutDir, "cert-chain.pem");
    const roots = join(checkoutDir, "root-cert.pem");
    assert.equal((await openssl("verify", "-CAfile", roots, chain)).trim(), `${chain}: OK`);
    const san = await openssl("x509", "-in", chain, "-noout", "-ext", "subjectAltName");
    const uris = [...san.matchAll(/URI:([^\s,]+)/g)].map((m) => m[1]);
    assert.deepEqual(uris, [spiffe("checkout")]);
    assert.doesNotMatch(san, /DNS:|IP Address:/);
    // The key on disk is the certificate's, and only its owner may read it.
    const certKey = await openssl("x509", "-in", chain, "-noout", "-pubkey");
    const fileKey = await openssl("pkey", "-in", join(checkoutDir, "key.pem"), "-pubout");
    assert.equal(certKey, fileKey);
    assert.equal((await stat(join(checkoutDir, "key.pem"))).mode & 0o777, 0o600);
    assert.match(
      await openssl("x509", "-in", chain, "-noout", "-text"),
      /ASN1 OID: prime256v1[\s\S]*CA:FALSE/,
    );
  });

  test("6-second certificates are renewed at about half-life, each still verifying", async (t) => {
    const chain = join(checkoutDir, "cert-chain.pem");
    const serial = async () => (await openssl("x509", "-in", chain, "-noout", "-serial")).trim();
    const seen = new Set([await serial()]);
    const started = Date.now();
    await waitFor(async () => (seen.add(await serial()), seen.size >= 3), {
      timeoutMs: 15_000,
      intervalMs: 200,
      message: "two renewals",
    });
    const took = Date.now() - started;
    assert.ok(took < 12_000, `two renewals of 6 s certificates took ${took} ms`);
    t.diagnostic(`two renewals of 6 s certificates observed within ${took} ms`);
    // The first certificate came with the token; renewals authenticate with the certificate.
    const credentials = meshplane
      .logs()
      .filter((line) => line.msg === "workload certificate issued" && line.spiffeId === spiffe("checkout"))
      .map((line) => String(line.credential).split(" ")[0]);
    assert.deepEqual(credentials.slice(0, 3), ["join", "certificate", "certificate"]);
    assert.equal(
      (await openssl("verify", "-CAfile", join(checkoutDir, "root-cert.pem"), chain)).trim(),
      `${chain}: OK`,
    );
  });

  test("a token for checkout cannot obtain another identity's certificate, whatever its CSR asks", async () => {
    const keyFile = join(work, "admin-key.pem");
    const csrFile = join(work, "admin.csr");
    await openssl(
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      csrFile,
      "-subj",
      "/CN=admin",
      "-addext",
      "subjectAltName=URI:spiffe://cluster.local/ns/kube-system/sa/admin,DNS:admin.example",
    );
    secrets.push(await readFile(keyFile, "utf8"));
    const tokenValue = (await readFile(await token("checkout"), "utf8")).trim();
    const [host, port] = caAddress.split(":");
    const body = await new Promise<{ status: number; json: Record<string, string> }>((resolve, reject) => {
      const req = request(
        {
          host,
          port: Number(port),
          method: "POST",
          path: "/v1/certificates",
          ca: rootsPem,
          headers: { authorization: `Bearer ${tokenValue}`, "content-type": "application/json" },
        },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, string> }),
          );
        },
      );
      req.on("error", reject);
      void readFile(csrFile, "utf8").then((csr) => req.end(JSON.stringify({ csr })));
    });
    assert.equal(body.status, 200);
    assert.equal(body.json.spiffeId, spiffe("checkout"));
    apiResponses.push(JSON.stringify(body.json));
    const issued = join(work, "issued.pem");
    await writeFile(issued, body.json.certChain ?? "");
    const san = await openssl("x509", "-in", issued, "-noout", "-ext", "subjectAltName");
    assert.deepEqual(
      [...san.matchAll(/URI:([^\s,]+)/g)].map((m) => m[1]),
      [spiffe("checkout")],
    );
    assert.doesNotMatch(san, /admin/);
  });

  test("an expired token is refused with a clear error", async () => {
    const file = await token("expiring", "1s");
    const refused = await waitFor(
      async () => {
        const attempt = await agentOnce(file);
        return attempt.code !== 0 && attempt;
      },
      { timeoutMs: 10_000, intervalMs: 250, message: "the 1-second token to be refused" },
    );
    assert.equal(refused.code, 1);
    assert.match(refused.output, /token_expired/);
    assert.match(
      refused.output,
      /join token [0-9a-f]{24} \(ns shop, sa expiring\) expired at .*meshplane token create/,
    );
  });

  test("a token altered to name another identity is refused", async () => {
    const file = await token("checkout");
    const [head, payload, mac] = (await readFile(file, "utf8")).trim().split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString()) as object;
    const forged = join(work, "forged-token");
    await writeFile(
      forged,
      `${head}.${Buffer.from(JSON.stringify({ ...claims, sa: "admin" })).toString("base64url")}.${mac}\n`,
    );
    const attempt = await agentOnce(forged);
    assert.equal(attempt.code, 1);
    assert.match(attempt.output, /token_invalid/);
    assert.match(attempt.output, /altered, or minted by another certificate authority/);
  });

  test("grpc-js file_watcher providers from `meshplane bootstrap --cert-dir` carry mTLS calls across renewals", async (t) => {
    const frontendDir = await startAgent("frontend");
    // The providers exactly as the bootstrap configures them (gRFC A29), built with grpc-js's own
    // file_watcher implementation, the one grpc-js-xds instantiates from the bootstrap.
    const provider = async (certDir: string) => {
      const output = join(work, `bootstrap-${certDir.split("-").at(-1)}.json`);
      const made = await runCli([
        "bootstrap",
        "--node-id",
        "n",
        "--cert-dir",
        certDir,
        "--cert-refresh",
        "1",
        "-o",
        output,
      ]);
      assert.equal(made.code, 0, made.stderr);
      const bootstrap = JSON.parse(await readFile(output, "utf8")) as {
        certificate_providers: Record<string, { plugin_name: string; config: Record<string, string> }>;
      };
      const entry = bootstrap.certificate_providers.default;
      assert.equal(entry?.plugin_name, "file_watcher");
      return new grpc.experimental.FileWatcherCertificateProvider({
        certificateFile: entry.config.certificate_file,
        privateKeyFile: entry.config.private_key_file,
        caCertificateFile: entry.config.ca_certificate_file,
        refreshIntervalMs: 1000,
      });
    };
    const serverProvider = await provider(checkoutDir);
    const clientProvider = await provider(frontendDir);
    // Held for the whole test, as a process's long-lived xDS credentials hold them: the watcher
    // then re-reads every second instead of only when a channel happens to start.
    let failedReads = 0;
    const onIdentity = (update: unknown) => void (update === null && (failedReads += 1));
    const onCa = () => {};
    for (const watched of [serverProvider, clientProvider]) {
      watched.addIdentityCertificateListener(onIdentity);
      watched.addCaCertificateListener(onCa);
    }
    t.after(() => {
      for (const watched of [serverProvider, clientProvider]) {
        watched.removeIdentityCertificateListener(onIdentity);
        watched.removeCaCertificateListener(onCa);
      }
    });
    const server = new grpc.Server();
    const clientSerials = new Set<string>();
    const peers = new Set<string>();
    const identity = (b: Buffer) => b;
    const echo = {
      path: "/test.Echo/Echo",
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
    server.addService(
      { echo },
      {
        echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          const peer = call.getAuthContext().sslPeerCertificate;
          peers.add(String(peer?.subjectaltname));
          clientSerials.add(String(peer?.serialNumber));
          callback(null, call.request);
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        "127.0.0.1:0",
        grpc.experimental.createCertificateProviderServerCredentials(serverProvider, serverProvider, true),
        (error, bound) => (error ? reject(error) : resolve(bound)),
      ),
    );
    t.after(() => server.forceShutdown());
    const Client = grpc.makeGenericClientConstructor({ echo }, "Echo");
    /** One call on a new connection (so each handshake presents the certificates of the moment). */
    const call = async (expected: string) => {
      const credentials = grpc.experimental.createCertificateProviderChannelCredentials(
        clientProvider,
        clientProvider,
        {
          // SPIFFE authentication: the server's identity is its URI SAN, not a host name.
          checkServerIdentity: (_host, certificate) =>
            certificate.subjectaltname === `URI:${expected}`
              ? undefined
              : new Error(`server is ${certificate.subjectaltname}, expected ${expected}`),
        },
      );
      const client = new Client(`127.0.0.1:${port}`, credentials, { "grpc.use_local_subchannel_pool": 1 });
      try {
        return await new Promise<Buffer>((resolve, reject) =>
          (
            client as unknown as {
              echo: (req: Buffer, opts: object, cb: (e: Error | null, r: Buffer) => void) => void;
            }
          ).echo(Buffer.from("ping"), { deadline: Date.now() + 5_000 }, (error, reply) =>
            error ? reject(error) : resolve(reply),
          ),
        );
      } finally {
        client.close();
      }
    };
    // 6-second certificates renewed every ~3 s, gRPC re-reading the files every second: 9 s of
    // calls on fresh connections span several renewals of both sides.
    const failures: string[] = [];
    let calls = 0;
    const until = Date.now() + 9_000;
    while (Date.now() < until) {
      calls += 1;
      await call(spiffe("checkout")).then(
        (reply) => assert.equal(reply.toString(), "ping"),
        (error: Error) => failures.push(error.message),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(
      failures,
      [],
      `${failures.length} of ${calls} calls failed (${failedReads} failed file reads)`,
    );
    assert.deepEqual([...peers], [`URI:${spiffe("frontend")}`], "the server saw the client's SPIFFE ID");
    assert.ok(
      clientSerials.size >= 3,
      `the server saw ${clientSerials.size} client certificates over ${calls} calls`,
    );
    t.diagnostic(`${calls} calls, 0 failed, ${clientSerials.size} client certificates seen by the server`);
    // A client that expects another identity refuses the server.
    await assert.rejects(call(spiffe("ledger")), /UNAVAILABLE|expected spiffe/);
  });

  test("metrics count issuance and refusals; the CA's expiry is exported", async () => {
    const text = await adminText(meshplane.adminAddress, "/metrics");
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
    assert.ok(value(/^meshplane_ca_certificates_issued_total (\d+)/m) >= 5, text);
    assert.ok(value(/^meshplane_ca_signing_failures_total\{reason="token_expired"\} (\d+)/m) >= 1);
    assert.equal(value(/^meshplane_ca_signing_failures_total\{reason="token_invalid"\} (\d+)/m), 1);
    const expiry = value(
      /^meshplane_ca_certificate_expiry_timestamp_seconds\{role="root",fingerprint="[0-9a-f]{16}"\} (\S+)/m,
    );
    assert.ok(expiry * 1000 > Date.now() + 9 * 365 * 86_400_000, `root expiry ${expiry}`);
  });

  test("no token or private key appears in logs, /debug/*, /metrics or API responses", async () => {
    const said = [
      meshplane.tail(100_000),
      ...agents.map((agent) => agent.tail(100_000)),
      ...apiResponses,
      await adminText(meshplane.adminAddress, "/metrics"),
    ];
    for (const path of ["/api/v1/namespaces", "/apis", "/api/v1/services"]) {
      const response = await fetch(`${meshplane.apiUrl}${path}`, { signal: AbortSignal.timeout(5_000) });
      said.push(await response.text());
    }
    for (const path of [
      "/debug/syncz",
      "/debug/config_dump",
      "/debug/config_errors",
      "/debug/nacks",
      "/debug/replica",
      "/debug/replicas",
      "/debug/resources",
    ]) {
      said.push(await adminText(meshplane.adminAddress, path));
    }
    const state = JSON.parse(await readFile(join(dataDir, "ca", "ca-state.json"), "utf8")) as {
      roots: { key: string }[];
    };
    assert.equal((await stat(join(dataDir, "ca", "ca-state.json"))).mode & 0o777, 0o600);
    const needles = [...secrets, ...state.roots.map((r) => r.key)].flatMap((secret) =>
      secret.startsWith("mpjt1.")
        ? [secret, secret.split(".")[2] as string]
        : secret.split("\n").filter((line) => line.length >= 40 && !line.startsWith("-----")),
    );
    assert.ok(needles.length >= 8, `collected ${needles.length} secret fragments`);
    const everything = said.join("\n");
    assert.ok(everything.includes("workload certificate issued"), "the logs were captured");
    for (const needle of needles)
      assert.ok(!everything.includes(needle), `a secret fragment leaked: ${needle.slice(0, 8)}…`);
    assert.doesNotMatch(everything, /PRIVATE KEY/);
  });
});

describe("certificate authority with an operator's intermediate (files made by openssl)", () => {
  test("leaves chain through the intermediate to the operator's root", async (t) => {
    const work = await mkdtemp(join(tmpdir(), "meshplane-e2e-opca-"));
    t.after(() => rm(work, { recursive: true, force: true }));
    const file = (name: string) => join(work, name);
    await openssl(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "30",
      "-keyout",
      file("root-key.pem"),
      "-out",
      file("root.pem"),
      "-subj",
      "/CN=Operator Root",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    );
    await openssl(
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      file("int-key.pem"),
    );
    await openssl(
      "req",
      "-new",
      "-key",
      file("int-key.pem"),
      "-subj",
      "/CN=Operator Intermediate",
      "-out",
      file("int.csr"),
    );
    await writeFile(
      file("int.ext"),
      "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n",
    );
    await openssl(
      "x509",
      "-req",
      "-in",
      file("int.csr"),
      "-CA",
      file("root.pem"),
      "-CAkey",
      file("root-key.pem"),
      "-CAcreateserial",
      "-days",
      "10",
      "-extfile",
      file("int.ext"),
      "-out",
      file("int.pem"),
    );
    const operator = [
      "--ca-cert",
      file("int.pem"),
      "--ca-key",
      file("int-key.pem"),
      "--ca-root",
      file("root.pem"),
    ];
    const server = await startMeshplane({
      args: ["--data-dir", file("data"), "--ca-address", "127.0.0.1:0", ...operator],
    });
    t.after(() => server.stop());
    const caAddress = server.logs().find((line) => line.msg === "meshplane ready")?.caAddress as string;
    const created = await runCli([
      "token",
      "create",
      ...operator,
      "--namespace",
      "shop",
      "--service-account",
      "checkout",
      "-o",
      file("token"),
    ]);
    assert.equal(created.code, 0, created.stderr);
    const certDir = file("certs");
    const agent = await runCli([
      "agent",
      "--once",
      "--token-file",
      file("token"),
      "--cert-dir",
      certDir,
      "--ca-address",
      caAddress,
    ]);
    assert.equal(agent.code, 0, agent.stdout + agent.stderr);
    const chain = join(certDir, "cert-chain.pem");
    assert.equal(
      await readFile(join(certDir, "root-cert.pem"), "utf8"),
      await readFile(file("root.pem"), "utf8"),
    );
    assert.equal(
      (await openssl("verify", "-CAfile", join(certDir, "root-cert.pem"), "-untrusted", chain, chain)).trim(),
      `${chain}: OK`,
    );
    assert.match(await openssl("x509", "-in", chain, "-noout", "-issuer"), /CN ?= ?Operator Intermediate/);
    const san = await openssl("x509", "-in", chain, "-noout", "-ext", "subjectAltName");
    assert.deepEqual(
      [...san.matchAll(/URI:([^\s,]+)/g)].map((m) => m[1]),
      [spiffe("checkout")],
    );
  });
});
