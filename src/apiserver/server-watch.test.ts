// Watch over HTTP (spec-notes §1.9): synthetic ADDED from 0, live events, selectors, Table events,
// 410 Expired as an ERROR event, timeouts, keepalives and bookmarks.
import assert from "node:assert/strict";
import { test } from "node:test";
import { grpcRoute, openWatch, routesPath, startTestServer } from "./testing.ts";
import { laterRv } from "./watch.ts";

const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

test("from resourceVersion 0: synthetic ADDED, then MODIFIED and DELETED", async (t) => {
  const api = await startTestServer();
  t.after(() => api.close());
  await api.request("POST", routesPath, { body: grpcRoute("a") });
  const watch = await openWatch(api.url, `${routesPath}?watch=true&resourceVersion=0`);
  t.after(() => watch.close());
  assert.equal(watch.response.statusCode, 200);
  assert.equal(watch.response.headers["content-type"], "application/json");
  const added = await watch.next();
  assert.deepEqual(
    [added.type, added.object.kind, added.object.apiVersion, added.object.metadata.name],
    ["ADDED", "GRPCRoute", "gateway.networking.k8s.io/v1", "a"],
  );
  const current = (await api.request("GET", `${routesPath}/a`)).json;
  await api.request("PUT", `${routesPath}/a`, {
    body: { ...current, spec: { ...current.spec, hostnames: ["x"] } },
  });
  const modified = await watch.next();
  assert.equal(modified.type, "MODIFIED");
  assert.deepEqual(modified.object.spec.hostnames, ["x"]);
  await api.request("DELETE", `${routesPath}/a`);
  const deleted = await watch.next();
  assert.equal(deleted.type, "DELETED");
  assert.ok(
    Number(deleted.object.metadata.resourceVersion) > Number(modified.object.metadata.resourceVersion),
  );
});

test("from a list resourceVersion: only later events; name and label selectors", async (t) => {
  const api = await startTestServer();
  t.after(() => api.close());
  await api.request("POST", routesPath, { body: grpcRoute("old") });
  const listRv = (await api.request("GET", routesPath)).json.metadata.resourceVersion;
  const all = await openWatch(api.url, `${routesPath}?watch=1&resourceVersion=${listRv}`);
  const byName = await openWatch(
    api.url,
    `${routesPath}?watch=true&resourceVersion=0&fieldSelector=metadata.name%3Dpicked`,
  );
  const byLabel = await openWatch(api.url, `${routesPath}?watch=true&labelSelector=tier%3Dgold`);
  t.after(() => [all, byName, byLabel].forEach((w) => w.close()));
  await api.request("POST", routesPath, { body: grpcRoute("other") });
  await api.request("POST", routesPath, {
    body: { ...grpcRoute("picked"), metadata: { name: "picked", labels: { tier: "gold" } } },
  });
  assert.equal((await all.next()).object.metadata.name, "other");
  assert.equal((await all.next()).object.metadata.name, "picked");
  const named = await byName.next();
  assert.deepEqual([named.type, named.object.metadata.name], ["ADDED", "picked"]);
  assert.deepEqual((await byLabel.next()).type, "ADDED");
  // Losing the label is a DELETED for the label watch (selector transition).
  const picked = (await api.request("GET", `${routesPath}/picked`)).json;
  await api.request("PUT", `${routesPath}/picked`, {
    body: { ...picked, metadata: { ...picked.metadata, labels: {} } },
  });
  const left = await byLabel.next();
  assert.deepEqual([left.type, left.object.metadata.name], ["DELETED", "picked"]);
  assert.equal((await byName.next()).type, "MODIFIED");
});

test("Table watch: one-row Tables, column definitions on the first event only", async (t) => {
  const api = await startTestServer();
  t.after(() => api.close());
  await api.request("POST", routesPath, { body: grpcRoute("a") });
  const watch = await openWatch(api.url, `${routesPath}?watch=true&resourceVersion=0`, {
    accept: tableAccept,
  });
  t.after(() => watch.close());
  assert.equal(watch.response.headers["content-type"], "application/json;as=Table;v=v1;g=meta.k8s.io");
  const first = await watch.next();
  assert.equal(first.object.kind, "Table");
  assert.deepEqual(
    first.object.columnDefinitions.map((c: { name: string }) => c.name),
    ["Name", "Hostnames", "Age"],
  );
  assert.equal(first.object.rows.length, 1);
  assert.equal(first.object.rows[0].object.kind, "PartialObjectMetadata");
  await api.request("POST", routesPath, { body: grpcRoute("b") });
  const second = await watch.next();
  assert.deepEqual(second.object.columnDefinitions, []);
  assert.equal(second.object.rows[0].cells[0], "b");
});

test("a resourceVersion older than the history: one ERROR event with 410 Expired", async (t) => {
  const api = await startTestServer({ historySize: 2 });
  t.after(() => api.close());
  for (const name of ["a", "b", "c", "d"]) await api.request("POST", routesPath, { body: grpcRoute(name) });
  const watch = await openWatch(api.url, `${routesPath}?watch=true&resourceVersion=2`);
  assert.equal(watch.response.statusCode, 200);
  const error = await watch.next();
  assert.equal(error.type, "ERROR");
  assert.deepEqual([error.object.kind, error.object.code, error.object.reason], ["Status", 410, "Expired"]);
  assert.match(error.object.message, /^too old resource version: 2 \(\d+\)$/);
  await watch.ended;
});

test("timeoutSeconds ends the stream; keepalive newlines; bookmarks only when allowed", async (t) => {
  const api = await startTestServer({ watch: { keepaliveMs: 50, bookmarkMs: 100 } });
  t.after(() => api.close());
  await api.request("POST", routesPath, { body: grpcRoute("a") });
  const plain = await openWatch(api.url, `${routesPath}?watch=true&timeoutSeconds=1`);
  const marked = await openWatch(
    api.url,
    `${routesPath}?watch=true&allowWatchBookmarks=true&timeoutSeconds=1`,
  );
  assert.equal((await plain.next()).type, "ADDED");
  assert.equal((await marked.next()).type, "ADDED");
  const bookmark = await marked.next();
  assert.equal(bookmark.type, "BOOKMARK");
  assert.deepEqual(bookmark.object.kind, "GRPCRoute");
  assert.match(bookmark.object.metadata.resourceVersion, /^\d+$/);
  const started = Date.now();
  await plain.ended;
  await marked.ended;
  assert.ok(Date.now() - started < 2000);
  assert.ok(
    plain.raw.some((chunk) => chunk === "\n"),
    "a bare keepalive newline",
  );
  assert.ok(!plain.raw.join("").includes("BOOKMARK"));
});

test("events watches stay open and empty; close() ends running watches", async () => {
  const api = await startTestServer();
  const events = await openWatch(api.url, "/api/v1/namespaces/default/events?watch=true");
  const routes = await openWatch(api.url, `${routesPath}?watch=true`);
  assert.equal(events.response.statusCode, 200);
  await api.close();
  await Promise.all([events.ended, routes.ended]);
});

test("watch option errors are plain Status replies", async (t) => {
  const api = await startTestServer();
  t.after(() => api.close());
  const bad = await api.request(
    "GET",
    `${routesPath}?watch=true&labelSelector=${encodeURIComponent("a in (")}`,
  );
  assert.equal(bad.status, 400);
  const list = await api.request(
    "GET",
    `${routesPath}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=0`,
  );
  assert.equal(list.status, 422);
});

test("laterRv compares resourceVersions as numbers", () => {
  const cases: [a: string | undefined, b: string | undefined, later: string | undefined][] = [
    ["9", "10", "10"],
    ["10", "9", "10"],
    [undefined, "3", "3"],
    ["3", undefined, "3"],
    [undefined, undefined, undefined],
  ];
  for (const [a, b, later] of cases) assert.equal(laterRv(a, b), later, `${a} ${b}`);
});
