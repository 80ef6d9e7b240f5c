// The live feed as the page reads it: server-sent events over fetch (not EventSource, which cannot
// send an Authorization header: a token must never go in a URL). One snapshot event, then deltas;
// on any break, reconnects with backoff and starts from a snapshot. The view is kept per entry
// kind, and a delta copies only the kinds it touches: the others keep their identity, so the page
// redraws only the panels whose entries changed (a proxy-state sample leaves a thousand Services
// alone).
import type { DashboardEntry, DeltaMessage, SnapshotMessage } from "../../src/admin/dashboard-view.ts";

export type Kind = DashboardEntry["kind"];
export type EntriesOf<K extends Kind> = ReadonlyMap<string, Extract<DashboardEntry, { kind: K }>>;
export type View = { readonly [K in Kind]: EntriesOf<K> };

const kinds: readonly Kind[] = ["meta", "service", "object", "proxyGroup", "proxy", "nack", "rollout"];

type MutableView = { [K in Kind]: Map<string, DashboardEntry> };

function emptyView(): MutableView {
  return Object.fromEntries(kinds.map((kind) => [kind, new Map()])) as unknown as MutableView;
}

export const noView: View = emptyView() as unknown as View;

/** `view` with `delta` applied: the maps of the kinds it touches are copied, the others shared. */
export function applyDelta(view: View, delta: DeltaMessage): View {
  const next = { ...(view as unknown as MutableView) };
  const copied = new Set<Kind>();
  const writable = (kind: Kind) => {
    if (!copied.has(kind)) {
      copied.add(kind);
      next[kind] = new Map(next[kind]);
    }
    return next[kind];
  };
  for (const [key, entry] of Object.entries(delta.set)) writable(entry.kind).set(key, entry);
  for (const key of delta.remove) {
    const kind = kinds.find((k) => next[k].has(key));
    if (kind) writable(kind).delete(key);
  }
  return next as unknown as View;
}

function viewOf(snapshot: SnapshotMessage): View {
  const view = emptyView();
  for (const [key, entry] of Object.entries(snapshot.entries)) view[entry.kind].set(key, entry);
  return view as unknown as View;
}

export type FeedStatus =
  | { readonly state: "connecting" }
  | { readonly state: "live" }
  | { readonly state: "unauthorized" }
  | { readonly state: "retrying"; readonly reason: string };

export interface FeedHandlers {
  readonly view: (view: View) => void;
  readonly status: (status: FeedStatus) => void;
}

/** Reads the feed until `signal` aborts; stops on 401 (the caller asks for a token and calls again). */
export async function followFeed(token: string | undefined, handlers: FeedHandlers, signal: AbortSignal) {
  let backoffMs = 500;
  while (!signal.aborted) {
    handlers.status({ state: "connecting" });
    let reason: string;
    try {
      const response = await fetch("/api/events", {
        headers: { accept: "text/event-stream", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        cache: "no-store",
        signal,
      });
      if (response.status === 401) {
        handlers.status({ state: "unauthorized" });
        return;
      }
      if (!response.ok || !response.body) {
        reason = `HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`;
      } else {
        backoffMs = 500;
        await readEvents(response.body, handlers);
        reason = "the feed ended";
      }
    } catch (error) {
      if (signal.aborted) return;
      reason = error instanceof Error ? error.message : String(error);
    }
    handlers.status({ state: "retrying", reason });
    await new Promise((resolve) => setTimeout(resolve, backoffMs));
    backoffMs = Math.min(backoffMs * 2, 10_000);
  }
}

async function readEvents(body: ReadableStream<Uint8Array>, handlers: FeedHandlers): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let view = noView;
  let live = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffered.indexOf("\n\n")) !== -1) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let event = "message";
      let data = "";
      for (const line of frame.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (event === "snapshot") {
        view = viewOf(JSON.parse(data) as SnapshotMessage);
      } else if (event === "delta") {
        view = applyDelta(view, JSON.parse(data) as DeltaMessage);
      } else {
        continue; // a keepalive comment
      }
      if (!live) {
        live = true;
        handlers.status({ state: "live" });
      }
      handlers.view(view);
    }
  }
}
