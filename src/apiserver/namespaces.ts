// Namespaces: the `default` namespace exists from the start, creating into a missing namespace is
// refused as the NamespaceLifecycle admission plugin does, and deleting a namespace deletes what is
// in it. Upstream deletes asynchronously (phase Terminating, namespace finalizer); here it happens
// within the DELETE request, so `kubectl delete ns` returns when the contents are gone.
import type { KubeObject, ResourceStore } from "../store/index.ts";
import { isStoreError } from "../store/index.ts";
import { namespaceDef, resources, storeType } from "./resources.ts";
import { ApiError, notFound, type StatusCause } from "./status.ts";

const dnsLabelRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Namespaces that can not be deleted (upstream: default, kube-system, kube-public). */
export const protectedNamespaces: ReadonlySet<string> = new Set(["default"]);

export function validateNamespace(object: KubeObject): StatusCause[] {
  const name = object.metadata.name;
  if (typeof name !== "string" || name === "") {
    return [
      {
        reason: "FieldValueRequired",
        field: "metadata.name",
        message: "Required value: name or generateName is required",
      },
    ];
  }
  if (name.length > 63 || !dnsLabelRe.test(name)) {
    return [
      {
        reason: "FieldValueInvalid",
        field: "metadata.name",
        message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
      },
    ];
  }
  return [];
}

/** As served: a Namespace always shows its phase. */
export function withNamespacePhase(object: KubeObject): KubeObject {
  if (typeof object.status === "object" && object.status !== null) return object;
  return { ...object, status: { phase: object.metadata.deletionTimestamp ? "Terminating" : "Active" } };
}

/** Creates `default` when missing; safe to call on every start. */
export async function ensureDefaultNamespace(store: ResourceStore): Promise<void> {
  try {
    await store.create(storeType(namespaceDef), {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "default", labels: { "kubernetes.io/metadata.name": "default" } },
      spec: { finalizers: ["kubernetes"] },
    });
  } catch (error) {
    if (!isStoreError(error, "AlreadyExists")) throw error;
  }
}

/** 404 `namespaces "x" not found` unless the namespace exists (NamespaceLifecycle). */
export async function requireNamespace(store: ResourceStore, namespace: string): Promise<void> {
  try {
    const ns = await store.get(storeType(namespaceDef), { name: namespace });
    if (ns.metadata.deletionTimestamp !== undefined) {
      throw new ApiError(
        403,
        "Forbidden",
        `unable to create new content in namespace ${namespace} because it is being terminated`,
        { name: namespace, kind: "namespaces" },
      );
    }
  } catch (error) {
    if (isStoreError(error, "NotFound")) throw notFound(namespaceDef, namespace);
    throw error;
  }
}

/** Deletes every namespaced object in `namespace` (before the namespace itself goes). */
export async function deleteNamespaceContents(store: ResourceStore, namespace: string): Promise<number> {
  let deleted = 0;
  for (const def of resources) {
    // A resource stored as another is deleted with that one.
    if (!def.namespaced || def.storedAs) continue;
    const type = storeType(def);
    const { items } = await store.list(type, { namespace });
    for (const item of items) {
      try {
        await store.delete(type, { namespace, name: item.metadata.name ?? "" });
        deleted++;
      } catch (error) {
        if (!isStoreError(error, "NotFound")) throw error;
      }
    }
  }
  return deleted;
}
