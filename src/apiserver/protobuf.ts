// Request bodies in the Kubernetes protobuf encoding. kubectl's typed client sends built-in kinds
// as protobuf (`kubectl create namespace`, `kubectl create service`), whatever the server prefers;
// responses stay JSON, which client-go accepts. Only the kinds kubectl creates this way are
// decoded: v1 Namespace and v1 Service. Format (apimachinery runtime/serializer/protobuf): the
// magic `k8s\0`, then a runtime.Unknown {typeMeta, raw}; `raw` is the object's message. Field
// numbers from kubernetes/api core/v1/generated.proto and apimachinery meta/v1, intstr and
// runtime generated.proto. Zero values are dropped, as the JSON encoding's omitempty does.
import { ApiError, badRequest } from "./status.ts";

export const protobufMediaType = "application/vnd.kubernetes.protobuf";
const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Scalar = "string" | "int32" | "int64" | "bool" | "bytes";
interface Field {
  readonly name: string;
  readonly type: Scalar | Message | "map" | "time" | "intOrString";
  readonly repeated?: boolean;
}
type Message = { readonly [field: number]: Field };

const str = (name: string): Field => ({ name, type: "string" });
const strs = (name: string): Field => ({ name, type: "string", repeated: true });
const int = (name: string, type: "int32" | "int64" = "int32"): Field => ({ name, type });

const typeMeta: Message = { 1: str("apiVersion"), 2: str("kind") };
const unknown: Message = { 1: { name: "typeMeta", type: typeMeta }, 2: { name: "raw", type: "bytes" } };

const ownerReference: Message = {
  1: str("kind"),
  3: str("name"),
  4: str("uid"),
  5: str("apiVersion"),
  6: { name: "controller", type: "bool" },
  7: { name: "blockOwnerDeletion", type: "bool" },
};

const objectMeta: Message = {
  1: str("name"),
  2: str("generateName"),
  3: str("namespace"),
  5: str("uid"),
  6: str("resourceVersion"),
  7: int("generation", "int64"),
  8: { name: "creationTimestamp", type: "time" },
  9: { name: "deletionTimestamp", type: "time" },
  10: int("deletionGracePeriodSeconds", "int64"),
  11: { name: "labels", type: "map" },
  12: { name: "annotations", type: "map" },
  13: { name: "ownerReferences", type: ownerReference, repeated: true },
  14: strs("finalizers"),
};

const servicePort: Message = {
  1: str("name"),
  2: str("protocol"),
  3: int("port"),
  4: { name: "targetPort", type: "intOrString" },
  5: int("nodePort"),
  6: str("appProtocol"),
};

const serviceSpec: Message = {
  1: { name: "ports", type: servicePort, repeated: true },
  2: { name: "selector", type: "map" },
  3: str("clusterIP"),
  4: str("type"),
  5: strs("externalIPs"),
  7: str("sessionAffinity"),
  8: str("loadBalancerIP"),
  9: strs("loadBalancerSourceRanges"),
  10: str("externalName"),
  11: str("externalTrafficPolicy"),
  12: int("healthCheckNodePort"),
  13: { name: "publishNotReadyAddresses", type: "bool" },
  14: {
    name: "sessionAffinityConfig",
    type: { 1: { name: "clientIP", type: { 1: int("timeoutSeconds") } } },
  },
  17: str("ipFamilyPolicy"),
  18: strs("clusterIPs"),
  19: strs("ipFamilies"),
  20: { name: "allocateLoadBalancerNodePorts", type: "bool" },
  21: str("loadBalancerClass"),
  22: str("internalTrafficPolicy"),
  23: str("trafficDistribution"),
};

/** Status (field 3) is not decoded: creates drop it, and status writes come as JSON. */
const kinds: Record<string, Message> = {
  "v1/Namespace": {
    1: { name: "metadata", type: objectMeta },
    2: { name: "spec", type: { 1: strs("finalizers") } },
  },
  "v1/Service": { 1: { name: "metadata", type: objectMeta }, 2: { name: "spec", type: serviceSpec } },
};

class Reader {
  private pos = 0;
  private readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw new Error("truncated varint");
      const byte = this.buf[this.pos++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Error("varint too long");
  }
  bytes(): Buffer {
    const length = Number(this.varint());
    if (this.pos + length > this.buf.length) throw new Error("truncated field");
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

function decodeMessage(buf: Buffer, message: Message): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const reader = new Reader(buf);
  while (!reader.done) {
    const tag = Number(reader.varint());
    const field = message[tag >>> 3];
    const wireType = tag & 7;
    if (field === undefined) {
      reader.skip(wireType);
      continue;
    }
    const value = decodeValue(reader, field, wireType);
    // Entries and items are added in place: copying per entry would cost the square of their number.
    if (field.type === "map") {
      const [key, entry] = value as [string, string];
      const map = (out[field.name] ??= {}) as Record<string, unknown>;
      // An own property even for `__proto__`, as JSON.parse makes it.
      Object.defineProperty(map, key, { value: entry, writable: true, enumerable: true, configurable: true });
    } else if (field.repeated) {
      ((out[field.name] ??= []) as unknown[]).push(value);
    } else {
      out[field.name] = value;
    }
  }
  return omitEmpty(out);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeValue(reader: Reader, field: Field, wireType: number): unknown {
  const { type } = field;
  if (type === "int32" || type === "int64") return Number(BigInt.asIntN(64, reader.varint()));
  if (type === "bool") return reader.varint() !== 0n;
  if (wireType !== 2) throw new Error(`field ${field.name}: expected a length-delimited value`);
  const bytes = reader.bytes();
  if (type === "string") {
    try {
      return utf8.decode(bytes);
    } catch {
      throw new Error(`field ${field.name} is not valid UTF-8`);
    }
  }
  if (type === "bytes") return bytes;
  if (type === "map") {
    const entry = decodeMessage(bytes, { 1: str("key"), 2: str("value") });
    return [entry.key ?? "", entry.value ?? ""];
  }
  if (type === "time") {
    const { seconds } = decodeMessage(bytes, { 1: int("seconds", "int64") }) as { seconds?: number };
    return seconds === undefined ? undefined : new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
  }
  if (type === "intOrString") {
    const v = decodeMessage(bytes, { 1: int("type", "int64"), 2: int("intVal"), 3: str("strVal") });
    return v.type === 1 ? (v.strVal ?? "") : (v.intVal ?? 0);
  }
  return decodeMessage(bytes, type);
}

/** Drops what Go's JSON encoding omits: "", 0, false, empty lists, maps and unset times. */
function omitEmpty(object: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(object)) {
    const empty =
      value === undefined ||
      value === "" ||
      value === 0 ||
      value === false ||
      (Array.isArray(value) && value.length === 0) ||
      (typeof value === "object" &&
        value !== null &&
        !Array.isArray(value) &&
        !Buffer.isBuffer(value) &&
        Object.keys(value).length === 0);
    if (empty && key !== "metadata") delete object[key];
  }
  return object;
}

/** Decodes a protobuf request body into the JSON object it encodes. */
export function decodeProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < magic.length || !body.subarray(0, magic.length).equals(magic)) {
    throw badRequest("protobuf body without the k8s\\0 prefix");
  }
  let envelope: Record<string, unknown>;
  try {
    envelope = decodeMessage(body.subarray(magic.length), unknown);
  } catch (error) {
    throw badRequest(`error decoding protobuf: ${(error as Error).message}`);
  }
  const meta = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const message = kinds[`${meta.apiVersion ?? ""}/${meta.kind ?? ""}`];
  if (message === undefined) {
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `protobuf is accepted for v1 Namespace and Service only, not ${meta.apiVersion ?? "?"} ${meta.kind ?? "?"}: send application/json`,
      {},
    );
  }
  try {
    const object = decodeMessage((envelope.raw as Buffer | undefined) ?? Buffer.alloc(0), message);
    return { apiVersion: meta.apiVersion, kind: meta.kind, metadata: {}, ...object };
  } catch (error) {
    throw badRequest(`error decoding protobuf ${meta.kind ?? ""}: ${(error as Error).message}`);
  }
}
