// OpenAPI v3: the `/openapi/v3` index and one document per group-version, generated once from the
// resource table and the src/api schemas. kubectl needs, per kind: a PATCH operation carrying
// `x-kubernetes-group-version-kind` and a `fieldValidation` query parameter (else `apply` falls back
// to OpenAPI v2 validation), and a components.schemas entry whose GVK list is exactly
// {group, kind, version} (for `explain`). spec-notes §1.4; kube-openapi builder3; kubectl
// pkg/explain/v2; cli-runtime query_param_verifier_v3.go.
import { createHash } from "node:crypto";
import { descriptions } from "./descriptions.ts";
import { metaSchemas } from "./openapi-meta.ts";
import { applyOverlay, metaRef, toOpenApi, type OpenApiSchema } from "./openapi-schema.ts";
import {
  apiVersionOf,
  groupVersions,
  patchMediaTypes,
  type GroupVersion,
  type ResourceDef,
} from "./resources.ts";

export interface OpenApiDocument {
  /** `api/v1` or `apis/<group>/<version>`: the key in the index. */
  readonly path: string;
  readonly body: string;
  /** Upper-case hex SHA-512 of the body, as kube-openapi computes its hashes. */
  readonly hash: string;
}

export interface OpenApiDocuments {
  readonly index: string;
  readonly byPath: ReadonlyMap<string, OpenApiDocument>;
}

export function buildOpenApi(): OpenApiDocuments {
  const byPath = new Map<string, OpenApiDocument>();
  for (const gv of groupVersions()) {
    const path = gv.group === "" ? `api/${gv.version}` : `apis/${gv.group}/${gv.version}`;
    const body = JSON.stringify(groupVersionDocument(gv));
    byPath.set(path, { path, body, hash: createHash("sha512").update(body).digest("hex").toUpperCase() });
  }
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const doc of byPath.values())
    paths[doc.path] = { serverRelativeURL: `/openapi/v3/${doc.path}?hash=${doc.hash}` };
  return { index: JSON.stringify({ paths }), byPath };
}

/** `io.k8s.api.core.v1.Service`, `io.k8s.networking.gateway.v1.GRPCRoute`. */
export function schemaName(def: ResourceDef, version: string, kind = def.kind): string {
  return `${def.schemaPackage}.${version}.${kind}`;
}

const schemaRef = (name: string): OpenApiSchema => ({ $ref: `#/components/schemas/${name}` });

export function groupVersionDocument(gv: GroupVersion): object {
  const schemas: Record<string, OpenApiSchema> = { ...structuredClone(metaSchemas) };
  const paths: Record<string, object> = {};
  for (const def of gv.resources) {
    const gvk = { group: def.group, kind: def.kind, version: gv.version };
    const kindSchema = toOpenApi(def.schema, true);
    const properties = kindSchema.properties as Record<string, OpenApiSchema> | undefined;
    if (properties !== undefined) {
      // apiVersion and kind are fixed by the endpoint: publish them as the plain strings they are.
      properties.apiVersion = {
        type: "string",
        description: `APIVersion: ${apiVersionOf(def.group, gv.version)}.`,
      };
      properties.kind = { type: "string", description: `Kind: ${def.kind}.` };
    }
    applyOverlay(kindSchema, descriptions[def.kind]);
    const name = schemaName(def, gv.version);
    const listName = schemaName(def, gv.version, def.listKind);
    schemas[name] = { ...kindSchema, "x-kubernetes-group-version-kind": [gvk] };
    schemas[listName] = {
      type: "object",
      description: `${def.listKind} is a list of ${def.kind}.`,
      required: ["items"],
      properties: {
        apiVersion: { type: "string", description: "APIVersion of this representation." },
        kind: { type: "string", description: `Kind: ${def.listKind}.` },
        metadata: { allOf: [metaRef("ListMeta")], default: {} },
        items: { type: "array", items: schemaRef(name), description: `List of ${def.plural}.` },
      },
      "x-kubernetes-group-version-kind": [{ ...gvk, kind: def.listKind }],
    };
    Object.assign(paths, resourcePaths(def, gv.version, name, listName));
  }
  return {
    openapi: "3.0.0",
    info: { title: "meshplane", version: "v1.32.0-meshplane" },
    paths,
    components: {
      schemas,
      securitySchemes: { BearerToken: { type: "apiKey", in: "header", name: "authorization" } },
    },
  };
}

const query = (name: string, description: string, type = "string") => ({
  name,
  in: "query",
  description,
  schema: { type, uniqueItems: true },
});
const pathParam = (name: string, description: string) => ({
  name,
  in: "path",
  required: true,
  description,
  schema: { type: "string", uniqueItems: true },
});

const dryRun = query("dryRun", "When present (All), the request is processed but not persisted.");
const fieldManager = query(
  "fieldManager",
  "A name associated with the actor or entity making these changes.",
);
const fieldValidation = query(
  "fieldValidation",
  "How to treat unknown fields: Ignore, Warn or Strict. meshplane rejects unknown route fields in every mode; Strict reports them as a 400 strict decoding error.",
);
const force = query(
  "force",
  "Force is going to force Apply requests, re-acquiring conflicting fields.",
  "boolean",
);
const listParams = [
  query("labelSelector", "A selector to restrict the list of returned objects by their labels."),
  query("fieldSelector", "A selector to restrict the list by fields: metadata.name and metadata.namespace."),
  query("resourceVersion", "Where a list or watch starts; see the Kubernetes API concepts."),
  query("resourceVersionMatch", "How resourceVersion applies to a list: NotOlderThan or Exact."),
  query("limit", "Maximum number of items to return.", "integer"),
  query("continue", "Continue token from a previous page."),
  query("watch", "Watch for changes instead of listing.", "boolean"),
  query("allowWatchBookmarks", "Ask for BOOKMARK events in a watch.", "boolean"),
  query("timeoutSeconds", "Timeout for a list or watch call.", "integer"),
];

function jsonResponses(schema: OpenApiSchema, codes: string[]): object {
  const responses: Record<string, object> = {};
  for (const code of codes) {
    responses[code] = {
      description: code === "201" ? "Created" : code === "202" ? "Accepted" : "OK",
      content: { "application/json": { schema } },
    };
  }
  responses["401"] = { description: "Unauthorized" };
  return responses;
}

function resourcePaths(
  def: ResourceDef,
  version: string,
  name: string,
  listName: string,
): Record<string, object> {
  const gvk = { group: def.group, version, kind: def.kind };
  const base = def.group === "" ? `/api/${version}` : `/apis/${def.group}/${version}`;
  const collection = def.namespaced
    ? `${base}/namespaces/{namespace}/${def.plural}`
    : `${base}/${def.plural}`;
  const item = `${collection}/{name}`;
  const scopeParams = def.namespaced
    ? [pathParam("namespace", "object name and auth scope, such as for teams and projects")]
    : [];
  const itemParams = [pathParam("name", `name of the ${def.kind}`), ...scopeParams];
  const can = (verb: string) => def.verbs.includes(verb as never);
  // Operation ids as upstream names them: listNamespacedService, patchNamespacedServiceStatus,
  // listServiceForAllNamespaces.
  const scope = def.namespaced ? "Namespaced" : "";
  const op = (action: string, id: string, description: string, extra: object) => ({
    description,
    operationId: id,
    tags: [def.group === "" ? "core_v1" : `${def.group}_${version}`],
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": gvk,
    ...extra,
  });
  const kindRef = schemaRef(name);
  const patchOp = (what: string, suffix: string) =>
    op("patch", `patch${scope}${def.kind}${suffix}`, `partially update the specified ${what}`, {
      parameters: [dryRun, fieldManager, fieldValidation, force],
      requestBody: {
        required: true,
        content: Object.fromEntries(
          def.patchKinds.map((kind) => [patchMediaTypes[kind], { schema: metaRef("Patch") }]),
        ),
      },
      responses: jsonResponses(kindRef, ["200", "201"]),
    });
  const writeParams = [dryRun, fieldManager, fieldValidation];
  const paths: Record<string, object> = {};

  const collectionOps: Record<string, object> = { parameters: scopeParams };
  if (can("list"))
    collectionOps.get = op("list", `list${scope}${def.kind}`, `list or watch objects of kind ${def.kind}`, {
      parameters: listParams,
      responses: jsonResponses(schemaRef(listName), ["200"]),
    });
  if (can("create")) {
    collectionOps.post = op("post", `create${scope}${def.kind}`, `create a ${def.kind}`, {
      parameters: writeParams,
      requestBody: { required: true, content: { "application/json": { schema: kindRef } } },
      responses: jsonResponses(kindRef, ["200", "201", "202"]),
    });
  }
  if (can("deletecollection")) {
    collectionOps.delete = op(
      "deletecollection",
      `deleteCollection${scope}${def.kind}`,
      `delete collection of ${def.kind}`,
      {
        parameters: [...listParams, dryRun],
        responses: jsonResponses(metaRef("Status"), ["200"]),
      },
    );
  }
  paths[collection] = collectionOps;

  const itemOps: Record<string, object> = { parameters: itemParams };
  if (can("get"))
    itemOps.get = op("get", `read${scope}${def.kind}`, `read the specified ${def.kind}`, {
      responses: jsonResponses(kindRef, ["200"]),
    });
  if (can("update")) {
    itemOps.put = op("put", `replace${scope}${def.kind}`, `replace the specified ${def.kind}`, {
      parameters: writeParams,
      requestBody: { required: true, content: { "application/json": { schema: kindRef } } },
      responses: jsonResponses(kindRef, ["200", "201"]),
    });
  }
  if (can("patch")) itemOps.patch = patchOp(def.kind, "");
  if (can("delete")) {
    itemOps.delete = op("delete", `delete${scope}${def.kind}`, `delete a ${def.kind}`, {
      parameters: [
        dryRun,
        query("gracePeriodSeconds", "Accepted and ignored.", "integer"),
        query("propagationPolicy", "Accepted; there are no dependents."),
      ],
      requestBody: { content: { "application/json": { schema: metaRef("DeleteOptions") } } },
      responses: jsonResponses(metaRef("Status"), ["200", "202"]),
    });
  }
  paths[item] = itemOps;

  if (def.statusSubresource) {
    paths[`${item}/status`] = {
      parameters: itemParams,
      get: op("get", `read${scope}${def.kind}Status`, `read status of the specified ${def.kind}`, {
        responses: jsonResponses(kindRef, ["200"]),
      }),
      put: op("put", `replace${scope}${def.kind}Status`, `replace status of the specified ${def.kind}`, {
        parameters: writeParams,
        requestBody: { required: true, content: { "application/json": { schema: kindRef } } },
        responses: jsonResponses(kindRef, ["200", "201"]),
      }),
      patch: patchOp(`${def.kind} status`, "Status"),
    };
  }
  if (def.namespaced && can("list")) {
    paths[`${base}/${def.plural}`] = {
      get: op(
        "list",
        `list${def.kind}ForAllNamespaces`,
        `list or watch objects of kind ${def.kind} in all namespaces`,
        {
          parameters: listParams,
          responses: jsonResponses(schemaRef(listName), ["200"]),
        },
      ),
    };
  }
  return paths;
}
