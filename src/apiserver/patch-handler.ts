// PATCH (main resource and /status): the patch itself is computed by the patch module (json patch,
// merge patch, strategic merge patch, server-side apply); this handler checks the options, binds
// the result to the URL, validates it and stores it guarded by the resourceVersion it was computed
// from, retrying on a concurrent write as upstream's patcher does (handlers/patch.go). Server-side
// apply on a missing object creates it (201).
import { checkObjectLimits, type Decoded } from "../limits/index.ts";
import type { KubeObject } from "../store/index.ts";
import { applyDefaults, bindToTarget, validate } from "./admission.ts";
import { decodeBody, mediaType, unsupportedMediaType } from "./body.ts";
import {
  fieldManagerOf,
  isDryRun,
  present,
  type ApiContext,
  type ApiRequest,
  type Reply,
} from "./context.ts";
import { parseFieldValidation, pruneUnknownFields, reportFieldProblems } from "./fields.ts";
import { patchErrorToApi, type PatchEngine } from "./patch-engine.ts";
import { objectReply } from "./read.ts";
import { patchMediaTypes, storeType, type PatchKind, type ResourceDef } from "./resources.ts";
import { ApiError, invalidNamed, methodNotAllowed, type StatusCause } from "./status.ts";
import { admitUpdate, getIfExists, storeCall, storeCreate, storeStatus, storeUpdate } from "./write.ts";

/** Upstream retries a patch that lost a race this many times (patcher maxRetryAfterConflicts-ish). */
const maxAttempts = 5;

export function patchKindOf(def: ResourceDef, contentType: string | undefined): PatchKind {
  const type = mediaType(contentType);
  const kind = (Object.keys(patchMediaTypes) as PatchKind[]).find((k) => patchMediaTypes[k] === type);
  if (kind === undefined || !def.patchKinds.includes(kind)) {
    throw unsupportedMediaType(def.patchKinds.map((k) => patchMediaTypes[k]));
  }
  return kind;
}

interface PatchOptions {
  readonly kind: PatchKind;
  readonly fieldManager: string;
  readonly force: boolean;
}

/** ValidatePatchOptions: fieldManager is required for apply, force only allowed with it. */
function parsePatchOptions(def: ResourceDef, req: ApiRequest): PatchOptions {
  const kind = patchKindOf(def, req.contentType);
  const fieldManager = req.query.get("fieldManager") ?? "";
  const forceText = req.query.get("force");
  const causes: StatusCause[] = [];
  if (kind === "apply" && fieldManager === "") {
    causes.push({
      reason: "FieldValueRequired",
      field: "fieldManager",
      message: "Required value: is required for apply patch",
    });
  }
  if (kind !== "apply" && forceText !== null) {
    causes.push({
      reason: "FieldValueForbidden",
      field: "force",
      message: "Forbidden: may not be specified for non-apply patch",
    });
  }
  if (fieldManager.length > 128) {
    causes.push({
      reason: "FieldValueTooLong",
      field: "fieldManager",
      message: "Too long: may not be more than 128 bytes",
    });
  }
  if (causes.length > 0)
    throw invalidNamed("PatchOptions.meta.k8s.io", "meta.k8s.io", "PatchOptions", "", causes);
  return { kind, fieldManager: fieldManagerOf(req), force: forceText === "true" };
}

function runPatch(engine: PatchEngine, input: Parameters<PatchEngine["patch"]>[0]): KubeObject {
  try {
    return engine.patch(input);
  } catch (error) {
    throw patchErrorToApi(error);
  }
}

export async function patchObject(ctx: ApiContext, req: ApiRequest): Promise<Reply> {
  const { def, version, namespace, name = "", subresource } = req.target;
  if (!def.verbs.includes("patch")) throw methodNotAllowed("PATCH", def.plural);
  const options = parsePatchOptions(def, req);
  const fieldValidation = parseFieldValidation(req.query.get("fieldValidation"));
  const dryRun = isDryRun(req.query);
  // Decoded once the object is known to exist, so a patch of a missing object is a 404 (upstream).
  let decoded: Decoded | undefined;
  const mainTarget = { ...req.target, subresource: undefined };

  for (let attempt = 1; ; attempt++) {
    const current = await getIfExists(ctx, def, namespace, name);
    if (current === undefined && (options.kind !== "apply" || subresource !== undefined)) {
      await storeCall(def, () => ctx.store.get(storeType(def), { namespace, name }));
    }
    decoded ??= decodeBody(req.bodyBytes, req.contentType, ctx.limits, "patch");
    const { value: body, duplicateKeys } = decoded;
    const unknown: string[] = [];
    const input = {
      type: options.kind,
      def,
      patch: body,
      limits: ctx.limits,
      admit: (object: KubeObject) => {
        const pruned = pruneUnknownFields(def.schema, object);
        unknown.push(...pruned.unknown);
        return pruned.value;
      },
      fieldManager: options.fieldManager,
      force: options.force,
      subresource,
      now: ctx.clock.now(),
    };
    /** The engine's result within the object limits, its field problems reported once. */
    const patch = (live: KubeObject | undefined): KubeObject => {
      const patched = runPatch(ctx.patcher, { ...input, current: live });
      checkObjectLimits(patched, ctx.limits, "the patched object");
      const warnings: string[] = [];
      reportFieldProblems({ duplicates: duplicateKeys, unknown }, fieldValidation, warnings);
      req.warnings.splice(0, req.warnings.length, ...warnings);
      return patched;
    };
    if (current === undefined) {
      const object = applyDefaults(def, bindToTarget(patch(undefined), mainTarget));
      try {
        const created = await storeCreate(ctx, def, validate(def, object), dryRun);
        return objectReply(ctx, req, present(def, version, created), 201);
      } catch (error) {
        // Someone created it meanwhile: apply again, now as an update.
        if (error instanceof ApiError && error.reason === "AlreadyExists" && attempt < maxAttempts) continue;
        throw error;
      }
    }
    const object = bindToTarget(patch(present(def, version, current)), mainTarget);
    const currentRv = current.metadata.resourceVersion;
    // A patch that names another resourceVersion asks for that precondition: let the store refuse it.
    const pinned =
      object.metadata.resourceVersion !== undefined && object.metadata.resourceVersion !== currentRv;
    if (!pinned) object.metadata.resourceVersion = currentRv;
    try {
      const updated =
        subresource === "status"
          ? await storeStatus(ctx, def, current, object, dryRun)
          : await storeUpdate(ctx, def, current, admitUpdate(def, current, object), dryRun);
      return objectReply(ctx, req, present(def, version, updated));
    } catch (error) {
      const lostRace = error instanceof ApiError && error.reason === "Conflict" && !pinned;
      if (lostRace && attempt < maxAttempts) continue;
      throw error;
    }
  }
}
