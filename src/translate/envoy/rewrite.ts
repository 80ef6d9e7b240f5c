// Gateway API path modifiers (URLRewrite and RequestRedirect `path`) as Envoy rewrites. Envoy's
// `prefix_rewrite` swaps the matched prefix; Gateway API's ReplacePrefixMatch also drops a
// trailing slash of the replacement and, when the replacement is empty or `/`, the slashes after
// the prefix (the table in httproute_types.go: `/foo/bar` with prefix `/foo` and `/` → `/bar`).
import { create } from "@bufbuild/protobuf";
import {
  RegexMatchAndSubstituteSchema,
  type RegexMatchAndSubstitute,
} from "../../gen/envoy/type/matcher/v3/regex_pb.js";
import type { PathMatch, PathModifier } from "../../mesh/index.ts";

export type PathRewrite =
  | { readonly case: "prefixRewrite"; readonly value: string }
  | { readonly case: "regexRewrite"; readonly value: RegexMatchAndSubstitute }
  | { readonly case: "fullPath"; readonly value: string };

/**
 * How to rewrite a path matched by `matched`; undefined when the rewrite changes nothing.
 * ReplacePrefixMatch needs a PathPrefix match (Gateway API validation); against any other match
 * the matched "prefix" is the whole path, so the whole path is replaced.
 */
export function pathRewrite(modifier: PathModifier, matched: PathMatch): PathRewrite | undefined {
  if (modifier.type === "ReplaceFullPath" || matched.type !== "Prefix") {
    return { case: "fullPath", value: modifier.value };
  }
  const replacement = modifier.value.replace(/\/+$/, "");
  if (matched.value === "/") {
    // Everything matches `/`: the replacement goes in front of the whole path.
    return replacement === "" ? undefined : regexRewrite("^/", `${replacement}/`);
  }
  if (replacement === "") return regexRewrite(`^${escapeRegex(matched.value)}/*`, "/");
  return { case: "prefixRewrite", value: replacement };
}

/** A full-path replacement for RouteAction, which has no `path_redirect`-like field. */
export function fullPathRegexRewrite(path: string): RegexMatchAndSubstitute {
  return create(RegexMatchAndSubstituteSchema, { pattern: { regex: "^/.*$" }, substitution: path });
}

function regexRewrite(regex: string, substitution: string): PathRewrite {
  return {
    case: "regexRewrite",
    value: create(RegexMatchAndSubstituteSchema, { pattern: { regex }, substitution }),
  };
}

function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
