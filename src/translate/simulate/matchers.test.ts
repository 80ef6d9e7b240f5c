// Every HeaderMatcher form, path matcher and query matcher, for both data planes, with the text
// a user reads when the condition holds or fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  HeaderMatcherSchema,
  QueryParameterMatcherSchema,
  RouteMatchSchema,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { headerCheck, pathCheck, queryCheck } from "./matchers.ts";
import { observeRequest } from "./request.ts";
import type { SimulationFlavour } from "./types.ts";

type HeaderInit = MessageInitShape<typeof HeaderMatcherSchema>;

function request(
  flavour: SimulationFlavour,
  headers: Record<string, string | string[]> = {},
  path = "/pkg.Svc/Call",
) {
  const pairs = Object.entries(headers).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((v) => [name, v] as const),
  );
  return observeRequest({ target: "svc:80", path, headers: pairs }, flavour).observed;
}

const exact = (
  name: string,
  value: string,
  more: { invertMatch?: boolean; treatMissingHeaderAsEmpty?: boolean } = {},
): HeaderInit => ({
  name,
  headerMatchSpecifier: { case: "exactMatch", value },
  ...more,
});
const str = (name: string, matchPattern: Record<string, unknown>, ignoreCase = false): HeaderInit => ({
  name,
  headerMatchSpecifier: { case: "stringMatch", value: { matchPattern: matchPattern as never, ignoreCase } },
});
const regex = (value: string) => ({ case: "safeRegex", value: { regex: value } });

interface HeaderCase {
  readonly name: string;
  readonly matcher: HeaderInit;
  readonly headers: Record<string, string | string[]>;
  /** Expected result per flavour; one boolean applies to both. */
  readonly ok: boolean | { grpc: boolean; envoy: boolean };
  readonly text?: string;
  /** grpc-js-xds 1.14 decides the other way for proxyless calls. */
  readonly deviation?: boolean;
}

const headerCases: HeaderCase[] = [
  {
    name: "exact: equal",
    matcher: exact("x-user", "alice"),
    headers: { "x-user": "alice" },
    ok: true,
    text: 'header x-user "alice" matches exact "alice"',
  },
  {
    name: "exact: different",
    matcher: exact("x-user", "alice"),
    headers: { "x-user": "bob" },
    ok: false,
    text: 'header x-user "bob" does not match exact "alice"',
  },
  {
    name: "exact: missing",
    matcher: exact("x-user", "alice"),
    headers: {},
    ok: false,
    text: 'header x-user: missing (wants exact "alice")',
  },
  {
    name: "exact: case-sensitive value",
    matcher: exact("x-user", "alice"),
    headers: { "x-user": "Alice" },
    ok: false,
  },
  {
    name: "names are case-insensitive",
    matcher: exact("X-User", "alice"),
    headers: { "x-USER": "alice" },
    ok: true,
  },
  {
    name: "repeated values are joined with a comma",
    matcher: exact("x-tag", "a,b"),
    headers: { "x-tag": ["a", "b"] },
    ok: true,
  },
  {
    name: "string_match exact ignoring case",
    matcher: str("x-user", { case: "exact", value: "alice" }, true),
    headers: { "x-user": "ALICE" },
    ok: true,
    text: 'header x-user "ALICE" matches exact "alice" (ignoring case)',
  },
  {
    name: "string_match prefix",
    matcher: str("x-user", { case: "prefix", value: "al" }),
    headers: { "x-user": "alice" },
    ok: true,
  },
  {
    name: "string_match suffix",
    matcher: str("x-user", { case: "suffix", value: "ce" }),
    headers: { "x-user": "alice" },
    ok: true,
  },
  {
    name: "string_match contains",
    matcher: str("x-user", { case: "contains", value: "lic" }),
    headers: { "x-user": "alice" },
    ok: true,
  },
  {
    name: "string_match regex is a full match",
    matcher: str("x-tier", regex("gold|silver")),
    headers: { "x-tier": "silver" },
    ok: true,
  },
  {
    name: "regex alternation: full match for Envoy and gRFC, grpc-js anchors ^gold|silver$",
    matcher: str("x-tier", regex("gold|silver")),
    headers: { "x-tier": "goldfish" },
    ok: false,
    deviation: true,
  },
  {
    name: "safe_regex_match",
    matcher: { name: "x-id", headerMatchSpecifier: { case: "safeRegexMatch", value: { regex: "[0-9]+" } } },
    headers: { "x-id": "123" },
    ok: true,
  },
  {
    name: "range: inside",
    matcher: { name: "x-n", headerMatchSpecifier: { case: "rangeMatch", value: { start: 10n, end: 20n } } },
    headers: { "x-n": "15" },
    ok: true,
    text: 'header x-n "15" matches range [10, 20)',
  },
  {
    name: "range: end is exclusive",
    matcher: { name: "x-n", headerMatchSpecifier: { case: "rangeMatch", value: { start: 10n, end: 20n } } },
    headers: { "x-n": "20" },
    ok: false,
  },
  {
    name: "range: not a number",
    matcher: { name: "x-n", headerMatchSpecifier: { case: "rangeMatch", value: { start: 10n, end: 20n } } },
    headers: { "x-n": "abc" },
    ok: false,
  },
  {
    name: "present: there",
    matcher: { name: "x-debug", headerMatchSpecifier: { case: "presentMatch", value: true } },
    headers: { "x-debug": "" },
    ok: true,
    text: "header x-debug: present",
  },
  {
    name: "present: missing",
    matcher: { name: "x-debug", headerMatchSpecifier: { case: "presentMatch", value: true } },
    headers: {},
    ok: false,
    text: "header x-debug: missing (must be present)",
  },
  {
    name: "present false: absent matches; grpc-js wants it present",
    matcher: { name: "x-debug", headerMatchSpecifier: { case: "presentMatch", value: false } },
    headers: {},
    ok: true,
    deviation: true,
  },
  {
    name: "present false: there fails; grpc-js treats it as present: true",
    matcher: { name: "x-debug", headerMatchSpecifier: { case: "presentMatch", value: false } },
    headers: { "x-debug": "1" },
    ok: false,
    text: "header x-debug: present (must be absent)",
    deviation: true,
  },
  {
    name: "invert: different value matches",
    matcher: exact("x-user", "alice", { invertMatch: true }),
    headers: { "x-user": "bob" },
    ok: true,
    text: 'header x-user "bob" does not match exact "alice" (inverted)',
  },
  {
    name: "invert: equal value fails",
    matcher: exact("x-user", "alice", { invertMatch: true }),
    headers: { "x-user": "alice" },
    ok: false,
    text: 'header x-user "alice" matches exact "alice", but the matcher is inverted',
  },
  {
    name: "invert: missing header never matches (Envoy, gRFC); grpc-js inverts it to a match",
    matcher: exact("x-user", "alice", { invertMatch: true }),
    headers: {},
    ok: false,
    deviation: true,
  },
  {
    name: "invert present: absent matches",
    matcher: {
      name: "x-debug",
      headerMatchSpecifier: { case: "presentMatch", value: true },
      invertMatch: true,
    },
    headers: {},
    ok: true,
  },
  {
    name: "deprecated prefix_match",
    matcher: { name: "x-user", headerMatchSpecifier: { case: "prefixMatch", value: "al" } },
    headers: { "x-user": "alice" },
    ok: true,
  },
  {
    name: "deprecated suffix_match",
    matcher: { name: "x-user", headerMatchSpecifier: { case: "suffixMatch", value: "ce" } },
    headers: { "x-user": "alice" },
    ok: true,
  },
  {
    name: "content-type is always application/grpc for a proxyless call",
    matcher: exact("content-type", "application/grpc"),
    headers: { "content-type": "text/plain" },
    ok: { grpc: true, envoy: false },
  },
  {
    name: "binary metadata never matches a proxyless call",
    matcher: { name: "x-trace-bin", headerMatchSpecifier: { case: "presentMatch", value: true } },
    headers: { "x-trace-bin": "AAE=" },
    ok: { grpc: false, envoy: true },
  },
  {
    name: "pseudo-headers are not metadata",
    matcher: exact(":method", "POST"),
    headers: {},
    ok: { grpc: false, envoy: false },
  },
  {
    name: "Envoy: a missing header treated as empty",
    matcher: exact("x-user", "", { treatMissingHeaderAsEmpty: true }),
    headers: {},
    ok: { grpc: false, envoy: true },
  },
  {
    name: "a matcher without a value is a presence check (Envoy); grpc-js never matches it",
    matcher: { name: "x-user" },
    headers: { "x-user": "alice" },
    ok: true,
    deviation: true,
  },
];

for (const flavour of ["grpc", "envoy"] as const) {
  for (const c of headerCases) {
    test(`header matcher (${flavour}): ${c.name}`, () => {
      const check = headerCheck(create(HeaderMatcherSchema, c.matcher), request(flavour, c.headers), flavour);
      const ok = typeof c.ok === "boolean" ? c.ok : c.ok[flavour];
      assert.equal(check.ok, ok, check.text);
      if (c.text) assert.equal(check.text, c.text);
      assert.equal(
        check.deviation !== undefined,
        flavour === "grpc" && c.deviation === true,
        check.deviation,
      );
    });
  }
}

test("header matcher (envoy): :method and :path are pseudo-headers Envoy matches", () => {
  const observed = observeRequest({ target: "svc:80", path: "/a?x=1", method: "put" }, "envoy").observed;
  assert.ok(headerCheck(create(HeaderMatcherSchema, exact(":method", "PUT")), observed, "envoy").ok);
  assert.ok(headerCheck(create(HeaderMatcherSchema, exact(":path", "/a?x=1")), observed, "envoy").ok);
  assert.ok(headerCheck(create(HeaderMatcherSchema, exact(":authority", "svc:80")), observed, "envoy").ok);
});

type MatchInit = MessageInitShape<typeof RouteMatchSchema>;

interface PathCase {
  readonly name: string;
  readonly match: MatchInit;
  readonly path: string;
  readonly ok: boolean;
  readonly text?: string;
  readonly flavours?: readonly SimulationFlavour[];
  readonly deviation?: boolean;
}

const pathCases: PathCase[] = [
  {
    name: "exact",
    match: { pathSpecifier: { case: "path", value: "/a" } },
    path: "/a",
    ok: true,
    text: "path /a is /a",
  },
  {
    name: "exact: /a is not /ab",
    match: { pathSpecifier: { case: "path", value: "/a" } },
    path: "/ab",
    ok: false,
    text: "path /ab is not /a",
  },
  {
    name: "exact ignores the query string",
    match: { pathSpecifier: { case: "path", value: "/a" } },
    path: "/a?x=1",
    ok: true,
    flavours: ["envoy"],
  },
  {
    name: "prefix with separator: /a/ covers /a/b",
    match: { pathSpecifier: { case: "prefix", value: "/a/" } },
    path: "/a/b",
    ok: true,
    text: "path /a/b starts with /a/",
  },
  {
    name: "prefix with separator: /a/ does not cover /ab",
    match: { pathSpecifier: { case: "prefix", value: "/a/" } },
    path: "/ab",
    ok: false,
    text: "path /ab does not start with /a/",
  },
  {
    name: "prefix is case-sensitive",
    match: { pathSpecifier: { case: "prefix", value: "/A" } },
    path: "/a",
    ok: false,
  },
  {
    name: "case_sensitive false",
    match: { pathSpecifier: { case: "prefix", value: "/A" }, caseSensitive: false },
    path: "/a",
    ok: true,
    text: "path /a starts with /A (ignoring case)",
  },
  {
    name: "regex",
    match: { pathSpecifier: { case: "safeRegex", value: { regex: "/pkg\\.[A-Za-z]+/Call" } } },
    path: "/pkg.Svc/Call",
    ok: true,
  },
  {
    name: "regex is a full match",
    match: { pathSpecifier: { case: "safeRegex", value: { regex: "/pkg" } } },
    path: "/pkg.Svc/Call",
    ok: false,
  },
  {
    name: "regex alternation (grpc-js anchors without a group)",
    match: { pathSpecifier: { case: "safeRegex", value: { regex: "/a/x|/b/y" } } },
    path: "/a/xyz",
    ok: false,
    deviation: true,
  },
  {
    name: "path_separated_prefix: itself",
    match: { pathSpecifier: { case: "pathSeparatedPrefix", value: "/api" } },
    path: "/api",
    ok: true,
    flavours: ["envoy"],
  },
  {
    name: "path_separated_prefix: below",
    match: { pathSpecifier: { case: "pathSeparatedPrefix", value: "/api" } },
    path: "/api/v1?x=1",
    ok: true,
    flavours: ["envoy"],
  },
  {
    name: "path_separated_prefix: not /apix",
    match: { pathSpecifier: { case: "pathSeparatedPrefix", value: "/api" } },
    path: "/apix",
    ok: false,
    flavours: ["envoy"],
  },
  { name: "no path matcher", match: {}, path: "/a", ok: false, text: "the route has no path matcher" },
];

for (const c of pathCases) {
  for (const flavour of c.flavours ?? (["grpc", "envoy"] as const)) {
    test(`path matcher (${flavour}): ${c.name}`, () => {
      const check = pathCheck(create(RouteMatchSchema, c.match), request(flavour, {}, c.path), flavour);
      assert.equal(check.ok, c.ok, check.text);
      if (c.text) assert.equal(check.text, c.text);
      assert.equal(check.deviation !== undefined, flavour === "grpc" && c.deviation === true);
    });
  }
}

const queryCases = [
  {
    name: "exact value",
    matcher: {
      name: "debug",
      queryParameterMatchSpecifier: {
        case: "stringMatch",
        value: { matchPattern: { case: "exact", value: "1" } },
      },
    },
    path: "/a?debug=1",
    ok: true,
    text: 'query parameter debug "1" matches exact "1"',
  },
  {
    name: "other value",
    matcher: {
      name: "debug",
      queryParameterMatchSpecifier: {
        case: "stringMatch",
        value: { matchPattern: { case: "exact", value: "1" } },
      },
    },
    path: "/a?debug=0",
    ok: false,
  },
  {
    name: "the first of repeated values counts",
    matcher: {
      name: "v",
      queryParameterMatchSpecifier: {
        case: "stringMatch",
        value: { matchPattern: { case: "exact", value: "1" } },
      },
    },
    path: "/a?v=1&v=2",
    ok: true,
  },
  {
    name: "regex",
    matcher: {
      name: "v",
      queryParameterMatchSpecifier: {
        case: "stringMatch",
        value: { matchPattern: { case: "safeRegex", value: { regex: "[0-9]+" } } },
      },
    },
    path: "/a?v=42",
    ok: true,
  },
  {
    name: "missing",
    matcher: {
      name: "debug",
      queryParameterMatchSpecifier: {
        case: "stringMatch",
        value: { matchPattern: { case: "exact", value: "1" } },
      },
    },
    path: "/a",
    ok: false,
    text: 'query parameter debug: missing (wants exact "1")',
  },
  {
    name: "present",
    matcher: { name: "debug", queryParameterMatchSpecifier: { case: "presentMatch", value: true } },
    path: "/a?debug",
    ok: true,
  },
] as const;

for (const c of queryCases) {
  test(`query matcher (envoy): ${c.name}`, () => {
    const matcher = create(
      QueryParameterMatcherSchema,
      c.matcher as MessageInitShape<typeof QueryParameterMatcherSchema>,
    );
    const check = queryCheck(matcher, request("envoy", {}, c.path));
    assert.equal(check.ok, c.ok, check.text);
    if ("text" in c) assert.equal(check.text, c.text);
  });
}
