// Metric providers: where an analysis reads a number from. Prometheus through its HTTP API
// (instant query, https://prometheus.io/docs/prometheus/latest/querying/api/#instant-queries) and
// a plain HTTP webhook answering JSON. Every failure to read a value (unreachable, an error status,
// an answer that is not one number) comes back as a Reading with an error, which the analysis
// judges inconclusive. Answers are untrusted input: bounded by the object limits (src/limits).
import type { Clock } from "../clock/index.ts";
import { DecodeError, LimitExceededError, decodeJson, excerpt, type ObjectLimits } from "../limits/index.ts";
import { parseDurationMs, type RolloutMetric } from "../api/index.ts";
import type { MeshplaneMetrics } from "../telemetry/index.ts";
import type { Reading } from "./judge.ts";
import { prometheusQuery } from "./templates.ts";

export interface MetricReader {
  /** Reads `metric` for a rollout whose canary backend is `canaryBackend`. Never throws. */
  read(metric: RolloutMetric, canaryBackend: string, signal: AbortSignal): Promise<Reading>;
}

export interface HttpMetricReaderOptions {
  readonly clock: Clock;
  readonly limits: ObjectLimits;
  readonly metrics: Pick<MeshplaneMetrics, "inputRefusals">;
  /** Per request, unless the metric sets its own timeout. Default 5 s. */
  readonly timeoutMs?: number;
}

/** Reads metrics over HTTP: Prometheus instant queries and webhooks. */
export class HttpMetricReader implements MetricReader {
  private readonly options: HttpMetricReaderOptions;

  constructor(options: HttpMetricReaderOptions) {
    this.options = options;
  }

  async read(metric: RolloutMetric, canaryBackend: string, signal: AbortSignal): Promise<Reading> {
    if (metric.prometheus) {
      const query = prometheusQuery(metric.prometheus, canaryBackend);
      const url = new URL("api/v1/query", withSlash(metric.prometheus.address));
      url.searchParams.set("query", query);
      const answer = await this.getJson(url, this.options.timeoutMs ?? 5000, signal);
      return "error" in answer
        ? { error: `prometheus ${url.origin}: ${answer.error}` }
        : prometheusValue(answer.json);
    }
    if (metric.web) {
      const timeout = metric.web.timeout
        ? parseDurationMs(metric.web.timeout)
        : (this.options.timeoutMs ?? 5000);
      const url = new URL(metric.web.url);
      const answer = await this.getJson(url, timeout, signal);
      if ("error" in answer) return { error: `web ${url.origin}${url.pathname}: ${answer.error}` };
      return webValue(answer.json, metric.web.jsonPath);
    }
    return { error: "the metric names no provider" };
  }

  private async getJson(
    url: URL,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<{ json: unknown } | { error: string }> {
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = this.options.clock.after(timeoutMs, () =>
      abort.abort(new Error(`no answer within ${timeoutMs} ms`)),
    );
    try {
      const response = await fetch(url, { signal: abort.signal, headers: { accept: "application/json" } });
      const text = await boundedText(response, this.options.limits["object.bytes"]);
      if (!response.ok) return { error: `HTTP ${response.status}: ${excerpt(text)}` };
      return { json: decodeJson(text, this.options.limits).value };
    } catch (error) {
      if (error instanceof LimitExceededError) this.options.metrics.inputRefusals.inc({ limit: error.limit });
      return { error: describe(abort.signal.reason ?? error) };
    } finally {
      timer.cancel();
      signal.removeEventListener("abort", onAbort);
    }
  }
}

function withSlash(address: string): string {
  return address.endsWith("/") ? address : `${address}/`;
}

/** The body as text, refusing it once it passes `maxBytes`. */
async function boundedText(response: Response, maxBytes: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new LimitExceededError("object.bytes", maxBytes, "the metric provider's answer", total);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function describe(error: unknown): string {
  if (error instanceof DecodeError) return `the answer is not JSON: ${error.message}`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${excerpt(cause.message)})` : ""}`;
  return excerpt((error as Error).message ?? String(error));
}

/** One number from an instant query's answer: a scalar, or a vector of exactly one sample. */
export function prometheusValue(answer: unknown): Reading {
  const body = answer as {
    status?: unknown;
    error?: unknown;
    data?: { resultType?: unknown; result?: unknown };
  };
  if (body?.status !== "success")
    return { error: `query failed: ${excerpt(String(body?.error ?? "no status"))}` };
  const { resultType, result } = body.data ?? {};
  let sample: unknown;
  if (resultType === "scalar") sample = result;
  else if (resultType === "vector" && Array.isArray(result)) {
    if (result.length === 0) return { error: "no data: the query matched no series (no traffic yet?)" };
    if (result.length > 1) {
      return { error: `the query returned ${result.length} series; aggregate it to one, e.g. with sum()` };
    }
    sample = (result[0] as { value?: unknown }).value;
  } else return { error: `expected a scalar or a vector, got ${excerpt(String(resultType))}` };
  const value = Array.isArray(sample) ? Number(sample[1]) : Number.NaN;
  return Number.isFinite(value)
    ? { value }
    : { error: `no number: the query gave ${excerpt(String(Array.isArray(sample) ? sample[1] : sample))}` };
}

/** The number at `jsonPath` (`data.value`, `results[0].rate`) of a webhook's answer. */
export function webValue(answer: unknown, jsonPath: string | undefined): Reading {
  let at: unknown = answer;
  for (const part of (jsonPath ?? "").split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== "")) {
    at = typeof at === "object" && at !== null ? (at as Record<string, unknown>)[part] : undefined;
  }
  const value =
    typeof at === "number" ? at : typeof at === "string" && at.trim() !== "" ? Number(at) : Number.NaN;
  return Number.isFinite(value)
    ? { value }
    : {
        error: `no number at ${jsonPath ?? "the top level"} of the answer (found ${excerpt(JSON.stringify(at) ?? "nothing")})`,
      };
}
