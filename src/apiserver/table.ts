// meta.k8s.io Table output (spec-notes §1.5; apiserver pkg/registry/rest/table.go,
// endpoints/handlers/response.go). The first column is the name (format "name", so kubectl can
// prefix `kind/`); each row carries PartialObjectMetadata by default so kubectl fills the
// NAMESPACE and label columns from it.
import type { KubeObject } from "../store/index.ts";
import type { ResourceDef } from "./resources.ts";
import { badRequest } from "./status.ts";

export type IncludeObject = "None" | "Metadata" | "Object";

export function parseIncludeObject(value: string | null): IncludeObject {
  if (value === null || value === "" || value === "Metadata") return "Metadata";
  if (value === "None" || value === "Object") return value;
  throw badRequest(
    `includeObject: Unsupported value ${JSON.stringify(value)}: supported values: "None", "Metadata", "Object"`,
  );
}

export interface TableOptions {
  readonly tableVersion: "v1" | "v1beta1";
  readonly includeObject: IncludeObject;
  readonly now: number;
  /** False for the second and later events of a watch: kubectl reuses the last headers. */
  readonly withColumns: boolean;
  readonly resourceVersion?: string | undefined;
  readonly continue?: string | undefined;
}

const nameColumn = {
  name: "Name",
  type: "string",
  format: "name",
  description:
    "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
  priority: 0,
};

export function columnDefinitions(def: ResourceDef): object[] {
  return [
    nameColumn,
    ...def.columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? "",
      description: c.description,
      priority: c.priority,
    })),
  ];
}

function rowObject(object: KubeObject, include: IncludeObject, tableVersion: string): object | undefined {
  if (include === "None") return undefined;
  if (include === "Object") return object;
  return {
    kind: "PartialObjectMetadata",
    apiVersion: `meta.k8s.io/${tableVersion}`,
    metadata: object.metadata,
  };
}

export function toTable(def: ResourceDef, objects: readonly KubeObject[], options: TableOptions): object {
  const metadata: Record<string, string> = {};
  if (options.resourceVersion !== undefined) metadata.resourceVersion = options.resourceVersion;
  if (options.continue) metadata.continue = options.continue;
  return {
    kind: "Table",
    apiVersion: `meta.k8s.io/${options.tableVersion}`,
    metadata,
    columnDefinitions: options.withColumns ? columnDefinitions(def) : [],
    rows: objects.map((object) => {
      const embedded = rowObject(object, options.includeObject, options.tableVersion);
      return {
        cells: [object.metadata.name ?? "", ...def.columns.map((c) => c.cell(object, options.now))],
        ...(embedded === undefined ? {} : { object: embedded }),
      };
    }),
  };
}

export function tableContentType(version: "v1" | "v1beta1"): string {
  return `application/json;as=Table;v=${version};g=meta.k8s.io`;
}
