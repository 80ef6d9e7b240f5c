// Writes straight into the store, for when no API server runs: no admission, no managedFields.
import type { StoredKind } from "../api/index.ts";
import { isStoreError, type KubeObject, type ResourceStore, type ResourceType } from "../store/index.ts";
import { managedByLabel, managedByValue, type ObjectWriter } from "./dir-sync.ts";

export function storeWriter(store: ResourceStore): ObjectWriter {
  const typeOf = (kind: StoredKind): ResourceType => ({
    group: kind.group,
    resource: kind.resource,
    namespaced: kind.namespaced,
  });
  return {
    async apply(kind, object) {
      const type = typeOf(kind);
      const key = { namespace: object.metadata.namespace, name: object.metadata.name as string };
      const current = await store
        .get(type, key)
        .catch((e: unknown) => (isStoreError(e, "NotFound") ? undefined : Promise.reject(e)));
      if (!current) {
        await store.create(type, object);
        return "created";
      }
      if (!differs(current, object)) return "unchanged";
      const metadata = {
        ...current.metadata,
        labels: object.metadata.labels,
        annotations: object.metadata.annotations,
      };
      await store.update(type, { ...object, metadata });
      return "updated";
    },
    async listManaged(kind) {
      return (await store.list(typeOf(kind), { labelSelector: `${managedByLabel}=${managedByValue}` })).items;
    },
    // The store itself has no notion of namespace existence; the API server enforces it.
    async ensureNamespace() {},
    async delete(kind, namespace, name) {
      await store
        .delete(typeOf(kind), { namespace, name })
        .catch((e: unknown) => (isStoreError(e, "NotFound") ? undefined : Promise.reject(e)));
    },
  };
}

/** Whether the stored object differs from the directory's in anything the directory sets. */
function differs(current: KubeObject, desired: KubeObject): boolean {
  const strip = ({ metadata, status: _status, ...rest }: KubeObject) => ({
    rest,
    labels: metadata.labels ?? {},
    annotations: metadata.annotations ?? {},
  });
  return JSON.stringify(canonical(strip(current))) !== JSON.stringify(canonical(strip(desired)));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
