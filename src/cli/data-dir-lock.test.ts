import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { createLogger, silentLogger } from "../telemetry/index.ts";
import { DataDirInUseError, lockDataDir, lockFileName, processRunning } from "./data-dir-lock.ts";

const root = mkdtempSync(join(tmpdir(), "meshplane-lock-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `data-${++dirs}`, "nested");
const mode = (path: string) => statSync(path).mode & 0o777;
const alive = () => true;
const dead = () => false;

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, lines };
}

test("lockDataDir: creates the directory 0700 and a 0600 lock naming this pid, then its addresses", () => {
  const dataDir = freshDir();
  const lock = lockDataDir({ dataDir, logger: silentLogger(), pid: 4242 });
  assert.equal(lock.path, join(dataDir, lockFileName));
  assert.equal(mode(dataDir), 0o700);
  assert.equal(mode(join(dataDir, "..")), 0o700, "missing parents are created 0700 too");
  assert.equal(mode(lock.path), 0o600);
  assert.deepEqual(JSON.parse(readFileSync(lock.path, "utf8")), { pid: 4242 });
  lock.record({
    apiUrl: "http://127.0.0.1:15012",
    xdsAddress: "127.0.0.1:15010",
    adminAddress: "127.0.0.1:15014",
  });
  assert.deepEqual(JSON.parse(readFileSync(lock.path, "utf8")), {
    pid: 4242,
    apiUrl: "http://127.0.0.1:15012",
    xdsAddress: "127.0.0.1:15010",
    adminAddress: "127.0.0.1:15014",
  });
  assert.equal(mode(lock.path), 0o600);
  assert.deepEqual(readdirSync(dataDir), [lockFileName], "no temporary files are left behind");
  lock.release();
  assert.deepEqual(readdirSync(dataDir), []);
  // Sequential restarts on the same directory.
  const again = lockDataDir({ dataDir, logger: silentLogger(), pid: 4243 });
  again.release();
  assert.deepEqual(readdirSync(dataDir), []);
});

test("lockDataDir: a second server is refused while the first runs, naming its pid and addresses", () => {
  const dataDir = freshDir();
  const first = lockDataDir({ dataDir, logger: silentLogger(), pid: 1111 });
  first.record({ apiUrl: "http://127.0.0.1:15012", xdsAddress: "127.0.0.1:15010" });
  const before = readFileSync(first.path, "utf8");
  assert.throws(
    () => lockDataDir({ dataDir, logger: silentLogger(), pid: 2222, isRunning: alive }),
    (error) => {
      assert.ok(error instanceof DataDirInUseError);
      assert.equal(error.holder.pid, 1111);
      assert.equal(
        error.message,
        `--data-dir ${dataDir} is in use by meshplane pid 1111 (API http://127.0.0.1:15012, xDS 127.0.0.1:15010): ` +
          "a second server there would overwrite its kubeconfig and store. Give this server another --data-dir, " +
          `or stop pid 1111 first. If pid 1111 is not a meshplane, remove ${first.path}`,
      );
      return true;
    },
  );
  assert.equal(readFileSync(first.path, "utf8"), before, "the refused server leaves the lock alone");
  assert.deepEqual(readdirSync(dataDir), [lockFileName]);
  first.release();
});

test("lockDataDir: a holder still starting is named by pid alone", () => {
  const dataDir = freshDir();
  const first = lockDataDir({ dataDir, logger: silentLogger(), pid: 1111 });
  assert.throws(
    () => lockDataDir({ dataDir, logger: silentLogger(), pid: 2222, isRunning: alive }),
    /is in use by meshplane pid 1111 \(still starting\)/,
  );
  first.release();
});

test("lockDataDir: a lock no running meshplane holds is taken over, with a log line", () => {
  const cases: [name: string, content: string, isRunning: (pid: number) => boolean, logged: RegExp][] = [
    [
      "its pid is gone (kill -9)",
      '{"pid":1111,"apiUrl":"http://127.0.0.1:1"}\n',
      dead,
      /pid 1111, which is no longer running/,
    ],
    // A restarted container often gives the new server the pid the old one had.
    ["its pid is this very process", '{"pid":2222}\n', alive, /pid 2222, which is no longer running/],
    ["it is empty", "", alive, /names no meshplane/],
    ["it is not JSON", "\u0000garbage\n", alive, /names no meshplane/],
    // pid 0 or -1 would make the liveness probe signal a process group.
    ["its pid is -1", '{"pid":-1}', alive, /names no meshplane/],
    ["its pid is 0", '{"pid":0}', alive, /names no meshplane/],
    ["its pid is a string", '{"pid":"1111"}', alive, /names no meshplane/],
    ["it is huge", `{"pid":1111,"apiUrl":"${"x".repeat(1 << 20)}"}`, alive, /names no meshplane/],
  ];
  for (const [name, content, isRunning, logged] of cases) {
    const dataDir = freshDir();
    lockDataDir({ dataDir, logger: silentLogger(), pid: 9 }); // creates the directory
    writeFileSync(join(dataDir, lockFileName), content);
    const { logger, lines } = capturingLogger();
    const lock = lockDataDir({ dataDir, logger, pid: 2222, isRunning });
    assert.deepEqual(JSON.parse(readFileSync(lock.path, "utf8")), { pid: 2222 }, name);
    assert.equal(mode(lock.path), 0o600, name);
    assert.deepEqual(
      lines.map((line) => [line.level, line.lock]),
      [["warn", lock.path]],
      name,
    );
    assert.match(String(lines[0]?.msg), logged, name);
    assert.ok(JSON.stringify(lines).length < 1000, `${name}: the log line carries an excerpt only`);
    assert.deepEqual(readdirSync(dataDir), [lockFileName], `${name}: nothing left aside`);
    lock.release();
  }
});

test("lockDataDir: release leaves a lock that another server has taken since", () => {
  const dataDir = freshDir();
  const first = lockDataDir({ dataDir, logger: silentLogger(), pid: 1111 });
  // Another server judged it stale (say, the pid was reused) and took it over.
  rmSync(first.path);
  const second = lockDataDir({ dataDir, logger: silentLogger(), pid: 2222 });
  first.release();
  assert.deepEqual(JSON.parse(readFileSync(second.path, "utf8")), { pid: 2222 });
  second.release();
  assert.deepEqual(readdirSync(dataDir), []);
});

test("processRunning: a live process, an exited one, and a zombie", async () => {
  assert.equal(processRunning(process.pid), true);
  const child = spawn("sleep", ["5"], { stdio: "ignore" });
  const pid = child.pid ?? assert.fail("no pid");
  assert.equal(processRunning(pid), true);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
  assert.equal(processRunning(pid), false, "killed and reaped");
  // A zombie: a child of a process that never reaps it. The shell starts `sleep 30` in the
  // background and then execs `sleep 30` itself; only once the exec is done (the parent is no
  // longer a shell that could reap) is the background child killed, so it stays a zombie.
  const shell = promisify(execFile)("sh", ["-c", "sleep 30 & echo $!; exec sleep 30"]);
  const zombie = await new Promise<number>((resolve) => {
    shell.child.stdout?.once("data", (data: Buffer) => resolve(Number(data.toString().trim())));
  });
  const parent = shell.child.pid ?? assert.fail("no pid");
  const statOf = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      return "";
    }
  };
  for (let waited = 0; !statOf(parent).includes("(sleep)") && waited < 2000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.match(statOf(parent), /\(sleep\)/, "the shell exec'd sleep");
  process.kill(zombie, "SIGKILL");
  const isZombie = () => /\) Z /.test(statOf(zombie));
  for (let waited = 0; !isZombie() && waited < 2000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(isZombie(), "the setup made a zombie");
  assert.equal(processRunning(zombie), false, "a zombie has exited");
  shell.child.kill("SIGKILL");
  await shell.catch(() => undefined);
});
