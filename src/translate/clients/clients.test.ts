// Client identity from the ADS node as each implementation really fills it in, the `--client`
// form, what each release does with each feature, and the encoding (and cache group) that follows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { NodeSchema, type Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { profileGroup } from "../generator.ts";
import { typeUrlOf } from "../proto.ts";
import type { ProxyProfile } from "../types.ts";
import {
  clientEncoding,
  clientGroupLabel,
  clientIdentity,
  clientName,
  ClientSpecError,
  featureVerdict,
  parseClientSpec,
  type ClientFeature,
} from "./index.ts";

const node = (userAgentName: string, version: string, clientFeatures: string[] = []): Node =>
  create(NodeSchema, {
    id: "n",
    userAgentName,
    userAgentVersionType: { case: "userAgentVersion", value: version },
    clientFeatures,
  });

test("identity: what each implementation's node says, as a client group", () => {
  const cases: { name: string; node: Node; group: string | undefined; client?: string }[] = [
    {
      // @grpc/grpc-js-xds 1.14.1 build/src/xds-client.js adsNode.
      name: "grpc-js-xds",
      node: node("gRPC Node Pure JS", "1.14.1", ["envoy.lb.does_not_support_overprovisioning"]),
      group: "grpc-js/1.14",
      client: "grpc-js-xds 1.14.1",
    },
    {
      // Seen from Debian's python3-grpcio 1.51.1: the core number (29.0.0) is no gRPC release;
      // the release comes with the language suffix.
      name: "C-core via Python",
      node: node("gRPC C-core linux Python", "C-core 29.0.0 Python 1.51.1"),
      group: "grpc-python/1.51",
      client: "C-core 1.51.1 (Python)",
    },
    {
      // C++ builds no suffix: only the core number, so no release.
      name: "C-core without a language",
      node: node("gRPC C-core linux", "C-core 29.0.0"),
      group: "grpc-core",
      client: "C-core",
    },
    {
      name: "C# on C-core (Grpc.Core 2.x is gRPC 1.x)",
      node: node("gRPC C-core windows C#", "C-core 24.0.0 C# 2.46.6"),
      group: "grpc-csharp/1.46",
    },
    { name: "grpc-go", node: node("gRPC Go", "1.60.1"), group: "grpc-go/1.60" },
    { name: "grpc-java", node: node("gRPC Java", "1.60.0"), group: "grpc-java/1.60" },
    { name: "a release without a number", node: node("gRPC Go", "dev"), group: "grpc-go" },
    { name: "an unknown client", node: node("my-xds-client", "1.0"), group: undefined },
    { name: "no user agent", node: create(NodeSchema, { id: "n" }), group: undefined },
  ];
  for (const c of cases) {
    const identity = clientIdentity(c.node);
    assert.equal(identity && clientGroupLabel(identity), c.group, c.name);
    if (c.client) assert.equal(identity && clientName(identity), c.client, c.name);
  }
  const envoy = clientIdentity(
    create(NodeSchema, {
      userAgentName: "envoy",
      userAgentVersionType: {
        case: "userAgentBuildVersion",
        value: { version: { majorNumber: 1, minorNumber: 34, patch: 2 } },
      },
    }),
  );
  assert.equal(envoy && clientGroupLabel(envoy), "envoy/1.34");
});

test("identity: what is kept of the node is bounded", () => {
  const many = Array.from({ length: 100 }, (_, i) => `feature-${i}-${"x".repeat(200)}`);
  const identity = clientIdentity(node("gRPC Go", "1.60.1", many));
  assert.equal(identity?.features.length, 16);
  assert.ok(identity?.features.every((f) => f.length <= 80));
  const odd = clientIdentity(node(`gRPC C-core linux ${"P".repeat(500)}`, "C-core 29.0.0 P 1.51.1"));
  assert.equal(odd?.language, undefined, "a language that is no short word is not kept");
});

test("--client: NAME/VERSION for every implementation; anything else is refused with the form", () => {
  assert.deepEqual(parseClientSpec("grpc-python/1.51"), {
    implementation: "grpc-core",
    language: "Python",
    version: { major: 1, minor: 51, patch: 0 },
    features: [],
  });
  assert.equal(parseClientSpec("grpc-c++/1.56.2").implementation, "grpc-core");
  assert.equal(parseClientSpec("grpc-core/1.51").language, undefined);
  assert.equal(parseClientSpec("grpc-node/1.14.1").implementation, "grpc-js");
  assert.equal(clientGroupLabel(parseClientSpec("GRPC-PYTHON/1.51.1")), "grpc-python/1.51");
  for (const bad of ["grpc-python", "grpc-python/latest", "grpc-rust/1.0", "grpc-go/1.60/x", "/1.2"]) {
    assert.throws(() => parseClientSpec(bad), ClientSpecError, bad);
  }
});

test("features: accepted, ignored, rejected or broken, per implementation and release", () => {
  const cases: [string, ClientFeature, string][] = [
    // gRFC A63: C-core reads string_match from 1.56; before, it NACKs the route configuration.
    ["grpc-python/1.51", "headerStringMatch", "rejected"],
    ["grpc-python/1.56", "headerStringMatch", "accepted"],
    ["grpc-js/1.14.1", "headerStringMatch", "accepted"],
    ["grpc-js/1.8.0", "headerStringMatch", "rejected"],
    ["grpc-java/1.53", "headerStringMatch", "accepted"],
    ["grpc-go/1.55.1", "headerStringMatch", "rejected"],
    // gRFC A50: outlier detection on by default from C-core 1.51; older releases ignore it.
    ["grpc-python/1.51", "outlierDetection", "accepted"],
    ["grpc-python/1.50", "outlierDetection", "ignored"],
    ["grpc-go/1.49", "outlierDetection", "ignored"],
    // gRFC A44 retries.
    ["grpc-python/1.39", "retry", "ignored"],
    ["grpc-js/1.7.0", "retry", "ignored"],
    ["grpc-js/1.8.0", "retry", "accepted"],
    // gRFC A42: RING_HASH is an lb_policy value: unknown to a client, NACKed; C-core 1.50-1.52 crash.
    ["grpc-go/1.40", "ringHash", "rejected"],
    ["grpc-python/1.51", "ringHash", "broken"],
    ["grpc-python/1.53", "ringHash", "accepted"],
    ["grpc-js/1.14.1", "ringHash", "accepted"],
    // gRFC A31-A33.
    ["grpc-java/1.36", "maxStreamDuration", "ignored"],
    ["grpc-java/1.37.1", "faultInjection", "accepted"],
    ["grpc-python/1.37.0", "circuitBreaking", "ignored"],
  ];
  for (const [spec, feature, verdict] of cases) {
    assert.equal(featureVerdict(parseClientSpec(spec), feature).verdict, verdict, `${spec} ${feature}`);
  }
  assert.equal(featureVerdict(undefined, "headerStringMatch").verdict, "accepted", "no client: no claim");
  const reason = featureVerdict(parseClientSpec("grpc-python/1.51"), "headerStringMatch");
  assert.ok(reason.verdict === "rejected");
  assert.equal(
    reason.reason,
    "rejected by C-core 1.51.0 (Python): header matches written as string_match needs gRFC A63, C-core 1.56.0 and later",
  );
});

test("encoding and cache group: one per encoding, not one per client", () => {
  const rds = typeUrlOf(RouteConfigurationSchema);
  const profile = (spec?: string): ProxyProfile => ({
    namespace: "default",
    flavour: "grpc",
    instanceIps: [],
    ...(spec ? { client: parseClientSpec(spec) } : {}),
  });
  const groups: [string | undefined, boolean, string][] = [
    [undefined, true, "grpc"],
    ["grpc-js/1.14.1", true, "grpc"],
    ["grpc-go/1.60", true, "grpc"],
    ["grpc-python/1.56", true, "grpc"],
    ["grpc-python/1.51", false, "grpc|client=pre-a63"],
    ["grpc-core/1.51", false, "grpc|client=pre-a63"],
    ["grpc-java/1.52", false, "grpc|client=pre-a63"],
  ];
  // C-core whose release is unknown (C++): the encoding every release reads.
  const cxx = clientIdentity(node("gRPC C-core linux", "C-core 29.0.0"));
  assert.equal(clientEncoding(cxx).headerStringMatch, false);
  assert.equal(featureVerdict(cxx, "ringHash").verdict, "accepted", "no release, no claim");
  for (const [spec, stringMatch, group] of groups) {
    const client = spec === undefined ? undefined : parseClientSpec(spec);
    assert.equal(clientEncoding(client).headerStringMatch, stringMatch, spec);
    assert.equal(profileGroup(rds, profile(spec)), group, spec);
  }
  // Types that read nothing of the client share across every client.
  const cds = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  assert.equal(profileGroup(cds, profile("grpc-python/1.51")), profileGroup(cds, profile("grpc-js/1.14")));
});
