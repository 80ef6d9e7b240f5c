// xDS regexes are RE2. JavaScript's engine agrees on the syntax xDS configs use in practice; the
// few RE2-only spellings are translated, and a regex that still does not compile is reported
// rather than guessed at.

export type CompiledRegex =
  | { readonly ok: true; readonly full: RegExp; readonly grpcJs: RegExp }
  | { readonly ok: false; readonly error: string };

const cache = new Map<string, CompiledRegex>();

/**
 * `full` matches the whole value, as Envoy and grpc-go do. `grpcJs` is what grpc-js-xds 1.14
 * builds (`^${regex}$` without a group), which differs for a top-level alternation: `a|b`
 * becomes `^a|b$`.
 */
export function compileRegex(source: string): CompiledRegex {
  let compiled = cache.get(source);
  if (!compiled) {
    compiled = compile(source);
    cache.set(source, compiled);
  }
  return compiled;
}

function compile(source: string): CompiledRegex {
  let body = source;
  let flags = "u";
  // RE2's leading flag group; JavaScript has no global inline flags.
  const leading = /^\(\?([imsU]+)\)/.exec(body);
  if (leading) {
    body = body.slice(leading[0].length);
    if (leading[1]?.includes("i")) flags += "i";
    if (leading[1]?.includes("s")) flags += "s";
  }
  body = body
    .replace(/\(\?P</g, "(?<")
    .replace(/\\A/g, "^")
    .replace(/\\z/g, "$");
  try {
    return { ok: true, full: new RegExp(`^(?:${body})$`, flags), grpcJs: new RegExp(`^${body}$`, flags) };
  } catch (error) {
    return {
      ok: false,
      error: `regex ${JSON.stringify(source)} cannot be evaluated: ${(error as Error).message}`,
    };
  }
}

/** RE2 substitutions write groups as `\1`; JavaScript as `$1`. */
function substitution(value: string): string {
  return value.replace(/\$/g, "$$$$").replace(/\\(\d)/g, "$$$1");
}

/** Envoy's regex_rewrite: every match of the pattern replaced (RE2::GlobalReplace). */
export function replaceAll(source: string, value: string, replacement: string): string | undefined {
  try {
    return value.replace(new RegExp(source, "gu"), substitution(replacement));
  } catch {
    return undefined;
  }
}
