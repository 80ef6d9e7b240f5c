// Watch plumbing shared by the backends: how one committed change looks to a filtered watcher
// (selector transitions become ADDED/DELETED, as the apiserver cache watcher does in
// convertToWatchEvent), and a bounded async queue per watcher.
import { unavailable, type StoreError } from "./errors.ts";
import { deepFreeze, withResourceVersion } from "./objects.ts";
import type { ObjectFilter } from "./selectors.ts";
import type { KubeObject, Watch, WatchEvent, WatchEventType } from "./types.ts";

/** One committed change of one object, as every backend records it. */
export interface ChangeEvent {
  readonly rv: number;
  readonly type: WatchEventType;
  /** The new state; for DELETED the last state with the deletion's resourceVersion. Frozen. */
  readonly object: KubeObject;
  /** The state before the change (MODIFIED, DELETED), when known. Frozen. */
  readonly prev?: KubeObject | undefined;
}

/** What `change` means to a watcher with `filter`; undefined when it does not concern it. */
export function project(filter: ObjectFilter, change: ChangeEvent): WatchEvent | undefined {
  const matchesNow = change.type !== "DELETED" && filter.matches(change.object);
  const prev = change.prev;
  // Without the previous state (etcd compacted it before the watcher caught up) assume the watcher
  // had the object unless it matches now: a spare DELETED is harmless, a missing one is not.
  const matchedBefore =
    change.type !== "ADDED" && (prev !== undefined ? filter.matches(prev) : filter.everything || !matchesNow);
  if (matchesNow) return { type: matchedBefore ? "MODIFIED" : "ADDED", object: change.object };
  if (!matchedBefore) return undefined;
  if (change.type === "DELETED") return { type: "DELETED", object: change.object };
  // Stopped matching: the previous content at the event's resourceVersion.
  return { type: "DELETED", object: deepFreeze(withResourceVersion(prev ?? change.object, change.rv)) };
}

export interface WatchStreamOptions {
  /** Live events that may wait for the consumer before the watch fails with Unavailable. */
  readonly maxPending: number;
  /** Called once when the watch ends for any reason (unregister it). */
  readonly onEnd: () => void;
}

type Waiter = { resolve: (r: IteratorResult<WatchEvent>) => void; reject: (e: unknown) => void };

/**
 * The consumer side of a watch: events queue until read. A consumer that falls `maxPending` live
 * events behind loses the watch (Unavailable) instead of growing memory without bound; it resumes
 * by watching again from the last resourceVersion it processed.
 */
export class WatchStream implements Watch, AsyncIterator<WatchEvent> {
  private queue: WatchEvent[] = [];
  private head = 0;
  private waiter: Waiter | undefined;
  private state: "open" | "ended" | "failed" = "open";
  private error: StoreError | undefined;
  private initial = 0;
  private readonly options: WatchStreamOptions;
  private resolveEnded: () => void = () => {};
  /** Resolves when the watch ends, for any reason. */
  readonly ended: Promise<void>;

  constructor(options: WatchStreamOptions) {
    this.options = options;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  get open(): boolean {
    return this.state === "open";
  }

  /** Queues a synthetic or replayed event; these do not count against `maxPending`. */
  pushInitial(event: WatchEvent): void {
    this.push(event, true);
  }

  push(event: WatchEvent, initial = false): void {
    if (this.state !== "open") return;
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve({ value: event, done: false });
      return;
    }
    this.queue.push(event);
    if (initial) this.initial++;
    if (this.queue.length - this.head > this.options.maxPending + this.initial) {
      this.queue = [];
      this.head = 0;
      this.fail(
        unavailable(
          `watch consumer fell more than ${this.options.maxPending} events behind; watch again from the last resourceVersion received`,
        ),
      );
    }
  }

  /** Ends the watch with an error, delivered after the events already queued. */
  fail(error: StoreError): void {
    if (this.state !== "open") return;
    this.state = "failed";
    this.error = error;
    this.settle();
  }

  /** Ends the watch normally. */
  stop(): void {
    if (this.state !== "open") return;
    this.state = "ended";
    this.queue = [];
    this.head = 0;
    this.settle();
  }

  private settle(): void {
    this.options.onEnd();
    this.resolveEnded();
    const waiter = this.waiter;
    this.waiter = undefined;
    if (!waiter) return;
    if (this.state === "failed") waiter.reject(this.error);
    else waiter.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<WatchEvent>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++] as WatchEvent;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (this.initial > 0) this.initial--;
      return Promise.resolve({ value, done: false });
    }
    if (this.state === "failed") {
      this.state = "ended";
      return Promise.reject(this.error);
    }
    if (this.state === "ended") return Promise.resolve({ value: undefined, done: true });
    if (this.waiter) return Promise.reject(new Error("watch: next() called while another next() is pending"));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<WatchEvent>> {
    this.stop();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return this;
  }
}
