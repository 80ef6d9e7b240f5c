// Greeter backends (examples/quickstart/greeter-server.ts) as child processes on 127.0.0.1.
import { spawnChild } from "../../../examples/quickstart/lib/child.ts";
import { greeterServerPath, repoRoot } from "./paths.ts";

export interface GreeterOptions {
  /** Reported in every reply's `backend` field. */
  name: string;
  /** 0 or unset: a free port chosen by the OS. */
  port?: number;
  /** Probability in [0, 1] of answering UNAVAILABLE. */
  failRate?: number;
}

export interface Greeter {
  readonly name: string;
  /** `127.0.0.1:PORT` */
  readonly address: string;
  readonly port: number;
  tail(lines?: number): string;
  stop(): Promise<number | null>;
}

export async function startGreeter(options: GreeterOptions): Promise<Greeter> {
  const args = [greeterServerPath, "--name", options.name, "--address", `127.0.0.1:${options.port ?? 0}`];
  if (options.failRate !== undefined) args.push("--fail-rate", String(options.failRate));
  const child = spawnChild(`greeter ${options.name}`, args, { cwd: repoRoot });
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
      tail: (lines) => child.tail(lines),
      stop: () => child.stop(5_000),
    };
  } catch (error) {
    await child.stop(2_000);
    throw error;
  }
}
