// The PATCH entry points by content type: which kinds accept which types, body decoding, dispatch,
// the Status body of errors, and kubectl's client-side apply flow end to end.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { KubeObject } from "../../store/index.ts";
import { applyPatch, checkPatchBody } from "./patch.ts";
import { isBuiltinKind, patchTypeOf, patchTypes, supportedPatchTypes, type PatchType } from "./kinds.ts";
import { applyConflictError, isPatchError, PatchError, type PatchErrorReason } from "./errors.ts";
import { recordUpdate, serverSideApply } from "./apply.ts";
import type { JsonObject, JsonValue } from "./json.ts";

const crTypes = "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";
const builtinTypes =
  "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml";

const kinds: [kind: string | { group: string; kind: string }, accepted: string, builtin: boolean][] = [
  [{ group: "", kind: "Service" }, builtinTypes, true],
  [{ group: "discovery.k8s.io", kind: "EndpointSlice" }, builtinTypes, true],
  [{ group: "", kind: "Namespace" }, builtinTypes, true],
  ["Service", builtinTypes, true],
  [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute" }, crTypes, false],
  [{ group: "gateway.networking.k8s.io", kind: "GRPCRoute" }, crTypes, false],
  [{ group: "meshplane.dev", kind: "TrafficPolicy" }, crTypes, false],
  [{ group: "example.com", kind: "Service" }, crTypes, false],
];

for (const [kind, accepted, builtin] of kinds) {
  test(`supported patch types: ${JSON.stringify(kind)}`, () => {
    assert.equal(supportedPatchTypes(kind).join(", "), accepted);
    assert.equal(isBuiltinKind(kind), builtin);
  });
}

const contentTypes: [header: string | undefined, type: PatchType | undefined][] = [
  ["application/strategic-merge-patch+json", patchTypes.strategic],
  ["application/merge-patch+json; charset=utf-8", patchTypes.merge],
  ["Application/JSON-Patch+JSON", patchTypes.json],
  ["application/apply-patch+yaml", patchTypes.apply],
  ["application/json", undefined],
  ["application/apply-patch+cbor", undefined],
  [undefined, undefined],
];

for (const [header, type] of contentTypes) {
  test(`content type ${header} → ${type}`, () => assert.equal(patchTypeOf(header), type));
}

const bad = { error: "BadRequest" } as const;

// Bodies arrive decoded (within the object limits, src/apiserver/body.ts); only JSON values pass.
const bodies: [name: string, type: PatchType, body: unknown, expected: JsonValue | typeof bad][] = [
  ["a JSON patch", patchTypes.json, [{ op: "remove", path: "/a" }], [{ op: "remove", path: "/a" }]],
  ["a merge patch", patchTypes.merge, { a: null }, { a: null }],
  [
    "an apply configuration",
    patchTypes.apply,
    { apiVersion: "v1", kind: "Service" },
    { apiVersion: "v1", kind: "Service" },
  ],
  ["an apply list", patchTypes.apply, [1], bad],
  ["an infinite number (YAML .inf)", patchTypes.apply, { a: Infinity }, bad],
  ["bytes (YAML !!binary)", patchTypes.apply, { a: { b: [new Uint8Array([1])] } }, bad],
];

for (const [name, type, body, expected] of bodies) {
  test(`check ${type}: ${name}`, () => {
    if (expected === bad) {
      assert.throws(
        () => checkPatchBody(type, body),
        (e: unknown) => isPatchError(e, "BadRequest") && /^error decoding patch: /.test(e.message),
      );
    } else {
      assert.deepEqual(checkPatchBody(type, body), expected as JsonValue);
    }
  });
}

test("a value that is not JSON is named by its path, shortened", () => {
  assert.throws(
    () => checkPatchBody(patchTypes.apply, { a: { ["k".repeat(500)]: [0, NaN] } }),
    (e: unknown) => {
      assert.ok(isPatchError(e, "BadRequest"));
      assert.match(
        e.message,
        /^error decoding patch: a\.k{118}…\(\d+ more characters\) is not a finite number$/,
      );
      return true;
    },
  );
});

const service = (): KubeObject =>
  ({
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "greeter",
      namespace: "default",
      uid: "u",
      resourceVersion: "3",
      labels: { app: "greeter" },
    },
    spec: { selector: { app: "greeter" }, ports: [{ port: 80, protocol: "TCP", targetPort: 8080 }] },
  }) as KubeObject;

const route = (): KubeObject =>
  ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r", namespace: "default" },
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: "greeter" }],
      rules: [{ backendRefs: [{ name: "v1", port: 80 }] }],
    },
  }) as KubeObject;

const dispatch: [
  name: string,
  contentType: string,
  current: KubeObject,
  patch: JsonValue,
  check: (result: KubeObject) => void,
][] = [
  [
    "json patch on a Service",
    patchTypes.json,
    service(),
    [{ op: "add", path: "/spec/type", value: "NodePort" }],
    (r) => assert.equal((r.spec as JsonObject).type, "NodePort"),
  ],
  [
    "merge patch on a Service replaces ports",
    patchTypes.merge,
    service(),
    { spec: { ports: [{ port: 81 }] } },
    (r) => assert.deepEqual((r.spec as JsonObject).ports, [{ port: 81 }]),
  ],
  [
    "strategic merge patch on a Service merges ports",
    "application/strategic-merge-patch+json; charset=utf-8",
    service(),
    { spec: { ports: [{ port: 81 }] } },
    (r) =>
      assert.deepEqual((r.spec as JsonObject).ports, [
        { port: 81 },
        { port: 80, protocol: "TCP", targetPort: 8080 },
      ]),
  ],
  [
    "merge patch on an HTTPRoute",
    patchTypes.merge,
    route(),
    { spec: { hostnames: ["a.example"] } },
    (r) => assert.deepEqual((r.spec as JsonObject).hostnames, ["a.example"]),
  ],
];

for (const [name, contentType, current, patch, check] of dispatch) {
  test(`applyPatch: ${name}`, () => {
    const before = structuredClone(current);
    check(applyPatch(contentType, current, patch));
    assert.deepEqual(current, before);
  });
}

const refusals: [
  name: string,
  contentType: string,
  current: KubeObject,
  patch: JsonValue,
  reason: PatchErrorReason,
  message: string | RegExp,
][] = [
  [
    "strategic merge patch on a custom resource",
    patchTypes.strategic,
    route(),
    {},
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${crTypes}`,
  ],
  [
    "an unknown content type",
    "text/plain",
    service(),
    {},
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${builtinTypes}`,
  ],
  [
    "a merge patch that is not an object",
    patchTypes.merge,
    service(),
    [1],
    "Invalid",
    /the patched object must be an object, got array/,
  ],
  [
    "a json patch that removes metadata",
    patchTypes.json,
    service(),
    [{ op: "remove", path: "/metadata" }],
    "Invalid",
    /no metadata/,
  ],
];

for (const [name, contentType, current, patch, reason, message] of refusals) {
  test(`applyPatch refuses ${name}`, () => {
    assert.throws(
      () => applyPatch(contentType, current, patch),
      (e: unknown) => {
        assert.ok(isPatchError(e, reason), String(e));
        if (typeof message === "string") assert.equal(e.message, message);
        else assert.match(e.message, message);
        return true;
      },
    );
  });
}

test("applyPatch sends apply elsewhere", () => {
  assert.throws(() => applyPatch(patchTypes.apply, service(), {}), TypeError);
});

test("PatchError renders as a Kubernetes Status", () => {
  assert.deepEqual(new PatchError("UnsupportedMediaType", "no").toStatus(), {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: "no",
    reason: "UnsupportedMediaType",
    code: 415,
  });
  const codes = (["BadRequest", "Conflict", "Invalid"] as const).map((r) => new PatchError(r, "").code);
  assert.deepEqual(codes, [400, 409, 422]);
});

test("kubectl client-side apply of a Service: create, then an SMP patch, ownership follows", () => {
  const annotation = "kubectl.kubernetes.io/last-applied-configuration";
  const created = recordUpdate("kubectl-client-side-apply", undefined, service(), {
    operationTime: "2025-01-01T00:00:00Z",
  });
  const body = checkPatchBody(
    patchTypes.strategic,
    JSON.parse(
      `{"metadata":{"annotations":{"${annotation}":"{\\"apiVersion\\":\\"v1\\"}\\n"}},"spec":{"$setElementOrder/ports":[{"port":80}],"ports":[{"port":80,"targetPort":9090}]}}`,
    ),
  );
  const patched = applyPatch(patchTypes.strategic, created, body);
  const updated = recordUpdate("kubectl-client-side-apply", created, patched, {
    operationTime: "2025-01-01T00:01:00Z",
  });
  assert.deepEqual((updated.spec as JsonObject).ports, [{ port: 80, protocol: "TCP", targetPort: 9090 }]);
  assert.equal((updated.metadata.annotations as Record<string, string>)[annotation], '{"apiVersion":"v1"}\n');
  const [entry] = updated.metadata.managedFields as JsonObject[];
  assert.equal(entry?.time, "2025-01-01T00:01:00Z");
  assert.deepEqual((entry?.fieldsV1 as JsonObject)["f:metadata"], {
    "f:annotations": { ".": {}, [`f:${annotation}`]: {} },
    "f:labels": { ".": {}, "f:app": {} },
  });
});

test("deep-frozen inputs (as the store's watch events are) are read, never written", () => {
  const freeze = <T>(value: T): T => {
    if (typeof value === "object" && value !== null) Object.values(value).forEach(freeze);
    return Object.freeze(value);
  };
  const current = freeze(
    recordUpdate("kubectl-create", undefined, service(), { operationTime: "2025-01-01T00:00:00Z" }),
  );
  const patch = freeze({
    metadata: { labels: { tier: "backend" } },
    spec: { ports: [{ port: 81, targetPort: 9 }] },
  });
  for (const type of [patchTypes.merge, patchTypes.strategic]) {
    const patched = applyPatch(type, current, patch);
    recordUpdate("kubectl-patch", current, patched, { operationTime: "2025-01-01T00:01:00Z" });
  }
  applyPatch(patchTypes.json, current, freeze([{ op: "replace", path: "/spec/ports/0/port", value: 82 }]));
  serverSideApply({
    current,
    applied: freeze({ ...service(), spec: { type: "NodePort" } }),
    manager: "x",
    force: true,
    operationTime: "2025-01-01T00:02:00Z",
  });
});

test("errors echo the request's paths as excerpts, and only so many of them", () => {
  const conflicts = Array.from({ length: 500 }, (_, i) => ({
    field: `.metadata.annotations.${"k".repeat(10_000)}${i}`,
    manager: "other",
    operation: "Apply" as const,
    apiVersion: "v1",
  }));
  const conflict = applyConflictError(conflicts);
  assert.ok(conflict.message.length < 30_000, `${conflict.message.length} characters`);
  assert.match(
    conflict.message,
    /^Apply failed with 500 conflicts: conflicts with "other":\n- \.metadata\.annotations\.k+…/,
  );
  assert.match(conflict.message, /\nand 400 more$/);
  assert.equal(conflict.causes?.length, 100);
  const long = `/metadata/${"x".repeat(100_000)}`;
  assert.throws(
    () => applyPatch(patchTypes.json, service(), [{ op: "remove", path: long }]),
    (e: unknown) => isPatchError(e, "Invalid") && e.message.length < 600,
  );
  assert.throws(
    () =>
      applyPatch(patchTypes.strategic, service(), {
        spec: { ["y".repeat(100_000)]: { $patch: "z".repeat(100_000) } },
      }),
    (e: unknown) => isPatchError(e) && e.message.length < 600,
  );
});
