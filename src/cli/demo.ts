// `meshplane demo`: the quick start (examples/quickstart/demo) as a child process on this Node.
// The demo sits at the same place relative to this file in a clone (src/cli/ → examples/) and in
// the package (dist/src/cli/ → dist/examples/), with this file's extension (.ts or .js).
import { spawn } from "node:child_process";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";

const script = (name: string) =>
  fileURLToPath(
    new URL(`../../examples/quickstart/${name}${extname(import.meta.filename)}`, import.meta.url),
  );
const demoScript = script("demo");
const rollbackScript = script("rollback-demo");
const secureScript = script("secure-demo");

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "run the quick start: meshplane, two greeter backends and a proxyless gRPC client on 127.0.0.1; " +
        "a 90/10 canary split, then a live edit to 50/50 (exit 0 = both splits PASS)",
    )
    .option("--calls <n>", "calls per phase (more calls, tighter split)", "1000")
    .option("--keep-running", "leave everything up afterwards (Ctrl-C to stop)")
    .action(async (opts: { calls: string; keepRunning?: boolean }) => {
      process.exitCode = await runScript(demoScript, [
        "--calls",
        opts.calls,
        ...(opts.keepRunning ? ["--keep-running"] : []),
      ]);
    });
  program
    .command("rollback-demo")
    .description(
      "run the automatic rollback demo: a canary failing 30 % of calls, measured by Prometheus " +
        "(apt-get install -y prometheus), rolled back by a Rollout; prints each step (exit 0 = rolled back)",
    )
    .action(async () => {
      process.exitCode = await runScript(rollbackScript, []);
    });
  program
    .command("secure-demo")
    .description(
      "run the security demo: meshplane's CA and agents give three workloads certificates; an " +
        "xDS-enabled gRPC server in STRICT mTLS with an AuthorizationPolicy; prints an allowed call, " +
        "two denied ones and a refused plaintext client (exit 0 = every check PASS)",
    )
    .option("--keep-running", "leave everything up afterwards (Ctrl-C to stop)")
    .action(async (opts: { keepRunning?: boolean }) => {
      process.exitCode = await runScript(secureScript, opts.keepRunning ? ["--keep-running"] : []);
    });
}

async function runScript(path: string, args: string[]): Promise<number> {
  const child = spawn(process.execPath, [path, ...args], { stdio: "inherit" });
  // The demo stops its own processes on SIGINT/SIGTERM; wait for it instead of leaving it behind.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
  return new Promise<number>((resolve) => {
    child.once("error", (error) => {
      process.stderr.write(`cannot start the demo (${path}): ${error.message}\n`);
      resolve(1);
    });
    child.once("exit", (code) => resolve(code ?? 1));
  });
}
