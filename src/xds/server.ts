// The ADS gRPC server: both protocol variants, the input limits at the edge of each stream and
// request, admission of new streams, snapshot fan-out through the push scheduler, and read-only
// state for the admin server.
import * as grpc from "@grpc/grpc-js";
import { toJson, type Registry } from "@bufbuild/protobuf";
import type {
  DeltaDiscoveryRequest,
  DiscoveryRequest,
} from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { excerpt, LimitExceededError, type Limits } from "../limits/index.ts";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import { AcceptListener, defaultAcceptBacklog, effectiveBacklog, readSomaxconn } from "./accept-listener.ts";
import { ResourceCache, type ConfigSnapshot } from "./cache.ts";
import { CsdsService, csdsServiceDefinition, type ClientState } from "./csds.ts";
import { deltaProtocol, normalizeDeltaRequest } from "./delta.ts";
import { ReachIndex } from "./reach.ts";
import { defaultBackoff, RejectionRegistry, type BackoffPolicy } from "./rejections.ts";
import {
  decodeRequest,
  deltaLayout,
  isRefusal,
  refusalStatus,
  sotwLayout,
  type RequestLayout,
  type RequestRefusal,
} from "./request-limits.ts";
import { typeShortName } from "./resource-types.ts";
import { PushIndex } from "./push-index.ts";
import { PushScheduler, type SchedulerOptions } from "./scheduler.ts";
import { normalizeSotwRequest, sotwProtocol } from "./sotw.ts";
import type { NackReport, ProxyStatus, ProxyStatusSource, ResourceReach, ServedResource } from "./status.ts";
import { StreamCounts, peerAddress } from "./stream-counts.ts";
import {
  AdsStream,
  type NormalizedRequest,
  type ProtocolAdapter,
  type StreamDependencies,
} from "./stream.ts";
import type { Subscription } from "./subscription.ts";
import { systemClock, type Timers } from "../clock/index.ts";
import { xdsServerCredentials, type XdsTls } from "./tls.ts";

const adsServicePath = "/envoy.service.discovery.v3.AggregatedDiscoveryService";

/**
 * A request is decoded only once it is within the limits (request-limits.ts); a refused one
 * reaches the stream's handler as its refusal, so the stream can end with a status saying why.
 */
function bidiMethod(
  name: string,
  layout: RequestLayout,
  limits: Limits,
): grpc.MethodDefinition<unknown, Uint8Array> {
  return {
    path: `${adsServicePath}/${name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: () => {
      throw new Error("the ADS server never sends requests");
    },
    requestDeserialize: (bytes: Buffer) => decodeRequest(bytes, layout, limits),
    // Responses are pre-encoded bytes (see wire.ts), so serialising is the identity.
    responseSerialize: (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    responseDeserialize: (bytes: Buffer) => bytes,
  };
}

function adsService(limits: Limits): grpc.ServiceDefinition {
  return {
    StreamAggregatedResources: bidiMethod("StreamAggregatedResources", sotwLayout, limits),
    DeltaAggregatedResources: bidiMethod("DeltaAggregatedResources", deltaLayout, limits),
  };
}

/**
 * The longest resource name meshplane generates, in bytes, as a request encodes it:
 * `outbound|65535||` + a 63-character Service + `.` + a 63-character namespace +
 * `.svc.cluster.local`, and a 3-byte tag and length.
 */
const longestNameBytes = 168;

/**
 * The largest request grpc-js accepts (`grpc.max_receive_message_length`). grpc-js buffers a
 * request whole before the limits are checked, so this bounds what one request costs before
 * then: at most this much per stream being received (16 MiB with the default limits). It is
 * what the other limits allow a real proxy to send: `xds.namesPerRequest` names of the longest
 * kind meshplane generates, node metadata and ids at their limits, and 64 KiB for the rest. So
 * the limits, which name themselves in the refusal, are what refuse a big request, and raising
 * one raises this with it.
 */
export function maxRequestBytes(limits: Limits): number {
  return (
    limits["xds.namesPerRequest"] * longestNameBytes +
    limits["xds.nodeMetadataBytes"] +
    2 * limits["xds.nodeIdBytes"] +
    64 * 1024
  );
}

export interface XdsServerOptions {
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
  /** Input limits; the `xds.*` ones apply here (see request-limits.ts and stream-counts.ts). */
  readonly limits: Limits;
  /** Accept-queue length of the listening socket (default 4096, capped by net.core.somaxconn). */
  readonly acceptBacklog?: number;
}

type Call = grpc.ServerDuplexStream<unknown, Uint8Array>;

export class XdsServer implements ProxyStatusSource {
  private readonly server: grpc.Server;
  private readonly streams = new Map<number, { stream: AdsStream; call: Call }>();
  private readonly counts: StreamCounts;
  private readonly cache: ResourceCache;
  private readonly scheduler: PushScheduler<AdsStream>;
  private readonly options: XdsServerOptions;
  private readonly rejectionRegistry: RejectionRegistry;
  private readonly reach = new ReachIndex();
  /** Which subscriptions a change concerns; shared by every stream's subscriptions. */
  private readonly index = new PushIndex<Subscription>();
  private readonly streamDependencies: StreamDependencies;
  private nextStreamId = 1;
  private listening = false;
  private listener: AcceptListener | undefined;

  constructor(options: XdsServerOptions) {
    this.options = options;
    const { limits } = options;
    this.cache = new ResourceCache({ metrics: options.metrics, unknownNames: limits["xds.unknownNames"] });
    this.counts = new StreamCounts(limits);
    this.rejectionRegistry = new RejectionRegistry(options.metrics.rejectedResources);
    this.scheduler = new PushScheduler(
      { pushesPerTurn: 200, admissionsPerTurn: 100, ...options.scheduling },
      (stream, error) => this.pushFailed(stream, error),
    );
    this.streamDependencies = {
      ...options,
      cache: this.cache,
      now: options.now ?? (() => new Date()),
      timers: options.timers ?? systemClock,
      backoff: { ...defaultBackoff, ...options.backoff },
      rejections: this.rejectionRegistry,
      reach: this.reach,
      subscriptions: { index: this.index, maxNames: limits["xds.namesPerRequest"] },
      schedule: (stream, urgent) => this.scheduler.queue(stream, urgent),
    };
    this.server = new grpc.Server({
      // Detect dead proxies and let idle connections live: a proxy holds its stream for hours.
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.http2.min_ping_interval_without_data_ms": 10_000,
      "grpc.max_receive_message_length": maxRequestBytes(limits),
      // HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: the client holds back streams beyond it.
      "grpc.max_concurrent_streams": limits["xds.streamsPerConnection"],
    });
    this.server.addService(adsService(limits), {
      StreamAggregatedResources: (call: Call) =>
        this.openStream(call, sotwProtocol, (m) => normalizeSotwRequest(m as DiscoveryRequest)),
      DeltaAggregatedResources: (call: Call) =>
        this.openStream(call, deltaProtocol, (m) => normalizeDeltaRequest(m as DeltaDiscoveryRequest)),
    });
    // CSDS on the same port: debugging tools find it where the clients' config comes from.
    const csds = new CsdsService({
      clients: () => this.clientStates(),
      limits,
      metrics: options.metrics,
      logger: options.logger,
    });
    this.server.addService(csdsServiceDefinition(limits), csds.handlers());
  }

  get serving(): boolean {
    return this.listening;
  }

  /**
   * Listens on host:port through a net.Server with the configured accept backlog (see
   * accept-listener.ts) and serves ADS on every connection it accepts; over TLS when `tls` is
   * given (tls.ts).
   */
  async listen(host: string, port: number, tls?: XdsTls): Promise<{ host: string; port: number }> {
    const requested = this.options.acceptBacklog ?? defaultAcceptBacklog;
    const somaxconn = readSomaxconn();
    const backlog = effectiveBacklog(requested, somaxconn);
    if (backlog < requested) {
      this.options.logger.warn(
        { requested, backlog, somaxconn },
        `xDS accept backlog ${requested} is capped by net.core.somaxconn: ${backlog} (raise it with sysctl net.core.somaxconn)`,
      );
    }
    const injector = this.server.createConnectionInjector(
      tls ? xdsServerCredentials(tls) : grpc.ServerCredentials.createInsecure(),
    );
    try {
      this.listener = await AcceptListener.open({
        host,
        port,
        backlog: requested,
        inject: (connection) => injector.injectConnection(connection),
        onAcceptError: (error) => this.options.logger.warn({ err: error }, "xDS accept failed"),
      });
    } catch (error) {
      injector.destroy();
      throw error;
    }
    this.listening = true;
    return { host, port: this.listener.port };
  }

  /**
   * Makes `snapshot` current and queues a push to the streams holding or asking for what it
   * changed (all of them when it has no change set); resolves when those were pushed.
   */
  async setSnapshot(snapshot: ConfigSnapshot): Promise<void> {
    const started = performance.now();
    snapshot.trace?.pushing({
      "meshplane.version": snapshot.version,
      "meshplane.xds.streams": this.streams.size,
    });
    const invalidation = this.cache.setSnapshot(snapshot);
    if (invalidation.everything) {
      for (const { stream } of this.streams.values()) stream.invalidateAll();
    } else {
      this.index.visit(invalidation, (subscription) =>
        subscription.observer.invalidated(subscription.typeUrl),
      );
    }
    await this.scheduler.drained();
    snapshot.trace?.pushed();
    this.options.metrics.pushDuration.observe((performance.now() - started) / 1000);
  }

  /** Stops accepting, ends open streams, and forces the rest after `graceMs`. */
  async close(graceMs = 2000): Promise<void> {
    this.listening = false;
    const accepted = this.listener?.close(graceMs);
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
    await accepted;
  }

  /** Open streams; cheap, unlike building every proxy's status. */
  get streamCount(): number {
    return this.streams.size;
  }

  /**
   * The client groups of the connected proxies ("grpc-python/1.51", "grpc-js/1.14"), each once,
   * sorted: what status predicts client verdicts for. Cheap: no per-proxy status is built.
   */
  clientGroups(): string[] {
    const groups = new Set<string>();
    for (const { stream } of this.streams.values()) {
      const group = stream.clientGroup;
      if (group) groups.add(group);
    }
    return [...groups].sort();
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

  /** The resources generated for the current configuration, each with the objects it was built from. */
  *served(): Iterable<ServedResource> {
    for (const { typeUrl, resource } of this.cache.resources()) {
      yield { typeUrl, name: resource.name, objects: resource.source.provenance.objects };
    }
  }

  /** The connected proxies that identified themselves, as CSDS reports them. */
  private *clientStates(): Iterable<ClientState> {
    for (const { stream } of this.streams.values()) {
      const state = stream.clientState();
      if (state) yield state;
    }
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
    const peer = peerAddress(call.getPeer());
    const refused = this.counts.open(peer);
    if (refused) {
      this.refuse(call, { refused, node: undefined }, peer, undefined);
      return;
    }
    const id = this.nextStreamId++;
    const stream = new AdsStream(id, protocol, this.streamDependencies, (bytes) => call.write(bytes));
    this.streams.set(id, { stream, call });
    metrics.connectedProxies.inc({ protocol: protocol.name });
    // Requests wait here until the stream is admitted, so a connect storm is absorbed in bounded
    // batches instead of all at once.
    let backlog: NormalizedRequest[] | undefined = [];
    this.scheduler.admit(() => {
      const queued = backlog ?? [];
      backlog = undefined;
      for (const request of queued) this.handle(stream, call, request, peer);
    });
    let ended = false;
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      if (backlog) backlog.length = 0;
      stream.close();
      this.scheduler.forget(stream);
      this.streams.delete(id);
      this.counts.close(peer);
      metrics.connectedProxies.dec({ protocol: protocol.name });
      // Paired with "proxy connected": a stream that never said who it is was not a proxy yet.
      if (stream.nodeId !== undefined) {
        logger.info({ stream: id, node: stream.nodeId, reason }, "proxy disconnected");
      }
    };
    call.on("data", (message: unknown) => {
      if (ended) return;
      if (isRefusal(message)) {
        this.refuse(call, message, peer, stream);
        return;
      }
      const request = normalize(message);
      if (backlog) backlog.push(request);
      else this.handle(stream, call, request, peer);
    });
    call.on("end", () => {
      end("client closed the stream");
      call.end();
    });
    call.on("cancelled", () => end("cancelled"));
    call.on("error", (error: Error) => end(`error: ${error.message}`));
    call.on("close", () => end("closed"));
  }

  private handle(stream: AdsStream, call: Call, request: NormalizedRequest, peer: string): void {
    try {
      stream.handleRequest(request);
    } catch (error) {
      if (error instanceof LimitExceededError) {
        this.refuse(call, { refused: error, node: undefined }, peer, stream);
        return;
      }
      this.options.logger.error(
        { stream: stream.id, err: error },
        "failed to handle xDS request; closing stream",
      );
      endWithStatus(call, grpc.status.INTERNAL, "meshplane: internal error handling the request");
    }
  }

  /** A push threw (not a translator fault: those are issues on objects): the stream ends. */
  private pushFailed(stream: AdsStream, error: unknown): void {
    this.options.logger.error({ stream: stream.id, err: error }, "failed to push to a proxy; closing stream");
    const call = this.streams.get(stream.id)?.call;
    if (call) endWithStatus(call, grpc.status.INTERNAL, "meshplane: internal error pushing configuration");
  }

  /**
   * Ends the stream with a status that names the limit (RESOURCE_EXHAUSTED for a count,
   * INVALID_ARGUMENT for a size or a malformed request), counts the refusal and logs one line
   * that identifies the proxy by an excerpt of its node id, never by what it sent in full.
   */
  private refuse(call: Call, refusal: RequestRefusal, peer: string, stream: AdsStream | undefined): void {
    const { refused } = refusal;
    if (refused instanceof LimitExceededError)
      this.options.metrics.inputRefusals.inc({ limit: refused.limit });
    const node = refusal.node ?? (stream?.nodeId === undefined ? undefined : excerpt(stream.nodeId));
    this.options.logger.warn(
      {
        stream: stream?.id,
        peer,
        node,
        ...(refused instanceof LimitExceededError ? { limit: refused.limit } : {}),
        reason: refused.message,
      },
      "xDS request refused; stream ended",
    );
    endWithStatus(call, refusalStatus(refused), `meshplane: ${refused.message}`);
  }
}

/** grpc-js sends an error emitted on a server stream as the stream's status, and ends it. */
function endWithStatus(call: Call, code: grpc.status, details: string): void {
  call.emit("error", { code, details, message: details });
}
