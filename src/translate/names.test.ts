import { test } from "node:test";
import assert from "node:assert/strict";
import { buildMeshSnapshot } from "../mesh/index.ts";
import type { Service } from "../api/index.ts";
import { clusterName, parseClusterName, resolveTarget } from "./names.ts";
import { viewOf } from "./testing.ts";

const service = (namespace: string, name: string, ports: number[], clusterIP?: string): Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace },
  spec: { ports: ports.map((port) => ({ port })), ...(clusterIP ? { clusterIP } : {}) },
});

const mesh = buildMeshSnapshot(
  [
    service("default", "greeter", [50051], "10.96.0.10"),
    service("shop", "greeter", [50051]),
    service("shop", "multi", [80, 81]),
  ],
  { domain: "cluster.local" },
);

const cases: [target: string, callerNamespace: string, expected: string | undefined][] = [
  ["greeter:50051", "default", "default/greeter:50051"],
  ["greeter:50051", "shop", "shop/greeter:50051"],
  ["greeter", "shop", "shop/greeter:50051"],
  ["greeter.shop:50051", "default", "shop/greeter:50051"],
  ["greeter.shop.svc:50051", "default", "shop/greeter:50051"],
  ["greeter.shop.svc.cluster.local:50051", "default", "shop/greeter:50051"],
  ["greeter.shop.svc.cluster.local.:50051", "default", "shop/greeter:50051"],
  ["10.96.0.10:50051", "shop", "default/greeter:50051"],
  ["greeter:9999", "default", undefined],
  ["multi", "shop", undefined],
  ["multi:81", "shop", "shop/multi:81"],
  ["greeter.shop.svc.other.domain:50051", "default", undefined],
  ["nobody:50051", "default", undefined],
  // One spelling per port: leading zeros would let a proxy create any number of distinct
  // listener names that all exist and stay cached (issue #10).
  ["greeter:050051", "default", undefined],
  ["multi:0081", "shop", undefined],
];

for (const [target, caller, expected] of cases) {
  test(`resolveTarget(${target}) from ${caller} → ${expected ?? "nothing"}`, () => {
    const ref = resolveTarget(viewOf(mesh), target, caller);
    assert.equal(ref && `${ref.service.namespace}/${ref.service.name}:${ref.port}`, expected);
  });
}

test("cluster names round-trip and reject other domains and unknown ports", () => {
  const name = clusterName("shop", "multi", 81, "cluster.local");
  assert.equal(name, "outbound|81||multi.shop.svc.cluster.local");
  assert.equal(parseClusterName(viewOf(mesh), name)?.port, 81);
  assert.equal(parseClusterName(viewOf(mesh), "outbound|82||multi.shop.svc.cluster.local"), undefined);
  assert.equal(parseClusterName(viewOf(mesh), "outbound|81||multi.shop.svc.example.org"), undefined);
  assert.equal(parseClusterName(viewOf(mesh), "outbound|081||multi.shop.svc.cluster.local"), undefined);
});
