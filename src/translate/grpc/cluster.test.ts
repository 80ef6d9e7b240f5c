// CDS for gRPC clients: load balancing (A42), circuit breaking (A32), outlier detection (A50),
// mTLS (A29).
import { test } from "node:test";
import assert from "node:assert/strict";
import { toJson } from "@bufbuild/protobuf";
import { ClusterSchema, type Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import {
  MeshFacets,
  type MtlsMode,
  type OutlierDetectionPolicy,
  type ServicePolicy,
} from "../../mesh/index.ts";
import { assertValidEnvoy } from "../envoy/pgv-assert.ts";
import { translate } from "../generator.ts";
import { packedTypesRegistry } from "../json.ts";
import { typeUrlOf } from "../proto.ts";
import { viewOf } from "../testing.ts";
import { edsCluster } from "./cluster.ts";
import { grpcJsXdsErrors } from "./testing/grpc-js-xds.ts";
import { mesh, mtls, policy, service, servicePort } from "./testing/mesh.ts";

const name = "outbound|50051||greeter.default.svc.cluster.local";
const json = (p: ServicePolicy | undefined) =>
  toJson(ClusterSchema, edsCluster(name, p)) as Record<string, unknown>;

const outliers = (fields: Partial<OutlierDetectionPolicy> = {}): OutlierDetectionPolicy => ({
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionPercent: 20,
  consecutiveErrors: undefined,
  failurePercentage: { threshold: 60, minimumHosts: 3, requestVolume: 50 },
  ...fields,
});

test("without a policy: an ADS-fed EDS cluster, round robin, 5 s connect timeout", () => {
  assert.deepEqual(json(undefined), {
    name,
    type: "EDS",
    edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: "V3" }, serviceName: name },
    connectTimeout: "5s",
  });
});

test("RingHash: RING_HASH with the ring sizes; LeastRequest falls back to ROUND_ROBIN", () => {
  const ring = json(
    policy({ loadBalancer: "RingHash", ringHash: { minimumRingSize: 1024, maximumRingSize: 4096 } }),
  );
  assert.equal(ring.lbPolicy, "RING_HASH");
  assert.deepEqual(ring.ringHashLbConfig, { minimumRingSize: "1024", maximumRingSize: "4096" });
  const defaults = json(policy({ loadBalancer: "RingHash" }));
  assert.equal(defaults.lbPolicy, "RING_HASH");
  assert.equal(defaults.ringHashLbConfig, undefined);
  for (const loadBalancer of ["LeastRequest", "RoundRobin", undefined] as const) {
    assert.equal(
      json(policy({ loadBalancer })).lbPolicy,
      undefined,
      `${loadBalancer}: ROUND_ROBIN is the default`,
    );
  }
});

test("circuit breaking: the DEFAULT priority's max_requests only", () => {
  const circuitBreaker = { maxRequests: 100, maxConnections: 10, maxPendingRequests: 5, maxRetries: 3 };
  assert.deepEqual(json(policy({ circuitBreaker })).circuitBreakers, { thresholds: [{ maxRequests: 100 }] });
  const withoutRequests = { ...circuitBreaker, maxRequests: undefined };
  assert.equal(json(policy({ circuitBreaker: withoutRequests })).circuitBreakers, undefined);
});

test("outlier detection: failure percentage enforced, success rate disabled", () => {
  assert.deepEqual(json(policy({ outlierDetection: outliers() })).outlierDetection, {
    interval: "10s",
    baseEjectionTime: "30s",
    maxEjectionPercent: 20,
    enforcingSuccessRate: 0,
    failurePercentageThreshold: 60,
    failurePercentageMinimumHosts: 3,
    failurePercentageRequestVolume: 50,
    enforcingFailurePercentage: 100,
  });
});

test("outlier detection on consecutive errors only is Envoy's: nothing for gRPC", () => {
  const consecutive = outliers({ consecutiveErrors: 5, failurePercentage: undefined });
  assert.equal(json(policy({ outlierDetection: consecutive })).outlierDetection, undefined);
});

test("connect timeout from the policy", () => {
  assert.equal(json(policy({ connectTimeoutMs: 250 })).connectTimeout, "0.250s");
});

test("a port's policy replaces the Service's", () => {
  const servicePolicy = policy({ loadBalancer: "RingHash" });
  const port81 = policy({ connectTimeoutMs: 1000 });
  const greeter = service("greeter", {
    ports: [servicePort(80), servicePort(81, [], port81)],
    policy: servicePolicy,
  });
  const view = viewOf(mesh([greeter, service("plain")]));
  assert.equal(view.policy({ namespace: "default", name: "greeter", port: 80 }), servicePolicy);
  assert.equal(view.policy({ namespace: "default", name: "greeter", port: 81 }), port81);
  assert.equal(view.policy({ namespace: "default", name: "plain", port: 50051 }), undefined);
});

test("mTLS by the destination's mode: STRICT ports get a TLS socket accepting the Service's identities", () => {
  const clusterOf = (mode: MtlsMode) => {
    const greeter = service("greeter", {
      serviceAccounts: ["greeter", "greeter-canary"],
      ports: [servicePort(50051, [], undefined, { security: mtls(mode) })],
    });
    const facets = new MeshFacets({ ...mesh([greeter]), trustDomain: "example.org" });
    const profile = { namespace: "web", flavour: "grpc" as const, instanceIps: [] };
    const { resource } = translate(facets, profile, typeUrlOf(ClusterSchema), name);
    assert.ok(resource);
    assert.deepEqual(grpcJsXdsErrors(resource), [], `grpc-js-xds accepts the ${mode} cluster`);
    assertValidEnvoy([resource]);
    assert.ok(resource.provenance.objects.includes(`PeerAuthentication default/${mode.toLowerCase()}`));
    return toJson(ClusterSchema, resource.message as Cluster, { registry: packedTypesRegistry() }) as {
      transportSocket?: unknown;
    };
  };
  const instance = { instanceName: "default" };
  assert.deepEqual(clusterOf("STRICT").transportSocket, {
    name: "envoy.transport_sockets.tls",
    typedConfig: {
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
      commonTlsContext: {
        tlsCertificateProviderInstance: instance,
        validationContext: {
          caCertificateProviderInstance: instance,
          matchSubjectAltNames: [
            { exact: "spiffe://example.org/ns/default/sa/greeter" },
            { exact: "spiffe://example.org/ns/default/sa/greeter-canary" },
          ],
        },
      },
    },
  });
  for (const mode of ["PERMISSIVE", "DISABLE"] as const) {
    assert.equal(clusterOf(mode).transportSocket, undefined, `${mode}: plaintext`);
  }
});
