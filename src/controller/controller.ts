// The reconcile runtime (controller-runtime pkg/internal/controller, kube-rs controller): informer
// events become keys on a WorkQueue, and workers call `reconcile(key)`, which reads the current
// state from the informers' caches, never from the event (level-based). The outcome decides what
// happens next: success forgets the key's backoff; `requeueAfterMs` looks again later; a thrown
// TerminalError is logged and counted but not retried; any other error is retried with per-key
// exponential backoff under an overall rate limit.
import type { KubeObject } from "../store/index.ts";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import { systemClock, type Clock } from "../clock/index.ts";
import { objectKey, type InformerEvent } from "./informer.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { WorkQueue } from "./work-queue.ts";

export interface ReconcileResult {
  /** Reconcile the key again after this many milliseconds (a poll), even if nothing changes. */
  readonly requeueAfterMs?: number;
}

/**
 * Brings the world in line with the object `key` (`namespace/name`) names, which may be gone.
 * `signal` aborts when the controller stops: return (or throw) promptly then.
 */
export type Reconciler = (key: string, signal: AbortSignal) => Promise<ReconcileResult>;

/** A failure retrying can not fix (invalid input the user must change): logged, counted, not retried. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TerminalError";
  }
}

/** What a controller watches: an Informer, or anything with its event surface. */
export interface EventSource {
  readonly synced: Promise<void>;
  list(): KubeObject[];
  onEvent(listener: (event: InformerEvent) => void): void;
}

/**
 * The keys an event makes due: the object's own key by default, or the keys of objects that refer
 * to it (a Service change enqueues the routes whose parent it is, found through an index).
 */
export type EventMapper = (event: InformerEvent) => Iterable<string>;

export const ownKey: EventMapper = (event) => [objectKey(event.object)];

export type ControllerMetrics = Pick<
  MeshplaneMetrics,
  "controllerQueueDepth" | "controllerReconcileDuration" | "controllerReconcileErrors" | "controllerRequeues"
>;

export interface ControllerOptions {
  /** Names the controller in logs and metrics; keep it stable and low-cardinality. */
  readonly name: string;
  readonly reconcile: Reconciler;
  /** Keys reconciled concurrently; one key is never reconciled twice at once. Default 1. */
  readonly workers?: number;
  readonly clock?: Clock;
  readonly metrics: ControllerMetrics;
  readonly logger: Logger;
  /** Delays of retries after errors. Default: defaultRateLimiter(clock): 5 ms → 1,000 s; 10 qps, burst 100. */
  readonly rateLimiter?: RateLimiter<string>;
}

type Result = "success" | "requeue_after" | "error" | "terminal_error";

export class Controller {
  readonly name: string;
  private readonly options: ControllerOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly sources: { readonly source: EventSource; readonly map: EventMapper }[] = [];
  /** The queue of the current run; events while not running are dropped (a run starts from a full list). */
  private queue: WorkQueue<string> | undefined;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger.child({ controller: options.name });
  }

  /** Enqueues `map(event)` for every event of `source`. Call before `run`. */
  watch(source: EventSource, map: EventMapper = ownKey): this {
    this.sources.push({ source, map });
    source.onEvent((event) => {
      if (this.queue) this.enqueue(this.queue, map, event);
    });
    return this;
  }

  /**
   * Waits until every watched source has synced, enqueues everything they hold, and runs the
   * workers until `signal` aborts; resolves once in-flight reconciles have returned. Keys still
   * queued then are dropped unreconciled. May run again after it resolved (a new leadership term).
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.queue) throw new Error(`controller ${this.name} is already running`);
    if (signal.aborted) return;
    const { metrics } = this.options;
    const queue = new WorkQueue<string>({
      clock: this.clock,
      ...(this.options.rateLimiter ? { rateLimiter: this.options.rateLimiter } : {}),
      onDepthChange: (depth) => metrics.controllerQueueDepth.set({ controller: this.name }, depth),
    });
    this.queue = queue;
    const stop = () => void queue.shutDown();
    signal.addEventListener("abort", stop, { once: true });
    try {
      if (!(await untilSynced(this.sources, signal))) return;
      for (const { source, map } of this.sources) {
        for (const object of source.list()) this.enqueue(queue, map, { type: "ADDED", object });
      }
      const workers = this.options.workers ?? 1;
      this.logger.info({ workers }, "controller started");
      await Promise.all(Array.from({ length: workers }, () => this.work(queue, signal)));
      this.logger.info("controller stopped");
    } finally {
      signal.removeEventListener("abort", stop);
      this.queue = undefined;
      metrics.controllerQueueDepth.set({ controller: this.name }, 0);
    }
  }

  private enqueue(queue: WorkQueue<string>, map: EventMapper, event: InformerEvent): void {
    for (const key of map(event)) queue.add(key);
  }

  private async work(queue: WorkQueue<string>, signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        if (!signal.aborted) await this.reconcileKey(queue, key, signal);
      } finally {
        queue.done(key);
      }
    }
  }

  private async reconcileKey(queue: WorkQueue<string>, key: string, signal: AbortSignal): Promise<void> {
    const { metrics, reconcile } = this.options;
    const controller = this.name;
    const started = this.clock.now();
    let result: Result;
    try {
      const { requeueAfterMs } = await reconcile(key, signal);
      queue.forget(key);
      if (requeueAfterMs === undefined) result = "success";
      else {
        queue.addAfter(key, requeueAfterMs);
        metrics.controllerRequeues.inc({ controller, reason: "requeue_after" });
        result = "requeue_after";
      }
    } catch (error) {
      if (signal.aborted) {
        // The run is ending: not a failure of this key.
        this.logger.debug({ key, err: error }, "reconcile ended by shutdown");
        return;
      }
      metrics.controllerReconcileErrors.inc({ controller });
      if (error instanceof TerminalError) {
        queue.forget(key);
        this.logger.error({ key, err: error }, "reconcile failed; not retried (terminal error)");
        result = "terminal_error";
      } else {
        queue.addRateLimited(key);
        metrics.controllerRequeues.inc({ controller, reason: "error" });
        this.logger.warn({ key, err: error, retries: queue.retries(key) }, "reconcile failed; retrying");
        result = "error";
      }
    }
    metrics.controllerReconcileDuration.observe({ controller, result }, (this.clock.now() - started) / 1000);
  }
}

/** Whether every source synced before `signal` aborted. */
async function untilSynced(
  sources: readonly { source: EventSource }[],
  signal: AbortSignal,
): Promise<boolean> {
  let onAbort = () => {};
  const aborted = new Promise<false>((resolve) => {
    onAbort = () => resolve(false);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([Promise.all(sources.map((s) => s.source.synced)).then(() => true), aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
