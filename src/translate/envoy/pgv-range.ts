// PGV's ordered rules (const, lt, lte, gt, gte, in, not_in) shared by numbers, durations and
// timestamps (the last two compared as bigint nanoseconds). Ranges follow templates/goshared/ltgt.go:
// with both bounds, lower < upper means "inside", otherwise "outside" (an excluded window).
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";

type Ordered = number | bigint;

/** Where a check sends what it finds: broken rules, and rules it could not evaluate. */
export interface RuleSink {
  violation(rule: string, message: string): void;
  note(rule: string, message: string): void;
}

/** PGV evaluates `in` and, only without it, `not_in`. */
export function checkInList<T>(
  type: string,
  r: ReadonlyMap<string, unknown>,
  value: T,
  format: (v: T) => string,
  sink: RuleSink,
): void {
  const inList = r.get("in") as T[] | undefined;
  const notIn = r.get("not_in") as T[] | undefined;
  if (inList) {
    if (!inList.includes(value))
      sink.violation(`${type}.in`, `must be one of [${inList.map(format).join(", ")}], got ${format(value)}`);
  } else if (notIn?.includes(value)) {
    sink.violation(
      `${type}.not_in`,
      `must not be one of [${notIn.map(format).join(", ")}], got ${format(value)}`,
    );
  }
}

/**
 * A value that misses an inside range is reported under the bound it crossed (`uint32.lte`); one
 * inside an excluded window under PGV's own name for it (`uint32.outside_closed`).
 */
export function checkRange<T extends Ordered>(
  type: string,
  rules: ReadonlyMap<string, unknown>,
  value: T,
  format: (v: T) => string,
  sink: RuleSink,
): void {
  const get = (name: string) => rules.get(name) as T | undefined;
  const shown = format(value);
  const constant = get("const");
  if (constant !== undefined && value !== constant)
    sink.violation(`${type}.const`, `must equal ${format(constant)}, got ${shown}`);
  const upper = bound("lt") ?? bound("lte");
  const lower = bound("gt") ?? bound("gte");
  // Written as PGV's failure conditions, so NaN breaks no bound (as in PGV).
  const breaksUpper = (b: Bound<T>) => (b.name === "lt" ? value >= b.bound : value > b.bound);
  const breaksLower = (b: Bound<T>) => (b.name === "gt" ? value <= b.bound : value < b.bound);
  const describe = (b: Bound<T>) =>
    `${{ lt: "less than", lte: "at most", gt: "greater than", gte: "at least" }[b.name]} ${format(b.bound)}`;
  if (upper && lower && upper.bound <= lower.bound) {
    // An excluded window: valid values lie below `upper` or above `lower`.
    if (breaksUpper(upper) && breaksLower(lower)) {
      const shape = (upper.name === "lt" ? "[" : "(") + (lower.name === "gt" ? "]" : ")");
      const name = { "[]": "closed", "[)": "include_left", "(]": "include_right", "()": "open" }[shape];
      sink.violation(
        `${type}.outside_${name}`,
        `must be ${describe(upper)} or ${describe(lower)}, got ${shown}`,
      );
    }
  } else {
    if (upper && breaksUpper(upper))
      sink.violation(`${type}.${upper.name}`, `must be ${describe(upper)}, got ${shown}`);
    if (lower && breaksLower(lower))
      sink.violation(`${type}.${lower.name}`, `must be ${describe(lower)}, got ${shown}`);
  }
  checkInList(type, rules, value, format, sink);

  function bound(name: Bound<T>["name"]): Bound<T> | undefined {
    const limit = get(name);
    return limit === undefined ? undefined : { name, bound: limit };
  }
}

interface Bound<T> {
  readonly name: "lt" | "lte" | "gt" | "gte";
  readonly bound: T;
}

const maxDurationSeconds = 315_576_000_000n;

/** Nanoseconds, or undefined when the Duration breaks its own documented range and sign rules. */
export function durationNanos(d: Duration): bigint | undefined {
  if (d.seconds > maxDurationSeconds || d.seconds < -maxDurationSeconds) return undefined;
  if (d.nanos <= -1_000_000_000 || d.nanos >= 1_000_000_000) return undefined;
  if ((d.seconds > 0n && d.nanos < 0) || (d.seconds < 0n && d.nanos > 0)) return undefined;
  return d.seconds * 1_000_000_000n + BigInt(d.nanos);
}

/** Nanoseconds since the epoch, or undefined outside 0001-01-01 … 9999-12-31 or with bad nanos. */
export function timestampNanos(t: Timestamp): bigint | undefined {
  if (t.seconds < -62_135_596_800n || t.seconds > 253_402_300_799n) return undefined;
  if (t.nanos < 0 || t.nanos >= 1_000_000_000) return undefined;
  return t.seconds * 1_000_000_000n + BigInt(t.nanos);
}

/** Protobuf JSON form: "1.5s", "-0.000000001s". */
export function showDuration(nanos: bigint): string {
  const sign = nanos < 0n ? "-" : "";
  const abs = nanos < 0n ? -nanos : nanos;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return `${sign}${abs / 1_000_000_000n}${fraction ? `.${fraction}` : ""}s`;
}

export function showTimestamp(nanos: bigint): string {
  const ms = nanos / 1_000_000n - (nanos < 0n && nanos % 1_000_000n !== 0n ? 1n : 0n);
  return new Date(Number(ms)).toISOString();
}
