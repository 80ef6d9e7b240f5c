// xDS at scale: N simulated proxyless gRPC clients (each with its own channel and ADS stream, spread
// over K worker processes) against meshplane on a generated mesh of S services, and against a bare
// transport ceiling that serves the same bytes with no control-plane logic, in the same run.
// Scenarios: connect storm, endpoint change, route change, a change held by 1 % of the proxies,
// churn. See BENCHMARKS.md, "xDS at scale".
//
//   npm run bench -- --proxies 10000 --services 1000 [--help for the other flags]
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { parseSettings, usageText, type Settings } from "./args.ts";
import {
  formatDashboardFigures,
  openDashboardFeed,
  type DashboardFeedFigures,
  type DashboardFeedReader,
} from "./dashboard-feed.ts";
import {
  formatPageFigures,
  openDashboardPage,
  type DashboardPage,
  type DashboardPageFigures,
} from "./dashboard-page.ts";
import type { Protocol } from "./ipc.ts";
import { MeshPlan } from "./mesh-plan.ts";
import { stopAll } from "./procs.ts";
import { formatTable } from "./report.ts";
import {
  ChangeClock,
  runChange,
  runChurn,
  runConnect,
  type ScenarioContext,
  type ScenarioResult,
} from "./scenarios.ts";
import { readSomaxconn } from "../../src/xds/accept-listener.ts";
import {
  clockStarts,
  startCeiling,
  startMeshplane,
  supportsDelta,
  type Target,
  type TargetName,
} from "./targets.ts";
import { WorkerPool } from "./workers.ts";

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

let settings: Settings;
try {
  const parsed = parseSettings(process.argv.slice(2));
  if (parsed === "help") {
    console.log(usageText);
    process.exit(0);
  }
  settings = parsed;
} catch (error) {
  console.error(`${(error as Error).message}\n\n${usageText}`);
  process.exit(2);
}

let aborted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (aborted) {
      // Second signal: children are SIGKILLed by the exit hook in procs.ts.
      process.exit(130);
    }
    aborted = true;
    log(`${signal}: stopping after the current step (again to force)`);
  });
}

const plan = new MeshPlan({
  services: settings.services,
  namespaces: settings.namespaces,
  routeShare: settings.routeShare,
  endpointsPerSlice: settings.endpoints,
  scope: settings.scope,
});
const runDir = mkdtempSync(join(tmpdir(), "meshplane-xds-load-"));
const configDir = join(runDir, "mesh");
const stagingDir = join(runDir, "staging");

function writeConfigDir(): number {
  rmSync(configDir, { recursive: true, force: true });
  mkdirSync(stagingDir, { recursive: true });
  let files = 0;
  for (const file of plan.files()) {
    const path = join(configDir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.text);
    files++;
  }
  return files;
}

function gitDescribe(root: string): string {
  try {
    const head = execFileSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], {
      encoding: "utf8",
    }).trim();
    const dirty = execFileSync("git", ["-C", root, "status", "--porcelain", "--", "src", "dashboard/src"], {
      encoding: "utf8",
    }).trim();
    return dirty ? `${head}+uncommitted src or dashboard changes` : head;
  } catch {
    return "not a git checkout";
  }
}

const conditions = {
  date: new Date().toISOString(),
  proxies: settings.proxies,
  services: settings.services,
  clients: settings.clients,
  connectWindow: settings.connectWindow,
  scope: settings.scope,
  protocol: settings.protocol,
  scenarios: settings.scenarios,
  ceiling: settings.ceiling,
  write: settings.write,
  xdsBacklog: settings.xdsBacklog,
  scopedShare: settings.scopedShare,
  somaxconn: readSomaxconn(),
  namespaces: new Set(Array.from({ length: plan.services }, (_, i) => plan.namespace(i))).size,
  routedServices: Array.from({ length: plan.services }, (_, i) => i).filter((i) => plan.hasRoute(i)).length,
  endpointsPerSlice: settings.endpoints,
  changesPerScenario: settings.changes,
  churn: { seconds: settings.churnSeconds, fraction: settings.churnFraction },
  node: process.version,
  nproc: availableParallelism(),
  cpu: cpus()[0]?.model ?? "unknown",
  memGiB: Math.round(totalmem() / 2 ** 30),
  loadavgBefore: loadavg(),
  meshplaneRoot: settings.meshplaneRoot,
  meshplaneVersion: gitDescribe(settings.meshplaneRoot),
  meshplaneArgs: settings.meshplaneArgs,
  meshplaneNodeArgs: settings.meshplaneNodeArgs,
  dashboard: settings.dashboard,
  dashboardBrowser: settings.dashboardBrowser,
  configFiles: 0,
};

const results: ScenarioResult[] = [];
const skipped: string[] = [];
const errors: string[] = [];
const dashboardFeeds: (DashboardFeedFigures & { protocol: Protocol })[] = [];
const dashboardPages: (DashboardPageFigures & { protocol: Protocol })[] = [];

async function runTarget(protocol: Protocol, name: TargetName): Promise<void> {
  log(
    `== ${protocol} × ${name}: ${settings.proxies} proxies, ${settings.services} services, scope ${settings.scope}`,
  );
  let target: Target | undefined;
  let pool: WorkerPool | undefined;
  let feed: DashboardFeedReader | undefined;
  let page: DashboardPage | undefined;
  try {
    if (name === "meshplane") {
      conditions.configFiles = writeConfigDir();
      target = await startMeshplane({
        root: settings.meshplaneRoot,
        configDir,
        stagingDir,
        plan,
        write: settings.write,
        backlog: settings.xdsBacklog,
        nodeArgs: settings.meshplaneNodeArgs,
        extraArgs: settings.meshplaneArgs,
        dashboard: settings.dashboard,
      });
      // Opened before the proxies connect, so the connect storm is in the figures too.
      if (target.dashboardUrl) feed = openDashboardFeed(target.dashboardUrl, await target.metrics());
    } else {
      target = await startCeiling(plan, settings.xdsBacklog, settings.ceilingNodeArgs);
    }
    log(
      `  ${name} ready on ${target.xdsAddress} (pid ${target.pid}, RSS ${(target.sample().rssBytes / 2 ** 20).toFixed(0)} MB, ` +
        `accept backlog ${target.backlog ?? "unknown"}, changes timed from: ${clockStarts[target.clock]})`,
    );
    if (protocol === "delta" && !(await supportsDelta(target.xdsAddress))) {
      skipped.push(`delta × ${name}: the server answers DeltaAggregatedResources with UNIMPLEMENTED`);
      log(`  skipped: ${name} has no delta ADS`);
      return;
    }
    pool = await WorkerPool.start(settings.clients, settings.workerNodeArgs);
    await pool.init(target.xdsAddress, protocol, plan.options, settings.proxies);
    let ctx: ScenarioContext = {
      plan,
      proxies: settings.proxies,
      protocol,
      target,
      pool,
      settings: {
        connectTimeoutMs: settings.connectTimeoutS * 1000,
        connectWindow: settings.connectWindow,
        changeTimeoutMs: settings.changeTimeoutS * 1000,
        changes: settings.changes,
        scopedShare: settings.scopedShare,
        churnSeconds: settings.churnSeconds,
        churnFraction: settings.churnFraction,
      },
      aborted: () => aborted || !target?.alive(),
      log,
    };
    const clock = new ChangeClock();
    // Every other scenario needs connected proxies, so the connect storm always runs first.
    const connect = await runConnect(ctx);
    results.push(connect);
    log(
      `  connect: ${connect.ok ? `all synced in ${((connect.timeToAllSyncedMs ?? 0) / 1000).toFixed(2)} s` : connect.failures.join("; ")}`,
    );
    if (settings.dashboardBrowser && target.dashboardUrl && connect.ok && !aborted) {
      log(`  opening the dashboard in headless Chromium (${settings.chromium})`);
      page = await openDashboardPage({
        url: target.dashboardUrl,
        chromiumPath: settings.chromium,
        plan,
        timeoutMs: settings.changeTimeoutS * 1000,
        log,
      });
      ctx = { ...ctx, observer: page.observer };
    }
    for (const scenario of settings.scenarios) {
      if (aborted || !target.alive()) break;
      if (scenario === "connect") continue;
      log(`  ${scenario}`);
      const result =
        scenario === "churn" ? await runChurn(ctx, clock) : await runChange(ctx, clock, scenario);
      results.push(result);
      if (!result.ok) log(`  ${scenario} failed: ${result.failures.join("; ")}`);
    }
    if (!target.alive()) throw new Error(`${name} died during the run\n${target.tail()}`);
    if (page) {
      const figures = await page.stop();
      page = undefined;
      dashboardPages.push({ protocol, ...figures });
      log(`  ${formatPageFigures(figures)}`);
    }
    if (feed) {
      const figures = await feed.stop(await target.metrics());
      feed = undefined;
      dashboardFeeds.push({ protocol, ...figures });
      log(`  ${formatDashboardFigures(figures)}`);
    }
  } catch (error) {
    const message = `${protocol} × ${name}: ${(error as Error).stack ?? String(error)}`;
    errors.push(message);
    log(`  ERROR ${message}`);
  } finally {
    await page?.stop().catch(() => undefined);
    await feed?.stop(undefined).catch(() => undefined);
    await pool?.close().catch(() => undefined);
    await target?.stop().catch(() => undefined);
  }
}

try {
  const protocols: Protocol[] = settings.protocol === "both" ? ["sotw", "delta"] : [settings.protocol];
  const names: TargetName[] =
    settings.ceiling === "on"
      ? ["meshplane", "ceiling"]
      : settings.ceiling === "only"
        ? ["ceiling"]
        : ["meshplane"];
  for (const protocol of protocols) {
    for (const name of names) {
      if (aborted) break;
      await runTarget(protocol, name);
    }
  }
} finally {
  await stopAll();
  rmSync(runDir, { recursive: true, force: true });
}

const output = {
  conditions: { ...conditions, loadavgAfter: loadavg() },
  results,
  ...(settings.dashboard ? { dashboard: dashboardFeeds } : {}),
  ...(settings.dashboardBrowser ? { dashboardBrowser: dashboardPages } : {}),
  skipped,
  errors,
  ...(aborted ? { aborted: true } : {}),
};
mkdirSync(dirname(settings.out), { recursive: true });
writeFileSync(settings.out, `${JSON.stringify(output, null, 2)}\n`);

console.log("");
console.log(
  `xDS at scale: ${settings.proxies} proxies × ${settings.services} services, scope ${settings.scope}, ` +
    `${settings.clients} workers, node ${process.version}, nproc ${conditions.nproc}, ` +
    `load ${conditions.loadavgBefore.map((l) => l.toFixed(1)).join("/")} → ${loadavg()
      .map((l) => l.toFixed(1))
      .join("/")}`,
);
for (const protocol of ["sotw", "delta"] as const) {
  const rows = results.filter((r) => r.protocol === protocol);
  if (rows.length === 0) continue;
  console.log(`\n${protocol}\n`);
  console.log(formatTable(rows));
}
for (const figures of dashboardFeeds) console.log(`\n${figures.protocol} ${formatDashboardFigures(figures)}`);
for (const figures of dashboardPages) console.log(`\n${figures.protocol} ${formatPageFigures(figures)}`);
for (const line of skipped) console.log(`\nskipped: ${line}`);
for (const line of errors) console.log(`\nerror: ${line}`);
console.log(`\nresults: ${settings.out}`);
process.exit(errors.length > 0 || aborted ? 1 : 0);
