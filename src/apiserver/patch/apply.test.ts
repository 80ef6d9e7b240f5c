// Server-side apply scenarios: create, re-apply, pruning, conflicts between managers, force,
// updates followed by applies, and the managedFields wire format kubectl reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { KubeObject } from "../../store/index.ts";
import { recordUpdate, serverSideApply, type ApplyOptions } from "./apply.ts";
import { applyConflictError } from "./errors.ts";
import type { JsonObject, JsonValue } from "./json.ts";
import type { ManagedFieldsEntry } from "./managed-fields.ts";

const t0 = "2025-03-01T10:00:00Z";
const t1 = "2025-03-01T10:05:00Z";
const t2 = "2025-03-01T10:10:00Z";

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

const portKey = 'k:{"port":80,"protocol":"TCP"}';

test("apply creates: the object is the configuration; managedFields as kubectl shows them", () => {
  const { object, conflicts, changed } = apply({ applied: greeter(), operationTime: t0 });
  assert.deepEqual(conflicts, []);
  assert.equal(changed, true);
  assert.deepEqual(
    { ...object, metadata: { ...object.metadata, managedFields: undefined } },
    {
      ...greeter(),
      metadata: { ...(greeter().metadata as JsonObject), managedFields: undefined },
    },
  );
  assert.equal(
    JSON.stringify(object.metadata.managedFields),
    JSON.stringify([
      {
        manager: "kubectl",
        operation: "Apply",
        apiVersion: "v1",
        time: t0,
        fieldsType: "FieldsV1",
        fieldsV1: {
          "f:metadata": { "f:labels": { "f:app": {} } },
          "f:spec": {
            "f:ports": { [portKey]: { ".": {}, "f:name": {}, "f:port": {}, "f:targetPort": {} } },
            "f:selector": {},
          },
        },
      },
    ]),
  );
});

test("re-applying the same configuration is a no-op and keeps the time", () => {
  const current = stored(apply({ applied: greeter(), operationTime: t0 }).object);
  const again = apply({ current, applied: greeter(), operationTime: t1 });
  assert.equal(again.changed, false);
  assert.deepEqual(again.object, current);
});

test("re-applying without a field removes it and its ownership", () => {
  const first = config(
    { selector: { app: "greeter" }, ports: [{ port: 80 }, { port: 443 }], sessionAffinity: "ClientIP" },
    { labels: { app: "greeter", tier: "backend" } },
  );
  const current = stored(apply({ applied: first, operationTime: t0 }).object);
  const { object } = apply({
    current,
    applied: config({ selector: { app: "greeter" }, ports: [{ port: 80 }] }, { labels: { app: "greeter" } }),
  });
  assert.deepEqual(spec(object), { selector: { app: "greeter" }, ports: [{ port: 80 }] });
  assert.deepEqual(object.metadata.labels, { app: "greeter" });
  assert.deepEqual(fieldsOf(object, "kubectl"), {
    "f:metadata": { "f:labels": { "f:app": {} } },
    "f:spec": { "f:ports": { [portKey]: { ".": {}, "f:port": {} } }, "f:selector": {} },
  });
  assert.equal(entries(object)[0]?.time, t1);
});

test("a field removed from one applier's configuration stays while another applier owns it", () => {
  const both = config({ selector: { app: "greeter" }, sessionAffinity: "ClientIP" });
  let current = stored(apply({ applied: both, operationTime: t0 }).object);
  current = stored(
    apply({ current, applied: config({ sessionAffinity: "ClientIP" }), manager: "ops" }).object,
  );
  const { object } = apply({ current, applied: config({ selector: { app: "greeter" } }), operationTime: t2 });
  assert.equal(spec(object).sessionAffinity, "ClientIP");
  assert.deepEqual(fieldsOf(object, "ops"), { "f:spec": { "f:sessionAffinity": {} } });
});

test("fields nobody applied survive a re-apply (server defaults, other writers' values)", () => {
  let current = stored(apply({ applied: greeter(), operationTime: t0 }).object);
  current = { ...current, spec: { ...spec(current), clusterIP: "10.96.0.10", type: "ClusterIP" } };
  const { object } = apply({
    current,
    applied: config({ selector: { app: "greeter" }, ports: [{ port: 80 }] }),
  });
  assert.deepEqual(spec(object), {
    selector: { app: "greeter" },
    ports: [{ port: 80 }],
    clusterIP: "10.96.0.10",
    type: "ClusterIP",
  });
});

test("two appliers: changing another manager's field is a conflict and nothing is applied", () => {
  const current = stored(apply({ applied: greeter(8080), operationTime: t0 }).object);
  const result = apply({
    current,
    applied: config({ ports: [{ port: 80, targetPort: 9090 }] }),
    manager: "ci",
  });
  assert.equal(result.object, current);
  assert.equal(result.changed, false);
  assert.deepEqual(result.conflicts, [
    {
      field: '.spec.ports[port=80,protocol="TCP"].targetPort',
      manager: "kubectl",
      operation: "Apply",
      apiVersion: "v1",
      time: t0,
    },
  ]);
  const error = applyConflictError(result.conflicts);
  assert.equal(error.code, 409);
  assert.equal(
    error.message,
    'Apply failed with 1 conflict: conflict with "kubectl": .spec.ports[port=80,protocol="TCP"].targetPort',
  );
  assert.deepEqual(error.toStatus().details, {
    causes: [
      {
        type: "FieldManagerConflict",
        message: 'conflict with "kubectl"',
        field: '.spec.ports[port=80,protocol="TCP"].targetPort',
      },
    ],
  });
});

test("two appliers setting the same value share the field", () => {
  const current = stored(apply({ applied: greeter(8080), operationTime: t0 }).object);
  const result = apply({
    current,
    applied: config({ ports: [{ port: 80, targetPort: 8080 }] }),
    manager: "ci",
  });
  assert.deepEqual(result.conflicts, []);
  assert.equal(result.changed, true, "the values are the same, the ownership is not");
  assert.deepEqual(fieldsOf(result.object, "ci"), {
    "f:spec": { "f:ports": { [portKey]: { ".": {}, "f:port": {}, "f:targetPort": {} } } },
  });
  assert.ok(fieldsOf(result.object, "kubectl"), "the first applier keeps its fields");
});

test("force takes ownership of the conflicting fields", () => {
  const current = stored(apply({ applied: greeter(8080), operationTime: t0 }).object);
  const { object, conflicts } = apply({
    current,
    applied: config({ ports: [{ port: 80, targetPort: 9090 }] }),
    manager: "ci",
    force: true,
  });
  assert.deepEqual(conflicts, []);
  assert.equal((spec(object).ports as JsonObject[])[0]?.targetPort, 9090);
  assert.deepEqual(fieldsOf(object, "kubectl"), {
    "f:metadata": { "f:labels": { "f:app": {} } },
    "f:spec": { "f:ports": { [portKey]: { ".": {}, "f:name": {}, "f:port": {} } }, "f:selector": {} },
  });
  assert.deepEqual(fieldsOf(object, "ci"), {
    "f:spec": { "f:ports": { [portKey]: { ".": {}, "f:port": {}, "f:targetPort": {} } } },
  });
});

test("an update by another manager takes the field; the next apply conflicts with it", () => {
  const applied = stored(apply({ applied: greeter(8080), operationTime: t0 }).object);
  const edited = {
    ...applied,
    spec: { ...spec(applied), ports: [{ name: "grpc", port: 80, targetPort: 7070 }] },
  };
  const current = stored(recordUpdate("kubectl-edit", applied, edited, { operationTime: t1 }), "11");
  assert.deepEqual(fieldsOf(current, "kubectl-edit"), {
    "f:spec": { "f:ports": { [portKey]: { "f:targetPort": {} } } },
  });
  const result = apply({ current, applied: greeter(8080), operationTime: t2 });
  assert.equal(
    applyConflictError(result.conflicts).message,
    `Apply failed with 1 conflict: conflict with "kubectl-edit" using v1 at ${t1}: .spec.ports[port=80,protocol="TCP"].targetPort`,
  );
  const forced = apply({ current, applied: greeter(8080), operationTime: t2, force: true });
  assert.equal(fieldsOf(forced.object, "kubectl-edit"), undefined, "an owner left with nothing is dropped");
});

test("several conflicts are grouped by manager", () => {
  let current = stored(
    apply({
      applied: config({ type: "ClusterIP", sessionAffinity: "None" }),
      manager: "a",
      operationTime: t0,
    }).object,
  );
  current = stored(apply({ current, applied: config({ externalName: "x" }), manager: "b" }).object);
  const { conflicts } = apply({
    current,
    applied: config({ type: "NodePort", sessionAffinity: "ClientIP", externalName: "y" }),
    manager: "c",
  });
  assert.equal(
    applyConflictError(conflicts).message,
    'Apply failed with 3 conflicts: conflicts with "a":\n- .spec.sessionAffinity\n- .spec.type\nconflicts with "b":\n- .spec.externalName',
  );
});

test("an object nobody tracked belongs to before-first-apply", () => {
  const current = stored({
    ...greeter(8080),
    metadata: { ...(greeter().metadata as JsonObject) },
  } as unknown as KubeObject);
  const changing = apply({ current, applied: greeter(9090) });
  assert.deepEqual(
    changing.conflicts.map((c) => [c.manager, c.field]),
    [["before-first-apply", '.spec.ports[port=80,protocol="TCP"].targetPort']],
  );
  const adding = apply({ current, applied: config({ sessionAffinity: "ClientIP" }) });
  assert.deepEqual(adding.conflicts, []);
  assert.deepEqual(
    entries(adding.object).map((e) => [e.manager, e.operation]),
    [
      ["kubectl", "Apply"],
      ["before-first-apply", "Update"],
    ],
  );
});

test("apply merges list items by key, with the protocol default, in the applied order", () => {
  const live = stored({
    ...config({
      ports: [
        { name: "dns", port: 53, protocol: "TCP" },
        { name: "dns-udp", port: 53, protocol: "UDP" },
      ],
    }),
  } as unknown as KubeObject);
  const current = recordUpdate("kubectl-create", undefined, live, { operationTime: t0 });
  const { object } = apply({
    current: stored(current),
    applied: config({
      ports: [
        { port: 53, protocol: "UDP", targetPort: 5353 },
        { port: 53, targetPort: 5354 },
      ],
    }),
  });
  assert.deepEqual(spec(object).ports, [
    { name: "dns-udp", port: 53, protocol: "UDP", targetPort: 5353 },
    { name: "dns", port: 53, protocol: "TCP", targetPort: 5354 },
  ]);
});

test("applying null sets nothing but owns the field", () => {
  const current = stored(
    apply({ applied: config({ type: "ClusterIP", sessionAffinity: "None" }), operationTime: t0 }).object,
  );
  const { object } = apply({ current, applied: config({ type: "ClusterIP", sessionAffinity: null }) });
  assert.deepEqual(spec(object), { type: "ClusterIP" });
  assert.deepEqual(fieldsOf(object, "kubectl"), { "f:spec": { "f:sessionAffinity": {}, "f:type": {} } });
});
