// Watch streaming (spec-notes §1.9; apiserver handlers/watch.go): 200 at once, then one JSON event
// per line, flushed per event. From resourceVersion unset or "0" the store sends a synthetic ADDED
// per matching object first (kubectl `get NAME -w` drops the first event it sees). A watch from a
// compacted resourceVersion gets one ERROR event with a 410 Expired Status, as the watch cache's
// error watcher does. A bare newline every few seconds keeps idle streams alive (client-node aborts
// after 30 s without bytes); BOOKMARKs only when the client sets allowWatchBookmarks.
import type { ServerResponse } from "node:http";
import type { KubeObject, Watch, WatchEvent } from "../store/index.ts";
import { isStoreError } from "../store/index.ts";
import { present, type ApiContext, type ApiRequest } from "./context.ts";
import { parseListOptions } from "./read.ts";
import { apiVersionOf, storeType } from "./resources.ts";
import { badRequest, expired, fromStoreError, toApiError, type Status } from "./status.ts";
import { parseIncludeObject, tableContentType, toTable } from "./table.ts";

export type WatchEventType = WatchEvent["type"] | "BOOKMARK" | "ERROR";

/** The running watches, so the server can end them on close. */
export class WatchRegistry {
  private readonly active = new Set<() => void>();

  add(stop: () => void): () => void {
    this.active.add(stop);
    return () => this.active.delete(stop);
  }

  get size(): number {
    return this.active.size;
  }

  stopAll(): void {
    for (const stop of [...this.active]) stop();
  }
}

function parseTimeout(query: URLSearchParams, fallback: () => number): number {
  const text = query.get("timeoutSeconds");
  if (text === null || text === "") return fallback();
  const seconds = Number(text);
  if (!Number.isSafeInteger(seconds) || seconds < 0)
    throw badRequest(`invalid timeoutSeconds ${JSON.stringify(text)}`);
  return seconds === 0 ? fallback() : seconds;
}

/**
 * Serves `?watch=true` on `res`. Errors found before the stream starts (bad selectors, options) are
 * thrown as ApiErrors for the caller to answer with a Status; afterwards they end the stream.
 */
export async function serveWatch(
  ctx: ApiContext,
  req: ApiRequest,
  res: ServerResponse,
  registry: WatchRegistry,
): Promise<void> {
  const { def, version } = req.target;
  const options = parseListOptions(req, true);
  const timeoutSeconds = parseTimeout(req.query, ctx.watch.defaultTimeoutSeconds);
  const bookmarks = req.query.get("allowWatchBookmarks") === "true";
  const includeObject = parseIncludeObject(req.query.get("includeObject"));
  const format = req.format;

  let watch: Watch | undefined;
  let startError: Status | undefined;
  const fromStart = !options.resourceVersion || options.resourceVersion === "0";
  // From "0" the initial ADDED events show the state at or after this revision, so a bookmark may
  // name it before any event arrives (resuming from it can only repeat events, never miss one).
  let lastRv: string | undefined = fromStart
    ? await ctx.store.currentResourceVersion()
    : options.resourceVersion;
  try {
    watch = await ctx.store.watch(storeType(def), {
      namespace: options.store.namespace,
      labelSelector: options.store.labelSelector,
      fieldSelector: options.store.fieldSelector,
      resourceVersion: options.resourceVersion,
    });
  } catch (error) {
    if (!isStoreError(error, "Expired")) throw isStoreError(error) ? fromStoreError(error, def) : error;
    startError = expired(error.message).toStatus();
  }

  res.writeHead(200, {
    "content-type": format.as === "table" ? tableContentType(format.version) : "application/json",
    "cache-control": "no-cache, private",
  });
  res.flushHeaders();

  let columnsSent = false;
  const frame = (type: WatchEventType, object: KubeObject): string => {
    if (format.as !== "table" || type === "ERROR" || type === "BOOKMARK")
      return JSON.stringify({ type, object }) + "\n";
    const table = toTable(def, [object], {
      tableVersion: format.version,
      includeObject,
      now: ctx.clock.now(),
      withColumns: !columnsSent,
      resourceVersion: object.metadata.resourceVersion,
    });
    columnsSent = true;
    return JSON.stringify({ type, object: table }) + "\n";
  };

  let stopped = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    watch?.stop();
    wake?.();
  };
  const unregister = registry.add(stop);
  res.on("close", stop);
  const timeout = setTimeout(stop, timeoutSeconds * 1000);
  const keepalive = setInterval(() => {
    if (!stopped && res.writableLength === 0) res.write("\n");
  }, ctx.watch.keepaliveMs);
  const bookmarkTimer = bookmarks
    ? setInterval(() => {
        if (stopped || lastRv === undefined) return;
        const object = {
          apiVersion: apiVersionOf(def.group, version),
          kind: def.kind,
          metadata: { resourceVersion: lastRv },
        };
        res.write(frame("BOOKMARK", object as KubeObject));
      }, ctx.watch.bookmarkMs)
    : undefined;

  /** Writes a frame, waiting for the socket to drain so a slow client pushes back on the store. */
  const send = async (text: string): Promise<void> => {
    if (stopped) return;
    if (res.write(text)) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
      res.once("drain", resolve);
    });
    wake = undefined;
  };

  try {
    if (startError !== undefined) {
      await send(JSON.stringify({ type: "ERROR", object: startError }) + "\n");
    } else if (watch !== undefined) {
      const emit = async (type: WatchEventType, object: KubeObject): Promise<void> => {
        await send(frame(type, object));
        lastRv = laterRv(lastRv, object.metadata.resourceVersion);
      };
      await pump(ctx, watch, def, version, emit, () => stopped, options.fields);
    }
  } catch (error) {
    ctx.logger.warn({ err: error, resource: def.plural }, "watch ended with an error");
    if (!stopped)
      await send(JSON.stringify({ type: "ERROR", object: toApiError(error, def).toStatus() }) + "\n");
  } finally {
    clearTimeout(timeout);
    clearInterval(keepalive);
    if (bookmarkTimer !== undefined) clearInterval(bookmarkTimer);
    unregister();
    watch?.stop();
    stopped = true;
    if (!res.destroyed) res.end();
  }
}

async function pump(
  ctx: ApiContext,
  watch: Watch,
  def: ApiRequest["target"]["def"],
  version: string,
  emit: (type: WatchEventType, object: KubeObject) => Promise<void>,
  isStopped: () => boolean,
  fields: ((object: KubeObject) => boolean) | undefined,
): Promise<void> {
  try {
    for await (const event of watch) {
      if (isStopped()) break;
      // Selectors the store cannot apply (Events' involvedObject.*): events of matching objects only.
      if (fields && !fields(event.object)) continue;
      await emit(event.type, present(def, version, event.object));
    }
  } catch (error) {
    if (isStoreError(error, "Expired")) {
      await emit("ERROR", expired(error.message).toStatus() as unknown as KubeObject);
      return;
    }
    // Unavailable (the client fell too far behind, or the store closed): end the stream; clients
    // watch again from the last resourceVersion they saw.
    if (isStoreError(error, "Unavailable")) {
      ctx.logger.info({ resource: def.plural, reason: error.message }, "watch closed");
      return;
    }
    throw error;
  }
}

/** The later of two resourceVersions (decimal strings in every backend). */
export function laterRv(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return Number(b) > Number(a) ? b : a;
}
