// The resource table: every kind the API server serves, with what discovery, OpenAPI, Table output
// and the handlers need to know about it. A new kind is one entry here (plus its schema in src/api).
// Names, short names, categories and printer columns follow upstream: kubernetes
// pkg/printers/internalversion/printers.go for the core kinds, the Gateway API v1.6.1 CRDs
// (config/crd/standard/*) for routes; the meshplane.dev kinds are custom resources of our own.
import type { TSchema } from "@sinclair/typebox";
import {
  AuthorizationPolicy,
  FaultInjection,
  GRPCRoute,
  HTTPRoute,
  PeerAuthentication,
  RequestAuthentication,
  Rollout,
  TrafficPolicy,
} from "../api/index.ts";
import type { KubeObject, ResourceType } from "../store/index.ts";
import { EndpointSliceFields, ServiceFields } from "./builtin-schemas.ts";
import { EventSchema, NamespaceSchema } from "./schemas.ts";
import {
  authorizationPolicyColumns,
  endpointSliceColumns,
  eventColumns,
  eventsV1Columns,
  faultInjectionColumns,
  namespaceColumns,
  peerAuthenticationColumns,
  requestAuthenticationColumns,
  rolloutColumns,
  routeColumns,
  serviceColumns,
  trafficPolicyColumns,
} from "./columns.ts";
import type { PrinterColumn } from "./columns.ts";
import {
  asEventsV1,
  coreEventFields,
  EventsV1Schema,
  eventsV1Fields,
  type SelectableFields,
} from "./events.ts";

export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection";

/** Patch media types as in apimachinery pkg/types/patch.go. */
export const patchMediaTypes = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
} as const;
export type PatchKind = keyof typeof patchMediaTypes;

export interface ResourceDef {
  readonly group: string;
  /** Served versions, the preferred first. Objects are stored in `storageVersion`. */
  readonly versions: readonly string[];
  readonly storageVersion: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly namespaced: boolean;
  readonly verbs: readonly Verb[];
  /** `status` when the kind has a status subresource (main writes keep status, /status writes only it). */
  readonly statusSubresource: boolean;
  /** Table columns after Name; see columns.ts. */
  readonly columns: readonly PrinterColumn[];
  /** Schema for OpenAPI and explain, and of the fields a write may set (others are pruned). */
  readonly schema: TSchema;
  /** Accepted patch types: built-in kinds take strategic merge patch, custom resources do not. */
  readonly patchKinds: readonly PatchKind[];
  /** PUT on a missing object creates it (svcStrategy.AllowCreateOnUpdate); 404 otherwise. */
  readonly createOnUpdate: boolean;
  /** Validated with validateResource from src/api; others are checked in the API server. */
  readonly validatedBy: "api" | "namespace" | "none";
  /** Stored as another group's resource (events.k8s.io Events are core Events, as upstream). */
  readonly storedAs?: { readonly group: string; readonly resource: string };
  /** The stored object as this resource serves it, when it is stored as another's. */
  readonly view?: (object: KubeObject) => KubeObject;
  /** Field selectors beyond metadata.name and metadata.namespace (upstream's field label conversions). */
  readonly selectableFields?: SelectableFields;
  /** OpenAPI component name prefix: `io.k8s.api.core.v1` style, version appended. */
  readonly schemaPackage: string;
}

const writeVerbs: readonly Verb[] = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];
const builtinPatches: readonly PatchKind[] = ["json", "merge", "strategic", "apply"];
const customPatches: readonly PatchKind[] = ["json", "merge", "apply"];

/** A meshplane.dev/v1alpha1 kind: namespaced, writable, with status, validated by src/api. */
function meshplaneKind(def: {
  kind: string;
  plural: string;
  shortNames: string[];
  columns: readonly PrinterColumn[];
  schema: TSchema;
  /** Also in the `meshplane-security` category (`kubectl get meshplane-security`). */
  security?: boolean;
}): ResourceDef {
  return {
    group: "meshplane.dev",
    versions: ["v1alpha1"],
    storageVersion: "v1alpha1",
    kind: def.kind,
    listKind: `${def.kind}List`,
    plural: def.plural,
    singular: def.kind.toLowerCase(),
    shortNames: def.shortNames,
    categories: def.security ? ["meshplane", "meshplane-security"] : ["meshplane"],
    namespaced: true,
    verbs: writeVerbs,
    statusSubresource: true,
    columns: def.columns,
    schema: def.schema,
    patchKinds: customPatches,
    createOnUpdate: false,
    validatedBy: "api",
    schemaPackage: "dev.meshplane",
  };
}

export const resources: readonly ResourceDef[] = [
  {
    group: "",
    versions: ["v1"],
    storageVersion: "v1",
    kind: "Namespace",
    listKind: "NamespaceList",
    plural: "namespaces",
    singular: "namespace",
    shortNames: ["ns"],
    categories: [],
    namespaced: false,
    verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
    statusSubresource: true,
    columns: namespaceColumns,
    schema: NamespaceSchema,
    patchKinds: builtinPatches,
    createOnUpdate: false,
    validatedBy: "namespace",
    schemaPackage: "io.k8s.api.core",
  },
  {
    group: "",
    versions: ["v1"],
    storageVersion: "v1",
    kind: "Service",
    listKind: "ServiceList",
    plural: "services",
    singular: "service",
    shortNames: ["svc"],
    categories: ["all"],
    namespaced: true,
    verbs: writeVerbs,
    statusSubresource: true,
    columns: serviceColumns,
    schema: ServiceFields,
    patchKinds: builtinPatches,
    createOnUpdate: true,
    validatedBy: "api",
    schemaPackage: "io.k8s.api.core",
  },
  {
    group: "",
    versions: ["v1"],
    storageVersion: "v1",
    kind: "Event",
    listKind: "EventList",
    plural: "events",
    singular: "event",
    shortNames: ["ev"],
    categories: [],
    namespaced: true,
    verbs: ["get", "list", "watch"],
    statusSubresource: false,
    columns: eventColumns,
    schema: EventSchema,
    patchKinds: [],
    createOnUpdate: false,
    validatedBy: "none",
    selectableFields: coreEventFields,
    schemaPackage: "io.k8s.api.core",
  },
  {
    group: "discovery.k8s.io",
    versions: ["v1"],
    storageVersion: "v1",
    kind: "EndpointSlice",
    listKind: "EndpointSliceList",
    plural: "endpointslices",
    singular: "endpointslice",
    shortNames: [],
    categories: [],
    namespaced: true,
    verbs: writeVerbs,
    statusSubresource: false,
    columns: endpointSliceColumns,
    schema: EndpointSliceFields,
    patchKinds: builtinPatches,
    createOnUpdate: false,
    validatedBy: "api",
    schemaPackage: "io.k8s.api.discovery",
  },
  {
    group: "gateway.networking.k8s.io",
    versions: ["v1", "v1beta1"],
    storageVersion: "v1",
    kind: "HTTPRoute",
    listKind: "HTTPRouteList",
    plural: "httproutes",
    singular: "httproute",
    shortNames: [],
    categories: ["gateway-api"],
    namespaced: true,
    verbs: writeVerbs,
    statusSubresource: true,
    columns: routeColumns,
    schema: HTTPRoute,
    patchKinds: customPatches,
    createOnUpdate: false,
    validatedBy: "api",
    schemaPackage: "io.k8s.networking.gateway",
  },
  {
    group: "gateway.networking.k8s.io",
    versions: ["v1"],
    storageVersion: "v1",
    kind: "GRPCRoute",
    listKind: "GRPCRouteList",
    plural: "grpcroutes",
    singular: "grpcroute",
    shortNames: [],
    categories: ["gateway-api"],
    namespaced: true,
    verbs: writeVerbs,
    statusSubresource: true,
    columns: routeColumns,
    schema: GRPCRoute,
    patchKinds: customPatches,
    createOnUpdate: false,
    validatedBy: "api",
    schemaPackage: "io.k8s.networking.gateway",
  },
  meshplaneKind({
    kind: "TrafficPolicy",
    plural: "trafficpolicies",
    shortNames: ["tp"],
    columns: trafficPolicyColumns,
    schema: TrafficPolicy,
  }),
  meshplaneKind({
    kind: "FaultInjection",
    plural: "faultinjections",
    shortNames: [],
    columns: faultInjectionColumns,
    schema: FaultInjection,
  }),
  meshplaneKind({
    kind: "Rollout",
    plural: "rollouts",
    shortNames: ["ro"],
    columns: rolloutColumns,
    schema: Rollout,
  }),
  meshplaneKind({
    kind: "PeerAuthentication",
    plural: "peerauthentications",
    shortNames: ["pa"],
    columns: peerAuthenticationColumns,
    schema: PeerAuthentication,
    security: true,
  }),
  meshplaneKind({
    kind: "AuthorizationPolicy",
    plural: "authorizationpolicies",
    shortNames: ["ap"],
    columns: authorizationPolicyColumns,
    schema: AuthorizationPolicy,
    security: true,
  }),
  meshplaneKind({
    kind: "RequestAuthentication",
    plural: "requestauthentications",
    shortNames: ["ra"],
    columns: requestAuthenticationColumns,
    schema: RequestAuthentication,
    security: true,
  }),
  {
    group: "events.k8s.io",
    versions: ["v1"],
    storageVersion: "v1",
    kind: "Event",
    listKind: "EventList",
    plural: "events",
    singular: "event",
    shortNames: [],
    categories: [],
    namespaced: true,
    verbs: ["get", "list", "watch"],
    statusSubresource: false,
    columns: eventsV1Columns,
    schema: EventsV1Schema,
    patchKinds: [],
    createOnUpdate: false,
    validatedBy: "none",
    storedAs: { group: "", resource: "events" },
    view: asEventsV1,
    selectableFields: eventsV1Fields,
    schemaPackage: "io.k8s.api.events",
  },
];

/** `v1` for the core group, `group/version` otherwise. */
export function apiVersionOf(group: string, version: string): string {
  return group === "" ? version : `${group}/${version}`;
}

/** Served group/versions in discovery order, each with its resources. */
export interface GroupVersion {
  readonly group: string;
  readonly version: string;
  readonly resources: readonly ResourceDef[];
}

/** Groups in first-appearance order; each group's versions in preference order. */
export function groupVersions(table: readonly ResourceDef[] = resources): GroupVersion[] {
  const result: GroupVersion[] = [];
  for (const def of table) {
    for (const version of def.versions) {
      const existing = result.find((gv) => gv.group === def.group && gv.version === version);
      if (existing) (existing.resources as ResourceDef[]).push(def);
      else result.push({ group: def.group, version, resources: [def] });
    }
  }
  // Keep each group's versions together and its preferred (storage) version first.
  const groups = [...new Set(result.map((gv) => gv.group))];
  return groups.flatMap((group) =>
    result.filter((gv) => gv.group === group).sort((a, b) => versionRank(a.version) - versionRank(b.version)),
  );
}

/** Kubernetes version priority (apimachinery version.CompareKubeAwareVersionStrings): lower ranks first. */
export function versionRank(version: string): number {
  const match = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(version);
  if (!match) return 1e9;
  const major = Number(match[1]);
  const stage = match[2] === undefined ? 0 : match[2] === "beta" ? 1 : 2;
  const minor = match[3] === undefined ? 0 : Number(match[3]);
  return stage * 1e6 - major * 1e3 - minor;
}

export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return resources.find((r) => r.group === group && r.plural === plural && r.versions.includes(version));
}

export function findResourceByKind(group: string, kind: string): ResourceDef | undefined {
  return resources.find((r) => r.group === group && r.kind === kind);
}

export function storeType(def: ResourceDef): ResourceType {
  const stored = def.storedAs ?? { group: def.group, resource: def.plural };
  return { group: stored.group, resource: stored.resource, namespaced: def.namespaced };
}

export const namespaceDef = resources.find((r) => r.plural === "namespaces") as ResourceDef;

/** The object as served in `version`: the same content with that version's apiVersion. */
export function asVersion(def: ResourceDef, version: string, object: KubeObject): KubeObject {
  const apiVersion = apiVersionOf(def.group, version);
  return object.apiVersion === apiVersion ? object : { ...object, apiVersion };
}

/** `services` for core, `httproutes.gateway.networking.k8s.io` otherwise (as in messages). */
export function qualifiedPlural(def: ResourceDef): string {
  return def.group === "" ? def.plural : `${def.plural}.${def.group}`;
}

/** `Service` for core, `HTTPRoute.gateway.networking.k8s.io` otherwise (as in Invalid messages). */
export function qualifiedKind(def: ResourceDef): string {
  return def.group === "" ? def.kind : `${def.kind}.${def.group}`;
}

export function servesGroupVersion(group: string, version: string): boolean {
  return resources.some((r) => r.group === group && r.versions.includes(version));
}
