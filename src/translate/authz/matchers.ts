// Istio's value patterns as Envoy matchers. A pattern is exact, `prefix*`, `*suffix` or `*`
// (any non-empty value); `*` becomes the regex `.+` rather than an empty prefix because gRPC
// matches a caller without a certificate as the empty principal (gRFC A41), which must not count.
import { create } from "@bufbuild/protobuf";
import { CidrRangeSchema, type CidrRange } from "../../gen/envoy/config/core/v3/address_pb.js";
import {
  HeaderMatcherSchema,
  type HeaderMatcher,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RegexMatcherSchema } from "../../gen/envoy/type/matcher/v3/regex_pb.js";
import { StringMatcherSchema, type StringMatcher } from "../../gen/envoy/type/matcher/v3/string_pb.js";
import type { StringPattern } from "../../mesh/index.ts";

export type PatternKind =
  { readonly kind: "any" } | { readonly kind: "exact" | "prefix" | "suffix"; readonly value: string };

export function patternKind(pattern: StringPattern): PatternKind {
  if (pattern === "*") return { kind: "any" };
  if (pattern.endsWith("*")) return { kind: "prefix", value: pattern.slice(0, -1) };
  if (pattern.startsWith("*")) return { kind: "suffix", value: pattern.slice(1) };
  return { kind: "exact", value: pattern };
}

export function stringMatcher(pattern: StringPattern): StringMatcher {
  const p = patternKind(pattern);
  return create(StringMatcherSchema, {
    matchPattern:
      p.kind === "any" ? { case: "safeRegex", value: regex(".+") } : { case: p.kind, value: p.value },
  });
}

/**
 * A peer in namespace `pattern`: its SPIFFE ID is `spiffe://<td>/ns/<ns>/sa/<sa>`. An exact
 * namespace is a prefix of the ID; a pattern needs a regex because it must stop at the `/`.
 */
export function namespacePrincipal(trustDomain: string, pattern: StringPattern): StringMatcher {
  const base = `spiffe://${trustDomain}/ns/`;
  const p = patternKind(pattern);
  if (p.kind === "exact") {
    return create(StringMatcherSchema, { matchPattern: { case: "prefix", value: `${base}${p.value}/` } });
  }
  const ns = {
    any: "[^/]+",
    prefix: `${escapeRegex(p.kind === "any" ? "" : p.value)}[^/]*`,
    suffix: `[^/]*${escapeRegex(p.kind === "any" ? "" : p.value)}`,
  }[p.kind];
  return create(StringMatcherSchema, {
    matchPattern: { case: "safeRegex", value: regex(`${escapeRegex(base)}${ns}/.+`) },
  });
}

/** A header condition: `*` is presence, otherwise the value's pattern. */
export function headerMatcher(name: string, pattern: StringPattern): HeaderMatcher {
  if (pattern === "*")
    return create(HeaderMatcherSchema, { name, headerMatchSpecifier: { case: "presentMatch", value: true } });
  return create(HeaderMatcherSchema, {
    name,
    headerMatchSpecifier: { case: "stringMatch", value: stringMatcher(pattern) },
  });
}

export function exactHeader(name: string, value: string): HeaderMatcher {
  return create(HeaderMatcherSchema, {
    name,
    headerMatchSpecifier: {
      case: "stringMatch",
      value: create(StringMatcherSchema, { matchPattern: { case: "exact", value } }),
    },
  });
}

/**
 * A CIDR block or a single address, with the host bits cleared: grpc-js-xds 1.14 compares the
 * masked peer address with the prefix as given (cidr.ts inCidrRange), so `10.1.2.3/8` would
 * match nothing there while Envoy masks it.
 */
export function cidrRange(block: string): CidrRange {
  const slash = block.indexOf("/");
  const address = slash < 0 ? block : block.slice(0, slash);
  const v6 = address.includes(":");
  const bits = v6 ? 128 : 32;
  const prefixLen = slash < 0 ? bits : Number(block.slice(slash + 1));
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > bits) {
    throw new RangeError(`ipBlocks: ${JSON.stringify(block)} has no valid prefix length (0-${bits})`);
  }
  return create(CidrRangeSchema, {
    addressPrefix: maskAddress(address, prefixLen, v6),
    prefixLen,
  });
}

function maskAddress(address: string, prefixLen: number, v6: boolean): string {
  const groups = v6 ? ipv6Groups(address) : address.split(".").map(Number);
  const width = v6 ? 16 : 8;
  if (
    groups.length !== (v6 ? 8 : 4) ||
    groups.some((g) => !Number.isInteger(g) || g < 0 || g >= 2 ** width)
  ) {
    throw new RangeError(`ipBlocks: ${JSON.stringify(address)} is not an IP address`);
  }
  const masked = groups.map((g, i) => {
    const keep = Math.min(Math.max(prefixLen - i * width, 0), width);
    return keep === 0 ? 0 : g & (((2 ** width - 1) << (width - keep)) & (2 ** width - 1));
  });
  return v6 ? masked.map((g) => g.toString(16)).join(":") : masked.join(".");
}

function ipv6Groups(address: string): number[] {
  const [head = "", tail, extra] = address.split("::");
  if (extra !== undefined) return [];
  const parse = (part: string) =>
    part === "" ? [] : part.split(":").map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN));
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  const fill = 8 - left.length - right.length;
  return fill < 1 ? [] : [...left, ...new Array<number>(fill).fill(0), ...right];
}

function regex(source: string) {
  return create(RegexMatcherSchema, { regex: source });
}

function escapeRegex(value: string): string {
  return value.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}
