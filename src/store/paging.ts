// List pagination: the continue token names the list's resourceVersion and the last key returned,
// like the apiserver's (storage/continue.go), so every page is read as of the first page's revision.
import { badRequest } from "./errors.ts";

export interface ContinueToken {
  /** The resourceVersion the whole list is read at. */
  readonly rv: number;
  /** The key of the last item returned; the next page starts after it. */
  readonly start: string;
}

export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 1, rv: token.rv, start: token.start })).toString("base64url");
}

export function decodeContinue(value: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as unknown;
    if (typeof parsed === "object" && parsed !== null) {
      const { v, rv, start } = parsed as Record<string, unknown>;
      if (v === 1 && Number.isSafeInteger(rv) && (rv as number) > 0 && typeof start === "string") {
        return { rv: rv as number, start };
      }
    }
  } catch {
    // reported below
  }
  throw badRequest("continue key is not valid: not a token returned by this store");
}

export function checkLimit(limit: number | undefined): number | undefined {
  if (limit === undefined || limit === 0) return undefined;
  if (!Number.isSafeInteger(limit) || limit < 0) throw badRequest(`invalid limit ${String(limit)}`);
  return limit;
}

/** The smallest key greater than `key`: where the next page starts. */
export function after(key: string): string {
  return `${key}\u0000`;
}

/**
 * Collects up to `limit` matching items from `items` (ascending by key) and tells whether another
 * matching item follows: then the token continues after the last item returned.
 */
export function takePage<T>(
  items: Iterable<{ key: string; value: T }>,
  matches: (value: T) => boolean,
  limit: number | undefined,
): { values: T[]; lastKey?: string; more: boolean } {
  const values: T[] = [];
  let lastKey: string | undefined;
  for (const item of items) {
    if (!matches(item.value)) continue;
    if (limit !== undefined && values.length === limit) return { values, lastKey, more: true };
    values.push(item.value);
    lastKey = item.key;
  }
  return { values, lastKey, more: false };
}
