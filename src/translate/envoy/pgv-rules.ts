// PGV field rules (validate.FieldRules) compiled once per field, and the checks for one value.
// Semantics follow protoc-gen-validate's Go templates (templates/goshared/*.go): a rule applies
// when it is present in the options (proto2 presence), `in` wins over `not_in`, `ignore_empty`
// skips every other string rule for "". Unlike PGV's first-error Validate(), every broken rule is
// reported (like ValidateAll()).
import { ScalarType, type DescEnum, type Message } from "@bufbuild/protobuf";
import { reflect, isReflectList, isReflectMessage } from "@bufbuild/protobuf/reflect";
import type { Any, Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { FieldRulesSchema, KnownRegex, type FieldRules } from "../../gen/validate/validate_pb.js";
import {
  emailProblem,
  headerPatterns,
  hostnameProblem,
  isIpv4Bytes,
  isUuid,
  parseIp,
  re2ToRegExp,
  Re2PatternError,
  uriProblem,
} from "./pgv-formats.ts";
import {
  checkInList,
  checkRange,
  durationNanos,
  showDuration,
  showTimestamp,
  timestampNanos,
  type RuleSink,
} from "./pgv-range.ts";

export type { RuleSink } from "./pgv-range.ts";

const numeric = ["const", "lt", "lte", "gt", "gte", "in", "not_in"];
const numericTypes = ["float", "double", "int32", "int64", "uint32", "uint64", "sint32", "sint64"].concat([
  "fixed32",
  "fixed64",
  "sfixed32",
  "sfixed64",
]);

/**
 * The rule fields this validator evaluates, by rule type (the FieldRules `type` case, plus
 * `message`). A rule set in a descriptor but missing here is reported, never skipped.
 */
export const handledRules: Readonly<Record<string, readonly string[]>> = {
  ...Object.fromEntries(numericTypes.map((t) => [t, numeric])),
  bool: ["const"],
  string: [
    ...["const", "len", "min_len", "max_len", "len_bytes", "min_bytes", "max_bytes", "pattern"],
    ...["prefix", "suffix", "contains", "not_contains", "in", "not_in", "email", "hostname", "ip"],
    ...["ipv4", "ipv6", "uri", "uri_ref", "address", "uuid", "well_known_regex", "strict", "ignore_empty"],
  ],
  bytes: [
    "const",
    "len",
    "min_len",
    "max_len",
    "pattern",
    "prefix",
    "suffix",
    "contains",
    "in",
    "not_in",
  ].concat(["ip", "ipv4", "ipv6"]),
  enum: ["const", "defined_only", "in", "not_in"],
  message: ["required", "skip"],
  repeated: ["min_items", "max_items", "unique", "items"],
  map: ["min_pairs", "max_pairs", "no_sparse", "keys", "values"],
  any: ["required", "in", "not_in"],
  duration: ["required", ...numeric],
  timestamp: ["required", "const", "lt", "lte", "gt", "gte", "lt_now", "gt_now", "within"],
};

/** One field's rules, read once from its options. */
export interface CompiledRules {
  /** The FieldRules `type` case by proto name ("string", "uint32", "repeated", …), if any. */
  readonly type: string | undefined;
  /** The rules set for that type, by proto field name. */
  readonly typed: ReadonlyMap<string, unknown>;
  /** MessageRules set (required, skip). */
  readonly message: ReadonlyMap<string, unknown>;
  readonly items?: CompiledRules;
  readonly keys?: CompiledRules;
  readonly values?: CompiledRules;
  readonly pattern?: RegExp;
  /** Every rule kind present, "type.field", nested items/keys/values included. */
  readonly kinds: readonly string[];
  /** Why some of these rules cannot be evaluated (unhandled kinds, untranslatable patterns). */
  readonly problems: readonly string[];
}

export function compileRules(rules: FieldRules): CompiledRules {
  const kinds: string[] = [];
  const problems: string[] = [];
  const message = rules.message ? setFields(rules.message) : new Map<string, unknown>();
  for (const name of message.keys()) {
    kinds.push(`message.${name}`);
    if (!handledRules.message!.includes(name))
      problems.push(`rule message.${name} has no check in this validator`);
  }
  if (rules.message?.$unknown?.length) problems.push("MessageRules has fields unknown to validate.proto");
  const typeCase = rules.type.case;
  const typeField = typeCase ? FieldRulesSchema.fields.find((f) => f.localName === typeCase) : undefined;
  const type = typeField?.name;
  const typedMessage = rules.type.value as Message | undefined;
  const typed = typedMessage ? setFields(typedMessage) : new Map<string, unknown>();
  if (typedMessage && "$unknown" in typedMessage && (typedMessage.$unknown as unknown[] | undefined)?.length)
    problems.push(`${type}: rule fields unknown to validate.proto`);
  if (rules.$unknown?.length) problems.push("FieldRules has fields unknown to validate.proto");
  const nested: { items?: CompiledRules; keys?: CompiledRules; values?: CompiledRules } = {};
  for (const [name, value] of typed) {
    kinds.push(`${type}.${name}`);
    if (!handledRules[type!]?.includes(name))
      problems.push(`rule ${type}.${name} has no check in this validator`);
    if (name === "items" || name === "keys" || name === "values") {
      const inner = compileRules(value as FieldRules);
      nested[name] = inner;
      kinds.push(...inner.kinds);
      problems.push(...inner.problems.map((p) => `${name}: ${p}`));
    }
  }
  let pattern: RegExp | undefined;
  const source = typed.get("pattern");
  if (typeof source === "string") {
    try {
      pattern = re2ToRegExp(source);
    } catch (error) {
      if (!(error instanceof Re2PatternError)) throw error;
      problems.push(error.message);
    }
  }
  return { type, typed, message, ...nested, ...(pattern ? { pattern } : {}), kinds, problems };
}

/** The fields present in a rules message, by proto name, as plain values. */
function setFields(message: Message): Map<string, unknown> {
  const view = reflect(
    FieldRulesSchema.file.messages.find((m) => m.typeName === message.$typeName)!,
    message,
  );
  const out = new Map<string, unknown>();
  for (const field of view.sortedFields) {
    if (!view.isSet(field)) continue;
    const value = view.get(field);
    if (isReflectList(value))
      out.set(
        field.name,
        [...value].map((v) => (isReflectMessage(v) ? v.message : v)),
      );
    else out.set(field.name, isReflectMessage(value) ? value.message : value);
  }
  return out;
}

/** The kind of a value the rules apply to: a scalar or an enum (wrappers arrive unwrapped). */
export type ValueType = { kind: "scalar"; scalar: ScalarType } | { kind: "enum"; enum: DescEnum };

/** The FieldRules type that fits a value type ("string", "enum", "uint32", …). */
export function ruleTypeOf(type: ValueType): string {
  return type.kind === "enum" ? "enum" : ScalarType[type.scalar].toLowerCase();
}

export function checkValue(rules: CompiledRules, type: ValueType, value: unknown, sink: RuleSink): void {
  switch (rules.type) {
    case undefined:
      return;
    case "string":
      return checkString(rules, value as string, sink);
    case "bytes":
      return checkBytes(rules, value as Uint8Array, sink);
    case "bool":
      if (rules.typed.has("const") && value !== rules.typed.get("const"))
        sink.violation("bool.const", `must be ${String(rules.typed.get("const"))}, got ${String(value)}`);
      return;
    case "enum":
      return checkEnum(rules, type.kind === "enum" ? type.enum : undefined, value as number, sink);
    default:
      return checkRange(rules.type, rules.typed, value as number | bigint, String, sink);
  }
}

function checkString(rules: CompiledRules, value: string, sink: RuleSink): void {
  const r = rules.typed;
  if (r.get("ignore_empty") === true && value === "") return;
  const shown = show(value);
  const fail = (rule: string, expected: string) =>
    sink.violation(`string.${rule}`, `${expected}, got ${shown}`);
  if (r.has("const") && value !== r.get("const")) fail("const", `must equal ${show(r.get("const"))}`);
  checkInList("string", r, value, show, sink);
  const runes = countCodePoints(value);
  const bytes = utf8Length(value);
  if (r.has("len") && BigInt(runes) !== r.get("len")) fail("len", `must be ${r.get("len")} characters long`);
  if (r.has("min_len") && BigInt(runes) < (r.get("min_len") as bigint))
    fail("min_len", `must be at least ${r.get("min_len")} characters long`);
  if (r.has("max_len") && BigInt(runes) > (r.get("max_len") as bigint))
    fail("max_len", `must be at most ${r.get("max_len")} characters long`);
  if (r.has("len_bytes") && BigInt(bytes) !== r.get("len_bytes"))
    fail("len_bytes", `must be ${r.get("len_bytes")} bytes long (UTF-8)`);
  if (r.has("min_bytes") && BigInt(bytes) < (r.get("min_bytes") as bigint))
    fail("min_bytes", `must be at least ${r.get("min_bytes")} bytes long (UTF-8)`);
  if (r.has("max_bytes") && BigInt(bytes) > (r.get("max_bytes") as bigint))
    fail("max_bytes", `must be at most ${r.get("max_bytes")} bytes long (UTF-8)`);
  const prefix = r.get("prefix") as string | undefined;
  if (prefix !== undefined && !value.startsWith(prefix)) fail("prefix", `must start with ${show(prefix)}`);
  const suffix = r.get("suffix") as string | undefined;
  if (suffix !== undefined && !value.endsWith(suffix)) fail("suffix", `must end with ${show(suffix)}`);
  const contains = r.get("contains") as string | undefined;
  if (contains !== undefined && !value.includes(contains)) fail("contains", `must contain ${show(contains)}`);
  const notContains = r.get("not_contains") as string | undefined;
  if (notContains !== undefined && value.includes(notContains))
    fail("not_contains", `must not contain ${show(notContains)}`);
  checkWellKnownString(r, value, fail);
  if (rules.pattern && !rules.pattern.test(value))
    fail("pattern", `must match the RE2 pattern ${show(r.get("pattern"))}`);
}

function checkWellKnownString(
  r: ReadonlyMap<string, unknown>,
  value: string,
  fail: (rule: string, expected: string) => void,
): void {
  const ip = parseIp(value);
  if (r.get("ip") === true && !ip) fail("ip", "must be an IP address");
  if (r.get("ipv4") === true && !(ip && isIpv4Bytes(ip))) fail("ipv4", "must be an IPv4 address");
  if (r.get("ipv6") === true && !(ip && !isIpv4Bytes(ip))) fail("ipv6", "must be an IPv6 address");
  const because = (problem: string | undefined, rule: string, expected: string) => {
    if (problem) fail(rule, `${expected} (${problem})`);
  };
  if (r.get("email") === true) because(emailProblem(value), "email", "must be an email address");
  if (r.get("hostname") === true) because(hostnameProblem(value), "hostname", "must be a hostname");
  if (r.get("address") === true && !ip)
    because(hostnameProblem(value), "address", "must be a hostname or an IP address");
  if (r.get("uri") === true) because(uriProblem(value, true), "uri", "must be an absolute URI");
  if (r.get("uri_ref") === true) because(uriProblem(value, false), "uri_ref", "must be a URI reference");
  if (r.get("uuid") === true && !isUuid(value)) fail("uuid", "must be a UUID");
  const regex = r.get("well_known_regex") as KnownRegex | undefined;
  if (regex === KnownRegex.HTTP_HEADER_NAME || regex === KnownRegex.HTTP_HEADER_VALUE) {
    const strict = r.get("strict") !== false;
    const what = regex === KnownRegex.HTTP_HEADER_NAME ? "an HTTP header name" : "an HTTP header value";
    const pattern = strict
      ? headerPatterns[KnownRegex[regex] as keyof typeof headerPatterns]
      : headerPatterns.lenient;
    if (!pattern.test(value))
      fail("well_known_regex", `must be ${what} (${strict ? "RFC 7230" : "no NUL, CR or LF"})`);
  }
}

function checkBytes(rules: CompiledRules, value: Uint8Array, sink: RuleSink): void {
  const r = rules.typed;
  const shown = `${value.length} bytes`;
  const fail = (rule: string, expected: string) =>
    sink.violation(`bytes.${rule}`, `${expected}, got ${shown}`);
  const size = BigInt(value.length);
  if (r.has("const") && !bytesEqual(value, r.get("const") as Uint8Array))
    fail("const", "must equal the const bytes");
  if (r.has("len") && size !== r.get("len")) fail("len", `must be ${r.get("len")} bytes long`);
  if (r.has("min_len") && size < (r.get("min_len") as bigint))
    fail("min_len", `must be at least ${r.get("min_len")} bytes long`);
  if (r.has("max_len") && size > (r.get("max_len") as bigint))
    fail("max_len", `must be at most ${r.get("max_len")} bytes long`);
  const prefix = r.get("prefix") as Uint8Array | undefined;
  if (prefix && !bytesEqual(value.subarray(0, prefix.length), prefix))
    fail("prefix", "must start with the prefix");
  const suffix = r.get("suffix") as Uint8Array | undefined;
  if (
    suffix &&
    (suffix.length > value.length || !bytesEqual(value.subarray(value.length - suffix.length), suffix))
  )
    fail("suffix", "must end with the suffix");
  const contains = r.get("contains") as Uint8Array | undefined;
  if (contains && !bytesContain(value, contains)) fail("contains", "must contain the given bytes");
  const inList = r.get("in") as Uint8Array[] | undefined;
  const notIn = r.get("not_in") as Uint8Array[] | undefined;
  if (inList) {
    if (!inList.some((b) => bytesEqual(b, value)))
      fail("in", `must be one of ${inList.length} listed values`);
  } else if (notIn?.some((b) => bytesEqual(b, value))) {
    fail("not_in", "must not be one of the listed values");
  }
  // Go's net.IP(bytes): 4 or 16 bytes; IPv4 also as IPv4-mapped IPv6.
  if (r.get("ip") === true && value.length !== 4 && value.length !== 16)
    fail("ip", "must be an IP address (4 or 16)");
  if (r.get("ipv4") === true && !isIpv4Bytes(value)) fail("ipv4", "must be an IPv4 address");
  if (r.get("ipv6") === true && (value.length !== 16 || isIpv4Bytes(value)))
    fail("ipv6", "must be an IPv6 address");
  if (rules.pattern && !rules.pattern.test(new TextDecoder().decode(value)))
    fail("pattern", `must match the RE2 pattern ${show(r.get("pattern"))}`);
}

function checkEnum(rules: CompiledRules, desc: DescEnum | undefined, value: number, sink: RuleSink): void {
  const r = rules.typed;
  if (r.has("const") && value !== r.get("const"))
    sink.violation("enum.const", `must be ${String(r.get("const"))}, got ${value}`);
  checkInList("enum", r, value, String, sink);
  if (r.get("defined_only") === true && desc && desc.value[value] === undefined)
    sink.violation("enum.defined_only", `must be a value defined in ${desc.typeName}, got ${value}`);
}

export function checkDuration(rules: CompiledRules, value: Duration, sink: RuleSink): void {
  const nanos = durationNanos(value);
  if (nanos === undefined) {
    sink.violation("duration.valid", `must be a valid Duration, got ${value.seconds}s ${value.nanos}ns`);
    return;
  }
  const bounds = new Map([...rules.typed].map(([k, v]) => [k, toNanos(v, durationNanos)]));
  checkRange("duration", bounds, nanos, showDuration, sink);
}

export function checkTimestamp(
  rules: CompiledRules,
  value: Timestamp,
  now: Date | undefined,
  sink: RuleSink,
): void {
  const nanos = timestampNanos(value);
  if (nanos === undefined) {
    sink.violation("timestamp.valid", `must be a valid Timestamp, got ${value.seconds}s ${value.nanos}ns`);
    return;
  }
  const r = rules.typed;
  const bounds = new Map([...r].map(([k, v]) => [k, toNanos(v, timestampNanos)]));
  checkRange("timestamp", bounds, nanos, showTimestamp, sink);
  const relative = ["lt_now", "gt_now", "within"].filter((k) => r.has(k));
  if (relative.length === 0) return;
  if (!now) {
    sink.note(`timestamp.${relative[0]}`, "needs the current time: pass `now` in the options");
    return;
  }
  const nowNanos = BigInt(now.getTime()) * 1_000_000n;
  const within = r.has("within") ? durationNanos(r.get("within") as Duration) : undefined;
  const shown = showTimestamp(nanos);
  if (r.get("lt_now") === true && (nanos >= nowNanos || (within !== undefined && nanos < nowNanos - within)))
    sink.violation(
      "timestamp.lt_now",
      `must be before now${within ? ` and within ${showDuration(within)}` : ""}, got ${shown}`,
    );
  else if (
    r.get("gt_now") === true &&
    (nanos <= nowNanos || (within !== undefined && nanos > nowNanos + within))
  )
    sink.violation(
      "timestamp.gt_now",
      `must be after now${within ? ` and within ${showDuration(within)}` : ""}, got ${shown}`,
    );
  else if (!r.has("lt_now") && !r.has("gt_now") && within !== undefined)
    if (nanos >= nowNanos + within || nanos <= nowNanos - within)
      sink.violation("timestamp.within", `must be within ${showDuration(within)} of now, got ${shown}`);
}

function toNanos(value: unknown, convert: (m: never) => bigint | undefined): unknown {
  if (Array.isArray(value)) return value.map((v) => toNanos(v, convert));
  return typeof value === "object" && value !== null && "seconds" in value ? convert(value as never) : value;
}

export function checkAnyType(rules: CompiledRules, value: Any, sink: RuleSink): void {
  checkInList("any", rules.typed, value.typeUrl, show, sink);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…"` : text;
}

function countCodePoints(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

function utf8Length(value: string): number {
  let bytes = 0;
  for (const char of value) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function bytesContain(haystack: Uint8Array, needle: Uint8Array): boolean {
  for (let i = 0; i + needle.length <= haystack.length; i++)
    if (bytesEqual(haystack.subarray(i, i + needle.length), needle)) return true;
  return false;
}
