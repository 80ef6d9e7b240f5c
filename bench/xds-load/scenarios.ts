// The five scenarios, each run against one server (meshplane or the ceiling) with one protocol.
// Times are wall-clock ms (performance.timeOrigin + performance.now()) taken in whichever process
// sees the event: the harness for a change's start (targets.ts clockStarts says which moment),
// the worker for a proxy's ACK.
import { affectedProxies, scopedService, watchSpec, type Change, type ChangeKind } from "./changes.ts";
import type { Protocol } from "./ipc.ts";
import { now } from "./ipc.ts";
import { dist, snapshot, usage, type Dist, type Usage } from "./measure.ts";
import type { MeshPlan } from "./mesh-plan.ts";
import { metricSum } from "./procstat.ts";
import { clockStarts, type ChangeStart, type Target, type TargetName } from "./targets.ts";
import type { WorkerPool } from "./workers.ts";

export type ScenarioName = "connect" | "endpoint" | "route" | "scoped" | "churn";
export const allScenarios: readonly ScenarioName[] = ["connect", "endpoint", "route", "scoped", "churn"];
export type ChangeScenario = "endpoint" | "route" | "scoped";

export interface ChangeOutcome {
  readonly file: string;
  readonly expected: number;
  readonly holders: number;
  readonly seen: number;
  readonly latency: Dist | undefined;
  /** Proxies that received any response between the change and the end of its window. */
  readonly responded?: number;
  /** The change's window: from its clock's start to `settleMs` after the last holder's ACK. */
  readonly windowMs?: number;
  /** Server CPU over the window, and that minus the idle rate times the window ("push CPU"). */
  readonly serverCpuS?: number;
  readonly pushCpuS?: number;
  /** --write api: request sent → write acknowledged, ms (before the clock starts). */
  readonly writeMs?: number;
  /** --dashboard-browser, route edits: the clock's start → the new weight in the page's DOM, ms. */
  readonly pageMs?: number;
}

/** Something else that shows a change (the dashboard page), timed from the same clock start. */
export interface ChangeObserver {
  /** Before the write: resolves once it watches for `change`, or undefined if it cannot show it. */
  watch(change: Change): Promise<ChangeWatch | undefined>;
}

export interface ChangeWatch {
  /**
   * The change's clock started at `at` (wall-clock ms; undefined: the write failed): resolves
   * with ms from then until it showed, or undefined if it did not in time. Called once.
   */
  seen(at: number | undefined): Promise<number | undefined>;
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
  /** Change scenarios: what each change's clock starts at (targets.ts clockStarts). */
  readonly clock?: string;
  /** Change scenarios: the server's CPU rate with nothing changing, s per s, measured before. */
  readonly idleCpuPerS?: number;
  /** connect: the accept-queue length the kernel applied to the server's xDS port. */
  readonly backlog?: number;
  /** scoped: the edited Service and the share of proxies holding its EDS. */
  readonly service?: string;
  readonly holderShare?: number;
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
    /** scoped: the share of proxies the edited Service should be held by. */
    readonly scopedShare: number;
    readonly churnSeconds: number;
    readonly churnFraction: number;
  };
  readonly aborted: () => boolean;
  readonly log: (line: string) => void;
  readonly observer?: ChangeObserver;
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
    ...(ctx.target.backlog === undefined ? {} : { backlog: ctx.target.backlog }),
  };
}

/** Starts one change and its watch; the returned promise resolves when every holder has it or time is up. */
async function change(ctx: ScenarioContext, clock: ChangeClock, kind: ChangeKind, service: number) {
  const edit = clock.next(kind, service);
  const id = clock.id();
  const expected = affectedProxies(ctx.plan, edit, ctx.proxies);
  const holders = await ctx.pool.watch(watchSpec(ctx.plan, edit, id));
  const watch = await ctx.observer?.watch(edit);
  let start: ChangeStart;
  try {
    start = await ctx.target.apply(edit);
  } catch (error) {
    await watch?.seen(undefined);
    throw error;
  }
  const observed = watch?.seen(start.at);
  const file = kind === "endpoint" ? ctx.plan.endpointFile(service) : ctx.plan.routeFile(service);
  return { id, t0: start.at, start, expected, holders, file, observed };
}

type Started = Awaited<ReturnType<typeof change>>;

async function collect(ctx: ScenarioContext, started: Started, failures: string[]) {
  const report = await ctx.pool.collectWatch(started.id);
  const latencies = report.times.map((t) => t - started.t0);
  const { expected, holders, file } = started;
  if (holders !== expected)
    failures.push(`${file}: ${holders} proxies held the resource, the plan says ${expected}`);
  if (latencies.length < holders) {
    failures.push(`${file}: ${holders - latencies.length} of ${holders} proxies did not get the change`);
  }
  let outcome: ChangeOutcome = {
    file,
    expected,
    holders,
    seen: latencies.length,
    latency: dist(latencies),
    responded: report.responded,
    ...(started.start.writeMs === undefined ? {} : { writeMs: started.start.writeMs }),
  };
  const pageMs = await started.observed;
  if (pageMs !== undefined) outcome = { ...outcome, pageMs };
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

/**
 * After the last holder's ACK, how long the change's CPU window stays open: the server may still
 * be visiting streams that do not hold the resource, and its status report ticks every second.
 */
const settleMs = 1000;
/** How long the server's idle CPU rate is measured before a change scenario. */
const idleMs = 3000;

/** The server's CPU rate (s per s) over `idleMs` with nothing changing. */
async function idleCpuRate(target: Target): Promise<number> {
  const before = target.sample().cpuSeconds;
  const t0 = now();
  await sleep(idleMs);
  return (target.sample().cpuSeconds - before) / ((now() - t0) / 1000);
}

/**
 * endpoint: an EndpointSlice edit of svc-0001, a backend of the hot route (every proxy holds its
 * EDS); route: a weight edit of svc-0000's GRPCRoute (every proxy holds its RDS); scoped: an
 * EndpointSlice edit of the Service closest to `scopedShare` of the proxies.
 */
export async function runChange(
  ctx: ScenarioContext,
  clock: ChangeClock,
  scenario: ChangeScenario,
): Promise<ScenarioResult> {
  const kind: ChangeKind = scenario === "route" ? "route" : "endpoint";
  const scoped =
    scenario === "scoped" ? scopedService(ctx.plan, ctx.proxies, ctx.settings.scopedShare) : undefined;
  const service = scoped?.service ?? (kind === "endpoint" ? 1 : 0);
  if (scoped) {
    ctx.log(
      `  ${ctx.plan.serviceName(service)}: held by ${scoped.holders} of ${ctx.proxies} proxies (${((100 * scoped.holders) / ctx.proxies).toFixed(2)} %)`,
    );
  }
  const before = await snapshot(ctx.target, ctx.pool);
  const idle = await idleCpuRate(ctx.target);
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
    await sleep(settleMs);
    const windowMs = now() - started.t0;
    const serverCpuS = ctx.target.sample().cpuSeconds - started.start.cpuSeconds;
    const pushCpuS = Math.max(0, serverCpuS - (idle * windowMs) / 1000);
    const collected = await collect(ctx, started, failures);
    const outcome = { ...collected.outcome, windowMs, serverCpuS, pushCpuS };
    outcomes.push(outcome);
    all.push(...collected.latencies);
    ctx.log(
      `  change ${c + 1}: ${outcome.seen}/${outcome.holders} proxies, p99 ${outcome.latency?.p99.toFixed(0)} ms, ` +
        `${outcome.responded} got a response, push CPU ${pushCpuS.toFixed(3)} s, ` +
        (outcome.pageMs === undefined
          ? ""
          : `on the dashboard page after ${outcome.pageMs.toFixed(0)} ms, `) +
        (await memoryLine(ctx.target)),
    );
    await sleep(500);
  }
  const after = await snapshot(ctx.target, ctx.pool);
  return {
    ...base(ctx, scenario),
    ok: failures.length === 0,
    failures,
    usage: usage(before, after),
    latency: dist(all),
    changes: outcomes,
    clock: clockStarts[ctx.target.clock],
    idleCpuPerS: idle,
    ...(scoped ? { service: ctx.plan.serviceName(service), holderShare: scoped.holders / ctx.proxies } : {}),
  };
}

/** Mean push CPU per change (window CPU less the idle rate), or undefined without windows. */
export function pushCpuPerChange(result: ScenarioResult): number | undefined {
  const windows = (result.changes ?? []).flatMap((c) => (c.pushCpuS === undefined ? [] : [c.pushCpuS]));
  return windows.length ? windows.reduce((s, v) => s + v, 0) / windows.length : undefined;
}

export async function runChurn(ctx: ScenarioContext, clock: ChangeClock): Promise<ScenarioResult> {
  const { plan, pool, settings } = ctx;
  const perSecond = Math.max(1, Math.round((ctx.proxies * settings.churnFraction) / settings.churnSeconds));
  // Endpoint edits rotate over services that callers dial directly (no route), away from the hot ones.
  const candidates: number[] = [];
  for (let i = 3; i < plan.services; i++) if (!plan.hasRoute(i)) candidates.push(i);
  const before = await snapshot(ctx.target, pool);
  const started: Started[] = [];
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
