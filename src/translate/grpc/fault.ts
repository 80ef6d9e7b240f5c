// Fault injection for proxyless gRPC clients (gRFC A33). The client listener always carries the
// fault filter with an empty config, which injects nothing; a route with a fault overrides it
// through `typed_per_filter_config` under the filter's name. Keeping the filter unconditional keeps
// listeners independent of faults, so a fault change touches only route configurations.
import { create } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import type { HttpFilter } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { HttpFilterSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { HTTPFaultSchema } from "../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import {
  FractionalPercentSchema,
  FractionalPercent_DenominatorType,
  type FractionalPercent,
} from "../../gen/envoy/type/v3/percent_pb.js";
import type { MeshFault } from "../../mesh/index.ts";
import { durationMs, packAny } from "../proto.ts";

/** The HCM filter name per-route overrides are keyed by. */
export const faultFilterName = "envoy.filters.http.fault";

/** The listener's fault filter: no delay, no abort, until a route overrides it. */
export function faultFilter(): HttpFilter {
  return create(HttpFilterSchema, {
    name: faultFilterName,
    configType: { case: "typedConfig", value: packAny(HTTPFaultSchema, create(HTTPFaultSchema)) },
  });
}

/** The per-route HTTPFault for `fault`, or undefined when it injects nothing. */
export function faultOverride(fault: MeshFault): Any | undefined {
  const { delay, abort } = fault;
  const errorType =
    abort?.grpcStatus !== undefined
      ? { case: "grpcStatus" as const, value: abort.grpcStatus }
      : abort?.httpStatus !== undefined
        ? { case: "httpStatus" as const, value: abort.httpStatus }
        : undefined;
  if (!delay && !errorType) return undefined;
  return packAny(
    HTTPFaultSchema,
    create(HTTPFaultSchema, {
      ...(delay && {
        delay: {
          faultDelaySecifier: { case: "fixedDelay", value: durationMs(delay.fixedDelayMs) },
          percentage: fractionalPercent(delay.percent),
        },
      }),
      ...(abort && errorType && { abort: { errorType, percentage: fractionalPercent(abort.percent) } }),
    }),
  );
}

/**
 * A percentage (0–100, fractions allowed) with the coarsest denominator that represents it:
 * per hundred, per ten thousand, or per million (rounded).
 */
export function fractionalPercent(percent: number): FractionalPercent {
  const clamped = Math.min(100, Math.max(0, percent));
  for (const [denominator, scale] of [
    [FractionalPercent_DenominatorType.HUNDRED, 1],
    [FractionalPercent_DenominatorType.TEN_THOUSAND, 100],
  ] as const) {
    const numerator = clamped * scale;
    if (Math.abs(numerator - Math.round(numerator)) < 1e-9) {
      return create(FractionalPercentSchema, { numerator: Math.round(numerator), denominator });
    }
  }
  return create(FractionalPercentSchema, {
    numerator: Math.round(clamped * 10_000),
    denominator: FractionalPercent_DenominatorType.MILLION,
  });
}
