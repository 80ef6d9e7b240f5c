// Gateway API matches → Envoy route matches, checked by which requests they select.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RouteMatch } from "../../mesh/index.ts";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { assertValidEnvoy } from "./pgv-assert.ts";
import { outboundRouteConfiguration as generate } from "./route-config.ts";
import { pickRoute, type SimRequest } from "./simulate.ts";
import { attach, backend, match, meshOf, route, rule, service, servicePort } from "./testing.ts";
import { viewOf } from "../testing.ts";

/** The route configuration, checked to be one Envoy accepts. */
function outboundRouteConfiguration(...args: Parameters<typeof generate>): ReturnType<typeof generate> {
  const config = generate(...args);
  if (config) assertValidEnvoy([{ schema: RouteConfigurationSchema, message: config, name: config.name }]);
  return config;
}

const web = service("default", "web", { ports: [servicePort(80)] });

/** Whether a route with this one match selects each request. */
function selects(m: RouteMatch, requests: Record<string, SimRequest>): Record<string, boolean> {
  const r = route("HTTPRoute", "default", "r", [
    rule({ matches: [m], backends: [backend("default", "web", 80)] }),
  ]);
  const config = outboundRouteConfiguration(viewOf(meshOf([web], [attach(r, web, 80)])), 80, "default");
  assert.ok(config);
  return Object.fromEntries(
    Object.entries(requests).map(([label, request]) => [label, pickRoute(config, request) !== undefined]),
  );
}

const get = (path: string, extra: Partial<SimRequest> = {}): SimRequest => ({ host: "web", path, ...extra });

test("PathPrefix matches whole path elements (path_separated_prefix)", () => {
  assert.deepEqual(
    selects(match({ path: { type: "Prefix", value: "/abc" } }), {
      exact: get("/abc"),
      slash: get("/abc/"),
      child: get("/abc/def"),
      query: get("/abc?x=1"),
      longer: get("/abcd"),
      other: get("/ab"),
    }),
    { exact: true, slash: true, child: true, query: true, longer: false, other: false },
  );
});

test("PathPrefix / and gRPC service prefixes stay plain prefixes", () => {
  assert.deepEqual(selects(match(), { root: get("/"), any: get("/x/y") }), { root: true, any: true });
  assert.deepEqual(
    selects(match({ path: { type: "Prefix", value: "/pkg.Svc/" } }), {
      method: get("/pkg.Svc/Call"),
      other: get("/pkg.Other/Call"),
    }),
    { method: true, other: false },
  );
});

test("Exact and RegularExpression paths ignore the query string", () => {
  assert.deepEqual(
    selects(match({ path: { type: "Exact", value: "/a" } }), {
      exact: get("/a"),
      query: get("/a?b=c"),
      child: get("/a/b"),
    }),
    { exact: true, query: true, child: false },
  );
  assert.deepEqual(
    selects(match({ path: { type: "Regex", value: "/[^/]+/Get" } }), {
      grpc: get("/pkg.Svc/Get"),
      partial: get("/pkg.Svc/GetAll"),
    }),
    { grpc: true, partial: false },
  );
});

test("headers, method and query parameters are all required", () => {
  const m = match({
    headers: [
      { name: "x-version", type: "Exact", value: "v2" },
      { name: "x-user", type: "Regex", value: "adm.*" },
    ],
    method: "POST",
    queryParams: [{ name: "debug", type: "Exact", value: "1" }],
  });
  const headers = { "x-version": "v2", "x-user": "admin" };
  assert.deepEqual(
    selects(m, {
      all: get("/?debug=1", { method: "POST", headers }),
      get: get("/?debug=1", { method: "GET", headers }),
      noQuery: get("/", { method: "POST", headers }),
      wrongHeader: get("/?debug=1", { method: "POST", headers: { ...headers, "x-version": "v1" } }),
      regexMiss: get("/?debug=1", { method: "POST", headers: { ...headers, "x-user": "guest" } }),
    }),
    { all: true, get: false, noQuery: false, wrongHeader: false, regexMiss: false },
  );
});

test("query parameter regex matches the whole value", () => {
  assert.deepEqual(
    selects(match({ queryParams: [{ name: "id", type: "Regex", value: "[0-9]+" }] }), {
      digits: get("/?id=42"),
      mixed: get("/?id=42a"),
    }),
    { digits: true, mixed: false },
  );
});
