// Test support: an OTLP/HTTP trace receiver on 127.0.0.1, standing in for a collector. It decodes
// each ExportTraceServiceRequest with protobufjs from a schema of the OTLP trace messages (the
// fields a receiver reads, numbered as in opentelemetry-proto's trace_service.proto, trace.proto,
// common.proto and resource.proto; fields not listed are skipped as unknown), so nothing here
// decodes protobuf by hand, and a wrong field number would fail the tests that read it.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import protobuf from "protobufjs";

export type AttributeValue = string | number | boolean;

export interface ReceivedSpan {
  /** Lowercase hex, as in a `traceparent`. */
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  /** Epoch milliseconds. */
  readonly startMs: number;
  readonly endMs: number;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly links: readonly {
    readonly traceId: string;
    readonly spanId: string;
    readonly attributes: Readonly<Record<string, AttributeValue>>;
  }[];
  readonly events: readonly string[];
  /** OTLP Status: code 0 unset, 1 ok, 2 error. */
  readonly status: { readonly code: number; readonly message: string };
  /** The attributes of the resource that sent the span. */
  readonly resource: Readonly<Record<string, AttributeValue>>;
}

export interface OtlpReceiver {
  /** Where an exporter sends traces: `http://127.0.0.1:PORT/v1/traces`. */
  readonly url: string;
  /** Every span received so far, in arrival order. */
  spans(): readonly ReceivedSpan[];
  /** The resource attributes of the last request. */
  readonly resource: Readonly<Record<string, AttributeValue>>;
  /** Resolves with `found(spans)` once it is defined, checked on every request; rejects after `timeoutMs`. */
  waitFor<T>(
    found: (spans: readonly ReceivedSpan[]) => T | undefined,
    what: string,
    timeoutMs?: number,
  ): Promise<T>;
  close(): Promise<void>;
}

const keyValues = { rule: "repeated", type: "KeyValue" } as const;
const otlpTraceSchema = {
  nested: {
    ExportTraceServiceRequest: { fields: { resourceSpans: { ...repeatedOf("ResourceSpans"), id: 1 } } },
    ResourceSpans: {
      fields: {
        resource: { type: "Resource", id: 1 },
        scopeSpans: { ...repeatedOf("ScopeSpans"), id: 2 },
      },
    },
    Resource: { fields: { attributes: { ...keyValues, id: 1 } } },
    ScopeSpans: { fields: { spans: { ...repeatedOf("Span"), id: 2 } } },
    Span: {
      fields: {
        traceId: { type: "bytes", id: 1 },
        spanId: { type: "bytes", id: 2 },
        parentSpanId: { type: "bytes", id: 4 },
        name: { type: "string", id: 5 },
        kind: { type: "int32", id: 6 },
        startTimeUnixNano: { type: "fixed64", id: 7 },
        endTimeUnixNano: { type: "fixed64", id: 8 },
        attributes: { ...keyValues, id: 9 },
        events: { ...repeatedOf("Event"), id: 11 },
        links: { ...repeatedOf("Link"), id: 13 },
        status: { type: "Status", id: 15 },
      },
    },
    Event: { fields: { timeUnixNano: { type: "fixed64", id: 1 }, name: { type: "string", id: 2 } } },
    Link: {
      fields: {
        traceId: { type: "bytes", id: 1 },
        spanId: { type: "bytes", id: 2 },
        attributes: { ...keyValues, id: 4 },
      },
    },
    Status: { fields: { message: { type: "string", id: 2 }, code: { type: "int32", id: 3 } } },
    KeyValue: { fields: { key: { type: "string", id: 1 }, value: { type: "AnyValue", id: 2 } } },
    AnyValue: {
      oneofs: { value: { oneof: ["stringValue", "boolValue", "intValue", "doubleValue"] } },
      fields: {
        stringValue: { type: "string", id: 1 },
        boolValue: { type: "bool", id: 2 },
        intValue: { type: "int64", id: 3 },
        doubleValue: { type: "double", id: 4 },
      },
    },
  },
};

function repeatedOf(type: string) {
  return { rule: "repeated", type } as const;
}

let exportRequest: protobuf.Type | undefined;

/** opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest. */
function exportRequestType(): protobuf.Type {
  exportRequest ??= protobuf.Root.fromJSON(otlpTraceSchema).lookupType("ExportTraceServiceRequest");
  return exportRequest;
}

/** Starts a receiver; close() it when done. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const type = exportRequestType();
  const received: ReceivedSpan[] = [];
  let resource: Record<string, AttributeValue> = {};
  const checks = new Set<() => void>();
  const server = createServer((req, res) => {
    void readAll(req).then((body) => {
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.writeHead(404).end();
        return;
      }
      let request: ExportRequest;
      try {
        request = type.toObject(type.decode(body), {
          longs: String,
          defaults: true,
          arrays: true,
          oneofs: true,
        }) as ExportRequest;
      } catch (error) {
        res.writeHead(400, { "content-type": "text/plain" }).end(String(error));
        return;
      }
      for (const resourceSpans of request.resourceSpans) {
        resource = attributes(resourceSpans.resource?.attributes ?? []);
        for (const scope of resourceSpans.scopeSpans) {
          for (const span of scope.spans) received.push(receivedSpan(span, resource));
        }
      }
      // An empty ExportTraceServiceResponse: everything accepted.
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      for (const check of [...checks]) check();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans: () => received,
    get resource() {
      return resource;
    },
    waitFor(found, what, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const result = found(received);
          if (result === undefined) return;
          checks.delete(check);
          clearTimeout(timer);
          resolve(result);
        };
        const timer = setTimeout(() => {
          checks.delete(check);
          const names = [...new Set(received.map((s) => `${s.name} (${s.traceId})`))].slice(-40);
          reject(
            new Error(
              `no ${what} within ${timeoutMs} ms; received ${received.length} spans: ${names.join(", ")}`,
            ),
          );
        }, timeoutMs);
        checks.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readAll(req: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

// The decoded request, as protobufjs's toObject shapes it (camelCase fields, 64-bit as strings).
interface KeyValue {
  key: string;
  /** AnyValue; with `oneofs`, `value` names the field that is set. */
  value?: {
    value?: string;
    stringValue?: string;
    boolValue?: boolean;
    intValue?: string;
    doubleValue?: number;
  };
}
interface DecodedSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId: Uint8Array;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  events: { name: string }[];
  links: { traceId: Uint8Array; spanId: Uint8Array; attributes: KeyValue[] }[];
  status?: { code: number; message: string };
}
interface ExportRequest {
  resourceSpans: {
    resource?: { attributes: KeyValue[] };
    scopeSpans: { spans: DecodedSpan[] }[];
  }[];
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const ms = (nanos: string) => Number(BigInt(nanos) / 1_000_000n);

function attributes(list: readonly KeyValue[]): Record<string, AttributeValue> {
  const result: Record<string, AttributeValue> = {};
  for (const { key, value } of list) {
    if (value?.value === "stringValue") result[key] = value.stringValue ?? "";
    else if (value?.value === "boolValue") result[key] = value.boolValue ?? false;
    else if (value?.value === "intValue") result[key] = Number(value.intValue);
    else if (value?.value === "doubleValue") result[key] = value.doubleValue ?? 0;
  }
  return result;
}

function receivedSpan(span: DecodedSpan, resource: Record<string, AttributeValue>): ReceivedSpan {
  return {
    traceId: hex(span.traceId),
    spanId: hex(span.spanId),
    parentSpanId: hex(span.parentSpanId),
    name: span.name,
    kind: span.kind,
    startMs: ms(span.startTimeUnixNano),
    endMs: ms(span.endTimeUnixNano),
    attributes: attributes(span.attributes),
    links: span.links.map((link) => ({
      traceId: hex(link.traceId),
      spanId: hex(link.spanId),
      attributes: attributes(link.attributes),
    })),
    events: span.events.map((event) => event.name),
    status: { code: span.status?.code ?? 0, message: span.status?.message ?? "" },
    resource,
  };
}
