// The live feed as the page reads it: server-sent events over fetch (not EventSource, which cannot
// send an Authorization header: a token must never go in a URL). One snapshot event, then deltas
// applied to a copy of the view; on any break, reconnects with backoff and starts from a snapshot.
import type { DashboardEntry, DeltaMessage, SnapshotMessage } from "../../src/admin/dashboard-view.ts";

export type View = ReadonlyMap<string, DashboardEntry>;

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
  let view = new Map<string, DashboardEntry>();
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
        view = new Map(Object.entries((JSON.parse(data) as SnapshotMessage).entries));
      } else if (event === "delta") {
        const delta = JSON.parse(data) as DeltaMessage;
        view = new Map(view);
        for (const [key, entry] of Object.entries(delta.set)) view.set(key, entry);
        for (const key of delta.remove) view.delete(key);
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
