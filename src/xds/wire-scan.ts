// The fields of an encoded protobuf message, walked without decoding them: tags and lengths only,
// so measuring a message costs one pass and no allocation per field. What the walk reads must be
// what @bufbuild/protobuf's decoder reads: the decoder reads a known field by its declared kind
// whatever wire type the tag says, so a field whose wire type differs from its kind would be
// consumed differently here and there. Such a message, and anything the walk cannot read, is
// malformed, and the caller refuses it instead of decoding it.
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";

export const WireType = {
  varint: 0,
  fixed64: 1,
  lengthDelimited: 2,
  startGroup: 3,
  endGroup: 4,
  fixed32: 5,
} as const;

export interface WireField {
  readonly number: number;
  readonly wireType: number;
  /** The payload of a length-delimited field; the encoded value of any other. */
  readonly start: number;
  readonly end: number;
}

/** The decoder's limit on nesting, which also bounds skipping nested groups here. */
const maxGroupDepth = 100;

const expectedCache = new WeakMap<DescMessage, ReadonlyMap<number, readonly number[]>>();

/** Wire types each field of `schema` may be encoded with. */
function expectedWireTypes(schema: DescMessage): ReadonlyMap<number, readonly number[]> {
  let expected = expectedCache.get(schema);
  if (!expected) {
    expected = new Map(schema.fields.map((field) => [field.number, wireTypesOf(field)]));
    expectedCache.set(schema, expected);
  }
  return expected;
}

function wireTypesOf(field: DescField): readonly number[] {
  switch (field.fieldKind) {
    case "scalar":
      return [scalarWireType(field.scalar)];
    case "enum":
      return [WireType.varint];
    case "message":
      return [field.delimitedEncoding ? WireType.startGroup : WireType.lengthDelimited];
    case "map":
      return [WireType.lengthDelimited];
    case "list":
      if (field.listKind === "message") {
        return [field.delimitedEncoding ? WireType.startGroup : WireType.lengthDelimited];
      }
      if (field.listKind === "enum") return [WireType.lengthDelimited, WireType.varint];
      // Numbers may come packed (one length-delimited run) or one per tag.
      return field.scalar === ScalarType.STRING || field.scalar === ScalarType.BYTES
        ? [WireType.lengthDelimited]
        : [WireType.lengthDelimited, scalarWireType(field.scalar)];
  }
}

function scalarWireType(scalar: ScalarType): number {
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.lengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.fixed64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.fixed32;
    default:
      return WireType.varint;
  }
}

/** Walks the top-level fields of one message of `schema` in `bytes[start, end)`. */
export class WireScan {
  private readonly bytes: Uint8Array;
  private readonly end: number;
  private readonly expected: ReadonlyMap<number, readonly number[]>;
  private position: number;
  /** Set when the bytes are not a message the decoder would read the same way; the walk stops. */
  malformed = false;

  constructor(bytes: Uint8Array, start: number, end: number, schema: DescMessage) {
    this.bytes = bytes;
    this.position = start;
    this.end = end;
    this.expected = expectedWireTypes(schema);
  }

  /** The next field, or undefined at the end or when the rest is malformed. */
  next(): WireField | undefined {
    if (this.malformed || this.position >= this.end) return undefined;
    const tag = this.tag();
    if (!tag) return this.fail();
    const { number, wireType } = tag;
    const allowed = this.expected.get(number);
    if (allowed && !allowed.includes(wireType)) return this.fail();
    if (wireType === WireType.lengthDelimited) {
      const length = this.varint();
      const start = this.position;
      if (length === undefined || !this.advance(length)) return this.fail();
      return { number, wireType, start, end: this.position };
    }
    const start = this.position;
    if (!this.skip(wireType, number, 0)) return this.fail();
    return { number, wireType, start, end: this.position };
  }

  /** A tag as the decoder accepts it: at most 32 bits, a field number above 0, a wire type up to 5. */
  private tag(): { number: number; wireType: number } | undefined {
    const start = this.position;
    const value = this.varint();
    const length = this.position - start;
    if (value === undefined || length > 5 || value > 0xffffffff) return undefined;
    const number = Math.floor(value / 8);
    const wireType = value % 8;
    return number > 0 && wireType <= WireType.fixed32 ? { number, wireType } : undefined;
  }

  private skip(wireType: number, number: number, depth: number): boolean {
    switch (wireType) {
      case WireType.varint:
        return this.varint() !== undefined;
      case WireType.fixed64:
        return this.advance(8);
      case WireType.fixed32:
        return this.advance(4);
      case WireType.lengthDelimited: {
        const length = this.varint();
        return length !== undefined && this.advance(length);
      }
      case WireType.startGroup:
        if (depth >= maxGroupDepth) return false;
        // A group runs to the end-group tag of its own number.
        for (;;) {
          const tag = this.tag();
          if (!tag) return false;
          if (tag.wireType === WireType.endGroup) return tag.number === number;
          if (!this.skip(tag.wireType, tag.number, depth + 1)) return false;
        }
      default:
        return false;
    }
  }

  private advance(count: number): boolean {
    if (count > this.end - this.position) return false;
    this.position += count;
    return true;
  }

  /**
   * A base-128 varint of at most 10 bytes. Its value is exact up to 2^53, which is all a tag or
   * a length within a message can be; larger values only ever fail a bounds check.
   */
  private varint(): number | undefined {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.position >= this.end) return undefined;
      const byte = this.bytes[this.position++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    return undefined;
  }

  private fail(): undefined {
    this.malformed = true;
    return undefined;
  }
}
