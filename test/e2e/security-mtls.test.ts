// Proxyless mTLS end to end with real peers on 127.0.0.1: a grpc-js-xds XdsServer (gRFC A36) with
// XdsServerCredentials serves with the listener meshplane builds for its address, clients use
// XdsChannelCredentials (A29), and both hold certificates that real `meshplane agent` processes
// obtained from meshplane's CA. Without a PeerAuthentication the mesh is PERMISSIVE: the server
// serves plaintext, to xDS clients and to a plain insecure channel alike. A namespace-wide
// STRICT PeerAuthentication (through the API) turns the server's listener to TLS requiring a
// client certificate and the clients' clusters to mTLS checking the server's SPIFFE ID: calls
// carry the client's identity, a plain channel is refused, the policy is Programmed on the one
// server that enforces it, and a client told to expect another identity refuses the server. Back
// to PERMISSIVE, plaintext is served again.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { callGreeter, greeterService } from "../../examples/quickstart/lib/greeter-proto.ts";
import { apiRequest } from "./support/api.ts";
import {
  freePort,
  loopbackServiceObjects,
  namespaceObject,
  startWorkloadIdentity,
  type WorkloadIdentity,
} from "./support/identity.ts";
import {
  adminText,
  cliBootstrap,
  startGreeter,
  startMeshplane,
  startXdsClient,
  summary,
  waitFor,
  type CallResult,
  type Greeter,
  type Meshplane,
  type XdsClient,
} from "./support/index.ts";

const namespace = "shop";
const spiffe = (sa: string) => `spiffe://cluster.local/ns/${namespace}/sa/${sa}`;
const servicePort = 50051;

/** A Service whose one endpoint is the server at 127.0.0.1:`port`, served by `serviceAccounts`. */
const serviceObjects = (name: string, port: number, serviceAccounts?: string) =>
  loopbackServiceObjects({ namespace, name, servicePort, port, serviceAccounts });

describe("proxyless mTLS: XdsServer and XdsChannelCredentials with meshplane's listeners and certificates", () => {
  let work: string;
  let meshplane: Meshplane;
  let serverIdentity: WorkloadIdentity;
  let clientIdentity: WorkloadIdentity;
  let greeter: Greeter;
  let client: XdsClient;
  let port: number;
  const stops: (() => Promise<unknown>)[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "meshplane-e2e-mtls-"));
    const dataDir = join(work, "data");
    meshplane = await startMeshplane({ args: ["--data-dir", dataDir, "--ca-address", "127.0.0.1:0"] });
    stops.push(() => meshplane.stop());
    const caAddress = meshplane.logs().find((line) => line.msg === "meshplane ready")?.caAddress;
    assert.equal(typeof caAddress, "string", "the ready line names the CA's address");
    const identity = (serviceAccount: string) =>
      startWorkloadIdentity({
        dataDir,
        caAddress: caAddress as string,
        namespace,
        serviceAccount,
        workDir: work,
      });
    serverIdentity = await identity("greeter");
    stops.push(() => serverIdentity.stop());
    clientIdentity = await identity("frontend");
    stops.push(() => clientIdentity.stop());
    assert.equal(serverIdentity.spiffeId, spiffe("greeter"));

    port = await freePort();
    // greeter is served by the greeter identity (its name); ledger names another identity for
    // the same server, so a client dialling ledger must refuse it once it checks.
    for (const { path, body } of [
      namespaceObject(namespace),
      ...serviceObjects("greeter", port),
      ...serviceObjects("ledger", port, "ledger"),
    ]) {
      const reply = await apiRequest(meshplane.apiUrl as string, "POST", path, body);
      assert.equal(reply.status, 201, `POST ${path}: ${JSON.stringify(reply.body)}`);
    }
    const bootstrap = join(work, "greeter-bootstrap.json");
    await cliBootstrap({
      xdsAddress: meshplane.xdsAddress,
      nodeId: `${namespace}/greeter-1`,
      namespace,
      certDir: serverIdentity.certDir,
      output: bootstrap,
    });
    // Says it is listening only once XdsServer has its listener (grpc/server?…=127.0.0.1:PORT).
    greeter = await startGreeter({ name: "greeter-1", port, xdsBootstrap: bootstrap });
    stops.push(() => greeter.stop());
    client = await startXdsClient({
      xdsAddress: meshplane.xdsAddress,
      nodeId: `${namespace}/frontend-1`,
      namespace,
      certDir: clientIdentity.certDir,
      xdsCredentials: true,
    });
    stops.push(() => client.stop());
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await rm(work, { recursive: true, force: true });
  });

  const xdsCall = (service: string, calls = 5): Promise<CallResult> =>
    client.call({
      target: `xds:///${service}.${namespace}.svc.cluster.local:${servicePort}`,
      calls,
      deadlineMs: 3_000,
    });

  /** One call on a plain insecure channel straight to the server's port: who the server says called. */
  async function plaintextCall(): Promise<string> {
    const Client = grpc.makeGenericClientConstructor(greeterService, "Greeter");
    const channel = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const reply = await callGreeter(channel, "SayHello", { name: "plain" }, { deadlineMs: 3_000 });
      return reply.backend;
    } finally {
      channel.close();
    }
  }

  /** The listener meshplane holds for the server's stream (config_dump), as proto JSON. */
  async function serverListener(): Promise<{ filterChains: { transportSocket?: unknown }[] } | undefined> {
    const path = `/debug/config_dump?node=${namespace}/greeter-1`;
    const dump = JSON.parse(await adminText(meshplane.adminAddress, path)) as {
      proxies: { resources: { lds?: Record<string, { resource: unknown }> } }[];
    };
    const name = `grpc/server?xds.resource.listening_address=127.0.0.1:${port}`;
    return dump.proxies[0]?.resources.lds?.[name]?.resource as never;
  }

  test("PERMISSIVE (no PeerAuthentication): the server serves plaintext with meshplane's listener", async (t) => {
    const listener = await serverListener();
    assert.ok(listener, "the server's stream holds its listener");
    assert.equal(listener.filterChains.length, 1);
    assert.equal(listener.filterChains[0]?.transportSocket, undefined, "plaintext");
    const result = await xdsCall("greeter");
    assert.deepEqual(result.counts, { "greeter-1 <- plaintext": 5 }, summary(result));
    assert.equal(await plaintextCall(), "greeter-1 <- plaintext");
    t.diagnostic("5 xDS calls and 1 plain insecure call served in plaintext");
  });

  const peerAuthentications = `/apis/meshplane.dev/v1alpha1/namespaces/${namespace}/peerauthentications`;

  /** Sets the namespace-wide PeerAuthentication's mode (created on first use). */
  async function setNamespaceMode(mode: "STRICT" | "PERMISSIVE"): Promise<void> {
    const current = await apiRequest(meshplane.apiUrl as string, "GET", `${peerAuthentications}/default`);
    const object = {
      apiVersion: "meshplane.dev/v1alpha1",
      kind: "PeerAuthentication",
      metadata: {
        name: "default",
        namespace,
        ...(current.status === 200 && {
          resourceVersion: (current.body?.metadata as { resourceVersion: string }).resourceVersion,
        }),
      },
      spec: { mtls: { mode } },
    };
    const reply =
      current.status === 200
        ? await apiRequest(meshplane.apiUrl as string, "PUT", `${peerAuthentications}/default`, object)
        : await apiRequest(meshplane.apiUrl as string, "POST", peerAuthentications, object);
    assert.ok(reply.status === 200 || reply.status === 201, `${mode}: ${JSON.stringify(reply.body)}`);
  }

  /** Waits until the server's listener is (or is not) TLS, then until a call is answered `expected`. */
  async function converge(tls: boolean, expected: string): Promise<number> {
    const started = Date.now();
    await waitFor(
      async () => ((await serverListener())?.filterChains[0]?.transportSocket !== undefined) === tls,
      {
        timeoutMs: 10_000,
        intervalMs: 100,
        message: `the server listener ${tls ? "with" : "without"} TLS`,
      },
    );
    await waitFor(async () => (await xdsCall("greeter", 1)).counts[expected] === 1, {
      timeoutMs: 15_000,
      intervalMs: 200,
      message: `a call answered ${expected}`,
    });
    return Date.now() - started;
  }

  test("STRICT: xDS calls succeed over mTLS with the client's SPIFFE ID; a plaintext client is refused", async (t) => {
    await setNamespaceMode("STRICT");
    const mtls = `greeter-1 <- ${spiffe("frontend")}`;
    const tookMs = await converge(true, mtls);
    const result = await xdsCall("greeter", 20);
    assert.deepEqual(result.counts, { [mtls]: 20 }, summary(result));
    await assert.rejects(
      plaintextCall(),
      (error: grpc.ServiceError) => error.code === grpc.status.UNAVAILABLE,
    );
    // Programmed counts the proxies enforcing the policy: the server, through its listener (the
    // client's clusters only follow the mode).
    const programmed = await waitFor(
      async () => {
        const reply = await apiRequest(meshplane.apiUrl as string, "GET", `${peerAuthentications}/default`);
        const conditions = (
          reply.body?.status as { conditions?: { type: string; status: string; message: string }[] }
        )?.conditions;
        const condition = conditions?.find((c) => c.type === "Programmed");
        return condition?.status === "True" && condition;
      },
      { timeoutMs: 15_000, intervalMs: 200, message: "the PeerAuthentication's Programmed condition" },
    );
    assert.equal(programmed.message, "reached 1 of 1 connected proxies");
    t.diagnostic(
      `STRICT in force ${tookMs} ms after the write; 20 of 20 calls over mTLS, the plain channel refused`,
    );
  });

  test("STRICT: a client that expects another identity (ledger) refuses the server", async (t) => {
    const result = await xdsCall("ledger", 5);
    assert.equal(result.ok, 0, summary(result));
    assert.deepEqual(result.errors, { UNAVAILABLE: 5 }, summary(result));
    assert.match(result.errorSamples.join(), /No matching subject alternative name/, summary(result));
    // What it expected: the ledger identity, from the Service's annotation.
    const dump = JSON.parse(
      await adminText(meshplane.adminAddress, `/debug/config_dump?node=${namespace}/frontend-1`),
    ) as { proxies: { resources: { cds?: Record<string, { resource: unknown }> } }[] };
    const cluster = JSON.stringify(
      dump.proxies[0]?.resources.cds?.[`outbound|${servicePort}||ledger.${namespace}.svc.cluster.local`],
    );
    assert.match(cluster, new RegExp(`"exact":"${spiffe("ledger")}"`));
    // The same client, server and certificates still work where the identity is the expected one.
    assert.equal((await xdsCall("greeter", 1)).ok, 1);
    t.diagnostic(`5 of 5 calls to ledger refused: ${result.errorSamples.join(" | ")}`);
  });

  test("PERMISSIVE again: the server serves plaintext, the plain channel is accepted", async (t) => {
    await setNamespaceMode("PERMISSIVE");
    const tookMs = await converge(false, "greeter-1 <- plaintext");
    assert.equal(await plaintextCall(), "greeter-1 <- plaintext");
    const result = await xdsCall("greeter", 20);
    assert.deepEqual(result.counts, { "greeter-1 <- plaintext": 20 }, summary(result));
    t.diagnostic(
      `PERMISSIVE in force ${tookMs} ms after the write; 20 of 20 calls and the plain channel served`,
    );
  });
});
