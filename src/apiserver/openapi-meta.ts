// The apimachinery meta/v1 schemas every OpenAPI v3 document refers to (ObjectMeta, ListMeta,
// Status, DeleteOptions, Patch), abridged from the upstream api/openapi-spec/v3 documents.
import type { OpenApiSchema } from "./openapi-schema.ts";

const ref = (name: string) => ({ $ref: `#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.${name}` });
const str = (description: string) => ({ type: "string", description });
const strMap = (description: string) => ({
  type: "object",
  additionalProperties: { type: "string", default: "" },
  description,
});

export const metaSchemas: Record<string, OpenApiSchema> = {
  "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
    type: "object",
    description:
      "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
    properties: {
      name: str("Name must be unique within a namespace. Cannot be updated."),
      generateName: str("Prefix the server uses to generate a unique name when name is not provided."),
      namespace: str(
        'Namespace defines the space within which each name must be unique. Defaults to "default".',
      ),
      uid: str("UID is the unique in time and space value for this object, set by the server. Read-only."),
      resourceVersion: str(
        "An opaque value that represents the internal version of this object, used for optimistic concurrency and watches. Read-only.",
      ),
      generation: {
        type: "integer",
        format: "int64",
        description: "A sequence number representing a specific generation of the desired state. Read-only.",
      },
      creationTimestamp: {
        type: "string",
        format: "date-time",
        description: "When this object was created, set by the server. Read-only.",
      },
      deletionTimestamp: {
        type: "string",
        format: "date-time",
        description:
          "When this object will be deleted, set by the server while finalizers remain. Read-only.",
      },
      deletionGracePeriodSeconds: {
        type: "integer",
        format: "int64",
        description: "Seconds allowed for graceful termination. Read-only.",
      },
      labels: strMap(
        "Map of string keys and values that can be used to organize and categorize objects; selected by label selectors.",
      ),
      annotations: strMap(
        "Unstructured key value map stored with a resource that may be set by external tools.",
      ),
      finalizers: {
        type: "array",
        items: { type: "string", default: "" },
        description: "Must be empty before the object is deleted from the registry.",
        "x-kubernetes-list-type": "set",
        "x-kubernetes-patch-strategy": "merge",
      },
      ownerReferences: {
        type: "array",
        items: {
          type: "object",
          "x-kubernetes-map-type": "atomic",
          "x-kubernetes-preserve-unknown-fields": true,
        },
        description: "List of objects depended by this object.",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["uid"],
        "x-kubernetes-patch-merge-key": "uid",
        "x-kubernetes-patch-strategy": "merge",
      },
      managedFields: {
        type: "array",
        items: ref("ManagedFieldsEntry"),
        description: "Maps workflow-id and version to the set of fields that are managed by that workflow.",
        "x-kubernetes-list-type": "atomic",
      },
    },
  },
  "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry": {
    type: "object",
    description:
      "The workflow-id, a FieldSet and the group version of the resource that the fieldset applies to.",
    properties: {
      apiVersion: str("The version of this resource that this field set applies to."),
      fieldsType: str('The discriminator for the fieldsV1 format: "FieldsV1".'),
      fieldsV1: {
        type: "object",
        description: "The field set in FieldsV1 format.",
        "x-kubernetes-preserve-unknown-fields": true,
      },
      manager: str("Identifier of the workflow managing these fields."),
      operation: str("The type of operation which lead to this entry: Apply or Update."),
      subresource: str("The name of the subresource used to update this object, if any."),
      time: { type: "string", format: "date-time", description: "When the fields were last changed." },
    },
  },
  "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta": {
    type: "object",
    description: "ListMeta describes metadata that synthetic resources must have, including lists.",
    properties: {
      resourceVersion: str("The revision the list was read at; start a watch from here."),
      continue: str("Set when more results are available; pass back to get the next page."),
      remainingItemCount: {
        type: "integer",
        format: "int64",
        description: "Items remaining after this page, when known.",
      },
    },
  },
  "io.k8s.apimachinery.pkg.apis.meta.v1.Status": {
    type: "object",
    description: "Status is a return value for calls that don't return other objects.",
    properties: {
      apiVersion: str("APIVersion of this representation: v1."),
      kind: str("Kind: Status."),
      metadata: { allOf: [ref("ListMeta")], default: {} },
      status: str('"Success" or "Failure".'),
      message: str("A human-readable description of the status of this operation."),
      reason: str("A machine-readable description of why this operation is in the Failure status."),
      details: {
        type: "object",
        description: "Extended data associated with the reason.",
        "x-kubernetes-preserve-unknown-fields": true,
      },
      code: { type: "integer", format: "int32", description: "Suggested HTTP return code for this status." },
    },
    "x-kubernetes-group-version-kind": [{ group: "", kind: "Status", version: "v1" }],
  },
  "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions": {
    type: "object",
    description: "DeleteOptions may be provided when deleting an API object.",
    properties: {
      apiVersion: str("APIVersion of this representation."),
      kind: str("Kind: DeleteOptions."),
      dryRun: {
        type: "array",
        items: { type: "string", default: "" },
        description: "All: process the request without persisting it.",
      },
      gracePeriodSeconds: {
        type: "integer",
        format: "int64",
        description: "Accepted and ignored: deletion is immediate.",
      },
      preconditions: {
        type: "object",
        description: "Must be fulfilled before a deletion is carried out.",
        properties: { resourceVersion: str("Target resourceVersion."), uid: str("Target UID.") },
      },
      propagationPolicy: str("Orphan, Background or Foreground; accepted, there are no dependents."),
    },
  },
  "io.k8s.apimachinery.pkg.apis.meta.v1.Patch": {
    type: "object",
    description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
  },
};
