// One simulated proxy on an incremental (delta) ADS stream, written to the xDS protocol
// ("Incremental xDS"): subscriptions change by resource_names_subscribe/unsubscribe, responses
// carry only changed resources with per-resource versions plus removed_resources, every response
// is ACKed by its nonce alone, and a new stream announces what the proxy already holds in
// initial_resource_versions so the server can skip it. grpc-js-xds has no delta client; this one
// follows the same resolution chain as the SotW proxy.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { NodeSchema, type Node } from "../../src/gen/envoy/config/core/v3/base_pb.js";
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { decodeResource } from "./decode.ts";
import {
  adsPath,
  chain,
  clientOptions,
  matchWatches,
  nodeFields,
  ProxyView,
  type ChainType,
  type ProxyHooks,
  type SimProxy,
} from "./proxy-view.ts";

const serialize = (request: DeltaDiscoveryRequest): Buffer =>
  Buffer.from(toBinary(DeltaDiscoveryRequestSchema, request));

export class DeltaProxy implements SimProxy {
  readonly index: number;
  readonly view: ProxyView;
  readonly seen = new Set<number>();
  connectStartedAt = 0;
  syncedAt = 0;
  bytes = 0;
  responses = 0;
  resent = 0;
  private readonly node: Node;
  private readonly address: string;
  private readonly hooks: ProxyHooks;
  private client: grpc.Client | undefined;
  private call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> | undefined;
  /** Per stream: names subscribed, versions announced on resume, channel ready. */
  private subscribed = new Map<string, Set<string>>();
  private announced = new Map<string, Map<string, string>>();
  private ready = false;
  private sentNode = false;
  private generation = 0;

  constructor(
    index: number,
    nodeId: string,
    namespace: string,
    targets: readonly string[],
    address: string,
    hooks: ProxyHooks,
  ) {
    this.index = index;
    this.view = new ProxyView(targets);
    this.node = create(NodeSchema, nodeFields(nodeId, namespace));
    this.address = address;
    this.hooks = hooks;
  }

  connect(): void {
    this.disconnect();
    const generation = ++this.generation;
    this.connectStartedAt = this.hooks.now();
    this.syncedAt = 0;
    this.subscribed = new Map();
    this.announced = new Map();
    this.ready = false;
    this.sentNode = false;
    const client = new grpc.Client(this.address, grpc.credentials.createInsecure(), clientOptions);
    const call = client.makeBidiStreamRequest(
      `${adsPath}/DeltaAggregatedResources`,
      serialize,
      (bytes: Buffer) => {
        this.bytes += bytes.length;
        return fromBinary(DeltaDiscoveryResponseSchema, bytes);
      },
    );
    this.client = client;
    this.call = call;
    call.on("data", (response: DeltaDiscoveryResponse) => {
      if (generation !== this.generation) return;
      try {
        this.handle(response);
      } catch (error) {
        this.hooks.onError(this, `bad ${response.typeUrl} response: ${(error as Error).message}`);
      }
    });
    call.on("error", (error: Error) => {
      if (generation === this.generation) this.hooks.onError(this, error.message);
    });
    const wanted = this.view.allWanted();
    for (const typeUrl of chain) {
      const names = wanted.get(typeUrl) ?? [];
      if (names.length === 0) continue;
      const held = this.view.of(typeUrl);
      // Resuming: announce every wanted resource already held, at the version held.
      const initial = new Map(names.flatMap((n) => (held.has(n) ? [[n, held.get(n)?.version ?? ""]] : [])));
      this.announced.set(typeUrl, initial);
      this.subscribe(typeUrl, names, [], Object.fromEntries(initial));
    }
    client.waitForReady(Date.now() + 120_000, (error) => {
      if (generation !== this.generation) return;
      if (error) return this.hooks.onError(this, `channel not ready: ${error.message}`);
      this.ready = true;
      this.checkSynced(this.view.allWanted(), this.hooks.now());
    });
  }

  disconnect(): void {
    this.generation++;
    this.call?.cancel();
    this.client?.close();
    this.call = undefined;
    this.client = undefined;
  }

  private subscribe(
    typeUrl: ChainType,
    add: readonly string[],
    remove: readonly string[],
    initialResourceVersions: Record<string, string> = {},
  ): void {
    let names = this.subscribed.get(typeUrl);
    if (!names) this.subscribed.set(typeUrl, (names = new Set()));
    for (const n of add) names.add(n);
    for (const n of remove) names.delete(n);
    this.write({
      typeUrl,
      resourceNamesSubscribe: [...add],
      resourceNamesUnsubscribe: [...remove],
      initialResourceVersions,
    });
  }

  private write(fields: MessageInitShape<typeof DeltaDiscoveryRequestSchema>): void {
    const request = create(DeltaDiscoveryRequestSchema, {
      ...fields,
      node: this.sentNode ? undefined : this.node,
    });
    this.sentNode = true;
    this.call?.write(request);
  }

  private handle(response: DeltaDiscoveryResponse): void {
    const typeUrl = response.typeUrl as ChainType;
    if (!chain.includes(typeUrl)) return;
    this.responses++;
    const held = this.view.of(typeUrl);
    const announced = this.announced.get(typeUrl);
    const matched: number[] = [];
    for (const resource of response.resources) {
      if (!resource.resource) continue;
      const decoded = decodeResource(typeUrl, resource.resource);
      if (announced?.get(resource.name) === resource.version) this.resent++;
      held.set(resource.name, { refs: decoded.refs, version: resource.version });
      matchWatches(this.hooks, this, typeUrl, decoded, matched);
    }
    for (const name of response.removedResources) held.delete(name);
    const wanted = this.view.allWanted();
    for (const other of chain) {
      if (other === typeUrl) continue;
      const names = wanted.get(other) ?? [];
      const current = this.subscribed.get(other) ?? new Set<string>();
      const add = names.filter((n) => !current.has(n));
      const keep = new Set(names);
      const remove = [...current].filter((n) => !keep.has(n));
      if (add.length === 0 && remove.length === 0) continue;
      this.subscribe(other, add, remove);
      const otherHeld = this.view.of(other);
      for (const n of remove) otherHeld.delete(n);
    }
    this.write({ typeUrl, responseNonce: response.nonce }); // the ACK
    const at = this.hooks.now();
    for (const id of matched) {
      this.seen.add(id);
      this.hooks.onSeen(id, this, at);
    }
    this.checkSynced(wanted, at);
  }

  /** Synced: the stream is up and every wanted resource is held (a resumed stream may get nothing). */
  private checkSynced(wanted: ReturnType<ProxyView["allWanted"]>, at: number): void {
    if (this.syncedAt !== 0 || !this.ready || !this.view.complete(wanted)) return;
    this.syncedAt = at;
    this.hooks.onSynced(this, at);
  }
}
