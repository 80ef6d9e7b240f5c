// The rollout's edits of a route: only the two weights of its rule (and its own exposure rule)
// change; everything else the route's owner wrote stays, byte for byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Rollout } from "../api/index.ts";
import type { KubeObject } from "../store/index.ts";
import {
  currentWeights,
  editedRoute,
  exposedHeader,
  recordedWeights,
  routeProblem,
  weightsAnnotation,
  weightsFor,
} from "./route-weights.ts";

const rollout: Rollout = {
  apiVersion: "meshplane.dev/v1alpha1",
  kind: "Rollout",
  metadata: { name: "greeter", namespace: "default" },
  spec: {
    routeRef: { kind: "GRPCRoute", name: "greeter", rule: 1 },
    stableBackend: { name: "v1" },
    canaryBackend: { name: "v2" },
    steps: [{ setWeight: 10 }],
  },
};

const route = (): KubeObject => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "GRPCRoute",
  metadata: { name: "greeter", namespace: "default", annotations: { owner: "team-a" }, generation: 3 },
  spec: {
    parentRefs: [{ group: "", kind: "Service", name: "greeter" }],
    rules: [
      { matches: [{ method: { service: "admin.Admin" } }], backendRefs: [{ name: "admin", port: 50051 }] },
      {
        matches: [{ method: { service: "helloworld.Greeter" } }],
        filters: [
          { type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "x-a", value: "1" }] } },
        ],
        backendRefs: [
          { name: "v1", port: 50051, weight: 100 },
          { name: "v2", port: 50051 },
          { name: "v1", namespace: "other", port: 50051, weight: 5 },
        ],
      },
    ],
  },
  status: { parents: [] },
});

test("changes only the two weights of the managed rule and records them", () => {
  const before = route();
  assert.deepEqual(currentWeights(rollout, before), { stable: 100, canary: 1 }, "an unset weight is 1");
  assert.equal(recordedWeights(rollout, before), undefined);
  const after = editedRoute(rollout, before, weightsFor(10), undefined) as KubeObject;
  assert.deepEqual(currentWeights(rollout, after), { stable: 90, canary: 10 });
  assert.deepEqual(recordedWeights(rollout, after), { stable: 90, canary: 10 });
  const expected = route();
  const rules = (expected.spec as { rules: { backendRefs: { weight?: number }[] }[] }).rules;
  (rules[1]?.backendRefs[0] as { weight?: number }).weight = 90;
  (rules[1]?.backendRefs[1] as { weight?: number }).weight = 10;
  expected.metadata.annotations = {
    owner: "team-a",
    [weightsAnnotation]: JSON.stringify({ rollout: "greeter", weights: { v1: 90, v2: 10 } }),
  };
  assert.deepEqual(
    after,
    expected,
    "the other rule, the filters, the other namespace's v1 and the status stay",
  );
  assert.equal(editedRoute(rollout, after, weightsFor(10), undefined), undefined, "nothing to write twice");
  assert.deepEqual(route(), before, "the input is not changed");
});

test("recorded weights are by backend name, so swapped roles read right", () => {
  const after = editedRoute(rollout, route(), weightsFor(100), undefined) as KubeObject;
  const swapped: Rollout = {
    ...rollout,
    spec: { ...rollout.spec, stableBackend: { name: "v2" }, canaryBackend: { name: "v1" } },
  };
  assert.deepEqual(recordedWeights(swapped, after), { stable: 100, canary: 0 });
  assert.deepEqual(currentWeights(swapped, after), { stable: 100, canary: 0 });
  const other: Rollout = { ...rollout, metadata: { name: "another" } };
  assert.equal(recordedWeights(other, after), undefined, "another rollout's record is not ours");
});

test("header exposure adds one rule of the rollout's own, more specific, to the canary only; removed again", () => {
  const header = { name: "x-canary", value: "yes" };
  const exposed = editedRoute(rollout, route(), weightsFor(0), header) as KubeObject;
  const rules = (exposed.spec as { rules: Record<string, unknown>[] }).rules;
  assert.equal(rules.length, 3);
  assert.deepEqual(rules[2], {
    name: "rollout-greeter-canary",
    filters: [
      { type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "x-a", value: "1" }] } },
    ],
    matches: [
      {
        method: { service: "helloworld.Greeter" },
        headers: [{ type: "Exact", name: "x-canary", value: "yes" }],
      },
    ],
    backendRefs: [{ name: "v2", port: 50051, weight: 1 }],
  });
  assert.deepEqual(exposedHeader(rollout, exposed), header);
  assert.equal(routeProblem(rollout, exposed), undefined, "the managed rule keeps its index");
  const removed = editedRoute(rollout, exposed, weightsFor(100), undefined) as KubeObject;
  assert.equal((removed.spec as { rules: unknown[] }).rules.length, 2);
  assert.equal(exposedHeader(rollout, removed), undefined);
});

test("problems that keep a rollout from running", () => {
  const missingCanary = route();
  const rules = (missingCanary.spec as { rules: { backendRefs: unknown[] }[] }).rules;
  (rules[1] as { backendRefs: unknown[] }).backendRefs = [{ name: "v1", port: 50051 }];
  const cases: [
    name: string,
    route: KubeObject | undefined,
    change: Partial<Rollout["spec"]>,
    reason: string | undefined,
    message?: RegExp,
  ][] = [
    ["fine", route(), {}, undefined],
    ["no route", undefined, {}, "RouteNotFound", /GRPCRoute default\/greeter does not exist/],
    [
      "rule out of range",
      route(),
      { routeRef: { kind: "GRPCRoute", name: "greeter", rule: 5 } },
      "RuleNotFound",
      /has 2 rule\(s\); spec.routeRef.rule 5 names none/,
    ],
    [
      "canary not in the rule",
      missingCanary,
      {},
      "BackendNotInRule",
      /spec.canaryBackend: .* has 0 backendRef\(s\) named v2; list it once \(with weight: 0/,
    ],
  ];
  for (const [name, object, change, reason, message] of cases) {
    const problem = routeProblem({ ...rollout, spec: { ...rollout.spec, ...change } }, object);
    assert.equal(problem?.reason, reason, name);
    if (message) assert.match(problem?.message ?? "", message, name);
  }
});
