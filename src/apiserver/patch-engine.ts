// The seam between the PATCH handler and the patch module (src/apiserver/patch/): the handler
// needs one function that turns (current object, patch body, options) into the patched object, and
// the module's typed errors as Status errors.
import type { KubeObject } from "../store/index.ts";
import {
  applyConflictError,
  applyPatch,
  checkPatchBody,
  isPatchError,
  recordUpdate,
  serverSideApply,
  type JsonPatchLimits,
  type JsonValue,
} from "./patch/index.ts";
import { patchMediaTypes, type PatchKind, type ResourceDef } from "./resources.ts";
import { ApiError, type CauseType, type StatusReason } from "./status.ts";

export interface PatchInput {
  readonly type: PatchKind;
  readonly def: ResourceDef;
  /** The live object in the version the client addressed; undefined only for apply on a missing object. */
  readonly current: KubeObject | undefined;
  /** The request body, decoded within the object limits. */
  readonly patch: unknown;
  /** The JSON patch's bounds: operations, and how large the object may grow. */
  readonly limits: JsonPatchLimits;
  /**
   * Drops the fields the kind does not declare (reporting them as fieldValidation says): from the
   * applied configuration for apply, from the patched object otherwise, before managedFields
   * record them.
   */
  readonly admit: (object: KubeObject) => KubeObject;
  readonly fieldManager: string;
  /** Server-side apply: take over conflicting fields. */
  readonly force: boolean;
  readonly subresource: "status" | undefined;
  /** Milliseconds since the epoch, for managedFields timestamps. */
  readonly now: number;
}

export interface UpdateInput {
  readonly fieldManager: string;
  /** The stored object before the write; undefined for a create. */
  readonly before: KubeObject | undefined;
  readonly after: KubeObject;
  readonly subresource: "status" | undefined;
  readonly now: number;
}

export interface PatchEngine {
  /** The patched object (with managedFields when the engine tracks them). Throws the module's errors. */
  patch(input: PatchInput): KubeObject;
  /** `after` with managedFields recording an ordinary write (create, update) by `fieldManager`. */
  recordUpdate(input: UpdateInput): KubeObject;
}

/** The patch module's PatchError (code, reason, causes) as an ApiError; anything else passes through. */
export function patchErrorToApi(error: unknown): unknown {
  if (!isPatchError(error)) return error;
  const causes = error.causes?.map((c) => ({
    reason: c.type as CauseType,
    message: c.message,
    ...(c.field === undefined ? {} : { field: c.field }),
  }));
  return new ApiError(
    error.code,
    error.reason as StatusReason,
    error.message,
    causes ? { causes } : {},
    error,
  );
}

/** The engine over the patch module (src/apiserver/patch). */
export function createPatchEngine(): PatchEngine {
  return {
    patch(input) {
      const type = patchMediaTypes[input.type];
      const body: JsonValue = checkPatchBody(type, input.patch);
      const operationTime = new Date(input.now);
      if (input.type === "apply") {
        const result = serverSideApply({
          current: input.current,
          applied: input.admit(body as unknown as KubeObject),
          manager: input.fieldManager,
          force: input.force,
          operationTime,
          subresource: input.subresource,
        });
        if (result.conflicts.length > 0) throw applyConflictError(result.conflicts);
        return result.object;
      }
      const current = input.current as KubeObject;
      const patched = input.admit(applyPatch(type, current, body, input.limits));
      return recordUpdate(input.fieldManager, current, patched, {
        operationTime,
        subresource: input.subresource,
      });
    },
    recordUpdate(input) {
      return recordUpdate(input.fieldManager, input.before, input.after, {
        operationTime: new Date(input.now),
        subresource: input.subresource,
      });
    },
  };
}
