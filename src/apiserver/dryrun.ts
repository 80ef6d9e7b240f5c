// dryRun=All: what create, update and delete would store, computed without storing (kubectl diff,
// --dry-run=server). Mirrors the store's object semantics (src/store/objects.ts: prepareCreate,
// planUpdate, planStatusUpdate, planDelete) on the public store types.
import { randomUUID } from "node:crypto";
import type {
  DeleteOptions,
  DeleteResult,
  JsonValue,
  KubeObject,
  ResourceStore,
  ResourceType,
} from "../store/index.ts";
import {
  isStoreError,
  optimisticLockMessage,
  qualifiedResource,
  serverManagedMetadata,
  StoreError,
} from "../store/index.ts";

interface DryRunContext {
  readonly store: ResourceStore;
  readonly clock: { now(): number };
}

function rfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

function conflict(type: ResourceType, name: string, reason = optimisticLockMessage): StoreError {
  return new StoreError(
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(type)} "${name}": ${reason}`,
    {
      group: type.group,
      resource: type.resource,
      name,
    },
  );
}

/** The created object, without a resourceVersion; AlreadyExists if the name is taken. */
export async function simulateCreate(
  ctx: DryRunContext,
  type: ResourceType,
  object: KubeObject,
): Promise<KubeObject> {
  const { namespace, name = "" } = object.metadata;
  try {
    await ctx.store.get(type, { namespace, name });
    throw new StoreError("AlreadyExists", `${qualifiedResource(type)} "${name}" already exists`, {
      group: type.group,
      resource: type.resource,
      name,
    });
  } catch (error) {
    if (!isStoreError(error, "NotFound")) throw error;
  }
  const { status: _dropped, ...rest } = object;
  const metadata = { ...object.metadata };
  delete metadata.resourceVersion;
  delete metadata.deletionTimestamp;
  delete metadata.deletionGracePeriodSeconds;
  metadata.uid = randomUUID();
  metadata.creationTimestamp = rfc3339Seconds(ctx.clock.now());
  metadata.generation = 1;
  return { ...rest, metadata } as KubeObject;
}

/** The updated object (main resource, or only `status` with `statusOnly`), Conflict on a stale resourceVersion. */
export function simulateUpdate(
  type: ResourceType,
  current: KubeObject,
  object: KubeObject,
  statusOnly = false,
): KubeObject {
  const rv = object.metadata.resourceVersion;
  if (rv !== undefined && rv !== "" && rv !== current.metadata.resourceVersion)
    throw conflict(type, current.metadata.name ?? "");
  if (statusOnly) {
    const { status: _old, ...rest } = current;
    return object.status === undefined ? (rest as KubeObject) : { ...rest, status: object.status };
  }
  const metadata = { ...object.metadata };
  for (const field of serverManagedMetadata) {
    if (current.metadata[field] === undefined) delete metadata[field];
    else (metadata as Record<string, unknown>)[field] = current.metadata[field];
  }
  const { status: _ignored, ...rest } = object;
  const next: KubeObject = { ...rest, metadata };
  if (current.status !== undefined) next.status = current.status;
  const strip = (o: KubeObject): JsonValue => {
    const { metadata: _m, status: _s, ...content } = o;
    return JSON.parse(JSON.stringify(content)) as JsonValue;
  };
  if (!sameJson(strip(current), strip(next))) metadata.generation = (current.metadata.generation ?? 0) + 1;
  return next;
}

/** What a delete would do: removal, or marking while finalizers remain. */
export function simulateDelete(
  type: ResourceType,
  current: KubeObject,
  options: DeleteOptions,
  now: number,
): DeleteResult {
  const name = current.metadata.name ?? "";
  const pre = options.preconditions ?? {};
  if (pre.uid && pre.uid !== current.metadata.uid) {
    throw conflict(
      type,
      name,
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid ?? ""}`,
    );
  }
  if (pre.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
    throw conflict(
      type,
      name,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ""}`,
    );
  }
  if ((current.metadata.finalizers ?? []).length === 0) return { object: current, deleted: true };
  if (current.metadata.deletionTimestamp !== undefined) return { object: current, deleted: false };
  return {
    object: {
      ...current,
      metadata: {
        ...current.metadata,
        deletionTimestamp: rfc3339Seconds(now),
        deletionGracePeriodSeconds: 0,
      },
    },
    deleted: false,
  };
}

function sameJson(a: JsonValue, b: JsonValue): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys(value[k] as JsonValue)]),
  );
}
