// Server-side apply: the status subresource, kubectl's last-applied annotation, custom resources,
// and the requests apply refuses.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { KubeObject } from "../../store/index.ts";
import { lastAppliedAnnotation, recordUpdate, serverSideApply, type ApplyOptions } from "./apply.ts";
import { isPatchError, type PatchErrorReason } from "./errors.ts";
import type { JsonObject, JsonValue } from "./json.ts";
import type { ManagedFieldsEntry } from "./managed-fields.ts";

const t0 = "2025-03-01T10:00:00Z";
const t1 = "2025-03-01T10:05:00Z";

/** What `kubectl apply --server-side` sends for a Service. */
const config = (spec: JsonObject, metadata: JsonObject = {}): JsonObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "greeter", namespace: "default", ...metadata },
  spec,
});

const greeter = (targetPort: JsonValue = 8080) =>
  config(
    { selector: { app: "greeter" }, ports: [{ name: "grpc", port: 80, targetPort }] },
    { labels: { app: "greeter" } },
  );

/** The store's part of a write: identity and version. */
const stored = (object: KubeObject, rv = "10"): KubeObject => ({
  ...object,
  metadata: { uid: "6b1d", resourceVersion: rv, creationTimestamp: t0, ...object.metadata },
});

const apply = (options: Partial<ApplyOptions> & { applied: JsonValue }) =>
  serverSideApply({ manager: "kubectl", force: false, operationTime: t1, ...options });

const entries = (object: KubeObject) => object.metadata.managedFields as ManagedFieldsEntry[];
const fieldsOf = (object: KubeObject, manager: string) =>
  entries(object).find((e) => e.manager === manager)?.fieldsV1;
const spec = (object: KubeObject) => object.spec as JsonObject;

test("status is not applied through the main resource; the status subresource applies only status", () => {
  const withStatus = { ...greeter(), status: { loadBalancer: { ingress: [{ ip: "1.2.3.4" }] } } };
  const created = apply({ applied: withStatus, operationTime: t0 }).object;
  assert.equal(created.status, undefined);
  const status = apply({
    current: stored(created),
    applied: { ...withStatus, metadata: { name: "greeter", labels: { x: "y" } }, spec: { type: "NodePort" } },
    manager: "lb-controller",
    subresource: "status",
  });
  assert.deepEqual(status.object.status, withStatus.status);
  assert.equal(spec(status.object).type, undefined);
  assert.deepEqual(status.object.metadata.labels, created.metadata.labels);
  const entry = entries(status.object).find((e) => e.manager === "lb-controller");
  assert.equal(entry?.subresource, "status");
  assert.deepEqual(entry?.fieldsV1, { "f:status": { "f:loadBalancer": { "f:ingress": {} } } });
});

test("kubectl server-side apply keeps the client-side apply annotation in step", () => {
  const csa = {
    ...greeter(),
    metadata: {
      ...(greeter().metadata as JsonObject),
      annotations: { [lastAppliedAnnotation]: '{"old":1}\n' },
    },
  };
  const current = stored(
    recordUpdate("kubectl-client-side-apply", undefined, csa as unknown as KubeObject, { operationTime: t0 }),
  );
  const { object } = apply({ current, applied: greeter(), force: true });
  assert.equal(
    (object.metadata.annotations as Record<string, string>)[lastAppliedAnnotation],
    '{"apiVersion":"v1","kind":"Service","metadata":{"labels":{"app":"greeter"},"name":"greeter","namespace":"default"},"spec":{"ports":[{"name":"grpc","port":80,"targetPort":8080}],"selector":{"app":"greeter"}}}\n',
  );
  const other = apply({ current, applied: greeter(), manager: "helm", force: true });
  assert.equal(
    (other.object.metadata.annotations as Record<string, string>)[lastAppliedAnnotation],
    '{"old":1}\n',
  );
});

test("custom resources: lists are atomic, finalizers a set", () => {
  const route = (backends: string[]) => ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r", namespace: "default", finalizers: ["meshplane.dev/cleanup"] },
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: "greeter" }],
      rules: [{ backendRefs: backends.map((name) => ({ name, port: 80 })) }],
    },
  });
  const created = stored(apply({ applied: route(["v1", "v2"]), operationTime: t0 }).object);
  assert.deepEqual(fieldsOf(created, "kubectl"), {
    "f:metadata": { "f:finalizers": { 'v:"meshplane.dev/cleanup"': {} } },
    "f:spec": { "f:parentRefs": {}, "f:rules": {} },
  });
  const { object } = apply({ current: created, applied: route(["v2"]) });
  assert.deepEqual(spec(object).rules, [{ backendRefs: [{ name: "v2", port: 80 }] }]);
});

const invalid: [
  name: string,
  options: Partial<ApplyOptions> & { applied: JsonValue },
  reason: PatchErrorReason,
  message: RegExp,
][] = [
  [
    "no field manager",
    { applied: greeter(), manager: "" },
    "Invalid",
    /fieldManager: Required value: is required for apply requests/,
  ],
  ["not an object", { applied: [greeter()] }, "BadRequest", /must be an object/],
  [
    "no kind",
    { applied: { apiVersion: "v1", metadata: { name: "x" } } },
    "BadRequest",
    /apiVersion and kind must be set/,
  ],
  [
    "managedFields in the body",
    { applied: config({}, { managedFields: [] }) },
    "BadRequest",
    /^metadata.managedFields must be nil$/,
  ],
  [
    "another version",
    { applied: { ...greeter(), apiVersion: "v2" }, current: stored(greeter() as unknown as KubeObject) },
    "BadRequest",
    /^Incorrect version specified in apply patch. Specified patch version: v2, expected: v1$/,
  ],
  [
    "another name",
    { applied: config({}, { name: "other" }), current: stored(greeter() as unknown as KubeObject) },
    "BadRequest",
    /does not match the name on the URL/,
  ],
  [
    "duplicate keys",
    { applied: config({ ports: [{ port: 80 }, { port: 80, protocol: "TCP" }] }) },
    "Invalid",
    /\.spec\.ports: duplicate entries for key \[port=80,protocol="TCP"\]/,
  ],
  [
    "missing key",
    { applied: config({ ports: [{ name: "x" }] }) },
    "Invalid",
    /omits key field "port" \(and doesn't have default value\)/,
  ],
  [
    "unreadable managedFields",
    {
      applied: greeter(),
      current: stored({
        ...greeter(),
        metadata: { name: "greeter", managedFields: [{ operation: "Delete" }] },
      } as unknown as KubeObject),
    },
    "Invalid",
    /failed to decode managed fields: operation must be `Apply` or `Update`/,
  ],
];

for (const [name, options, reason, message] of invalid) {
  test(`apply rejects: ${name}`, () => {
    assert.throws(
      () => apply(options),
      (error: unknown) => isPatchError(error, reason) && message.test(error.message),
    );
  });
}
