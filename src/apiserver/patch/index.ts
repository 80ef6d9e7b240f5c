// Pure PATCH logic for the Kubernetes-compatible API server (spec-notes §1.8): JSON patch (RFC 6902),
// merge patch (RFC 7396), strategic merge patch for built-in kinds, and server-side apply with field
// managers in `metadata.managedFields`. No I/O, no clock: the caller passes the operation time.
//
// Typical use by the PATCH handler:
//   const type = patchTypeOf(req.headers["content-type"]);     // undefined → 415
//   if (!type || !supportedPatchTypes(kind).includes(type)) throw unsupportedMediaType(supportedPatchTypes(kind));
//   const body = checkPatchBody(type, decodedBody);              // decoded within the object limits
//   if (type === patchTypes.apply) {
//     const { object, conflicts } = serverSideApply({ current, applied: body, manager, force, operationTime: new Date() });
//     if (conflicts.length) throw applyConflictError(conflicts);    // 409
//   } else {
//     let object = applyPatch(type, current, body, limits);
//     if (manager) object = recordUpdate(manager, current, object, { operationTime: new Date() });
//   }
// Errors are PatchError: `reason` BadRequest 400 | Conflict 409 | UnsupportedMediaType 415 |
// Invalid 422, `code`, `causes`, and `operation`/`path` for JSON patch; `toStatus()` gives the
// Status body. A JSON patch over its limits (operations, size) throws LimitExceededError.
//
// Deviations from upstream, on purpose: `$patch: delete` on a map removes the key (upstream leaves
// `{}`); `$patch: merge` is accepted as a no-op on maps and list items (upstream rejects it);
// Service ports merge by port and, when both sides set it, protocol (upstream SMP: port only);
// malformed SMP directives and missing merge keys are 400 (upstream: 500 for some); JSON patch
// failures carry the real reason (upstream: a generic 422 message); the apply body is YAML 1.2
// (upstream YAML 1.1, where `yes` is a boolean).
// Also unlike upstream: the first server-side apply to an object last written by client-side apply
// reports conflicts that upstream forgives (lastappliedmanager.go); and schemas come from the
// list/map table in kinds.ts, not from OpenAPI, so maps of objects other than those listed are
// treated as structs.
export {
  PatchError,
  isPatchError,
  badRequest,
  invalid,
  unsupportedMediaType,
  applyConflictError,
  describeManager,
  type PatchErrorReason,
  type PatchErrorDetails,
  type PatchErrorStatus,
  type PatchCause,
  type ApplyConflict,
} from "./errors.ts";
export {
  patchTypes,
  patchTypeOf,
  supportedPatchTypes,
  isBuiltinKind,
  fieldRules,
  groupOf,
  type PatchType,
  type GroupKind,
  type ListRule,
  type FieldRules,
} from "./kinds.ts";
export { checkPatchBody, applyPatch } from "./patch.ts";
export {
  applyJsonPatch,
  decodeJsonPatch,
  type JsonPatchLimits,
  type JsonPatchOperation,
  type JsonPatchOp,
} from "./json-patch.ts";
export { applyMergePatch } from "./merge-patch.ts";
export { applyStrategicMergePatch, strategicMerge } from "./strategic.ts";
export {
  serverSideApply,
  recordUpdate,
  formatTime,
  lastAppliedAnnotation,
  type ApplyOptions,
  type ApplyResult,
  type UpdateOptions,
} from "./apply.ts";
export { maxUpdateManagers, type ManagedFieldsEntry, type ManagedFieldsOperation } from "./managed-fields.ts";
export { FieldSet, formatPath, type FieldPath, type PathElement } from "./fieldset.ts";
export type { JsonValue, JsonObject } from "./json.ts";
