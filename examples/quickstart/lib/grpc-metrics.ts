// The standard gRPC server metrics for a grpc-js service, with prom-client. grpc-js exports no
// metrics of its own; these are the names and labels of go-grpc-prometheus (grpc-ecosystem
// go-grpc-middleware providers/prometheus), which dashboards and meshplane's Rollout analysis
// templates (GrpcSuccessRate, GrpcLatencyQuantile) expect:
//
//   grpc_server_started_total{grpc_type, grpc_service, grpc_method}
//   grpc_server_handled_total{grpc_type, grpc_service, grpc_method, grpc_code}   grpc_code: OK, Unavailable, ...
//   grpc_server_handling_seconds{grpc_type, grpc_service, grpc_method} (histogram)
//
// Wrap each unary handler with `unary(path, handler)` and serve `registry` on /metrics.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { Counter, Histogram, Registry } from "prom-client";

type Labels = "grpc_type" | "grpc_service" | "grpc_method";

export class GrpcServerMetrics {
  readonly registry = new Registry();
  private readonly started: Counter<Labels>;
  private readonly handled: Counter<Labels | "grpc_code">;
  private readonly handling: Histogram<Labels>;

  constructor() {
    const registers = [this.registry];
    const labelNames: Labels[] = ["grpc_type", "grpc_service", "grpc_method"];
    this.started = new Counter({
      name: "grpc_server_started_total",
      help: "Total number of RPCs started on the server.",
      labelNames,
      registers,
    });
    this.handled = new Counter({
      name: "grpc_server_handled_total",
      help: "Total number of RPCs completed on the server, regardless of success or failure.",
      labelNames: [...labelNames, "grpc_code"],
      registers,
    });
    this.handling = new Histogram({
      name: "grpc_server_handling_seconds",
      help: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }

  /** `handler` counted and timed as the method at `path` (`/helloworld.Greeter/SayHello`). */
  unary<Req, Res>(path: string, handler: grpc.handleUnaryCall<Req, Res>): grpc.handleUnaryCall<Req, Res> {
    const [, service = "", method = ""] = /^\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
    const labels = { grpc_type: "unary", grpc_service: service, grpc_method: method };
    return (call, callback) => {
      this.started.inc(labels);
      const end = this.handling.startTimer(labels);
      handler(call, (error, value, trailer, flags) => {
        end();
        const code = error ? (error.code ?? grpc.status.UNKNOWN) : grpc.status.OK;
        this.handled.inc({ ...labels, grpc_code: codeName(code) });
        callback(error, value, trailer, flags);
      });
    };
  }

  /** Serves the registry on `http://host:port/metrics`; resolves with the bound address. */
  async listen(host: string, port: number): Promise<{ server: Server; address: string }> {
    const server = createServer((req, res) => {
      if (req.url !== "/metrics") {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": this.registry.contentType }).end(text),
        (error: Error) => res.writeHead(500).end(error.message),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, resolve);
    });
    const { port: bound } = server.address() as AddressInfo;
    return { server, address: host.includes(":") ? `[${host}]:${bound}` : `${host}:${bound}` };
  }
}

/** Go's codes.Code spelling: OK, Unavailable, DeadlineExceeded. */
export function codeName(code: number): string {
  const name = grpc.status[code];
  if (name === undefined) return `Code(${code})`;
  if (name === "OK") return "OK";
  return name
    .split("_")
    .map((part) => part.charAt(0) + part.slice(1).toLowerCase())
    .join("");
}
