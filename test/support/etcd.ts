// A real etcd on 127.0.0.1 for tests and benchmarks: random free ports, a temporary data dir,
// stopped and removed by the caller. Debian package: etcd-server.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const installHint = "etcd not installed: apt-get install -y etcd-server";
export const haveEtcd = spawnSync("etcd", ["--version"], { stdio: "ignore" }).status === 0;

/** Ports nothing listens on now, all distinct (held open together while the OS picks them). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve))));
  const ports = servers.map((s) => {
    const address = s.address();
    assert.ok(address && typeof address === "object");
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

export interface RunningEtcd {
  readonly url: string;
  /** Ends the process, keeping the data dir (for a restart). */
  kill(): Promise<void>;
  /** Starts the process again on the same ports and data. */
  restart(): Promise<void>;
  /** Ends the process and removes the data dir. */
  stop(): Promise<void>;
}

export async function startEtcd(): Promise<RunningEtcd> {
  const dataDir = mkdtempSync(join(tmpdir(), "meshplane-etcd-"));
  const [client, peer] = await freePorts(2);
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const args = [
    "--name=default",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=default=${peerUrl}`,
  ];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const kill = async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  const launch = async () => {
    const proc = spawn("etcd", args, { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    let log = "";
    proc.stderr.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-8000)));
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
        if (response.ok && ((await response.json()) as { health?: string }).health === "true") return;
      } catch {
        // not up yet
      }
      if (proc.exitCode !== null || Date.now() > deadline) {
        await kill();
        throw new Error(`etcd did not become healthy:\n${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const stop = async () => {
    await kill();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await launch();
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return { url, kill, restart: launch, stop };
}
