// Greeter backends as child processes on 127.0.0.1: examples/quickstart/greeter-server.ts on
// grpc-js, or its twin test/e2e/support/python/greeter_server.py on gRPC C-core.
import { spawnChild } from "../../../examples/quickstart/lib/child.ts";
import { programFor, type Implementation } from "./implementations.ts";
import { repoRoot } from "./paths.ts";

export interface GreeterOptions {
  /** Reported in every reply's `backend` field. */
  name: string;
  /** 0 or unset: a free port chosen by the OS. */
  port?: number;
  /** Probability in [0, 1] of answering UNAVAILABLE. */
  failRate?: number;
  /** Every reply waits this long. */
  delayMs?: number;
  /** Default grpc-js. */
  implementation?: Implementation;
  /** Serve the standard gRPC server metrics on a free port (see `metricsAddress`); grpc-js only. */
  metrics?: boolean;
  /**
   * An xDS-enabled server (gRFC A36, grpc-js only) configured by this bootstrap file: it asks for
   * its listener by address, so `port` must be set, and says it is listening once it serves.
   */
  xdsBootstrap?: string;
  /** End each connection after this long (GOAWAY): clients reconnect and handshake again. */
  maxConnectionAgeMs?: number;
}

export interface Greeter {
  readonly name: string;
  /** `127.0.0.1:PORT` */
  readonly address: string;
  readonly port: number;
  /** `127.0.0.1:PORT` of /metrics, with `metrics: true`. */
  readonly metricsAddress: string | undefined;
  tail(lines?: number): string;
  /** Sick: every call fails with UNAVAILABLE until healthy again. Resolves once the greeter says so. */
  setSick(sick: boolean): Promise<void>;
  stop(): Promise<number | null>;
}

export async function startGreeter(options: GreeterOptions): Promise<Greeter> {
  const program = programFor(options.implementation ?? "grpc-js", "greeter");
  const args = [...program.args, "--name", options.name, "--address", `127.0.0.1:${options.port ?? 0}`];
  if (options.failRate !== undefined) args.push("--fail-rate", String(options.failRate));
  if (options.delayMs !== undefined) args.push("--delay-ms", String(options.delayMs));
  if (options.metrics) args.push("--metrics-address", "127.0.0.1:0");
  if (options.xdsBootstrap) args.push("--xds");
  if (options.maxConnectionAgeMs) args.push("--max-connection-age-ms", String(options.maxConnectionAgeMs));
  const env = options.xdsBootstrap ? { ...process.env, GRPC_XDS_BOOTSTRAP: options.xdsBootstrap } : undefined;
  const child = spawnChild(`greeter ${options.name}`, args, {
    cwd: repoRoot,
    command: program.command,
    ...(env && { env }),
  });
  try {
    const line = await child.waitForJson(
      (json) => json.msg === "greeter listening",
      10_000,
      "greeter listening",
    );
    const address = String(line.address);
    const port = Number(address.slice(address.lastIndexOf(":") + 1));
    return {
      name: options.name,
      address,
      port,
      metricsAddress: typeof line.metricsAddress === "string" ? line.metricsAddress : undefined,
      tail: (lines) => child.tail(lines),
      async setSick(sick) {
        // Only a line printed after the signal counts: earlier toggles printed the same message.
        const expected = sick ? "greeter sick" : "greeter healthy";
        let unsubscribe: () => unknown = () => undefined;
        const said = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${expected}: no answer\n${child.tail()}`)), 5_000);
          unsubscribe = child.onLine((_line, json) => {
            if (json?.msg !== expected) return;
            clearTimeout(timer);
            resolve();
          });
        });
        process.kill(child.pid as number, sick ? "SIGUSR1" : "SIGUSR2");
        await said.finally(() => unsubscribe());
      },
      stop: () => child.stop(5_000),
    };
  } catch (error) {
    await child.stop(2_000);
    throw error;
  }
}
