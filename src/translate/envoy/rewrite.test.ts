// URLRewrite paths against the table in Gateway API's httproute_types.go (ReplacePrefixMatch),
// applied the way Envoy applies prefix and regex rewrites.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { PathModifier } from "../../mesh/index.ts";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { assertValidEnvoy } from "./pgv-assert.ts";
import { outboundRouteConfiguration as generate } from "./route-config.ts";
import { pickRoute, rewrittenPath } from "./simulate.ts";
import { attach, backend, match, meshOf, route, rule, service, servicePort } from "./testing.ts";
import { viewOf } from "../testing.ts";

/** The route configuration, checked to be one Envoy accepts. */
function outboundRouteConfiguration(...args: Parameters<typeof generate>): ReturnType<typeof generate> {
  const config = generate(...args);
  if (config) assertValidEnvoy([{ schema: RouteConfigurationSchema, message: config, name: config.name }]);
  return config;
}

const web = service("default", "web", { ports: [servicePort(80)] });

function forwardedPath(prefix: string, modifier: PathModifier, requestPath: string): string {
  const r = route("HTTPRoute", "default", "r", [
    rule({
      matches: [match({ path: { type: "Prefix", value: prefix } })],
      backends: [backend("default", "web", 80)],
      filters: [{ type: "URLRewrite", hostname: undefined, path: modifier }],
    }),
  ]);
  const config = outboundRouteConfiguration(viewOf(meshOf([web], [attach(r, web, 80)])), 80, "default");
  assert.ok(config);
  const picked = pickRoute(config, { host: "web", path: requestPath });
  assert.ok(picked, `${requestPath} must match prefix ${prefix}`);
  return rewrittenPath(picked, requestPath);
}

// Prefixes as the mesh builder stores them: a trailing slash is not significant and is dropped.
const replacePrefix = [
  ["/foo/bar", "/foo", "/xyz", "/xyz/bar"],
  ["/foo/bar", "/foo", "/xyz/", "/xyz/bar"],
  ["/foo", "/foo", "/xyz", "/xyz"],
  ["/foo/", "/foo", "/xyz", "/xyz/"],
  ["/foo/bar", "/foo", "", "/bar"],
  ["/foo/", "/foo", "", "/"],
  ["/foo", "/foo", "", "/"],
  ["/foo/", "/foo", "/", "/"],
  ["/foo", "/foo", "/", "/"],
  ["/foo/bar?q=1", "/foo", "/", "/bar?q=1"],
  ["/a.b/c", "/a.b", "/", "/c"],
  ["/bar", "/", "/xyz", "/xyz/bar"],
  ["/bar", "/", "/", "/bar"],
] as const;

for (const [request, prefix, replacement, expected] of replacePrefix) {
  test(`ReplacePrefixMatch ${prefix} → "${replacement}": ${request} is forwarded as ${expected}`, () => {
    assert.equal(
      forwardedPath(prefix, { type: "ReplacePrefixMatch", value: replacement }, request),
      expected,
    );
  });
}

test("ReplaceFullPath replaces the whole path and keeps the query string", () => {
  assert.equal(forwardedPath("/foo", { type: "ReplaceFullPath", value: "/new" }, "/foo/bar?x=1"), "/new?x=1");
});
