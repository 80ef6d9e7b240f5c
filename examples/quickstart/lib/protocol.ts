// The line protocol of xds-client.ts: one JSON command per stdin line, one JSON result per
// stdout line, matched by `id`. Kept apart from the client so tests and the demo share the types
// and the parser is testable without a control plane.
import { isGreeterMethod, type GreeterMethod } from "./greeter-proto.ts";

export interface CallCommand {
  id: number;
  /** Any grpc-js target: `xds:///greeter:50051`, or `dns:///127.0.0.1:20061` to bypass xDS. */
  target: string;
  calls: number;
  method: GreeterMethod;
  metadata: Record<string, string>;
  deadlineMs: number;
  concurrency: number;
  /** Sent as HelloRequest.name. */
  name: string;
  /** Queue calls while the channel has no config/connection instead of failing fast. */
  waitForReady: boolean;
}

/** What a caller writes; everything but `id` and `target` has a default. */
export type CallCommandInput = Pick<CallCommand, "target"> & Partial<Omit<CallCommand, "target">>;

export interface CallResult {
  id: number;
  target: string;
  method: GreeterMethod;
  /** Successful calls. */
  ok: number;
  /** Successful calls per `HelloReply.backend`. */
  counts: Record<string, number>;
  /** Failed calls per gRPC status name (`UNAVAILABLE`, `DEADLINE_EXCEEDED`...). */
  errors: Record<string, number>;
  /** The first few distinct failures, `CODE: details`. */
  errorSamples: string[];
  elapsedMs: number;
}

/** A command that could not be run (bad JSON, bad field); `id` is null when it was unreadable. */
export interface CommandError {
  id: number | null;
  error: string;
}

export type ClientOutput = CallResult | CommandError;

export function isCommandError(output: ClientOutput): output is CommandError {
  return "error" in output;
}

export const limits = {
  maxCalls: 100_000,
  maxConcurrency: 1_000,
  maxDeadlineMs: 120_000,
  maxErrorSamples: 3,
} as const;

export const defaults = {
  calls: 1,
  method: "SayHello",
  deadlineMs: 5_000,
  concurrency: 10,
  name: "meshplane",
  waitForReady: false,
} as const;

export type ParseResult = { ok: true; command: CallCommand } | { ok: false; error: CommandError };

const knownFields = new Set([
  "id",
  "target",
  "calls",
  "method",
  "metadata",
  "deadlineMs",
  "concurrency",
  "name",
  "waitForReady",
]);

/** Parses and validates one stdin line; every problem is named, none is silently defaulted. */
export function parseCommand(line: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (error) {
    return fail(null, `not JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return fail(null, "expected a JSON object");
  const input = raw as Record<string, unknown>;
  const id = input.id;
  if (typeof id !== "number" || !Number.isSafeInteger(id)) return fail(null, "id must be an integer");

  const problems: string[] = [];
  for (const key of Object.keys(input)) if (!knownFields.has(key)) problems.push(`unknown field ${key}`);
  const target = input.target;
  if (typeof target !== "string" || target.length === 0) problems.push("target must be a non-empty string");
  const calls = integer(input.calls, defaults.calls, 1, limits.maxCalls, "calls", problems);
  const concurrency = integer(
    input.concurrency,
    defaults.concurrency,
    1,
    limits.maxConcurrency,
    "concurrency",
    problems,
  );
  const deadlineMs = integer(
    input.deadlineMs,
    defaults.deadlineMs,
    1,
    limits.maxDeadlineMs,
    "deadlineMs",
    problems,
  );
  const method = input.method ?? defaults.method;
  if (!isGreeterMethod(method)) problems.push("method must be SayHello or SayGoodbye");
  const name = input.name ?? defaults.name;
  if (typeof name !== "string") problems.push("name must be a string");
  const waitForReady = input.waitForReady ?? defaults.waitForReady;
  if (typeof waitForReady !== "boolean") problems.push("waitForReady must be a boolean");
  const metadata = input.metadata ?? {};
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    problems.push("metadata must be an object of string values");
  } else {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") problems.push(`metadata.${key} must be a string`);
      // gRPC metadata keys: lower-case token characters; -bin keys carry binary, not text.
      if (!/^[0-9a-z_.-]+$/.test(key) || key.endsWith("-bin")) {
        problems.push(
          `metadata key ${JSON.stringify(key)} must be lower-case [0-9a-z_.-] and not end in -bin`,
        );
      }
    }
  }
  if (problems.length > 0) return fail(id, problems.join("; "));
  return {
    ok: true,
    command: {
      id,
      target: target as string,
      calls,
      concurrency: Math.min(concurrency, calls),
      deadlineMs,
      method: method as GreeterMethod,
      name: name as string,
      waitForReady: waitForReady as boolean,
      metadata: metadata as Record<string, string>,
    },
  };
}

function integer(
  value: unknown,
  fallback: number,
  min: number,
  max: number,
  field: string,
  problems: string[],
) {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${field} must be an integer in [${min}, ${max}]`);
    return fallback;
  }
  return value;
}

function fail(id: number | null, error: string): ParseResult {
  return { ok: false, error: { id, error } };
}

/** Share of each backend in percent of all calls (failures count against every backend). */
export function shares(result: Pick<CallResult, "counts" | "errors" | "ok">): Record<string, number> {
  const failed = Object.values(result.errors).reduce((sum, n) => sum + n, 0);
  const total = result.ok + failed;
  const out: Record<string, number> = {};
  for (const [backend, count] of Object.entries(result.counts))
    out[backend] = total === 0 ? 0 : (100 * count) / total;
  return out;
}
