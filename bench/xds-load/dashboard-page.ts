// `--dashboard-browser`: the web dashboard in a real headless Chromium (Debian's, driven by
// playwright-core) during a run, opened once the proxies are synced. It measures what an
// operator feels: the time to a populated page, each route weight edit from its write to the
// new weight in the page's DOM, main-thread long tasks, interactions (filter, collapse, page)
// from their event to the next frame while the feed updates, the JS heap and DOM size, the
// renderer's main-thread busy share, and the feed's bytes as the page receives them (CDP).
import { chromium, type Browser, type CDPSession, type Page } from "playwright-core";
import type { Change } from "./changes.ts";
import { now } from "./ipc.ts";
import { dist, type Dist } from "./measure.ts";
import type { MeshPlan } from "./mesh-plan.ts";
import {
  installProbe,
  interact,
  interactionKinds,
  probeState,
  watchResult,
  watchText,
  type Interaction,
  type TaskTally,
} from "./page-probes.ts";
import type { ChangeObserver, ChangeWatch } from "./scenarios.ts";

export interface DashboardPageFigures {
  /** From navigation to the end of the run. */
  readonly seconds: number;
  /** ms after navigation start. */
  readonly firstContentfulPaintMs: number | undefined;
  readonly populatedMs: number | undefined;
  /** Route weight edits: write acknowledged (the change's clock) → the new weight in the DOM, and → the frame after. */
  readonly weights: {
    readonly watched: number;
    readonly seen: number;
    readonly domMs: Dist | undefined;
    readonly frameMs: Dist | undefined;
    /** Half the longest round trip used to relate the page's clock to the harness's. */
    readonly clockUncertaintyMs: number;
  };
  readonly longTasks: { readonly load: TaskTally; readonly steady: TaskTally };
  readonly interactions: {
    readonly all: Dist | undefined;
    readonly byKind: Readonly<Record<string, Dist | undefined>>;
    /** Interactions whose result did not show within the time allowed. */
    readonly unfinished: number;
  };
  readonly heapUsedMB: { readonly populated: number; readonly max: number; readonly end: number };
  readonly domElements: number;
  /** DOM nodes (CDP Performance.getMetrics, including text nodes), largest sampled. */
  readonly domNodesMax: number;
  /** Renderer main thread, s per s from populated to the end: all tasks, script, style and layout. */
  readonly mainThreadShare: number;
  readonly scriptShare: number;
  readonly styleShare: number;
  readonly layoutShare: number;
  /**
   * The feed as the page received it (CDP Network.dataReceived on /api/events): in all, and per
   * second from populated to the end (the snapshot excluded).
   */
  readonly feedBytes: number;
  readonly feedBytesPerSecond: number;
  readonly pageErrors: readonly string[];
  readonly error?: string;
}

export interface DashboardPage {
  /** Watches route weight edits on the page (scenarios.ts calls it around each change). */
  readonly observer: ChangeObserver;
  /** Stops the interactions, reads the figures, closes the browser. */
  stop(): Promise<DashboardPageFigures>;
}

export interface DashboardPageOptions {
  readonly url: string;
  readonly chromiumPath: string;
  readonly plan: MeshPlan;
  /** How long a weight edit may take to show, and the page to populate. */
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

// Headless, no sandbox (containers), nothing but the dashboard: no background or component
// traffic, and every host but 127.0.0.1 unresolvable, so only the loopback dashboard is reachable.
const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-domain-reliability",
  "--disable-client-side-phishing-detection",
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
];

/** Pause between two interactions (each is a pair: do, undo). */
const interactionGapMs = 1000;
/** How often the heap and DOM size are sampled. */
const metricsEveryMs = 2000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function cdpMetrics(cdp: CDPSession): Promise<Record<string, number>> {
  const { metrics } = await cdp.send("Performance.getMetrics");
  return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
}

/** Opens the dashboard and resolves once it is populated (or rejects after `timeoutMs`). */
export async function openDashboardPage(options: DashboardPageOptions): Promise<DashboardPage> {
  const browser: Browser = await chromium.launch({
    executablePath: options.chromiumPath,
    headless: true,
    args: chromiumArgs,
  });
  try {
    return await open(browser, options);
  } catch (error) {
    await browser.close().catch(() => undefined);
    throw error;
  }
}

async function open(browser: Browser, options: DashboardPageOptions): Promise<DashboardPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page: Page = await context.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.length < 20 && pageErrors.push(error.message));
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  await cdp.send("Network.enable");
  const feedRequests = new Set<string>();
  let feedBytes = 0;
  cdp.on("Network.requestWillBeSent", (event) => {
    if (new URL(event.request.url).pathname === "/api/events") feedRequests.add(event.requestId);
  });
  cdp.on("Network.dataReceived", (event) => {
    if (feedRequests.has(event.requestId)) feedBytes += event.dataLength;
  });
  await page.addInitScript(installProbe);
  const opened = now();
  await page.goto(options.url);
  await page.waitForFunction(
    () =>
      (globalThis as unknown as { __meshplaneBench?: { populatedMs?: number } }).__meshplaneBench
        ?.populatedMs !== undefined,
    undefined,
    { timeout: options.timeoutMs, polling: 100 },
  );
  const populatedAt = now();
  const feedBytesAtPopulated = feedBytes;
  const atPopulated = await cdpMetrics(cdp);
  let heapMax = atPopulated.JSHeapUsedSize ?? 0;
  let nodesMax = atPopulated.Nodes ?? 0;
  const first = await page.evaluate(probeState);
  options.log(
    `  dashboard page populated ${first.populatedMs?.toFixed(0)} ms after navigation ` +
      `(${first.elements} elements, heap ${((atPopulated.JSHeapUsedSize ?? 0) / 2 ** 20).toFixed(1)} MB)`,
  );

  // The page is used by one caller at a time: an interaction never overlaps a watched edit (a
  // collapsed graph or another page of Services would hide the weight).
  let turn: Promise<void> = Promise.resolve();
  const acquire = async (): Promise<() => void> => {
    const previous = turn;
    let release = () => {};
    turn = new Promise<void>((resolve) => (release = resolve));
    await previous;
    return release;
  };

  let stopping = false;
  const interactions: Interaction[] = [];
  const hot = `${options.plan.namespace(0)}/${options.plan.serviceName(0)}`;
  const interacting = (async () => {
    for (let i = 0; !stopping; i++) {
      const kind = interactionKinds[i % interactionKinds.length]!;
      const release = await acquire();
      try {
        interactions.push(
          ...(await page.evaluate(interact, { kind, avoid: hot, timeoutMs: options.timeoutMs })),
        );
      } finally {
        release();
      }
      await sleep(interactionGapMs);
    }
  })().catch((error: unknown) => {
    if (!stopping) options.log(`  dashboard page: interactions stopped: ${(error as Error).message}`);
  });
  const sampling = (async () => {
    while (!stopping) {
      await sleep(metricsEveryMs);
      const m = await cdpMetrics(cdp);
      heapMax = Math.max(heapMax, m.JSHeapUsedSize ?? 0);
      nodesMax = Math.max(nodesMax, m.Nodes ?? 0);
    }
  })().catch(() => undefined);

  const domMs: number[] = [];
  const frameMs: number[] = [];
  let watched = 0;
  let uncertainty = 0;
  let nextId = 0;
  const observer: ChangeObserver = {
    async watch(change: Change): Promise<ChangeWatch | undefined> {
      if (change.kind !== "route" || stopping) return undefined;
      const { plan } = options;
      const route = `GRPCRoute ${plan.namespace(change.service)}/${plan.serviceName(change.service)}-split`;
      const [, second] = plan.routeBackends(change.service);
      const backend = `${plan.namespace(second)}/${plan.serviceName(second)}`;
      const weight = plan.routeWeights(change.generation)[1];
      const id = ++nextId;
      watched++;
      // Held from before the write until the weight showed (or the watch timed out).
      const release = await acquire();
      let offset: number;
      try {
        const sent = now();
        const pageNow = await page.evaluate(watchText, {
          id,
          selector: `[data-testid=weight][data-route="${route}"][data-backend="${backend}"]`,
          prefix: `${weight} (`,
          timeoutMs: options.timeoutMs,
        });
        const back = now();
        offset = pageNow - (sent + back) / 2;
        uncertainty = Math.max(uncertainty, (back - sent) / 2);
      } catch (error) {
        release();
        options.log(`  dashboard page: cannot watch ${route}: ${(error as Error).message}`);
        return undefined;
      }
      return {
        async seen(at) {
          try {
            const result = await page.evaluate(watchResult, id);
            if (at === undefined || result.domAt === undefined) return undefined;
            const dom = result.domAt - offset - at;
            domMs.push(dom);
            if (result.frameAt !== undefined) frameMs.push(result.frameAt - offset - at);
            return dom;
          } finally {
            release();
          }
        },
      };
    },
  };

  return {
    observer,
    async stop() {
      stopping = true;
      try {
        await Promise.all([interacting, sampling]);
        const end = await cdpMetrics(cdp);
        const last = await page.evaluate(probeState);
        const seconds = (now() - opened) / 1000;
        const steady = (now() - populatedAt) / 1000;
        const share = (name: string) =>
          round(((end[name] ?? 0) - (atPopulated[name] ?? 0)) / Math.max(steady, 0.001), 4);
        const byKind: Record<string, Dist | undefined> = {};
        for (const kind of new Set(interactions.map((i) => i.kind))) {
          byKind[kind] = dist(interactions.filter((i) => i.kind === kind).flatMap((i) => i.ms ?? []));
        }
        return {
          seconds: round(seconds),
          firstContentfulPaintMs: last.fcpMs,
          populatedMs: last.populatedMs,
          weights: {
            watched,
            seen: domMs.length,
            domMs: dist(domMs),
            frameMs: dist(frameMs),
            clockUncertaintyMs: round(uncertainty),
          },
          longTasks: last.longTasks,
          interactions: {
            all: dist(interactions.flatMap((i) => i.ms ?? [])),
            byKind,
            unfinished: interactions.filter((i) => i.ms === undefined).length,
          },
          heapUsedMB: {
            populated: mb(atPopulated.JSHeapUsedSize),
            max: mb(Math.max(heapMax, end.JSHeapUsedSize ?? 0)),
            end: mb(end.JSHeapUsedSize),
          },
          domElements: last.elements,
          domNodesMax: Math.max(nodesMax, end.Nodes ?? 0),
          mainThreadShare: share("TaskDuration"),
          scriptShare: share("ScriptDuration"),
          styleShare: share("RecalcStyleDuration"),
          layoutShare: share("LayoutDuration"),
          feedBytes,
          feedBytesPerSecond: Math.round((feedBytes - feedBytesAtPopulated) / Math.max(steady, 0.001)),
          pageErrors,
        };
      } finally {
        await browser.close().catch(() => undefined);
      }
    },
  };
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const mb = (bytes: number | undefined) => round((bytes ?? 0) / 2 ** 20, 1);

/** One line for the log and the printed summary. */
export function formatPageFigures(f: DashboardPageFigures): string {
  const ms = (v: number | undefined) => (v === undefined ? "–" : `${v.toFixed(0)} ms`);
  const tally = (t: TaskTally) =>
    `${t.count} (total ${t.totalMs.toFixed(0)} ms, max ${t.maxMs.toFixed(0)} ms)`;
  return (
    `dashboard page: populated ${ms(f.populatedMs)} (first paint ${ms(f.firstContentfulPaintMs)}); ` +
    `weight write → DOM p50/max ${ms(f.weights.domMs?.p50)} / ${ms(f.weights.domMs?.max)} ` +
    `(${f.weights.seen} of ${f.weights.watched} seen, clock ±${f.weights.clockUncertaintyMs} ms); ` +
    `long tasks: load ${tally(f.longTasks.load)}, after ${tally(f.longTasks.steady)}; ` +
    `interactions p50/max ${ms(f.interactions.all?.p50)} / ${ms(f.interactions.all?.max)} ` +
    `(n=${f.interactions.all?.count ?? 0}, ${f.interactions.unfinished} unfinished); ` +
    `heap ${f.heapUsedMB.populated}/${f.heapUsedMB.max} MB (populated/max), ${f.domElements} elements, ` +
    `${f.domNodesMax} nodes max; main thread ${(f.mainThreadShare * 100).toFixed(1)} % ` +
    `(script ${(f.scriptShare * 100).toFixed(1)} %, style ${(f.styleShare * 100).toFixed(1)} %, ` +
    `layout ${(f.layoutShare * 100).toFixed(1)} %); feed after populated ${(f.feedBytesPerSecond / 1024).toFixed(1)} KiB/s` +
    (f.pageErrors.length ? `; page errors: ${f.pageErrors.join(" | ")}` : "") +
    (f.error ? `; error: ${f.error}` : "")
  );
}
