// Route retry policy for proxyless gRPC (gRFC A44). gRPC retries on status codes, named as Envoy's
// `retry_on` spells them; HTTP codes count only where gRPC's HTTP-to-status mapping
// (doc/http-grpc-status-mapping.md) turns them into a retryable code.
import { create } from "@bufbuild/protobuf";
import {
  RetryPolicySchema,
  type RetryPolicy as EnvoyRetryPolicy,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { grpcRetryableHttpCodes, type RetryPolicy } from "../../mesh/index.ts";
import { durationMs } from "../proto.ts";

/** The `retry_on` names gRPC clients act on; others are ignored by them (A44). */
export const grpcRetryableCodes: ReadonlySet<string> = new Set([
  "cancelled",
  "deadline-exceeded",
  "internal",
  "resource-exhausted",
  "unavailable",
]);

/** HTTP statuses a gRPC client sees as UNAVAILABLE, the ones the mesh layer says gRPC retries. */
const httpCodesAsGrpc: ReadonlyMap<number, string> = new Map(
  grpcRetryableHttpCodes.map((code) => [code, "unavailable"]),
);

/** Default base interval of gRFC A44, used when only a maximum is given. */
const defaultBackoffBaseMs = 25;

/** The gRPC codes `retry` asks for, in the order written, without duplicates. */
export function grpcRetryOn(retry: RetryPolicy): string[] {
  const codes = [
    ...retry.grpcCodes.filter((code) => grpcRetryableCodes.has(code)),
    ...retry.httpCodes.flatMap((code) => httpCodesAsGrpc.get(code) ?? []),
  ];
  return [...new Set(codes)];
}

/**
 * The route `retry_policy`, or undefined when nothing is retryable for gRPC: no usable code, or no
 * retries (`num_retries: 0` is NACKed by grpc-js-xds, A44).
 */
export function grpcRetryPolicy(retry: RetryPolicy | undefined): EnvoyRetryPolicy | undefined {
  if (!retry || retry.attempts < 1) return undefined;
  const retryOn = grpcRetryOn(retry);
  if (retryOn.length === 0) return undefined;
  return create(RetryPolicySchema, {
    retryOn: retryOn.join(","),
    numRetries: Math.floor(retry.attempts),
    ...retryBackOff(retry.backoffBaseMs, retry.backoffMaxMs),
  });
}

/** A44 NACKs a back-off without a positive base, or with a maximum below the base. */
function retryBackOff(baseMs: number | undefined, maxMs: number | undefined) {
  const base = baseMs !== undefined && baseMs > 0 ? baseMs : undefined;
  const max = maxMs !== undefined && maxMs > 0 ? maxMs : undefined;
  if (base === undefined && max === undefined) return {};
  const effectiveBase = base ?? Math.min(defaultBackoffBaseMs, max ?? defaultBackoffBaseMs);
  return {
    retryBackOff: {
      baseInterval: durationMs(effectiveBase),
      ...(max === undefined ? {} : { maxInterval: durationMs(Math.max(max, effectiveBase)) }),
    },
  };
}
