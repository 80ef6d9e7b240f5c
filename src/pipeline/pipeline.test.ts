// The pipeline publishes one state per configuration generation, with the change set in facet
// keys; a translator fault becomes an issue on the objects the resource read, and the proxy gets
// the other resources instead of an error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { MeshFacets } from "../mesh/index.ts";
import { resources } from "../mesh/testing.ts";
import { silentLogger } from "../telemetry/index.ts";
import { mesh, policy, service } from "../translate/grpc/testing/mesh.ts";
import { clusterName } from "../translate/index.ts";
import { sotwStream, startTestServer } from "../xds/ads-test-client.ts";
import { TypeUrl } from "../xds/resource-types.ts";
import { Pipeline } from "./pipeline.ts";
import { servingState, type ServingState } from "./serving-state.ts";
import { TranslationFaults, translationFailedReason } from "./translation-faults.ts";

const web = (port: number) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web" },
  spec: { ports: [{ port }] },
});

test("one state per generation, to every subscriber; the change set names the facets that moved", () => {
  const pipeline = new Pipeline({ domain: "cluster.local", logger: silentLogger() });
  const seen: ServingState[] = [];
  pipeline.subscribe((state) => seen.push(state));
  const first = pipeline.publish({ resources: resources(web(80)), generation: 1 });
  assert.equal(
    pipeline.publish({ resources: resources(web(81)), generation: 1 }),
    undefined,
    "same generation",
  );
  const second = pipeline.publish({ resources: resources(web(81)), generation: 2 });
  assert.equal(
    pipeline.publish({ resources: resources(web(81)), generation: 3 }),
    undefined,
    "the same configuration again (a relist) publishes nothing",
  );
  const bumped = { ...web(81), metadata: { name: "web", generation: 2 } };
  const third = pipeline.publish({ resources: resources(bumped), generation: 4 });
  assert.deepEqual(
    seen.map((s) => s.version),
    [1, 2, 3],
  );
  assert.equal(pipeline.current, third);
  assert.equal(first?.changes, undefined, "the first state is all new");
  assert.deepEqual([...(second?.changes ?? [])].sort(), [
    "Service default/web",
    "endpoints default/web:80",
    "endpoints default/web:81",
    "policy default/web:80",
    "policy default/web:81",
    "port 80",
    "port 81",
    "ports",
    "security default/web:80",
    "security default/web:81",
    "services",
  ]);
  assert.deepEqual(
    [...(third?.changes ?? ["?"])],
    [],
    "a new generation status must report, though generators read nothing new",
  );
});

const grpc = { flavour: "grpc", namespace: "default", instanceIps: [] } as const;
const badCluster = clusterName("default", "greeter", 50051, "cluster.local");
const goodCluster = clusterName("default", "plain", 50051, "cluster.local");

/** A state whose greeter cluster cannot be generated: a ring size the API would never let through. */
function faultyState(faults: TranslationFaults): ServingState {
  const broken = policy({ loadBalancer: "RingHash", ringHash: { minimumRingSize: 1.5, maximumRingSize: 8 } });
  const model = mesh([service("greeter", { policy: broken }), service("plain")]);
  return servingState({
    version: 1,
    resources: [],
    mesh: model,
    facets: new MeshFacets(model),
    changes: undefined,
    faults,
  });
}

test("a translator fault becomes an issue on what the resource read, until that changes", () => {
  const faults = new TranslationFaults(silentLogger());
  let told = 0;
  faults.onFault(() => told++);
  const state = faultyState(faults);
  const translation = state.generate(grpc, TypeUrl.Cluster, badCluster);
  assert.equal(translation.resource, undefined);
  assert.ok(translation.failure instanceof RangeError, String(translation.failure));
  assert.ok(state.generate(grpc, TypeUrl.Cluster, goodCluster).resource, "other resources are unaffected");
  assert.equal(told, 1);
  assert.deepEqual(
    state.issues.map((i) => [i.object, i.reason]),
    [
      ["Service default/greeter", translationFailedReason],
      ["TrafficPolicy default/test", translationFailedReason],
    ],
  );
  assert.match(
    state.issues[0]?.message ?? "",
    /Cluster outbound\|50051\|\|greeter\S+ could not be generated/,
  );
  faults.forget(new Set(["policy default/plain:50051"]));
  assert.equal(state.issues.length, 2, "a change it did not read keeps the fault");
  faults.forget(new Set(["policy default/greeter:50051"]));
  assert.deepEqual(state.issues, [], "a change of what it read drops it: it is generated again");
});

test("a proxy asking for a resource that fails to translate gets the others, not an error", async (t) => {
  const { connect } = await startTestServer(t, faultyState(new TranslationFaults(silentLogger())));
  const stream = sotwStream(connect());
  stream.send({ node: { id: "p" }, typeUrl: TypeUrl.Cluster, resourceNames: [badCluster, goodCluster] });
  const response = await stream.next();
  assert.deepEqual(
    response.resources.map((any) => anyUnpack(any, ClusterSchema)?.name),
    [goodCluster],
  );
  stream.send({
    typeUrl: TypeUrl.Cluster,
    resourceNames: [badCluster, goodCluster],
    versionInfo: response.versionInfo,
    responseNonce: response.nonce,
  });
  assert.ok(await stream.quiet(), "the stream stays open and quiet after the ACK");
});

test("the trust domain given (serve --trust-domain) is the mesh's; cluster.local without one", () => {
  const input = { resources: resources(web(80)), generation: 1 };
  const given = new Pipeline({ domain: "cluster.local", trustDomain: "example.org", logger: silentLogger() });
  assert.equal(given.publish(input)?.mesh.trustDomain, "example.org");
  const unset = new Pipeline({ domain: "cluster.local", logger: silentLogger() });
  assert.equal(unset.publish(input)?.mesh.trustDomain, "cluster.local");
});
