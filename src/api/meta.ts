// Object metadata and type identity shared by every kind.
import { Type, type Static } from "@sinclair/typebox";

/** RFC 1123 label: what Kubernetes accepts for namespaces and Service names. */
export const dnsLabelPattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/** RFC 1123 subdomain: object names of most other kinds. */
export const dnsSubdomainPattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

export const ObjectMeta = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 253, pattern: dnsSubdomainPattern }),
    namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63, pattern: dnsLabelPattern })),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
    uid: Type.Optional(Type.String()),
    resourceVersion: Type.Optional(Type.String()),
    generation: Type.Optional(Type.Integer()),
    creationTimestamp: Type.Optional(Type.String()),
  },
  // Objects exported from a cluster carry more metadata (managedFields, ownerReferences...).
  { additionalProperties: true },
);
export type ObjectMeta = Static<typeof ObjectMeta>;

/** Identity of a kind as it appears in YAML. */
export interface GroupVersionKind {
  readonly apiVersion: string;
  readonly kind: string;
}

export function gvkKey(gvk: GroupVersionKind): string {
  return `${gvk.apiVersion}/${gvk.kind}`;
}

/** A reference to one object, as used in error messages: `Kind namespace/name`. */
export function objectRef(kind: string, meta: { name: string; namespace?: string | undefined }): string {
  return meta.namespace ? `${kind} ${meta.namespace}/${meta.name}` : `${kind} ${meta.name}`;
}

/** Gateway API duration (GEP-2257): up to four `<n><unit>` parts, e.g. `1h30m`, `500ms`. */
export const durationPattern = "^([0-9]{1,5}(h|m|s|ms)){1,4}$";

export function parseDurationMs(value: string): number {
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/([0-9]{1,5})(h|ms|m|s)/g)) {
    const n = Number(amount);
    total += unit === "h" ? n * 3_600_000 : unit === "m" ? n * 60_000 : unit === "s" ? n * 1000 : n;
  }
  return total;
}
