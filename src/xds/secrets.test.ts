// SDS over ADS: an Envoy sidecar that finds TLS contexts in its clusters asks for the secrets they
// name and receives them, over SotW and delta, after (in push order, before) the clusters; the
// files they name are in the directory its node metadata gives. Proxyless gRPC reads certificates
// from files (A29) and is served no secrets. The config dump (`meshplane proxy-config NODE
// secrets`) shows the ACKed secrets: file names, never key material.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { SecretSchema, type Secret } from "../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { resources } from "../mesh/testing.ts";
import { Pipeline } from "../pipeline/pipeline.ts";
import type { ServingState } from "../pipeline/serving-state.ts";
import { silentLogger } from "../telemetry/index.ts";
import { deltaStream, sotwStream, startTestServer } from "./ads-test-client.ts";
import { TypeUrl } from "./resource-types.ts";

function mesh(): ServingState {
  const pipeline = new Pipeline({ domain: "cluster.local", logger: silentLogger() });
  return pipeline.publish({
    resources: resources(
      { apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec: { ports: [{ port: 80 }] } },
      {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: "web-a", labels: { "kubernetes.io/service-name": "web" } },
        addressType: "IPv4",
        ports: [{ port: 8080 }],
        endpoints: [{ addresses: ["10.0.0.1"] }],
      },
    ),
    generation: 1,
  }) as ServingState;
}

const sidecar = (id: string, certDir?: string) => ({
  id,
  userAgentName: "envoy",
  metadata: {
    NAMESPACE: "default",
    INSTANCE_IPS: "10.0.0.1",
    ...(certDir !== undefined && { MESHPLANE_CERT_DIR: certDir }),
  },
});

function files(secret: Secret): string[] {
  const type = secret.type;
  const names =
    type.case === "tlsCertificate"
      ? [type.value.certificateChain, type.value.privateKey]
      : type.case === "validationContext"
        ? [type.value.trustedCa]
        : [];
  const watched =
    type.case === "tlsCertificate" || type.case === "validationContext"
      ? type.value.watchedDirectory?.path
      : "";
  return [
    ...names.map((d) => (d?.specifier.case === "filename" ? d.specifier.value : "(not a file)")),
    `watch ${watched}`,
  ];
}

const expected = (dir: string) => ({
  ROOTCA: [`${dir}/root-cert.pem`, `watch ${dir}`],
  default: [`${dir}/cert-chain.pem`, `${dir}/key.pem`, `watch ${dir}`],
});

test("SotW: an Envoy sidecar gets the secrets it names, in its certificate directory; the dump shows file names", async (t) => {
  const { server, connect } = await startTestServer(t, mesh());
  const stream = sotwStream(connect());
  stream.send({ node: sidecar("envoy-1", "/etc/meshplane/certs/"), typeUrl: TypeUrl.Cluster });
  const clusters = await stream.next();
  assert.equal(clusters.typeUrl, TypeUrl.Cluster);
  stream.send({ typeUrl: TypeUrl.Cluster, versionInfo: clusters.versionInfo, responseNonce: clusters.nonce });
  stream.send({ typeUrl: TypeUrl.Secret, resourceNames: ["default", "ROOTCA"] });
  const response = await stream.next();
  assert.equal(response.typeUrl, TypeUrl.Secret);
  const secrets = response.resources.map((r) => fromBinary(SecretSchema, r.value));
  assert.deepEqual(
    Object.fromEntries(secrets.map((s) => [s.name, files(s)])),
    expected("/etc/meshplane/certs"),
  );
  // A SotW ACK names the whole subscription again.
  stream.send({
    typeUrl: TypeUrl.Secret,
    resourceNames: ["default", "ROOTCA"],
    versionInfo: response.versionInfo,
    responseNonce: response.nonce,
  });

  const [status] = server.proxies();
  assert.ok(status);
  // The ACK travels back to the server: wait for the dump to hold it, with a deadline.
  let dump: Record<string, Record<string, unknown>> | undefined;
  const held = () => Object.keys(dump?.sds ?? {}).length;
  for (const deadline = Date.now() + 2000; held() < 2 && Date.now() < deadline;) {
    dump = server.configDump(status.streamId);
    if (held() < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.deepEqual(Object.keys(dump?.sds ?? {}).sort(), ["ROOTCA", "default"]);
  const text = JSON.stringify(dump?.sds);
  assert.match(text, /\/etc\/meshplane\/certs\/key\.pem/);
  assert.doesNotMatch(text, /BEGIN|inlineBytes|inlineString/, "file names only, no key material");
});

test("delta: a sidecar on the default directory gets both secrets; a proxyless client none", async (t) => {
  const { connect } = await startTestServer(t, mesh());
  const envoy = deltaStream(connect());
  envoy.send({
    node: sidecar("envoy-2"),
    typeUrl: TypeUrl.Secret,
    resourceNamesSubscribe: ["ROOTCA", "default"],
  });
  const response = await envoy.next();
  assert.equal(response.typeUrl, TypeUrl.Secret);
  const secrets = response.resources.map((r) =>
    fromBinary(SecretSchema, r.resource?.value ?? new Uint8Array()),
  );
  assert.deepEqual(
    Object.fromEntries(secrets.map((s) => [s.name, files(s)])),
    expected("/var/run/meshplane/certs"),
  );

  const grpc = deltaStream(connect());
  grpc.send({
    node: { id: "grpc-1", metadata: { NAMESPACE: "default" } },
    typeUrl: TypeUrl.Secret,
    resourceNamesSubscribe: ["default"],
  });
  // Nothing to send but that none exists: delta reports the name absent or sends nothing at all.
  const answer = await grpc.next(500).catch(() => undefined);
  assert.deepEqual(answer?.resources ?? [], []);
});
