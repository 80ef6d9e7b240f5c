// How the etcd store reports outcomes etcd leaves ambiguous: a retried write whose first attempt
// landed, and the Unavailable errors of refused or timed-out operations, worded for kubectl users.
import type { IKeyValue, ITxnResponse } from "etcd3";
import { degradedSuffix } from "./etcd-watch.ts";
import { unavailable, type StoreError, type StoreUnavailableError } from "./errors.ts";

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable(`${message} within ${ms} ms`, undefined, "Timeout")), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The revision of a write that the client retried after losing its answer and that etcd had
 * applied: the key now holds exactly the value written (or is gone, for a delete), newer than the
 * revision the write compared against. Undefined when someone else changed the key.
 */
export function ownWriteRevision(
  response: ITxnResponse,
  read: IKeyValue,
  value: string | undefined,
): number | undefined {
  const now = response.responses[0]?.response_range?.kvs[0];
  if (value === undefined) return now === undefined ? Number(response.header.revision) : undefined;
  if (now === undefined || Number(now.mod_revision) <= Number(read.mod_revision)) return undefined;
  return now.value.toString("utf8") === value ? Number(now.mod_revision) : undefined;
}

/**
 * A write that failed because etcd is unavailable, whichever step found out (the read before the
 * transaction, a skipped member): say what that means for the user, once.
 */
export function refusedWrite(error: StoreError): StoreError {
  if (error.code !== "Unavailable" || error.message.includes(degradedSuffix)) return error;
  return unavailable(
    `etcd has no quorum or is unreachable: ${error.message.replace(/^etcd( is unreachable)?: /, "")}; ${degradedSuffix}`,
    error,
    (error as StoreUnavailableError).reason,
  );
}

/** The Unavailable error of an operation that ran out of time. */
export function timedOut(kind: "read" | "write", ms: number) {
  return kind === "write"
    ? unavailable(
        `etcd has no quorum or is overloaded: the write was not committed within ${ms} ms (it may still be applied later); ${degradedSuffix}`,
        undefined,
        "Timeout",
      )
    : unavailable(`etcd did not answer within ${ms} ms`, undefined, "Timeout");
}
