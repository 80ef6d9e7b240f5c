// CRUD over HTTP against the memory store: create/get/list/replace/status/delete, defaults,
// namespaces, dry runs and the Status errors of spec-notes §1.6 and §1.7.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { grpcRoute, routesPath, service, servicesPath, startTestServer, type TestServer } from "./testing.ts";

let api: TestServer;
before(async () => {
  api = await startTestServer();
});
after(() => api.close());

test("version, health and the default namespace", async () => {
  const version = await api.request("GET", "/version");
  assert.deepEqual(
    [version.json.major, version.json.minor, version.json.gitVersion],
    ["1", "32", "v1.32.0-meshplane"],
  );
  assert.equal((await api.request("GET", "/healthz")).text, "ok");
  const ns = await api.request("GET", "/api/v1/namespaces/default");
  assert.equal(ns.json.status.phase, "Active");
  assert.equal((await api.request("POST", "/version")).status, 405);
});

test("aggregated discovery only when asked for", async () => {
  const accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
  const aggregated = await api.request("GET", "/apis", { headers: { accept } });
  assert.equal(
    aggregated.headers.get("content-type"),
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
  );
  const legacy = await api.request("GET", "/apis");
  assert.equal(legacy.json.kind, "APIGroupList");
  const openapi = await api.request("GET", "/openapi/v3");
  assert.ok(openapi.json.paths["apis/gateway.networking.k8s.io/v1"]);
  const doc = await api.request("GET", "/openapi/v3/apis/gateway.networking.k8s.io/v1?hash=x");
  assert.equal(doc.json.openapi, "3.0.0");
});

test("create a Service: 201, defaults, allocated address, namespace from the URL", async () => {
  const created = await api.request("POST", servicesPath, { body: service("greeter") });
  assert.equal(created.status, 201);
  const { metadata, spec } = created.json;
  assert.equal(metadata.namespace, "default");
  assert.equal(metadata.generation, 1);
  assert.match(metadata.uid, /^[0-9a-f-]{36}$/);
  assert.match(metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(spec.clusterIP, /^10\.96\.\d+\.\d+$/);
  assert.deepEqual(spec.ports, [{ name: "grpc", port: 50051, protocol: "TCP", targetPort: 50051 }]);
  assert.deepEqual([spec.type, spec.sessionAffinity], ["ClusterIP", "None"]);

  const again = await api.request("POST", servicesPath, { body: service("greeter") });
  assert.equal(again.status, 409);
  assert.equal(again.json.reason, "AlreadyExists");
  assert.equal(again.json.message, 'services "greeter" already exists');
});

test("list, Table and all-namespaces list", async () => {
  const list = await api.request("GET", servicesPath);
  assert.equal(list.json.kind, "ServiceList");
  assert.equal(list.json.apiVersion, "v1");
  assert.match(list.json.metadata.resourceVersion, /^\d+$/);
  assert.ok(list.json.items.every((i: { kind: string }) => i.kind === "Service"));
  const accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
  const table = await api.request("GET", "/api/v1/services", { headers: { accept } });
  assert.equal(table.headers.get("content-type"), "application/json;as=Table;v=v1;g=meta.k8s.io");
  assert.equal(table.json.kind, "Table");
  assert.deepEqual(
    table.json.columnDefinitions.map((c: { name: string }) => c.name),
    ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"],
  );
  assert.equal(table.json.rows[0].cells[0], "greeter");
  const bad = await api.request("GET", `${servicesPath}?labelSelector=${encodeURIComponent("a in (")}`);
  assert.equal(bad.status, 400);
  const badField = await api.request("GET", `${servicesPath}?fieldSelector=spec.type%3DClusterIP`);
  assert.equal(badField.status, 400);
  const options = await api.request("GET", `${servicesPath}?resourceVersionMatch=Exact`);
  assert.equal(options.status, 422);
  assert.equal(options.json.details.kind, "ListOptions");
});

test("namespaces: missing → 404, mismatch → 400, cascade delete, default protected", async () => {
  const missing = await api.request("POST", "/api/v1/namespaces/team/services", { body: service("a") });
  assert.equal(missing.status, 404);
  assert.equal(missing.json.message, 'namespaces "team" not found');
  const mismatch = await api.request("POST", servicesPath, {
    body: service("a", { metadata: { name: "a", namespace: "team" } }),
  });
  assert.equal(mismatch.status, 400);
  assert.equal(
    mismatch.json.message,
    "the namespace of the provided object does not match the namespace sent on the request",
  );
  const ns = await api.request("POST", "/api/v1/namespaces", {
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } },
  });
  assert.equal(ns.status, 201);
  assert.equal(ns.json.status.phase, "Active");
  assert.equal(
    (await api.request("POST", "/api/v1/namespaces/team/services", { body: service("a") })).status,
    201,
  );
  const bad = await api.request("POST", "/api/v1/namespaces", { body: { metadata: { name: "Team_1" } } });
  assert.equal(bad.status, 422);
  const gone = await api.request("DELETE", "/api/v1/namespaces/team");
  assert.equal(gone.status, 200);
  assert.equal((await api.request("GET", "/api/v1/namespaces/team/services/a")).status, 404);
  const protectedNs = await api.request("DELETE", "/api/v1/namespaces/default");
  assert.equal(protectedNs.status, 403);
});

test("validation: 422 with field causes; unknown fields refused (Strict) or dropped with a warning", async () => {
  const invalid = await api.request("POST", routesPath, {
    body: grpcRoute("bad", { rules: [{ backendRefs: [{ name: "x", port: 1, weight: -1 }] }] }),
  });
  assert.equal(invalid.status, 422);
  assert.equal(invalid.json.reason, "Invalid");
  assert.equal(
    invalid.json.message,
    'GRPCRoute.gateway.networking.k8s.io "bad" is invalid: spec.rules[0].backendRefs[0].weight: Invalid value: -1: must be >= 0',
  );
  assert.deepEqual(invalid.json.details, {
    name: "bad",
    group: "gateway.networking.k8s.io",
    kind: "GRPCRoute",
    causes: [
      {
        reason: "FieldValueInvalid",
        field: "spec.rules[0].backendRefs[0].weight",
        message: "Invalid value: -1: must be >= 0",
      },
    ],
  });
  const unknown = grpcRoute("typo", { colour: "red" });
  const strict = await api.request("POST", `${routesPath}?fieldValidation=Strict`, { body: unknown });
  assert.equal(strict.status, 400);
  assert.equal(strict.json.message, 'strict decoding error: unknown field "spec.colour"');
  const warn = await api.request("POST", routesPath, { body: unknown });
  assert.equal(warn.status, 201);
  assert.equal(warn.headers.get("warning"), '299 - "unknown field \\"spec.colour\\""');
  assert.equal(warn.json.spec.colour, undefined);
  const kind = await api.request("POST", routesPath, { body: { ...grpcRoute("k"), kind: "HTTPRoute" } });
  assert.equal(kind.status, 400);
  const syntax = await api.request("POST", routesPath, { body: "{" });
  assert.equal(syntax.status, 400);
  const media = await api.request("POST", routesPath, {
    body: "x",
    headers: { "content-type": "application/cbor" },
  });
  assert.equal(media.status, 415);
});

test("replace: conflict on a stale resourceVersion, unconditional without, generation", async () => {
  const created = (await api.request("POST", routesPath, { body: grpcRoute("r1") })).json;
  const path = `${routesPath}/r1`;
  const changed = { ...created, spec: { ...created.spec, hostnames: ["a.example"] } };
  const ok = await api.request("PUT", path, { body: changed });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.metadata.generation, 2);
  const stale = await api.request("PUT", path, { body: changed });
  assert.equal(stale.status, 409);
  assert.equal(stale.json.reason, "Conflict");
  assert.equal(
    stale.json.message,
    'Operation cannot be fulfilled on grpcroutes.gateway.networking.k8s.io "r1": the object has been modified; please apply your changes to the latest version and try again',
  );
  const unconditional = { ...changed, metadata: { ...changed.metadata, resourceVersion: undefined } };
  assert.equal((await api.request("PUT", path, { body: unconditional })).status, 200);
  const renamed = await api.request("PUT", path, { body: { ...unconditional, metadata: { name: "other" } } });
  assert.equal(renamed.status, 400);
  assert.equal(
    (await api.request("PUT", `${routesPath}/missing`, { body: grpcRoute("missing") })).status,
    404,
  );
  const svc = await api.request("PUT", `${servicesPath}/made-by-put`, { body: service("made-by-put") });
  assert.equal(svc.status, 201);
  const keep = await api.request("PUT", `${servicesPath}/made-by-put`, { body: service("made-by-put") });
  assert.equal(keep.json.spec.clusterIP, svc.json.spec.clusterIP);
});

test("status subresource: /status writes only status, main writes keep it", async () => {
  const path = `${routesPath}/r1`;
  const current = (await api.request("GET", path)).json;
  const status = {
    parents: [{ parentRef: { name: "greeter" }, controllerName: "meshplane.dev/mesh", conditions: [] }],
  };
  const written = await api.request("PUT", `${path}/status`, {
    body: { ...current, spec: { parentRefs: [{ group: "", kind: "Service", name: "changed" }] }, status },
  });
  assert.equal(written.status, 200);
  assert.deepEqual(written.json.status, status);
  assert.equal(written.json.spec.parentRefs[0].name, "greeter");
  assert.equal(written.json.metadata.generation, current.metadata.generation);
  const main = await api.request("PUT", path, { body: { ...written.json, status: { parents: [] } } });
  assert.deepEqual(main.json.status, status);
  assert.equal((await api.request("GET", `${path}/status`)).json.status.parents.length, 1);
  assert.equal((await api.request("DELETE", `${path}/status`)).status, 405);
});

test("dryRun=All validates and computes without storing", async () => {
  const created = await api.request("POST", `${routesPath}?dryRun=All`, { body: grpcRoute("dry") });
  assert.equal(created.status, 201);
  assert.ok(created.json.metadata.uid);
  assert.equal((await api.request("GET", `${routesPath}/dry`)).status, 404);
  const svc = await api.request("POST", `${servicesPath}?dryRun=All`, { body: service("dry-svc") });
  assert.match(svc.json.spec.clusterIP, /^10\.96\./);
  const invalid = await api.request("POST", `${routesPath}?dryRun=All`, {
    body: grpcRoute("dry", { parentRefs: [] }),
  });
  assert.equal(invalid.status, 422);
  const del = await api.request("DELETE", `${routesPath}/r1?dryRun=All`);
  assert.equal(del.json.status, "Success");
  assert.equal((await api.request("GET", `${routesPath}/r1`)).status, 200);
  assert.equal(
    (await api.request("POST", `${routesPath}?dryRun=Some`, { body: grpcRoute("x") })).status,
    400,
  );
});

test("delete: preconditions, Status Success, finalizers", async () => {
  const current = (await api.request("GET", `${routesPath}/r1`)).json;
  const stale = await api.request("DELETE", `${routesPath}/r1`, {
    body: { preconditions: { resourceVersion: "1" } },
  });
  assert.equal(stale.status, 409);
  assert.match(stale.json.message, /Precondition failed: ResourceVersion in precondition: 1/);
  const deleted = await api.request("DELETE", `${routesPath}/r1`, {
    body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" },
  });
  assert.equal(deleted.status, 200);
  assert.deepEqual(deleted.json, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: {
      name: "r1",
      group: "gateway.networking.k8s.io",
      kind: "grpcroutes",
      uid: current.metadata.uid,
    },
    code: 200,
  });
  assert.equal((await api.request("DELETE", `${routesPath}/r1`)).status, 404);
  await api.request("POST", routesPath, { body: grpcRoute("held", {}) });
  const held = (await api.request("GET", `${routesPath}/held`)).json;
  await api.request("PUT", `${routesPath}/held`, {
    body: { ...held, metadata: { ...held.metadata, finalizers: ["meshplane.dev/x"] } },
  });
  const marked = await api.request("DELETE", `${routesPath}/held`);
  assert.equal(marked.status, 200);
  assert.ok(marked.json.metadata.deletionTimestamp);
});

test("deletecollection, v1beta1 HTTPRoutes, events, wrong methods", async () => {
  for (const name of ["c1", "c2"]) {
    await api.request("POST", routesPath, {
      body: { ...grpcRoute(name), metadata: { name, labels: { batch: "x" } } },
    });
  }
  const gone = await api.request("DELETE", `${routesPath}?labelSelector=batch%3Dx`);
  assert.deepEqual(gone.json.items.map((i: { metadata: { name: string } }) => i.metadata.name).sort(), [
    "c1",
    "c2",
  ]);
  const beta = "/apis/gateway.networking.k8s.io/v1beta1/namespaces/default/httproutes";
  const route = { ...grpcRoute("h"), apiVersion: "gateway.networking.k8s.io/v1beta1", kind: "HTTPRoute" };
  const created = await api.request("POST", beta, { body: route });
  assert.equal(created.status, 201);
  assert.equal(created.json.apiVersion, "gateway.networking.k8s.io/v1beta1");
  const v1 = await api.request("GET", "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/h");
  assert.equal(v1.json.apiVersion, "gateway.networking.k8s.io/v1");
  const events = await api.request(
    "GET",
    "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dgreeter",
  );
  assert.deepEqual([events.json.kind, events.json.items], ["EventList", []]);
  assert.equal((await api.request("POST", "/api/v1/namespaces/default/events", { body: {} })).status, 405);
  assert.equal((await api.request("POST", `${routesPath}/x`, { body: {} })).status, 405);
  assert.equal(
    (await api.request("POST", "/apis/gateway.networking.k8s.io/v1/grpcroutes", { body: grpcRoute("x") }))
      .status,
    405,
  );
  const unknown = await api.request("GET", "/apis/example.com/v1/things");
  assert.deepEqual([unknown.status, unknown.json.kind, unknown.json.reason], [404, "Status", "NotFound"]);
});
