// The four scenarios, each run against one server (meshplane or the ceiling) with one protocol.
// Times are wall-clock ms (performance.timeOrigin + performance.now()) taken in whichever process
// sees the event: the harness for a change's start, the worker for a proxy's ACK.
import { affectedProxies, watchSpec, type Change, type ChangeKind } from "./changes.ts";
import type { Protocol } from "./ipc.ts";
import { now } from "./ipc.ts";
import { dist, snapshot, usage, type Dist, type Usage } from "./measure.ts";
import type { MeshPlan } from "./mesh-plan.ts";
import { metricSum } from "./procstat.ts";
import type { Target, TargetName } from "./targets.ts";
import type { WorkerPool } from "./workers.ts";

export type ScenarioName = "connect" | "endpoint" | "route" | "churn";
export const allScenarios: readonly ScenarioName[] = ["connect", "endpoint", "route", "churn"];

export interface ChangeOutcome {
  readonly file: string;
  readonly expected: number;
  readonly holders: number;
  readonly seen: number;
  readonly latency: Dist | undefined;
}

export interface ScenarioResult {
  readonly scenario: ScenarioName;
  readonly target: TargetName;
  readonly protocol: Protocol;
  readonly ok: boolean;
  readonly failures: readonly string[];
  readonly usage: Usage;
  /** connect: until every proxy was synced, ms after the start. */
  readonly timeToAllSyncedMs?: number;
  readonly synced?: number;
  readonly rssBeforeMB?: number;
  readonly rssPerProxyKB?: number;
  /** connect: per proxy, start → synced; changes and churn: per proxy, change → ACKed. */
  readonly latency?: Dist;
  /** churn: per reconnect, reconnect → synced. */
  readonly reconnect?: Dist;
  readonly reconnects?: number;
  readonly changes?: readonly ChangeOutcome[];
}

export interface ScenarioContext {
  readonly plan: MeshPlan;
  readonly proxies: number;
  readonly protocol: Protocol;
  readonly target: Target;
  readonly pool: WorkerPool;
  readonly settings: {
    readonly connectTimeoutMs: number;
    /** 0: every proxy at once (a storm); N: at most N connecting-but-unsynced proxies at a time. */
    readonly connectWindow: number;
    readonly changeTimeoutMs: number;
    readonly changes: number;
    readonly churnSeconds: number;
    readonly churnFraction: number;
  };
  readonly aborted: () => boolean;
  readonly log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Per target run: every edit of an object gets the next generation, every watch a new id. */
export class ChangeClock {
  private readonly generations = new Map<string, number>();
  private watchId = 0;

  next(kind: ChangeKind, service: number): Change {
    const key = `${kind}/${service}`;
    const generation = (this.generations.get(key) ?? 0) + 1;
    this.generations.set(key, generation);
    return { kind, service, generation };
  }

  id(): number {
    return ++this.watchId;
  }
}

function base(ctx: ScenarioContext, scenario: ScenarioName) {
  return { scenario, target: ctx.target.name, protocol: ctx.protocol };
}

export async function runConnect(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { pool, proxies } = ctx;
  const before = await snapshot(ctx.target, pool);
  const t0 = now();
  await pool.connect(ctx.settings.connectWindow);
  ctx.log(
    `  all ${ctx.settings.connectWindow > 0 ? "workers started" : `${proxies} streams opened`} after ${((now() - t0) / 1000).toFixed(1)} s; waiting for sync`,
  );
  let lastLog = Date.now();
  const all = await pool.until(
    () => {
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        ctx.log(`  ${pool.synced()}/${proxies} synced after ${((now() - t0) / 1000).toFixed(1)} s`);
      }
      return pool.synced() >= proxies;
    },
    ctx.settings.connectTimeoutMs,
    ctx.aborted,
  );
  const report = await pool.collectConnect();
  const synced = report.synced.filter((t) => t > 0);
  await sleep(1000); // let the last writes and ACKs settle before sampling memory
  const after = await snapshot(ctx.target, pool);
  const failures = all
    ? []
    : [
        `${proxies - synced.length} of ${proxies} proxies not synced within ${ctx.settings.connectTimeoutMs / 1000} s`,
      ];
  return {
    ...base(ctx, "connect"),
    ok: all,
    failures,
    usage: usage(before, after),
    timeToAllSyncedMs: all ? Math.max(...synced) - t0 : undefined,
    synced: synced.length,
    rssBeforeMB: before.proc.rssBytes / 2 ** 20,
    rssPerProxyKB: (after.proc.rssBytes - before.proc.rssBytes) / proxies / 1024,
    latency: dist(synced.map((t) => t - t0)),
  };
}

/** Starts one change and its watch; the returned promise resolves when every holder has it or time is up. */
async function change(ctx: ScenarioContext, clock: ChangeClock, kind: ChangeKind, service: number) {
  const edit = clock.next(kind, service);
  const id = clock.id();
  const expected = affectedProxies(ctx.plan, edit, ctx.proxies);
  const holders = await ctx.pool.watch(watchSpec(ctx.plan, edit, id));
  const t0 = await ctx.target.apply(edit);
  const file = kind === "endpoint" ? ctx.plan.endpointFile(service) : ctx.plan.routeFile(service);
  return { id, t0, expected, holders, file };
}

async function collect(
  ctx: ScenarioContext,
  started: Awaited<ReturnType<typeof change>>,
  failures: string[],
) {
  const report = await ctx.pool.collectWatch(started.id);
  const latencies = report.times.map((t) => t - started.t0);
  const { expected, holders, file } = started;
  if (holders !== expected)
    failures.push(`${file}: ${holders} proxies held the resource, the plan says ${expected}`);
  if (latencies.length < holders) {
    failures.push(`${file}: ${holders - latencies.length} of ${holders} proxies did not get the change`);
  }
  const outcome: ChangeOutcome = {
    file,
    expected,
    holders,
    seen: latencies.length,
    latency: dist(latencies),
  };
  return { outcome, latencies };
}

/** Server RSS, and for meshplane its V8 heap (used/total) from /metrics. */
async function memoryLine(target: Target): Promise<string> {
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  const metrics = await target.metrics();
  const heap = metrics
    ? `, heap ${mb(metricSum(metrics, "meshplane_nodejs_heap_size_used_bytes"))}/${mb(metricSum(metrics, "meshplane_nodejs_heap_size_total_bytes"))} MB`
    : "";
  return `server RSS ${mb(target.sample().rssBytes)} MB${heap}`;
}

export async function runChange(
  ctx: ScenarioContext,
  clock: ChangeClock,
  kind: ChangeKind,
): Promise<ScenarioResult> {
  // svc-0001 backs the hot route (every proxy holds its EDS); svc-0000 is the hot route itself.
  const service = kind === "endpoint" ? 1 : 0;
  const before = await snapshot(ctx.target, ctx.pool);
  const failures: string[] = [];
  const outcomes: ChangeOutcome[] = [];
  const all: number[] = [];
  for (let c = 0; c < ctx.settings.changes && !ctx.aborted(); c++) {
    const started = await change(ctx, clock, kind, service);
    await ctx.pool.until(
      () => ctx.pool.seen(started.id) >= started.holders,
      ctx.settings.changeTimeoutMs,
      ctx.aborted,
    );
    await sleep(200); // the last progress report
    const { outcome, latencies } = await collect(ctx, started, failures);
    outcomes.push(outcome);
    all.push(...latencies);
    ctx.log(
      `  change ${c + 1}: ${outcome.seen}/${outcome.holders} proxies, p99 ${outcome.latency?.p99.toFixed(0)} ms, ` +
        (await memoryLine(ctx.target)),
    );
    await sleep(500);
  }
  const after = await snapshot(ctx.target, ctx.pool);
  return {
    ...base(ctx, kind),
    ok: failures.length === 0,
    failures,
    usage: usage(before, after),
    latency: dist(all),
    changes: outcomes,
  };
}

export async function runChurn(ctx: ScenarioContext, clock: ChangeClock): Promise<ScenarioResult> {
  const { plan, pool, settings } = ctx;
  const perSecond = Math.max(1, Math.round((ctx.proxies * settings.churnFraction) / settings.churnSeconds));
  // Endpoint edits rotate over services that callers dial directly (no route), away from the hot ones.
  const candidates: number[] = [];
  for (let i = 3; i < plan.services; i++) if (!plan.hasRoute(i)) candidates.push(i);
  const before = await snapshot(ctx.target, pool);
  const started: Array<Awaited<ReturnType<typeof change>>> = [];
  for (let k = 0; k < settings.churnSeconds && !ctx.aborted(); k++) {
    const tick = Date.now();
    await pool.churn(perSecond);
    let service = candidates[(k * 37) % candidates.length] ?? 3;
    for (
      let tries = 0;
      tries < 20 && affectedProxies(plan, { kind: "endpoint", service, generation: 1 }, ctx.proxies) === 0;
      tries++
    ) {
      service = candidates[(k * 37 + tries + 1) % candidates.length] ?? 3;
    }
    started.push(await change(ctx, clock, "endpoint", service));
    await sleep(Math.max(0, 1000 - (Date.now() - tick)));
  }
  ctx.log(`  churn period over (${started.length} s, ${perSecond} reconnects/s); draining`);
  await sleep(250);
  await pool.until(
    () => pool.churnPending() === 0 && started.every((s) => pool.seen(s.id) >= s.holders),
    settings.changeTimeoutMs,
    ctx.aborted,
  );
  await sleep(200);
  const churn = await pool.collectChurn();
  const failures: string[] = [];
  const outcomes: ChangeOutcome[] = [];
  const all: number[] = [];
  for (const s of started) {
    const { outcome, latencies } = await collect(ctx, s, failures);
    outcomes.push(outcome);
    all.push(...latencies);
  }
  if (churn.pending > 0) failures.push(`${churn.pending} reconnected proxies not synced again`);
  const after = await snapshot(ctx.target, pool);
  return {
    ...base(ctx, "churn"),
    ok: failures.length === 0,
    failures,
    usage: usage(before, after),
    latency: dist(all),
    reconnect: dist(churn.durations),
    reconnects: churn.reconnects,
    changes: outcomes,
  };
}
