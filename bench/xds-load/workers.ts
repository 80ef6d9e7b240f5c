// The harness side of the worker processes: spawns K of them, splits the proxies between them,
// fans commands out and merges what comes back.
import { join } from "node:path";
import type { WatchSpec } from "./changes.ts";
import type {
  ChurnReport,
  ConnectReport,
  Protocol,
  WatchReport,
  WorkerCommand,
  WorkerProgress,
  WorkerReply,
  WorkerStats,
} from "./ipc.ts";
import type { PlanOptions } from "./mesh-plan.ts";
import { spawnNode, type NodeChild } from "./procs.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class WorkerPool {
  private readonly workers: NodeChild[];
  private readonly ranges: Array<[number, number]> = [];
  private readonly progress: Array<WorkerProgress | undefined>;

  private constructor(workers: NodeChild[]) {
    this.workers = workers;
    this.progress = workers.map(() => undefined);
    workers.forEach((worker, i) =>
      worker.onEvent((message) => {
        if (message.ev === "progress") this.progress[i] = message as unknown as WorkerProgress;
      }),
    );
  }

  static async start(count: number, nodeArgs: readonly string[]): Promise<WorkerPool> {
    const script = join(import.meta.dirname, "worker.ts");
    const workers = Array.from({ length: count }, (_, i) =>
      spawnNode(`worker-${i}`, script, [], { ipc: true, nodeArgs }),
    );
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`${worker.name} did not start\n${worker.tail()}`)),
              60_000,
            );
            worker.onEvent((message) => {
              if (message.ev !== "ready") return;
              clearTimeout(timer);
              resolve();
            });
            void worker.exited.then(() => reject(new Error(`${worker.name} exited\n${worker.tail()}`)));
          }),
      ),
    );
    return new WorkerPool(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  private async all(
    command: WorkerCommand | ((i: number) => WorkerCommand),
    timeoutMs = 120_000,
  ): Promise<WorkerReply[]> {
    const replies = await Promise.all(
      this.workers.map((worker, i) =>
        worker.request<WorkerReply>(typeof command === "function" ? command(i) : command, timeoutMs),
      ),
    );
    for (const [i, reply] of replies.entries()) {
      if ("error" in reply) throw new Error(`worker-${i}: ${reply.error}`);
    }
    return replies;
  }

  async init(address: string, protocol: Protocol, plan: PlanOptions, proxies: number): Promise<void> {
    const k = this.workers.length;
    this.ranges.length = 0;
    for (let i = 0; i < k; i++)
      this.ranges.push([Math.floor((i * proxies) / k), Math.floor(((i + 1) * proxies) / k)]);
    this.progress.fill(undefined);
    await this.all((i) => {
      const [from, to] = this.ranges[i] as [number, number];
      return { cmd: "init", address, protocol, plan, from, to };
    });
  }

  alive(): boolean {
    return this.workers.every((w) => w.alive());
  }

  synced(): number {
    return this.progress.reduce((sum, p) => sum + (p?.synced ?? 0), 0);
  }

  seen(id: number): number {
    return this.progress.reduce((sum, p) => sum + (p?.seen[id] ?? 0), 0);
  }

  churnPending(): number {
    return this.progress.reduce((sum, p) => sum + (p?.churnPending ?? 0), 0);
  }

  /** Polls `done` every 50 ms until it holds, a worker dies, `abort` says so, or `timeoutMs` passes. */
  async until(done: () => boolean, timeoutMs: number, abort: () => boolean): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (done()) return true;
      if (!this.alive()) throw new Error(`a worker died\n${this.workers.map((w) => w.tail(5)).join("\n")}`);
      if (abort()) return false;
      await sleep(50);
    }
    return done();
  }

  /**
   * Starts every proxy's stream; resolves once all workers have opened theirs. With a window,
   * at most `window` proxies (over all workers) are connecting but not yet synced at any time.
   */
  async connect(window = 0): Promise<void> {
    const perWorker = window > 0 ? Math.max(1, Math.ceil(window / this.workers.length)) : 0;
    await this.all({ cmd: "connect", window: perWorker }, 600_000);
  }

  async collectConnect(): Promise<ConnectReport> {
    const replies = await this.all({ cmd: "collectConnect" });
    const started: number[] = [];
    const synced: number[] = [];
    for (const reply of replies) {
      if (!("connect" in reply)) continue;
      started.push(...reply.connect.started);
      synced.push(...reply.connect.synced);
    }
    return { started, synced };
  }

  async watch(spec: WatchSpec): Promise<number> {
    const replies = await this.all({ cmd: "watch", spec });
    return replies.reduce((sum, r) => sum + ("holders" in r ? r.holders : 0), 0);
  }

  async collectWatch(id: number): Promise<WatchReport> {
    const replies = await this.all({ cmd: "collectWatch", id });
    let holders = 0;
    let responded = 0;
    const times: number[] = [];
    for (const reply of replies) {
      if (!("watch" in reply)) continue;
      holders += reply.watch.holders;
      responded += reply.watch.responded;
      times.push(...reply.watch.times);
    }
    return { holders, times, responded };
  }

  /** Reconnects about `count` proxies, spread over the workers by their share. */
  async churn(count: number): Promise<void> {
    const total = this.ranges.reduce((sum, [from, to]) => sum + (to - from), 0);
    let given = 0;
    await this.all((i) => {
      const [from, to] = this.ranges[i] as [number, number];
      const share = i === this.workers.length - 1 ? count - given : Math.round((count * (to - from)) / total);
      given += share;
      return { cmd: "churn", count: Math.max(0, share) };
    });
  }

  async collectChurn(): Promise<ChurnReport> {
    const replies = await this.all({ cmd: "collectChurn" });
    const durations: number[] = [];
    let pending = 0;
    let reconnects = 0;
    for (const reply of replies) {
      if (!("churn" in reply)) continue;
      durations.push(...reply.churn.durations);
      pending += reply.churn.pending;
      reconnects += reply.churn.reconnects;
    }
    return { durations, pending, reconnects };
  }

  async stats(): Promise<WorkerStats> {
    const replies = await this.all({ cmd: "stats" });
    const list = replies.flatMap((r) => ("stats" in r ? [r.stats] : []));
    const total = (of: (s: WorkerStats) => number) => list.reduce((sum, s) => sum + of(s), 0);
    return {
      cpuSeconds: total((s) => s.cpuSeconds),
      rssBytes: total((s) => s.rssBytes),
      bytes: total((s) => s.bytes),
      responses: total((s) => s.responses),
      resent: total((s) => s.resent),
      errors: total((s) => s.errors),
      errorSamples: list.flatMap((s) => s.errorSamples).slice(0, 10),
      synced: total((s) => s.synced),
      proxies: total((s) => s.proxies),
    };
  }

  /** Closes every proxy's channel, then stops the processes. */
  async close(): Promise<void> {
    await this.all({ cmd: "close" }, 30_000).catch(() => undefined);
    await Promise.all(this.workers.map((w) => w.stop(3000)));
  }
}
