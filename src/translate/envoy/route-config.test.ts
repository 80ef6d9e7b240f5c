// RDS `<port>`: virtual hosts per Service, host names per caller namespace, producer and consumer
// routes, the default route and pass-through for hosts outside the mesh.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RouteAction } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { assertValidEnvoy } from "./pgv-assert.ts";
import { outboundRouteConfiguration as generate } from "./route-config.ts";
import { pickRoute } from "./simulate.ts";
import type { MeshSnapshot } from "../../mesh/index.ts";
import { viewOf } from "../testing.ts";
import { attach, backend, match, meshOf, policy, route, rule, service, servicePort } from "./testing.ts";

/** The route configuration, checked to be one Envoy accepts. */
function outboundRouteConfiguration(
  mesh: MeshSnapshot,
  port: number,
  caller: string,
): ReturnType<typeof generate> {
  const config = generate(viewOf(mesh, caller), port, caller);
  if (config) assertValidEnvoy([{ schema: RouteConfigurationSchema, message: config, name: config.name }]);
  return config;
}

const web = service("shop", "web", { clusterIP: "10.0.0.10", ports: [servicePort(80), servicePort(9090)] });
const api = service("shop", "api", { clusterIP: "10.0.0.11", ports: [servicePort(80)] });
const other = service("tools", "web", { clusterIP: "10.0.0.12", ports: [servicePort(80)] });
const canary = service("shop", "web-canary", { ports: [servicePort(80)] });

function clusterOf(action: { case?: string; value?: unknown }): string | undefined {
  if (action.case !== "route") return undefined;
  const specifier = (action.value as RouteAction).clusterSpecifier;
  return specifier.case === "cluster" ? specifier.value : undefined;
}

test("one virtual host per Service with the port, named by FQDN:port, plus pass-through", () => {
  const config = outboundRouteConfiguration(meshOf([web, api, other]), 80, "shop");
  assert.equal(config?.name, "80");
  assert.deepEqual(
    config?.virtualHosts.map((v) => v.name),
    ["shop/api", "shop/web", "tools/web"]
      .map((k) => k.split("/"))
      .map(([ns, name]) => `${name}.${ns}.svc.cluster.local:80`)
      .concat("allow_any"),
  );
  assert.equal(outboundRouteConfiguration(meshOf([web, api, other]), 9090, "shop")?.virtualHosts.length, 2);
  assert.equal(outboundRouteConfiguration(meshOf([web]), 81, "shop"), undefined);
});

test("domains: every host form with and without the port; the short name only in the Service's namespace", () => {
  const config = outboundRouteConfiguration(meshOf([web, other]), 80, "shop");
  assert.deepEqual(config?.virtualHosts[0]?.domains, [
    "web",
    "web:80",
    "web.shop",
    "web.shop:80",
    "web.shop.svc",
    "web.shop.svc:80",
    "web.shop.svc.cluster.local",
    "web.shop.svc.cluster.local:80",
    "10.0.0.10",
    "10.0.0.10:80",
  ]);
  assert.ok(!config?.virtualHosts[1]?.domains.includes("web"));
  assert.ok(config?.virtualHosts[1]?.domains.includes("web.tools:80"));
  // Seen from "tools", the short name is the other Service's.
  const fromTools = outboundRouteConfiguration(meshOf([web, other]), 80, "tools");
  assert.deepEqual(
    fromTools?.virtualHosts.map((v) => v.domains.filter((d) => d.startsWith("web") && !d.includes("."))),
    [[], ["web", "web:80"], []],
  );
  assert.deepEqual(config?.virtualHosts[2]?.domains, ["*"]);
});

test("a domain two Services would share goes to the first by namespace/name; IPv6 cluster IPs are bracketed", () => {
  const twin = service("shop", "zz-twin", { clusterIP: "10.0.0.10", ports: [servicePort(80)] });
  const v6 = service("shop", "v6", { clusterIP: "fd00::1", ports: [servicePort(80)] });
  const config = outboundRouteConfiguration(meshOf([web, twin, v6]), 80, "shop");
  const domains = config?.virtualHosts.flatMap((v) => v.domains) ?? [];
  assert.equal(new Set(domains).size, domains.length);
  const twinHost = config?.virtualHosts.find((v) => v.name.startsWith("zz-twin."));
  assert.ok(twinHost && !twinHost.domains.includes("10.0.0.10"));
  const v6Host = config?.virtualHosts.find((v) => v.name.startsWith("v6."));
  assert.ok(v6Host?.domains.includes("[fd00::1]:80"));
});

test("without routes a Service gets its own cluster with its retry policy; unknown hosts pass through", () => {
  const retrying = service("shop", "api", {
    ports: [
      servicePort(80, {
        policy: policy({
          retry: {
            attempts: 2,
            httpCodes: [503],
            grpcCodes: [],
            backoffBaseMs: undefined,
            backoffMaxMs: undefined,
          },
        }),
      }),
    ],
  });
  const config = outboundRouteConfiguration(meshOf([retrying]), 80, "shop");
  assert.ok(config);
  const picked = pickRoute(config, { host: "api", path: "/anything" });
  assert.equal(picked?.name, "default");
  assert.equal(clusterOf(picked?.action ?? {}), "outbound|80||api.shop.svc.cluster.local");
  assert.equal(picked?.action.case === "route" && picked.action.value.retryPolicy?.numRetries, 2);
  const external = pickRoute(config, { host: "example.com", path: "/" });
  assert.equal(clusterOf(external?.action ?? {}), "PassthroughCluster");
});

test("producer routes for every caller, consumer routes replace them in their own namespace", () => {
  const producer = route("HTTPRoute", "shop", "split", [
    rule({ backends: [backend("shop", "web-canary", 80)] }),
  ]);
  const consumer = route("HTTPRoute", "tools", "pin", [
    rule({
      matches: [match({ path: { type: "Prefix", value: "/v1" } })],
      backends: [backend("shop", "web", 80)],
    }),
  ]);
  const mesh = meshOf([web, canary, other], [attach(producer, web, 80), attach(consumer, web, 80)]);
  const fromShop = outboundRouteConfiguration(mesh, 80, "shop");
  const fromTools = outboundRouteConfiguration(mesh, 80, "tools");
  const fromElsewhere = outboundRouteConfiguration(mesh, 80, "billing");
  assert.ok(fromShop && fromTools && fromElsewhere);
  const host = "web.shop.svc.cluster.local";
  assert.equal(pickRoute(fromShop, { host, path: "/v1/x" })?.name, "HTTPRoute/shop/split/rule/0");
  assert.equal(pickRoute(fromElsewhere, { host, path: "/v1/x" })?.name, "HTTPRoute/shop/split/rule/0");
  assert.equal(pickRoute(fromTools, { host, path: "/v1/x" })?.name, "HTTPRoute/tools/pin/rule/0");
  // Once routes attach, a request no rule matches is not routed (Envoy answers 404).
  assert.equal(pickRoute(fromTools, { host, path: "/v2" }), undefined);
  // The route attaches to port 80 only.
  assert.equal(
    pickRoute(outboundRouteConfiguration(mesh, 9090, "tools")!, { host, path: "/v2" })?.name,
    "default",
  );
});

test("routes keep Gateway API precedence order", () => {
  const r = route("HTTPRoute", "shop", "r", [
    rule({ matches: [match()], backends: [backend("shop", "web", 80)] }),
    rule({
      matches: [match({ path: { type: "Prefix", value: "/api" } })],
      backends: [backend("shop", "web", 80)],
    }),
    rule({
      matches: [match({ path: { type: "Exact", value: "/api/login" } })],
      backends: [backend("shop", "web", 80)],
    }),
  ]);
  const config = outboundRouteConfiguration(meshOf([web], [attach(r, web, 80)]), 80, "shop");
  assert.deepEqual(
    config?.virtualHosts[0]?.routes.map((x) => x.name),
    ["HTTPRoute/shop/r/rule/2", "HTTPRoute/shop/r/rule/1", "HTTPRoute/shop/r/rule/0"],
  );
});
