// What the quick-start demos share: a scratch directory and clean-up on every exit, numbered
// steps, a port check with a useful error, running a `meshplane` subcommand, and sending calls
// through a running xds-client.ts.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopAllChildren, type Child } from "./child.ts";
import { isCommandError, type CallCommandInput, type CallResult, type ClientOutput } from "./protocol.ts";

/** A failure the demo explains itself (printed as FAIL with its message, exit 1). */
export class DemoError extends Error {}

/** `[n/total] text` step headers and indented details. */
export function steps(total: number) {
  let current = 0;
  return {
    step(text: string): void {
      current += 1;
      console.log(`\n[${current}/${total}] ${text}`);
    },
    detail(text: string): void {
      console.log(`      ${text}`);
    },
  };
}

export async function assertPortFree(port: number, who: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new DemoError(
          error.code === "EADDRINUSE"
            ? `port 127.0.0.1:${port} (for ${who}) is already in use. Is another demo still running? ` +
                `Find it with: ss -ltnp 'sport = :${port}'`
            : `cannot bind 127.0.0.1:${port} for ${who}: ${error.message}`,
        ),
      ),
    );
    probe.listen({ host: "127.0.0.1", port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** Runs `meshplane ARGS` (the CLI at `cli`, on this Node) and returns its stdout. */
export function runMeshplane(cli: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { timeout: 15_000, killSignal: "SIGKILL" },
      (error, stdout, stderr) =>
        error
          ? reject(new DemoError(`meshplane ${args[0]} failed: ${error.message}\n${stderr}`))
          : resolve(stdout),
    );
  });
}

let nextCommandId = 1;

/** Sends `count` calls through an xds-client.ts child and waits (bounded) for the result. */
export async function sendCalls(
  client: Child,
  target: string,
  count: number,
  extra: Omit<CallCommandInput, "target" | "calls" | "id"> = {},
): Promise<CallResult> {
  const id = nextCommandId++;
  const command = {
    id,
    target,
    calls: count,
    method: "SayHello",
    concurrency: 20,
    deadlineMs: 5_000,
    ...extra,
  };
  client.write(JSON.stringify(command));
  const budgetMs = Math.ceil(count / 20) * (command.deadlineMs + 15_000) + 20_000;
  const output = (await client.waitForJson((json) => json.id === id, budgetMs, `result #${id}`)) as unknown;
  if (isCommandError(output as ClientOutput)) {
    throw new DemoError(`client rejected the command: ${(output as { error: string }).error}`);
  }
  return output as CallResult;
}

/** What a demo's body gets: its scratch directory, and a wait for Ctrl-C (for --keep-running). */
export interface DemoRun {
  readonly work: string;
  waitForInterrupt(): Promise<void>;
}

/**
 * Runs a demo's body in a fresh scratch directory and exits with its code. Whatever happens
 * (success, failure, SIGINT or SIGTERM), the demo's child processes are stopped (`stopExtra`
 * stops any it started itself) and the scratch directory is removed. While the body waits for
 * an interrupt, a signal ends the wait instead and the body finishes normally.
 */
export function runDemo(name: string, body: (run: DemoRun) => Promise<number>, stopExtra?: () => void): void {
  let work: string | undefined;
  let endWait: (() => void) | undefined;
  let interrupted = false;
  const cleanUp = async (graceMs: number) => {
    stopExtra?.();
    await stopAllChildren(graceMs);
    if (work) await rm(work, { recursive: true, force: true });
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (endWait) return endWait();
      if (interrupted) return;
      interrupted = true;
      console.error(`\n${signal}: stopping the demo's processes`);
      void cleanUp(3_000).finally(() => process.exit(130));
    });
  }
  const main = async () => {
    work = await mkdtemp(join(tmpdir(), `meshplane-${name}-`));
    const waitForInterrupt = () => new Promise<void>((resolve) => (endWait = resolve));
    try {
      return await body({ work, waitForInterrupt });
    } finally {
      await cleanUp(5_000);
    }
  };
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`\nFAIL  ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
