// Leader election: only one replica runs the controllers and writes status; xDS and the admin
// server run everywhere (controller-runtime pkg/manager, LeaderElectionRunnable). A leadership
// term starts with `onStartedLeading(signal)` and ends with `signal` aborting and
// `onStoppedLeading()`, at once when the lease is lost, so the old leader stops acting before
// anyone else can start. The holder is described as a coordination.k8s.io/v1 Lease spec.
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { Logger } from "../telemetry/index.ts";
import { systemClock, type Clock } from "../clock/index.ts";

/** The spec of a coordination.k8s.io/v1 Lease; times are MicroTime (RFC 3339, microseconds). */
export interface LeaseRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: string;
  readonly renewTime: string;
  /** Changes of holder; counted by the contenders, so it restarts at 0 when none saw the last holder. */
  readonly leaseTransitions: number;
}

export interface LeaderCallbacks {
  /**
   * This replica now leads. Run the leader-only work until `signal` aborts; a returned promise is
   * awaited before the lease is released on `stop()`, so the next leader never overlaps it.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Leadership ended (lost or stopped); called right after the term's signal aborted. */
  onStoppedLeading(): void;
}

export interface LeaderElector {
  /** This replica's identity: the Lease's holderIdentity while it leads. */
  readonly identity: string;
  readonly isLeader: boolean;
  /** The current holder as last observed; undefined when nobody holds the lease. */
  holder(): LeaseRecord | undefined;
  /**
   * Campaigns, leads, and campaigns again after losing the lease, until `stop()`; resolves then.
   * Callbacks run once per term, always paired.
   */
  run(callbacks: LeaderCallbacks): Promise<void>;
  /** Ends the current term (if any) and releases the lease at once, so another replica takes over. */
  stop(): Promise<void>;
}

/** The reason a term's signal aborted with. */
export class LeadershipLostError extends Error {
  constructor(reason: string) {
    super(`leadership lost: ${reason}`);
    this.name = "LeadershipLostError";
  }
}

/** `hostname_uuid`, like client-go's default identity: unique per process. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

/** Kubernetes MicroTime: `2006-01-02T15:04:05.000000Z`. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Starts a term: calls onStartedLeading, keeping its promise so the term's end can await it. */
export function startTerm(callbacks: LeaderCallbacks, signal: AbortSignal, logger: Logger): Promise<void> {
  try {
    return Promise.resolve(callbacks.onStartedLeading(signal)).catch((error: unknown) =>
      logger.error({ err: error }, "leader work failed"),
    );
  } catch (error) {
    logger.error({ err: error }, "leader work failed");
    return Promise.resolve();
  }
}

export interface LocalLeaderElectorOptions {
  readonly identity?: string;
  readonly clock?: Clock;
  readonly logger: Logger;
}

/**
 * For the single-process stores (memory, sqlite): nobody else can write them, so this replica
 * leads at once and until stopped. Its record's leaseDurationSeconds is 0: the lease never expires.
 */
export class LocalLeaderElector implements LeaderElector {
  readonly identity: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private record: LeaseRecord | undefined;
  private term: { abort: AbortController; work: Promise<void>; callbacks: LeaderCallbacks } | undefined;
  private stopped: (() => void) | undefined;

  constructor(options: LocalLeaderElectorOptions) {
    this.identity = options.identity ?? defaultIdentity();
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
  }

  get isLeader(): boolean {
    return this.term !== undefined;
  }

  holder(): LeaseRecord | undefined {
    return this.record;
  }

  run(callbacks: LeaderCallbacks): Promise<void> {
    if (this.stopped) return Promise.reject(new Error("leader elector is already running"));
    const now = microTime(this.clock.now());
    this.record = {
      holderIdentity: this.identity,
      leaseDurationSeconds: 0,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    const abort = new AbortController();
    const done = new Promise<void>((resolve) => (this.stopped = resolve));
    this.term = { abort, callbacks, work: startTerm(callbacks, abort.signal, this.logger) };
    return done;
  }

  async stop(): Promise<void> {
    const term = this.term;
    if (!term) return;
    this.term = undefined;
    this.record = undefined;
    term.abort.abort(new LeadershipLostError("stopped"));
    term.callbacks.onStoppedLeading();
    await term.work;
    this.stopped?.();
    this.stopped = undefined;
  }
}
