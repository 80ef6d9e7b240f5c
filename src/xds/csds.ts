// The Client Status Discovery Service (envoy/service/status/v3/csds.proto), served beside ADS so
// standard xDS debugging tools can ask the control plane, per connected client, what it asked for,
// holds, and rejected. gRFC A40 defines what gRPC clients report of themselves; this is the
// management-server side of the same messages. Everything is read from the state the ADS streams
// already keep (subscription.ts): answering never resolves, translates or encodes a resource.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AnySchema, timestampFromDate, type Any } from "@bufbuild/protobuf/wkt";
import {
  ClientResourceStatus,
  UpdateFailureStateSchema,
} from "../gen/envoy/admin/v3/config_dump_shared_pb.js";
import type { Node } from "../gen/envoy/config/core/v3/base_pb.js";
import {
  ClientConfig_GenericXdsConfigSchema,
  ClientConfigSchema,
  ClientStatusRequestSchema,
  ConfigStatus,
  type ClientConfig_GenericXdsConfig,
  type ClientStatusRequest,
} from "../gen/envoy/service/status/v3/csds_pb.js";
import type { NodeMatcher } from "../gen/envoy/type/matcher/v3/node_pb.js";
import type { StringMatcher } from "../gen/envoy/type/matcher/v3/string_pb.js";
import { excerpt, LimitExceededError, type Limits } from "../limits/index.ts";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import type { EncodedResource, ResolvedResources } from "./cache.ts";
import type { Rejection } from "./rejections.ts";
import { MalformedRequestError } from "./request-limits.ts";
import { absent, heldResource, heldVersion, type Held, type InFlight } from "./subscription.ts";
import { encodeRepeated } from "./wire.ts";
import { WireScan, WireType } from "./wire-scan.ts";

const csdsServicePath = "/envoy.service.status.v3.ClientStatusDiscoveryService";

/** ClientStatusRequest.node_matchers */
const nodeMatchersField = 1;
/** ClientStatusResponse.config */
const configField = 1;

/** A request the service refuses, with the gRPC status it is answered with. */
export class CsdsRequestError extends Error {
  readonly code: grpc.status;

  constructor(code: grpc.status, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CsdsRequestError";
    this.code = code;
  }
}

type DecodedRequest = ClientStatusRequest | LimitExceededError | MalformedRequestError;

/**
 * Decodes a request once its node matchers are counted on the encoded bytes and within
 * `csds.nodeMatchers`; the size of the whole request is bounded by the server's receive limit.
 */
export function decodeStatusRequest(bytes: Uint8Array, limits: Limits): DecodedRequest {
  const max = limits["csds.nodeMatchers"];
  let matchers = 0;
  const scan = new WireScan(bytes, 0, bytes.length, ClientStatusRequestSchema);
  for (let field = scan.next(); field; field = scan.next()) {
    if (field.number !== nodeMatchersField || field.wireType !== WireType.lengthDelimited) continue;
    // Counting stops at the limit: the rest would cost a pass the refusal does not need.
    if (++matchers > max) {
      return new LimitExceededError("csds.nodeMatchers", max, "the node matchers in this CSDS request");
    }
  }
  if (scan.malformed) return new MalformedRequestError(ClientStatusRequestSchema.typeName);
  try {
    return fromBinary(ClientStatusRequestSchema, bytes);
  } catch (error) {
    return new MalformedRequestError(ClientStatusRequestSchema.typeName, error);
  }
}

function method(name: string, stream: boolean, limits: Limits): grpc.MethodDefinition<unknown, Uint8Array> {
  return {
    path: `${csdsServicePath}/${name}`,
    requestStream: stream,
    responseStream: stream,
    requestSerialize: () => {
      throw new Error("the CSDS server never sends requests");
    },
    requestDeserialize: (bytes: Buffer) => decodeStatusRequest(bytes, limits),
    // Responses are encoded by the service (see answer()), so serialising is the identity.
    responseSerialize: (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    responseDeserialize: (bytes: Buffer) => bytes,
  };
}

export function csdsServiceDefinition(limits: Limits): grpc.ServiceDefinition {
  return {
    StreamClientStatus: method("StreamClientStatus", true, limits),
    FetchClientStatus: method("FetchClientStatus", false, limits),
  };
}

/** What CSDS reads of one subscription (subscription.ts keeps it per stream and type). */
export interface SubscriptionState {
  readonly typeUrl: string;
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
  readonly held: ReadonlyMap<string, Held>;
  readonly rejections: ReadonlyMap<string, Rejection>;
  readonly inFlight: InFlight | undefined;
  readonly target: ResolvedResources | undefined;
}

/** One connected client: its node and its subscriptions. */
export interface ClientState {
  readonly node: Node;
  readonly subscriptions: Iterable<SubscriptionState>;
}

export interface CsdsServiceOptions {
  /** The connected clients that identified themselves, read when a request arrives. */
  readonly clients: () => Iterable<ClientState>;
  readonly limits: Limits;
  readonly metrics: Pick<MeshplaneMetrics, "inputRefusals">;
  readonly logger: Logger;
}

type UnaryCall = grpc.ServerUnaryCall<DecodedRequest, Uint8Array>;
type StreamCall = grpc.ServerDuplexStream<DecodedRequest, Uint8Array>;

export class CsdsService {
  private readonly options: CsdsServiceOptions;

  constructor(options: CsdsServiceOptions) {
    this.options = options;
  }

  handlers(): grpc.UntypedServiceImplementation {
    return {
      FetchClientStatus: (call: UnaryCall, callback: grpc.sendUnaryData<Uint8Array>) => {
        const answer = this.answer(call.request, call.getPeer());
        if (answer instanceof CsdsRequestError) callback({ code: answer.code, details: answer.message });
        else callback(null, answer);
      },
      // xDS-style: one response per request on the stream, each the state at that moment.
      StreamClientStatus: (call: StreamCall) => {
        call.on("data", (request: DecodedRequest) => {
          const answer = this.answer(request, call.getPeer());
          if (answer instanceof CsdsRequestError) {
            // grpc-js sends an error emitted on a server stream as its status, and ends it.
            call.emit("error", { code: answer.code, details: answer.message, message: answer.message });
            return;
          }
          call.write(answer);
        });
        call.on("end", () => call.end());
        call.on("error", () => {});
      },
    };
  }

  /** The encoded ClientStatusResponse for `request`, or why it is refused. */
  answer(request: DecodedRequest, peer: string): Uint8Array | CsdsRequestError {
    const { limits, metrics, logger } = this.options;
    const refuse = (error: CsdsRequestError, limit?: LimitExceededError) => {
      if (limit) metrics.inputRefusals.inc({ limit: limit.limit });
      logger.warn({ peer, reason: error.message }, "CSDS request refused");
      return error;
    };
    if (request instanceof LimitExceededError) {
      return refuse(new CsdsRequestError(grpc.status.RESOURCE_EXHAUSTED, request.message), request);
    }
    if (request instanceof MalformedRequestError) {
      return refuse(new CsdsRequestError(grpc.status.INVALID_ARGUMENT, request.message));
    }
    let matches: (node: Node) => boolean;
    try {
      matches = nodeFilter(request.nodeMatchers);
    } catch (error) {
      if (error instanceof CsdsRequestError) return refuse(error);
      throw error;
    }
    const contents = !request.excludeResourceContents;
    const max = limits["csds.responseBytes"];
    const configs: Uint8Array[] = [];
    let bytes = 0;
    for (const client of this.options.clients()) {
      if (!matches(client.node)) continue;
      const config = toBinary(ClientConfigSchema, clientConfig(client, contents));
      configs.push(config);
      // A field's tag and length take a few bytes more; the bound is on the configs.
      bytes += config.length;
      if (bytes > max) {
        const limit = new LimitExceededError(
          "csds.responseBytes",
          max,
          "the CSDS response (narrow it with node_matchers, or set exclude_resource_contents)",
        );
        return refuse(new CsdsRequestError(grpc.status.RESOURCE_EXHAUSTED, limit.message), limit);
      }
    }
    return encodeRepeated(configField, configs);
  }
}

/**
 * Which clients a request asks for: those matching any of its node matchers (OR, csds.proto), or
 * every client when it has none. Only the node id is matched, and not by regular expression:
 * matching by metadata needs metadata meshplane does not keep per stream, and an RE2 expression
 * cannot be run safely as a JavaScript one. Both are refused as UNIMPLEMENTED instead of ignored.
 */
export function nodeFilter(matchers: readonly NodeMatcher[]): (node: Node) => boolean {
  if (matchers.length === 0) return () => true;
  const tests = matchers.map((matcher, i) => {
    if (matcher.nodeMetadatas.length > 0) {
      throw new CsdsRequestError(
        grpc.status.UNIMPLEMENTED,
        `node_matchers[${i}].node_metadatas: matching on node metadata is not supported; match on node_id`,
      );
    }
    const id = matcher.nodeId;
    return id ? stringTest(id, `node_matchers[${i}].node_id`) : () => true;
  });
  return (node) => tests.some((test) => test(node.id));
}

function stringTest(matcher: StringMatcher, field: string): (value: string) => boolean {
  const fold = (value: string) => (matcher.ignoreCase ? value.toLowerCase() : value);
  const pattern = matcher.matchPattern;
  switch (pattern.case) {
    case "exact": {
      const expected = fold(pattern.value);
      return (value) => fold(value) === expected;
    }
    case "prefix": {
      const prefix = fold(pattern.value);
      return (value) => fold(value).startsWith(prefix);
    }
    case "suffix": {
      const suffix = fold(pattern.value);
      return (value) => fold(value).endsWith(suffix);
    }
    case "contains": {
      const part = fold(pattern.value);
      return (value) => fold(value).includes(part);
    }
    default:
      throw new CsdsRequestError(
        grpc.status.UNIMPLEMENTED,
        `${field}: ${excerpt(pattern.case ?? "an empty matcher")} is not supported; use exact, prefix, suffix or contains`,
      );
  }
}

function clientConfig(client: ClientState, contents: boolean) {
  const genericXdsConfigs: ClientConfig_GenericXdsConfig[] = [];
  for (const subscription of client.subscriptions) {
    genericXdsConfigs.push(...resourceStatuses(subscription, contents));
  }
  return create(ClientConfigSchema, { node: client.node, genericXdsConfigs });
}

/**
 * Per resource of one subscription: what the client holds (`client_status`, as the client itself
 * would report it per gRFC A40) and where the server stands (`config_status`). A subscription to
 * everything (wildcard) lists what the server means it to have and what it holds or rejected.
 *
 * - NACKED: the client rejected the resource's newest version offered and keeps its last good one
 *   (`xds_config`, when it has one); `error_state` carries the client's error, the rejected version
 *   and when it was last rejected.
 * - ACKED: the client accepted the version in `version_info` (the resource's content hash: its
 *   version in delta xDS and in /debug/config_dump).
 * - DOES_NOT_EXIST: the server told the client it is gone (delta), or has no such resource for it.
 * - REQUESTED: asked for, not yet accepted in any version.
 */
export function resourceStatuses(
  subscription: SubscriptionState,
  contents: boolean,
): ClientConfig_GenericXdsConfig[] {
  const targets = byName(subscription.target?.resources ?? []);
  const sent = byName(subscription.inFlight?.resources ?? []);
  const names = subscription.wildcard
    ? new Set([
        ...subscription.names,
        ...subscription.held.keys(),
        ...targets.keys(),
        ...subscription.rejections.keys(),
      ])
    : subscription.names;
  const evaluated = subscription.target !== undefined;
  return [...names].sort().map((name) => {
    const held = subscription.held.get(name);
    const rejection = subscription.rejections.get(name);
    const target = targets.get(name);
    const version = heldVersion(held);
    const accepted = heldResource(held);
    const clientStatus = rejection
      ? ClientResourceStatus.NACKED
      : held === absent || (version === undefined && evaluated && !target)
        ? ClientResourceStatus.DOES_NOT_EXIST
        : version !== undefined
          ? ClientResourceStatus.ACKED
          : ClientResourceStatus.REQUESTED;
    const inFlight = sent.get(name);
    // The version the server wants is sent and unanswered: STALE, even after a NACK of an older one.
    const configStatus =
      target && inFlight?.hash === target.hash && version !== target.hash
        ? ConfigStatus.STALE
        : rejection
          ? ConfigStatus.ERROR
          : target
            ? version === target.hash
              ? ConfigStatus.SYNCED
              : ConfigStatus.NOT_SENT
            : held === absent
              ? ConfigStatus.SYNCED
              : ConfigStatus.NOT_SENT;
    return create(ClientConfig_GenericXdsConfigSchema, {
      typeUrl: subscription.typeUrl,
      name,
      versionInfo: version ?? "",
      xdsConfig: contents && accepted ? anyOf(accepted) : undefined,
      configStatus,
      clientStatus,
      errorState: rejection
        ? create(UpdateFailureStateSchema, {
            // The rejected version is still at hand only while it is what the server wants to serve.
            failedConfiguration:
              contents && target?.hash === rejection.rejectedHash ? anyOf(target) : undefined,
            lastUpdateAttempt: timestampFromDate(rejection.at),
            details: rejection.error,
            versionInfo: rejection.rejectedHash,
          })
        : undefined,
    });
  });
}

function byName(resources: readonly EncodedResource[]): Map<string, EncodedResource> {
  return new Map(resources.map((resource) => [resource.name, resource]));
}

/** The resource's shared Any bytes, decoded (the value is a view of them, not a copy). */
function anyOf(resource: EncodedResource): Any {
  return fromBinary(AnySchema, resource.any);
}
