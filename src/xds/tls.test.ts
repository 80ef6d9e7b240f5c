// xDS over TLS with real grpc-js clients on 127.0.0.1: the server certificate from the mesh CA
// verifies, client certificates are required / optional / not asked for, a plaintext client is
// refused, and a renewed certificate reaches new connections while an open ADS stream keeps
// receiving pushes.
import assert from "node:assert/strict";
import { connect as tlsConnect } from "node:tls";
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
import { clusterSnapshot, sotwStream } from "./ads-test-client.ts";
import { TypeUrl } from "./resource-types.ts";
import { XdsServer } from "./server.ts";
import type { ClientAuth } from "./tls.ts";

const silentLog = { info: () => {}, warn: () => {} };

async function meshCa() {
  return CertificateAuthority.selfManaged({
    trustDomain: "mesh.local",
    clock: systemClock,
    workloadCertTtlMs: 60_000,
    store: memoryStateStore(),
  });
}

/** A workload certificate from `ca`, as `meshplane agent` would hold it. */
async function workloadCert(ca: CertificateAuthority) {
  const { keyPem, csrPem } = await createKeyAndRequest();
  const issued = await ca.issueWorkload(new x509.Pkcs10CertificateRequest(csrPem), {
    namespace: "shop",
    serviceAccount: "checkout",
  });
  return { keyPem, certChainPem: issued.certChainPem };
}

async function startTlsServer(t: TestContext, clientAuth: ClientAuth) {
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
  await server.setSnapshot(clusterSnapshot(1, { a: 1 }));
  const { port } = await server.listen("127.0.0.1", 0, { keyPair: serving, clientAuth });
  const clients: grpc.Client[] = [];
  t.after(async () => {
    for (const client of clients) client.close();
    serving.stop();
    await server.close(100);
  });
  const connect = (credentials: grpc.ChannelCredentials) => {
    const client = new grpc.Client(`127.0.0.1:${port}`, credentials, { "grpc.use_local_subchannel_pool": 1 });
    clients.push(client);
    return client;
  };
  return { ca, serving, server, port, connect };
}

/** Asks for every cluster; the first response, or the status the stream ended with. */
async function fetchClusters(client: grpc.Client): Promise<{ names: number } | { code: grpc.status }> {
  const stream = sotwStream(client);
  stream.send({ node: { id: "proxy-1" }, typeUrl: TypeUrl.Cluster, resourceNames: [] });
  const ended = stream.ended(5000).then((status) => ({ code: status.code }));
  const response = stream.next(5000).then((r) => ({ names: r.resources.length }));
  const result = await Promise.race([response, ended]);
  stream.end();
  return result;
}

describe("xDS over TLS", () => {
  test("a client that verifies the mesh root and presents its workload certificate is served", async (t) => {
    const { ca, connect } = await startTlsServer(t, "require");
    const { keyPem, certChainPem } = await workloadCert(ca);
    const credentials = grpc.credentials.createSsl(
      Buffer.from(ca.trustBundlePem()),
      Buffer.from(keyPem),
      Buffer.from(certChainPem),
    );
    assert.deepEqual(await fetchClusters(connect(credentials)), { names: 1 });
  });

  test("require: a client without a certificate, or with another CA's, is refused", async (t) => {
    const { ca, connect } = await startTlsServer(t, "require");
    const roots = Buffer.from(ca.trustBundlePem());
    assert.deepEqual(await fetchClusters(connect(grpc.credentials.createSsl(roots))), {
      code: grpc.status.UNAVAILABLE,
    });
    const stranger = await workloadCert(await meshCa());
    const foreign = grpc.credentials.createSsl(
      roots,
      Buffer.from(stranger.keyPem),
      Buffer.from(stranger.certChainPem),
    );
    assert.deepEqual(await fetchClusters(connect(foreign)), { code: grpc.status.UNAVAILABLE });
  });

  for (const clientAuth of ["optional", "none"] as const) {
    test(`${clientAuth}: a client without a certificate is served over TLS`, async (t) => {
      const { ca, connect } = await startTlsServer(t, clientAuth);
      const credentials = grpc.credentials.createSsl(Buffer.from(ca.trustBundlePem()));
      assert.deepEqual(await fetchClusters(connect(credentials)), { names: 1 });
    });
  }

  test("a plaintext client, and a client that does not trust the mesh root, are refused", async (t) => {
    const { connect } = await startTlsServer(t, "none");
    assert.deepEqual(await fetchClusters(connect(grpc.credentials.createInsecure())), {
      code: grpc.status.UNAVAILABLE,
    });
    const otherRoots = Buffer.from((await meshCa()).trustBundlePem());
    assert.deepEqual(await fetchClusters(connect(grpc.credentials.createSsl(otherRoots))), {
      code: grpc.status.UNAVAILABLE,
    });
  });

  test("a renewed certificate is served to new connections while an open stream keeps its pushes", async (t) => {
    const { ca, serving, server, port, connect } = await startTlsServer(t, "require");
    const roots = ca.trustBundlePem();
    const { keyPem, certChainPem } = await workloadCert(ca);
    const client = connect(
      grpc.credentials.createSsl(Buffer.from(roots), Buffer.from(keyPem), Buffer.from(certChainPem)),
    );
    const stream = sotwStream(client);
    stream.send({ node: { id: "proxy-1" }, typeUrl: TypeUrl.Cluster, resourceNames: [] });
    const first = await stream.next(5000);
    stream.send({ versionInfo: first.versionInfo, responseNonce: first.nonce, typeUrl: TypeUrl.Cluster });
    const before = serving.current()?.serialNumber;
    // A new TLS connection needs a client certificate under "require": only the handshake's
    // server side is observed here, so ask with a certificate too.
    const serial = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect(
          {
            host: "127.0.0.1",
            servername: "localhost",
            port,
            ca: roots,
            key: keyPem,
            cert: certChainPem,
            ALPNProtocols: ["h2"],
          },
          () => {
            resolve(socket.getPeerX509Certificate()?.serialNumber ?? "");
            socket.destroy();
          },
        );
        socket.once("error", reject);
      });
    assert.equal((await serial()).toLowerCase(), before?.toLowerCase());
    await serving.renew();
    const after = serving.current()?.serialNumber;
    assert.notEqual(after, before);
    assert.equal(
      (await serial()).toLowerCase(),
      after?.toLowerCase(),
      "a new connection sees the new certificate",
    );
    void server.setSnapshot(clusterSnapshot(2, { a: 2, b: 1 }));
    const pushed = await stream.next(5000);
    assert.equal(pushed.resources.length, 2, "the stream opened before the renewal still gets pushes");
    assert.equal(stream.received, 2);
  });
});
