// Child processes that speak JSON lines: spawn with the same Node binary (process.execPath) or another
// program, collect stdout/stderr lines (bounded), wait for a line with a timeout, and stop with
// SIGTERM then SIGKILL. Every child is registered so that the parent kills it when it exits, whatever
// the reason.
import { spawn, type ChildProcess } from "node:child_process";

export type JsonLine = Record<string, unknown>;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** The program to run with `args`; default this Node binary (process.execPath). */
  command?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Keep stdin open for `write`; otherwise it is closed at once. */
  stdin?: boolean;
  /** Lines kept per stream; older ones are dropped. */
  maxLines?: number;
}

export interface Child {
  readonly name: string;
  readonly pid: number | undefined;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  /** stdout lines, oldest first. */
  stdoutLines(): readonly string[];
  stderrLines(): readonly string[];
  /** stdout lines that parsed as JSON objects. */
  jsonLines(): JsonLine[];
  /** The last lines of both streams, for error messages. */
  tail(lines?: number): string;
  /** Calls `listener` for every later stdout line. Returns an unsubscribe function. */
  onLine(listener: (line: string, json: JsonLine | undefined) => void): () => void;
  /**
   * Resolves with the first stdout JSON line (already seen or future) that satisfies `predicate`.
   * Rejects when the child exits first or after `timeoutMs`, with the output tail in the message.
   */
  waitForJson(predicate: (json: JsonLine) => boolean, timeoutMs: number, what: string): Promise<JsonLine>;
  write(line: string): void;
  endInput(): void;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit code (null if killed by signal). */
  stop(graceMs?: number): Promise<number | null>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort (crash, process.exit): synchronous, so only SIGKILL is possible here.
  process.on("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

/** Stops every child still running (SIGTERM, then SIGKILL); for signal handlers and `finally`. */
export async function stopAllChildren(graceMs = 5_000): Promise<void> {
  await Promise.all([...live].map((child) => terminate(child, graceMs)));
}

export function parseJsonLine(line: string): JsonLine | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as JsonLine)
      : undefined;
  } catch {
    return undefined;
  }
}

export function spawnChild(name: string, args: readonly string[], options: SpawnOptions = {}): Child {
  installExitHook();
  const maxLines = options.maxLines ?? 20_000;
  const env = { ...(options.env ?? process.env) };
  // Set by `node --test` for its own workers; a child that inherits it would report to the runner.
  delete env.NODE_TEST_CONTEXT;
  const proc = spawn(options.command ?? process.execPath, args, {
    cwd: options.cwd,
    env,
    stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  live.add(proc);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const listeners = new Set<(line: string, json: JsonLine | undefined) => void>();

  const exited = new Promise<Exit>((resolve) => {
    proc.once("exit", (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    });
    proc.once("error", (error) => {
      live.delete(proc);
      stderr.push(`spawn error: ${error.message}`);
      resolve({ code: null, signal: null });
    });
  });

  collectLines(proc.stdout, (line) => {
    push(stdout, line, maxLines);
    const json = parseJsonLine(line);
    for (const listener of listeners) listener(line, json);
  });
  collectLines(proc.stderr, (line) => push(stderr, line, maxLines));
  // A child that exits while we write must not crash the parent with EPIPE.
  proc.stdin?.on("error", () => undefined);

  const tail = (lines = 30): string => {
    const out = stdout.slice(-lines).join("\n");
    const err = stderr.slice(-lines).join("\n");
    return `--- ${name} stdout (last ${lines} lines) ---\n${out}\n--- ${name} stderr ---\n${err}`;
  };

  return {
    name,
    pid: proc.pid,
    exited,
    stdoutLines: () => stdout,
    stderrLines: () => stderr,
    jsonLines: () => stdout.map(parseJsonLine).filter((json): json is JsonLine => json !== undefined),
    tail,
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitForJson(predicate, timeoutMs, what) {
      for (const line of stdout) {
        const json = parseJsonLine(line);
        if (json && predicate(json)) return Promise.resolve(json);
      }
      return new Promise<JsonLine>((resolve, reject) => {
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(listener);
        };
        const listener = (_line: string, json: JsonLine | undefined): void => {
          if (json && predicate(json)) {
            cleanup();
            resolve(json);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${name}: timed out after ${timeoutMs} ms waiting for ${what}\n${tail()}`));
        }, timeoutMs);
        listeners.add(listener);
        void exited.then((exit) => {
          // Give the stdout pipe a moment to deliver the last lines before giving up.
          setTimeout(() => {
            if (!listeners.has(listener)) return;
            cleanup();
            reject(
              new Error(
                `${name}: exited (code ${exit.code}, signal ${exit.signal}) while waiting for ${what}\n${tail()}`,
              ),
            );
          }, 50);
        });
      });
    },
    write(line) {
      if (!proc.stdin || proc.stdin.destroyed) throw new Error(`${name}: stdin is closed`);
      proc.stdin.write(line.endsWith("\n") ? line : `${line}\n`);
    },
    endInput() {
      proc.stdin?.end();
    },
    async stop(graceMs = 5_000) {
      await terminate(proc, graceMs);
      return (await exited).code;
    },
  };
}

async function terminate(proc: ChildProcess, graceMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await gone;
  clearTimeout(timer);
}

function collectLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      onLine(pending.slice(0, newline).replace(/\r$/, ""));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
  });
  stream.on("end", () => {
    if (pending) onLine(pending);
    pending = "";
  });
}

function push(lines: string[], line: string, max: number): void {
  lines.push(line);
  if (lines.length > max) lines.splice(0, lines.length - max);
}
