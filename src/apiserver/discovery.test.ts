// Discovery: the format follows Accept exactly as client-go asks, and every served resource shows up
// with the fields kubectl reads (responseKind, scope, verbs, short names, status subresources).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  coreDiscovery,
  discoveryContentType,
  discoveryFormat,
  groupDiscovery,
  groupsDiscovery,
  resourceListDiscovery,
  type DiscoveryFormat,
} from "./discovery.ts";

const kubectlAccept =
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

const formats: [accept: string | undefined, format: DiscoveryFormat][] = [
  [undefined, "legacy"],
  ["application/json", "legacy"],
  [kubectlAccept, "v2"],
  ["application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json", "v2beta1"],
  ["application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json", "legacy"],
  ["application/json;v=v2;as=APIGroupDiscoveryList", "legacy"],
];

for (const [accept, format] of formats) {
  test(`discovery format for ${accept ?? "(none)"} is ${format}`, () => {
    assert.equal(discoveryFormat(accept), format);
  });
}

test("content types tell client-go which format it got", () => {
  assert.equal(discoveryContentType("legacy"), "application/json");
  assert.equal(
    discoveryContentType("v2"),
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
  );
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test("aggregated /api lists the core resources with responseKind and scope", () => {
  const body = coreDiscovery("v2", "h") as Json;
  assert.equal(body.kind, "APIGroupDiscoveryList");
  assert.equal(body.apiVersion, "apidiscovery.k8s.io/v2");
  assert.equal(body.items.length, 1);
  const [core] = body.items;
  assert.equal(core.metadata.name, undefined);
  const resources = core.versions[0].resources as Json[];
  const svc = resources.find((r) => r.resource === "services");
  assert.deepEqual(svc, {
    resource: "services",
    responseKind: { group: "", version: "v1", kind: "Service" },
    scope: "Namespaced",
    singularResource: "service",
    verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
    shortNames: ["svc"],
    categories: ["all"],
    subresources: [
      {
        subresource: "status",
        responseKind: { group: "", version: "v1", kind: "Service" },
        verbs: ["get", "patch", "update"],
      },
    ],
  });
  const ns = resources.find((r) => r.resource === "namespaces") as Json;
  assert.equal(ns.scope, "Cluster");
  assert.deepEqual(ns.shortNames, ["ns"]);
});

test("aggregated /apis lists named groups, preferred version first", () => {
  const body = groupsDiscovery("v2") as Json;
  const names = body.items.map((i: Json) => i.metadata.name);
  assert.deepEqual(names, [
    "discovery.k8s.io",
    "gateway.networking.k8s.io",
    "meshplane.dev",
    "events.k8s.io",
  ]);
  const gateway = body.items[1];
  assert.deepEqual(
    gateway.versions.map((v: Json) => v.version),
    ["v1", "v1beta1"],
  );
  assert.deepEqual(
    gateway.versions[0].resources.map((r: Json) => r.resource),
    ["httproutes", "grpcroutes"],
  );
  assert.deepEqual(
    gateway.versions[1].resources.map((r: Json) => [r.resource, r.responseKind.version]),
    [["httproutes", "v1beta1"]],
  );
  assert.ok(gateway.versions.every((v: Json) => v.freshness === "Current"));
});

test("legacy /api, /apis and /apis/<group>", () => {
  assert.deepEqual(coreDiscovery("legacy", "127.0.0.1:1"), {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1:1" }],
  });
  const groups = groupsDiscovery("legacy") as Json;
  assert.equal(groups.kind, "APIGroupList");
  assert.deepEqual(groups.groups[1], {
    name: "gateway.networking.k8s.io",
    versions: [
      { groupVersion: "gateway.networking.k8s.io/v1", version: "v1" },
      { groupVersion: "gateway.networking.k8s.io/v1beta1", version: "v1beta1" },
    ],
    preferredVersion: { groupVersion: "gateway.networking.k8s.io/v1", version: "v1" },
  });
  assert.equal((groupDiscovery("discovery.k8s.io") as Json).kind, "APIGroup");
  assert.equal(groupDiscovery("nope"), undefined);
});

test("legacy resource lists carry status subresources", () => {
  const list = resourceListDiscovery("gateway.networking.k8s.io", "v1") as Json;
  assert.equal(list.groupVersion, "gateway.networking.k8s.io/v1");
  assert.deepEqual(
    list.resources.map((r: Json) => r.name),
    ["httproutes", "httproutes/status", "grpcroutes", "grpcroutes/status"],
  );
  const status = list.resources[1];
  assert.deepEqual(status, {
    name: "httproutes/status",
    singularName: "",
    namespaced: true,
    kind: "HTTPRoute",
    verbs: ["get", "patch", "update"],
  });
  const events = (resourceListDiscovery("", "v1") as Json).resources.find((r: Json) => r.name === "events");
  assert.deepEqual(events.verbs, ["get", "list", "watch"]);
});
