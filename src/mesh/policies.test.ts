// TrafficPolicy attachment: conversion with defaults, port-scoped over Service-wide, the oldest
// policy winning a target, missing targets, and what proxyless gRPC clients cannot apply.
import { test } from "node:test";
import assert from "node:assert/strict";
import { effectivePolicy } from "./model.ts";
import { build, issueLines, service, trafficPolicy } from "./testing.ts";

const target = (name: string, sectionName?: string) => ({
  group: "",
  kind: "Service",
  name,
  ...(sectionName ? { sectionName } : {}),
});
const ports = [
  { name: "grpc", port: 50051 },
  { name: "admin", port: 9000 },
];
const greeter = service("greeter", ports);

test("every field becomes the model's form, with defaults", () => {
  const mesh = build(
    greeter,
    trafficPolicy("all", {
      targetRefs: [target("greeter")],
      loadBalancer: {
        type: "RingHash",
        ringHash: { maximumRingSize: 4096 },
        hashPolicies: [{ header: { name: "X-User" } }, { channel: {} }],
        locality: { weights: [{ zone: "a", weight: 3 }], failover: ["a", "b"] },
      },
      circuitBreaker: { maxRequests: 100 },
      outlierDetection: { failurePercentage: { threshold: 80 } },
      connectTimeout: "1500ms",
      retry: { attempts: 2, retryOn: ["unavailable", "cancelled"], backoff: { baseInterval: "50ms" } },
    }),
  );
  const policy = mesh.services.get("default/greeter")?.policy;
  assert.deepEqual(policy, {
    source: "TrafficPolicy default/all",
    loadBalancer: "RingHash",
    ringHash: { minimumRingSize: 1024, maximumRingSize: 4096 },
    hashPolicies: [{ type: "Header", name: "x-user" }, { type: "Channel" }],
    locality: { weights: new Map([["a", 3]]), failoverOrder: ["a", "b"] },
    circuitBreaker: {
      maxRequests: 100,
      maxConnections: undefined,
      maxPendingRequests: undefined,
      maxRetries: undefined,
    },
    outlierDetection: {
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionPercent: 10,
      consecutiveErrors: undefined,
      failurePercentage: { threshold: 80, minimumHosts: 5, requestVolume: 50 },
    },
    connectTimeoutMs: 1500,
    retry: {
      attempts: 2,
      httpCodes: [],
      grpcCodes: ["unavailable", "cancelled"],
      backoffBaseMs: 50,
      backoffMaxMs: undefined,
    },
  });
  assert.deepEqual(mesh.issues, []);
});

test("outlier detection and retry as written override the defaults", () => {
  const mesh = build(
    greeter,
    trafficPolicy("od", {
      targetRefs: [target("greeter")],
      outlierDetection: {
        interval: "1s",
        baseEjectionTime: "2m",
        maxEjectionPercent: 50,
        failurePercentage: { threshold: 10, minimumHosts: 2, requestVolume: 7 },
      },
      retry: { attempts: 1, retryOn: ["internal"], backoff: { baseInterval: "10ms", maxInterval: "1s" } },
    }),
  );
  const policy = mesh.services.get("default/greeter")?.policy;
  assert.deepEqual(policy?.outlierDetection, {
    intervalMs: 1000,
    baseEjectionTimeMs: 120_000,
    maxEjectionPercent: 50,
    consecutiveErrors: undefined,
    failurePercentage: { threshold: 10, minimumHosts: 2, requestVolume: 7 },
  });
  assert.deepEqual(policy?.retry, {
    attempts: 1,
    httpCodes: [],
    grpcCodes: ["internal"],
    backoffBaseMs: 10,
    backoffMaxMs: 1000,
  });
});

test("a port-scoped policy overrides the Service-wide one for its port only", () => {
  const mesh = build(
    greeter,
    trafficPolicy("wide", { targetRefs: [target("greeter")], connectTimeout: "1s" }),
    trafficPolicy("admin", { targetRefs: [target("greeter", "admin")], connectTimeout: "5s" }),
  );
  const svc = mesh.services.get("default/greeter");
  assert.ok(svc);
  const [grpc, admin] = svc.ports;
  assert.ok(grpc && admin);
  assert.equal(svc.policy?.source, "TrafficPolicy default/wide");
  assert.equal(grpc.policy, undefined);
  assert.equal(admin.policy?.source, "TrafficPolicy default/admin");
  assert.equal(effectivePolicy(svc, grpc)?.connectTimeoutMs, 1000);
  assert.equal(effectivePolicy(svc, admin)?.connectTimeoutMs, 5000);
  assert.deepEqual(mesh.issues, []);
});

const conflictCases: [name: string, policies: object[], winner: string, issues: string[]][] = [
  [
    "the oldest policy wins",
    [
      trafficPolicy(
        "young",
        { targetRefs: [target("greeter")], connectTimeout: "1s" },
        { creationTimestamp: "2026-02-01T00:00:00Z" },
      ),
      trafficPolicy(
        "old",
        { targetRefs: [target("greeter")], connectTimeout: "2s" },
        { creationTimestamp: "2026-01-01T00:00:00Z" },
      ),
    ],
    "TrafficPolicy default/old",
    ["TrafficPolicy default/young spec.targetRefs[0] Conflicted"],
  ],
  [
    "same age: namespace/name decides",
    [
      trafficPolicy(
        "b",
        { targetRefs: [target("greeter")], connectTimeout: "1s" },
        { creationTimestamp: "2026-01-01T00:00:00Z" },
      ),
      trafficPolicy(
        "a",
        { targetRefs: [target("greeter")], connectTimeout: "2s" },
        { creationTimestamp: "2026-01-01T00:00:00Z" },
      ),
    ],
    "TrafficPolicy default/a",
    ["TrafficPolicy default/b spec.targetRefs[0] Conflicted"],
  ],
  [
    "the loser keeps its other targets; two port-scoped policies conflict too",
    [
      trafficPolicy(
        "first",
        { targetRefs: [target("greeter"), target("greeter", "grpc")], connectTimeout: "1s" },
        { creationTimestamp: "2026-01-01T00:00:00Z" },
      ),
      trafficPolicy(
        "second",
        { targetRefs: [target("greeter", "grpc"), target("greeter", "admin")], connectTimeout: "2s" },
        { creationTimestamp: "2026-01-02T00:00:00Z" },
      ),
    ],
    "TrafficPolicy default/first",
    ["TrafficPolicy default/second spec.targetRefs[0] Conflicted"],
  ],
];

for (const [name, policies, winner, issues] of conflictCases) {
  test(`conflicts: ${name}`, () => {
    const mesh = build(greeter, ...policies);
    assert.equal(mesh.services.get("default/greeter")?.policy?.source, winner);
    assert.deepEqual(issueLines(mesh.issues), issues);
  });
}

test("the conflict loser is told who holds the target and how to fix it", () => {
  const mesh = build(greeter, ...(conflictCases[2]?.[1] ?? []));
  assert.equal(
    mesh.services.get("default/greeter")?.ports[1]?.policy?.source,
    "TrafficPolicy default/second",
  );
  assert.equal(
    mesh.issues[0]?.message,
    "TrafficPolicy default/first already targets port grpc of Service default/greeter and is older (or sorts first); merge the two policies or target different ports",
  );
});

test("targets that do not exist are reported; policies reach only their own namespace", () => {
  const mesh = build(
    greeter,
    service("elsewhere", [{ port: 80 }], "other"),
    trafficPolicy("p", {
      targetRefs: [target("missing"), target("greeter", "metrics"), target("elsewhere"), target("greeter")],
      connectTimeout: "1s",
    }),
  );
  assert.deepEqual(issueLines(mesh.issues), [
    "TrafficPolicy default/p spec.targetRefs[0] TargetNotFound",
    "TrafficPolicy default/p spec.targetRefs[1] TargetNotFound",
    "TrafficPolicy default/p spec.targetRefs[2] TargetNotFound",
  ]);
  assert.match(
    mesh.issues[1]?.message ?? "",
    /has no port named metrics; sectionName is a Service port name/,
  );
  assert.equal(mesh.services.get("other/elsewhere")?.policy, undefined);
  assert.equal(mesh.services.get("default/greeter")?.policy?.connectTimeoutMs, 1000);
});

test("a Service without a policy has none, on the Service and its ports", () => {
  const mesh = build(greeter);
  const svc = mesh.services.get("default/greeter");
  assert.equal(svc?.policy, undefined);
  assert.deepEqual(
    svc?.ports.map((p) => p.policy),
    [undefined, undefined],
  );
});

test("what proxyless gRPC clients cannot apply is reported with flavour grpc", () => {
  const mesh = build(
    greeter,
    trafficPolicy("lr", {
      targetRefs: [target("greeter", "grpc")],
      loadBalancer: { type: "LeastRequest" },
      circuitBreaker: { maxRequests: 1, maxConnections: 1, maxPendingRequests: 1, maxRetries: 1 },
      outlierDetection: { consecutiveErrors: 5 },
      retry: { attempts: 5, retryOn: ["unavailable"] },
    }),
    trafficPolicy("rh", {
      targetRefs: [target("greeter", "admin")],
      loadBalancer: {
        type: "RingHash",
        hashPolicies: [{ channel: {} }, { sourceIP: {} }],
        locality: { weights: [{ zone: "a", weight: 2 }] },
      },
      retry: { attempts: 4, retryOn: ["unavailable"] },
    }),
  );
  assert.deepEqual(issueLines(mesh.issues), [
    "TrafficPolicy default/lr spec.loadBalancer.type UnsupportedValue [grpc]",
    "TrafficPolicy default/lr spec.circuitBreaker.maxConnections UnsupportedValue [grpc]",
    "TrafficPolicy default/lr spec.circuitBreaker.maxPendingRequests UnsupportedValue [grpc]",
    "TrafficPolicy default/lr spec.circuitBreaker.maxRetries UnsupportedValue [grpc]",
    "TrafficPolicy default/lr spec.outlierDetection.consecutiveErrors UnsupportedValue [grpc]",
    "TrafficPolicy default/lr spec.retry.attempts UnsupportedValue [grpc]",
    "TrafficPolicy default/rh spec.loadBalancer.hashPolicies[1].sourceIP UnsupportedValue [grpc]",
  ]);
  // Still served as written: Envoy applies all of it.
  assert.equal(mesh.services.get("default/greeter")?.ports[0]?.policy?.loadBalancer, "LeastRequest");
  assert.deepEqual(mesh.services.get("default/greeter")?.ports[1]?.policy?.hashPolicies, [
    { type: "Channel" },
    { type: "SourceIP" },
  ]);
});

// grpc-js-xds 1.14.1 misreads every back-off interval of 1s or more (1.5s as 10.5s).
const backoffCases: readonly { backoff: object; issues: readonly string[] }[] = [
  { backoff: { baseInterval: "25ms", maxInterval: "999ms" }, issues: [] },
  {
    backoff: { baseInterval: "100ms", maxInterval: "1500ms" },
    issues: ["spec.retry.backoff.maxInterval: a back-off of 1500ms as 10.5s"],
  },
  {
    backoff: { baseInterval: "1s" },
    issues: ["spec.retry.backoff.baseInterval: a back-off of 1s as 10s"],
  },
  {
    backoff: { baseInterval: "1s", maxInterval: "2s" },
    issues: [
      "spec.retry.backoff.baseInterval: a back-off of 1s as 10s",
      "spec.retry.backoff.maxInterval: a back-off of 2s as 20s",
    ],
  },
];

for (const c of backoffCases) {
  test(`TrafficPolicy retry backoff ${JSON.stringify(c.backoff)} for proxyless gRPC`, () => {
    const mesh = build(
      greeter,
      trafficPolicy("p", {
        targetRefs: [target("greeter")],
        retry: { attempts: 2, retryOn: ["unavailable"], backoff: c.backoff },
      }),
    );
    for (const i of mesh.issues) {
      assert.equal(i.reason, "UnsupportedValue");
      assert.equal(i.flavour, "grpc");
      assert.match(i.message, /^grpc-js-xds 1\.14\.1 clients read .*; use an interval under 1s$/);
    }
    assert.deepEqual(
      mesh.issues.map((i) => `${i.field}: ${i.message.match(/a back-off of \S+ as \S+/)?.[0]}`),
      c.issues,
    );
  });
}
