// Route filters in the model: each filter's form, the Gateway API rules on combining them, and the
// loud failure (a 100% abort) that replaces filters which cannot be honoured.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RouteFilter } from "./model.ts";
import { build, faultInjection, issueLines, route, service } from "./testing.ts";

const web = service("web");
const shadow = service("shadow", [{ port: 8080 }], "tools");
const backend = [{ name: "web", port: 80 }];
const slow = faultInjection("slow", { delay: { fixedDelay: "1500ms", percentage: 10 } });
const flaky = faultInjection("flaky", { abort: { grpcStatus: 8, percentage: 2.5 } });
const faultRef = (name: string, group = "meshplane.dev", kind = "FaultInjection") => ({
  type: "ExtensionRef",
  extensionRef: { group, kind, name },
});
const fails500: RouteFilter = {
  type: "Fault",
  fault: {
    source: "HTTPRoute default/r",
    delay: undefined,
    abort: { grpcStatus: undefined, httpStatus: 500, percent: 100 },
  },
};

interface Case {
  readonly name: string;
  readonly kind?: "HTTPRoute" | "GRPCRoute";
  readonly rule: object;
  readonly filters: readonly RouteFilter[];
  readonly issues: readonly string[];
}

const cases: Case[] = [
  {
    name: "header modifiers lower-case names and keep values",
    rule: {
      filters: [
        {
          type: "RequestHeaderModifier",
          requestHeaderModifier: { set: [{ name: "X-Env", value: "Canary" }], remove: ["X-Debug"] },
        },
        {
          type: "ResponseHeaderModifier",
          responseHeaderModifier: { add: [{ name: "X-Served-By", value: "web" }] },
        },
      ],
      backendRefs: backend,
    },
    filters: [
      {
        type: "RequestHeaderModifier",
        modifier: { set: [{ name: "x-env", value: "Canary" }], add: [], remove: ["x-debug"] },
      },
      {
        type: "ResponseHeaderModifier",
        modifier: { set: [], add: [{ name: "x-served-by", value: "web" }], remove: [] },
      },
    ],
    issues: [
      "HTTPRoute default/r spec.rules[0].filters[0] UnsupportedValue [grpc]",
      "HTTPRoute default/r spec.rules[0].filters[1] UnsupportedValue [grpc]",
    ],
  },
  {
    name: "mirrors: percent, fraction, default 100; repeatable; backend resolved like backendRefs",
    rule: {
      filters: [
        {
          type: "RequestMirror",
          requestMirror: { backendRef: { name: "shadow", namespace: "tools", port: 8080 }, percent: 5 },
        },
        {
          type: "RequestMirror",
          requestMirror: {
            backendRef: { name: "web", port: 80 },
            fraction: { numerator: 1, denominator: 8 },
          },
        },
        { type: "RequestMirror", requestMirror: { backendRef: { name: "web", port: 80 } } },
      ],
      backendRefs: backend,
    },
    filters: [
      {
        type: "RequestMirror",
        backend: { namespace: "tools", name: "shadow", port: 8080, weight: 1, invalid: undefined },
        percent: 5,
      },
      {
        type: "RequestMirror",
        backend: { namespace: "default", name: "web", port: 80, weight: 1, invalid: undefined },
        percent: 12.5,
      },
      {
        type: "RequestMirror",
        backend: { namespace: "default", name: "web", port: 80, weight: 1, invalid: undefined },
        percent: 100,
      },
    ],
    issues: [0, 1, 2].map((i) => `HTTPRoute default/r spec.rules[0].filters[${i}] UnsupportedValue [grpc]`),
  },
  {
    name: "a mirror to a missing backend is skipped, the rest of the rule stays",
    rule: {
      filters: [
        { type: "RequestMirror", requestMirror: { backendRef: { name: "gone", port: 80 } } },
        { type: "URLRewrite", urlRewrite: { hostname: "web.internal" } },
      ],
      backendRefs: backend,
    },
    filters: [{ type: "URLRewrite", hostname: "web.internal", path: undefined }],
    issues: [
      "HTTPRoute default/r spec.rules[0].filters[0].requestMirror.backendRef BackendNotFound",
      "HTTPRoute default/r spec.rules[0].filters[1] UnsupportedValue [grpc]",
    ],
  },
  {
    name: "URLRewrite with ReplacePrefixMatch under one PathPrefix match",
    rule: {
      matches: [{ path: { type: "PathPrefix", value: "/v1" } }],
      filters: [
        {
          type: "URLRewrite",
          urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/v2" } },
        },
      ],
      backendRefs: backend,
    },
    filters: [
      { type: "URLRewrite", hostname: undefined, path: { type: "ReplacePrefixMatch", value: "/v2" } },
    ],
    issues: ["HTTPRoute default/r spec.rules[0].filters[0] UnsupportedValue [grpc]"],
  },
  {
    name: "ReplacePrefixMatch in a rule without matches (one PathPrefix / match)",
    rule: {
      filters: [
        {
          type: "RequestRedirect",
          requestRedirect: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/new" } },
        },
      ],
    },
    filters: [
      {
        type: "RequestRedirect",
        scheme: undefined,
        hostname: undefined,
        path: { type: "ReplacePrefixMatch", value: "/new" },
        port: undefined,
        statusCode: 302,
      },
    ],
    issues: ["HTTPRoute default/r spec.rules[0].filters[0] UnsupportedValue [grpc]"],
  },
  {
    name: "redirect fields as written",
    rule: {
      filters: [
        {
          type: "RequestRedirect",
          requestRedirect: {
            scheme: "https",
            hostname: "secure.example",
            port: 8443,
            statusCode: 308,
            path: { type: "ReplaceFullPath", replaceFullPath: "/login" },
          },
        },
      ],
    },
    filters: [
      {
        type: "RequestRedirect",
        scheme: "https",
        hostname: "secure.example",
        path: { type: "ReplaceFullPath", value: "/login" },
        port: 8443,
        statusCode: 308,
      },
    ],
    issues: ["HTTPRoute default/r spec.rules[0].filters[0] UnsupportedValue [grpc]"],
  },
  {
    name: "ExtensionRef filters resolve FaultInjection objects and may repeat; faults work for proxyless",
    rule: { filters: [faultRef("slow"), faultRef("flaky")], backendRefs: backend },
    filters: [
      {
        type: "Fault",
        fault: {
          source: "FaultInjection default/slow",
          delay: { fixedDelayMs: 1500, percent: 10 },
          abort: undefined,
        },
      },
      {
        type: "Fault",
        fault: {
          source: "FaultInjection default/flaky",
          delay: undefined,
          abort: { grpcStatus: 8, httpStatus: undefined, percent: 2.5 },
        },
      },
    ],
    issues: [],
  },
  {
    name: "a repeated RequestHeaderModifier fails the rule",
    rule: {
      filters: [
        { type: "RequestHeaderModifier", requestHeaderModifier: { remove: ["a"] } },
        { type: "RequestHeaderModifier", requestHeaderModifier: { remove: ["b"] } },
      ],
      backendRefs: backend,
    },
    filters: [fails500],
    issues: ["HTTPRoute default/r spec.rules[0].filters[1] IncompatibleFilters"],
  },
  {
    name: "a redirect with backendRefs fails the rule",
    rule: {
      filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https" } }],
      backendRefs: backend,
    },
    filters: [fails500],
    issues: ["HTTPRoute default/r spec.rules[0].filters[0] IncompatibleFilters"],
  },
  {
    name: "a redirect with a URLRewrite fails the rule",
    rule: {
      filters: [
        { type: "URLRewrite", urlRewrite: { hostname: "x" } },
        { type: "RequestRedirect", requestRedirect: { scheme: "https" } },
      ],
    },
    filters: [fails500],
    issues: ["HTTPRoute default/r spec.rules[0].filters[1] IncompatibleFilters"],
  },
  {
    name: "ReplacePrefixMatch with two matches fails the rule",
    rule: {
      matches: [{ path: { value: "/a" } }, { path: { value: "/b" } }],
      filters: [
        { type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" } } },
      ],
      backendRefs: backend,
    },
    filters: [fails500],
    issues: ["HTTPRoute default/r spec.rules[0].filters[0].urlRewrite.path UnsupportedValue"],
  },
  {
    name: "ReplacePrefixMatch under an Exact match fails the rule",
    rule: {
      matches: [{ path: { type: "Exact", value: "/a" } }],
      filters: [
        {
          type: "RequestRedirect",
          requestRedirect: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" } },
        },
      ],
    },
    filters: [fails500],
    issues: ["HTTPRoute default/r spec.rules[0].filters[0].requestRedirect.path UnsupportedValue"],
  },
  {
    name: "an ExtensionRef of an unknown kind fails the rule",
    rule: { filters: [faultRef("x", "example.com", "RateLimit")], backendRefs: backend },
    filters: [fails500],
    issues: ["HTTPRoute default/r spec.rules[0].filters[0].extensionRef InvalidKind"],
  },
  {
    name: "an ExtensionRef to a missing FaultInjection fails the rule (other namespaces do not count)",
    rule: { filters: [faultRef("elsewhere")], backendRefs: backend },
    filters: [fails500],
    issues: ["HTTPRoute default/r spec.rules[0].filters[0].extensionRef BackendNotFound"],
  },
  {
    name: "GRPCRoute: a failed filter means UNAVAILABLE",
    kind: "GRPCRoute",
    rule: { filters: [faultRef("missing")], backendRefs: backend },
    filters: [
      {
        type: "Fault",
        fault: {
          source: "GRPCRoute default/r",
          delay: undefined,
          abort: { grpcStatus: 14, httpStatus: undefined, percent: 100 },
        },
      },
    ],
    issues: ["GRPCRoute default/r spec.rules[0].filters[0].extensionRef BackendNotFound"],
  },
  {
    name: "GRPCRoute header modifiers and faults",
    kind: "GRPCRoute",
    rule: {
      filters: [
        { type: "RequestHeaderModifier", requestHeaderModifier: { add: [{ name: "A", value: "1" }] } },
        faultRef("slow"),
      ],
      backendRefs: backend,
    },
    filters: [
      { type: "RequestHeaderModifier", modifier: { set: [], add: [{ name: "a", value: "1" }], remove: [] } },
      {
        type: "Fault",
        fault: {
          source: "FaultInjection default/slow",
          delay: { fixedDelayMs: 1500, percent: 10 },
          abort: undefined,
        },
      },
    ],
    issues: ["GRPCRoute default/r spec.rules[0].filters[0] UnsupportedValue [grpc]"],
  },
  {
    name: "backend-level filters are reported and ignored",
    rule: {
      backendRefs: [
        {
          name: "web",
          port: 80,
          filters: [{ type: "RequestHeaderModifier", requestHeaderModifier: { remove: ["a"] } }],
        },
      ],
    },
    filters: [],
    issues: ["HTTPRoute default/r spec.rules[0].backendRefs[0].filters UnsupportedValue"],
  },
];

for (const c of cases) {
  test(`filters: ${c.name}`, () => {
    const kind = c.kind ?? "HTTPRoute";
    const other = {
      matches: kind === "HTTPRoute" ? [{ path: { value: "/ok" } }] : [{ method: { service: "ok.Svc" } }],
      backendRefs: backend,
    };
    const mesh = build(
      web,
      shadow,
      slow,
      flaky,
      faultInjection("elsewhere", { abort: { httpStatus: 503, percentage: 1 } }, "tools"),
      route(kind, "r", [c.rule, other]),
    );
    const [attached] = mesh.attachments.get("default/web:80") ?? [];
    assert.ok(attached);
    assert.deepEqual(attached.route.rules[0]?.filters, c.filters);
    // The failure of one rule never touches the next one.
    assert.deepEqual(attached.route.rules[1]?.filters, []);
    assert.deepEqual(issueLines(mesh.issues), c.issues);
  });
}

test("every issue of a failed rule names the fix and the consequence", () => {
  const mesh = build(
    web,
    route("HTTPRoute", "r", [
      { filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https" } }], backendRefs: backend },
    ]),
    route("GRPCRoute", "g", [{ filters: [faultRef("nope")] }]),
  );
  const messages = mesh.issues.filter((i) => i.flavour === undefined).map((i) => i.message);
  assert.deepEqual(messages, [
    "a RequestRedirect answers the request itself, so the rule must have no backendRefs; remove the backendRefs or the redirect; until this is fixed, requests matching this rule fail with HTTP 500",
    "FaultInjection default/nope does not exist; create it in the route's namespace or remove this filter; until this is fixed, calls matching this rule fail with gRPC status UNAVAILABLE",
    "a GRPCRoute is attached to default/web:80 too; GRPCRoute takes precedence over HTTPRoute on one port, so this route is not used there; move its rules into the GRPCRoute or attach it to another port",
  ]);
});

test("proxyless gRPC callers are told what happens to calls a RequestRedirect rule matches", () => {
  const mesh = build(
    web,
    route("HTTPRoute", "r", [
      { filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https" } }] },
    ]),
  );
  assert.deepEqual(
    mesh.issues.map((i) => [i.field, i.flavour, i.message]),
    [
      [
        "spec.rules[0].filters[0]",
        "grpc",
        "calls matching this rule fail with UNAVAILABLE for proxyless gRPC clients, because gRPC clients cannot follow redirects; route gRPC calls with a more specific rule that has backendRefs",
      ],
    ],
  );
});
