// Traces of a change's journey, from the write that made it to each proxy's answer: API write →
// store commit → pipeline publish → encode → push → ACK or NACK, exported over OTLP/HTTP
// (protobuf) when `meshplane serve --otlp-endpoint URL` is set. Off by default: then no Tracing
// exists and every hook is one `undefined` check.
//
// How a publish knows which writes it serves: a write's commit is remembered here by object and
// resourceVersion (a bounded map, in this process). A publish is built from objects at known
// resourceVersions, so it takes every remembered commit its objects have reached (or, for a
// delete, gone past) and starts its span as a child of the first, linked to all: a debounced
// publish that merges several writes is one span with a link per write. With several replicas each
// remembers only the writes made through it: another replica's publish starts its own trace.
import { AsyncLocalStorage } from "node:async_hooks";
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Attributes,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import {
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from "@opentelemetry/semantic-conventions";
import type { Clock, Timer } from "../clock/index.ts";

/** Commits kept for the publish that serves them; the oldest are forgotten first. */
export const pendingCommitsLimit = 4096;
/** Per change, proxies whose ACK or NACK gets its own span; the rest are counted on the push span. */
export const answerSpansPerChange = 64;
/** How long a push span waits for the proxies' answers before it ends, counting the missing ones. */
export const answerWaitMs = 30_000;

export interface TracingOptions {
  /** OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`. */
  readonly endpoint: string;
  readonly clock: Clock;
  /** This replica (`service.instance.id`). */
  readonly replica: string;
  readonly version: string;
  /** The wait before a batch of spans is sent. */
  readonly exportDelayMs?: number;
}

/** A store write that changed an object, as the publish that serves it will look for it. */
export interface Commit {
  /** `Kind namespace/name` */
  readonly object: string;
  readonly resourceVersion: string;
  readonly deleted: boolean;
}

/** A commit and its span, as a publish links to it. */
export interface ServedCommit extends Commit {
  readonly context: SpanContext;
}

/** What a response carrying a change needs to report the proxy's answer to it. */
export interface SentResponse {
  readonly change: ChangeTrace;
  /** Epoch milliseconds it was written. */
  readonly at: number;
}

export class Tracing {
  private readonly provider: TracerProvider;
  private readonly tracer: Tracer;
  private readonly clock: Clock;
  private readonly writing = new AsyncLocalStorage<Span>();
  private readonly propagator = new W3CTraceContextPropagator();
  /** Commits by object and resourceVersion, oldest first; a write no publish serves ages out. */
  private readonly pending = new Map<string, ServedCommit>();

  constructor(options: TracingOptions) {
    this.clock = options.clock;
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: "meshplane",
        [ATTR_SERVICE_VERSION]: options.version,
        [ATTR_SERVICE_INSTANCE_ID]: options.replica,
      }),
      spanProcessors: [
        // Bounded: spans beyond the queue are dropped by the SDK, never buffered without end.
        new BatchSpanProcessor({
          exporter: new OTLPTraceExporter({ url: options.endpoint }),
          scheduledDelayMillis: options.exportDelayMs ?? 1000,
          maxQueueSize: 4096,
          maxExportBatchSize: 512,
        }),
      ],
    });
    this.tracer = this.provider.getTracer("meshplane", options.version);
  }

  /**
   * Runs `fn` as one write (an API request, a config directory sync): a server span that the store
   * commits made while `fn` runs are children of. A W3C `traceparent` in `headers` continues the
   * caller's trace (the config directory writing through the API, a client that traces its own).
   */
  async write<T>(
    name: string,
    attributes: Attributes,
    fn: () => Promise<T>,
    headers?: Readonly<Record<string, string | string[] | undefined>>,
  ): Promise<T> {
    const context = headers
      ? this.propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter)
      : ROOT_CONTEXT;
    const span = this.tracer.startSpan(
      name,
      { kind: SpanKind.SERVER, attributes, startTime: this.clock.now() },
      context,
    );
    try {
      return await this.writing.run(span, fn);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end(this.clock.now());
    }
  }

  /** The trace id of the write running now, to record on what it writes; undefined outside one. */
  writeTraceId(): string | undefined {
    return this.writing.getStore()?.spanContext().traceId;
  }

  /** Headers that carry the write running now to a server it calls (W3C trace context). */
  propagationHeaders(): Record<string, string> {
    const span = this.writing.getStore();
    const headers: Record<string, string> = {};
    if (span) this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
    return headers;
  }

  /**
   * A store call of the write running now, as its child span. `committed` says what the result
   * changed (undefined: nothing, the write was a no-op); that commit is kept for the publish that
   * serves it. Outside a write, `fn` just runs.
   */
  async commit<T>(fn: () => Promise<T>, committed: (result: T) => Commit | undefined): Promise<T> {
    const write = this.writing.getStore();
    if (!write) return fn();
    const span = this.tracer.startSpan(
      "meshplane.store.commit",
      { kind: SpanKind.INTERNAL, startTime: this.clock.now() },
      trace.setSpan(ROOT_CONTEXT, write),
    );
    try {
      const result = await fn();
      const commit = committed(result);
      if (commit) {
        span.setAttributes({
          "meshplane.object": commit.object,
          "k8s.resource_version": commit.resourceVersion,
          "meshplane.deleted": commit.deleted,
        });
        this.remember({ ...commit, context: span.spanContext() });
      } else {
        span.setAttribute("meshplane.unchanged", true);
      }
      return result;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end(this.clock.now());
    }
  }

  /** Whether any commit waits for its publish (a publish looks its objects up only then). */
  get commitsPending(): boolean {
    return this.pending.size > 0;
  }

  /**
   * The commits a publish built from objects at `versions` (`Kind namespace/name` →
   * resourceVersion) serves: those its objects have reached. They are forgotten here: each is
   * served once. `versions` is called only when commits are pending.
   */
  served(versions: () => ReadonlyMap<string, string | undefined>): readonly ServedCommit[] {
    if (this.pending.size === 0) return [];
    const current = versions();
    const served: ServedCommit[] = [];
    for (const [key, commit] of this.pending) {
      if (!reached(commit, current.get(commit.object))) continue;
      served.push(commit);
      this.pending.delete(key);
    }
    return served;
  }

  /** Starts the span of a publish: a child of the first commit it serves, linked to every one. */
  publish(served: readonly ServedCommit[], attributes: Attributes): ChangeTrace {
    const parent = served[0]?.context;
    const links: Link[] = served.map((commit) => ({
      context: commit.context,
      attributes: { "meshplane.object": commit.object, "k8s.resource_version": commit.resourceVersion },
    }));
    const span = this.tracer.startSpan(
      "meshplane.pipeline.publish",
      {
        kind: SpanKind.INTERNAL,
        links,
        attributes: { ...attributes, "meshplane.writes": served.length },
        startTime: this.clock.now(),
      },
      parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT,
    );
    return new ChangeTrace(this.tracer, this.clock, span);
  }

  /** Sends what is buffered and stops; later spans are dropped. */
  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }

  private remember(commit: ServedCommit): void {
    this.pending.set(`${commit.object}@${commit.resourceVersion}`, commit);
    if (this.pending.size <= pendingCommitsLimit) return;
    const oldest = this.pending.keys().next().value;
    if (oldest !== undefined) this.pending.delete(oldest);
  }
}

/**
 * Whether objects at `current` include the commit: the object is at its resourceVersion or later,
 * or, for a delete, is gone or was created again since. resourceVersions of one store are one
 * increasing sequence of integers (store/types.ts).
 */
function reached(commit: Commit, current: string | undefined): boolean {
  if (current === undefined) return commit.deleted;
  const at = Number(current);
  const committed = Number(commit.resourceVersion);
  return commit.deleted ? at > committed : at >= committed;
}

/**
 * One published change, from its publish to the proxies' answers. The publish span ends once its
 * subscribers have it; the push span covers the push and the answers to it, up to answerWaitMs, and
 * holds the counts; the first answerSpansPerChange answers get their own span (from the response
 * being written to the answer), and the window in which this change's resources were encoded is
 * one span.
 */
export class ChangeTrace {
  private readonly tracer: Tracer;
  private readonly clock: Clock;
  private readonly publishSpan: Span;
  private push: Span | undefined;
  private readonly counts = { responses: 0, acks: 0, nacks: 0, answerSpans: 0 };
  private encodes: { count: number; ms: number; first: number; last: number } | undefined;
  private drained = false;
  private closed = false;
  private deadline: Timer | undefined;

  constructor(tracer: Tracer, clock: Clock, publishSpan: Span) {
    this.tracer = tracer;
    this.clock = clock;
    this.publishSpan = publishSpan;
  }

  get traceId(): string {
    return this.publishSpan.spanContext().traceId;
  }

  /** The publish reached its subscribers (or was skipped: `attributes` say so). */
  published(attributes: Attributes): void {
    this.publishSpan.setAttributes(attributes);
    this.publishSpan.end(this.clock.now());
  }

  /** The xDS server starts pushing this change. */
  pushing(attributes: Attributes): void {
    if (this.push) return;
    this.push = this.tracer.startSpan(
      "meshplane.xds.push",
      { kind: SpanKind.INTERNAL, attributes, startTime: this.clock.now() },
      trace.setSpan(ROOT_CONTEXT, this.publishSpan),
    );
  }

  /** Every stream the change concerns was pushed; the span waits for the answers, bounded. */
  pushed(): void {
    if (!this.push || this.drained || this.closed) return;
    this.drained = true;
    this.push.addEvent("pushed", this.clock.now());
    if (this.counts.responses === this.counts.acks + this.counts.nacks) {
      this.close();
      return;
    }
    this.deadline = this.clock.after(answerWaitMs, () => this.close());
  }

  /** One of this change's resources was encoded, taking `ms`. */
  encoded(ms: number): void {
    if (!this.push || this.closed) return;
    const now = this.clock.now();
    if (!this.encodes) this.encodes = { count: 0, ms: 0, first: now - ms, last: now };
    this.encodes.count++;
    this.encodes.ms += ms;
    this.encodes.last = now;
  }

  /** A response carrying this change was written to a proxy; undefined once the push span ended. */
  sent(): SentResponse | undefined {
    if (!this.push || this.closed) return undefined;
    this.counts.responses++;
    return { change: this, at: this.clock.now() };
  }

  /** The proxy answered a response `sent` returned: ACK, or NACK with its error. */
  answered(
    sent: SentResponse,
    answer: { node: string; type: string; version: string; error: string | undefined },
  ): void {
    if (this.closed || !this.push) return;
    if (answer.error === undefined) this.counts.acks++;
    else this.counts.nacks++;
    if (this.counts.answerSpans < answerSpansPerChange) {
      this.counts.answerSpans++;
      const span = this.tracer.startSpan(
        answer.error === undefined ? "meshplane.xds.ack" : "meshplane.xds.nack",
        {
          kind: SpanKind.INTERNAL,
          startTime: sent.at,
          attributes: {
            "meshplane.node": answer.node,
            "meshplane.xds.type": answer.type,
            "meshplane.xds.version": answer.version,
            ...(answer.error === undefined ? {} : { "meshplane.xds.error": answer.error }),
          },
        },
        trace.setSpan(ROOT_CONTEXT, this.push),
      );
      if (answer.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: answer.error });
      span.end(this.clock.now());
    }
    if (this.drained && this.counts.responses === this.counts.acks + this.counts.nacks) this.close();
  }

  private close(): void {
    if (this.closed || !this.push) return;
    this.closed = true;
    this.deadline?.cancel();
    const { responses, acks, nacks, answerSpans } = this.counts;
    if (this.encodes) {
      this.tracer
        .startSpan(
          "meshplane.xds.encode",
          {
            kind: SpanKind.INTERNAL,
            startTime: this.encodes.first,
            attributes: {
              "meshplane.xds.encodes": this.encodes.count,
              "meshplane.xds.encode_ms": this.encodes.ms,
            },
          },
          trace.setSpan(ROOT_CONTEXT, this.push),
        )
        .end(this.encodes.last);
    }
    this.push.setAttributes({
      "meshplane.xds.responses": responses,
      "meshplane.xds.acks": acks,
      "meshplane.xds.nacks": nacks,
      "meshplane.xds.unanswered": responses - acks - nacks,
      "meshplane.xds.answers_without_span": acks + nacks - answerSpans,
    });
    if (nacks > 0) this.push.setStatus({ code: SpanStatusCode.ERROR, message: `${nacks} NACK(s)` });
    this.push.end(this.clock.now());
  }
}
