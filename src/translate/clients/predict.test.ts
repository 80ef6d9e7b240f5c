// Before a push: which objects carry features some connected client release would ignore, reject
// or break on, as status issues naming the client groups.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { MeshFault, OutlierDetectionPolicy, RetryPolicy } from "../../mesh/index.ts";
import { backend, mesh, policy, route, rule, service, servicePort } from "../grpc/testing/mesh.ts";
import { clientIssues, featureUses, parseClientSpec } from "./index.ts";

const retry: RetryPolicy = {
  attempts: 2,
  grpcCodes: ["unavailable"],
  httpCodes: [],
  backoffBaseMs: undefined,
  backoffMaxMs: undefined,
};
const outliers: OutlierDetectionPolicy = {
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionPercent: 10,
  consecutiveErrors: undefined,
  failurePercentage: { threshold: 50, minimumHosts: 1, requestVolume: 5 },
};
const fault: MeshFault = {
  source: "FaultInjection default/slow",
  delay: { fixedDelayMs: 100, percent: 50 },
  abort: undefined,
};

const snapshot = mesh(
  [
    service("greeter"),
    service("v2", {
      ports: [servicePort(50051, [], policy({ source: "TrafficPolicy default/v2-port", retry }))],
      policy: policy({
        source: "TrafficPolicy default/v2",
        loadBalancer: "RingHash",
        outlierDetection: outliers,
      }),
    }),
  ],
  [
    {
      route: route([
        rule({ backends: [backend("v2")], retry, requestTimeoutMs: 1500 }),
        rule({ index: 1, backends: [backend("v2")], filters: [{ type: "Fault", fault }] }),
      ]),
      parent: "greeter",
    },
  ],
);

test("feature uses: each object and field that makes meshplane emit a release-dependent feature", () => {
  const uses = featureUses(snapshot).map((u) => `${u.object} ${u.field} ${u.feature}`);
  assert.deepEqual(uses.sort(), [
    "FaultInjection default/slow spec faultInjection",
    "GRPCRoute default/r spec.rules[0].retry retry",
    "GRPCRoute default/r spec.rules[0].timeouts.request maxStreamDuration",
    "TrafficPolicy default/v2 spec.loadBalancer.type ringHash",
    "TrafficPolicy default/v2 spec.outlierDetection outlierDetection",
    "TrafficPolicy default/v2-port spec.retry retry",
  ]);
});

test("client issues: per object, field and verdict, naming every connected client group concerned", () => {
  const clients = ["grpc-python/1.51", "grpc-python/1.39", "grpc-go/1.40", "grpc-js/1.14.1"].map((c) =>
    parseClientSpec(c),
  );
  const issues = clientIssues(featureUses(snapshot), clients).map(
    (i) => `${i.object} ${i.field}: ${i.message}`,
  );
  assert.deepEqual(issues.sort(), [
    "GRPCRoute default/r spec.rules[0].retry: ignored by connected clients grpc-go/1.40, grpc-python/1.39: retries (retry_policy) needs gRFC A44, C-core 1.40.0 and later; retries (retry_policy) needs gRFC A44, grpc-go 1.41.0 and later",
    "TrafficPolicy default/v2 spec.loadBalancer.type: broken by connected clients grpc-python/1.51: the client crashes (segfault) on its first call once its routes name a ring hash cluster (grpc/grpc#31766, fixed by grpc/grpc#32012)",
    "TrafficPolicy default/v2 spec.loadBalancer.type: rejected (NACK) by connected clients grpc-go/1.40, grpc-python/1.39: ring hash load balancing (lb_policy RING_HASH) needs gRFC A42, C-core 1.40.0 and later; ring hash load balancing (lb_policy RING_HASH) needs gRFC A42, grpc-go 1.41.0 and later",
    "TrafficPolicy default/v2 spec.outlierDetection: ignored by connected clients grpc-go/1.40, grpc-python/1.39: outlier detection needs gRFC A50, C-core 1.51.0 and later; outlier detection needs gRFC A50, grpc-go 1.50.0 and later",
    "TrafficPolicy default/v2-port spec.retry: ignored by connected clients grpc-go/1.40, grpc-python/1.39: retries (retry_policy) needs gRFC A44, C-core 1.40.0 and later; retries (retry_policy) needs gRFC A44, grpc-go 1.41.0 and later",
  ]);
  const [first] = clientIssues(featureUses(snapshot), [parseClientSpec("grpc-python/1.39")]);
  assert.equal(first?.flavour, "grpc");
  assert.equal(first?.reason, "UnsupportedByClient");
  assert.deepEqual(first?.clients, ["grpc-python/1.39"]);
  // Current clients: nothing to say.
  assert.deepEqual(clientIssues(featureUses(snapshot), [parseClientSpec("grpc-js/1.14.1")]), []);
});
