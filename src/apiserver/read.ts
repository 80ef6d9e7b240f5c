// GET of one object and of collections (spec-notes §1.9 list semantics): selectors, limit and
// continue go to the store; resourceVersion "", "0" and NotOlderThan are served from the current
// state; Table output when asked for.
import type { FieldTerm, KubeObject, ListOptions } from "../store/index.ts";
import { formatFieldTerm, isStoreError, parseFieldTerms } from "../store/index.ts";
import { present, type ApiContext, type ApiRequest, type Reply } from "./context.ts";
import { apiVersionOf, storeType, type ResourceDef } from "./resources.ts";
import { badRequest, expired, fromStoreError, invalidListOptions } from "./status.ts";
import { parseIncludeObject, tableContentType, toTable } from "./table.ts";

export async function getObject(ctx: ApiContext, req: ApiRequest): Promise<Reply> {
  const { def, version, namespace, name } = req.target;
  let object: KubeObject;
  try {
    object = await ctx.store.get(storeType(def), { namespace, name: name ?? "" });
  } catch (error) {
    throw isStoreError(error) ? fromStoreError(error, def) : error;
  }
  return objectReply(ctx, req, present(def, version, object));
}

/** One object as JSON, or as a one-row Table when the client asked for Table. */
export function objectReply(ctx: ApiContext, req: ApiRequest, object: KubeObject, status = 200): Reply {
  if (req.format.as !== "table") return { status, body: object };
  const table = toTable(req.target.def, [object], {
    tableVersion: req.format.version,
    includeObject: parseIncludeObject(req.query.get("includeObject")),
    now: ctx.clock.now(),
    withColumns: true,
    resourceVersion: object.metadata.resourceVersion,
  });
  return { status, body: table, contentType: tableContentType(req.format.version) };
}

export interface ParsedListOptions {
  readonly store: ListOptions;
  /** Field selectors the store cannot apply (a kind's selectableFields), applied after it. */
  readonly fields: ((object: KubeObject) => boolean) | undefined;
  readonly resourceVersion: string | undefined;
  readonly resourceVersionMatch: string | undefined;
}

/** List options with the checks of apimachinery internalversion/validation (422 on ListOptions). */
export function parseListOptions(req: ApiRequest, forWatch: boolean): ParsedListOptions {
  const q = req.query;
  const resourceVersion = q.get("resourceVersion") ?? undefined;
  const match = q.get("resourceVersionMatch") ?? undefined;
  const cont = q.get("continue") ?? undefined;
  if (match !== undefined && match !== "") {
    if (forWatch)
      throw invalidListOptions("resourceVersionMatch", "resourceVersionMatch is forbidden for watch");
    if (resourceVersion === undefined || resourceVersion === "") {
      throw invalidListOptions(
        "resourceVersionMatch",
        "resourceVersionMatch is forbidden unless resourceVersion is provided",
      );
    }
    if (cont)
      throw invalidListOptions(
        "resourceVersionMatch",
        "resourceVersionMatch is forbidden when continue is provided",
      );
    if (match !== "Exact" && match !== "NotOlderThan") {
      throw invalidListOptions(
        "resourceVersionMatch",
        `unsupported value ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan"`,
      );
    }
    if (match === "Exact" && resourceVersion === "0") {
      throw invalidListOptions(
        "resourceVersionMatch",
        'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
      );
    }
  }
  const sendInitialEvents = q.get("sendInitialEvents");
  if (sendInitialEvents === "true") {
    throw invalidListOptions(
      "sendInitialEvents",
      forWatch
        ? "sendInitialEvents (watch-list) is not supported by this server"
        : "sendInitialEvents is forbidden for list",
    );
  }
  const limitText = q.get("limit");
  let limit: number | undefined;
  if (limitText !== null && limitText !== "") {
    limit = Number(limitText);
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw badRequest(`invalid limit ${JSON.stringify(limitText)}: must be a non-negative integer`);
    if (limit === 0) limit = undefined;
  }
  const { namespace, def } = req.target;
  const fields = splitFieldSelector(def, q.get("fieldSelector") ?? undefined);
  // Filtering after the store would make short pages: with such selectors the list comes whole.
  const paging = forWatch || fields.matches ? {} : { limit, continue: cont || undefined };
  return {
    store: {
      namespace,
      labelSelector: q.get("labelSelector") ?? undefined,
      fieldSelector: fields.store,
      ...paging,
    },
    fields: fields.matches,
    resourceVersion,
    resourceVersionMatch: match,
  };
}

export async function listObjects(ctx: ApiContext, req: ApiRequest): Promise<Reply> {
  const { def, version } = req.target;
  const options = parseListOptions(req, false);
  let items: KubeObject[];
  let resourceVersion: string;
  let cont: string | undefined;
  try {
    const result = await ctx.store.list(storeType(def), options.store);
    const matching = options.fields ? result.items.filter(options.fields) : result.items;
    items = matching.map((o) => present(def, version, o));
    resourceVersion = result.resourceVersion;
    cont = result.continue;
  } catch (error) {
    throw isStoreError(error) ? fromStoreError(error, def) : error;
  }
  // Exact needs history the list path does not keep: serve it only when it is the current state.
  if (options.resourceVersionMatch === "Exact" && options.resourceVersion !== resourceVersion) {
    throw expired(`too old resource version: ${options.resourceVersion ?? ""} (${resourceVersion})`);
  }
  if (req.format.as === "table") {
    const table = toTable(def, items, {
      tableVersion: req.format.version,
      includeObject: parseIncludeObject(req.query.get("includeObject")),
      now: ctx.clock.now(),
      withColumns: true,
      resourceVersion,
      continue: cont,
    });
    return { status: 200, body: table, contentType: tableContentType(req.format.version) };
  }
  return {
    status: 200,
    body: {
      kind: def.listKind,
      apiVersion: apiVersionOf(def.group, version),
      metadata: { resourceVersion, ...(cont ? { continue: cont } : {}) },
      items,
    },
  };
}

/**
 * The store filters metadata.name and metadata.namespace; a kind's other selectable fields
 * (`involvedObject.name` of Events) are matched here, on the stored object. Unknown fields are a
 * 400, as upstream.
 */
export function splitFieldSelector(
  def: ResourceDef,
  selector: string | undefined,
): { store: string | undefined; matches: ((object: KubeObject) => boolean) | undefined } {
  const extra = def.selectableFields;
  if (!selector || !extra) return { store: selector, matches: undefined };
  let terms: FieldTerm[];
  try {
    terms = parseFieldTerms(selector);
  } catch (error) {
    throw isStoreError(error) ? fromStoreError(error, def) : error;
  }
  const onStore = (t: FieldTerm) => t.field === "metadata.name" || t.field === "metadata.namespace";
  const others = terms.filter((t) => !onStore(t));
  for (const term of others) {
    if (!extra[term.field]) throw badRequest(`field label not supported: ${term.field}`);
  }
  const store = terms.filter(onStore).map(formatFieldTerm).join(",");
  return {
    store: store || undefined,
    matches:
      others.length === 0
        ? undefined
        : (object) =>
            others.every(({ field, operator, value }) => {
              const actual = (extra[field] as (o: KubeObject) => string)(object);
              return operator === "=" ? actual === value : actual !== value;
            }),
  };
}
