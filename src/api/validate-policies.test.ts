// TrafficPolicy and FaultInjection validation: every field's error names its path and the fix.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateResource } from "./validate.ts";

const target = { group: "", kind: "Service", name: "greeter" };
const policy = (spec: object) => ({
  apiVersion: "meshplane.dev/v1alpha1",
  kind: "TrafficPolicy",
  metadata: { name: "p" },
  spec: { targetRefs: [target], ...spec },
});
const fault = (spec: object) => ({
  apiVersion: "meshplane.dev/v1alpha1",
  kind: "FaultInjection",
  metadata: { name: "f" },
  spec,
});
const rr = { loadBalancer: { type: "RoundRobin" } };

const cases: [name: string, input: unknown, errors: [field: string, message: RegExp][]][] = [
  [
    "no targetRefs",
    { ...policy(rr), spec: { ...rr, targetRefs: [] } },
    [["spec.targetRefs", /fewer than 1 items/]],
  ],
  [
    "targetRefs not a Service, duplicated",
    policy({ ...rr, targetRefs: [{ group: "apps", kind: "Deployment", name: "x" }, target, target] }),
    [
      ["spec.targetRefs[0]", /targets Services: set group: "" and kind: Service/],
      ["spec.targetRefs[2]", /duplicate target "greeter"/],
    ],
  ],
  [
    "targetRef without group",
    policy({ ...rr, targetRefs: [{ kind: "Service", name: "x" }] }),
    [["spec.targetRefs[0].group", /required/]],
  ],
  ["nothing but targets", policy({}), [["spec", /set at least one of loadBalancer/]]],
  [
    "unknown field",
    policy({ ...rr, loadbalancer: {} }),
    [["spec.loadbalancer", /unknown field; check its spelling against kubectl explain/]],
  ],
  [
    "load balancer type",
    policy({ loadBalancer: { type: "Random" } }),
    [["spec.loadBalancer.type", /must be one of "RoundRobin", "LeastRequest", "RingHash"/]],
  ],
  [
    "ring hash options without RingHash",
    policy({ loadBalancer: { type: "RoundRobin", ringHash: {}, hashPolicies: [{ channel: {} }] } }),
    [
      ["spec.loadBalancer.ringHash", /only applies with type: RingHash/],
      ["spec.loadBalancer.hashPolicies", /only applies with type: RingHash/],
    ],
  ],
  [
    "ring sizes",
    policy({
      loadBalancer: { type: "RingHash", ringHash: { minimumRingSize: 0, maximumRingSize: 9_000_000 } },
    }),
    [
      ["spec.loadBalancer.ringHash.minimumRingSize", />= 1/],
      ["spec.loadBalancer.ringHash.maximumRingSize", /<= 8388608/],
    ],
  ],
  [
    "minimum ring size above the maximum",
    policy({
      loadBalancer: { type: "RingHash", ringHash: { minimumRingSize: 4096, maximumRingSize: 2048 } },
    }),
    [["spec.loadBalancer.ringHash.minimumRingSize", /must not exceed maximumRingSize \(2048\)/]],
  ],
  [
    "hash policies: none or two of header/sourceIP/channel, bad header name",
    policy({
      loadBalancer: {
        type: "RingHash",
        hashPolicies: [{}, { sourceIP: {}, channel: {} }, { header: { name: "bad name" } }],
      },
    }),
    [["spec.loadBalancer.hashPolicies[2].header.name", /must match/]],
  ],
  [
    "hash policies: exactly one",
    policy({ loadBalancer: { type: "RingHash", hashPolicies: [{}, { sourceIP: {}, channel: {} }] } }),
    [
      ["spec.loadBalancer.hashPolicies[0]", /set exactly one of header, sourceIP, channel$/],
      ["spec.loadBalancer.hashPolicies[1]", /\(found sourceIP, channel\)/],
    ],
  ],
  [
    "locality weights and failover",
    policy({
      loadBalancer: {
        type: "RoundRobin",
        locality: { weights: [{ zone: "a", weight: 0 }], failover: ["a"] },
      },
    }),
    [["spec.loadBalancer.locality.weights[0].weight", />= 1/]],
  ],
  [
    "locality duplicates",
    policy({
      loadBalancer: {
        type: "RoundRobin",
        locality: {
          weights: [
            { zone: "a", weight: 1 },
            { zone: "a", weight: 2 },
          ],
          failover: ["b", "b"],
        },
      },
    }),
    [
      ["spec.loadBalancer.locality.weights[1].zone", /duplicate zone "a"/],
      ["spec.loadBalancer.locality.failover[1]", /duplicate zone "b"/],
    ],
  ],
  [
    "empty circuit breaker",
    policy({ circuitBreaker: {} }),
    [["spec.circuitBreaker", /set at least one of maxRequests/]],
  ],
  [
    "circuit breaker limits are positive",
    policy({
      circuitBreaker: { maxRequests: 0, maxConnections: 1.5, maxPendingRequests: -1, maxRetries: 5e9 },
    }),
    [
      ["spec.circuitBreaker.maxRequests", />= 1/],
      ["spec.circuitBreaker.maxConnections", /must be integer/],
      ["spec.circuitBreaker.maxPendingRequests", />= 1/],
      ["spec.circuitBreaker.maxRetries", /<= 4294967295/],
    ],
  ],
  [
    "outlier detection without a way to eject",
    policy({ outlierDetection: { interval: "5s" } }),
    [["spec.outlierDetection", /set consecutiveErrors, failurePercentage or both/]],
  ],
  [
    "outlier detection fields",
    policy({
      outlierDetection: {
        interval: "5 s",
        baseEjectionTime: "0s",
        maxEjectionPercent: 101,
        consecutiveErrors: 0,
        failurePercentage: { threshold: 101, minimumHosts: -1, requestVolume: -1 },
      },
    }),
    [
      ["spec.outlierDetection.interval", /must match/],
      ["spec.outlierDetection.maxEjectionPercent", /<= 100/],
      ["spec.outlierDetection.consecutiveErrors", />= 1/],
      ["spec.outlierDetection.failurePercentage.threshold", /<= 100/],
      ["spec.outlierDetection.failurePercentage.minimumHosts", />= 0/],
      ["spec.outlierDetection.failurePercentage.requestVolume", />= 0/],
    ],
  ],
  [
    "outlier detection zero durations",
    policy({ outlierDetection: { interval: "0s", baseEjectionTime: "0ms", consecutiveErrors: 5 } }),
    [
      ["spec.outlierDetection.interval", /must be longer than 0s/],
      ["spec.outlierDetection.baseEjectionTime", /must be longer than 0s/],
    ],
  ],
  [
    "failure percentage needs a threshold",
    policy({ outlierDetection: { failurePercentage: {} } }),
    [["spec.outlierDetection.failurePercentage.threshold", /required/]],
  ],
  ["connect timeout format", policy({ connectTimeout: "1 second" }), [["spec.connectTimeout", /must match/]]],
  ["connect timeout zero", policy({ connectTimeout: "0s" }), [["spec.connectTimeout", /longer than 0s/]]],
  [
    "retry attempts and codes",
    policy({ retry: { attempts: 0, retryOn: ["unavailable", "not-found"] } }),
    [
      ["spec.retry.attempts", />= 1/],
      [
        "spec.retry.retryOn[1]",
        /must be one of "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"/,
      ],
    ],
  ],
  [
    "retry without codes",
    policy({ retry: { attempts: 1, retryOn: [] } }),
    [["spec.retry.retryOn", /fewer than 1 items/]],
  ],
  [
    "retry codes repeated",
    policy({ retry: { attempts: 1, retryOn: ["internal", "internal"] } }),
    [["spec.retry.retryOn", /duplicate items/]],
  ],
  [
    "retry backoff",
    policy({
      retry: { attempts: 2, retryOn: ["unavailable"], backoff: { baseInterval: "0s", maxInterval: "10x" } },
    }),
    [["spec.retry.backoff.maxInterval", /must match/]],
  ],
  [
    "retry backoff order",
    policy({ retry: { attempts: 2, retryOn: ["unavailable"], backoff: { baseInterval: "0s" } } }),
    [["spec.retry.backoff.baseInterval", /longer than 0s/]],
  ],
  [
    "retry backoff maximum below the base",
    policy({
      retry: { attempts: 2, retryOn: ["unavailable"], backoff: { baseInterval: "1s", maxInterval: "500ms" } },
    }),
    [["spec.retry.backoff.maxInterval", /must not be shorter than baseInterval/]],
  ],
  ["FaultInjection with nothing to inject", fault({}), [["spec", /set delay, abort or both/]]],
  [
    "FaultInjection delay",
    fault({ delay: { fixedDelay: "soon", percentage: 101 } }),
    [
      ["spec.delay.fixedDelay", /must match/],
      ["spec.delay.percentage", /<= 100/],
    ],
  ],
  [
    "FaultInjection delay needs a percentage",
    fault({ delay: { fixedDelay: "1s" } }),
    [["spec.delay.percentage", /required/]],
  ],
  [
    "FaultInjection abort ranges",
    fault({ abort: { grpcStatus: 0, percentage: -1 } }),
    [
      ["spec.abort.grpcStatus", />= 1/],
      ["spec.abort.percentage", />= 0/],
    ],
  ],
  [
    "FaultInjection abort http range",
    fault({ abort: { httpStatus: 600, percentage: 1 } }),
    [["spec.abort.httpStatus", /<= 599/]],
  ],
  [
    "FaultInjection abort with both statuses",
    fault({ abort: { grpcStatus: 14, httpStatus: 503, percentage: 1 } }),
    [["spec.abort", /set exactly one of grpcStatus and httpStatus/]],
  ],
  [
    "FaultInjection abort with no status",
    fault({ abort: { percentage: 1 } }),
    [["spec.abort", /set exactly one of grpcStatus and httpStatus/]],
  ],
  [
    "wrong apiVersion",
    { ...fault({ abort: { grpcStatus: 14, percentage: 1 } }), apiVersion: "meshplane.dev/v1" },
    [["kind", /unsupported kind meshplane.dev\/v1\/FaultInjection/]],
  ],
];

for (const [name, input, expected] of cases) {
  test(`rejects: ${name}`, () => {
    const result = validateResource(input);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(
      result.errors.map((e) => e.field),
      expected.map(([field]) => field),
      JSON.stringify(result.errors),
    );
    result.errors.forEach((error, i) => assert.match(error.message, (expected[i] as [string, RegExp])[1]));
  });
}

test("accepts complete policies and applies the namespace default", () => {
  for (const input of [
    policy({
      targetRefs: [
        target,
        { ...target, sectionName: "grpc" },
        { group: "core", kind: "Service", name: "other" },
      ],
      loadBalancer: {
        type: "RingHash",
        ringHash: { minimumRingSize: 64, maximumRingSize: 4096 },
        hashPolicies: [{ header: { name: "x-user" } }, { channel: {} }, { sourceIP: {} }],
        locality: {
          weights: [
            { zone: "a", weight: 3 },
            { zone: "", weight: 1 },
          ],
          failover: ["a", "b"],
        },
      },
      circuitBreaker: { maxRequests: 100, maxConnections: 10, maxPendingRequests: 5, maxRetries: 3 },
      outlierDetection: {
        interval: "5s",
        baseEjectionTime: "1m",
        maxEjectionPercent: 50,
        consecutiveErrors: 5,
        failurePercentage: { threshold: 80, minimumHosts: 3, requestVolume: 20 },
      },
      connectTimeout: "1s",
      retry: {
        attempts: 3,
        retryOn: ["unavailable", "resource-exhausted"],
        backoff: { baseInterval: "25ms", maxInterval: "250ms" },
      },
    }),
    policy({ loadBalancer: { type: "LeastRequest" } }),
    fault({ delay: { fixedDelay: "2s", percentage: 12.5 } }),
    fault({ abort: { httpStatus: 503, percentage: 100 } }),
  ]) {
    const result = validateResource(input);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.resource.metadata.namespace, "default");
  }
});
