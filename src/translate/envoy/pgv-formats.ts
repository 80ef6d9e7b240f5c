// The string formats protoc-gen-validate checks (`well_known` rules), written after its Go
// templates (templates/goshared/{known,string,bytes}.go), and RE2 patterns translated to RegExp.

/**
 * PGV's well_known_regex patterns, verbatim (`+-.` is a range, so ',' passes as PGV lets it);
 * `strict: false` relaxes both to "no NUL, CR or LF". Matching control characters is the point.
 */
/* eslint-disable no-control-regex */
export const headerPatterns = {
  HTTP_HEADER_NAME: /^:?[0-9a-zA-Z!#$%&'*+-.^_|~`]+$/,
  HTTP_HEADER_VALUE: /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/,
  lenient: /^[^\u0000\u000A\u000D]*$/,
} as const;
/* eslint-enable no-control-regex */

/** Go's `_validateHostname`: labels of 1–63 letters, digits and inner hyphens; at most 253 chars. */
export function hostnameProblem(host: string): string | undefined {
  if (host.length > 253) return "hostname cannot exceed 253 characters";
  const trimmed = (host.endsWith(".") ? host.slice(0, -1) : host).toLowerCase();
  for (const part of trimmed.split(".")) {
    if (part.length === 0 || part.length > 63) return "hostname labels must have 1 to 63 characters";
    if (part.startsWith("-") || part.endsWith("-")) return "hostname labels cannot begin or end with '-'";
    if (!/^[a-z0-9-]+$/.test(part)) return "hostname labels may only contain letters, digits and '-'";
  }
  return undefined;
}

/** `local@domain` or `Name <local@domain>` (Go's mail.ParseAddress, simplified), then PGV's limits. */
export function emailProblem(value: string): string | undefined {
  const angle = /^[^<>]*<([^<>]+)>$/.exec(value);
  const address = angle ? angle[1]! : value;
  const at = address.lastIndexOf("@");
  if (at <= 0) return "missing local part or '@'";
  const local = address.slice(0, at);
  const quoted = /^"(?:[^"\\\r\n]|\\.)*"$/.test(local);
  if (!quoted && !/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/.test(local))
    return "invalid local part";
  if (address.length > 254) return "email addresses cannot exceed 254 characters";
  if (local.length > 64) return "local part cannot exceed 64 characters";
  return hostnameProblem(address.slice(at + 1));
}

export function isUuid(value: string): boolean {
  return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(value);
}

/** Go's net.ParseIP: dotted IPv4 (no leading zeros) or IPv6 (no zone), as 16 bytes; else undefined. */
export function parseIp(value: string): Uint8Array | undefined {
  const v4 = parseIpv4(value);
  if (v4) return new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]);
  return parseIpv6(value);
}

/** True for 4-byte addresses and IPv4-mapped IPv6 (Go's `To4() != nil`). */
export function isIpv4Bytes(ip: Uint8Array): boolean {
  if (ip.length === 4) return true;
  return ip.length === 16 && ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;
}

function parseIpv4(value: string): number[] | undefined {
  const parts = value.split(".");
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    bytes.push(Number(part));
  }
  return bytes;
}

function parseIpv6(value: string): Uint8Array | undefined {
  const halves = value.split("::");
  if (halves.length > 2) return undefined;
  const groups = (text: string): number[] | undefined => {
    if (text === "") return [];
    const out: number[] = [];
    const parts = text.split(":");
    for (const [index, part] of parts.entries()) {
      if (index === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        out.push(parseInt(part, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return new Uint8Array(all.flatMap((g) => [g >> 8, g & 0xff]));
}

/**
 * Go's url.Parse rejects little: control characters, bad percent escapes, a scheme that is empty,
 * and a colon in the first segment of a relative reference. `absolute` also asks for a scheme (IsAbs).
 */
export function uriProblem(value: string, absolute: boolean): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return "contains a control character";
  if (/%(?![0-9a-fA-F]{2})/.test(value)) return "contains an invalid percent escape";
  if (value.startsWith(":")) return "missing protocol scheme";
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(value);
  if (!scheme) {
    if (absolute) return "is not absolute (no scheme)";
    const firstSegment = value.split(/[/?#]/, 1)[0]!;
    if (firstSegment.includes(":")) return "first path segment of a relative reference contains ':'";
    return undefined;
  }
  const authority = /^\/\/([^/?#]*)/.exec(value.slice(scheme[0].length));
  if (authority && /[\s<>"{}|\\^`]/.test(authority[1]!)) return "host contains an invalid character";
  return undefined;
}

/** A RE2 pattern the translation cannot express in JavaScript. */
export class Re2PatternError extends Error {
  readonly code = "PGV_RE2_PATTERN";
  readonly pattern: string;
  constructor(pattern: string, reason: string) {
    super(`RE2 pattern ${JSON.stringify(pattern)}: ${reason}`);
    this.name = "Re2PatternError";
    this.pattern = pattern;
  }
}

const posixClasses: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-/:-@[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

/**
 * RE2 → RegExp with the `u` flag (RE2 matches code points). PGV searches (unanchored), as `test`
 * does. Handles leading flag groups, \A \z \Q…\E \x{…} \pX (?P<name>) and [[:posix:]] classes.
 */
export function re2ToRegExp(pattern: string): RegExp {
  let flags = "u";
  let source = pattern;
  const leading = /^\(\?([a-zA-Z]+)\)/.exec(source);
  if (leading) {
    for (const flag of leading[1]!) {
      if (flag === "i" || flag === "s" || flag === "m") flags += flag;
      else throw new Re2PatternError(pattern, `flag ${flag} has no JavaScript equivalent`);
    }
    source = source.slice(leading[0].length);
  }
  let out = "";
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    const rest = source.slice(i);
    if (c === "\\") {
      const next = source[i + 1];
      if (next === undefined) throw new Re2PatternError(pattern, "trailing backslash");
      if (next === "Q") {
        const end = source.indexOf("\\E", i + 2);
        const literal = source.slice(i + 2, end === -1 ? undefined : end);
        out += literal.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
        i = end === -1 ? source.length : end + 1;
      } else if (next === "A" && !inClass) {
        out += "(?<![\\s\\S])";
        i++;
      } else if (next === "z" && !inClass) {
        out += "(?![\\s\\S])";
        i++;
      } else if (next === "C") {
        throw new Re2PatternError(pattern, "\\C (any byte) has no JavaScript equivalent");
      } else if (next === "x" && source[i + 2] === "{") {
        const end = source.indexOf("}", i);
        out += `\\u{${source.slice(i + 3, end)}}`;
        i = end;
      } else if ((next === "p" || next === "P") && source[i + 2] !== "{") {
        out += `\\${next}{${source[i + 2] ?? ""}}`;
        i += 2;
      } else if (/[!-/:-@[-`{-~]/.test(next) && !/[\\^$.*+?()[\]{}|/]/.test(next)) {
        // RE2 escapes any punctuation; the u flag allows only syntax characters (and \- in a class).
        out += next === "-" && inClass ? "\\-" : next;
        i++;
      } else {
        out += c + next;
        i++;
      }
    } else if (inClass && rest.startsWith("[:")) {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(rest);
      const set = posix ? posixClasses[posix[2]!] : undefined;
      if (!posix || set === undefined) throw new Re2PatternError(pattern, "unknown POSIX class");
      if (posix[1]) throw new Re2PatternError(pattern, "negated POSIX classes are not supported");
      out += set;
      i += posix[0].length - 1;
    } else if (c === "[" && !inClass) {
      inClass = true;
      out += c;
      if (source[i + 1] === "^") out += source[++i];
      if (source[i + 1] === "]") out += `\\${source[++i]}`;
    } else if (c === "]" && inClass) {
      inClass = false;
      out += c;
    } else if (!inClass && rest.startsWith("(?P<")) {
      out += "(?<";
      i += 3;
    } else {
      out += c;
    }
  }
  try {
    return new RegExp(out, flags);
  } catch (error) {
    throw new Re2PatternError(pattern, (error as Error).message);
  }
}
