// HTTPRoute timeouts and retries in the model, and what proxyless gRPC callers cannot use.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RouteRule } from "./model.ts";
import { build, issueLines, route, service } from "./testing.ts";

const backend = [{ name: "web", port: 80 }];

interface Case {
  readonly name: string;
  readonly rule: object;
  readonly expect: Partial<RouteRule>;
  readonly issues: readonly string[];
}

const at = "HTTPRoute default/r spec.rules[0]";

const cases: Case[] = [
  {
    name: "no timeouts or retry",
    rule: { backendRefs: backend },
    expect: { requestTimeoutMs: undefined, backendRequestTimeoutMs: undefined, retry: undefined },
    issues: [],
  },
  {
    name: "request and backendRequest timeouts",
    rule: { backendRefs: backend, timeouts: { request: "1m30s", backendRequest: "500ms" } },
    expect: { requestTimeoutMs: 90_000, backendRequestTimeoutMs: 500 },
    issues: [`${at}.timeouts.backendRequest UnsupportedValue [grpc]`],
  },
  {
    name: "backendRequest longer than request is capped at request",
    rule: { backendRefs: backend, timeouts: { request: "1s", backendRequest: "2s" } },
    expect: { requestTimeoutMs: 1000, backendRequestTimeoutMs: 1000 },
    issues: [
      `${at}.timeouts.backendRequest UnsupportedValue`,
      `${at}.timeouts.backendRequest UnsupportedValue [grpc]`,
    ],
  },
  {
    name: 'request "0s" disables the bound, so any backendRequest is fine',
    rule: { backendRefs: backend, timeouts: { request: "0s", backendRequest: "2s" } },
    expect: { requestTimeoutMs: 0, backendRequestTimeoutMs: 2000 },
    issues: [`${at}.timeouts.backendRequest UnsupportedValue [grpc]`],
  },
  {
    name: "retry as written",
    rule: { backendRefs: backend, retry: { codes: [503, 500], attempts: 3, backoff: "100ms" } },
    expect: {
      retry: {
        attempts: 3,
        httpCodes: [503, 500],
        grpcCodes: [],
        backoffBaseMs: 100,
        backoffMaxMs: undefined,
      },
    },
    issues: [],
  },
  {
    name: "an empty retry stanza retries once",
    rule: { backendRefs: backend, retry: {} },
    expect: {
      retry: { attempts: 1, httpCodes: [], grpcCodes: [], backoffBaseMs: undefined, backoffMaxMs: undefined },
    },
    issues: [],
  },
  {
    name: "attempts 0 turns retries off; backoff 0s is the shortest positive interval",
    rule: { backendRefs: backend, retry: { attempts: 0, backoff: "0s" } },
    expect: {
      retry: { attempts: 0, httpCodes: [], grpcCodes: [], backoffBaseMs: 1, backoffMaxMs: undefined },
    },
    issues: [],
  },
  {
    name: "more retries than gRPC clients make",
    rule: { backendRefs: backend, retry: { attempts: 7 } },
    expect: {
      retry: { attempts: 7, httpCodes: [], grpcCodes: [], backoffBaseMs: undefined, backoffMaxMs: undefined },
    },
    issues: [`${at}.retry.attempts UnsupportedValue [grpc]`],
  },
  {
    name: "method and query parameter matches never match gRPC callers",
    rule: {
      matches: [{ method: "GET" }, { method: "POST" }, { queryParams: [{ name: "debug", value: "1" }] }],
      backendRefs: backend,
    },
    expect: {},
    issues: [
      `${at}.matches[0].method UnsupportedValue [grpc]`,
      `${at}.matches[2].queryParams UnsupportedValue [grpc]`,
    ],
  },
];

for (const c of cases) {
  test(`HTTPRoute rule: ${c.name}`, () => {
    const mesh = build(service("web"), route("HTTPRoute", "r", [c.rule]));
    const rule = mesh.attachments.get("default/web:80")?.[0]?.route.rules[0];
    assert.ok(rule);
    for (const [key, value] of Object.entries(c.expect))
      assert.deepEqual(rule[key as keyof RouteRule], value, key);
    assert.deepEqual(issueLines(mesh.issues), c.issues);
  });
}

test("the capped timeout says what to do and what happens meanwhile", () => {
  const mesh = build(
    service("web"),
    route("HTTPRoute", "r", [{ backendRefs: backend, timeouts: { request: "1s", backendRequest: "2s" } }]),
  );
  assert.equal(
    mesh.issues[0]?.message,
    "2s exceeds timeouts.request (1s); make it at most the request timeout. Each attempt is capped at 1s until then",
  );
  assert.match(mesh.issues[1]?.message ?? "", /no per-attempt timeout/);
});

test("GRPCRoute rules have no timeouts or retry of their own", () => {
  const mesh = build(service("web"), route("GRPCRoute", "g", [{ backendRefs: backend }]));
  const rule = mesh.attachments.get("default/web:80")?.[0]?.route.rules[0];
  assert.deepEqual(
    [rule?.requestTimeoutMs, rule?.backendRequestTimeoutMs, rule?.retry, rule?.filters],
    [undefined, undefined, undefined, []],
  );
});

test("a route without rules has one match-all rule with no backends", () => {
  const mesh = build(service("web"), {
    ...route("HTTPRoute", "r", []),
    spec: { parentRefs: [{ group: "", kind: "Service", name: "web" }] },
  });
  const rules = mesh.attachments.get("default/web:80")?.[0]?.route.rules;
  assert.equal(rules?.length, 1);
  assert.deepEqual(rules?.[0]?.backends, []);
  assert.deepEqual(rules?.[0]?.matches[0]?.path, { type: "Prefix", value: "/" });
});

test("one broken rule or route never drops the others", () => {
  const mesh = build(
    service("web"),
    route("HTTPRoute", "broken", [
      { matches: [{ path: { value: "/a" } }], backendRefs: [{ name: "gone", port: 80 }] },
      { matches: [{ path: { value: "/b" } }], backendRefs: backend },
    ]),
    route("HTTPRoute", "fine", [{ matches: [{ path: { value: "/c" } }], backendRefs: backend }]),
  );
  const attached = mesh.attachments.get("default/web:80") ?? [];
  assert.deepEqual(
    attached.map((a) => a.route.rules.map((r) => r.backends.map((b) => `${b.name}:${b.invalid ?? "ok"}`))),
    [[["gone:Service default/gone does not exist"], ["web:ok"]], [["web:ok"]]],
  );
  assert.deepEqual(issueLines(mesh.issues), [
    "HTTPRoute default/broken spec.rules[0].backendRefs[0] BackendNotFound",
  ]);
});
