// The ADS gRPC server: accepts streams, fans config snapshots out to them, and exposes their
// state read-only to the admin server.
import * as grpc from "@grpc/grpc-js";
import { fromBinary, toJson, type Registry } from "@bufbuild/protobuf";
import {
  DiscoveryRequestSchema,
  type DiscoveryRequest,
} from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import type { ConfigSnapshot, ResourceCache } from "./cache.ts";
import { typeShortName } from "./resource-types.ts";
import { SotwStream } from "./sotw.ts";
import type { ProxyStatus, ProxyStatusSource } from "./status.ts";

const adsServicePath = "/envoy.service.discovery.v3.AggregatedDiscoveryService";

/** Responses are pre-encoded bytes (see wire.ts), so the response serializer is the identity. */
const adsService: grpc.ServiceDefinition = {
  StreamAggregatedResources: {
    path: `${adsServicePath}/StreamAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: () => {
      throw new Error("the ADS server never sends requests");
    },
    requestDeserialize: (bytes: Buffer) => fromBinary(DiscoveryRequestSchema, bytes),
    responseSerialize: (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    responseDeserialize: (bytes: Buffer) => bytes,
  },
};

export interface XdsServerOptions {
  readonly cache: ResourceCache;
  readonly metrics: MeshplaneMetrics;
  readonly logger: Logger;
  /** Identifies this control plane in every response (DiscoveryResponse.control_plane). */
  readonly controlPlaneId: string;
  /** Types packed inside resources (Any), for printing them as JSON in the config dump. */
  readonly jsonRegistry: Registry;
  readonly now?: () => Date;
}

export class XdsServer implements ProxyStatusSource {
  private readonly server: grpc.Server;
  private readonly streams = new Map<number, SotwStream>();
  private readonly options: XdsServerOptions;
  private nextStreamId = 1;
  private listening = false;

  constructor(options: XdsServerOptions) {
    this.options = options;
    this.server = new grpc.Server({
      // Detect dead proxies and let idle connections live: a proxy holds its stream for hours.
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.http2.min_ping_interval_without_data_ms": 10_000,
      "grpc.max_receive_message_length": 16 * 1024 * 1024,
    });
    this.server.addService(adsService, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, Uint8Array>) =>
        this.openStream(call),
    });
  }

  get serving(): boolean {
    return this.listening;
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    const bound = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, boundPort) =>
        error
          ? reject(new Error(`xDS server cannot listen on ${address}: ${error.message}`, { cause: error }))
          : resolve(boundPort),
      ),
    );
    this.listening = true;
    return { host, port: bound };
  }

  /** Makes `snapshot` current and pushes what changed to every stream. */
  setSnapshot(snapshot: ConfigSnapshot): void {
    const started = performance.now();
    this.options.cache.setSnapshot(snapshot);
    for (const stream of this.streams.values()) stream.push();
    this.options.metrics.pushDuration.observe((performance.now() - started) / 1000);
  }

  /** Stops accepting, ends open streams, and forces the rest after `graceMs`. */
  async close(graceMs = 2000): Promise<void> {
    this.listening = false;
    // Ending the streams lets tryShutdown finish now instead of waiting out the grace period.
    for (const stream of this.streams.values()) stream.close(true);
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      force.unref();
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  proxies(): readonly ProxyStatus[] {
    return [...this.streams.values()].map((s) => s.status());
  }

  configDump(streamId: number): Record<string, Record<string, unknown>> | undefined {
    const stream = this.streams.get(streamId);
    if (!stream) return undefined;
    const dump: Record<string, Record<string, unknown>> = {};
    for (const [typeUrl, sent] of stream.sentResources()) {
      const resources: Record<string, unknown> = {};
      for (const [name, resource] of sent) {
        resources[name] = {
          version: resource.hash,
          resource: toJson(resource.source.schema, resource.source.message, {
            registry: this.options.jsonRegistry,
          }),
        };
      }
      dump[typeShortName[typeUrl]] = resources;
    }
    return dump;
  }

  private openStream(call: grpc.ServerDuplexStream<DiscoveryRequest, Uint8Array>): void {
    const { metrics, logger } = this.options;
    const id = this.nextStreamId++;
    const stream = new SotwStream(id, call, { ...this.options, now: this.options.now ?? (() => new Date()) });
    this.streams.set(id, stream);
    metrics.connectedProxies.inc({ protocol: "sotw" });
    let ended = false;
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      stream.close();
      this.streams.delete(id);
      metrics.connectedProxies.dec({ protocol: "sotw" });
      logger.info({ stream: id, node: stream.nodeId, reason }, "proxy disconnected");
    };
    call.on("data", (request: DiscoveryRequest) => {
      try {
        stream.handleRequest(request);
      } catch (error) {
        logger.error({ stream: id, err: error }, "failed to handle xDS request; closing stream");
        call.emit("error", error);
        call.end();
      }
    });
    call.on("end", () => {
      end("client closed the stream");
      call.end();
    });
    call.on("cancelled", () => end("cancelled"));
    call.on("error", (error: Error) => end(`error: ${error.message}`));
    call.on("close", () => end("closed"));
  }
}
