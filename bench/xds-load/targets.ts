// The two servers under test behind one interface: meshplane itself (`meshplane serve` on a config
// directory, changed through its API or by editing files) and the transport ceiling (changed over
// IPC). Each change reports when its clock starts, and the server's CPU time at that moment.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  DeltaDiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
} from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { TypeUrl } from "../../src/xds/resource-types.ts";
import { ApiWriter } from "./api-writer.ts";
import { changeFile, changeObject, type Change } from "./changes.ts";
import { now, type CeilingReply } from "./ipc.ts";
import { toYaml, type MeshPlan } from "./mesh-plan.ts";
import { spawnNode, type NodeChild } from "./procs.ts";
import { listenBacklog, sampleProc, scrapeMetrics, type Metrics, type ProcSample } from "./procstat.ts";

export type TargetName = "meshplane" | "ceiling";

/** How meshplane receives a change: a write through its API, or a file renamed into its config directory. */
export type WriteMode = "api" | "dir";

/** What the clock of a change starts at, per server and write mode (BENCHMARKS.md says the same). */
export const clockStarts = {
  api: "API write acknowledged (the apply's 2xx reply read by the harness)",
  dir: "rename() of the edited file into the config directory",
  ceiling: "new resource encoded and held by the server; the harness sends the push",
} as const;

export interface ChangeStart {
  /** Wall-clock ms at which the change's clock starts (see clockStarts). */
  readonly at: number;
  /** The server's CPU time (utime + stime, s) sampled just before that moment. */
  readonly cpuSeconds: number;
  /** api: from sending the write to its acknowledgement, ms. */
  readonly writeMs?: number;
}

export interface Target {
  readonly name: TargetName;
  readonly pid: number;
  readonly xdsAddress: string;
  /** The accept-queue length the kernel applies to the xDS port (`ss` Send-Q); undefined if unknown. */
  readonly backlog: number | undefined;
  readonly clock: keyof typeof clockStarts;
  /** The web dashboard's URL, when meshplane serves it (--dashboard). */
  readonly dashboardUrl?: string;
  /** Makes the change; resolves with the moment its clock starts. */
  apply(change: Change): Promise<ChangeStart>;
  sample(): ProcSample;
  metrics(): Promise<Metrics | undefined>;
  /** Resources the server encoded so far, if it counts them itself (the ceiling). */
  ownEncodes(): Promise<number | undefined>;
  alive(): boolean;
  tail(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `meshplane serve --help` of the checkout run, to pass only the flags it knows (older checkouts). */
function serveHelp(root: string): string {
  try {
    return execFileSync(process.execPath, [join(root, "src/cli/main.ts"), "serve", "--help"], {
      cwd: root,
      encoding: "utf8",
      timeout: 30_000,
    });
  } catch {
    return "";
  }
}

/** The value of `--flag V` or `--flag=V` in args, if given. */
function flagValue(args: readonly string[], flag: string): string | undefined {
  for (const [i, arg] of args.entries()) {
    if (arg === flag) return args[i + 1];
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
  }
  return undefined;
}

export interface MeshplaneOptions {
  readonly root: string;
  readonly configDir: string;
  /** Same filesystem as configDir: new file contents are written here, then renamed in. */
  readonly stagingDir: string;
  readonly plan: MeshPlan;
  readonly write: WriteMode;
  /** Accept backlog asked for the xDS port (--xds-backlog), if this meshplane has the flag. */
  readonly backlog: number;
  readonly nodeArgs: readonly string[];
  readonly extraArgs: readonly string[];
  /** Serve the web dashboard (--dashboard-address), if this meshplane has the flag. */
  readonly dashboard: boolean;
}

export async function startMeshplane(options: MeshplaneOptions): Promise<Target> {
  // At --log-level warn the "meshplane ready" line (info) is not printed, so the ports are chosen
  // here rather than bound as port 0 and read back.
  const [xdsPort, adminPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const xdsAddress = `127.0.0.1:${xdsPort}`;
  const adminAddress = `127.0.0.1:${adminPort}`;
  const help = serveHelp(options.root);
  const own = (flag: string) => flagValue(options.extraArgs, flag) !== undefined;
  const hasApi = help.includes("--api-address");
  if (options.dashboard && !help.includes("--dashboard-address")) {
    throw new Error("--dashboard needs a meshplane with serve --dashboard-address");
  }
  const dashboardAddress = options.dashboard ? `127.0.0.1:${await freePort()}` : undefined;
  if (options.write === "api" && (!hasApi || flagValue(options.extraArgs, "--api-address") === "off")) {
    throw new Error("--write api needs meshplane's API (serve --api-address): use --write dir");
  }
  // A fresh store per start, outside the checkout, unless the caller chose one.
  const ownDataDir = flagValue(options.extraArgs, "--data-dir");
  const tempDataDir =
    !ownDataDir && !own("--store") && help.includes("--data-dir")
      ? mkdtempSync(join(options.stagingDir, "..", "data-"))
      : undefined;
  const child = spawnNode(
    "meshplane",
    join(options.root, "src/cli/main.ts"),
    [
      "serve",
      "--config-dir",
      options.configDir,
      "--xds-address",
      xdsAddress,
      "--admin-address",
      adminAddress,
      "--log-level",
      "warn",
      ...(tempDataDir ? ["--data-dir", tempDataDir] : []),
      ...(hasApi && !own("--api-address") ? ["--api-address", `127.0.0.1:${apiPort}`] : []),
      ...(dashboardAddress ? ["--dashboard-address", dashboardAddress] : []),
      ...(help.includes("--xds-backlog") && !own("--xds-backlog")
        ? ["--xds-backlog", String(options.backlog)]
        : []),
      ...options.extraArgs,
    ],
    { cwd: options.root, nodeArgs: options.nodeArgs, detached: true },
  );
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (!child.alive()) throw new Error(`meshplane exited before it was ready\n${child.tail()}`);
    const ok = await fetch(`http://${adminAddress}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`meshplane not ready after 120 s\n${child.tail()}`);
    }
    await sleep(100);
  }
  const dataDir = ownDataDir ?? tempDataDir ?? ".meshplane";
  const kubeconfig = join(dataDir, "kubeconfig");
  if (options.write === "api" && !existsSync(kubeconfig)) {
    await child.stop();
    throw new Error(`meshplane is ready but wrote no ${kubeconfig}\n${child.tail()}`);
  }
  const api = options.write === "api" ? ApiWriter.fromKubeconfig(kubeconfig) : undefined;
  const { plan } = options;
  let staged = 0;
  return {
    name: "meshplane",
    pid: child.pid,
    xdsAddress,
    backlog: listenBacklog(xdsPort),
    clock: options.write,
    ...(dashboardAddress ? { dashboardUrl: `http://${dashboardAddress}/` } : {}),
    async apply(change) {
      if (api) {
        const cpuSeconds = sampleProc(child.pid).cpuSeconds;
        const written = await api.apply(changeObject(plan, change));
        return { at: written.ackedAt, cpuSeconds, writeMs: written.ackedAt - written.sentAt };
      }
      const temp = join(options.stagingDir, `change-${process.pid}-${++staged}.yaml`);
      writeFileSync(temp, toYaml(changeObject(plan, change)));
      const cpuSeconds = sampleProc(child.pid).cpuSeconds;
      const at = now();
      // An atomic replace, as editors and git checkouts do: the watcher never sees half a file.
      renameSync(temp, join(options.configDir, changeFile(plan, change)));
      return { at, cpuSeconds };
    },
    sample: () => sampleProc(child.pid),
    metrics: () => scrapeMetrics(adminAddress).catch(() => undefined),
    ownEncodes: () => Promise.resolve(undefined),
    alive: child.alive,
    tail: () => child.tail(),
    stop: async () => {
      await child.stop(5000);
      if (tempDataDir) rmSync(tempDataDir, { recursive: true, force: true });
    },
  };
}

export async function startCeiling(
  plan: MeshPlan,
  backlog: number,
  nodeArgs: readonly string[],
): Promise<Target> {
  const script = join(import.meta.dirname, "ceiling-server.ts");
  const child: NodeChild = spawnNode("ceiling", script, [JSON.stringify(plan.options), String(backlog)], {
    ipc: true,
    nodeArgs,
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`ceiling not ready after 120 s\n${child.tail()}`)),
      120_000,
    );
    child.onEvent((message) => {
      if (message.ev !== "ready") return;
      clearTimeout(timer);
      resolve(message.port as number);
    });
    void child.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`ceiling exited before it was ready\n${child.tail()}`));
    });
  });
  const ask = async (body: unknown): Promise<CeilingReply> => {
    const reply = await child.request<CeilingReply>(body, 120_000);
    if ("error" in reply) throw new Error(`ceiling: ${reply.error}`);
    return reply;
  };
  return {
    name: "ceiling",
    pid: child.pid,
    xdsAddress: `127.0.0.1:${port}`,
    backlog: listenBacklog(port),
    clock: "ceiling",
    async apply(change) {
      // All config work happens before the clock starts: the ceiling measures transport only.
      await ask({ op: "prepare", change, object: changeObject(plan, change) });
      const cpuSeconds = sampleProc(child.pid).cpuSeconds;
      const at = now();
      await ask({ op: "push", change });
      return { at, cpuSeconds };
    },
    sample: () => sampleProc(child.pid),
    metrics: () => Promise.resolve(undefined),
    async ownEncodes() {
      const reply = await ask({ op: "stats" });
      return "stats" in reply ? reply.stats.encodes : undefined;
    },
    alive: child.alive,
    tail: () => child.tail(),
    stop: () => child.stop(3000),
  };
}

/** Whether the server implements DeltaAggregatedResources (UNIMPLEMENTED otherwise). */
export function supportsDelta(address: string, timeoutMs = 2000): Promise<boolean> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest(
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources",
    (r: DeltaDiscoveryRequest) => Buffer.from(toBinary(DeltaDiscoveryRequestSchema, r)),
    (b: Buffer) => b,
  );
  return new Promise<boolean>((resolve) => {
    const done = (supported: boolean) => {
      clearTimeout(timer);
      call.removeAllListeners();
      call.on("error", () => undefined);
      call.cancel();
      client.close();
      resolve(supported);
    };
    const timer = setTimeout(() => done(true), timeoutMs);
    call.on("data", () => done(true));
    call.on("error", (error: grpc.ServiceError) => done(error.code !== grpc.status.UNIMPLEMENTED));
    call.write(
      create(DeltaDiscoveryRequestSchema, {
        node: { id: "bench-delta-probe", metadata: { NAMESPACE: "default" } },
        typeUrl: TypeUrl.Listener,
        resourceNamesSubscribe: ["delta-probe.invalid:1"],
      }),
    );
  });
}
