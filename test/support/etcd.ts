// A real etcd on 127.0.0.1 for tests and benchmarks: one member (startEtcd) or a cluster of
// several (startEtcdCluster), random free ports, temporary data dirs, every wait bounded, stopped
// and removed by the caller. Debian package: etcd-server.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
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
  const [client, peer] = (await freePorts(2)) as [number, number];
  const member = new Member({ name: "default", dataDir, client, peer, initialCluster: "", token: "" });
  try {
    await member.launch();
    await waitUntil(
      () => member.healthy(),
      startTimeoutMs,
      () => `etcd did not become healthy:\n${member.log}`,
    );
  } catch (error) {
    await member.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: member.url,
    kill: () => member.kill("SIGTERM"),
    restart: async () => {
      await member.launch();
      await waitUntil(
        () => member.healthy(),
        startTimeoutMs,
        () => `etcd did not become healthy:\n${member.log}`,
      );
    },
    stop: async () => {
      await member.kill("SIGTERM");
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface EtcdClusterMember {
  readonly name: string;
  /** Client URL, `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly running: boolean;
  /** kill -9: no shutdown, the data dir stays (for restart). Resolves once the process is gone. */
  kill(): Promise<void>;
  /**
   * Starts the process again on the same ports and data; resolves once it serves client requests
   * (it may still lack a leader when no quorum is up: see EtcdCluster.waitHealthy).
   */
  restart(): Promise<void>;
}

export interface EtcdCluster {
  readonly members: readonly EtcdClusterMember[];
  /** Every member's client URL. */
  readonly urls: readonly string[];
  /** `etcd://127.0.0.1:A,127.0.0.1:B,...` for `meshplane serve --store`. */
  readonly storeUrl: string;
  /** Resolves once every running member reports a leader (quorum); rejects after `timeoutMs`. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** The member that is raft leader now (as the running members report it), if any. */
  leader(): Promise<EtcdClusterMember | undefined>;
  /** Kills every member and removes the data dirs. */
  stop(): Promise<void>;
}

/**
 * Starts `size` members (default 3) forming one new cluster on 127.0.0.1 and waits until it has
 * a leader. Default etcd timing (100 ms heartbeat, 1 s election): a lost leader is replaced after
 * about one to two seconds.
 */
export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  const root = mkdtempSync(join(tmpdir(), "meshplane-etcd-cluster-"));
  const ports = await freePorts(2 * size);
  const token = `meshplane-test-${process.pid}-${Date.now()}`;
  const specs = Array.from({ length: size }, (_, i) => ({
    name: `member-${i + 1}`,
    dataDir: join(root, `member-${i + 1}`),
    client: ports[2 * i] as number,
    peer: ports[2 * i + 1] as number,
  }));
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(",");
  const members = specs.map((spec) => {
    mkdirSync(spec.dataDir);
    return new Member({ ...spec, initialCluster, token });
  });
  const stop = async () => {
    await Promise.all(members.map((m) => m.kill("SIGKILL")));
    rmSync(root, { recursive: true, force: true });
  };
  const waitHealthy = async (timeoutMs = startTimeoutMs) => {
    const running = members.filter((m) => m.running);
    await waitUntil(
      async () => (await Promise.all(running.map((m) => m.healthy()))).every(Boolean),
      timeoutMs,
      () => `etcd cluster has no leader after ${timeoutMs} ms:\n${running.map((m) => m.log).join("\n")}`,
    );
  };
  try {
    // Members of a new cluster wait for each other, so all start before any is checked.
    await Promise.all(members.map((m) => m.launch()));
    await waitHealthy();
  } catch (error) {
    await stop();
    throw error;
  }
  const urls = members.map((m) => m.url);
  const handles: EtcdClusterMember[] = members.map((m) => ({
    name: m.name,
    url: m.url,
    get running() {
      return m.running;
    },
    kill: () => m.kill("SIGKILL"),
    restart: () => m.launch(),
  }));
  return {
    members: handles,
    urls,
    storeUrl: `etcd://${urls.map((u) => u.replace(/^http:\/\//, "")).join(",")}`,
    waitHealthy,
    async leader() {
      const statuses = await Promise.all(members.map((m) => (m.running ? m.status() : undefined)));
      const index = statuses.findIndex((st) => st !== undefined && st.leader === st.header.member_id);
      return handles[index];
    },
    stop,
  };
}

const startTimeoutMs = 15_000;
const exitTimeoutMs = 5_000;

interface MemberSpec {
  readonly name: string;
  readonly dataDir: string;
  readonly client: number;
  readonly peer: number;
  /** `name=peerUrl,...`; empty for a single-member cluster of its own. */
  readonly initialCluster: string;
  readonly token: string;
}

/** One etcd process that can be killed and started again on the same ports and data. */
class Member {
  readonly name: string;
  readonly url: string;
  log = "";
  private readonly args: readonly string[];
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(spec: MemberSpec) {
    this.name = spec.name;
    this.url = `http://127.0.0.1:${spec.client}`;
    const peerUrl = `http://127.0.0.1:${spec.peer}`;
    this.args = [
      `--name=${spec.name}`,
      `--data-dir=${spec.dataDir}`,
      `--listen-client-urls=${this.url}`,
      `--advertise-client-urls=${this.url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${spec.initialCluster || `${spec.name}=${peerUrl}`}`,
      ...(spec.token ? [`--initial-cluster-token=${spec.token}`, "--initial-cluster-state=new"] : []),
    ];
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process; resolves once it answers on its client URL (leader or not). */
  async launch(): Promise<void> {
    assert.ok(!this.running, `etcd ${this.name} is already running`);
    const proc = spawn("etcd", this.args, { stdio: ["ignore", "ignore", "pipe"] });
    this.child = proc;
    this.exited = new Promise<void>((resolve) => {
      proc.once("exit", () => resolve());
      proc.once("error", (error) => {
        this.log += `spawn error: ${error.message}\n`;
        resolve();
      });
    });
    proc.stderr.on("data", (chunk: Buffer) => (this.log = (this.log + chunk.toString()).slice(-8000)));
    try {
      await waitUntil(
        async () => {
          if (!this.running) throw new Error(`etcd ${this.name} exited`);
          return (await probe(`${this.url}/version`)) !== undefined;
        },
        startTimeoutMs,
        () => `etcd ${this.name} did not start:\n${this.log}`,
      );
    } catch (error) {
      await this.kill("SIGKILL");
      throw error;
    }
  }

  /** Whether the member serves and sees a leader (etcd 3.4 /health). */
  async healthy(): Promise<boolean> {
    const body = (await probe(`${this.url}/health`)) as { health?: string } | undefined;
    return body?.health === "true";
  }

  /** The member's raft view (etcd's Maintenance.Status through its JSON gateway). */
  async status(): Promise<{ header: { member_id: string }; leader: string } | undefined> {
    try {
      const response = await fetch(`${this.url}/v3/maintenance/status`, {
        method: "POST",
        body: "{}",
        signal: AbortSignal.timeout(1000),
      });
      return response.ok
        ? ((await response.json()) as { header: { member_id: string }; leader: string })
        : undefined;
    } catch {
      return undefined;
    }
  }

  async kill(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    const proc = this.child;
    if (proc && this.running) {
      proc.kill(signal);
      // SIGTERM lets etcd shut down; a stuck one is killed after a while.
      const timer = setTimeout(() => proc.kill("SIGKILL"), exitTimeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

/** The JSON body of a GET, or undefined when it fails in any way within a second. */
async function probe(url: string): Promise<unknown> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return response.ok ? await response.json() : undefined;
  } catch {
    return undefined;
  }
}

/** Polls `condition` every 100 ms until it holds; an exception from it ends the wait at once. */
async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  message: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await condition()) return;
    } catch (error) {
      throw new Error(`${message()}\n${String(error)}`, { cause: error });
    }
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
