// The etcd3 client as the etcd store uses it with several members: which member a request goes
// to, when it is retried elsewhere, when a member is skipped, and how watches reconnect.
import * as grpc from "@grpc/grpc-js";
import { Etcd3, GRPCDeadlineExceededError, isRecoverableError, type IOptions } from "etcd3";
import { isNoLeader } from "./etcd-watch.ts";
import { StoreUnavailableError, unavailable } from "./errors.ts";

/**
 * A client for `hosts` (client URLs): unary requests carry a deadline of `requestTimeoutMs`;
 * linearizable requests and watches require a leader (etcd answers "no leader" at once instead of
 * queueing them); serializable reads do not, so they still answer from a member without quorum.
 */
export function createEtcdClient(hosts: string | string[], requestTimeoutMs: number): Etcd3 {
  const members = typeof hosts === "string" ? [hosts] : hosts;
  return new Etcd3({
    hosts: members,
    defaultCallOptions: (context) => {
      const serializable = context.method === "range" && context.params.serializable === true;
      const interceptors = serializable ? [] : [requireLeader];
      return context.isStream ? { interceptors } : { deadline: Date.now() + requestTimeoutMs, interceptors };
    },
    faultHandling: {
      host: () => new MemberBreaker(),
      global: new RetryOnOtherMembers(members.length),
      watchBackoff: watchBackoff(100),
    },
  });
}

/**
 * With this metadata etcd refuses a request with "no leader" instead of queueing it (etcd's
 * `rpctypes.MetadataRequireLeaderKey`, what Go's clientv3.WithRequireLeader sends).
 */
const requireLeader: grpc.Interceptor = (options, nextCall) =>
  new grpc.InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set("hasleader", "true");
      next(metadata, listener);
    },
  });

type FaultPolicy = ReturnType<NonNullable<NonNullable<IOptions["faultHandling"]>["host"]>>;
type Backoff = NonNullable<NonNullable<IOptions["faultHandling"]>["watchBackoff"]>;

/** How long a member that keeps failing is skipped, and how often a request waits for one to return. */
const skipMs = 1000;
const skipRetryMs = 100;

const noEvent = () => ({ dispose: () => undefined });
const neverAborted = new AbortController().signal;

/**
 * The member itself failed (refused, reset, unreachable), as opposed to answering without a
 * leader or running out of time: only these count against a member.
 */
function isMemberFault(error: unknown): boolean {
  return (
    error instanceof Error &&
    isRecoverableError(error) &&
    !isNoLeader(error) &&
    !(error instanceof GRPCDeadlineExceededError)
  );
}

/**
 * Per member: after 3 faults in a row the member is skipped for a second (the client then picks
 * another), then tried again; one more fault skips it again. The client's default waits 5 s and
 * counts "no leader" against the member, which would also block the serializable reads that still
 * work there.
 */
class MemberBreaker implements FaultPolicy {
  declare readonly _altReturn: never;
  readonly onSuccess = noEvent;
  readonly onFailure = noEvent;
  private faults = 0;
  private skipUntil = 0;

  async execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> {
    if (Date.now() < this.skipUntil) {
      throw unavailable(
        `etcd is unreachable: the member failed ${this.faults} times in a row and is skipped for a second`,
        undefined,
        "Unreachable",
      );
    }
    try {
      const value = await fn({ signal: neverAborted });
      this.faults = 0;
      return value;
    } catch (error) {
      if (!isMemberFault(error)) this.faults = 0;
      else if (++this.faults >= 3) this.skipUntil = Date.now() + skipMs;
      throw error;
    }
  }
}

/**
 * Tries a request on up to every member (the client moves to the next one of its shuffle) while
 * failures are transient. A deadline is not retried: the bound is per operation. When one member
 * answered "no leader", that is what is reported, not the refused connections of the others.
 */
class RetryOnOtherMembers implements FaultPolicy {
  declare readonly _altReturn: never;
  readonly onSuccess = noEvent;
  readonly onFailure = noEvent;
  private readonly attempts: number;

  constructor(members: number) {
    // Enough rounds to outlast one member skip (skipMs) while every member is skipped.
    this.attempts = Math.max(2, members) + Math.ceil(skipMs / skipRetryMs);
  }

  async execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> {
    let noLeader: unknown;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn({ signal: neverAborted });
      } catch (error) {
        if (isNoLeader(error)) noLeader = error;
        // A skipped member (MemberBreaker) is transient too: the next attempt goes to another one.
        const transient =
          error instanceof StoreUnavailableError ||
          (error instanceof Error &&
            isRecoverableError(error) &&
            !(error instanceof GRPCDeadlineExceededError));
        if (!transient || attempt >= this.attempts) throw noLeader ?? error;
        // Every member skipped: wait for the first skip to end rather than spin through them.
        if (error instanceof StoreUnavailableError) await new Promise((r) => setTimeout(r, skipRetryMs));
      }
    }
  }
}

/**
 * Watch reconnects back off from 100 ms to at most 2 s (the client's default grows to 30 s), so
 * watches resume from their last revision soon after etcd is back.
 */
function watchBackoff(duration: number): Backoff {
  return { duration, next: () => watchBackoff(Math.min(duration * 2, 2000)) };
}
