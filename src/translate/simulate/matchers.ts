// Route match conditions, evaluated one at a time so a result can say which condition held or
// which one failed. Semantics are Envoy's and gRFC A28's (grpc-go agrees); where grpc-js-xds 1.14
// (matcher.ts, route.ts) decides a proxyless call differently, the check says so.
import type {
  HeaderMatcher,
  QueryParameterMatcher,
  RouteMatch,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import type { StringMatcher } from "../../gen/envoy/type/matcher/v3/string_pb.js";
import { compileRegex } from "./regex.ts";
import { headerValue, queryParameter } from "./request.ts";
import type { ObservedRequest, SimulationFlavour } from "./types.ts";

export interface Check {
  readonly ok: boolean;
  /** What held, or what failed. */
  readonly text: string;
  /** How grpc-js-xds 1.14 decides differently, when it does. */
  readonly deviation?: string | undefined;
  /** A matcher the data plane cannot evaluate here (a regex JavaScript cannot compile). */
  readonly problem?: string | undefined;
}

interface ValueTest {
  readonly describe: string;
  readonly test: (value: string) => boolean;
  /** grpc-js-xds's own evaluation, where it differs in kind from `test`. */
  readonly grpcJs?: (value: string) => boolean;
  readonly problem?: string;
}

function caseless(ignoreCase: boolean, compare: (a: string, b: string) => boolean) {
  return (value: string, target: string) =>
    ignoreCase ? compare(value.toLowerCase(), target.toLowerCase()) : compare(value, target);
}

function regexTest(regex: string): ValueTest {
  const compiled = compileRegex(regex);
  if (!compiled.ok)
    return { describe: `regex ${JSON.stringify(regex)}`, test: () => false, problem: compiled.error };
  return {
    describe: `regex ${JSON.stringify(regex)}`,
    test: (value) => compiled.full.test(value),
    grpcJs: (value) => compiled.grpcJs.test(value),
  };
}

function literalTest(kind: string, target: string, ignoreCase: boolean): ValueTest {
  const compare = {
    exact: (a: string, b: string) => a === b,
    prefix: (a: string, b: string) => a.startsWith(b),
    suffix: (a: string, b: string) => a.endsWith(b),
    contains: (a: string, b: string) => a.includes(b),
  }[kind as "exact"];
  const test = caseless(ignoreCase, compare);
  return {
    describe: `${kind} ${JSON.stringify(target)}${ignoreCase ? " (ignoring case)" : ""}`,
    test: (value) => test(value, target),
  };
}

export function stringMatcherTest(matcher: StringMatcher): ValueTest {
  const pattern = matcher.matchPattern;
  switch (pattern.case) {
    case "exact":
    case "prefix":
    case "suffix":
    case "contains":
      return literalTest(pattern.case, pattern.value, matcher.ignoreCase);
    case "safeRegex":
      return regexTest(pattern.value.regex);
    default:
      return {
        describe: "an unsupported string matcher",
        test: () => false,
        problem: "custom string matchers are not simulated",
      };
  }
}

type HeaderTest = ValueTest | { readonly present: boolean };

function headerTest(matcher: HeaderMatcher): HeaderTest {
  const specifier = matcher.headerMatchSpecifier;
  switch (specifier.case) {
    case "exactMatch":
    case "prefixMatch":
    case "suffixMatch":
    case "containsMatch":
      return literalTest(specifier.case.replace("Match", ""), specifier.value, false);
    case "safeRegexMatch":
      return regexTest(specifier.value.regex);
    case "stringMatch":
      return stringMatcherTest(specifier.value);
    case "rangeMatch": {
      const { start, end } = specifier.value;
      return {
        describe: `range [${start}, ${end})`,
        test: (value) => /^-?\d+$/.test(value) && start <= BigInt(value) && BigInt(value) < end,
      };
    }
    case "presentMatch":
      return { present: specifier.value };
    case undefined:
      // Envoy: a matcher without a value matches on presence.
      return { present: true };
  }
}

export function headerCheck(
  matcher: HeaderMatcher,
  request: ObservedRequest,
  flavour: SimulationFlavour,
): Check {
  const name = matcher.name.toLowerCase();
  const subject = `header ${name}`;
  const lookup = headerValue(request, name, flavour);
  const invert = matcher.invertMatch;
  const test = headerTest(matcher);
  let check: Check;
  if ("present" in test) {
    const wanted = test.present !== invert;
    const ok = lookup.present === wanted;
    const seen = lookup.present ? `${subject}: present` : `${subject}: ${lookup.why}`;
    check = { ok, text: ok ? seen : `${seen} (must be ${wanted ? "present" : "absent"})` };
  } else if (!lookup.present && !(matcher.treatMissingHeaderAsEmpty && flavour === "envoy")) {
    const wanted = `${test.describe}${invert ? ", inverted" : ""}`;
    check = { ok: false, text: `${subject}: ${lookup.why} (wants ${wanted})`, problem: test.problem };
  } else {
    const value = lookup.present ? lookup.value : "";
    const raw = test.test(value);
    const ok = raw !== invert;
    const verdict = `${subject} ${JSON.stringify(value)} ${raw ? "matches" : "does not match"} ${test.describe}`;
    const inverted = invert ? (ok ? " (inverted)" : ", but the matcher is inverted") : "";
    check = { ok, text: `${verdict}${inverted}`, problem: test.problem };
  }
  if (flavour !== "grpc") return check;
  const jsOk = grpcJsHeader(matcher, test, lookup, name) !== invert;
  if (jsOk === check.ok) return check;
  return {
    ...check,
    deviation: `grpc-js-xds 1.14 decides ${subject} the other way (${jsOk ? "matches" : "no match"}): ${grpcJsReason(matcher, test, lookup)}`,
  };
}

/** grpc-js-xds HeaderMatcher.applyHelper: -bin never, content-type fixed, missing is false. */
function grpcJsHeader(
  matcher: HeaderMatcher,
  test: HeaderTest,
  lookup: ReturnType<typeof headerValue>,
  name: string,
): boolean {
  if (name.endsWith("-bin") || !lookup.present) return false;
  if ("present" in test) return matcher.headerMatchSpecifier.case !== undefined; // present_match ignores its value
  return (test.grpcJs ?? test.test)(lookup.value);
}

function grpcJsReason(
  matcher: HeaderMatcher,
  test: HeaderTest,
  lookup: ReturnType<typeof headerValue>,
): string {
  if (matcher.headerMatchSpecifier.case === undefined) return "it never matches a matcher without a value";
  if ("present" in test) return "it treats present_match: false like true";
  if (!lookup.present) return "it inverts the result for a header that is not there";
  if (test.grpcJs) return "it anchors the regex as ^…$ without a group, which splits a top-level |";
  return "missing header treated as empty is not supported";
}

/** The path condition of a route; `unsupported` when the data plane rejects the route for it. */
export function pathCheck(match: RouteMatch, request: ObservedRequest, flavour: SimulationFlavour): Check {
  const specifier = match.pathSpecifier;
  const insensitive = match.caseSensitive === false;
  const fold = (value: string) => (insensitive ? value.toLowerCase() : value);
  const path = request.path;
  const suffix = insensitive ? " (ignoring case)" : "";
  switch (specifier.case) {
    case "prefix": {
      // Envoy compares the prefix with the whole :path, query included.
      const subject = request.query === undefined ? path : `${path}?${request.query}`;
      const ok = fold(subject).startsWith(fold(specifier.value));
      return {
        ok,
        text: `path ${subject} ${ok ? "starts" : "does not start"} with ${specifier.value}${suffix}`,
      };
    }
    case "path": {
      const ok = fold(path) === fold(specifier.value);
      return { ok, text: `path ${path} ${ok ? "is" : "is not"} ${specifier.value}${suffix}` };
    }
    case "pathSeparatedPrefix": {
      const prefix = fold(specifier.value);
      const ok = fold(path) === prefix || fold(path).startsWith(`${prefix}/`);
      return {
        ok,
        text: `path ${path} ${ok ? "is" : "is not"} ${specifier.value} or below it${suffix}`,
      };
    }
    case "safeRegex": {
      const test = regexTest(specifier.value.regex);
      const ok = test.test(path);
      const text = `path ${path} ${ok ? "matches" : "does not match"} ${test.describe}`;
      const js = flavour === "grpc" && test.grpcJs ? test.grpcJs(path) : ok;
      return {
        ok,
        text,
        problem: test.problem,
        deviation:
          js === ok
            ? undefined
            : `grpc-js-xds 1.14 decides the path the other way (${js ? "matches" : "no match"}): it anchors the regex as ^…$ without a group`,
      };
    }
    case "connectMatcher": {
      const ok = request.method === "CONNECT";
      return { ok, text: `method ${request.method} ${ok ? "is" : "is not"} CONNECT` };
    }
    case "pathMatchPolicy":
      return {
        ok: false,
        text: "path match policy extensions are not simulated",
        problem: "path_match_policy",
      };
    case undefined:
      return { ok: false, text: "the route has no path matcher" };
  }
}

/** Envoy query parameter matching: the first value of the parameter; absent never matches. */
export function queryCheck(matcher: QueryParameterMatcher, request: ObservedRequest): Check {
  const subject = `query parameter ${matcher.name}`;
  const value = queryParameter(request, matcher.name);
  const specifier = matcher.queryParameterMatchSpecifier;
  if (value === undefined) {
    const wanted =
      specifier.case === "stringMatch" ? stringMatcherTest(specifier.value).describe : "presence";
    return { ok: false, text: `${subject}: missing (wants ${wanted})` };
  }
  if (specifier.case === "stringMatch") {
    const test = stringMatcherTest(specifier.value);
    const ok = test.test(value);
    return {
      ok,
      text: `${subject} ${JSON.stringify(value)} ${ok ? "matches" : "does not match"} ${test.describe}`,
      problem: test.problem,
    };
  }
  if (specifier.case === "presentMatch" && !specifier.value) {
    return { ok: false, text: `${subject}: present (present_match false never matches)` };
  }
  return { ok: true, text: `${subject}: present` };
}
