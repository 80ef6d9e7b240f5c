// The agent's xDS relay with real peers on 127.0.0.1: a plaintext grpc-js ADS client reaches an
// XdsServer that requires mTLS through it, with the certificate files the agent writes; without
// files, or with a certificate of another CA, the connection goes nowhere; off loopback it refuses
// to start.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { systemClock } from "../clock/index.ts";
import { defaultLimits } from "../limits/index.ts";
import {
  CertificateAuthority,
  createKeyAndRequest,
  serverNames,
  ServingCertificate,
} from "../security/index.ts";
import { memoryStateStore } from "../security/testing.ts";
import { x509 } from "../security/x509.ts";
import { createMetrics, silentLogger } from "../telemetry/index.ts";
import { packedTypesRegistry } from "../translate/index.ts";
import { clusterSnapshot, sotwStream } from "../xds/ads-test-client.ts";
import { TypeUrl } from "../xds/resource-types.ts";
import { XdsServer } from "../xds/server.ts";
import { writeCertificateFiles } from "./cert-files.ts";
import { XdsRelay } from "./xds-relay.ts";

const silentLog = { info: () => {}, warn: () => {} };

const meshCa = () =>
  CertificateAuthority.selfManaged({
    trustDomain: "mesh.local",
    clock: systemClock,
    workloadCertTtlMs: 60_000,
    store: memoryStateStore(),
  });

/** A workload's files as `meshplane agent` writes them, for a certificate from `ca`. */
async function writeWorkloadFiles(dir: string, ca: CertificateAuthority, bundleOf = ca): Promise<void> {
  const { keyPem, csrPem } = await createKeyAndRequest();
  const issued = await ca.issueWorkload(new x509.Pkcs10CertificateRequest(csrPem), {
    namespace: "shop",
    serviceAccount: "checkout",
  });
  writeCertificateFiles(
    dir,
    { certChainPem: issued.certChainPem, keyPem, trustBundlePem: bundleOf.trustBundlePem() },
    Date.now(),
  );
}

async function setup(t: TestContext) {
  const ca = await meshCa();
  const serving = new ServingCertificate({
    ca,
    clock: systemClock,
    commonName: "meshplane xDS server",
    names: serverNames("127.0.0.1"),
    log: silentLog,
  });
  await serving.start();
  const server = new XdsServer({
    limits: defaultLimits,
    metrics: createMetrics({ defaultMetrics: false }),
    logger: silentLogger(),
    controlPlaneId: "test",
    jsonRegistry: packedTypesRegistry(),
  });
  await server.setSnapshot(clusterSnapshot(1, { a: 1, b: 1 }));
  const { port } = await server.listen("127.0.0.1", 0, { keyPair: serving, clientAuth: "require" });
  const certDir = await mkdtemp(join(tmpdir(), "meshplane-relay-"));
  const warnings: string[] = [];
  const relay = await XdsRelay.start({
    listen: { host: "127.0.0.1", port: 0 },
    upstream: { host: "127.0.0.1", port },
    certDir,
    log: { info: () => {}, warn: (_fields, message) => warnings.push(message) },
  });
  const clients: grpc.Client[] = [];
  t.after(async () => {
    for (const client of clients) client.close();
    await relay.close();
    serving.stop();
    await server.close(100);
    await rm(certDir, { recursive: true, force: true });
  });
  /** Every cluster through the relay on a new plaintext connection: how many, or the status. */
  const fetchClusters = async () => {
    const client = new grpc.Client(`127.0.0.1:${relay.address.port}`, grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
    });
    clients.push(client);
    const stream = sotwStream(client);
    stream.send({ node: { id: "relayed" }, typeUrl: TypeUrl.Cluster, resourceNames: [] });
    const result = await Promise.race([
      stream.next(5000).then((r) => ({ names: r.resources.length })),
      stream.ended(5000).then((status) => ({ code: status.code })),
    ]);
    stream.end();
    return result;
  };
  return { ca, certDir, fetchClusters, warnings };
}

describe("xDS relay", () => {
  test("a plaintext client gets config from an mTLS-only xDS server through it", async (t) => {
    const { ca, certDir, fetchClusters } = await setup(t);
    await writeWorkloadFiles(certDir, ca);
    assert.deepEqual(await fetchClusters(), { names: 2 });
  });

  test("no certificate yet, or one the server does not trust: no config, and a warning that says why", async (t) => {
    const { certDir, fetchClusters, warnings } = await setup(t);
    assert.deepEqual(await fetchClusters(), { code: grpc.status.UNAVAILABLE });
    assert.ok(warnings.includes("xDS relay: no certificate yet; connection refused"), warnings.join());
    const stranger = await meshCa();
    await writeWorkloadFiles(certDir, stranger);
    assert.deepEqual(await fetchClusters(), { code: grpc.status.UNAVAILABLE });
    assert.ok(warnings.includes("xDS relay: the connection to meshplane failed"), warnings.join());
  });

  test("listens on loopback only", async () => {
    await assert.rejects(
      XdsRelay.start({
        listen: { host: "0.0.0.0", port: 0 },
        upstream: { host: "127.0.0.1", port: 1 },
        certDir: "/nonexistent",
        log: silentLog,
      }),
      /listens on loopback only/,
    );
  });
});
