// Route retry policy for Envoy. Gateway API (GEP-1731) retries on HTTP status codes and SHOULD
// retry connection errors whenever a retry stanza exists; a TrafficPolicy adds gRPC status names,
// which Envoy's `retry_on` understands as written (`unavailable`, `resource-exhausted`, ...).
// `timeouts.backendRequest` is Envoy's per-try timeout, which also applies without retries.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  RetryPolicySchema,
  type RetryPolicy as EnvoyRetryPolicy,
  type RetryPolicy_RetryBackOffSchema,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import type { RetryPolicy } from "../../mesh/index.ts";
import { durationMs } from "../proto.ts";

/** Envoy's default base interval, used when only a maximum back-off is given. */
const defaultBackoffBaseMs = 25;

/** Connection failures are retried whenever retries are on (GEP-1731). */
const connectionErrors = ["connect-failure", "refused-stream"];

export function envoyRetryPolicy(
  retry: RetryPolicy | undefined,
  perTryTimeoutMs: number | undefined,
): EnvoyRetryPolicy | undefined {
  const perTry = perTryTimeoutMs !== undefined && perTryTimeoutMs > 0 ? perTryTimeoutMs : undefined;
  const retrying = retry !== undefined && retry.attempts >= 1;
  if (!retrying && perTry === undefined) return undefined;
  const perTryTimeout = perTry === undefined ? {} : { perTryTimeout: durationMs(perTry) };
  // Envoy retries once when `num_retries` is unset, so a per-try timeout alone says 0.
  if (!retrying) return create(RetryPolicySchema, { numRetries: 0, ...perTryTimeout });
  const codes = [...new Set(retry.httpCodes)];
  const retryOn = [
    ...connectionErrors,
    ...(codes.length > 0 ? ["retriable-status-codes"] : []),
    ...new Set(retry.grpcCodes),
  ];
  const backOff = retryBackOff(retry.backoffBaseMs, retry.backoffMaxMs);
  return create(RetryPolicySchema, {
    retryOn: retryOn.join(","),
    numRetries: Math.floor(retry.attempts),
    retriableStatusCodes: codes,
    ...perTryTimeout,
    ...(backOff && { retryBackOff: backOff }),
  });
}

/** Envoy requires a positive base interval and a maximum no smaller than it. */
function retryBackOff(
  baseMs: number | undefined,
  maxMs: number | undefined,
): MessageInitShape<typeof RetryPolicy_RetryBackOffSchema> | undefined {
  const base = baseMs !== undefined && baseMs > 0 ? baseMs : undefined;
  const max = maxMs !== undefined && maxMs > 0 ? maxMs : undefined;
  if (base === undefined && max === undefined) return undefined;
  const effectiveBase = base ?? Math.min(defaultBackoffBaseMs, max ?? defaultBackoffBaseMs);
  return {
    baseInterval: durationMs(effectiveBase),
    ...(max === undefined ? {} : { maxInterval: durationMs(Math.max(max, effectiveBase)) }),
  };
}
