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
  /** What each issue's message must say, in the order of `issues` (where it matters). */
  readonly says?: readonly RegExp[];
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
    issues: [`${at}.retry.codes UnsupportedValue [grpc]`],
    says: [
      /^code 500 has no retryable gRPC status, so proxyless gRPC clients do not retry on it: they retry only 429, 502, 503 and 504, which gRPC sees as UNAVAILABLE; to retry other gRPC statuses, remove this rule's retry and give the Service a TrafficPolicy retry with retryOn$/,
    ],
  },
  {
    name: "an empty retry stanza retries once; for gRPC it names no code, so no retry",
    rule: { backendRefs: backend, retry: {} },
    expect: {
      retry: { attempts: 1, httpCodes: [], grpcCodes: [], backoffBaseMs: undefined, backoffMaxMs: undefined },
    },
    issues: [`${at}.retry.codes UnsupportedValue [grpc]`],
    says: [
      /^no codes are listed, so proxyless gRPC clients get no retry for this rule \(its retry replaces the Service's TrafficPolicy retry\): they retry only 429, 502, 503 and 504, which gRPC sees as UNAVAILABLE; add one of those to codes, or remove this rule's retry to use the TrafficPolicy's$/,
    ],
  },
  {
    name: "codes gRPC sees as UNAVAILABLE and a back-off under 1s: nothing to report",
    rule: { backendRefs: backend, retry: { codes: [429, 502, 503, 504], attempts: 4, backoff: "999ms" } },
    expect: {},
    issues: [],
  },
  {
    name: "codes without a retryable gRPC status are listed once each",
    rule: { backendRefs: backend, retry: { codes: [500, 503, 404, 500] } },
    expect: {},
    issues: [`${at}.retry.codes UnsupportedValue [grpc]`],
    says: [/^codes 500, 404 have no retryable gRPC status, so proxyless gRPC clients do not retry on them: /],
  },
  {
    name: "no code gRPC can retry: the rule gets no retry, so its attempts and back-off do not matter",
    rule: { backendRefs: backend, retry: { codes: [500, 500], attempts: 7, backoff: "2s" } },
    expect: {},
    issues: [`${at}.retry.codes UnsupportedValue [grpc]`],
    says: [
      /^code 500 has no retryable gRPC status, so proxyless gRPC clients get no retry for this rule \(its retry replaces the Service's TrafficPolicy retry\)/,
    ],
  },
  {
    name: "a back-off of 1s or more is misread by grpc-js-xds",
    rule: { backendRefs: backend, retry: { codes: [503], backoff: "1500ms" } },
    expect: {},
    issues: [`${at}.retry.backoff UnsupportedValue [grpc]`],
    says: [
      /^grpc-js-xds 1.14.1 clients read a back-off of 1500ms as 10.5s \(a bug for every interval of 1s or more\), so they wait far longer between retries; use an interval under 1s$/,
    ],
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
    rule: { backendRefs: backend, retry: { codes: [503], attempts: 7 } },
    expect: {
      retry: {
        attempts: 7,
        httpCodes: [503],
        grpcCodes: [],
        backoffBaseMs: undefined,
        backoffMaxMs: undefined,
      },
    },
    issues: [`${at}.retry.attempts UnsupportedValue [grpc]`],
  },
  {
    name: "every gRPC retry issue of one rule, in field order",
    rule: { backendRefs: backend, retry: { codes: [503, 501], attempts: 5, backoff: "1s" } },
    expect: {},
    issues: [
      `${at}.retry.codes UnsupportedValue [grpc]`,
      `${at}.retry.attempts UnsupportedValue [grpc]`,
      `${at}.retry.backoff UnsupportedValue [grpc]`,
    ],
    says: [/^code 501 has/, /they retry 4 times, not 5$/, /read a back-off of 1s as 10s /],
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
    c.says?.forEach((says, i) => assert.match(mesh.issues[i]?.message ?? "", says));
  });
}

// grpc-js-xds 1.14.1 writes `${seconds + nanos / 1e9}s` with `seconds` a string.
const backoffs: readonly [string, string | undefined][] = [
  ["999ms", undefined],
  ["1s", "10s"],
  ["1500ms", "10.5s"],
  ["1s250ms", "10.25s"],
  ["2s", "20s"],
  ["1m", "600s"],
];

for (const [backoff, misread] of backoffs) {
  test(`HTTPRoute retry backoff ${backoff}: grpc-js-xds reads ${misread ?? "it right"}`, () => {
    const mesh = build(
      service("web"),
      route("HTTPRoute", "r", [{ backendRefs: backend, retry: { codes: [503], backoff } }]),
    );
    assert.deepEqual(
      mesh.issues.map((i) => i.message.match(/read a back-off of (\S+) as (\S+) /)?.slice(1)),
      misread === undefined ? [] : [[backoff, misread]],
    );
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
    [
      [
        ["gone:Service default/gone does not exist: create it or fix spec.rules[0].backendRefs[0].name"],
        ["web:ok"],
      ],
      [["web:ok"]],
    ],
  );
  assert.deepEqual(issueLines(mesh.issues), [
    "HTTPRoute default/broken spec.rules[0].backendRefs[0] BackendNotFound",
  ]);
});
