// Fault injection as a request meets it (Envoy HTTPFault; gRFC A33 for proxyless clients): each
// fault filter in the listener applies its own config unless `typed_per_filter_config` under the
// filter's name overrides it, the most specific level first (weighted cluster, route, virtual
// host). Header-driven faults read the x-envoy-fault-* headers of the request.
import { anyUnpack, type Any, type Duration } from "@bufbuild/protobuf/wkt";
import { FilterConfigSchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import {
  HTTPFaultSchema,
  type HTTPFault,
} from "../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import type { HttpConnectionManager } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { FractionalPercent } from "../../gen/envoy/type/v3/percent_pb.js";
import { typeUrlOf } from "../proto.ts";
import { headerCheck } from "./matchers.ts";
import { headerValue } from "./request.ts";
import { fractionOf } from "./routes.ts";
import type { FaultReport, ObservedRequest, SimulationFlavour } from "./types.ts";

export const faultTypeUrl = typeUrlOf(HTTPFaultSchema);
export const filterConfigTypeUrl = typeUrlOf(FilterConfigSchema);

export interface FilterConfigLevel {
  /** route, virtual host, weighted cluster <name> */
  readonly level: string;
  readonly configs: { readonly [filter: string]: Any };
}

export function durationToMs(duration: Duration | undefined): number | undefined {
  return duration === undefined ? undefined : Number(duration.seconds) * 1000 + duration.nanos / 1e6;
}

/** The listener's fault filters with their own configs. */
export function faultFilters(manager: HttpConnectionManager): { name: string; config: HTTPFault }[] {
  return manager.httpFilters.flatMap((filter) =>
    filter.configType.case === "typedConfig" && filter.configType.value.typeUrl === faultTypeUrl
      ? [{ name: filter.name, config: anyUnpack(filter.configType.value, HTTPFaultSchema) as HTTPFault }]
      : [],
  );
}

/** An override: a fault config, `disabled`, or undefined when it is not a fault config at all. */
function decodeOverride(config: Any): HTTPFault | "disabled" | undefined {
  if (config.typeUrl === faultTypeUrl) return anyUnpack(config, HTTPFaultSchema);
  if (config.typeUrl === filterConfigTypeUrl) {
    const wrapper = anyUnpack(config, FilterConfigSchema);
    if (wrapper?.disabled) return "disabled";
    return wrapper?.config ? decodeOverride(wrapper.config) : undefined;
  }
  return undefined;
}

// gRPC's mapping of HTTP statuses (doc/http-grpc-status-mapping.md), as grpc-js-xds applies it.
const httpToGrpc = new Map([
  [400, 13],
  [401, 16],
  [403, 7],
  [404, 12],
  [429, 14],
  [502, 14],
  [503, 14],
  [504, 14],
]);

export function grpcStatusForHttp(status: number): number {
  return httpToGrpc.get(status) ?? 2;
}

/** The fault the request meets on its way to `cluster`, or undefined when none applies. */
export function effectiveFault(
  manager: HttpConnectionManager,
  levels: readonly FilterConfigLevel[],
  request: ObservedRequest,
  flavour: SimulationFlavour,
  cluster: string,
): FaultReport | undefined {
  for (const filter of faultFilters(manager)) {
    let config: HTTPFault | "disabled" | undefined = filter.config;
    let level = "listener";
    for (const candidate of levels) {
      const override = candidate.configs[filter.name];
      const decoded = override && decodeOverride(override);
      if (decoded) {
        config = decoded;
        level = candidate.level;
        break;
      }
    }
    if (config === "disabled" || !config) continue;
    const report = faultFor(filter.name, level, config, request, flavour, cluster);
    if (report) return report;
  }
  return undefined;
}

function faultFor(
  name: string,
  level: string,
  config: HTTPFault,
  request: ObservedRequest,
  flavour: SimulationFlavour,
  cluster: string,
): FaultReport | undefined {
  // Envoy only: the fault's own header and upstream cluster conditions (gRPC clients ignore them).
  if (flavour === "envoy") {
    if (config.upstreamCluster !== "" && config.upstreamCluster !== cluster) return undefined;
    if (!config.headers.every((header) => headerCheck(header, request, flavour).ok)) return undefined;
  }
  const header = (key: string) => {
    const lookup = headerValue(request, key, flavour);
    const number = lookup.present ? /\d+/.exec(lookup.value)?.[0] : undefined;
    return number === undefined ? undefined : Number(number);
  };
  const percent = (percentage: FractionalPercent | undefined, headerKey: string | undefined) =>
    percentOf(percentage, headerKey === undefined ? undefined : header(headerKey));
  let delay: FaultReport["delay"];
  const configuredDelay = config.delay;
  if (configuredDelay?.faultDelaySecifier.case === "fixedDelay") {
    delay = {
      ms: durationToMs(configuredDelay.faultDelaySecifier.value),
      fromHeader: false,
      percent: percent(configuredDelay.percentage, undefined),
    };
  } else if (configuredDelay?.faultDelaySecifier.case === "headerDelay") {
    const ms = header("x-envoy-fault-delay-request");
    if (ms !== undefined) {
      delay = {
        ms,
        fromHeader: true,
        percent: percent(configuredDelay.percentage, "x-envoy-fault-delay-request-percentage"),
      };
    }
  }
  let abort: FaultReport["abort"];
  const errorType = config.abort?.errorType;
  const abortPercent = (headerKey: string | undefined) => percent(config.abort?.percentage, headerKey);
  if (errorType?.case === "grpcStatus") {
    abort = {
      grpcStatus: errorType.value,
      httpStatus: undefined,
      fromHeader: false,
      percent: abortPercent(undefined),
    };
  } else if (errorType?.case === "httpStatus") {
    abort = {
      grpcStatus: flavour === "grpc" ? grpcStatusForHttp(errorType.value) : undefined,
      httpStatus: errorType.value,
      fromHeader: false,
      percent: abortPercent(undefined),
    };
  } else if (errorType?.case === "headerAbort") {
    const grpcStatus = header("x-envoy-fault-abort-grpc-request");
    const httpStatus = grpcStatus === undefined ? header("x-envoy-fault-abort-request") : undefined;
    if (grpcStatus !== undefined || httpStatus !== undefined) {
      abort = {
        grpcStatus:
          grpcStatus ??
          (flavour === "grpc" && httpStatus !== undefined ? grpcStatusForHttp(httpStatus) : undefined),
        httpStatus,
        fromHeader: true,
        percent: abortPercent("x-envoy-fault-abort-request-percentage"),
      };
    }
  }
  if (!delay && !abort) return undefined;
  return { filter: name, level, delay, abort };
}

/** Unset means 0% (Envoy; grpc-js-xds NACKs it). A header can lower the numerator, never raise it. */
function percentOf(percentage: FractionalPercent | undefined, cap: number | undefined): number {
  if (!percentage) return 0;
  const numerator = cap === undefined ? percentage.numerator : Math.min(percentage.numerator, cap);
  return fractionOf({ numerator, denominator: percentage.denominator }) * 100;
}
