// Route retry policies for gRPC clients (gRFC A44): which codes, how many retries, which back-off.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toJson } from "@bufbuild/protobuf";
import { RetryPolicySchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import type { RetryPolicy } from "../../mesh/index.ts";
import { grpcRetryOn, grpcRetryPolicy } from "./retry.ts";

const retry = (fields: Partial<RetryPolicy>): RetryPolicy => ({
  attempts: 2,
  httpCodes: [],
  grpcCodes: [],
  backoffBaseMs: undefined,
  backoffMaxMs: undefined,
  ...fields,
});

const json = (policy: RetryPolicy) => {
  const message = grpcRetryPolicy(policy);
  return message && (toJson(RetryPolicySchema, message) as { retryBackOff?: object });
};

test("retry_on: gRPC names as written, HTTP codes only where gRPC maps them to UNAVAILABLE", () => {
  const cases: [grpcCodes: string[], httpCodes: number[], expected: string[]][] = [
    [["unavailable", "cancelled"], [], ["unavailable", "cancelled"]],
    [
      ["deadline-exceeded", "internal", "resource-exhausted"],
      [],
      ["deadline-exceeded", "internal", "resource-exhausted"],
    ],
    [["unknown", "not-found", "unavailable"], [], ["unavailable"]],
    [[], [503], ["unavailable"]],
    [[], [429, 502, 503, 504], ["unavailable"]],
    [[], [500, 400, 404], []],
    [["cancelled"], [503, 500], ["cancelled", "unavailable"]],
    [["unavailable"], [503], ["unavailable"]],
  ];
  for (const [grpcCodes, httpCodes, expected] of cases) {
    assert.deepEqual(grpcRetryOn(retry({ grpcCodes, httpCodes })), expected, `${grpcCodes} ${httpCodes}`);
  }
});

test("a policy with a retryable code: retry_on, num_retries and the back-off", () => {
  assert.deepEqual(
    json(retry({ attempts: 3, grpcCodes: ["unavailable"], backoffBaseMs: 50, backoffMaxMs: 800 })),
    {
      retryOn: "unavailable",
      numRetries: 3,
      retryBackOff: { baseInterval: "0.050s", maxInterval: "0.800s" },
    },
  );
  assert.deepEqual(json(retry({ attempts: 1, httpCodes: [503, 504] })), {
    retryOn: "unavailable",
    numRetries: 1,
  });
});

test("nothing to retry emits no policy: no gRPC code, or zero retries (num_retries 0 is NACKed)", () => {
  assert.equal(grpcRetryPolicy(undefined), undefined);
  assert.equal(grpcRetryPolicy(retry({ httpCodes: [500] })), undefined);
  assert.equal(grpcRetryPolicy(retry({ attempts: 0, grpcCodes: ["unavailable"] })), undefined);
});

test("back-off: base defaults to 25 ms (capped by the maximum), the maximum never below the base", () => {
  const codes = { grpcCodes: ["unavailable"] };
  assert.deepEqual(json(retry({ ...codes, backoffMaxMs: 1000 }))?.retryBackOff, {
    baseInterval: "0.025s",
    maxInterval: "1s",
  });
  assert.deepEqual(json(retry({ ...codes, backoffMaxMs: 10 }))?.retryBackOff, {
    baseInterval: "0.010s",
    maxInterval: "0.010s",
  });
  assert.deepEqual(json(retry({ ...codes, backoffBaseMs: 100 }))?.retryBackOff, { baseInterval: "0.100s" });
  assert.deepEqual(json(retry({ ...codes, backoffBaseMs: 300, backoffMaxMs: 100 }))?.retryBackOff, {
    baseInterval: "0.300s",
    maxInterval: "0.300s",
  });
  assert.equal(json(retry({ ...codes, backoffBaseMs: 0 }))?.retryBackOff, undefined);
});
