// A real Prometheus server (Debian package `prometheus`) for tests: scrapes the given targets on
// 127.0.0.1 every second, keeps its data in a temporary directory, and can be stopped and started
// again on the same port and data (an outage). Locally a missing binary skips; under CI it fails.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { freePorts } from "./etcd.ts";
import { onPath } from "./promtool.ts";

export const prometheusHint = "prometheus not installed: apt-get install -y prometheus";

/** Whether prometheus can run; under CI its absence fails instead. */
export function havePrometheus(): boolean {
  if (onPath("prometheus")) return true;
  if (process.env.CI) assert.fail(`prometheus not on PATH: ${prometheusHint}`);
  return false;
}

export interface PrometheusServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Starts the process (again, after stop) and waits until it is ready. */
  start(): Promise<void>;
  /** SIGTERM (SIGKILL after 5 s); resolves once it exited. */
  stop(): Promise<void>;
  /** One instant query's value, or undefined when it has none (yet). */
  value(query: string): Promise<number | undefined>;
  /** Stops and removes the data directory. */
  close(): Promise<void>;
  tail(): string;
}

/** `targets`: job name → `host:port` serving /metrics. */
export async function createPrometheus(targets: Readonly<Record<string, string>>): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), "meshplane-prometheus-"));
  const [port] = (await freePorts(1)) as [number];
  const url = `http://127.0.0.1:${port}`;
  const jobs = Object.entries(targets)
    .map(
      ([job, target]) =>
        `  - job_name: ${JSON.stringify(job)}\n    static_configs:\n      - targets: [${JSON.stringify(target)}]`,
    )
    .join("\n");
  await writeFile(
    join(dir, "prometheus.yml"),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${jobs}\n`,
  );
  let child: ChildProcess | undefined;
  let log = "";
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const server: PrometheusServer = {
    url,
    async start() {
      assert.ok(!running(), "prometheus is already running");
      const proc = spawn(
        "prometheus",
        [
          `--config.file=${join(dir, "prometheus.yml")}`,
          `--storage.tsdb.path=${join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${port}`,
          "--log.level=warn",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      child = proc;
      proc.stderr?.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-8000)));
      const deadline = Date.now() + 15_000;
      for (;;) {
        if (!running()) throw new Error(`prometheus exited:\n${log}`);
        const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then(
          (r) => r.ok,
          () => false,
        );
        if (ready) return;
        if (Date.now() > deadline) {
          await server.stop();
          throw new Error(`prometheus not ready within 15 s:\n${log}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      const proc = child;
      if (!proc || !running()) return;
      const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
    async value(query) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`, {
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await response.json()) as { data?: { result?: { value: [number, string] }[] } };
      const sample = body.data?.result?.[0]?.value[1];
      const value = sample === undefined ? Number.NaN : Number(sample);
      return Number.isFinite(value) ? value : undefined;
    },
    async close() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
    tail: () => log,
  };
  return server;
}
