// Fault injection for gRPC clients (gRFC A33): the listener's inert filter and per-route configs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toJson } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { HTTPFaultSchema } from "../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import {
  HttpConnectionManagerSchema,
  HttpFilterSchema,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { FractionalPercentSchema } from "../../gen/envoy/type/v3/percent_pb.js";
import type { MeshFault } from "../../mesh/index.ts";
import { packedTypesRegistry } from "../json.ts";
import { faultFilterName, faultOverride, fractionalPercent } from "./fault.ts";
import { grpcClientListener } from "./listener.ts";

const registry = packedTypesRegistry();

const fault = (fields: Partial<MeshFault>): MeshFault => ({
  source: "FaultInjection default/f",
  delay: undefined,
  abort: undefined,
  ...fields,
});

const overrideJson = (f: MeshFault) => {
  const packed = faultOverride(f);
  return (
    packed && toJson(HTTPFaultSchema, anyUnpack(packed, HTTPFaultSchema) ?? assert.fail("not HTTPFault"))
  );
};

test("the client listener runs the fault filter, empty, before the router (router last)", () => {
  const listener = grpcClientListener("greeter:50051", "greeter.default.svc.cluster.local:50051");
  const packed = listener.apiListener?.apiListener ?? assert.fail("no api_listener");
  const manager = anyUnpack(packed, HttpConnectionManagerSchema) ?? assert.fail("not an HCM");
  assert.deepEqual(
    manager.httpFilters.map((f) => toJson(HttpFilterSchema, f, { registry })),
    [
      {
        name: faultFilterName,
        typedConfig: { "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault" },
      },
      {
        name: "envoy.filters.http.router",
        typedConfig: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
      },
    ],
  );
});

test("a delay and a gRPC abort, each on a percentage of calls", () => {
  assert.deepEqual(
    overrideJson(
      fault({
        delay: { fixedDelayMs: 1500, percent: 50 },
        abort: { grpcStatus: 14, httpStatus: undefined, percent: 12.5 },
      }),
    ),
    {
      delay: { fixedDelay: "1.500s", percentage: { numerator: 50 } },
      abort: { grpcStatus: 14, percentage: { numerator: 1250, denominator: "TEN_THOUSAND" } },
    },
  );
});

test("an HTTP abort stays an HTTP status (the client maps it to a gRPC code)", () => {
  assert.deepEqual(overrideJson(fault({ abort: { grpcStatus: undefined, httpStatus: 503, percent: 100 } })), {
    abort: { httpStatus: 503, percentage: { numerator: 100 } },
  });
});

test("a fault with neither delay nor abort needs no override", () => {
  assert.equal(faultOverride(fault({})), undefined);
});

test("percentages use the coarsest exact denominator, else per million", () => {
  const cases: [percent: number, expected: object][] = [
    [0, {}],
    [100, { numerator: 100 }],
    [7, { numerator: 7 }],
    [0.5, { numerator: 50, denominator: "TEN_THOUSAND" }],
    [0.01, { numerator: 1, denominator: "TEN_THOUSAND" }],
    [33.333, { numerator: 333330, denominator: "MILLION" }],
    [0.0001, { numerator: 1, denominator: "MILLION" }],
    [150, { numerator: 100 }],
    [-1, {}],
  ];
  for (const [percent, expected] of cases) {
    assert.deepEqual(toJson(FractionalPercentSchema, fractionalPercent(percent)), expected, `${percent}%`);
  }
});
