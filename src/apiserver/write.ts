// POST, PUT (main resource and /status) and DELETE (one object and collections). Each write is
// bound to the URL, defaulted and validated (admission.ts), then stored, or with dryRun=All only
// computed (dryrun.ts). Semantics: spec-notes §1.7.
import type { DeleteOptions, KubeObject, ResourceType } from "../store/index.ts";
import { isStoreError } from "../store/index.ts";
import { checkObjectLimits } from "../limits/index.ts";
import { applyDefaults, bindToTarget, generateName, validate } from "./admission.ts";
import { decodeBody } from "./body.ts";
import {
  fieldManagerOf,
  isDryRun,
  present,
  shownValue,
  type ApiContext,
  type ApiRequest,
  type Reply,
} from "./context.ts";
import { simulateCreate, simulateDelete, simulateUpdate } from "./dryrun.ts";
import { deleteNamespaceContents, protectedNamespaces, requireNamespace } from "./namespaces.ts";
import {
  parseFieldValidation,
  pruneUnknownFields,
  reportFieldProblems,
  type FieldValidation,
} from "./fields.ts";
import { objectReply } from "./read.ts";
import { apiVersionOf, storeType, type ResourceDef } from "./resources.ts";
import { ClusterIpError, keepAllocatedValues } from "./service.ts";
import { ApiError, badRequest, fromStoreError, invalid, methodNotAllowed, successStatus } from "./status.ts";

/** Runs a store call, turning StoreErrors (and allocation failures of `name`) into API errors of `def`. */
export async function storeCall<T>(def: ResourceDef, call: () => Promise<T>, name = ""): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isStoreError(error)) throw fromStoreError(error, def);
    if (error instanceof ClusterIpError) {
      throw invalid(def, name, [
        {
          reason: "FieldValueInvalid",
          field: "spec.clusterIP",
          message: `Invalid value: ${JSON.stringify(error.ip)}: ${error.message}`,
        },
      ]);
    }
    throw error;
  }
}

/** Stores a new, validated object (allocating a Service's cluster IP); dry runs only compute it. */
export async function storeCreate(
  ctx: ApiContext,
  def: ResourceDef,
  object: KubeObject,
  dryRun: boolean,
): Promise<KubeObject> {
  const type = storeType(def);
  withinLimits(ctx, object);
  const namespace = object.metadata.namespace;
  if (def.namespaced && namespace !== undefined) await requireNamespace(ctx.store, namespace);
  const write = (o: KubeObject) => (dryRun ? simulateCreate(ctx, type, o) : ctx.store.create(type, o));
  return storeCall(
    def,
    () => (def.kind === "Service" ? ctx.allocator.allocate(object, write) : write(object)),
    object.metadata.name,
  );
}

/** Stores a validated update of `current`; dry runs only compute it. */
export function storeUpdate(
  ctx: ApiContext,
  def: ResourceDef,
  current: KubeObject,
  object: KubeObject,
  dryRun: boolean,
): Promise<KubeObject> {
  const type = storeType(def);
  withinLimits(ctx, object);
  return storeCall(def, () =>
    dryRun ? Promise.resolve(simulateUpdate(type, current, object)) : ctx.store.update(type, object),
  );
}

/**
 * What is stored, managedFields included, stays within the object limits (upstream: etcd's
 * request limit). The request body was measured when decoded; its managedFields were not.
 */
function withinLimits(ctx: ApiContext, object: KubeObject): void {
  checkObjectLimits(object, ctx.limits, "the object as stored, with its managedFields");
}

/**
 * The request's object: decoded within the limits, bound to the URL, without the fields its kind
 * does not declare; duplicate and unknown fields reported as `fieldValidation` says.
 */
export function decodeObject(ctx: ApiContext, req: ApiRequest, fieldValidation: FieldValidation): KubeObject {
  const decoded = decodeBody(req.bodyBytes, req.contentType, ctx.limits, "object");
  const bound = bindToTarget(decoded.value, req.target);
  const pruned = pruneUnknownFields(req.target.def.schema, bound);
  reportFieldProblems(
    { duplicates: decoded.duplicateKeys, unknown: pruned.unknown },
    fieldValidation,
    req.warnings,
  );
  return pruned.value;
}

/** Defaults and validates a main-resource update of `current`, keeping allocated values. */
export function admitUpdate(def: ResourceDef, current: KubeObject, object: KubeObject): KubeObject {
  let next = applyDefaults(def, object);
  if (def.kind === "Service") {
    const kept = keepAllocatedValues(current, next);
    if (kept.causes.length > 0) throw invalid(def, next.metadata.name ?? "", kept.causes);
    next = kept.object;
  }
  return validate(def, next);
}

export async function createObject(ctx: ApiContext, req: ApiRequest): Promise<Reply> {
  const { def, namespace } = req.target;
  if (def.namespaced && namespace === undefined)
    throw methodNotAllowed("POST", `the all-namespaces collection of ${def.plural}`);
  if (!def.verbs.includes("create")) throw methodNotAllowed("POST", def.plural);
  const fieldValidation = parseFieldValidation(req.query.get("fieldValidation"));
  const dryRun = isDryRun(req.query);
  let object = decodeObject(ctx, req, fieldValidation);
  object = applyDefaults(def, generateName(object));
  const checked = validate(def, object);
  const tracked = ctx.patcher.recordUpdate({
    fieldManager: fieldManagerOf(req),
    before: undefined,
    after: checked,
    subresource: undefined,
    now: ctx.clock.now(),
  });
  const created = await storeCreate(ctx, def, tracked, dryRun);
  return objectReply(ctx, req, present(def, req.target.version, created), 201);
}

export async function replaceObject(ctx: ApiContext, req: ApiRequest): Promise<Reply> {
  const { def, version, namespace, name = "" } = req.target;
  if (!def.verbs.includes("update")) throw methodNotAllowed("PUT", def.plural);
  const fieldValidation = parseFieldValidation(req.query.get("fieldValidation"));
  const dryRun = isDryRun(req.query);
  const object = decodeObject(ctx, req, fieldValidation);
  const current = await getIfExists(ctx, def, namespace, name);
  if (current === undefined) {
    // Services are created by PUT (AllowCreateOnUpdate); other kinds answer 404.
    if (!def.createOnUpdate) await storeCall(def, () => ctx.store.get(storeType(def), { namespace, name }));
    const checked = validate(def, applyDefaults(def, object));
    const tracked = ctx.patcher.recordUpdate({
      fieldManager: fieldManagerOf(req),
      before: undefined,
      after: checked,
      subresource: undefined,
      now: ctx.clock.now(),
    });
    const created = await storeCreate(ctx, def, tracked, dryRun);
    return objectReply(ctx, req, present(def, version, created), 201);
  }
  const checked = admitUpdate(def, current, object);
  const tracked = ctx.patcher.recordUpdate({
    fieldManager: fieldManagerOf(req),
    before: current,
    after: checked,
    subresource: undefined,
    now: ctx.clock.now(),
  });
  const updated = await storeUpdate(ctx, def, current, tracked, dryRun);
  return objectReply(ctx, req, present(def, version, updated));
}

export async function replaceStatus(ctx: ApiContext, req: ApiRequest): Promise<Reply> {
  const { def, version, namespace, name = "" } = req.target;
  const fieldValidation = parseFieldValidation(req.query.get("fieldValidation"));
  const dryRun = isDryRun(req.query);
  const object = decodeObject(ctx, req, fieldValidation);
  const type = storeType(def);
  const current = await storeCall(def, () => ctx.store.get(type, { namespace, name }));
  const updated = await storeStatus(ctx, def, current, object, dryRun);
  return objectReply(ctx, req, present(def, version, updated));
}

/** Writes `object.status` onto `current` (the status subresource), guarded by object's resourceVersion. */
export async function storeStatus(
  ctx: ApiContext,
  def: ResourceDef,
  current: KubeObject,
  object: KubeObject,
  dryRun: boolean,
): Promise<KubeObject> {
  const { status: _old, ...rest } = current;
  const merged: KubeObject = {
    ...rest,
    ...(object.status === undefined ? {} : { status: object.status }),
    metadata: { ...current.metadata, resourceVersion: object.metadata.resourceVersion ?? "" },
  };
  const checked = validate(def, merged);
  const type = storeType(def);
  withinLimits(ctx, checked);
  return storeCall(def, () =>
    dryRun
      ? Promise.resolve(simulateUpdate(type, current, checked, true))
      : ctx.store.updateStatus(type, checked),
  );
}

export async function getIfExists(
  ctx: ApiContext,
  def: ResourceDef,
  namespace: string | undefined,
  name: string,
): Promise<KubeObject | undefined> {
  try {
    return await ctx.store.get(storeType(def), { namespace, name });
  } catch (error) {
    if (isStoreError(error, "NotFound")) return undefined;
    throw isStoreError(error) ? fromStoreError(error, def) : error;
  }
}

interface ParsedDelete {
  readonly options: DeleteOptions;
  readonly dryRun: boolean;
}

/** DeleteOptions from the body (optional) and query; unknown propagation policies are a 400. */
function parseDelete(ctx: ApiContext, req: ApiRequest): ParsedDelete {
  const body =
    req.bodyBytes.length === 0
      ? {}
      : decodeBody(req.bodyBytes, req.contentType, ctx.limits, "DeleteOptions").value;
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw badRequest("DeleteOptions must be a JSON object");
  const opts = body as { preconditions?: unknown; dryRun?: unknown; propagationPolicy?: unknown };
  const policy = opts.propagationPolicy ?? req.query.get("propagationPolicy") ?? undefined;
  if (policy !== undefined && !["Orphan", "Background", "Foreground"].includes(String(policy))) {
    throw badRequest(
      `propagationPolicy: Unsupported value: ${shownValue(policy)}: supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  const pre = (
    typeof opts.preconditions === "object" && opts.preconditions !== null ? opts.preconditions : {}
  ) as {
    uid?: unknown;
    resourceVersion?: unknown;
  };
  const preconditions = {
    ...(typeof pre.uid === "string" ? { uid: pre.uid } : {}),
    ...(typeof pre.resourceVersion === "string" ? { resourceVersion: pre.resourceVersion } : {}),
  };
  const dryRun = isDryRun(req.query, Array.isArray(opts.dryRun) ? opts.dryRun : []);
  return { options: { preconditions }, dryRun };
}

function deletedStatus(def: ResourceDef, object: KubeObject): Reply {
  return {
    status: 200,
    body: successStatus({
      name: object.metadata.name ?? "",
      group: def.group,
      kind: def.plural,
      uid: object.metadata.uid ?? "",
    }),
  };
}

export async function deleteObject(ctx: ApiContext, req: ApiRequest): Promise<Reply> {
  const { def, version, namespace, name = "" } = req.target;
  if (!def.verbs.includes("delete")) throw methodNotAllowed("DELETE", def.plural);
  const { options, dryRun } = parseDelete(ctx, req);
  if (def.kind === "Namespace" && protectedNamespaces.has(name)) {
    throw new ApiError(
      403,
      "Forbidden",
      `namespaces "${name}" is forbidden: this namespace may not be deleted`,
      { name, kind: "namespaces" },
    );
  }
  const type: ResourceType = storeType(def);
  if (dryRun) {
    const current = await storeCall(def, () => ctx.store.get(type, { namespace, name }));
    const result = simulateDelete(type, current, options, ctx.clock.now());
    return result.deleted
      ? deletedStatus(def, result.object)
      : objectReply(ctx, req, present(def, version, result.object));
  }
  const result = await storeCall(def, () => ctx.store.delete(type, { namespace, name }, options));
  if (def.kind === "Namespace" && result.deleted) {
    const count = await deleteNamespaceContents(ctx.store, name);
    ctx.logger.info({ namespace: name, objects: count }, "namespace deleted with its contents");
  }
  return result.deleted
    ? deletedStatus(def, result.object)
    : objectReply(ctx, req, present(def, version, result.object));
}

export async function deleteCollection(ctx: ApiContext, req: ApiRequest): Promise<Reply> {
  const { def, version, namespace } = req.target;
  if (!def.verbs.includes("deletecollection"))
    throw methodNotAllowed("DELETE", `the collection of ${def.plural}`);
  const { dryRun } = parseDelete(ctx, req);
  const type = storeType(def);
  const { items } = await storeCall(def, () =>
    ctx.store.list(type, {
      namespace,
      labelSelector: req.query.get("labelSelector") ?? undefined,
      fieldSelector: req.query.get("fieldSelector") ?? undefined,
    }),
  );
  const deleted: KubeObject[] = [];
  for (const item of items) {
    if (dryRun) {
      deleted.push(item);
      continue;
    }
    try {
      const result = await ctx.store.delete(type, {
        namespace: item.metadata.namespace,
        name: item.metadata.name ?? "",
      });
      deleted.push(result.object);
    } catch (error) {
      if (!isStoreError(error, "NotFound")) throw isStoreError(error) ? fromStoreError(error, def) : error;
    }
  }
  return {
    status: 200,
    body: {
      kind: def.listKind,
      apiVersion: apiVersionOf(def.group, version),
      metadata: {},
      items: deleted.map((o) => present(def, version, o)),
    },
  };
}
