// The agent against a real signing endpoint on 127.0.0.1, with time on a fake clock: the first
// certificate, renewal at half-life with a fresh key, backoff while the CA is away, and a refused
// token ending the first attempt.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FakeClock } from "../clock/index.ts";
import {
  CertificateAuthority,
  joinTokenVerifier,
  mintJoinToken,
  SigningRequestError,
  SigningServer,
  uriNames,
  parseCertificates,
} from "../security/index.ts";
import { memoryStateStore, until } from "../security/testing.ts";
import { CertificateAgent } from "./cert-agent.ts";

async function setUp(t: { after: (fn: () => unknown) => void }, ttlMs = 600_000) {
  // Whole seconds: X.509 times have no fractions.
  const clock = new FakeClock(Math.floor(Date.now() / 1000) * 1000);
  const ca = await CertificateAuthority.selfManaged({
    trustDomain: "mesh.local",
    clock,
    workloadCertTtlMs: ttlMs,
    store: memoryStateStore(),
  });
  const issuedWith: string[] = [];
  const serverLog = {
    info: (fields: object) => issuedWith.push(String((fields as { credential?: string }).credential)),
    warn: () => {},
  };
  const server = new SigningServer({
    ca,
    verifier: joinTokenVerifier(ca),
    clock,
    maxRequestBytes: 65536,
    log: serverLog,
    events: { issued: () => {}, refused: () => {} },
  });
  const { port } = await server.listen("127.0.0.1", 0);
  const dir = mkdtempSync(join(tmpdir(), "meshplane-agent-"));
  t.after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const tokenFile = join(dir, "token");
  const writeToken = (ttl = 3_600_000) =>
    writeFileSync(
      tokenFile,
      mintJoinToken(ca.tokenKeys()[0] as Buffer, {
        namespace: "shop",
        serviceAccount: "checkout",
        ttlMs: ttl,
        now: clock.now(),
        roots: ca.rootFingerprints(),
      }).token,
    );
  const logs: { fields: Record<string, unknown>; message: string }[] = [];
  const log = (fields: object, message: string) =>
    logs.push({ fields: fields as Record<string, unknown>, message });
  const agent = new CertificateAgent({
    caAddress: `127.0.0.1:${port}`,
    tokenFile,
    certDir: join(dir, "certs"),
    clock,
    log: { info: log, warn: log },
  });
  return {
    clock,
    ca,
    server,
    dir,
    writeToken,
    tokenFile,
    agent,
    logs,
    issuedWith,
    certDir: join(dir, "certs"),
  };
}

test("the agent writes a certificate for its token's identity and renews it at half-life with a new key", async (t) => {
  const { clock, writeToken, agent, logs, certDir, tokenFile, issuedWith } = await setUp(t);
  writeToken();
  const stop = new AbortController();
  const running = agent.run(stop.signal);
  t.after(() => stop.abort());
  const written = () => logs.filter((l) => l.message === "workload certificate written");
  await until(() => written().length === 1, "the first certificate");
  const [leaf] = parseCertificates(readFileSync(join(certDir, "cert-chain.pem"), "utf8"));
  assert.ok(leaf);
  assert.deepEqual(uriNames(leaf), ["spiffe://mesh.local/ns/shop/sa/checkout"]);
  const firstKey = readFileSync(join(certDir, "key.pem"), "utf8");
  assert.match(firstKey, /BEGIN PRIVATE KEY/);

  await clock.advance(299_999);
  assert.equal(written().length, 1, "not before half of the 10-minute lifetime");
  // Renewals authenticate with the current certificate: the token is no longer needed.
  rmSync(tokenFile);
  await clock.advance(1);
  await until(() => written().length === 2, "the renewal");
  assert.notEqual(readFileSync(join(certDir, "key.pem"), "utf8"), firstKey, "each renewal makes a new key");
  assert.notEqual(written()[1]?.fields.serialNumber, written()[0]?.fields.serialNumber);
  assert.deepEqual(
    issuedWith.map((c) => c.replace(/ \S+$/, "")),
    ["join token", "certificate"],
  );
  assert.equal(issuedWith[1], `certificate ${String(written()[0]?.fields.serialNumber)}`);
  stop.abort();
  await running;
});

test("while the CA is away the agent retries with growing backoff", async (t) => {
  const { clock, writeToken, agent, logs, server } = await setUp(t);
  writeToken();
  await agent.renewOnce();
  await server.close();
  const stop = new AbortController();
  t.after(() => stop.abort());
  const running = agent.run(stop.signal);
  const failures = () => logs.filter((l) => l.message.startsWith("cannot obtain a certificate"));
  await until(() => failures().length === 1, "the first failure");
  await clock.advance(1000);
  await until(() => failures().length === 2, "the second failure");
  await clock.advance(2000);
  await until(() => failures().length === 3, "the third failure");
  assert.deepEqual(
    failures().map((f) => f.fields.retryInMs),
    [1000, 2000, 4000],
  );
  assert.equal(failures()[0]?.fields.code, "unreachable");
  stop.abort();
  await running;
});

test("a refused token ends the first attempt with the CA's reason", async (t) => {
  const { clock, writeToken, agent } = await setUp(t);
  writeToken(1000);
  await clock.advance(1000);
  await assert.rejects(
    agent.run(new AbortController().signal),
    (e: unknown) =>
      e instanceof SigningRequestError && e.code === "token_expired" && /expired at/.test(e.message),
  );
});
