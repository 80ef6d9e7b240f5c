// One simulated proxyless gRPC client on a state-of-the-world ADS stream, behaving as
// @grpc/grpc-js-xds 1.14 does (xds-client.ts): every request of a type lists all subscribed names
// with the type's last accepted version_info and the last nonce received on this stream; the node
// goes in the first request of a stream only; new names down the chain are subscribed while a
// response is handled, then the response is ACKed; on a new stream every type is re-requested.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { NodeSchema, type Node } from "../../src/gen/envoy/config/core/v3/base_pb.js";
import {
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { TypeUrl } from "../../src/xds/resource-types.ts";
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

const serialize = (request: DiscoveryRequest): Buffer =>
  Buffer.from(toBinary(DiscoveryRequestSchema, request));

export class SotwProxy implements SimProxy {
  readonly index: number;
  readonly view: ProxyView;
  readonly seen = new Set<number>();
  connectStartedAt = 0;
  syncedAt = 0;
  bytes = 0;
  responses = 0;
  readonly resent = 0;
  private readonly node: Node;
  private readonly address: string;
  private readonly hooks: ProxyHooks;
  private client: grpc.Client | undefined;
  private call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  /** Last accepted version per type; kept across streams, as grpc-js-xds does. */
  private readonly versions = new Map<string, string>();
  /** Per stream: last nonce received, last names sent, types answered. */
  private nonces = new Map<string, string>();
  private sentNames = new Map<string, string>();
  private answered = new Set<string>();
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
    this.nonces = new Map();
    this.sentNames = new Map();
    this.answered = new Set();
    this.sentNode = false;
    const client = new grpc.Client(this.address, grpc.credentials.createInsecure(), clientOptions);
    const call = client.makeBidiStreamRequest(
      `${adsPath}/StreamAggregatedResources`,
      serialize,
      (bytes: Buffer) => {
        this.bytes += bytes.length;
        return fromBinary(DiscoveryResponseSchema, bytes);
      },
    );
    this.client = client;
    this.call = call;
    call.on("data", (response: DiscoveryResponse) => {
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
      if (names.length > 0) this.request(typeUrl, names);
    }
  }

  disconnect(): void {
    this.generation++;
    this.call?.cancel();
    this.client?.close();
    this.call = undefined;
    this.client = undefined;
  }

  private request(typeUrl: ChainType, names: readonly string[]): void {
    const request = create(DiscoveryRequestSchema, {
      node: this.sentNode ? undefined : this.node,
      typeUrl,
      versionInfo: this.versions.get(typeUrl) ?? "",
      responseNonce: this.nonces.get(typeUrl) ?? "",
      resourceNames: [...names],
    });
    this.sentNode = true;
    this.sentNames.set(typeUrl, names.join("\n"));
    this.call?.write(request);
  }

  private handle(response: DiscoveryResponse): void {
    const typeUrl = response.typeUrl as ChainType;
    if (!chain.includes(typeUrl)) return;
    this.responses++;
    const held = this.view.of(typeUrl);
    const matched: number[] = [];
    const received = new Set<string>();
    for (const any of response.resources) {
      const decoded = decodeResource(typeUrl, any);
      received.add(decoded.name);
      held.set(decoded.name, { refs: decoded.refs, version: "" });
      matchWatches(this.hooks, this, typeUrl, decoded, matched);
    }
    // LDS and CDS carry the full state: a held name missing from the response was deleted.
    if (typeUrl === TypeUrl.Listener || typeUrl === TypeUrl.Cluster) {
      for (const name of [...held.keys()]) if (!received.has(name)) held.delete(name);
    }
    this.versions.set(typeUrl, response.versionInfo);
    this.nonces.set(typeUrl, response.nonce);
    this.answered.add(typeUrl);
    const wanted = this.view.allWanted();
    for (const other of chain) {
      if (other === typeUrl) continue;
      const names = wanted.get(other) ?? [];
      const sent = this.sentNames.get(other);
      if (sent === undefined ? names.length > 0 : sent !== names.join("\n")) this.request(other, names);
    }
    this.request(typeUrl, wanted.get(typeUrl) ?? []); // the ACK
    const at = this.hooks.now();
    for (const id of matched) {
      this.seen.add(id);
      this.hooks.onSeen(id, this, at);
    }
    if (this.syncedAt === 0 && this.view.complete(wanted) && this.answeredAll(wanted)) {
      this.syncedAt = at;
      this.hooks.onSynced(this, at);
    }
  }

  /** On this stream, every type with subscriptions has been answered (a resumed SotW stream resends all). */
  private answeredAll(wanted: Map<ChainType, string[]>): boolean {
    for (const [typeUrl, names] of wanted) if (names.length > 0 && !this.answered.has(typeUrl)) return false;
    return true;
  }
}
