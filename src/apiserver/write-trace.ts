// The API's writes as the start of a change's trace (telemetry/tracing.ts): each store call made
// during a traced write is a commit span, remembered by object and resourceVersion for the publish
// that serves it, and an object whose content the write changes records the write's trace id in
// the annotation `meshplane.dev/trace-id`, so an operator can go from an object to the trace of
// its last change. An annotation, not a status field: it is set in the same write, on every kind
// (an EndpointSlice has no status), the way a mutating admission step sets metadata; a write that
// changes nothing else (an unchanged apply) keeps the previous value, so it stays a no-op.
import { isDeepStrictEqual } from "node:util";
import { objectRef } from "../api/index.ts";
import { isStoreError, type KubeObject, type ResourceStore, type ResourceType } from "../store/index.ts";
import type { Commit, Tracing } from "../telemetry/index.ts";

export const traceIdAnnotation = "meshplane.dev/trace-id";

/** `store` with the writes made inside a traced write recorded as commits of it. */
export function tracedStore(store: ResourceStore, tracing: Tracing): ResourceStore {
  return {
    get: (type, key) => store.get(type, key),
    list: (type, options) => store.list(type, options),
    watch: (type, options) => store.watch(type, options),
    currentResourceVersion: () => store.currentResourceVersion(),
    close: () => store.close(),
    // Status is what controllers observe, not a change to serve: not a commit of the write.
    updateStatus: (type, object) => store.updateStatus(type, object),
    create: (type, object) =>
      tracing.commit(
        () => store.create(type, withTraceId(object, tracing.writeTraceId())),
        (created) => commitOf(created, false),
      ),
    update: async (type, object) => {
      const traceId = tracing.writeTraceId();
      if (traceId === undefined) return store.update(type, object);
      const current = await currentObject(store, type, object);
      const changes = current === undefined || !sameContent(current, object);
      const stamped = withTraceId(
        object,
        changes ? traceId : current.metadata.annotations?.[traceIdAnnotation],
      );
      const before = current?.metadata.resourceVersion;
      return tracing.commit(
        () => store.update(type, stamped),
        (updated) => (updated.metadata.resourceVersion === before ? undefined : commitOf(updated, false)),
      );
    },
    delete: (type, key, options) =>
      tracing.commit(
        () => store.delete(type, key, options),
        (result) => commitOf(result.object, result.deleted),
      ),
  };
}

function commitOf(object: KubeObject, deleted: boolean): Commit | undefined {
  const { name, namespace, resourceVersion } = object.metadata;
  if (name === undefined || resourceVersion === undefined) return undefined;
  return { object: objectRef(object.kind, { name, namespace }), resourceVersion, deleted };
}

async function currentObject(
  store: ResourceStore,
  type: ResourceType,
  object: KubeObject,
): Promise<KubeObject | undefined> {
  try {
    return await store.get(type, { namespace: object.metadata.namespace, name: object.metadata.name ?? "" });
  } catch (error) {
    // The update itself reports what is wrong (NotFound, Invalid).
    if (isStoreError(error)) return undefined;
    throw error;
  }
}

/** `object` with the annotation set to `traceId`, or without it when undefined. */
function withTraceId(object: KubeObject, traceId: string | undefined): KubeObject {
  const annotations = object.metadata.annotations;
  if (annotations?.[traceIdAnnotation] === traceId) return object;
  if (traceId !== undefined) {
    return {
      ...object,
      metadata: { ...object.metadata, annotations: { ...annotations, [traceIdAnnotation]: traceId } },
    };
  }
  const { [traceIdAnnotation]: _removed, ...others } = annotations ?? {};
  return { ...object, metadata: { ...object.metadata, annotations: others } };
}

/**
 * Whether an update would leave the object's content as it is: everything but status and the
 * metadata the server keeps (versions, managedFields, the trace id itself).
 */
function sameContent(current: KubeObject, next: KubeObject): boolean {
  return isDeepStrictEqual(content(current), content(next));
}

function content(object: KubeObject): unknown {
  const {
    resourceVersion: _rv,
    generation: _generation,
    managedFields: _managed,
    uid: _uid,
    creationTimestamp: _created,
    annotations = {},
    ...metadata
  } = object.metadata;
  const { [traceIdAnnotation]: _traceId, ...others } = annotations;
  const { status: _status, ...rest } = object;
  // As JSON: absent and undefined fields compare equal, as the store compares them.
  return JSON.parse(JSON.stringify({ ...rest, metadata: { ...metadata, annotations: others } }));
}
