// The control plane under test, run as a real process from source: `meshplane serve` on port 0,
// and one-shot CLI commands such as `meshplane bootstrap`.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseJsonLine, spawnChild, type JsonLine } from "../../../examples/quickstart/lib/child.ts";
import { cliPath, repoRoot } from "./paths.ts";

export interface MeshplaneOptions {
  /** The `--config-dir`; without it the store is written only through the API. */
  configDir?: string;
  /** Extra `serve` flags; `--xds-address`/`--admin-address` here replace the port-0 defaults. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the "meshplane ready" line. */
  readyTimeoutMs?: number;
}

export interface Meshplane {
  readonly xdsAddress: string;
  readonly adminAddress: string;
  /** The API's kubeconfig, when the API runs (KUBECONFIG for kubectl). */
  readonly kubeconfig: string | undefined;
  /** The API's base URL, when the API runs (`http://127.0.0.1:PORT`). */
  readonly apiUrl: string | undefined;
  readonly pid: number | undefined;
  /** stdout lines that are JSON (pino), oldest first. */
  logs(): JsonLine[];
  /** Raw stdout and stderr tail, for assertion messages. */
  tail(lines?: number): string;
  /** Waits for a log line matching `predicate` (already logged or future). */
  waitForLog(predicate: (line: JsonLine) => boolean, timeoutMs?: number, what?: string): Promise<JsonLine>;
  /** kill -9 (a crashed replica: no shutdown at all); resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM, SIGKILL after 5 s; resolves with the exit code (null when killed by a signal). */
  stop(): Promise<number | null>;
}

export async function startMeshplane(options: MeshplaneOptions): Promise<Meshplane> {
  const extra = options.args ?? [];
  const has = (flag: string) => extra.some((arg) => arg === flag || arg.startsWith(`${flag}=`));
  const args = [cliPath, "serve", ...(options.configDir ? ["--config-dir", options.configDir] : [])];
  // Each instance gets its own state (sqlite store, kubeconfig) unless the test chooses a directory.
  const dataDir = has("--data-dir") ? undefined : await mkdtemp(join(tmpdir(), "meshplane-e2e-data-"));
  if (dataDir) args.push("--data-dir", dataDir);
  if (!has("--xds-address")) args.push("--xds-address", "127.0.0.1:0");
  if (!has("--admin-address")) args.push("--admin-address", "127.0.0.1:0");
  if (!has("--api-address")) args.push("--api-address", "127.0.0.1:0");
  args.push(...extra);
  const child = spawnChild("meshplane", args, { cwd: repoRoot, env: options.env ?? process.env });
  let ready: JsonLine;
  try {
    ready = await child.waitForJson(
      (line) => line.msg === "meshplane ready",
      options.readyTimeoutMs ?? 10_000,
      'the "meshplane ready" log line',
    );
  } catch (error) {
    await child.stop(2_000);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const { xdsAddress, adminAddress } = ready;
  if (typeof xdsAddress !== "string" || typeof adminAddress !== "string") {
    await child.stop(2_000);
    throw new Error(`"meshplane ready" line lacks string xdsAddress/adminAddress: ${JSON.stringify(ready)}`);
  }
  return {
    xdsAddress,
    adminAddress,
    kubeconfig: typeof ready.kubeconfig === "string" ? ready.kubeconfig : undefined,
    apiUrl: typeof ready.apiUrl === "string" ? ready.apiUrl : undefined,
    pid: child.pid,
    logs: () => child.jsonLines(),
    tail: (lines) => child.tail(lines),
    waitForLog: (predicate, timeoutMs = 10_000, what = "a matching log line") =>
      child.waitForJson(predicate, timeoutMs, what),
    kill: async () => {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await child.exited;
    },
    stop: async () => {
      const code = await child.stop(5_000);
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The JSON lines (pino logs) of a captured stdout, e.g. `CliRun.stdout`. */
export function parseJsonLines(text: string): JsonLine[] {
  return text
    .split("\n")
    .map(parseJsonLine)
    .filter((json): json is JsonLine => json !== undefined);
}

/** Runs `meshplane <args>` to completion (bounded by `timeoutMs`). Never throws on a non-zero exit. */
export function runCli(
  args: readonly string[],
  timeoutMs = 15_000,
  env?: NodeJS.ProcessEnv,
): Promise<CliRun> {
  const childEnv = { ...(env ?? process.env) };
  delete childEnv.NODE_TEST_CONTEXT; // see spawnChild
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliPath, ...args],
      {
        cwd: repoRoot,
        env: childEnv,
        timeout: timeoutMs,
        killSignal: "SIGKILL",
        maxBuffer: 16 << 20,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface BootstrapOptions {
  xdsAddress: string;
  nodeId: string;
  namespace: string;
  labels?: Record<string, string>;
  /** Where to write it; without it the JSON is returned from stdout. */
  output?: string;
  /** `--cert-dir`: the file_watcher certificate provider over the agent's files (gRFC A29). */
  certDir?: string;
}

/** `meshplane bootstrap ...`; returns the bootstrap JSON (read back from `output` if given). */
export async function cliBootstrap(options: BootstrapOptions): Promise<Record<string, unknown>> {
  const args = ["bootstrap", "--xds-address", options.xdsAddress, "--node-id", options.nodeId];
  args.push("--namespace", options.namespace);
  for (const [key, value] of Object.entries(options.labels ?? {})) args.push("--label", `${key}=${value}`);
  if (options.output) args.push("--output", options.output);
  if (options.certDir) args.push("--cert-dir", options.certDir, "--cert-refresh", "1");
  const run = await runCli(args);
  if (run.code !== 0) {
    throw new Error(
      `meshplane ${args.join(" ")} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`,
    );
  }
  const text = options.output ? await readFile(options.output, "utf8") : run.stdout;
  return JSON.parse(text) as Record<string, unknown>;
}
