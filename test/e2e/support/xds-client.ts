// A real proxyless client as a child process: examples/quickstart/xds-client.ts on
// @grpc/grpc-js-xds, or its twin test/e2e/support/python/xds_client.py on gRPC C-core. Its
// bootstrap is written by `meshplane bootstrap`, commands go over stdin and results come back
// over stdout, matched by id. The process and its channels live until stop(), so a test
// can change the config between calls and observe it on the same channel.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnChild } from "../../../examples/quickstart/lib/child.ts";
import {
  isCommandError,
  defaults,
  type CallCommandInput,
  type CallResult,
  type ClientOutput,
} from "../../../examples/quickstart/lib/protocol.ts";
import { programFor, type Implementation } from "./implementations.ts";
import { cliBootstrap } from "./meshplane.ts";
import { repoRoot } from "./paths.ts";

export type { CallCommandInput, CallResult } from "../../../examples/quickstart/lib/protocol.ts";
export { shares } from "../../../examples/quickstart/lib/protocol.ts";

export interface XdsClientOptions {
  xdsAddress: string;
  nodeId: string;
  namespace: string;
  labels?: Record<string, string>;
  /** Use this bootstrap verbatim instead of `meshplane bootstrap` (e.g. to test bootstrap edge cases). */
  bootstrap?: Record<string, unknown>;
  /** Extra environment, e.g. { GRPC_TRACE: "xds_client", GRPC_VERBOSITY: "DEBUG" }. */
  env?: Record<string, string>;
  /** Default grpc-js. */
  implementation?: Implementation;
  /** The workload's certificates (`meshplane agent --cert-dir`), named in the bootstrap. */
  certDir?: string;
  /** XdsChannelCredentials: mTLS where xDS says so, plaintext elsewhere (grpc-js only). */
  xdsCredentials?: boolean;
}

export interface XdsClient {
  readonly nodeId: string;
  readonly bootstrapPath: string;
  readonly bootstrap: Record<string, unknown>;
  /**
   * Runs one command (an id is assigned when absent). Rejects if the client reports the command
   * invalid, exits, or does not answer in time (default: enough for every call to hit its deadline,
   * plus 10 s).
   */
  call(command: CallCommandInput, timeoutMs?: number): Promise<CallResult>;
  tail(lines?: number): string;
  /** Closes stdin (the client finishes calls in flight), SIGTERM/SIGKILL if it lingers. */
  stop(): Promise<number | null>;
}

export async function startXdsClient(options: XdsClientOptions): Promise<XdsClient> {
  const dir = await mkdtemp(join(tmpdir(), "meshplane-client-"));
  const bootstrapPath = join(dir, "bootstrap.json");
  let bootstrap: Record<string, unknown>;
  try {
    if (options.bootstrap) {
      await writeFile(bootstrapPath, JSON.stringify(options.bootstrap, null, 2));
      bootstrap = options.bootstrap;
    } else {
      await cliBootstrap({ ...options, output: bootstrapPath });
      bootstrap = JSON.parse(await readFile(bootstrapPath, "utf8")) as Record<string, unknown>;
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, GRPC_XDS_BOOTSTRAP: bootstrapPath };
  delete env.GRPC_XDS_BOOTSTRAP_CONFIG;
  const program = programFor(options.implementation ?? "grpc-js", "xds-client");
  const args = [...program.args, ...(options.xdsCredentials ? ["--xds-credentials"] : [])];
  const child = spawnChild(`xds-client ${options.nodeId}`, args, {
    command: program.command,
    cwd: repoRoot,
    env,
    stdin: true,
  });
  try {
    await child.waitForJson((json) => json.msg === "xds client ready", 10_000, "xds client ready");
  } catch (error) {
    await child.stop(2_000);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const pending = new Map<
    number,
    { resolve: (output: ClientOutput) => void; reject: (error: Error) => void }
  >();
  child.onLine((_line, json) => {
    const id = json?.id;
    if (typeof id !== "number") return;
    const waiter = pending.get(id);
    if (!waiter) return;
    pending.delete(id);
    waiter.resolve(json as unknown as ClientOutput);
  });
  void child.exited.then((exit) => {
    for (const [id, waiter] of pending) {
      waiter.reject(
        new Error(`xds-client exited (${exit.code ?? exit.signal}) before answering #${id}\n${child.tail()}`),
      );
    }
    pending.clear();
  });

  let nextId = 1;
  return {
    nodeId: options.nodeId,
    bootstrapPath,
    bootstrap,
    async call(command, timeoutMs) {
      const id = command.id ?? nextId++;
      const calls = command.calls ?? defaults.calls;
      const concurrency = Math.min(command.concurrency ?? defaults.concurrency, calls);
      const deadlineMs = command.deadlineMs ?? defaults.deadlineMs;
      const budget = timeoutMs ?? Math.ceil(calls / Math.max(1, concurrency)) * deadlineMs + 10_000;
      const output = await new Promise<ClientOutput>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`xds-client did not answer #${id} within ${budget} ms\n${child.tail()}`));
        }, budget);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        try {
          child.write(JSON.stringify({ ...command, id }));
        } catch (error) {
          clearTimeout(timer);
          pending.delete(id);
          reject(error as Error);
        }
      });
      if (isCommandError(output)) throw new Error(`xds-client rejected #${id}: ${output.error}`);
      return output;
    },
    tail: (lines) => child.tail(lines),
    async stop() {
      child.endInput();
      let timer: NodeJS.Timeout | undefined;
      const exited = await Promise.race([
        child.exited,
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 5_000))),
      ]);
      clearTimeout(timer);
      const code = exited ? exited.code : await child.stop(3_000);
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}
