// Route filter validation: each filter type carries exactly its own configuration.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateResource } from "./validate.ts";

const route = (filters: object[], kind = "HTTPRoute", backendFilters?: object[]) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind,
  metadata: { name: "r" },
  spec: {
    parentRefs: [{ group: "", kind: "Service", name: "greeter" }],
    rules: [
      {
        filters,
        backendRefs: [{ name: "v1", port: 80, ...(backendFilters ? { filters: backendFilters } : {}) }],
      },
    ],
  },
});
const at = "spec.rules[0].filters[0]";
const headers = { set: [{ name: "x-a", value: "1" }] };
const mirror = { backendRef: { name: "shadow", port: 80 } };

const cases: [name: string, input: unknown, errors: [field: string, message: RegExp][]][] = [
  [
    "type without its configuration",
    route([{ type: "RequestHeaderModifier" }]),
    [[`${at}.requestHeaderModifier`, /required when type is RequestHeaderModifier/]],
  ],
  [
    "configuration of another type",
    route([{ type: "RequestMirror", requestMirror: mirror, responseHeaderModifier: headers }]),
    [
      [
        `${at}.responseHeaderModifier`,
        /must be unset when type is RequestMirror; .* type: ResponseHeaderModifier/,
      ],
    ],
  ],
  [
    "ExtensionRef without extensionRef",
    route([{ type: "ExtensionRef" }], "GRPCRoute"),
    [[`${at}.extensionRef`, /required when type is ExtensionRef/]],
  ],
  [
    "GRPCRoute has no RequestRedirect",
    route([{ type: "RequestRedirect", requestRedirect: {} }], "GRPCRoute"),
    [
      [`${at}.requestRedirect`, /unknown field/],
      [
        `${at}.type`,
        /must be one of "RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "ExtensionRef"/,
      ],
    ],
  ],
  [
    "header names repeat within a list, case-insensitively",
    route([
      {
        type: "RequestHeaderModifier",
        requestHeaderModifier: {
          set: [
            { name: "X-A", value: "1" },
            { name: "x-a", value: "2" },
          ],
          add: [
            { name: "b", value: "1" },
            { name: "B", value: "1" },
          ],
          remove: ["c", "C"],
        },
      },
    ]),
    [
      [`${at}.requestHeaderModifier.set[1].name`, /duplicate header name "x-a"/],
      [`${at}.requestHeaderModifier.add[1].name`, /duplicate header name "b"/],
      [`${at}.requestHeaderModifier.remove[1]`, /duplicate header name "c"/],
    ],
  ],
  [
    "mirror with percent and fraction",
    route([{ type: "RequestMirror", requestMirror: { ...mirror, percent: 5, fraction: { numerator: 1 } } }]),
    [[`${at}.requestMirror`, /set percent or fraction, not both/]],
  ],
  [
    "mirror fraction above one",
    route([
      { type: "RequestMirror", requestMirror: { ...mirror, fraction: { numerator: 3, denominator: 2 } } },
    ]),
    [[`${at}.requestMirror.fraction.numerator`, /must not exceed the denominator/]],
  ],
  [
    "mirror fraction without a denominator is out of 100",
    route([{ type: "RequestMirror", requestMirror: { ...mirror, fraction: { numerator: 101 } } }]),
    [[`${at}.requestMirror.fraction.numerator`, /must not exceed the denominator \(default 100\)/]],
  ],
  [
    "mirror fraction fields are strict",
    route([
      { type: "RequestMirror", requestMirror: { ...mirror, fraction: { numerator: 1, colour: "red" } } },
    ]),
    [[`${at}.requestMirror.fraction.colour`, /unknown field/]],
  ],
  [
    "redirect path type and value disagree",
    route([
      {
        type: "RequestRedirect",
        requestRedirect: { path: { type: "ReplaceFullPath", replacePrefixMatch: "/x" } },
      },
    ]),
    [
      [`${at}.requestRedirect.path.replaceFullPath`, /required when type is ReplaceFullPath/],
      [`${at}.requestRedirect.path.replacePrefixMatch`, /must be unset when type is ReplaceFullPath/],
    ],
  ],
  [
    "rewrite prefix without its value",
    route([{ type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch" } } }]),
    [[`${at}.urlRewrite.path.replacePrefixMatch`, /required when type is ReplacePrefixMatch/]],
  ],
  [
    "redirect status code",
    route([{ type: "RequestRedirect", requestRedirect: { statusCode: 304 } }]),
    [[`${at}.requestRedirect.statusCode`, /must be one of 301, 302, 303, 307, 308/]],
  ],
  [
    "backend filters are checked too",
    route([], "HTTPRoute", [{ type: "ResponseHeaderModifier" }]),
    [["spec.rules[0].backendRefs[0].filters[0].responseHeaderModifier", /required/]],
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

test("accepts every filter in its own form", () => {
  for (const input of [
    route([
      {
        type: "RequestHeaderModifier",
        requestHeaderModifier: { ...headers, add: [{ name: "X-A", value: "2" }], remove: ["x-b"] },
      },
      { type: "ResponseHeaderModifier", responseHeaderModifier: headers },
      { type: "RequestMirror", requestMirror: { ...mirror, fraction: { numerator: 1, denominator: 3 } } },
      { type: "RequestMirror", requestMirror: { ...mirror, percent: 10 } },
      {
        type: "URLRewrite",
        urlRewrite: { hostname: "h", path: { type: "ReplaceFullPath", replaceFullPath: "/x" } },
      },
      { type: "ExtensionRef", extensionRef: { group: "meshplane.dev", kind: "FaultInjection", name: "f" } },
    ]),
    route([{ type: "RequestRedirect", requestRedirect: { scheme: "https", port: 8443, statusCode: 301 } }]),
    route([{ type: "RequestHeaderModifier", requestHeaderModifier: headers }], "GRPCRoute"),
  ]) {
    const result = validateResource(input);
    assert.ok(result.ok, JSON.stringify(result));
  }
});
