// Validation errors name the field and say what is wrong; valid objects get their defaults.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toFieldPath, validateResource } from "./validate.ts";

const route = (spec: object, kind = "GRPCRoute") => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind,
  metadata: { name: "r" },
  spec: { parentRefs: [{ group: "", kind: "Service", name: "greeter" }], ...spec },
});

const slice = (addressType: string, addresses: string[]) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: "s", labels: { "kubernetes.io/service-name": "greeter" } },
  addressType,
  endpoints: [{ addresses }],
});

const cases: [name: string, input: unknown, errors: [field: string, message: RegExp][]][] = [
  ["not a mapping", [1], [["", /expected a mapping/]]],
  [
    "unknown kind",
    { apiVersion: "v1", kind: "Pod", metadata: { name: "p" } },
    [["kind", /unsupported kind v1\/Pod; supported: /]],
  ],
  [
    "missing name",
    { apiVersion: "v1", kind: "Service", metadata: {}, spec: { ports: [{ port: 80 }] } },
    [["metadata.name", /required/]],
  ],
  [
    "bad port and enum",
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      spec: { ports: [{ port: 0, protocol: "TCPP" }] },
    },
    [
      ["spec.ports[0].port", />= 1/],
      ["spec.ports[0].protocol", /must be one of "TCP", "UDP", "SCTP"/],
    ],
  ],
  [
    "unknown route field and negative weight",
    route({ rules: [{ backendRefs: [{ name: "x", port: 1, weight: -1, colour: "red" }] }] }),
    [
      ["spec.rules[0].backendRefs[0].colour", /unknown field/],
      ["spec.rules[0].backendRefs[0].weight", />= 0/],
    ],
  ],
  [
    "parentRef without group defaults to a Gateway",
    { ...route({}), spec: { parentRefs: [{ name: "greeter" }] } },
    [["spec.parentRefs[0]", /set group: "" and kind: Service/]],
  ],
  [
    "GRPCRoute method match without service or method, and a bad exact method",
    route({ rules: [{ matches: [{ method: {} }, { method: { method: "Say-Hello" } }] }] }),
    [
      ["spec.rules[0].matches[0].method", /set service, method or both/],
      ["spec.rules[0].matches[1].method.method", /proto method name/],
    ],
  ],
  [
    "HTTPRoute relative path and broken regex",
    route(
      {
        rules: [
          { matches: [{ path: { value: "api" } }, { path: { type: "RegularExpression", value: "(" } }] },
        ],
      },
      "HTTPRoute",
    ),
    [
      ["spec.rules[0].matches[0].path.value", /must start with "\/"/],
      ["spec.rules[0].matches[1].path.value", /not a valid regular expression/],
    ],
  ],
  [
    "timeout format",
    route({ rules: [{ timeouts: { request: "5 seconds" } }] }, "HTTPRoute"),
    [["spec.rules[0].timeouts.request", /must match/]],
  ],
  [
    "EndpointSlice without its Service label",
    { ...slice("IPv4", ["10.0.0.1"]), metadata: { name: "s" } },
    [["metadata.labels[kubernetes.io/service-name]", /required/]],
  ],
  [
    "EndpointSlice addresses that do not match the address type",
    slice("IPv4", ["10.0.0.1", "not-an-ip", "1.2.3", "256.0.0.1", "::1"]),
    [
      ["endpoints[0].addresses[1]", /not a valid IPv4/],
      ["endpoints[0].addresses[2]", /not a valid IPv4/],
      ["endpoints[0].addresses[3]", /not a valid IPv4/],
      ["endpoints[0].addresses[4]", /not a valid IPv4/],
    ],
  ],
  ["IPv6 slice", slice("IPv6", ["10.0.0.1"]), [["endpoints[0].addresses[0]", /not a valid IPv6/]]],
];

for (const [name, input, expected] of cases) {
  test(`rejects: ${name}`, () => {
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

test("accepts Kubernetes-legal objects and applies defaults", () => {
  for (const input of [
    slice("IPv4", ["10.0.0.1", "010.000.000.001"]),
    slice("IPv6", ["fd00::1"]),
    route({
      rules: [
        {
          matches: [{ method: { service: "meshplane.demo.Greeter" } }],
          backendRefs: [{ name: "v1", port: 50051 }],
        },
      ],
    }),
  ]) {
    const result = validateResource(input);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.resource.metadata.namespace, "default");
  }
});

test("field paths use Kubernetes notation", () => {
  assert.equal(toFieldPath("/spec/rules/0/backendRefs/12/weight"), "spec.rules[0].backendRefs[12].weight");
  assert.equal(toFieldPath("/metadata/labels/a~1b"), "metadata.labels.a/b");
  assert.equal(toFieldPath(""), "");
});
