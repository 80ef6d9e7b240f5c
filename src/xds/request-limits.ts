// The input limits of an ADS request, checked on its encoded bytes before it is decoded: a
// request naming a million resources or carrying a 10 MB node id is refused after one pass over
// bytes already received, before a million strings or a 10 MB string exist. Field numbers are
// those of envoy/service/discovery/v3/discovery.proto and envoy/config/core/v3/base.proto.
import * as grpc from "@grpc/grpc-js";
import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { NodeSchema } from "../gen/envoy/config/core/v3/base_pb.js";
import {
  DeltaDiscoveryRequestSchema,
  DiscoveryRequestSchema,
} from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { excerpt, excerptChars, LimitExceededError, limitSpecs, type Limits } from "../limits/index.ts";
import { WireScan, WireType } from "./wire-scan.ts";

export type XdsRequestLimits = Pick<
  Limits,
  "xds.namesPerRequest" | "xds.nameBytes" | "xds.nodeIdBytes" | "xds.nodeMetadataBytes"
>;

/** Where a request variant keeps what the limits bound. */
export interface RequestLayout<Schema extends DescMessage = DescMessage> {
  readonly schema: Schema;
  readonly node: number;
  /**
   * Fields that each name one resource, by field number: repeated names, repeated resource
   * locators (a message naming one resource) and delta's `initial_resource_versions` entries.
   */
  readonly names: ReadonlyMap<number, string>;
}

export const sotwLayout: RequestLayout<typeof DiscoveryRequestSchema> = {
  schema: DiscoveryRequestSchema,
  node: 2,
  names: new Map([
    [3, "resource_names"],
    [7, "resource_locators"],
  ]),
};

export const deltaLayout: RequestLayout<typeof DeltaDiscoveryRequestSchema> = {
  schema: DeltaDiscoveryRequestSchema,
  node: 1,
  names: new Map([
    [3, "resource_names_subscribe"],
    [4, "resource_names_unsubscribe"],
    [5, "initial_resource_versions"],
    [8, "resource_locators_subscribe"],
    [9, "resource_locators_unsubscribe"],
  ]),
};

/** envoy.config.core.v3.Node */
const nodeFields = { id: 1, cluster: 2, metadata: 3 } as const;

/** A request that is not a well-formed message of its type. */
export class MalformedRequestError extends Error {
  constructor(what: string, cause?: unknown) {
    super(`the request is not a well-formed ${what}`, { cause });
    this.name = "MalformedRequestError";
  }
}

/** A request refused before it was decoded, and what identifies its proxy for the log. */
export interface RequestRefusal {
  readonly refused: LimitExceededError | MalformedRequestError;
  /** An excerpt of the request's node id, when it carries one. */
  readonly node: string | undefined;
}

/**
 * Decodes an encoded request if it is within `limits`; otherwise, or when it is malformed, the
 * refusal (the request is then never decoded).
 */
export function decodeRequest<Schema extends DescMessage>(
  bytes: Uint8Array,
  layout: RequestLayout<Schema>,
  limits: XdsRequestLimits,
): MessageShape<Schema> | RequestRefusal {
  const refusal = checkRequest(bytes, layout, limits);
  if (refusal) return refusal;
  try {
    return fromBinary(layout.schema, bytes);
  } catch (error) {
    // For example a node metadata nested deeper than the decoder's recursion limit.
    return { refused: new MalformedRequestError(layout.schema.typeName, error), node: undefined };
  }
}

export function isRefusal(request: unknown): request is RequestRefusal {
  return typeof request === "object" && request !== null && "refused" in request;
}

/** The first limit the encoded request exceeds, or that it is malformed; undefined when neither. */
export function checkRequest(
  bytes: Uint8Array,
  layout: RequestLayout,
  limits: XdsRequestLimits,
): RequestRefusal | undefined {
  let node: string | undefined;
  let names = 0;
  let metadataBytes = 0;
  const refuse = (refused: RequestRefusal["refused"]): RequestRefusal => ({ refused, node });
  const malformed = () => refuse(new MalformedRequestError(layout.schema.typeName));
  const scan = new WireScan(bytes, 0, bytes.length, layout.schema);
  for (let field = scan.next(); field; field = scan.next()) {
    if (field.wireType !== WireType.lengthDelimited) continue;
    const size = field.end - field.start;
    if (field.number === layout.node) {
      const inner = new WireScan(bytes, field.start, field.end, NodeSchema);
      for (let f = inner.next(); f; f = inner.next()) {
        if (f.wireType !== WireType.lengthDelimited) continue;
        const length = f.end - f.start;
        if (f.number === nodeFields.id) node = nodeIdExcerpt(bytes, f.start, length);
        if (f.number === nodeFields.id || f.number === nodeFields.cluster) {
          const what = f.number === nodeFields.id ? "node.id" : "node.cluster";
          const max = limits["xds.nodeIdBytes"];
          if (length > max) return refuse(new LimitExceededError("xds.nodeIdBytes", max, what, length));
        }
        // Occurrences of a message field merge when decoded, so their sizes add up; so do the
        // node's occurrences (metadataBytes runs over all of them).
        if (f.number === nodeFields.metadata) metadataBytes += length;
      }
      if (inner.malformed) return malformed();
      const max = limits["xds.nodeMetadataBytes"];
      if (metadataBytes > max) {
        return refuse(new LimitExceededError("xds.nodeMetadataBytes", max, "node.metadata", metadataBytes));
      }
      continue;
    }
    const what = layout.names.get(field.number);
    if (what === undefined) continue;
    const maxNames = limits["xds.namesPerRequest"];
    // Counting stops at the limit: the rest would cost a pass the refusal does not need.
    if (++names > maxNames) {
      return refuse(
        new LimitExceededError("xds.namesPerRequest", maxNames, "the resource names in this request"),
      );
    }
    const maxBytes = limits["xds.nameBytes"];
    if (size > maxBytes) {
      return refuse(new LimitExceededError("xds.nameBytes", maxBytes, `an entry of ${what}`, size));
    }
  }
  return scan.malformed ? malformed() : undefined;
}

/** The gRPC status a refusal ends the stream with: too many of something, or something too big. */
export function refusalStatus(refused: RequestRefusal["refused"]): grpc.status {
  if (refused instanceof LimitExceededError && limitSpecs[refused.limit].unit === "count") {
    return grpc.status.RESOURCE_EXHAUSTED;
  }
  return grpc.status.INVALID_ARGUMENT;
}

const utf8 = new TextDecoder();

/** An excerpt of a node id read from its bytes, decoding no more than the excerpt shows. */
function nodeIdExcerpt(bytes: Uint8Array, start: number, length: number): string {
  // A character is at most 4 bytes of UTF-8.
  const shown = Math.min(length, excerptChars * 4);
  const head = utf8.decode(bytes.subarray(start, start + shown));
  if (shown === length) return excerpt(head);
  return `${excerpt(head.slice(0, excerptChars))}…(${length} bytes in all)`;
}
