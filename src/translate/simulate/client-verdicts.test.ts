// Per-client encodings and per-client verdicts, end to end through the generators and the
// simulator: what meshplane sends each client group, and what each client release does with it.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  RouteConfigurationSchema,
  type RouteConfiguration,
} from "../../gen/envoy/config/route/v3/route_pb.js";
import type { MeshSnapshot, RouteRule, ServicePolicy } from "../../mesh/index.ts";
import { parseClientSpec, type ClientIdentity } from "../clients/index.ts";
import { generateResources } from "../generator.ts";
import {
  backend,
  endpoint,
  mesh,
  policy,
  prefixMatch,
  route,
  rule,
  service,
  servicePort,
} from "../grpc/testing/mesh.ts";
import { typeUrlOf } from "../proto.ts";
import type { ProxyProfile } from "../types.ts";
import { collectResources } from "./resources.ts";
import { simulateRequest } from "./simulate.ts";
import type { SimulationResult } from "./types.ts";

const target = "greeter:50051";

/** `greeter` routed by one GRPCRoute with `rules` to `v2`, both with one endpoint and `v2Policy`. */
function routed(rules: RouteRule[], v2Policy?: ServicePolicy): MeshSnapshot {
  const ports = (ip: string) => [servicePort(50051, [endpoint(ip)])];
  return mesh(
    [
      service("greeter", { ports: ports("10.0.0.1") }),
      service("v2", { ports: ports("10.0.0.2"), policy: v2Policy }),
    ],
    [{ route: route(rules), parent: "greeter" }],
  );
}

const headerRule = rule({
  matches: [
    {
      ...prefixMatch(),
      headers: [
        { name: "x-canary", type: "Exact", value: "true" },
        { name: "x-tier", type: "Regex", value: "gold|silver" },
      ],
    },
  ],
  backends: [backend("v2")],
});

const profileFor = (client: ClientIdentity | undefined): ProxyProfile => ({
  namespace: "default",
  flavour: "grpc",
  instanceIps: [],
  ...(client && { client }),
});

/** Generates for `sentTo.client` (the encoding its group gets), simulates as `client`. */
function simulate(
  snapshot: MeshSnapshot,
  client: ClientIdentity | undefined,
  sentTo: { client: ClientIdentity | undefined } = { client },
): SimulationResult {
  const profile = profileFor(sentTo.client);
  const xds = collectResources(
    (typeUrl, request) => generateResources(snapshot, profile, typeUrl, request),
    "grpc",
    [target],
  );
  const headers: [string, string][] = [
    ["x-canary", "true"],
    ["x-tier", "gold"],
  ];
  return simulateRequest(xds, { target, path: "/pkg.Greeter/SayHello", headers }, "grpc", client);
}

function headerKinds(snapshot: MeshSnapshot, client: ClientIdentity | undefined): string[] {
  const [config] = generateResources(snapshot, profileFor(client), typeUrlOf(RouteConfigurationSchema), {
    wildcard: false,
    names: ["greeter.default.svc.cluster.local:50051"],
  });
  const message = config?.message as RouteConfiguration;
  return message.virtualHosts.flatMap((v) =>
    v.routes.flatMap((r) => r.match?.headers.map((h) => h.headerMatchSpecifier.case ?? "") ?? []),
  );
}

const clients: readonly (string | undefined)[] = [
  undefined,
  "grpc-js/1.14.1",
  "grpc-python/1.51",
  "grpc-core/1.51",
  "grpc-python/1.56",
  "grpc-go/1.55",
  "grpc-go/1.60",
  "grpc-java/1.52",
];

test("header matches: each client group is sent an encoding it accepts, and the call routes", () => {
  const snapshot = routed([headerRule]);
  const expected: Record<string, string[]> = {
    current: ["stringMatch", "stringMatch"],
    preA63: ["exactMatch", "safeRegexMatch"],
  };
  const preA63 = new Set(["grpc-python/1.51", "grpc-core/1.51", "grpc-go/1.55", "grpc-java/1.52"]);
  for (const spec of clients) {
    const client = spec === undefined ? undefined : parseClientSpec(spec);
    const kinds = headerKinds(snapshot, client);
    assert.deepEqual(kinds, spec && preA63.has(spec) ? expected.preA63 : expected.current, spec);
    const result = simulate(snapshot, client);
    assert.deepEqual(result.rejected, [], spec);
    assert.equal(result.outcome, "routed", spec);
    assert.match(result.backends[0]?.cluster ?? "", /\|v2\./, spec);
  }
});

test("the validator predicts C-core 1.51's NACK of string_match, naming the client and its message", () => {
  const cCore = parseClientSpec("grpc-python/1.51");
  // What meshplane sent every client before client-aware translation.
  const result = simulate(routed([headerRule]), cCore, { client: undefined });
  assert.equal(result.outcome, "failed");
  assert.equal(result.failure?.stage, "route-configuration");
  assert.equal(result.client, "C-core 1.51.0 (Python)");
  assert.equal(result.rejected.length, 2);
  assert.match(
    result.rejected[0] ?? "",
    /header matcher stringMatch \(x-canary\) is rejected by C-core 1\.51\.0 \(Python\): header matches written as string_match needs gRFC A63, C-core 1\.56\.0 and later \(C-core says "Invalid route header matcher specified\."\)/,
  );
  // grpc-js-xds 1.14 takes the same resource.
  const grpcJs = parseClientSpec("grpc-js/1.14.1");
  assert.equal(simulate(routed([headerRule]), grpcJs, { client: undefined }).outcome, "routed");
});

const retry = {
  attempts: 2,
  grpcCodes: ["unavailable"],
  httpCodes: [],
  backoffBaseMs: undefined,
  backoffMaxMs: undefined,
};
const outliers = {
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionPercent: 10,
  consecutiveErrors: undefined,
  failurePercentage: { threshold: 50, minimumHosts: 1, requestVolume: 5 },
};

test("features a release predates are reported as ignored; an LB policy it does not know, as a NACK", () => {
  const cases: {
    name: string;
    snapshot: MeshSnapshot;
    client: string;
    outcome: SimulationResult["outcome"];
    ignored?: RegExp;
    rejected?: RegExp;
  }[] = [
    {
      name: "retries before A44",
      snapshot: routed([rule({ backends: [backend("v2")], retry })]),
      client: "grpc-python/1.39",
      outcome: "routed",
      ignored:
        /route GRPCRoute\/default\/r\/rule\/0: ignored by C-core 1\.39\.0 \(Python\): retries \(retry_policy\) needs gRFC A44, C-core 1\.40\.0 and later/,
    },
    {
      name: "timeouts before A31",
      snapshot: routed([rule({ backends: [backend("v2")], requestTimeoutMs: 1500 })]),
      client: "grpc-java/1.36",
      outcome: "routed",
      ignored: /ignored by grpc-java 1\.36\.0: route timeouts \(max_stream_duration\) needs gRFC A31/,
    },
    {
      name: "outlier detection before A50",
      snapshot: routed([rule({ backends: [backend("v2")] })], policy({ outlierDetection: outliers })),
      client: "grpc-python/1.50",
      outcome: "routed",
      ignored:
        /Cluster outbound\|50051\|\|v2\.default\.svc\.cluster\.local: ignored by C-core 1\.50\.0 \(Python\): outlier detection needs gRFC A50, C-core 1\.51\.0/,
    },
    {
      name: "ring hash before A42",
      snapshot: routed([rule({ backends: [backend("v2")] })], policy({ loadBalancer: "RingHash" })),
      client: "grpc-go/1.40",
      outcome: "failed",
      rejected:
        /rejected by grpc-go 1\.40\.0: ring hash load balancing \(lb_policy RING_HASH\) needs gRFC A42, grpc-go 1\.41\.0/,
    },
    {
      name: "ring hash on C-core 1.51",
      snapshot: routed([rule({ backends: [backend("v2")] })], policy({ loadBalancer: "RingHash" })),
      client: "grpc-python/1.51",
      outcome: "failed",
      rejected:
        /broken in C-core 1\.51\.0 \(Python\): the client crashes \(segfault\) on its first call .*grpc\/grpc#31766/,
    },
    {
      name: "ring hash on grpc-js-xds 1.14",
      snapshot: routed([rule({ backends: [backend("v2")] })], policy({ loadBalancer: "RingHash" })),
      client: "grpc-js/1.14.1",
      outcome: "routed",
    },
  ];
  for (const c of cases) {
    const result = simulate(c.snapshot, parseClientSpec(c.client));
    assert.equal(result.outcome, c.outcome, c.name);
    if (c.ignored)
      assert.ok(
        result.ignored.some((i) => c.ignored?.test(i)),
        `${c.name}: ${result.ignored.join("; ")}`,
      );
    else assert.deepEqual(result.ignored, [], c.name);
    if (c.rejected)
      assert.ok(
        result.rejected.some((r) => c.rejected?.test(r)),
        `${c.name}: ${result.rejected.join("; ")}`,
      );
    else assert.deepEqual(result.rejected, [], c.name);
    // Without a client, nothing is claimed about any release.
    const any = simulate(c.snapshot, undefined);
    assert.deepEqual([any.ignored, any.rejected], [[], []], `${c.name}, no client`);
  }
});
