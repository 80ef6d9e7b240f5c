// PATCH over HTTP: option checks, the four patch types, apply-creates, status, dry runs, retries.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject, ResourceStore } from "../store/index.ts";
import { createMemoryStore } from "../store/index.ts";
import type { PatchEngine } from "./patch-engine.ts";
import { grpcRoute, routesPath, service, servicesPath, startTestServer } from "./testing.ts";

const types = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

const patch = (type: keyof typeof types, body: unknown) => ({
  body: typeof body === "string" ? body : JSON.stringify(body),
  headers: { "content-type": types[type] },
});

test("option checks: media types per kind, fieldManager for apply, force only for apply", async (t) => {
  const api = await startTestServer();
  t.after(() => api.close());
  await api.request("POST", routesPath, { body: grpcRoute("r") });
  const cases: [path: string, type: string, status: number, message: RegExp][] = [
    [
      `${routesPath}/r`,
      types.strategic,
      415,
      /accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml$/,
    ],
    [`${routesPath}/r`, "application/json", 415, /unknown format/],
    [
      `${routesPath}/r`,
      types.apply,
      422,
      /PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value/,
    ],
    [
      `${routesPath}/r?force=true`,
      types.merge,
      422,
      /force: Forbidden: may not be specified for non-apply patch/,
    ],
    [`${routesPath}/r?dryRun=Maybe`, types.merge, 400, /dryRun: Unsupported value/],
    [`${routesPath}/missing`, types.merge, 404, /grpcroutes.gateway.networking.k8s.io "missing" not found/],
    [`${routesPath}/r`, types.merge, 400, /error decoding patch/],
  ];
  for (const [path, type, status, message] of cases) {
    const res = await api.request("PATCH", path, { body: "{not json", headers: { "content-type": type } });
    assert.equal(res.status, status, `${type} ${path}: ${res.text}`);
    assert.match(res.json.message, message);
  }
});

test("merge, json and strategic patches; apply creates then updates", async (t) => {
  const api = await startTestServer();
  t.after(() => api.close());
  await api.request("POST", servicesPath, { body: service("s") });
  const merged = await api.request(
    "PATCH",
    `${servicesPath}/s`,
    patch("merge", { metadata: { labels: { a: "1" } } }),
  );
  assert.deepEqual(merged.json.metadata.labels, { a: "1" });
  const json = await api.request(
    "PATCH",
    `${servicesPath}/s`,
    patch("json", [{ op: "replace", path: "/spec/sessionAffinity", value: "ClientIP" }]),
  );
  assert.equal(json.json.spec.sessionAffinity, "ClientIP");
  const failed = await api.request(
    "PATCH",
    `${servicesPath}/s`,
    patch("json", [{ op: "test", path: "/spec/type", value: "NodePort" }]),
  );
  assert.equal(failed.status, 422);
  const smp = await api.request(
    "PATCH",
    `${servicesPath}/s`,
    patch("strategic", { spec: { ports: [{ port: 9090, name: "metrics" }] } }),
  );
  assert.deepEqual(
    smp.json.spec.ports
      .map((p: { port: number; targetPort: number; protocol: string }) => [p.port, p.targetPort, p.protocol])
      .sort(),
    [
      [50051, 50051, "TCP"],
      [9090, 9090, "TCP"],
    ],
  );
  const clusterIp = smp.json.spec.clusterIP;
  const moved = await api.request(
    "PATCH",
    `${servicesPath}/s`,
    patch("merge", { spec: { clusterIP: "10.96.9.9" } }),
  );
  assert.equal(moved.status, 422);
  assert.match(moved.json.message, /spec.clusterIP: Invalid value: "10.96.9.9": field is immutable/);
  assert.equal((await api.request("GET", `${servicesPath}/s`)).json.spec.clusterIP, clusterIp);

  const applied = await api.request(
    "PATCH",
    `${routesPath}/made?fieldManager=test`,
    patch(
      "apply",
      `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: made
spec:
  parentRefs: [{group: "", kind: Service, name: greeter}]
`,
    ),
  );
  assert.equal(applied.status, 201);
  assert.equal(applied.json.metadata.managedFields[0].manager, "test");
  assert.equal(applied.json.metadata.managedFields[0].operation, "Apply");
  const conflict = await api.request(
    "PATCH",
    `${routesPath}/made?fieldManager=rival`,
    patch("apply", {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GRPCRoute",
      metadata: { name: "made" },
      spec: { parentRefs: [{ group: "", kind: "Service", name: "other" }] },
    }),
  );
  assert.equal(conflict.status, 409);
  assert.equal(conflict.json.details.causes[0].reason, "FieldManagerConflict");
  const forced = await api.request(
    "PATCH",
    `${routesPath}/made?fieldManager=rival&force=true`,
    patch("apply", {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GRPCRoute",
      metadata: { name: "made" },
      spec: { parentRefs: [{ group: "", kind: "Service", name: "other" }] },
    }),
  );
  assert.equal(forced.status, 200);
  assert.equal(forced.json.spec.parentRefs[0].name, "other");
  const invalid = await api.request(
    "PATCH",
    `${routesPath}/made`,
    patch("merge", { spec: { parentRefs: null } }),
  );
  assert.equal(invalid.status, 422);
  assert.match(invalid.json.message, /spec.parentRefs: Required value/);
});

test("status patches, dry runs and pinned resourceVersions", async (t) => {
  const api = await startTestServer();
  t.after(() => api.close());
  const created = (await api.request("POST", routesPath, { body: grpcRoute("r") })).json;
  const status = await api.request(
    "PATCH",
    `${routesPath}/r/status`,
    patch("merge", { status: { parents: [] }, spec: { hostnames: ["ignored"] } }),
  );
  assert.equal(status.status, 200);
  assert.deepEqual(status.json.status, { parents: [] });
  assert.equal(status.json.spec.hostnames, undefined);
  const dry = await api.request(
    "PATCH",
    `${routesPath}/r?dryRun=All`,
    patch("merge", { spec: { hostnames: ["dry"] } }),
  );
  assert.deepEqual(dry.json.spec.hostnames, ["dry"]);
  assert.equal(dry.json.metadata.generation, 2);
  assert.equal((await api.request("GET", `${routesPath}/r`)).json.spec.hostnames, undefined);
  const pinned = await api.request(
    "PATCH",
    `${routesPath}/r`,
    patch("merge", {
      metadata: { resourceVersion: created.metadata.resourceVersion },
      spec: { hostnames: ["x"] },
    }),
  );
  assert.equal(pinned.status, 409);
  assert.equal(pinned.json.reason, "Conflict");
});

test("a patch that loses a race is computed again on the new object", async (t) => {
  const inner = createMemoryStore();
  let races = 2;
  // The first updates find the object changed underneath (another writer got there first).
  const store: ResourceStore = Object.assign(Object.create(inner) as ResourceStore, {
    update: async (type: Parameters<ResourceStore["update"]>[0], object: KubeObject) => {
      if (type.resource === "grpcroutes" && races-- > 0) {
        const current = await inner.get(type, { namespace: "default", name: "r" });
        await inner.update(type, {
          ...current,
          metadata: { ...current.metadata, labels: { ...current.metadata.labels, [`racer${races}`]: "x" } },
        });
      }
      return inner.update(type, object);
    },
  });
  let calls = 0;
  const counting: PatchEngine = {
    patch: (input) => {
      calls++;
      const current = input.current as KubeObject;
      return {
        ...current,
        metadata: { ...current.metadata, labels: { ...current.metadata.labels, mine: "y" } },
      };
    },
    recordUpdate: (input) => input.after,
  };
  const api = await startTestServer({ store, patcher: counting });
  t.after(() => api.close());
  await api.request("POST", routesPath, { body: grpcRoute("r") });
  const res = await api.request("PATCH", `${routesPath}/r`, patch("merge", {}));
  assert.equal(res.status, 200);
  assert.deepEqual(res.json.metadata.labels, { racer1: "x", racer0: "x", mine: "y" });
  assert.equal(calls, 3);
});
