import assert from "node:assert/strict";
import { test } from "node:test";
import type { MeshIssue } from "../mesh/index.ts";
import { meshControllerName, routeStatus, type ProgrammedSummary, type StatusRoute } from "./route-status.ts";

const parent = { group: "", kind: "Service", name: "greeter", port: 50051 };
const route = (extra: Partial<StatusRoute> = {}): StatusRoute => ({
  kind: "GRPCRoute",
  metadata: { namespace: "demo", name: "split", generation: 3 },
  spec: { parentRefs: [parent], rules: [{}, {}] },
  ...extra,
});
const issue = (field: string, reason: string, message = `${reason} here`, flavour?: "grpc"): MeshIssue => ({
  object: "GRPCRoute demo/split",
  field,
  reason,
  message,
  ...(flavour ? { flavour } : {}),
});
const reached: ProgrammedSummary = { reached: 4, total: 4, rejections: [], replicasBehind: 0 };

function conditions(issues: MeshIssue[], programmed: ProgrammedSummary | undefined) {
  const status = routeStatus(route(), issues, programmed, "2026-11-21T12:00:00Z");
  assert.ok(status);
  const [entry] = status.parents;
  assert.ok(entry);
  assert.equal(entry.controllerName, meshControllerName);
  return Object.fromEntries(entry.conditions.map((c) => [c.type, `${c.status}/${c.reason}: ${c.message}`]));
}

test("route status: conditions from issues and proxy reach", async (t) => {
  const cases: {
    name: string;
    issues: MeshIssue[];
    programmed?: ProgrammedSummary;
    expect: Record<string, RegExp>;
  }[] = [
    {
      name: "healthy and reached everywhere",
      issues: [],
      expect: {
        Accepted: /^True\/Accepted/,
        ResolvedRefs: /^True\/ResolvedRefs/,
        Programmed: /^True\/Programmed: reached 4 of 4/,
      },
    },
    {
      name: "missing backend: refs unresolved but accepted",
      issues: [issue("spec.rules[0].backendRefs[1]", "BackendNotFound", "Service demo/nope does not exist")],
      expect: {
        Accepted: /^True/,
        ResolvedRefs: /^False\/BackendNotFound: spec.rules\[0\].backendRefs\[1\]: Service demo\/nope/,
      },
    },
    {
      name: "parent port missing",
      issues: [issue("spec.parentRefs[0]", "NoMatchingParent", "no port 9")],
      expect: { Accepted: /^False\/NoMatchingParent: no port 9/, Programmed: /^False\/Invalid/ },
    },
    {
      name: "conflict with a GRPCRoute",
      issues: [issue("spec.parentRefs", "Conflicted", "GRPCRoute wins")],
      expect: { Accepted: /^False\/Conflicted/ },
    },
    {
      name: "one of two rules broken",
      issues: [issue("spec.rules[1].filters[0]", "IncompatibleFilters", "redirect with backends")],
      expect: {
        Accepted: /^True/,
        PartiallyInvalid: /^True\/IncompatibleFilters: Dropped Rule: spec.rules\[1\]/,
      },
    },
    {
      name: "every rule broken",
      issues: [
        issue("spec.rules[0].filters[0]", "IncompatibleFilters"),
        issue("spec.rules[1].filters[0]", "IncompatibleFilters"),
      ],
      expect: { Accepted: /^False\/IncompatibleFilters/ },
    },
    {
      name: "flavour limits are named but do not reject",
      issues: [issue("spec.rules[0].matches[0].method", "UnsupportedValue", "never matches", "grpc")],
      expect: {
        Accepted:
          /^True\/Accepted: Accepted; not applied for proxyless gRPC: spec.rules\[0\].matches\[0\].method: never matches/,
      },
    },
    {
      name: "what a connected client release would not apply names the client group, before any push",
      issues: [
        {
          ...issue(
            "spec.rules[0].retry",
            "UnsupportedByClient",
            "ignored by connected clients grpc-python/1.39: retries (retry_policy) needs gRFC A44, C-core 1.40.0 and later",
            "grpc",
          ),
          clients: ["grpc-python/1.39"],
        },
      ],
      expect: {
        Accepted:
          /^True\/Accepted: Accepted; not applied for proxyless gRPC \(grpc-python\/1\.39\): spec\.rules\[0\]\.retry: ignored by connected clients grpc-python\/1\.39: retries/,
      },
    },
    {
      name: "some proxies behind",
      issues: [],
      programmed: { reached: 97, total: 100, rejections: [], replicasBehind: 0 },
      expect: { Programmed: /^False\/Pending: reached 97 of 100 connected proxies$/ },
    },
    {
      name: "a proxy rejected it",
      issues: [],
      programmed: {
        reached: 3,
        total: 4,
        rejections: [{ node: "demo/pod-1", error: "bad regex" }],
        replicasBehind: 0,
      },
      expect: {
        Programmed:
          /^False\/Invalid: reached 3 of 4 connected proxies; rejected by 1: demo\/pod-1: bad regex/,
      },
    },
    {
      name: "a replica still on an older config",
      issues: [],
      programmed: { reached: 2, total: 4, rejections: [], replicasBehind: 1 },
      expect: { Programmed: /^False\/Pending: .*1 replica\(s\) catching up/ },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const got = conditions(c.issues, c.programmed ?? reached);
      for (const [type, pattern] of Object.entries(c.expect))
        assert.match(got[type] ?? "(absent)", pattern, type);
    });
  }
});

test("route status: no report yet is Unknown", () => {
  assert.match(conditions([], undefined).Programmed ?? "", /^Unknown\/Pending/);
});

test("route status: unchanged status is not rewritten, and other controllers' entries are kept", () => {
  const foreign = { parentRef: parent, controllerName: "example.com/other", conditions: [] };
  const first = routeStatus(route({ status: { parents: [foreign] } }), [], reached, "2026-11-21T12:00:00Z");
  assert.ok(first);
  assert.equal(first.parents.length, 2);
  assert.equal(first.parents[0], foreign);
  // Same inputs later: nothing to write, so timestamps do not churn.
  assert.equal(routeStatus(route({ status: first }), [], reached, "2026-11-21T12:05:00Z"), undefined);
  // A change keeps the transition time of conditions whose status did not flip.
  const next = routeStatus(route({ status: first }), [], { ...reached, reached: 3 }, "2026-11-21T12:06:00Z");
  const ours = next?.parents.find((p) => p.controllerName === meshControllerName);
  const time = (type: string) => ours?.conditions.find((c) => c.type === type)?.lastTransitionTime;
  assert.equal(time("Accepted"), "2026-11-21T12:00:00Z");
  assert.equal(time("Programmed"), "2026-11-21T12:06:00Z");
  assert.equal(ours?.conditions[0]?.observedGeneration, 3);
});

test("route status: one entry per parentRef, NoMatchingParent only on its own parent", () => {
  const other = { group: "", kind: "Service", name: "missing" };
  const status = routeStatus(
    route({ spec: { parentRefs: [parent, other], rules: [{}] } }),
    [issue("spec.parentRefs[1]", "NoMatchingParent", "parent Service demo/missing does not exist")],
    reached,
    "2026-11-21T12:00:00Z",
  );
  const accepted = status?.parents.map((p) => p.conditions.find((c) => c.type === "Accepted")?.status);
  assert.deepEqual(accepted, ["True", "False"]);
});
