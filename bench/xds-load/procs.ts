// Child processes of the harness: Node scripts run with the pinned Node (process.execPath) behind
// `sh -c 'ulimit -n N; exec node ...'` so each may hold tens of thousands of sockets, with an IPC
// channel for request/reply and bounded stdout/stderr tails. Every child is registered and killed
// when the harness stops, fails or is interrupted.
import { spawn, type ChildProcess } from "node:child_process";
import type { Envelope } from "./ipc.ts";

export interface SpawnNodeOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Extra Node flags, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  /** Soft and hard RLIMIT_NOFILE wanted for the child (falls back to the hard limit). */
  readonly nofile?: number;
  readonly ipc?: boolean;
  /** Own process group: a Ctrl-C in the terminal reaches only the harness, which stops it in order. */
  readonly detached?: boolean;
}

export interface NodeChild {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly alive: () => boolean;
  tail(lines?: number): string;
  /** stdout lines as they come. */
  onLine(listener: (line: string) => void): void;
  /** Unsolicited IPC messages (no `seq`). */
  onEvent(listener: (message: Record<string, unknown>) => void): void;
  /** IPC request; rejects after `timeoutMs` or when the child exits first. */
  request<Reply>(body: unknown, timeoutMs?: number): Promise<Reply>;
  /** SIGTERM, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all([...live].map((child) => terminate(child, graceMs)));
}

export function spawnNode(
  name: string,
  script: string,
  args: readonly string[],
  options: SpawnNodeOptions = {},
): NodeChild {
  hookExit();
  const nofile = options.nofile ?? 65536;
  const env = { ...(options.env ?? process.env) };
  delete env.NODE_TEST_CONTEXT;
  const proc = spawn(
    "sh",
    [
      "-c",
      `ulimit -Hn ${nofile} 2>/dev/null; ulimit -n ${nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`,
      process.execPath,
      ...(options.nodeArgs ?? []),
      script,
      ...args,
    ],
    {
      cwd: options.cwd,
      env,
      detached: options.detached ?? false,
      stdio: ["ignore", "pipe", "pipe", options.ipc ? "ipc" : "ignore"],
    },
  );
  if (proc.pid === undefined) throw new Error(`${name}: spawn failed`);
  live.add(proc);
  const out: string[] = [];
  const err: string[] = [];
  const lineListeners: Array<(line: string) => void> = [];
  const eventListeners: Array<(message: Record<string, unknown>) => void> = [];
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let seq = 0;
  collect(proc.stdout, (line) => {
    keep(out, line);
    for (const listener of lineListeners) listener(line);
  });
  collect(proc.stderr, (line) => keep(err, line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once("exit", (code, signal) => {
      live.delete(proc);
      for (const { reject } of waiting.values())
        reject(new Error(`${name} exited (code ${code}, signal ${signal})\n${tail()}`));
      waiting.clear();
      resolve({ code, signal });
    });
  });
  proc.on("message", (message: Envelope<unknown> | Record<string, unknown>) => {
    if (typeof message.seq === "number") {
      const entry = waiting.get(message.seq);
      waiting.delete(message.seq);
      entry?.resolve((message as Envelope<unknown>).body);
      return;
    }
    for (const listener of eventListeners) listener(message as Record<string, unknown>);
  });
  proc.on("error", () => undefined);
  const tail = (lines = 20) =>
    `--- ${name} stdout ---\n${out.slice(-lines).join("\n")}\n--- ${name} stderr ---\n${err.slice(-lines).join("\n")}`;
  return {
    name,
    pid: proc.pid,
    exited,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    tail,
    onLine: (listener) => void lineListeners.push(listener),
    onEvent: (listener) => void eventListeners.push(listener),
    request<Reply>(body: unknown, timeoutMs = 60_000): Promise<Reply> {
      const id = ++seq;
      return new Promise<Reply>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(
            new Error(`${name}: no reply to ${JSON.stringify(body).slice(0, 80)} within ${timeoutMs} ms`),
          );
        }, timeoutMs);
        waiting.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as Reply);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        proc.send({ seq: id, body }, (error) => {
          if (!error) return;
          clearTimeout(timer);
          waiting.delete(id);
          reject(error);
        });
      });
    },
    stop: (graceMs = 3000) => terminate(proc, graceMs),
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

function keep(lines: string[], line: string): void {
  lines.push(line);
  if (lines.length > 2000) lines.splice(0, lines.length - 1000);
}

function collect(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    pending += chunk;
    let at = pending.indexOf("\n");
    while (at !== -1) {
      onLine(pending.slice(0, at));
      pending = pending.slice(at + 1);
      at = pending.indexOf("\n");
    }
  });
}
