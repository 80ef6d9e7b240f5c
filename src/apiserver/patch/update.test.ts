// "Update" ownership recorded for ordinary writes (create, PUT, non-apply PATCH with fieldManager),
// and the managedFields bookkeeping around it: order, caps, resets.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { KubeObject } from "../../store/index.ts";
import { recordUpdate, serverSideApply } from "./apply.ts";
import type { JsonObject } from "./json.ts";
import type { ManagedFieldsEntry } from "./managed-fields.ts";

const t0 = "2025-03-01T10:00:00Z";
const t1 = "2025-03-01T10:05:00Z";
const portKey = 'k:{"port":80,"protocol":"TCP"}';

const service = (targetPort = 8080, extra: JsonObject = {}): KubeObject =>
  ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "greeter", namespace: "default", labels: { app: "greeter" } },
    spec: {
      selector: { app: "greeter" },
      ports: [{ name: "grpc", port: 80, protocol: "TCP", targetPort }],
      ...extra,
    },
  }) as KubeObject;

const stored = (object: KubeObject): KubeObject => ({
  ...object,
  metadata: { ...object.metadata, uid: "6b1d", resourceVersion: "10", creationTimestamp: t0 },
});

const entries = (object: KubeObject) => (object.metadata.managedFields ?? []) as ManagedFieldsEntry[];
const fieldsOf = (object: KubeObject, manager: string) =>
  entries(object).find((e) => e.manager === manager)?.fieldsV1;
const withSpec = (object: KubeObject, spec: JsonObject): KubeObject => ({
  ...object,
  spec: { ...(object.spec as JsonObject), ...spec },
});

test("create (kubectl create): everything is the creator's, as kubectl shows it", () => {
  const created = recordUpdate("kubectl-create", undefined, service(), { operationTime: t0 });
  assert.equal(
    JSON.stringify(created.metadata.managedFields),
    JSON.stringify([
      {
        manager: "kubectl-create",
        operation: "Update",
        apiVersion: "v1",
        time: t0,
        fieldsType: "FieldsV1",
        fieldsV1: {
          "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
          "f:spec": {
            "f:ports": {
              ".": {},
              [portKey]: { ".": {}, "f:name": {}, "f:port": {}, "f:protocol": {}, "f:targetPort": {} },
            },
            "f:selector": {},
          },
        },
      },
    ]),
  );
});

test("create of a custom resource: the new spec itself is owned too", () => {
  const route = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r" },
    spec: { parentRefs: [{ name: "greeter" }] },
  } as KubeObject;
  const created = recordUpdate("meshplane", undefined, route, { operationTime: t0 });
  assert.deepEqual(fieldsOf(created, "meshplane"), { "f:spec": { ".": {}, "f:parentRefs": {} } });
});

test("an update takes the fields it changes from their owner", () => {
  const applied = stored(
    serverSideApply({
      applied: service() as unknown as JsonObject,
      manager: "kubectl",
      force: false,
      operationTime: t0,
    }).object,
  );
  const edited = recordUpdate(
    "kubectl-edit",
    applied,
    withSpec(applied, { ports: [{ name: "grpc", port: 80, protocol: "TCP", targetPort: 9090 }] }),
    {
      operationTime: t1,
    },
  );
  assert.deepEqual(fieldsOf(edited, "kubectl-edit"), {
    "f:spec": { "f:ports": { [portKey]: { "f:targetPort": {} } } },
  });
  assert.deepEqual(fieldsOf(edited, "kubectl")?.["f:spec"], {
    "f:ports": { [portKey]: { ".": {}, "f:name": {}, "f:port": {}, "f:protocol": {} } },
    "f:selector": {},
  });
  assert.deepEqual(
    entries(edited).map((e) => [e.manager, e.operation, e.time]),
    [
      ["kubectl", "Apply", t0],
      ["kubectl-edit", "Update", t1],
    ],
  );
});

test("a removed field is owned by no one", () => {
  const created = stored(
    recordUpdate("kubectl-create", undefined, service(8080, { sessionAffinity: "ClientIP" }), {
      operationTime: t0,
    }),
  );
  const spec = { ...(created.spec as JsonObject) };
  delete spec.sessionAffinity;
  const updated = recordUpdate("controller", created, { ...created, spec }, { operationTime: t1 });
  assert.equal(JSON.stringify(fieldsOf(updated, "kubectl-create")).includes("sessionAffinity"), false);
  assert.equal(fieldsOf(updated, "controller"), undefined, "removing takes no ownership");
});

test("the same manager's updates accumulate; a write that changes nothing changes no entry", () => {
  const created = stored(recordUpdate("kubectl-create", undefined, service(), { operationTime: t0 }));
  const once = stored(
    recordUpdate("ops", created, withSpec(created, { type: "NodePort" }), { operationTime: t0 }),
  );
  const twice = recordUpdate("ops", once, withSpec(once, { sessionAffinity: "ClientIP" }), {
    operationTime: t1,
  });
  assert.deepEqual(fieldsOf(twice, "ops"), { "f:spec": { "f:sessionAffinity": {}, "f:type": {} } });
  const same = recordUpdate("ops", once, { ...once }, { operationTime: t1 });
  assert.deepEqual(same.metadata.managedFields, once.metadata.managedFields);
});

test("an existing object nobody tracks stays untracked; [] clears managedFields", () => {
  const untracked = stored(service());
  const updated = recordUpdate("kubectl-edit", untracked, withSpec(untracked, { type: "NodePort" }), {
    operationTime: t1,
  });
  assert.equal(updated.metadata.managedFields, undefined);
  const tracked = stored(recordUpdate("kubectl-create", undefined, service(), { operationTime: t0 }));
  const cleared = recordUpdate(
    "kubectl",
    tracked,
    { ...tracked, metadata: { ...tracked.metadata, managedFields: [] } },
    { operationTime: t1 },
  );
  assert.equal(cleared.metadata.managedFields, undefined);
});

test("managedFields a client sends are kept when valid, ignored when not", () => {
  const tracked = stored(recordUpdate("kubectl-create", undefined, service(), { operationTime: t0 }));
  const mine = [
    {
      manager: "mine",
      operation: "Apply",
      apiVersion: "v1",
      fieldsType: "FieldsV1",
      fieldsV1: { "f:spec": { "f:selector": {} } },
    },
  ];
  const kept = recordUpdate(
    "kubectl",
    tracked,
    { ...tracked, metadata: { ...tracked.metadata, managedFields: mine } },
    { operationTime: t1 },
  );
  assert.deepEqual(kept.metadata.managedFields, mine);
  const bad = [{ manager: "x", operation: "Delete" }];
  const ignored = recordUpdate(
    "kubectl",
    tracked,
    { ...tracked, metadata: { ...tracked.metadata, managedFields: bad } },
    { operationTime: t1 },
  );
  assert.deepEqual(ignored.metadata.managedFields, tracked.metadata.managedFields);
});

test("more than ten updaters: the oldest are folded into ancient-changes", () => {
  let current = stored(recordUpdate("m00", undefined, service(), { operationTime: "2025-01-01T00:00:00Z" }));
  for (let i = 1; i <= 11; i++) {
    const name = `m${String(i).padStart(2, "0")}`;
    current = stored(
      recordUpdate(
        name,
        current,
        {
          ...current,
          metadata: { ...current.metadata, labels: { ...current.metadata.labels, [name]: "x" } },
        },
        {
          operationTime: `2025-01-01T00:${String(i).padStart(2, "0")}:00Z`,
        },
      ),
    );
  }
  const managers = entries(current).map((e) => e.manager);
  assert.equal(managers.length, 10);
  assert.ok(managers.includes("ancient-changes"));
  assert.ok(!managers.includes("m00") && !managers.includes("m01") && !managers.includes("m02"));
});

test("status subresource updates are recorded with subresource status, status fields only", () => {
  const created = stored(recordUpdate("kubectl-create", undefined, service(), { operationTime: t0 }));
  const withStatus = {
    ...created,
    spec: { type: "ignored" },
    status: { loadBalancer: { ingress: [{ ip: "10.0.0.1" }] } },
  };
  const updated = recordUpdate("lb-controller", created, withStatus, {
    operationTime: t1,
    subresource: "status",
  });
  const entry = entries(updated).find((e) => e.manager === "lb-controller");
  assert.equal(entry?.subresource, "status");
  assert.deepEqual(entry?.fieldsV1, {
    "f:status": { ".": {}, "f:loadBalancer": { ".": {}, "f:ingress": {} } },
  });
});
