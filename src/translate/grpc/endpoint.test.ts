// EDS for gRPC clients: locality weights, failover priorities, unready endpoints, duplicates.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toJson } from "@bufbuild/protobuf";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { LocalityPolicy, MeshEndpoint } from "../../mesh/index.ts";
import { loadAssignment } from "./endpoint.ts";
import { endpoint } from "./testing/mesh.ts";

interface LocalityJson {
  locality: { zone?: string };
  loadBalancingWeight: number;
  priority?: number;
  lbEndpoints: { endpoint: { address: { socketAddress: { address: string } } }; healthStatus: string }[];
}

/** zone → [weight, priority, "address:HEALTHY|UNHEALTHY"...] */
function summary(endpoints: readonly MeshEndpoint[], locality?: LocalityPolicy) {
  const json = toJson(ClusterLoadAssignmentSchema, loadAssignment("c", endpoints, locality)) as {
    endpoints?: LocalityJson[];
  };
  return Object.fromEntries(
    (json.endpoints ?? []).map((l) => [
      l.locality.zone ?? "",
      [
        l.loadBalancingWeight,
        l.priority ?? 0,
        ...l.lbEndpoints.map((e) => `${e.endpoint.address.socketAddress.address}:${e.healthStatus}`),
      ],
    ]),
  );
}

const locality = (weights: Record<string, number>, failoverOrder: string[] = []): LocalityPolicy => ({
  weights: new Map(Object.entries(weights)),
  failoverOrder,
});

const spread = [
  endpoint("10.0.0.1", "a"),
  endpoint("10.0.0.2", "a"),
  endpoint("10.0.0.3", "a", false),
  endpoint("10.0.1.1", "b"),
  endpoint("10.0.2.1", "c", false),
];

test("without a policy: one locality per zone, weighted by its ready endpoints, all priority 0", () => {
  assert.deepEqual(summary(spread), {
    a: [2, 0, "10.0.0.1:HEALTHY", "10.0.0.2:HEALTHY", "10.0.0.3:UNHEALTHY"],
    b: [1, 0, "10.0.1.1:HEALTHY"],
    // No ready endpoint: still weight 1 (0 is skipped by grpc-js-xds and rejected by Envoy).
    c: [1, 0, "10.0.2.1:UNHEALTHY"],
  });
});

test("locality weights: listed zones get theirs, others 1, never 0", () => {
  assert.deepEqual(summary(spread, locality({ a: 5, c: 0 })), {
    a: [5, 0, "10.0.0.1:HEALTHY", "10.0.0.2:HEALTHY", "10.0.0.3:UNHEALTHY"],
    b: [1, 0, "10.0.1.1:HEALTHY"],
    c: [1, 0, "10.0.2.1:UNHEALTHY"],
  });
});

test("failover order: listed zones in order, unlisted zones share the last priority", () => {
  const endpoints = [endpoint("10.0.0.1", "a"), endpoint("10.0.1.1", "b"), endpoint("10.0.2.1", "c")];
  assert.deepEqual(summary(endpoints, locality({}, ["b", "a"])), {
    a: [1, 1, "10.0.0.1:HEALTHY"],
    b: [1, 0, "10.0.1.1:HEALTHY"],
    c: [1, 2, "10.0.2.1:HEALTHY"],
  });
});

test("failover priorities stay contiguous when a listed zone has no endpoints", () => {
  const endpoints = [endpoint("10.0.0.1", "a"), endpoint("10.0.2.1", "c"), endpoint("10.0.3.1", "d")];
  assert.deepEqual(summary(endpoints, locality({ c: 3 }, ["x", "c", "y", "a"])), {
    a: [1, 1, "10.0.0.1:HEALTHY"],
    c: [3, 0, "10.0.2.1:HEALTHY"],
    d: [1, 2, "10.0.3.1:HEALTHY"],
  });
});

test("a zone with no ready endpoint keeps its priority, so clients fail over past it", () => {
  const endpoints = [endpoint("10.0.0.1", "a", false), endpoint("10.0.1.1", "b")];
  assert.deepEqual(summary(endpoints, locality({}, ["a", "b"])), {
    a: [1, 0, "10.0.0.1:UNHEALTHY"],
    b: [1, 1, "10.0.1.1:HEALTHY"],
  });
});

test("an endpoint listed twice appears once, ready and in one zone", () => {
  const endpoints = [
    endpoint("10.0.0.1", "b", false),
    endpoint("10.0.0.1", "a", false),
    endpoint("10.0.0.1", "c", true),
    endpoint("10.0.0.2", "b"),
    endpoint("10.0.0.2", "a"),
  ];
  assert.deepEqual(summary(endpoints), {
    a: [1, 0, "10.0.0.2:HEALTHY"],
    c: [1, 0, "10.0.0.1:HEALTHY"],
  });
});

test("the same input in another order gives the same assignment", () => {
  const policy = locality({ a: 2 }, ["b"]);
  assert.deepEqual(
    toJson(ClusterLoadAssignmentSchema, loadAssignment("c", spread, policy)),
    toJson(ClusterLoadAssignmentSchema, loadAssignment("c", [...spread].reverse(), policy)),
  );
});
