// Hand-assembled protobuf for the two messages on the hot path. A DiscoveryResponse is mostly
// pre-encoded Any resources; writing the envelope by hand lets every proxy share those bytes
// instead of re-encoding per stream (go-control-plane's RawResponse caches marshalled output for
// the same reason).

const textEncoder = new TextEncoder();
const WIRE_LEN = 2;

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

class Writer {
  private readonly bytes: Uint8Array;
  private offset = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }

  varint(value: number): void {
    while (value >= 0x80) {
      this.bytes[this.offset++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.bytes[this.offset++] = value;
  }

  field(fieldNumber: number, payload: Uint8Array): void {
    this.varint((fieldNumber << 3) | WIRE_LEN);
    this.varint(payload.length);
    this.bytes.set(payload, this.offset);
    this.offset += payload.length;
  }

  finish(): Uint8Array {
    if (this.offset !== this.bytes.length)
      throw new Error(`wire: wrote ${this.offset} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

function fieldSize(fieldNumber: number, length: number): number {
  return varintSize((fieldNumber << 3) | WIRE_LEN) + varintSize(length) + length;
}

/** google.protobuf.Any { string type_url = 1; bytes value = 2; } */
export function encodeAny(typeUrl: string, value: Uint8Array): Uint8Array {
  const url = textEncoder.encode(typeUrl);
  const writer = new Writer(fieldSize(1, url.length) + fieldSize(2, value.length));
  writer.field(1, url);
  writer.field(2, value);
  return writer.finish();
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
 * nonce = 5, control_plane = 6 (Identifier { identifier = 1 }).
 */
export function encodeDiscoveryResponse(response: ResponseEnvelope): Uint8Array {
  const version = textEncoder.encode(response.versionInfo);
  const typeUrl = textEncoder.encode(response.typeUrl);
  const nonce = textEncoder.encode(response.nonce);
  const identifier = textEncoder.encode(response.controlPlaneId);
  const controlPlaneSize = fieldSize(1, identifier.length);
  let size = fieldSize(1, version.length) + fieldSize(4, typeUrl.length) + fieldSize(5, nonce.length);
  size += fieldSize(6, controlPlaneSize);
  for (const resource of response.resources) size += fieldSize(2, resource.length);
  const writer = new Writer(size);
  writer.field(1, version);
  for (const resource of response.resources) writer.field(2, resource);
  writer.field(4, typeUrl);
  writer.field(5, nonce);
  const controlPlane = new Writer(controlPlaneSize);
  controlPlane.field(1, identifier);
  writer.field(6, controlPlane.finish());
  return writer.finish();
}
