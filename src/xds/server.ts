// The ADS gRPC server: both protocol variants, admission of new streams, snapshot fan-out through
// the push scheduler, and read-only state for the admin server.
import * as grpc from "@grpc/grpc-js";
import { fromBinary, toJson, type DescMessage, type Registry } from "@bufbuild/protobuf";
import {
  DeltaDiscoveryRequestSchema,
  DiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
  type DiscoveryRequest,
} from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import type { ConfigSnapshot, ResourceCache } from "./cache.ts";
import { deltaProtocol, normalizeDeltaRequest } from "./delta.ts";
import { ReachIndex } from "./reach.ts";
import { defaultBackoff, RejectionRegistry, type BackoffPolicy } from "./rejections.ts";
import { typeShortName } from "./resource-types.ts";
import { PushScheduler, type SchedulerOptions } from "./scheduler.ts";
import { normalizeSotwRequest, sotwProtocol } from "./sotw.ts";
import type { NackReport, ProxyStatus, ProxyStatusSource, ResourceReach } from "./status.ts";
import { AdsStream, type NormalizedRequest, type ProtocolAdapter } from "./stream.ts";
import { systemClock, type Timers } from "../clock/index.ts";

const adsServicePath = "/envoy.service.discovery.v3.AggregatedDiscoveryService";

function bidiMethod(name: string, requestSchema: DescMessage): grpc.MethodDefinition<unknown, Uint8Array> {
  return {
    path: `${adsServicePath}/${name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: () => {
      throw new Error("the ADS server never sends requests");
    },
    requestDeserialize: (bytes: Buffer) => fromBinary(requestSchema, bytes),
    // Responses are pre-encoded bytes (see wire.ts), so serialising is the identity.
    responseSerialize: (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    responseDeserialize: (bytes: Buffer) => bytes,
  };
}

const adsService: grpc.ServiceDefinition = {
  StreamAggregatedResources: bidiMethod("StreamAggregatedResources", DiscoveryRequestSchema),
  DeltaAggregatedResources: bidiMethod("DeltaAggregatedResources", DeltaDiscoveryRequestSchema),
};

export interface XdsServerOptions {
  readonly cache: ResourceCache;
  readonly metrics: MeshplaneMetrics;
  readonly logger: Logger;
  /** Identifies this control plane in every response (control_plane.identifier). */
  readonly controlPlaneId: string;
  /** Types packed inside resources (Any), for printing them as JSON in the config dump. */
  readonly jsonRegistry: Registry;
  readonly now?: () => Date;
  /** Timers for backoff retries; tests pass a FakeClock. */
  readonly timers?: Timers;
  /** Backoff before offering a newer version of a resource a proxy keeps rejecting. */
  readonly backoff?: Partial<BackoffPolicy>;
  readonly scheduling?: Partial<SchedulerOptions>;
  /** Streams beyond this are refused with RESOURCE_EXHAUSTED, bounding memory. */
  readonly maxStreams?: number;
}

type Call = grpc.ServerDuplexStream<unknown, Uint8Array>;

export class XdsServer implements ProxyStatusSource {
  private readonly server: grpc.Server;
  private readonly streams = new Map<number, { stream: AdsStream; call: Call }>();
  private readonly scheduler: PushScheduler<AdsStream>;
  private readonly options: XdsServerOptions;
  private readonly rejectionRegistry: RejectionRegistry;
  private readonly reach = new ReachIndex();
  private readonly backoff: BackoffPolicy;
  private nextStreamId = 1;
  private listening = false;

  constructor(options: XdsServerOptions) {
    this.options = options;
    this.rejectionRegistry = new RejectionRegistry(options.metrics.rejectedResources);
    this.backoff = { ...defaultBackoff, ...options.backoff };
    this.scheduler = new PushScheduler({ pushesPerTurn: 200, admissionsPerTurn: 100, ...options.scheduling });
    this.server = new grpc.Server({
      // Detect dead proxies and let idle connections live: a proxy holds its stream for hours.
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.http2.min_ping_interval_without_data_ms": 10_000,
      "grpc.max_receive_message_length": 16 * 1024 * 1024,
    });
    this.server.addService(adsService, {
      StreamAggregatedResources: (call: Call) =>
        this.openStream(call, sotwProtocol, (m) => normalizeSotwRequest(m as DiscoveryRequest)),
      DeltaAggregatedResources: (call: Call) =>
        this.openStream(call, deltaProtocol, (m) => normalizeDeltaRequest(m as DeltaDiscoveryRequest)),
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

  /** Makes `snapshot` current and pushes what changed to every stream; resolves when all were pushed. */
  async setSnapshot(snapshot: ConfigSnapshot): Promise<void> {
    const started = performance.now();
    this.options.cache.setSnapshot(snapshot);
    await this.scheduler.pushAll([...this.streams.values()].map((s) => s.stream));
    this.options.metrics.pushDuration.observe((performance.now() - started) / 1000);
  }

  /** Stops accepting, ends open streams, and forces the rest after `graceMs`. */
  async close(graceMs = 2000): Promise<void> {
    this.listening = false;
    // Ending the streams lets tryShutdown finish now instead of waiting out the grace period.
    for (const { stream, call } of this.streams.values()) {
      stream.close();
      call.end();
    }
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

  /** Open streams; cheap, unlike building every proxy's status. */
  get streamCount(): number {
    return this.streams.size;
  }

  proxies(): readonly ProxyStatus[] {
    return [...this.streams.values()].map((s) => s.stream.status());
  }

  rejections(): NackReport {
    return this.rejectionRegistry.report();
  }

  ackedCount(typeUrl: string, name: string): ResourceReach {
    return this.reach.count(typeUrl, name);
  }

  configDump(streamId: number): Record<string, Record<string, unknown>> | undefined {
    const entry = this.streams.get(streamId);
    if (!entry) return undefined;
    const dump: Record<string, Record<string, unknown>> = {};
    for (const [typeUrl, held] of entry.stream.heldResources()) {
      const resources: Record<string, unknown> = {};
      for (const resource of held) {
        resources[resource.name] = {
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

  private openStream(
    call: Call,
    protocol: ProtocolAdapter,
    normalize: (message: unknown) => NormalizedRequest,
  ): void {
    const { metrics, logger } = this.options;
    if (this.streams.size >= (this.options.maxStreams ?? 50_000)) {
      call.emit("error", {
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: "meshplane: too many xDS streams on this replica",
      });
      return;
    }
    const id = this.nextStreamId++;
    const stream = new AdsStream(id, protocol, {
      ...this.options,
      now: this.options.now ?? (() => new Date()),
      timers: this.options.timers ?? systemClock,
      backoff: this.backoff,
      rejections: this.rejectionRegistry,
      reach: this.reach,
      write: (bytes) => call.write(bytes),
    });
    this.streams.set(id, { stream, call });
    metrics.connectedProxies.inc({ protocol: protocol.name });
    // Requests wait here until the stream is admitted, so a connect storm is absorbed in bounded
    // batches instead of all at once.
    let backlog: NormalizedRequest[] | undefined = [];
    this.scheduler.admit(() => {
      const queued = backlog ?? [];
      backlog = undefined;
      for (const request of queued) this.handle(stream, call, request);
    });
    let ended = false;
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      stream.close();
      this.scheduler.forget(stream);
      this.streams.delete(id);
      metrics.connectedProxies.dec({ protocol: protocol.name });
      logger.info({ stream: id, node: stream.nodeId, reason }, "proxy disconnected");
    };
    call.on("data", (message: unknown) => {
      const request = normalize(message);
      if (backlog) backlog.push(request);
      else this.handle(stream, call, request);
    });
    call.on("end", () => {
      end("client closed the stream");
      call.end();
    });
    call.on("cancelled", () => end("cancelled"));
    call.on("error", (error: Error) => end(`error: ${error.message}`));
    call.on("close", () => end("closed"));
  }

  private handle(stream: AdsStream, call: Call, request: NormalizedRequest): void {
    try {
      stream.handleRequest(request);
    } catch (error) {
      this.options.logger.error(
        { stream: stream.id, err: error },
        "failed to handle xDS request; closing stream",
      );
      call.emit("error", {
        code: grpc.status.INTERNAL,
        details: "meshplane: internal error handling the request",
      });
    }
  }
}
