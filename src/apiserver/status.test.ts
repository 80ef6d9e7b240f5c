// Status errors: codes, reasons, messages and causes as kubectl and client-go read them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LimitExceededError, type LimitName } from "../limits/index.ts";
import { StoreError } from "../store/index.ts";
import { findResource, type ResourceDef } from "./resources.ts";
import {
  ApiError,
  causeFromFieldError,
  formatValue,
  fromStoreError,
  invalid,
  toApiError,
  valueAt,
  notFound,
  type StatusReason,
} from "./status.ts";

const route = findResource("gateway.networking.k8s.io", "v1", "grpcroutes") as ResourceDef;
const svc = findResource("", "v1", "services") as ResourceDef;

test("valueAt follows field paths, including bracketed map keys", () => {
  const object = { spec: { rules: [{ w: 3 }] }, metadata: { labels: { "kubernetes.io/service-name": "x" } } };
  assert.equal(valueAt(object, "spec.rules[0].w"), 3);
  assert.equal(valueAt(object, "metadata.labels[kubernetes.io/service-name]"), "x");
  assert.equal(valueAt(object, "spec.nope[2]"), undefined);
});

const causes: [message: string, field: string, value: unknown, expected: object][] = [
  [
    "required field is missing",
    "spec.parentRefs",
    undefined,
    { reason: "FieldValueRequired", message: "Required value" },
  ],
  [
    "unknown field; check its spelling",
    "spec.colour",
    "red",
    { reason: "FieldValueForbidden", message: "Forbidden: unknown field; check its spelling" },
  ],
  [
    'must be one of "TCP", "UDP"',
    "spec.protocol",
    "TCPP",
    {
      reason: "FieldValueNotSupported",
      message: 'Unsupported value: "TCPP": supported values: "TCP", "UDP"',
    },
  ],
  ["must be >= 0", "spec.w", -1, { reason: "FieldValueInvalid", message: "Invalid value: -1: must be >= 0" }],
  [
    "must be an array",
    "spec.list",
    { a: 1 },
    { reason: "FieldValueInvalid", message: 'Invalid value: "object": must be an array' },
  ],
];

for (const [message, field, value, expected] of causes) {
  test(`cause for "${message}"`, () => {
    const object = { spec: value === undefined ? {} : { [field.split(".")[1] as string]: value } };
    assert.deepEqual(causeFromFieldError({ field, message }, object), { field, ...expected });
  });
}

test("formatValue prints like Go's field errors", () => {
  assert.deepEqual(
    [formatValue("a"), formatValue(1), formatValue(true), formatValue(null), formatValue([1])],
    ['"a"', "1", "true", "null", '"array"'],
  );
});

test("Invalid names Kind.group and lists several causes in brackets", () => {
  const one = invalid(route, "r", [
    { reason: "FieldValueRequired", field: "spec.a", message: "Required value" },
  ]);
  assert.equal(one.message, 'GRPCRoute.gateway.networking.k8s.io "r" is invalid: spec.a: Required value');
  const two = invalid(svc, "s", [
    { reason: "FieldValueRequired", field: "spec.a", message: "Required value" },
    { reason: "FieldValueInvalid", field: "spec.b", message: "Invalid value: 1: no" },
  ]);
  assert.equal(two.message, 'Service "s" is invalid: [spec.a: Required value, spec.b: Invalid value: 1: no]');
  assert.deepEqual(two.toStatus().details, {
    name: "s",
    group: "",
    kind: "Service",
    causes: [
      { reason: "FieldValueRequired", field: "spec.a", message: "Required value" },
      { reason: "FieldValueInvalid", field: "spec.b", message: "Invalid value: 1: no" },
    ],
  });
});

const storeCases: [error: StoreError, code: number, reason: string][] = [
  [
    new StoreError("NotFound", 'grpcroutes.gateway.networking.k8s.io "x" not found', { name: "x" }),
    404,
    "NotFound",
  ],
  [new StoreError("AlreadyExists", "exists", { name: "x" }), 409, "AlreadyExists"],
  [new StoreError("Conflict", "modified", { name: "x" }), 409, "Conflict"],
  [new StoreError("Expired", "too old resource version: 1 (5)"), 410, "Expired"],
  [new StoreError("Invalid", "unable to parse requirement"), 400, "BadRequest"],
  [
    new StoreError("Invalid", "bad", {
      name: "x",
      causes: [{ field: "metadata.labels", message: "Invalid value: x" }],
    }),
    422,
    "Invalid",
  ],
  [new StoreError("Unavailable", "closed"), 503, "ServiceUnavailable"],
];

for (const [error, code, reason] of storeCases) {
  test(`store ${error.code} (${error.message}) → ${code} ${reason}`, () => {
    const api = fromStoreError(error, route);
    assert.equal(api.code, code);
    assert.equal(api.reason, reason);
    const status = api.toStatus();
    assert.deepEqual(
      [status.kind, status.apiVersion, status.status, status.code],
      ["Status", "v1", "Failure", code],
    );
  });
}

test("NotFound details name the resource plural; unknown failures are 500s", () => {
  assert.deepEqual(notFound(route, "x").toStatus(), {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: 'grpcroutes.gateway.networking.k8s.io "x" not found',
    reason: "NotFound",
    details: { name: "x", group: "gateway.networking.k8s.io", kind: "grpcroutes" },
    code: 404,
  });
  // A store that cannot serve is a 503 wherever it fails, also outside a resource's handler.
  const noQuorum = toApiError(new StoreError("Unavailable", "etcd has no quorum: no leader"));
  assert.deepEqual(
    [noQuorum.code, noQuorum.reason, noQuorum.message],
    [503, "ServiceUnavailable", "etcd has no quorum: no leader"],
  );
  const internal = toApiError(new TypeError("boom"));
  assert.ok(internal instanceof ApiError);
  assert.equal(internal.code, 500);
  assert.equal(internal.message, "Internal error occurred: boom");
});

test("refusals by a limit: 413 for sizes and patch operations, 400 for shape; the message names the limit", () => {
  const cases: [LimitName, number, StatusReason][] = [
    ["api.bodyBytes", 413, "RequestEntityTooLarge"],
    ["object.bytes", 413, "RequestEntityTooLarge"],
    ["api.patchOperations", 413, "RequestEntityTooLarge"],
    ["object.nestingDepth", 400, "BadRequest"],
    ["object.nodes", 400, "BadRequest"],
    ["object.stringLength", 400, "BadRequest"],
  ];
  for (const [limit, code, reason] of cases) {
    const error = toApiError(new LimitExceededError(limit, 10, "the thing"));
    assert.deepEqual([error.code, error.reason], [code, reason], limit);
    assert.match(error.message, new RegExp(`^the thing exceeds limit ${limit.replace(".", "\\.")} of 10`));
    assert.ok(error.cause instanceof LimitExceededError);
  }
});

test("Invalid echoes names and values as excerpts and lists a bounded number of causes", () => {
  const causes = Array.from({ length: 500 }, (_, i) => ({
    reason: "FieldValueInvalid" as const,
    field: `spec.ports[${i}].${"f".repeat(1000)}`,
    message: `Invalid value: ${formatValue("v".repeat(100_000))}`,
  }));
  const error = invalid(svc, "n".repeat(1_000_000), causes);
  const text = JSON.stringify(error.toStatus());
  assert.ok(text.length < 100_000, `a ${text.length}-character Status`);
  assert.match(error.message, /^Service "n{253}…\(999747 more characters\)" is invalid: \[/);
  assert.match(error.message, /, and 480 more\]$/);
  assert.equal(error.details?.causes?.length, 100);
  assert.equal(notFound(svc, "x".repeat(10_000)).message.length < 400, true);
});
