// A long-running proxyless gRPC client: @grpc/grpc-js with the xDS resolver from
// @grpc/grpc-js-xds, configured by the bootstrap file named in GRPC_XDS_BOOTSTRAP.
//
//   GRPC_XDS_BOOTSTRAP=bootstrap.json node examples/quickstart/xds-client.ts [--xds-credentials]
//
// With --xds-credentials the channel uses the TLS that xDS configures (XdsChannelCredentials:
// mTLS to STRICT destinations with the certificates of the bootstrap's certificate provider),
// plaintext elsewhere; without it every call is plaintext.
// It reads JSON commands on stdin, one per line (see lib/protocol.ts), e.g.
//   {"id":1,"target":"xds:///greeter:50051","calls":1000,"method":"SayHello","concurrency":20}
// and answers each with one JSON line on stdout:
//   {"id":1,"ok":1000,"counts":{"v1":903,"v2":97},"errors":{},"errorSamples":[],"elapsedMs":812}
// One channel per target lives as long as the process, so a configuration change pushed by the
// control plane is observed by the same channel between commands. Commands run concurrently.
// When stdin closes, the commands already received are finished and the client exits 0; to stay
// bounded, no new call starts after a further 60 s (partial results are still written).
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { register, XdsChannelCredentials } from "@grpc/grpc-js-xds";
import { callGreeter, statusName } from "./lib/greeter-proto.ts";
import {
  parseCommand,
  limits,
  type CallCommand,
  type CallResult,
  type ClientOutput,
} from "./lib/protocol.ts";

// Adds the "xds:" scheme to grpc-js; the bootstrap is read on first use (GRPC_XDS_BOOTSTRAP).
register();

const { values } = parseArgs({ options: { "xds-credentials": { type: "boolean", default: false } } });
const channelCredentials = values["xds-credentials"]
  ? new XdsChannelCredentials(grpc.credentials.createInsecure())
  : grpc.credentials.createInsecure();
const clients = new Map<string, grpc.Client>();

function clientFor(target: string): grpc.Client {
  let client = clients.get(target);
  if (!client) {
    client = new grpc.Client(target, channelCredentials);
    clients.set(target, client);
  }
  return client;
}

function emit(output: ClientOutput | Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

async function run(command: CallCommand): Promise<CallResult> {
  const client = clientFor(command.target);
  const started = performance.now();
  const result: CallResult = {
    id: command.id,
    target: command.target,
    method: command.method,
    ok: 0,
    counts: {},
    errors: {},
    errorSamples: [],
    elapsedMs: 0,
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    // Bounded: each worker takes call numbers until `calls` are handed out or stdin closed.
    while (next < command.calls && !closing) {
      next += 1;
      try {
        const reply = await callGreeter(
          client,
          command.method,
          { name: command.name },
          {
            metadata: command.metadata,
            deadlineMs: command.deadlineMs,
            waitForReady: command.waitForReady,
          },
        );
        result.ok += 1;
        const backend = reply.backend || "(empty)";
        result.counts[backend] = (result.counts[backend] ?? 0) + 1;
      } catch (error) {
        const code = statusName((error as grpc.ServiceError).code);
        result.errors[code] = (result.errors[code] ?? 0) + 1;
        const sample = `${code}: ${(error as grpc.ServiceError).details ?? (error as Error).message}`;
        if (result.errorSamples.length < limits.maxErrorSamples && !result.errorSamples.includes(sample)) {
          result.errorSamples.push(sample);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: command.concurrency }, worker));
  result.elapsedMs = Math.round(performance.now() - started);
  return result;
}

const inFlight = new Set<Promise<void>>();
let closing = false;

function handle(line: string): void {
  if (line.trim() === "") return;
  const parsed = parseCommand(line);
  if (!parsed.ok) {
    emit(parsed.error);
    return;
  }
  const task = run(parsed.command)
    .then(emit, (error: unknown) => emit({ id: parsed.command.id, error: String(error) }))
    .finally(() => inFlight.delete(task));
  inFlight.add(task);
}

function shutdown(code: number): never {
  for (const client of clients.values()) client.close();
  process.exit(code);
}

const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on("line", handle);
const drainMs = 60_000;
input.on("close", () => {
  setTimeout(() => (closing = true), drainMs).unref();
  // After `closing`, every call in flight ends by its deadline; the timer is a last resort.
  setTimeout(() => shutdown(1), drainMs + limits.maxDeadlineMs + 5_000).unref();
  void Promise.allSettled([...inFlight]).then(() => shutdown(0));
});
process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(0));

emit({ msg: "xds client ready", bootstrap: process.env.GRPC_XDS_BOOTSTRAP ?? null });
