// Rollout validation: every problem names its field path and what to do.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateResource } from "./validate.ts";

const successRate = {
  name: "success-rate",
  successCondition: ">= 0.95",
  prometheus: { address: "http://127.0.0.1:9090", template: "GrpcSuccessRate" },
};
const spec = {
  routeRef: { kind: "GRPCRoute", name: "greeter" },
  stableBackend: { name: "greeter-v1" },
  canaryBackend: { name: "greeter-v2" },
  steps: [{ setWeight: 10 }, { analysis: { metrics: [successRate] } }, { pause: {} }],
};
const rollout = (change: object) => ({
  apiVersion: "meshplane.dev/v1alpha1",
  kind: "Rollout",
  metadata: { name: "greeter" },
  spec: { ...spec, ...change },
});
const analysis = (a: object) => rollout({ steps: [{ analysis: { metrics: [successRate], ...a } }] });
const metric = (m: object) => analysis({ metrics: [{ name: "m", ...m }] });

const cases: [name: string, input: unknown, errors: [field: string, message: RegExp][]][] = [
  ["no steps", rollout({ steps: [] }), [["spec.steps", /fewer than 1 items/]]],
  [
    "route kind",
    rollout({ routeRef: { kind: "TCPRoute", name: "x" } }),
    [["spec.routeRef.kind", /must be one of "GRPCRoute", "HTTPRoute"/]],
  ],
  [
    "same stable and canary",
    rollout({ canaryBackend: { name: "greeter-v1" } }),
    [["spec.canaryBackend.name", /must differ from spec.stableBackend.name/]],
  ],
  [
    "a step with two actions, a step with none",
    rollout({ steps: [{ setWeight: 10, pause: {} }, {}] }),
    [
      [
        "spec.steps[0]",
        /set exactly one of setWeight, pause, analysis, exposeByHeader \(found setWeight, pause\)/,
      ],
      ["spec.steps[1]", /set exactly one of/],
    ],
  ],
  ["weight above 100", rollout({ steps: [{ setWeight: 150 }] }), [["spec.steps[0].setWeight", /<= 100/]]],
  [
    "zero pause",
    rollout({ steps: [{ pause: { duration: "0s" } }] }),
    [["spec.steps[0].pause.duration", /longer than 0s; leave it out to pause until promoted/]],
  ],
  [
    "failure limit that can never fail",
    analysis({ count: 2, failureLimit: 2 }),
    [["spec.steps[0].analysis.failureLimit", /less than count \(2\)/]],
  ],
  [
    "duplicate metric names",
    analysis({ metrics: [successRate, successRate] }),
    [["spec.steps[0].analysis.metrics[1].name", /duplicate metric name "success-rate"/]],
  ],
  [
    "no provider and no condition",
    metric({}),
    [
      ["spec.steps[0].analysis.metrics[0]", /exactly one provider: prometheus or web/],
      ["spec.steps[0].analysis.metrics[0]", /set successCondition, failureCondition or both/],
    ],
  ],
  [
    "both providers",
    metric({
      successCondition: "> 0",
      prometheus: { address: "http://p", query: "up" },
      web: { url: "http://w" },
    }),
    [["spec.steps[0].analysis.metrics[0]", /exactly one provider/]],
  ],
  [
    "condition syntax",
    metric({ successCondition: "result > 1", web: { url: "http://w" } }),
    [["spec.steps[0].analysis.metrics[0].successCondition", /must match/]],
  ],
  [
    "query and template, template parameters without a template",
    metric({
      failureCondition: "< 1",
      prometheus: { address: "http://p", query: "up", template: "GrpcSuccessRate" },
    }),
    [["spec.steps[0].analysis.metrics[0].prometheus", /exactly one of query and template/]],
  ],
  [
    "selector without a template, quantile with the wrong template",
    analysis({
      metrics: [
        {
          name: "a",
          successCondition: "> 0",
          prometheus: { address: "http://p", query: "up", selector: "x" },
        },
        {
          name: "b",
          successCondition: "> 0",
          prometheus: { address: "http://p", template: "GrpcSuccessRate", quantile: 0.9, window: "500ms" },
        },
      ],
    }),
    [
      ["spec.steps[0].analysis.metrics[0].prometheus.selector", /only applies with a template/],
      [
        "spec.steps[0].analysis.metrics[1].prometheus.quantile",
        /only applies with template: GrpcLatencyQuantile/,
      ],
      ["spec.steps[0].analysis.metrics[1].prometheus.window", /at least 1s/],
    ],
  ],
  [
    "provider address not http",
    metric({ successCondition: "> 0", prometheus: { address: "ftp://p", query: "up" } }),
    [["spec.steps[0].analysis.metrics[0].prometheus.address", /must match/]],
  ],
  [
    "promote beyond the steps",
    rollout({ promote: 3 }),
    [["spec.promote", /names step 3 but there are 3 steps/]],
  ],
  ["unknown field", rollout({ pause: true }), [["spec.pause", /unknown field/]]],
];

for (const [name, input, expected] of cases) {
  test(`Rollout rejects: ${name}`, () => {
    const result = validateResource(input);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(
      result.errors.map((e) => e.field),
      expected.map(([field]) => field),
      JSON.stringify(result.errors),
    );
    result.errors.forEach((error, i) => assert.match(error.message, (expected[i] as [string, RegExp])[1]));
  });
}

test("Rollout accepts every step kind and both providers", () => {
  const result = validateResource(
    rollout({
      routeRef: { group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "web", rule: 1 },
      steps: [
        { exposeByHeader: { name: "x-canary", value: "1" } },
        { setWeight: 0 },
        { pause: { duration: "1m30s" } },
        {
          analysis: {
            interval: "2s",
            count: 5,
            failureLimit: 1,
            inconclusiveLimit: 2,
            metrics: [
              successRate,
              {
                name: "p99",
                failureCondition: "> 0.25",
                prometheus: {
                  address: "https://prometheus:9090/",
                  template: "GrpcLatencyQuantile",
                  quantile: 0.99,
                  selector: 'app="greeter",version="v2"',
                  window: "1m",
                },
              },
              {
                name: "hook",
                successCondition: "== 1",
                web: { url: "http://127.0.0.1:1/ok", jsonPath: "data.ok", timeout: "2s" },
              },
            ],
          },
        },
      ],
      paused: false,
      abort: false,
      promote: 2,
    }),
  );
  assert.equal(result.ok, true, JSON.stringify(result));
  if (result.ok) assert.equal(result.resource.metadata.namespace, "default");
});
