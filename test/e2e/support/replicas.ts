// Several `meshplane serve` replicas sharing one store (`--store etcd://...`), as separate
// processes on 127.0.0.1 with their own xDS, API and admin ports and data directories. Each is
// named (A, B, C...), can be killed like a crashed process, and can tell which proxies it serves.
import { proxySync } from "./admin.ts";
import { startMeshplane, type Meshplane } from "./meshplane.ts";
import { waitFor } from "./wait.ts";

export interface Replica {
  readonly name: string;
  readonly meshplane: Meshplane;
  readonly xdsAddress: string;
  readonly adminAddress: string;
  readonly apiUrl: string;
  readonly kubeconfig: string;
  readonly alive: boolean;
  /** kill -9; resolves once the process is gone. */
  kill(): Promise<void>;
}

export interface Replicas {
  readonly all: readonly Replica[];
  get(name: string): Replica;
  alive(): Replica[];
  /**
   * `--xds-address` for a workload: every replica's xDS address, `first` first and the others
   * in their order after it (the order a client fails over in).
   */
  xdsAddresses(first: Replica): string;
  /** The live replica with an xDS stream from `nodeId` (GET /debug/syncz), if any. */
  serving(nodeId: string): Promise<Replica | undefined>;
  /** Waits until `nodeId` is served by `replica` (or by any other live one than `not`). */
  waitServed(nodeId: string, by: { replica?: Replica; not?: Replica }, timeoutMs?: number): Promise<Replica>;
  /** Stops every replica still running and removes their data. */
  stop(): Promise<void>;
}

export interface ReplicasOptions {
  /** Names, one replica each. */
  names: readonly string[];
  /** `etcd://host:port,...` */
  storeUrl: string;
  /** Extra `serve` flags for every replica. */
  args?: readonly string[];
}

export async function startReplicas(options: ReplicasOptions): Promise<Replicas> {
  const started = await Promise.allSettled(
    options.names.map((name) =>
      startMeshplane({
        args: ["--store", options.storeUrl, ...(options.args ?? [])],
        readyTimeoutMs: 30_000,
      }).then((meshplane) => ({ name, meshplane })),
    ),
  );
  const running = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await Promise.all(running.map((r) => r.meshplane.stop()));
    throw failed.reason;
  }
  let all: Replica[];
  try {
    all = running.map(({ name, meshplane }) => replica(name, meshplane));
  } catch (error) {
    await Promise.all(running.map((r) => r.meshplane.stop()));
    throw error;
  }
  const alive = () => all.filter((r) => r.alive);
  const serving = async (nodeId: string) => {
    for (const r of alive()) {
      const proxy = await proxySync(r.adminAddress, nodeId).catch(() => undefined);
      if (proxy) return r;
    }
    return undefined;
  };
  return {
    all,
    get(name) {
      const found = all.find((r) => r.name === name);
      if (!found) throw new Error(`no replica ${name}`);
      return found;
    },
    alive,
    xdsAddresses(first) {
      const at = all.indexOf(first);
      return [...all.slice(at), ...all.slice(0, at)].map((r) => r.xdsAddress).join(",");
    },
    serving,
    waitServed(nodeId, by, timeoutMs = 10_000) {
      return waitFor(
        async () => {
          const r = await serving(nodeId);
          if (!r) return undefined;
          if (by.replica && r !== by.replica) return undefined;
          return by.not && r === by.not ? undefined : r;
        },
        {
          timeoutMs,
          intervalMs: 50,
          message: `${nodeId} to be served by ${by.replica?.name ?? `a replica other than ${by.not?.name ?? "none"}`}`,
        },
      );
    },
    async stop() {
      await Promise.all(all.map((r) => r.meshplane.stop()));
    },
  };
}

function replica(name: string, meshplane: Meshplane): Replica {
  if (!meshplane.apiUrl || !meshplane.kubeconfig) throw new Error(`replica ${name} runs without its API`);
  let alive = true;
  return {
    name,
    meshplane,
    xdsAddress: meshplane.xdsAddress,
    adminAddress: meshplane.adminAddress,
    apiUrl: meshplane.apiUrl,
    kubeconfig: meshplane.kubeconfig,
    get alive() {
      return alive;
    },
    async kill() {
      alive = false;
      await meshplane.kill();
    },
  };
}
