// --dashboard-browser against a real meshplane (its dashboard, API and xDS port) with the harness's
// own simulated proxies, in Debian's headless Chromium: the page populates, a route weight written
// through the API is timed to the DOM, an endpoint edit is not watched (the page shows no
// addresses), interactions are measured while it runs, and the figures are all there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { repoRoot } from "./args.ts";
import { openDashboardPage, type DashboardPage } from "./dashboard-page.ts";
import { MeshPlan } from "./mesh-plan.ts";
import { startMeshplane, type Target } from "./targets.ts";
import { WorkerPool } from "./workers.ts";

const chromiumPath = "/usr/bin/chromium";

test(
  "the dashboard page in headless Chromium: populated, a weight timed to the DOM, interactions",
  {
    timeout: 120_000,
  },
  async (t) => {
    if (!existsSync(chromiumPath)) {
      const message = `${chromiumPath} is missing (Debian package chromium; .ci/run installs it)`;
      if (process.env.CI) assert.fail(message);
      return t.skip(message);
    }
    const plan = new MeshPlan({
      services: 6,
      namespaces: 1,
      routeShare: 0.34,
      endpointsPerSlice: 1,
      scope: "all",
    });
    const dir = mkdtempSync(join(tmpdir(), "meshplane-bench-page-"));
    const configDir = join(dir, "mesh");
    const stagingDir = join(dir, "staging");
    mkdirSync(stagingDir);
    for (const file of plan.files()) {
      mkdirSync(dirname(join(configDir, file.path)), { recursive: true });
      writeFileSync(join(configDir, file.path), file.text);
    }
    // Stopped in this order, whatever was started.
    const running: { target?: Target; pool?: WorkerPool; page?: DashboardPage } = {};
    t.after(async () => {
      await running.page?.stop().catch(() => undefined);
      await running.pool?.close().catch(() => undefined);
      await running.target?.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    const target = (running.target = await startMeshplane({
      root: repoRoot,
      configDir,
      stagingDir,
      plan,
      write: "api",
      backlog: 128,
      nodeArgs: [],
      extraArgs: [],
      dashboard: true,
    }));
    const pool = (running.pool = await WorkerPool.start(1, []));
    await pool.init(target.xdsAddress, "sotw", plan.options, 3);
    await pool.connect();
    assert.ok(
      await pool.until(
        () => pool.synced() === 3,
        60_000,
        () => false,
      ),
      "3 proxies synced",
    );

    const page = (running.page = await openDashboardPage({
      url: target.dashboardUrl!,
      chromiumPath,
      plan,
      timeoutMs: 30_000,
      log: (line) => t.diagnostic(line),
    }));
    // The interactions took the page first; the watch waits for the first pair to finish.
    const route = { kind: "route", service: 0, generation: 1 } as const;
    const watch = await page.observer.watch(route);
    assert.ok(watch, "a route edit is watched");
    const start = await target.apply(route);
    const ms = await watch.seen(start.at);
    assert.ok(ms !== undefined && ms > 0 && ms < 30_000, `the new weight shown ${ms} ms after the write`);
    assert.equal(await page.observer.watch({ kind: "endpoint", service: 1, generation: 1 }), undefined);

    const figures = await page.stop();
    delete running.page;
    t.diagnostic(JSON.stringify(figures));
    assert.deepEqual(figures.pageErrors, []);
    assert.ok(figures.populatedMs! > 0 && figures.firstContentfulPaintMs! > 0);
    assert.deepEqual([figures.weights.watched, figures.weights.seen, figures.weights.domMs?.max], [1, 1, ms]);
    assert.ok(figures.weights.frameMs!.max >= ms, "the frame after the DOM change ends later");
    assert.ok(figures.interactions.byKind["filter services"]?.count, "the Services filter was measured");
    assert.ok(figures.interactions.byKind["clear the services filter"]?.count);
    assert.equal(figures.interactions.unfinished, 0);
    for (const tally of [figures.longTasks.load, figures.longTasks.steady])
      assert.ok(
        tally.count >= 0 && tally.maxMs <= tally.totalMs + 1e-9 && (tally.count > 0 || tally.totalMs === 0),
      );
    assert.ok(figures.heapUsedMB.max > 0 && figures.heapUsedMB.max >= figures.heapUsedMB.populated);
    assert.ok(figures.domElements > 50 && figures.domNodesMax >= figures.domElements);
    assert.ok(figures.mainThreadShare > 0 && figures.mainThreadShare < 1);
    // At least the snapshot of 6 Services and their objects.
    assert.ok(figures.feedBytes > 2_000, `${figures.feedBytes} feed bytes`);
  },
);
