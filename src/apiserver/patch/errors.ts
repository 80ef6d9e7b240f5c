// Typed patch errors. Each carries the Status `reason` and HTTP `code` the API server answers with;
// messages follow the Kubernetes wording where one exists (apiserver
// pkg/endpoints/handlers/patch.go, negotiation/errors.go, apimachinery managedfields conflict.go).
import { excerpt } from "../../limits/index.ts";

export type PatchErrorReason = "BadRequest" | "UnsupportedMediaType" | "Conflict" | "Invalid";

const codes: Record<PatchErrorReason, number> = {
  BadRequest: 400,
  Conflict: 409,
  UnsupportedMediaType: 415,
  Invalid: 422,
};

/** A Status cause (`details.causes[]`). */
export interface PatchCause {
  /** `FieldManagerConflict` for apply conflicts, `FieldValueInvalid` otherwise. */
  readonly type: string;
  readonly message: string;
  /** Apply conflicts: the field path as the Kubernetes API prints it (`.spec.ports[port=80,protocol="TCP"].targetPort`). */
  readonly field?: string;
}

export interface PatchErrorDetails {
  readonly causes?: readonly PatchCause[];
  /** JSON patch: index of the failing operation in the patch array. */
  readonly operation?: number;
  /** JSON patch: the JSON pointer of the failing operation; merge patches: the field path. */
  readonly path?: string;
}

/** The `Status` object a Kubernetes API server answers an error with (spec-notes §1.6). */
export interface PatchErrorStatus {
  readonly kind: "Status";
  readonly apiVersion: "v1";
  readonly metadata: Record<string, never>;
  readonly status: "Failure";
  readonly message: string;
  readonly reason: PatchErrorReason;
  readonly details?: { readonly causes: readonly PatchCause[] };
  readonly code: number;
}

export class PatchError extends Error {
  readonly reason: PatchErrorReason;
  /** The HTTP status: 400, 409, 415 or 422. */
  readonly code: number;
  readonly causes: readonly PatchCause[] | undefined;
  readonly operation: number | undefined;
  readonly path: string | undefined;

  constructor(reason: PatchErrorReason, message: string, details: PatchErrorDetails = {}) {
    super(message);
    this.name = "PatchError";
    this.reason = reason;
    this.code = codes[reason];
    this.causes = details.causes;
    this.operation = details.operation;
    this.path = details.path;
  }

  toStatus(): PatchErrorStatus {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.causes ? { details: { causes: this.causes } } : {}),
      code: this.code,
    };
  }
}

export function isPatchError(error: unknown, reason?: PatchErrorReason): error is PatchError {
  return error instanceof PatchError && (reason === undefined || error.reason === reason);
}

export function badRequest(message: string, details?: PatchErrorDetails): PatchError {
  return new PatchError("BadRequest", message, details);
}

export function invalid(message: string, details?: PatchErrorDetails): PatchError {
  return new PatchError("Invalid", message, details);
}

/** 415 with the upstream wording (`negotiation.NewUnsupportedMediaTypeError`). */
export function unsupportedMediaType(accepted: readonly string[]): PatchError {
  return new PatchError(
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
  );
}

/** One field another manager owns and an apply would change. */
export interface ApplyConflict {
  /** The field as the Kubernetes API prints it: `.spec.ports[port=80,protocol="TCP"].targetPort`. */
  readonly field: string;
  /** The other manager's name (`fieldManager`). */
  readonly manager: string;
  readonly operation: "Apply" | "Update";
  readonly apiVersion: string;
  readonly subresource?: string;
  /** When the other manager last changed the object (RFC 3339), if recorded. */
  readonly time?: string;
}

/** `"name"`, `"name" using v1 at <time>` for updaters (managedfields `printManager`). */
export function describeManager(conflict: ApplyConflict): string {
  let text = JSON.stringify(conflict.manager);
  if (conflict.subresource) text += ` with subresource ${JSON.stringify(conflict.subresource)}`;
  if (conflict.operation === "Update") {
    text += ` using ${conflict.apiVersion}`;
    if (conflict.time) text += ` at ${conflict.time}`;
  }
  return text;
}

/** Conflicts listed in a 409 (upstream lists all; these are echoed fields of the request). */
const maxConflictsShown = 100;

/**
 * 409 Conflict for a server-side apply, worded as upstream `NewConflictError`: one cause of type
 * `FieldManagerConflict` per field, message `Apply failed with N conflicts: ...`.
 */
export function applyConflictError(conflicts: readonly ApplyConflict[]): PatchError {
  // Field paths carry the object's keys: each is echoed as an excerpt, and only so many of them.
  const shown = conflicts.slice(0, maxConflictsShown).map((c) => ({ ...c, field: excerpt(c.field) }));
  const causes = shown.map((c) => ({
    type: "FieldManagerConflict",
    message: `conflict with ${describeManager(c)}`,
    field: c.field,
  }));
  let message: string;
  if (conflicts.length === 1) {
    const [only] = shown as [ApplyConflict];
    message = `Apply failed with 1 conflict: conflict with ${describeManager(only)}: ${only.field}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of shown) {
      const who = describeManager(c);
      byManager.set(who, [...(byManager.get(who) ?? []), c.field]);
    }
    const lines = [...byManager.keys()]
      .sort()
      .flatMap((who) => [`conflicts with ${who}:`, ...(byManager.get(who) ?? []).map((f) => `- ${f}`)]);
    if (conflicts.length > shown.length) lines.push(`and ${conflicts.length - shown.length} more`);
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
  }
  return new PatchError("Conflict", message, { causes });
}
