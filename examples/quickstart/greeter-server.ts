// A plain gRPC Greeter backend (no xDS on the server side): replies with its own --name in
// `backend`, so a client can count where each call landed.
//
//   node examples/quickstart/greeter-server.ts --name v1 --address 127.0.0.1:20061 [--fail-rate 0.1] [--delay-ms 200]
//       [--metrics-address 127.0.0.1:0] [--xds] [--max-connection-age-ms 3000]
//
// With --xds it is an xDS-enabled server (gRFC A36): @grpc/grpc-js-xds's XdsServer, configured by
// the bootstrap in GRPC_XDS_BOOTSTRAP, serves only once meshplane sent its listener, and applies
// the listener's mTLS and authorization (RBAC needs GRPC_XDS_EXPERIMENTAL_RBAC=true). Each reply's
// `backend` then also says who called: `v1 <- spiffe://…` over mTLS, `v1 <- plaintext` otherwise.
// With --max-connection-age-ms the server ends each connection after that long (an HTTP/2 GOAWAY,
// calls in flight finish), so clients reconnect and handshake again: with mTLS, each new
// connection presents the certificates of the moment (the rotation e2e relies on it).
// With --metrics-address it serves the standard gRPC server metrics (lib/grpc-metrics.ts) on
// /metrics there, for Prometheus and meshplane's Rollout analysis; the listening line then
// carries "metricsAddress".
// Prints one JSON line {"msg":"greeter listening","name":...,"address":"127.0.0.1:PORT"} once
// bound (port 0 picks a free port). SIGUSR1 makes every call fail with UNAVAILABLE (a sick
// backend, for outlier detection), SIGUSR2 makes it healthy again; each prints a JSON line.
// SIGTERM/SIGINT: graceful shutdown, then exit 0.
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { register, XdsServer, XdsServerCredentials } from "@grpc/grpc-js-xds";
import { greeterService, type HelloReply, type HelloRequest } from "./lib/greeter-proto.ts";
import { GrpcServerMetrics } from "./lib/grpc-metrics.ts";

const { values } = parseArgs({
  options: {
    name: { type: "string" },
    address: { type: "string", default: "127.0.0.1:0" },
    "fail-rate": { type: "string", default: "0" },
    "delay-ms": { type: "string", default: "0" },
    "max-connection-age-ms": { type: "string" },
    "metrics-address": { type: "string" },
    xds: { type: "boolean", default: false },
  },
  strict: true,
});

function fatal(message: string, extra: Record<string, unknown> = {}): never {
  process.stderr.write(`${JSON.stringify({ msg: message, ...extra })}\n`);
  process.exit(1);
}

const name = values.name ?? fatal("--name is required (e.g. --name v1)");
const address = values.address ?? "127.0.0.1:0";
const failRate = Number(values["fail-rate"]);
if (!Number.isFinite(failRate) || failRate < 0 || failRate > 1)
  fatal("--fail-rate must be a number in [0, 1]");
const delayMs = Number(values["delay-ms"]);
if (!Number.isSafeInteger(delayMs) || delayMs < 0 || delayMs > 60_000)
  fatal("--delay-ms must be an integer number of milliseconds in [0, 60000]");
let sick = false;
const match = /^(127\.0\.0\.1|\[::1\]|localhost):(\d{1,5})$/.exec(address);
if (!match) fatal("--address must be a loopback HOST:PORT such as 127.0.0.1:20061", { address });
const host = match[1] ?? "127.0.0.1";

function handler(verb: string): grpc.handleUnaryCall<HelloRequest, HelloReply> {
  return (call, callback) => {
    if (delayMs > 0) setTimeout(() => answer(call, callback), delayMs);
    else answer(call, callback);
  };
  function answer(
    call: grpc.ServerUnaryCall<HelloRequest, HelloReply>,
    callback: grpc.sendUnaryData<HelloReply>,
  ): void {
    if (sick) {
      callback({ code: grpc.status.UNAVAILABLE, details: `${name} is sick (SIGUSR1)` });
      return;
    }
    if (failRate > 0 && Math.random() < failRate) {
      callback({
        code: grpc.status.UNAVAILABLE,
        details: `injected failure at ${name} (fail-rate ${failRate})`,
      });
      return;
    }
    const who = call.request.name || "stranger";
    const backend = values.xds ? `${name} <- ${caller(call)}` : name;
    callback(null, { message: `${verb}, ${who}, from ${name}`, backend });
  }
}

/** The caller's SPIFFE ID from its client certificate (mTLS), or "plaintext". */
function caller(call: grpc.ServerUnaryCall<HelloRequest, HelloReply>): string {
  const certificate = call.getAuthContext().sslPeerCertificate;
  if (!certificate) return "plaintext";
  const uri = /URI:(spiffe:\/\/[^,\s]+)/.exec(certificate.subjectaltname ?? "");
  return uri?.[1] ?? "a certificate without a SPIFFE ID";
}

const metricsMatch = values["metrics-address"]
  ? (/^(127\.0\.0\.1|\[::1\]|localhost):(\d{1,5})$/.exec(values["metrics-address"]) ??
    fatal("--metrics-address must be a loopback HOST:PORT such as 127.0.0.1:0"))
  : undefined;
const metrics = new GrpcServerMetrics();
const counted = (verb: string, path: string) => metrics.unary(path, handler(verb));
// XdsServer waits for its listener (named from the bootstrap's server_listener_resource_name_template
// with this address) and uses the xDS-provided TLS, falling back to plaintext where xDS gives none.
// register() installs grpc-js-xds's HTTP filters (router, RBAC) too: without it, XdsServer NACKs
// every listener ("envoy.filters.http.router filter validation failed") and never serves.
if (values.xds) register();
const maxConnectionAgeMs = values["max-connection-age-ms"]
  ? Number(values["max-connection-age-ms"])
  : undefined;
if (maxConnectionAgeMs !== undefined && !(Number.isSafeInteger(maxConnectionAgeMs) && maxConnectionAgeMs > 0))
  fatal("--max-connection-age-ms must be a positive integer number of milliseconds");
const serverOptions: grpc.ServerOptions = maxConnectionAgeMs
  ? { "grpc.max_connection_age_ms": maxConnectionAgeMs, "grpc.max_connection_age_grace_ms": 10_000 }
  : {};
const server = values.xds ? new XdsServer(serverOptions) : new grpc.Server(serverOptions);
const credentials = values.xds
  ? new XdsServerCredentials(grpc.ServerCredentials.createInsecure())
  : grpc.ServerCredentials.createInsecure();
server.addService(greeterService, {
  SayHello: counted("Hello", greeterService.SayHello.path),
  SayGoodbye: counted("Goodbye", greeterService.SayGoodbye.path),
});

server.bindAsync(address, credentials, (error, port) => {
  if (error) fatal("greeter failed to bind", { name, address, error: error.message });
  const listening = { msg: "greeter listening", name, address: `${host}:${port}`, failRate, delayMs };
  if (!metricsMatch) {
    console.log(JSON.stringify(listening));
    return;
  }
  const metricsHost = (metricsMatch[1] ?? "127.0.0.1").replace(/^\[|\]$/g, "");
  metrics.listen(metricsHost, Number(metricsMatch[2])).then(
    ({ address: metricsAddress }) => console.log(JSON.stringify({ ...listening, metricsAddress })),
    (err: Error) => fatal("greeter metrics failed to listen", { name, error: err.message }),
  );
});

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  // tryShutdown waits for in-flight calls; bound it so a stuck call cannot keep us alive.
  const force = setTimeout(() => {
    server.forceShutdown();
    process.exit(0);
  }, 3000);
  force.unref();
  server.tryShutdown(() => {
    console.log(JSON.stringify({ msg: "greeter stopped", name, signal }));
    process.exit(0);
  });
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGUSR1", () => {
  sick = true;
  console.log(JSON.stringify({ msg: "greeter sick", name }));
});
process.on("SIGUSR2", () => {
  sick = false;
  console.log(JSON.stringify({ msg: "greeter healthy", name }));
});
