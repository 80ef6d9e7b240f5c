// Metric providers: Prometheus answers and webhook answers read into one number or a reason, and
// the HTTP reader against a real HTTP server on 127.0.0.1: the query it sends, errors, the size
// limit and the timeout (on the fake clock).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { RolloutMetric } from "../api/index.ts";
import { FakeClock } from "../clock/index.ts";
import { defaultLimits } from "../limits/index.ts";
import { createMetrics } from "../telemetry/index.ts";
import { HttpMetricReader, prometheusValue, webValue } from "./providers.ts";
import { prometheusQuery } from "./templates.ts";

const vector = (...values: string[]) => ({
  status: "success",
  data: { resultType: "vector", result: values.map((v) => ({ metric: {}, value: [1700000000, v] })) },
});

test("Prometheus answers: one sample or scalar is a value; anything else says why not", () => {
  const cases: [name: string, answer: unknown, expected: number | RegExp][] = [
    ["one sample", vector("0.97"), 0.97],
    ["scalar", { status: "success", data: { resultType: "scalar", result: [1, "3"] } }, 3],
    ["no series", vector(), /no data: the query matched no series/],
    ["two series", vector("1", "2"), /returned 2 series; aggregate it to one/],
    ["NaN (0/0: no calls)", vector("NaN"), /no number: the query gave NaN/],
    [
      "error status",
      { status: "error", error: "parse error at char 4" },
      /query failed: parse error at char 4/,
    ],
    [
      "matrix",
      { status: "success", data: { resultType: "matrix", result: [] } },
      /expected a scalar or a vector, got matrix/,
    ],
    ["not an object", "hello", /query failed/],
  ];
  for (const [name, answer, expected] of cases) {
    const reading = prometheusValue(answer);
    if (typeof expected === "number") assert.deepEqual(reading, { value: expected }, name);
    else assert.match("error" in reading ? reading.error : "", expected, name);
  }
});

test("webhook answers: the number at jsonPath", () => {
  assert.deepEqual(webValue(0.5, undefined), { value: 0.5 });
  assert.deepEqual(webValue({ data: { value: "0.25" } }, "data.value"), { value: 0.25 });
  assert.deepEqual(webValue({ results: [{ rate: 1 }, { rate: 2 }] }, "results[1].rate"), { value: 2 });
  const missing = webValue({ data: {} }, "data.value");
  assert.match(
    "error" in missing ? missing.error : "",
    /no number at data.value of the answer \(found nothing\)/,
  );
  const text = webValue({ ok: "yes" }, "ok");
  assert.match("error" in text ? text.error : "", /found "yes"/);
});

test("templates render PromQL over the standard gRPC server metrics", () => {
  const address = "http://p";
  assert.equal(
    prometheusQuery({ address, template: "GrpcSuccessRate", window: "10s" }, "greeter-v2"),
    '(sum(rate(grpc_server_handled_total{job="greeter-v2",grpc_code="OK"}[10s])) or vector(0)) / sum(rate(grpc_server_handled_total{job="greeter-v2"}[10s]))',
  );
  assert.equal(
    prometheusQuery({ address, template: "GrpcLatencyQuantile", selector: 'app="g"' }, "greeter-v2"),
    'histogram_quantile(0.99, sum by (le) (rate(grpc_server_handling_seconds_bucket{app="g"}[30s])))',
  );
  assert.equal(prometheusQuery({ address, query: "up" }, "greeter-v2"), "up");
});

async function serve(
  t: { after: (fn: () => Promise<void>) => void },
  handler: (req: IncomingMessage, res: ServerResponse) => void,
) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const abort = new AbortController();

test("the HTTP reader sends the instant query and reads the answer; failures are reasons, not throws", async (t) => {
  const seen: string[] = [];
  const url = await serve(t, (req, res) => {
    seen.push(req.url ?? "");
    if (req.url?.startsWith("/broken")) {
      res.writeHead(500).end("boom");
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(req.url?.startsWith("/api/v1/query") ? JSON.stringify(vector("0.75")) : "{not json");
  });
  const reader = new HttpMetricReader({
    clock: new FakeClock(),
    limits: defaultLimits,
    metrics: createMetrics({ defaultMetrics: false }),
  });
  const prometheus: RolloutMetric = {
    name: "sr",
    successCondition: "> 0.9",
    prometheus: { address: url, template: "GrpcSuccessRate" },
  };
  assert.deepEqual(await reader.read(prometheus, "greeter-v2", abort.signal), { value: 0.75 });
  const query = new URL(seen[0] ?? "", url).searchParams.get("query");
  assert.equal(query, prometheusQuery({ address: url, template: "GrpcSuccessRate" }, "greeter-v2"));

  const broken = await reader.read(
    { name: "w", successCondition: "> 0", web: { url: `${url}/broken` } },
    "c",
    abort.signal,
  );
  assert.match(
    "error" in broken ? broken.error : "",
    /^web http:\/\/127\.0\.0\.1:\d+\/broken: HTTP 500: boom$/,
  );
  const notJson = await reader.read(
    { name: "w", successCondition: "> 0", web: { url: `${url}/x` } },
    "c",
    abort.signal,
  );
  assert.match("error" in notJson ? notJson.error : "", /the answer is not JSON/);

  const down = await reader.read(
    {
      name: "sr",
      successCondition: "> 0",
      prometheus: { address: `http://127.0.0.1:${await closedPort()}`, query: "up" },
    },
    "c",
    abort.signal,
  );
  assert.match("error" in down ? down.error : "", /^prometheus http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
});

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test("the HTTP reader refuses an answer over the object size limit and counts the refusal", async (t) => {
  const url = await serve(t, (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ pad: "x".repeat(4096), value: 1 }));
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const reader = new HttpMetricReader({
    clock: new FakeClock(),
    limits: { ...defaultLimits, "object.bytes": 1024 },
    metrics,
  });
  const reading = await reader.read(
    { name: "w", successCondition: "> 0", web: { url, jsonPath: "value" } },
    "c",
    abort.signal,
  );
  assert.match("error" in reading ? reading.error : "", /exceeds limit object.bytes of 1 KiB/);
  const refusals = await metrics.inputRefusals.get();
  assert.equal(refusals.values.find((v) => v.labels.limit === "object.bytes")?.value, 1);
});

test("the HTTP reader gives up after the timeout, on the clock it is given", async (t) => {
  let arrived!: () => void;
  const received = new Promise<void>((resolve) => (arrived = resolve));
  const url = await serve(t, () => arrived()); // never answers
  const clock = new FakeClock();
  const reader = new HttpMetricReader({
    clock,
    limits: defaultLimits,
    metrics: createMetrics({ defaultMetrics: false }),
  });
  const pending = reader.read(
    { name: "w", successCondition: "> 0", web: { url, timeout: "2s" } },
    "c",
    abort.signal,
  );
  await received;
  await clock.advance(2000);
  const reading = await pending;
  assert.match("error" in reading ? reading.error : "", /no answer within 2000 ms/);
});
