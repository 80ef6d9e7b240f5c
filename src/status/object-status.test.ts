// Status of the security policies from the mesh build's issues: Accepted (False with the field
// and reason of a missing target or a lost conflict; True with what proxyless gRPC does not apply)
// and Programmed with the proxy counts, on the object the issue names.
import assert from "node:assert/strict";
import { test } from "node:test";
import { objectRef } from "../api/index.ts";
import { build, securityPolicy, service } from "../mesh/testing.ts";
import type { Condition } from "./conditions.ts";
import { objectStatus } from "./object-status.ts";

const ledger = service("ledger", [{ name: "grpc", port: 50051 }], "shop");
const target = (name: string) => [{ group: "", kind: "Service", name }];
const jwks = JSON.stringify({ keys: [{ kty: "EC" }] });
const created = (day: string) => ({ namespace: "shop", creationTimestamp: `2026-12-0${day}T00:00:00Z` });
const policies = [
  securityPolicy(
    "PeerAuthentication",
    "strict",
    { targetRefs: target("ledger"), mtls: { mode: "STRICT" } },
    created("1"),
  ),
  securityPolicy(
    "PeerAuthentication",
    "late",
    { targetRefs: target("ledger"), mtls: { mode: "DISABLE" } },
    created("2"),
  ),
  securityPolicy("PeerAuthentication", "permissive", { mtls: { mode: "PERMISSIVE" } }, created("1")),
  securityPolicy("AuthorizationPolicy", "missing", { targetRefs: target("gone") }, created("1")),
  securityPolicy("AuthorizationPolicy", "audit", { action: "AUDIT" }, created("1")),
  securityPolicy("RequestAuthentication", "jwt", { jwtRules: [{ issuer: "i", jwks }] }, created("1")),
];
const mesh = build(ledger, ...policies);
const now = "2026-12-08T01:00:00Z";

/** `Type Status Reason: message` of the status the controller would write for `policy`. */
function conditions(policy: (typeof policies)[number], reached = 1, total = 2): string[] {
  const ref = objectRef(policy.kind, policy.metadata);
  const issues = mesh.issues.filter((i) => i.object === ref);
  const summary = { reached, total, rejections: [], replicasBehind: 0 };
  const status = objectStatus({ ...policy, metadata: { generation: 3 } }, issues, summary, now) as {
    conditions: Condition[];
  };
  for (const c of status.conditions) assert.equal(c.observedGeneration, 3);
  return status.conditions.map((c) => `${c.type} ${c.status} ${c.reason}: ${c.message}`);
}

const expected: [name: string, lines: RegExp[]][] = [
  [
    "strict",
    [/^Accepted True Accepted: Accepted$/, /^Programmed False Pending: reached 1 of 2 connected proxies$/],
  ],
  [
    "late",
    [
      /^Accepted False Conflicted: spec\.targetRefs\[0\]: PeerAuthentication shop\/strict already sets the mTLS mode of Service shop\/ledger/,
      /^Programmed False Invalid: not accepted, so not programmed$/,
    ],
  ],
  [
    "permissive",
    [
      /^Accepted True Accepted: Accepted; not applied for proxyless gRPC: spec\.mtls\.mode: proxyless gRPC servers serve plaintext only/,
      /^Programmed/,
    ],
  ],
  [
    "missing",
    [
      /^Accepted False TargetNotFound: spec\.targetRefs\[0\]: Service shop\/gone does not exist/,
      /^Programmed False Invalid/,
    ],
  ],
  [
    "audit",
    [
      /^Accepted True Accepted: Accepted; not applied for proxyless gRPC: spec\.action: AUDIT is not enforced/,
      /^Programmed/,
    ],
  ],
  [
    "jwt",
    [
      /^Accepted True Accepted: Accepted; not applied for proxyless gRPC: spec\.jwtRules: proxyless gRPC servers have no JWT filter/,
      /^Programmed/,
    ],
  ],
];

for (const [name, lines] of expected) {
  test(`status of ${name}: conditions from its own issues`, () => {
    const policy = policies.find((p) => p.metadata.name === name);
    assert.ok(policy);
    const got = conditions(policy);
    assert.equal(got.length, lines.length, got.join("\n"));
    lines.forEach((line, i) => assert.match(got[i] ?? "", line));
  });
}

test("Programmed True once every connected proxy runs the policy", () => {
  assert.deepEqual(conditions(policies[0] as (typeof policies)[number], 2, 2), [
    "Accepted True Accepted: Accepted",
    "Programmed True Programmed: reached 2 of 2 connected proxies",
  ]);
});
