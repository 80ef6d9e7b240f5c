// What `meshplane serve` leaves on disk and how it starts, against real processes: a token the
// real kubectl would never send (plain HTTP) is refused at start; the kubeconfig, the sqlite store
// and its -wal are owner-only, also when an older run left them world-readable; a second server on
// the same --data-dir is refused without touching the first one's files; a kill -9 does not block
// the next start.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { spawnChild, type JsonLine } from "../../examples/quickstart/lib/child.ts";
import { cliPath, repoRoot, startMeshplane, suiteScope, type Meshplane } from "./support/index.ts";

const run = promisify(execFile);
const mode = (path: string) => statSync(path).mode & 0o777;
const octal = (value: number) => `0${value.toString(8)}`;

interface ServeOutcome {
  readonly started: boolean;
  readonly code: number | null;
  readonly fatal: JsonLine | undefined;
  readonly tail: string;
}

/** Runs `meshplane serve` until it is ready (then stops it) or exits on its own. */
async function serveOnce(args: readonly string[], timeoutMs = 10_000): Promise<ServeOutcome> {
  const ports = [
    "--xds-address",
    "127.0.0.1:0",
    "--admin-address",
    "127.0.0.1:0",
    "--api-address",
    "127.0.0.1:0",
  ];
  const child = spawnChild("meshplane", [cliPath, "serve", ...ports, ...args], { cwd: repoRoot });
  const started = await child
    .waitForJson((line) => line.msg === "meshplane ready", timeoutMs, "ready")
    .then(
      () => true,
      () => false,
    );
  if (started) await child.stop(3_000);
  const { code } = await child.exited;
  return {
    started,
    code,
    fatal: child.jsonLines().find((line) => line.level === "fatal"),
    tail: child.tail(10),
  };
}

function kubectl(kubeconfig: string, cacheDir: string, args: readonly string[]) {
  return run("kubectl", args, {
    env: { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: cacheDir },
    timeout: 20_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === "number" ? error.code : -1,
      stdout: error.stdout ?? "",
      stderr: error.stderr ?? "",
    }),
  );
}

test(
  "--api-token-file without TLS: refused at start, saying why and how; the suggested certificate makes kubectl work",
  { timeout: 30_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "meshplane-e2e-token-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const tokens = join(dir, "tokens");
    writeFileSync(tokens, "e2e-secret-token\n", { mode: 0o600 });
    const dataDir = join(dir, "data");

    // Plain HTTP: kubectl would send no token and get 401 for every command.
    const refused = await serveOnce(["--data-dir", dataDir, "--store", "memory", "--api-token-file", tokens]);
    assert.equal(refused.started, false, `meshplane must not start\n${refused.tail}`);
    assert.equal(refused.code, 1, refused.tail);
    const message = String(refused.fatal?.msg);
    assert.match(
      message,
      /^cannot start: --api-token-file needs --api-tls-cert and --api-tls-key: kubectl does not send bearer tokens over plain HTTP, so every kubectl command through the kubeconfig meshplane writes would get 401 Unauthorized/,
    );
    assert.ok(!JSON.stringify(refused.fatal).includes("e2e-secret-token"), "the token is never logged");
    assert.equal(existsSync(dataDir), false, "nothing was written: no kubeconfig, no data directory");

    // The certificate command the message suggests, run as given, then the same token over HTTPS.
    const command = /`openssl ([^`]+)`/.exec(message)?.[1];
    assert.ok(command, `the message suggests an openssl command: ${message}`);
    await run("openssl", command.split(" "), { cwd: dir, timeout: 10_000 });
    const tls = ["--api-tls-cert", join(dir, "cert.pem"), "--api-tls-key", join(dir, "key.pem")];
    const meshplane = await startMeshplane({
      args: ["--data-dir", dataDir, "--store", "memory", "--api-token-file", tokens, ...tls],
    });
    t.after(() => meshplane.stop());
    assert.match(meshplane.apiUrl ?? "", /^https:\/\/127\.0\.0\.1:\d+$/);
    const kubeconfig = meshplane.kubeconfig ?? assert.fail("no kubeconfig");
    const cache = join(dir, "kube-cache");
    const got = await kubectl(kubeconfig, cache, ["get", "namespaces", "-o", "name"]);
    assert.deepEqual([got.code, got.stdout.trim()], [0, "namespace/default"], got.stderr);
    const wrong = await kubectl(kubeconfig, cache, ["get", "namespaces", "--token", "not-the-token"]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /Unauthorized/);
    t.diagnostic(`refused: ${message.slice(0, 160)}…; over HTTPS kubectl got ${got.stdout.trim()}`);
  },
);

describe("one server per --data-dir, and owner-only files", { timeout: 60_000 }, () => {
  const scope = suiteScope();
  let root: string;
  let dataDir: string;
  let first: Meshplane;

  const files = () => ({
    kubeconfig: join(dataDir, "kubeconfig"),
    db: join(dataDir, "meshplane.db"),
    wal: join(dataDir, "meshplane.db-wal"),
    shm: join(dataDir, "meshplane.db-shm"),
    lock: join(dataDir, "meshplane.lock"),
  });
  const modes = () =>
    Object.fromEntries(
      Object.entries(files()).map(([name, path]) => [name, existsSync(path) ? octal(mode(path)) : "absent"]),
    );
  const kubeconfigServer = () =>
    (parseYaml(readFileSync(files().kubeconfig, "utf8")) as { clusters: { cluster: { server: string } }[] })
      .clusters[0]?.cluster.server;

  test("a fresh data directory is 0700; kubeconfig, store, -wal and lock are 0600", async () => {
    root = await mkdtemp(join(tmpdir(), "meshplane-e2e-datadir-"));
    scope.defer(() => rm(root, { recursive: true, force: true }));
    dataDir = join(root, "data");
    first = await startMeshplane({ args: ["--data-dir", dataDir] });
    scope.defer(() => first.stop());
    // Exclusive locking keeps SQLite's -shm index in memory: no -shm file at all.
    assert.deepEqual(
      { dataDir: octal(mode(dataDir)), ...modes() },
      { dataDir: "0700", kubeconfig: "0600", db: "0600", wal: "0600", shm: "absent", lock: "0600" },
    );
  });

  test("a second server on the same --data-dir is refused; the first keeps serving, its kubeconfig unchanged", async () => {
    const before = readFileSync(files().kubeconfig, "utf8");
    const second = await serveOnce(["--data-dir", dataDir, "--store", "memory"]);
    assert.equal(
      readFileSync(files().kubeconfig, "utf8"),
      before,
      "the first server's kubeconfig is untouched",
    );
    assert.equal(kubeconfigServer(), first.apiUrl);
    const response = await fetch(`${first.apiUrl}/api/v1/namespaces`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(response.status, 200, "the first server still answers");
    assert.equal(second.started, false, `the second server must not start\n${second.tail}`);
    assert.equal(second.code, 1, second.tail);
    assert.equal(
      String(second.fatal?.msg),
      `cannot start: --data-dir ${dataDir} is in use by meshplane pid ${first.pid} (API ${first.apiUrl}, ` +
        `xDS ${first.xdsAddress}): a second server there would overwrite its kubeconfig and store. Give this ` +
        `server another --data-dir, or stop pid ${first.pid} first. If pid ${first.pid} is not a meshplane, ` +
        `remove ${files().lock}`,
    );
  });

  test("after kill -9 the next server starts, takes the lock over, and tightens files left 0644", async () => {
    const killedPid = first.pid;
    await first.kill();
    // As an older meshplane or a umask of 022 would have left them.
    const { kubeconfig, db, wal } = files();
    for (const path of [kubeconfig, db, wal]) chmodSync(path, 0o644);
    assert.deepEqual([kubeconfig, db, wal].map(mode).map(octal), ["0644", "0644", "0644"]);
    const next = await startMeshplane({ args: ["--data-dir", dataDir] });
    scope.defer(() => next.stop());
    assert.deepEqual(modes(), { kubeconfig: "0600", db: "0600", wal: "0600", shm: "absent", lock: "0600" });
    const takeover = next.logs().find((line) => line.stalePid === killedPid);
    assert.equal(
      takeover?.msg,
      `took over the lock of meshplane pid ${killedPid}, which is no longer running`,
    );
    assert.equal(kubeconfigServer(), next.apiUrl, "the kubeconfig now points at the new server");
    assert.equal(await next.stop(), 0);
    assert.equal(existsSync(files().lock), false, "a clean stop releases the lock");
  });
});
