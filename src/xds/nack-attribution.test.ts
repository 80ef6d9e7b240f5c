import { test } from "node:test";
import assert from "node:assert/strict";
import { attributeNack, type NackAttribution, type SentResource } from "./nack-attribution.ts";

const cluster = (name: string) => `outbound|50051||${name}.default.svc.cluster.local`;
const sent = (names: string[], changed: string[] = names): SentResource[] =>
  names.map((name) => ({ name, changed: changed.includes(name) }));

const cases: [
  title: string,
  message: string,
  resources: SentResource[],
  expected: { by: NackAttribution["by"]; errors: Record<string, string> },
][] = [
  [
    "grpc-js-xds: one invalid resource, by position",
    "xDS response validation errors: [resource index 1: ClusterLoadAssignment message validation failed: [address is not a valid IPv4 or IPv6 address: 127.000.000.001]]",
    sent([cluster("a"), cluster("b")]),
    {
      by: "index",
      errors: {
        [cluster("b")]:
          "ClusterLoadAssignment message validation failed: [address is not a valid IPv4 or IPv6 address: 127.000.000.001]",
      },
    },
  ],
  [
    "grpc-js-xds: several invalid resources; inner lists keep their brackets",
    'xDS response validation errors: [resource index 0: Cluster message validation failed: [unsupported lb_policy,ring_hash_lb_config.minimum_ring_size is too large: 9]; resource index 2: incorrect resource type "x" (should be "y")]',
    sent(["c0", "c1", "c2"]),
    {
      by: "index",
      errors: {
        c0: "Cluster message validation failed: [unsupported lb_policy,ring_hash_lb_config.minimum_ring_size is too large: 9]",
        c2: 'incorrect resource type "x" (should be "y")',
      },
    },
  ],
  [
    "grpc-js-xds: a position past the response falls back to names, then to what changed",
    "xDS response validation errors: [resource index 7: bad]",
    sent(["l1", "l2"], ["l2"]),
    { by: "changed", errors: { l2: "xDS response validation errors: [resource index 7: bad]" } },
  ],
  [
    "Envoy LDS: one listener named",
    "Error adding/updating listener(s) greeter:50051: unknown filter\n",
    sent(["greeter:50051", "greeter.backend:50051"]),
    {
      by: "name",
      errors: { "greeter:50051": "Error adding/updating listener(s) greeter:50051: unknown filter\n" },
    },
  ],
  [
    "Envoy CDS: several clusters, each with its own reason",
    `Error adding/updating cluster(s) ${cluster("a")}: bad lb\n${cluster("c")}: bad timeout\n`,
    sent([cluster("a"), cluster("b"), cluster("c")]),
    {
      by: "name",
      errors: { [cluster("a")]: `${cluster("a")}: bad lb`, [cluster("c")]: `${cluster("c")}: bad timeout` },
    },
  ],
  [
    "a name inside a longer sent name is not a match of its own",
    "Unexpected RDS configuration: greeter.backend.svc.cluster.local:50051|consumer=frontend",
    sent([
      "greeter.backend.svc.cluster.local:50051",
      "greeter.backend.svc.cluster.local:50051|consumer=frontend",
    ]),
    {
      by: "name",
      errors: {
        "greeter.backend.svc.cluster.local:50051|consumer=frontend":
          "Unexpected RDS configuration: greeter.backend.svc.cluster.local:50051|consumer=frontend",
      },
    },
  ],
  [
    "short names match only as whole words",
    "cluster a: bad; see abc and a.b and a:80",
    sent(["a", "b", "ab"]),
    { by: "name", errors: { a: "cluster a: bad; see abc and a.b and a:80" } },
  ],
  [
    "Envoy proto validation names nothing: what the response changed is suspect",
    "Proto constraint validation failed (ClusterLoadAssignmentValidationError.Endpoints[0]: value is required)",
    sent(["x", "y", "z"], ["y"]),
    {
      by: "changed",
      errors: {
        y: "Proto constraint validation failed (ClusterLoadAssignmentValidationError.Endpoints[0]: value is required)",
      },
    },
  ],
  [
    "nothing changed and nothing named: everything sent is suspect",
    "malformed IP address: not-an-ip",
    sent(["x", "y"], []),
    { by: "changed", errors: { x: "malformed IP address: not-an-ip", y: "malformed IP address: not-an-ip" } },
  ],
  ["an empty response attributes nothing", "bad", [], { by: "changed", errors: {} }],
];

for (const [title, message, resources, expected] of cases) {
  test(`attributeNack: ${title}`, () => {
    const actual = attributeNack(message, resources);
    assert.deepEqual({ by: actual.by, errors: Object.fromEntries(actual.errors) }, expected);
  });
}
