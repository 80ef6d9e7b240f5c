// Command-line flags of the xDS load harness.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { allScenarios, type ScenarioName } from "./scenarios.ts";
import type { WriteMode } from "./targets.ts";

export const repoRoot = join(import.meta.dirname, "..", "..");

export interface Settings {
  readonly proxies: number;
  readonly services: number;
  readonly clients: number;
  readonly protocol: "sotw" | "delta" | "both";
  readonly scope: number | "all";
  readonly scenarios: readonly ScenarioName[];
  readonly ceiling: "on" | "off" | "only";
  readonly write: WriteMode;
  readonly xdsBacklog: number;
  readonly scopedShare: number;
  readonly out: string;
  readonly namespaces: number;
  readonly routeShare: number;
  readonly endpoints: number;
  readonly changes: number;
  readonly churnSeconds: number;
  readonly churnFraction: number;
  readonly connectTimeoutS: number;
  readonly connectWindow: number;
  readonly changeTimeoutS: number;
  readonly meshplaneRoot: string;
  readonly meshplaneNodeArgs: readonly string[];
  readonly meshplaneArgs: readonly string[];
  readonly ceilingNodeArgs: readonly string[];
  readonly workerNodeArgs: readonly string[];
  /** Serve meshplane's web dashboard and hold its live feed open for the run (--dashboard). */
  readonly dashboard: boolean;
  /** Also open the dashboard in headless Chromium once the proxies are synced (--dashboard-browser). */
  readonly dashboardBrowser: boolean;
  readonly chromium: string;
}

export const usageText = `npm run bench -- [flags]      (node bench/xds-load/run.ts)

  --proxies N             simulated proxies, each with its own channel and ADS stream (200)
  --services S            Services in the generated mesh (50)
  --clients K             worker processes the proxies are spread over (4)
  --protocol P            sotw | delta | both (both; delta is skipped where the server lacks it)
  --scope all|N           Services each proxy calls: N (always including the hot svc-0000) or all (10)
  --scenarios LIST        connect,endpoint,route,scoped,churn (all; connect always runs first)
  --ceiling on|off|only   also run every scenario against the bare transport ceiling (on)
  --write api|dir         how meshplane gets a change: server-side apply through its API, timed
                          from the write's acknowledgement, or a file renamed into its config
                          directory, timed from the rename (api)
  --xds-backlog N         accept backlog of both servers' xDS port (4096; the kernel caps it at
                          net.core.somaxconn)
  --scoped-share F        scoped: share of proxies holding the edited Service (0.01)
  --out FILE              JSON results (bench/results/xds-load-<timestamp>.json)
  --namespaces N          namespaces the Services are spread over (10)
  --route-share F         share of Services with a weighted GRPCRoute (0.2)
  --endpoints N           endpoints per EndpointSlice (3)
  --changes N             edits per endpoint/route scenario (3)
  --churn-seconds S       length of the churn period, one endpoint edit per second (20)
  --churn-fraction F      share of proxies reconnected over the churn period (0.2)
  --connect-timeout S     seconds for all proxies to sync (600)
  --connect-window N      at most N proxies connecting but not yet synced; 0 = all at once (0)
  --change-timeout S      seconds for every holder to get a change (60)
  --dashboard             serve meshplane's web dashboard and hold one page's live feed open for
                          the whole run: feed bytes/s, frames, update build time and its CPU share
  --dashboard-browser     --dashboard, and once the proxies are synced the page itself in headless
                          Chromium: time to a populated page, route edit write → weight in the DOM,
                          long tasks, interaction latency, JS heap, DOM size, feed bytes/s received
  --chromium PATH         the Chromium --dashboard-browser runs (/usr/bin/chromium, Debian's)
  --meshplane-root DIR    checkout whose src/cli/main.ts is run (this repository)
  --meshplane-args="..."  extra \`meshplane serve\` flags, e.g. --meshplane-args="--debounce-ms 50"
  --meshplane-node-args="..."  Node flags for meshplane (also MESHPLANE_NODE_ARGS), e.g.
                          --meshplane-node-args="--cpu-prof --cpu-prof-dir=bench/results/prof"
  --ceiling-node-args="..." / --worker-node-args="..."   the same for the ceiling and the workers
  (values that start with "-" need the --flag=value form)
`;

function words(value: string | undefined): string[] {
  return (value ?? "").split(/\s+/).filter(Boolean);
}

function positive(name: string, value: string | undefined, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`--${name} expects a positive ${integer ? "integer" : "number"}, got "${value}"`);
  }
  return n;
}

export function parseSettings(argv: readonly string[]): Settings | "help" {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      help: { type: "boolean", short: "h" },
      dashboard: { type: "boolean" },
      "dashboard-browser": { type: "boolean" },
      chromium: { type: "string" },
      proxies: { type: "string" },
      services: { type: "string" },
      clients: { type: "string" },
      protocol: { type: "string" },
      scope: { type: "string" },
      scenarios: { type: "string" },
      ceiling: { type: "string" },
      write: { type: "string" },
      "xds-backlog": { type: "string" },
      "scoped-share": { type: "string" },
      out: { type: "string" },
      namespaces: { type: "string" },
      "route-share": { type: "string" },
      endpoints: { type: "string" },
      changes: { type: "string" },
      "churn-seconds": { type: "string" },
      "churn-fraction": { type: "string" },
      "connect-timeout": { type: "string" },
      "connect-window": { type: "string" },
      "change-timeout": { type: "string" },
      "meshplane-root": { type: "string" },
      "meshplane-args": { type: "string" },
      "meshplane-node-args": { type: "string" },
      "ceiling-node-args": { type: "string" },
      "worker-node-args": { type: "string" },
    },
    strict: true,
  });
  if (values.help) return "help";
  const protocol = values.protocol ?? "both";
  if (protocol !== "sotw" && protocol !== "delta" && protocol !== "both") {
    throw new Error(`--protocol expects sotw, delta or both, got "${protocol}"`);
  }
  const scope = values.scope === "all" ? "all" : positive("scope", values.scope, 10);
  const scenarios = (values.scenarios ?? allScenarios.join(",")).split(",").map((s) => s.trim());
  for (const s of scenarios) {
    if (!allScenarios.includes(s as ScenarioName))
      throw new Error(`unknown scenario "${s}" (${allScenarios.join(", ")})`);
  }
  const ceiling = values.ceiling ?? "on";
  if (ceiling !== "on" && ceiling !== "off" && ceiling !== "only") {
    throw new Error(`--ceiling expects on, off or only, got "${ceiling}"`);
  }
  const write = values.write ?? "api";
  if (write !== "api" && write !== "dir") throw new Error(`--write expects api or dir, got "${write}"`);
  const scopedShare = positive("scoped-share", values["scoped-share"], 0.01, false);
  if (scopedShare >= 1) throw new Error("--scoped-share expects a share below 1");
  const routeShare = values["route-share"] === undefined ? 0.2 : Number(values["route-share"]);
  if (!(routeShare >= 0 && routeShare <= 0.34)) throw new Error("--route-share expects 0..0.34");
  const churnFraction = positive("churn-fraction", values["churn-fraction"], 0.2, false);
  const chromium = values.chromium ?? "/usr/bin/chromium";
  if (values["dashboard-browser"] && !existsSync(chromium)) {
    throw new Error(
      `--dashboard-browser runs ${chromium}, which is missing: apt-get install chromium, or --chromium PATH`,
    );
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return {
    proxies: positive("proxies", values.proxies, 200),
    services: Math.max(3, positive("services", values.services, 50)),
    clients: positive("clients", values.clients, 4),
    protocol,
    scope,
    scenarios: scenarios as ScenarioName[],
    ceiling,
    write,
    xdsBacklog: positive("xds-backlog", values["xds-backlog"], 4096),
    scopedShare,
    out: values.out ?? join(repoRoot, "bench", "results", `xds-load-${stamp}.json`),
    namespaces: positive("namespaces", values.namespaces, 10),
    routeShare,
    endpoints: positive("endpoints", values.endpoints, 3),
    changes: positive("changes", values.changes, 3),
    churnSeconds: Math.min(600, positive("churn-seconds", values["churn-seconds"], 20)),
    churnFraction: Math.min(1, churnFraction),
    connectTimeoutS: positive("connect-timeout", values["connect-timeout"], 600),
    connectWindow:
      values["connect-window"] === undefined ? 0 : Math.floor(Number(values["connect-window"])) || 0,
    changeTimeoutS: positive("change-timeout", values["change-timeout"], 60),
    meshplaneRoot: values["meshplane-root"] ?? repoRoot,
    meshplaneNodeArgs: words(values["meshplane-node-args"] ?? process.env.MESHPLANE_NODE_ARGS),
    meshplaneArgs: words(values["meshplane-args"]),
    ceilingNodeArgs: words(values["ceiling-node-args"]),
    workerNodeArgs: words(values["worker-node-args"]),
    dashboard: (values.dashboard ?? false) || (values["dashboard-browser"] ?? false),
    dashboardBrowser: values["dashboard-browser"] ?? false,
    chromium,
  };
}
