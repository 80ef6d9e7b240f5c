// Leader election on etcd (the Kubernetes Lease API's shape, etcd's lease mechanics). A contender
// takes the lease key `<prefix>/<name>` by a transaction that creates it only if it does not exist,
// attached to an etcd lease of `leaseDurationSeconds`, holding the Lease record as JSON; followers
// watch the key and campaign when it is deleted (revoked, expired, released).
//
// Safety: the leader counts a local deadline from when it SENT the last renewal etcd accepted;
// etcd can expire the lease no earlier than that plus the TTL. With no renewal by the deadline
// minus `safetyMarginMs` the leader steps down (its signal aborts) before etcd could hand the key
// to anyone else, whatever etcd or the network do. Losing the key in any other way (revoked,
// deleted, taken over) steps down at once as well.
import { Etcd3, EtcdLeaseInvalidError, type IKeyValue, type IOptions } from "etcd3";
import type { Logger } from "../telemetry/index.ts";
import { sleep, systemClock, type Clock } from "../clock/index.ts";
import { grantLease, keepAliveOnce, revokeLease, within } from "./etcd-lease.ts";
import {
  LeadershipLostError,
  defaultIdentity,
  microTime,
  startTerm,
  type LeaderCallbacks,
  type LeaderElector,
  type LeaseRecord,
} from "./leader-election.ts";

/** An existing client (left open), or the hosts to build one from (closed when `run` ends). */
export type EtcdConnection = { readonly client: Etcd3 } | { readonly hosts: string | string[] };

export type EtcdLeaderElectorOptions = EtcdConnection & {
  /** The lease's name: its key is `<keyPrefix>/<name>`. */
  readonly name: string;
  /** Default `/meshplane/leases`. */
  readonly keyPrefix?: string;
  /** Default `hostname_uuid`. */
  readonly identity?: string;
  /** The etcd lease's TTL, and how long a crashed leader blocks a successor. Default 15. */
  readonly leaseDurationSeconds?: number;
  /**
   * How long before the lease could expire the leader steps down when renewals fail: room for
   * the step-down to take effect and for timer lateness. Default a fifth of the lease, at least 500 ms.
   */
  readonly safetyMarginMs?: number;
  /** Pause before retrying a failed etcd request, and before campaigning after a term. Default 500 ms. */
  readonly retryIntervalMs?: number;
  readonly clock?: Clock;
  readonly logger: Logger;
};

/** One leadership term as the renewal loop and the key watch see it. */
interface Term {
  readonly leaseId: string;
  record: LeaseRecord;
  /** Ends the term: aborts its signal and calls onStoppedLeading, at once; idempotent. */
  end(reason: string): void;
  /** Whether the term ended (the lease may still be renewed until `release` aborts). */
  readonly over: AbortSignal;
  /** Stops renewing the lease. */
  readonly release: AbortController;
  /** A renewal sent at `sentAt` succeeded with `ttlSeconds`: move the deadline. */
  renewed(sentAt: number, ttlSeconds: number): void;
}

export class EtcdLeaderElector implements LeaderElector {
  readonly identity: string;
  private readonly options: EtcdLeaderElectorOptions;
  private readonly key: string;
  private readonly ttl: number;
  private readonly marginMs: number;
  private readonly renewIntervalMs: number;
  private readonly retryMs: number;
  /** Deadline of each etcd request: a hung request must not outlive a renewal interval by much. */
  private readonly requestTimeoutMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** The holder as last seen in etcd. */
  private observed: LeaseRecord | undefined;
  /** The last holder seen at all, kept after its key vanished, to count transitions. */
  private lastKnown: LeaseRecord | undefined;
  /** Our leases that may still exist in etcd: revoked before the next campaign. */
  private readonly abandoned = new Set<string>();
  private term: Term | undefined;
  private stopping: AbortController | undefined;
  private running: Promise<void> | undefined;

  constructor(options: EtcdLeaderElectorOptions) {
    this.options = options;
    this.identity = options.identity ?? defaultIdentity();
    this.key = `${(options.keyPrefix ?? "/meshplane/leases").replace(/\/+$/, "")}/${options.name}`;
    this.ttl = options.leaseDurationSeconds ?? 15;
    if (!Number.isInteger(this.ttl) || this.ttl < 2) {
      throw new RangeError(`leaseDurationSeconds must be an integer of at least 2, got ${this.ttl}`);
    }
    this.marginMs = options.safetyMarginMs ?? Math.max(500, (this.ttl * 1000) / 5);
    this.renewIntervalMs = (this.ttl * 1000) / 3;
    this.retryMs = options.retryIntervalMs ?? 500;
    this.requestTimeoutMs = Math.max(1000, this.renewIntervalMs);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger.child({ lease: this.key, identity: this.identity });
  }

  get isLeader(): boolean {
    return this.term !== undefined && !this.term.over.aborted;
  }

  holder(): LeaseRecord | undefined {
    return this.observed;
  }

  run(callbacks: LeaderCallbacks): Promise<void> {
    if (this.running) return Promise.reject(new Error("leader elector is already running"));
    const stopping = new AbortController();
    this.stopping = stopping;
    this.running = this.campaign(callbacks, stopping.signal).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopping?.abort();
    this.term?.end("stopped");
    await this.running;
  }

  private async campaign(callbacks: LeaderCallbacks, stopped: AbortSignal): Promise<void> {
    const owned = "hosts" in this.options;
    const client =
      "client" in this.options
        ? this.options.client
        : new Etcd3({ hosts: this.options.hosts, faultHandling: { watchBackoff: watchBackoff(100) } });
    try {
      while (!stopped.aborted) {
        try {
          await this.campaignOnce(client, callbacks, stopped);
        } catch (error) {
          if (stopped.aborted) break;
          this.logger.warn({ err: error, retryInMs: this.retryMs }, "leader election: etcd request failed");
          await sleep(this.clock, this.retryMs, stopped);
        }
      }
      await this.releaseAbandoned(client).catch((error: unknown) =>
        this.logger.warn({ err: error }, "could not revoke old leases; they expire by themselves"),
      );
    } finally {
      this.observed = undefined;
      if (owned) client.close();
    }
  }

  /** Follows the current holder until the key is free, or takes it and leads. */
  private async campaignOnce(client: Etcd3, callbacks: LeaderCallbacks, stopped: AbortSignal): Promise<void> {
    await this.releaseAbandoned(client);
    const current = await client.get(this.key).options(within(this.requestTimeoutMs)).exec();
    const held = current.kvs[0];
    if (held) {
      this.observe(held);
      await this.waitForVacancy(client, current.header.revision, stopped);
      return;
    }
    this.observed = undefined;
    const acquired = await this.acquire(client);
    if (!acquired || stopped.aborted) return;
    await this.lead(client, acquired, callbacks);
    // A replica that lost its lease is the likelier one to be in trouble (or an operator revoked
    // it to move leadership): let the others take over first.
    await sleep(this.clock, this.retryMs, stopped);
  }

  private async releaseAbandoned(client: Etcd3): Promise<void> {
    for (const id of [...this.abandoned]) {
      await revokeLease(client, id, this.requestTimeoutMs);
      this.abandoned.delete(id);
    }
  }

  /**
   * Resolves when the key is deleted, on stop, or after a lease duration at the latest (a missed
   * event must not strand a follower); rejects when the watch fails.
   */
  private waitForVacancy(client: Etcd3, revision: string, stopped: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const watcher = client
        .watch()
        .key(this.key)
        .startRevision(String(Number(revision) + 1))
        .watcher();
      let finished = false;
      const finish = (error?: Error) => {
        if (finished) return;
        finished = true;
        timer.cancel();
        stopped.removeEventListener("abort", onStop);
        watcher.cancel().catch(() => {});
        if (error === undefined) resolve();
        else reject(error);
      };
      const onStop = () => finish();
      watcher.on("put", (kv: IKeyValue) => {
        if (!finished) this.observe(kv);
      });
      watcher.on("delete", () => {
        if (finished) return;
        this.observed = undefined;
        finish();
      });
      watcher.on("error", (error: Error) => finish(error));
      const timer = this.clock.after(this.ttl * 1000, () => finish());
      stopped.addEventListener("abort", onStop, { once: true });
    });
  }

  /** Takes the key if it is free: the Lease record under a new etcd lease, or undefined if another won. */
  private async acquire(
    client: Etcd3,
  ): Promise<{ leaseId: string; deadline: number; revision: string; record: LeaseRecord } | undefined> {
    const sentAt = this.clock.now();
    const lease = await grantLease(client, this.ttl, this.requestTimeoutMs);
    // Revoked before the next campaign unless a term takes it over (lead removes it).
    this.abandoned.add(lease.id);
    const now = microTime(this.clock.now());
    const record: LeaseRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: lease.ttlSeconds,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: this.nextTransitions(),
    };
    const txn = await client
      .if(this.key, "Create", "==", 0)
      .then(client.put(this.key).value(JSON.stringify(record)).lease(lease.id))
      .else(client.get(this.key))
      .options(within(this.requestTimeoutMs))
      .commit();
    if (!txn.succeeded) {
      const kv = txn.responses[0]?.response_range.kvs[0];
      if (kv) this.observe(kv);
      return undefined;
    }
    return {
      leaseId: lease.id,
      deadline: sentAt + lease.ttlSeconds * 1000 - this.marginMs,
      revision: txn.header.revision,
      record,
    };
  }

  private nextTransitions(): number {
    const last = this.lastKnown;
    if (!last) return 0;
    return last.holderIdentity === this.identity ? last.leaseTransitions : last.leaseTransitions + 1;
  }

  private async lead(
    client: Etcd3,
    acquired: { leaseId: string; deadline: number; revision: string; record: LeaseRecord },
    callbacks: LeaderCallbacks,
  ): Promise<void> {
    const signal = new AbortController();
    const release = new AbortController();
    let endReason = "";
    const ended = new Promise<void>((resolve) => signal.signal.addEventListener("abort", () => resolve()));
    const stepDownAt = (at: number) =>
      this.clock.after(at - this.clock.now(), () => term.end("no lease renewal succeeded in time"));
    let deadline = stepDownAt(acquired.deadline);
    const term: Term = {
      leaseId: acquired.leaseId,
      record: acquired.record,
      over: signal.signal,
      release,
      end: (reason) => {
        if (signal.signal.aborted) return;
        endReason = reason;
        deadline.cancel();
        signal.abort(new LeadershipLostError(reason));
        if (reason === "stopped") this.logger.info("stopped leading");
        else this.logger.warn({ reason }, "lost the lease; stopped leading");
        try {
          callbacks.onStoppedLeading();
        } catch (error) {
          this.logger.error({ err: error }, "onStoppedLeading failed");
        }
      },
      renewed: (sentAt, ttlSeconds) => {
        if (signal.signal.aborted) return;
        deadline.cancel();
        deadline = stepDownAt(sentAt + ttlSeconds * 1000 - this.marginMs);
      },
    };
    this.term = term;
    this.abandoned.delete(acquired.leaseId);
    this.observed = acquired.record;
    this.lastKnown = acquired.record;
    const cancelWatch = this.watchOwnKey(client, term, acquired.revision);
    const renewing = this.renew(client, term);
    this.logger.info({ leaseTransitions: acquired.record.leaseTransitions }, "started leading");
    const work = startTerm(callbacks, signal.signal, this.logger);
    await ended;
    cancelWatch();
    if (endReason === "stopped") {
      // Keep renewing until the leader work has wound down, then hand over at once.
      await work;
      release.abort();
      await renewing;
      this.observed = undefined;
      await revokeLease(client, term.leaseId, this.requestTimeoutMs).catch((error: unknown) => {
        this.abandoned.add(term.leaseId);
        this.logger.warn({ err: error }, "could not release the lease; it expires by itself");
      });
    } else {
      release.abort();
      this.abandoned.add(term.leaseId);
      await Promise.all([renewing, work]);
    }
    this.term = undefined;
  }

  /** Renews every third of the lease (sooner after a failure) and records renewTime in the key. */
  private async renew(client: Etcd3, term: Term): Promise<void> {
    let delay = this.renewIntervalMs;
    for (;;) {
      await sleep(this.clock, delay, term.release.signal);
      if (term.release.signal.aborted) return;
      const sentAt = this.clock.now();
      try {
        const ttl = await keepAliveOnce(client, term.leaseId, this.requestTimeoutMs);
        term.renewed(sentAt, ttl);
        if (!term.over.aborted) await this.recordRenewal(client, term);
        delay = this.renewIntervalMs;
      } catch (error) {
        if (error instanceof EtcdLeaseInvalidError) return term.end("the lease expired or was revoked");
        if (!term.release.signal.aborted) this.logger.warn({ err: error }, "lease renewal failed; retrying");
        delay = this.retryMs;
      }
    }
  }

  /** Writes renewTime into the key, only while the key is still attached to our lease. */
  private async recordRenewal(client: Etcd3, term: Term): Promise<void> {
    const record = { ...term.record, renewTime: microTime(this.clock.now()) };
    const txn = await client
      .if(this.key, "Lease", "==", term.leaseId)
      .then(client.put(this.key).value(JSON.stringify(record)).lease(term.leaseId))
      .options(within(this.requestTimeoutMs))
      .commit();
    if (!txn.succeeded) return term.end("the lease key is no longer ours");
    term.record = record;
    if (!term.over.aborted) this.observed = this.lastKnown = record;
  }

  /** Ends the term as soon as the key is deleted or rewritten under another lease. */
  private watchOwnKey(client: Etcd3, term: Term, revision: string): () => void {
    const watcher = client
      .watch()
      .key(this.key)
      .startRevision(String(Number(revision) + 1))
      .watcher();
    let cancelled = false;
    watcher.on("delete", () => {
      if (cancelled || term.over.aborted) return;
      this.observed = undefined;
      term.end("the lease key was deleted (lease revoked or expired)");
    });
    watcher.on("put", (kv: IKeyValue) => {
      if (cancelled || kv.lease === term.leaseId) return;
      this.observe(kv);
      term.end("the lease key was taken over");
    });
    // Renewals still guard the term without the watch: they fail once the lease is gone.
    watcher.on("error", (error: Error) => {
      if (!cancelled) this.logger.warn({ err: error }, "watch of the lease key failed");
    });
    return () => {
      cancelled = true;
      watcher.cancel().catch(() => {});
    };
  }

  private observe(kv: IKeyValue): void {
    const record = parseRecord(kv.value.toString("utf8"));
    if (!record) this.logger.warn("the lease key holds no Lease record");
    this.observed = record;
    if (record) this.lastKnown = record;
  }
}

type Backoff = NonNullable<NonNullable<IOptions["faultHandling"]>["watchBackoff"]>;

/**
 * Watch reconnects back off from 100 ms to at most 1 s (the client's default grows to 30 s, and
 * its pending retry timer keeps the process alive that long after close).
 */
function watchBackoff(duration: number): Backoff {
  return { duration, next: () => watchBackoff(Math.min(duration * 2, 1000)) };
}

function parseRecord(json: string): LeaseRecord | undefined {
  try {
    const value = JSON.parse(json) as Partial<LeaseRecord> | null;
    if (typeof value?.holderIdentity !== "string") return undefined;
    return {
      holderIdentity: value.holderIdentity,
      leaseDurationSeconds: Number(value.leaseDurationSeconds ?? 0),
      acquireTime: String(value.acquireTime ?? ""),
      renewTime: String(value.renewTime ?? ""),
      leaseTransitions: Number(value.leaseTransitions ?? 0),
    };
  } catch {
    return undefined;
  }
}
