// Small constructors for protobuf values the translators repeat.
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { anyPack, DurationSchema, type Any, type Duration } from "@bufbuild/protobuf/wkt";
import {
  ApiVersion,
  ConfigSourceSchema,
  type ConfigSource,
} from "../gen/envoy/config/core/v3/config_source_pb.js";

export function typeUrlOf(schema: DescMessage): string {
  return `type.googleapis.com/${schema.typeName}`;
}

export function packAny<D extends DescMessage>(schema: D, message: MessageShape<D>): Any {
  return anyPack(schema, message);
}

export function durationMs(ms: number): Duration {
  // Whole nanoseconds: a fractional millisecond must not give a fractional or overflowing nanos.
  const nanos = Math.round(ms * 1_000_000);
  return create(DurationSchema, {
    seconds: BigInt(Math.floor(nanos / 1_000_000_000)),
    nanos: nanos % 1_000_000_000,
  });
}

/** Fetch over the ADS stream the resource came on (xDS: "aggregated discovery service"). */
export function adsConfigSource(): ConfigSource {
  return create(ConfigSourceSchema, {
    configSourceSpecifier: { case: "ads", value: {} },
    resourceApiVersion: ApiVersion.V3,
  });
}
