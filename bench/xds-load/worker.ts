// A worker process: simulates a range of proxies, each with its own gRPC channel and ADS stream,
// and answers the harness over IPC (see ipc.ts). Started by run.ts; not meant to be run by hand.
import { setImmediate as nextTick } from "node:timers/promises";
import type { WatchSpec } from "./changes.ts";
import { DeltaProxy } from "./delta-proxy.ts";
import { now, type Envelope, type WorkerCommand, type WorkerProgress, type WorkerReply } from "./ipc.ts";
import { MeshPlan } from "./mesh-plan.ts";
import type { ProxyHooks, SimProxy } from "./proxy-view.ts";
import { SotwProxy } from "./sotw-proxy.ts";

const connectBatch = 50;
const maxRetries = 5;

const proxies: SimProxy[] = [];
/** Per watch: proxies holding the resource, when each got the change, responses per proxy at the start. */
const watches = new Map<
  number,
  { spec: WatchSpec; holders: number; times: Map<number, number>; responsesBefore: number[] }
>();
const watchIndex = new Map<string, WatchSpec[]>();
const churnPending = new Set<SimProxy>();
const churnDurations: number[] = [];
const retries = new Map<SimProxy, number>();
let churnNext = 0;
let reconnects = 0;
let synced = 0;
let errors = 0;
const errorSamples: string[] = [];
let progressTimer: NodeJS.Timeout | undefined;
/** Windowed connect: proxies not started yet, and those started but not synced yet. */
const connectQueue: SimProxy[] = [];
const connecting = new Set<SimProxy>();
let connectWindow = Infinity;
let closing = false;

const hooks: ProxyHooks = {
  onSynced(proxy, at) {
    synced++;
    if (churnPending.delete(proxy)) churnDurations.push(at - proxy.connectStartedAt);
    if (connecting.delete(proxy)) pump();
    scheduleProgress();
  },
  onSeen(id, proxy, at) {
    watches.get(id)?.times.set(proxy.index, at);
    scheduleProgress();
  },
  onError(proxy, message) {
    errors++;
    if (errorSamples.length < 10) errorSamples.push(`proxy ${proxy.index}: ${message}`);
    // Like grpc-js-xds, restart a broken stream after a back-off (bounded here).
    const attempt = (retries.get(proxy) ?? 0) + 1;
    retries.set(proxy, attempt);
    if (closing || attempt > maxRetries) return;
    const timer = setTimeout(
      () => {
        if (!closing) proxy.connect();
      },
      1000 * attempt + Math.random() * 500,
    );
    timer.unref();
  },
  watches: (typeUrl, name) => watchIndex.get(`${typeUrl}\t${name}`) ?? [],
  now,
};

function pump(): void {
  while (connecting.size < connectWindow && connectQueue.length > 0) {
    const proxy = connectQueue.shift() as SimProxy;
    connecting.add(proxy);
    proxy.connect();
  }
}

function scheduleProgress(): void {
  if (progressTimer) return;
  progressTimer = setTimeout(() => {
    progressTimer = undefined;
    const seen: Record<number, number> = {};
    for (const [id, watch] of watches) seen[id] = watch.times.size;
    const progress: WorkerProgress = { ev: "progress", synced, churnPending: churnPending.size, seen };
    process.send?.(progress);
  }, 100);
}

async function handle(command: WorkerCommand): Promise<WorkerReply> {
  switch (command.cmd) {
    case "init": {
      const plan = new MeshPlan(command.plan);
      for (let p = command.from; p < command.to; p++) {
        const targets = plan.targets(p).map((t) => plan.listenerName(t));
        const nodeId = `bench-proxy-${p}`;
        const namespace = plan.proxyNamespace(p);
        proxies.push(
          command.protocol === "delta"
            ? new DeltaProxy(p, nodeId, namespace, targets, command.address, hooks)
            : new SotwProxy(p, nodeId, namespace, targets, command.address, hooks),
        );
      }
      return { ok: true };
    }
    case "connect":
      if (command.window > 0) {
        connectWindow = command.window;
        connectQueue.push(...proxies);
        pump();
        return { ok: true };
      }
      // As fast as this process can open them, yielding between batches so responses flow.
      for (let i = 0; i < proxies.length; i += connectBatch) {
        for (const proxy of proxies.slice(i, i + connectBatch)) proxy.connect();
        await nextTick();
      }
      return { ok: true };
    case "collectConnect":
      return {
        connect: {
          started: proxies.map((p) => p.connectStartedAt),
          synced: proxies.map((p) => p.syncedAt),
        },
      };
    case "watch": {
      const { spec } = command;
      const key = `${spec.typeUrl}\t${spec.name}`;
      watchIndex.set(key, [...(watchIndex.get(key) ?? []), spec]);
      const holders = proxies.filter((p) => p.view.of(spec.typeUrl).has(spec.name)).length;
      const responsesBefore = proxies.map((p) => p.responses);
      watches.set(spec.id, { spec, holders, times: new Map(), responsesBefore });
      return { holders };
    }
    case "collectWatch": {
      const watch = watches.get(command.id);
      if (!watch) return { error: `no watch ${command.id}` };
      watches.delete(command.id);
      const key = `${watch.spec.typeUrl}\t${watch.spec.name}`;
      const rest = (watchIndex.get(key) ?? []).filter((s) => s.id !== command.id);
      if (rest.length > 0) watchIndex.set(key, rest);
      else watchIndex.delete(key);
      const responded = proxies.filter((p, i) => p.responses > (watch.responsesBefore[i] ?? 0)).length;
      return { watch: { holders: watch.holders, times: [...watch.times.values()], responded } };
    }
    case "churn": {
      // Round-robin over this worker's proxies; skip one still resyncing from an earlier cycle.
      for (let n = 0, tries = 0; n < command.count && tries < proxies.length; tries++) {
        const proxy = proxies[churnNext++ % proxies.length] as SimProxy;
        if (churnPending.has(proxy)) continue;
        proxy.disconnect();
        churnPending.add(proxy);
        reconnects++;
        proxy.connect();
        n++;
      }
      scheduleProgress();
      return { ok: true };
    }
    case "collectChurn":
      return { churn: { durations: churnDurations.splice(0), pending: churnPending.size, reconnects } };
    case "stats": {
      const cpu = process.cpuUsage();
      return {
        stats: {
          cpuSeconds: (cpu.user + cpu.system) / 1e6,
          rssBytes: process.memoryUsage.rss(),
          bytes: sum(proxies, (p) => p.bytes),
          responses: sum(proxies, (p) => p.responses),
          resent: sum(proxies, (p) => p.resent),
          errors,
          errorSamples,
          synced: proxies.filter((p) => p.syncedAt !== 0).length,
          proxies: proxies.length,
        },
      };
    }
    case "close":
      closing = true;
      for (const proxy of proxies) proxy.disconnect();
      return { ok: true };
  }
}

function sum(list: readonly SimProxy[], of: (p: SimProxy) => number): number {
  let total = 0;
  for (const item of list) total += of(item);
  return total;
}

process.on("message", (message: Envelope<WorkerCommand>) => {
  handle(message.body).then(
    (reply) => process.send?.({ seq: message.seq, body: reply }),
    (error: unknown) => process.send?.({ seq: message.seq, body: { error: String(error) } }),
  );
  if (message.body.cmd === "close") setTimeout(() => process.exit(0), 200).unref();
});
// The harness is gone: nothing left to report to.
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
// A Ctrl-C reaches the whole process group; the harness decides when workers stop.
process.on("SIGINT", () => undefined);
process.send?.({ ev: "ready" });
