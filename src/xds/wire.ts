// Hand-assembled protobuf for the messages on the hot path. A discovery response is mostly
// pre-encoded Any resources; writing the envelope by hand lets every proxy share those bytes
// instead of re-encoding per stream (go-control-plane's RawResponse caches marshalled output for
// the same reason). Only length-delimited fields are needed: strings, bytes and messages.

const textEncoder = new TextEncoder();
const WIRE_LEN = 2;

type Field = readonly [fieldNumber: number, payload: Uint8Array];

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Encodes a message made only of length-delimited fields, in the order given. */
function message(fields: readonly Field[]): Uint8Array {
  let size = 0;
  for (const [number, payload] of fields)
    size += varintSize((number << 3) | WIRE_LEN) + varintSize(payload.length) + payload.length;
  const bytes = new Uint8Array(size);
  let offset = 0;
  const varint = (value: number) => {
    while (value >= 0x80) {
      bytes[offset++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    bytes[offset++] = value;
  };
  for (const [number, payload] of fields) {
    varint((number << 3) | WIRE_LEN);
    varint(payload.length);
    bytes.set(payload, offset);
    offset += payload.length;
  }
  return bytes;
}

const text = (value: string) => textEncoder.encode(value);

/** A message whose one field, `fieldNumber`, holds each of `payloads` (encoded messages) in turn. */
export function encodeRepeated(fieldNumber: number, payloads: readonly Uint8Array[]): Uint8Array {
  return message(payloads.map((payload): Field => [fieldNumber, payload]));
}

/** google.protobuf.Any { string type_url = 1; bytes value = 2; } */
export function encodeAny(typeUrl: string, value: Uint8Array): Uint8Array {
  return message([
    [1, text(typeUrl)],
    [2, value],
  ]);
}

/** config.core.v3.ControlPlane { string identifier = 1; } */
function controlPlane(identifier: string): Uint8Array {
  return message([[1, text(identifier)]]);
}

export interface ResponseEnvelope {
  readonly versionInfo: string;
  /** Encoded google.protobuf.Any messages. */
  readonly resources: readonly Uint8Array[];
  readonly typeUrl: string;
  readonly nonce: string;
  readonly controlPlaneId: string;
}

/**
 * envoy.service.discovery.v3.DiscoveryResponse: version_info = 1, resources = 2, type_url = 4,
 * nonce = 5, control_plane = 6.
 */
export function encodeDiscoveryResponse(response: ResponseEnvelope): Uint8Array {
  return message([
    [1, text(response.versionInfo)],
    ...response.resources.map((any): Field => [2, any]),
    [4, text(response.typeUrl)],
    [5, text(response.nonce)],
    [6, controlPlane(response.controlPlaneId)],
  ]);
}

/** envoy.service.discovery.v3.Resource { version = 1; resource = 2 (Any); name = 3 } */
export function encodeDeltaResource(name: string, version: string, any: Uint8Array): Uint8Array {
  return message([
    [1, text(version)],
    [2, any],
    [3, text(name)],
  ]);
}

export interface DeltaEnvelope {
  readonly systemVersionInfo: string;
  /** Encoded envoy.service.discovery.v3.Resource messages (see encodeDeltaResource). */
  readonly resources: readonly Uint8Array[];
  readonly removed: readonly string[];
  readonly typeUrl: string;
  readonly nonce: string;
  readonly controlPlaneId: string;
}

/**
 * envoy.service.discovery.v3.DeltaDiscoveryResponse: system_version_info = 1, resources = 2,
 * type_url = 4, nonce = 5, removed_resources = 6, control_plane = 7.
 */
export function encodeDeltaDiscoveryResponse(response: DeltaEnvelope): Uint8Array {
  return message([
    [1, text(response.systemVersionInfo)],
    ...response.resources.map((resource): Field => [2, resource]),
    [4, text(response.typeUrl)],
    [5, text(response.nonce)],
    ...response.removed.map((name): Field => [6, text(name)]),
    [7, controlPlane(response.controlPlaneId)],
  ]);
}
