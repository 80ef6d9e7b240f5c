// Proxyless authorization end to end with real peers on 127.0.0.1: a grpc-js-xds XdsServer
// (gRFC A36) under STRICT mTLS enforces the RBAC filters meshplane puts in its listener (gRFC
// A41, GRPC_XDS_EXPERIMENTAL_RBAC=true), and real clients call it with certificates real
// `meshplane agent` processes obtained. An AuthorizationPolicy lets only the checkout identity
// call SayHello: checkout gets through, checkout's SayGoodbye and the web identity get
// PERMISSION_DENIED; a DENY policy beats the ALLOW; deleting the policies restores access.
// `meshplane explain --from` predicts each decision from the same config.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { apiRequest } from "./support/api.ts";
import {
  freePort,
  loopbackServiceObjects,
  namespaceObject,
  startWorkloadIdentity,
  strictPeerAuthentication,
  type WorkloadIdentity,
} from "./support/identity.ts";
import {
  cliBootstrap,
  runCli,
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
const target = `ledger.${namespace}.svc.cluster.local:${servicePort}`;
const policies = `/apis/meshplane.dev/v1alpha1/namespaces/${namespace}/authorizationpolicies`;

function objects(port: number) {
  return [
    namespaceObject(namespace),
    ...loopbackServiceObjects({ namespace, name: "ledger", servicePort, port, serviceAccounts: "ledger" }),
    strictPeerAuthentication(namespace),
  ];
}

const allowCheckout = {
  apiVersion: "meshplane.dev/v1alpha1",
  kind: "AuthorizationPolicy",
  metadata: { name: "ledger-hello", namespace },
  spec: {
    targetRefs: [{ group: "", kind: "Service", name: "ledger" }],
    action: "ALLOW",
    rules: [
      {
        from: [{ source: { principals: [spiffe("checkout")] } }],
        to: [{ operation: { grpc: { service: "meshplane.demo.Greeter", method: "SayHello" } } }],
      },
    ],
  },
};

const denyCheckout = {
  apiVersion: "meshplane.dev/v1alpha1",
  kind: "AuthorizationPolicy",
  metadata: { name: "no-checkout", namespace },
  spec: { action: "DENY", rules: [{ from: [{ source: { principals: [spiffe("checkout")] } }] }] },
};

describe("proxyless authorization: RBAC on an XdsServer with meshplane's listener and certificates", () => {
  let work: string;
  let dataDir: string;
  let meshplane: Meshplane;
  let greeter: Greeter;
  const clients = new Map<string, XdsClient>();
  const stops: (() => Promise<unknown>)[] = [];

  before(async () => {
    // Inherited by the XdsServer child: grpc-js-xds registers its RBAC filter only with it.
    process.env.GRPC_XDS_EXPERIMENTAL_RBAC = "true";
    work = await mkdtemp(join(tmpdir(), "meshplane-e2e-authz-"));
    dataDir = join(work, "data");
    meshplane = await startMeshplane({ args: ["--data-dir", dataDir, "--ca-address", "127.0.0.1:0"] });
    stops.push(() => meshplane.stop());
    const caAddress = meshplane.logs().find((line) => line.msg === "meshplane ready")?.caAddress;
    assert.equal(typeof caAddress, "string", "the ready line names the CA's address");
    const identities = new Map<string, WorkloadIdentity>();
    for (const serviceAccount of ["ledger", "checkout", "web"]) {
      const identity = await startWorkloadIdentity({
        dataDir,
        caAddress: caAddress as string,
        namespace,
        serviceAccount,
        workDir: work,
      });
      stops.push(() => identity.stop());
      assert.equal(identity.spiffeId, spiffe(serviceAccount));
      identities.set(serviceAccount, identity);
    }
    const port = await freePort();
    for (const { path, body } of objects(port)) {
      const reply = await apiRequest(meshplane.apiUrl as string, "POST", path, body);
      assert.equal(reply.status, 201, `POST ${path}: ${JSON.stringify(reply.body)}`);
    }
    const bootstrap = join(work, "ledger-bootstrap.json");
    await cliBootstrap({
      xdsAddress: meshplane.xdsAddress,
      nodeId: `${namespace}/ledger-1`,
      namespace,
      certDir: identities.get("ledger")?.certDir,
      output: bootstrap,
    });
    greeter = await startGreeter({ name: "ledger-1", port, xdsBootstrap: bootstrap });
    stops.push(() => greeter.stop());
    for (const caller of ["checkout", "web"]) {
      const client = await startXdsClient({
        xdsAddress: meshplane.xdsAddress,
        nodeId: `${namespace}/${caller}-1`,
        namespace,
        certDir: identities.get(caller)?.certDir,
        xdsCredentials: true,
      });
      stops.push(() => client.stop());
      clients.set(caller, client);
    }
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await rm(work, { recursive: true, force: true });
  });

  const call = (caller: string, method: "SayHello" | "SayGoodbye" = "SayHello"): Promise<CallResult> =>
    (clients.get(caller) as XdsClient).call({
      target: `xds:///${target}`,
      method,
      calls: 5,
      deadlineMs: 3_000,
    });

  /** How each caller's 5 calls ended: `ok` or the status name, when all 5 agree. */
  async function outcomes(): Promise<Record<string, string>> {
    const cases = [
      ["checkout", "SayHello"],
      ["checkout", "SayGoodbye"],
      ["web", "SayHello"],
    ] as const;
    const results = await Promise.all(cases.map(([caller, method]) => call(caller, method)));
    return Object.fromEntries(
      results.map((r, i) => {
        const [caller, method] = cases[i] as (typeof cases)[number];
        const kinds = [...(r.ok > 0 ? ["ok"] : []), ...Object.keys(r.errors)];
        return [`${caller} ${method}`, kinds.length === 1 ? (kinds[0] as string) : summary(r)];
      }),
    );
  }

  /** Polls until the outcomes are `expected`; a different outcome is reported as the last one seen. */
  const waitForOutcomes = (expected: Record<string, string>, message: string) =>
    waitFor(
      async () => {
        const seen = JSON.stringify(await outcomes());
        if (seen !== JSON.stringify(expected)) throw new Error(seen);
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 250, message },
    );

  /** `meshplane explain` against the running API: exit code and the Authz section. */
  async function explain(caller: string, method: string): Promise<{ code: number | null; text: string }> {
    const run = await runCli([
      "explain",
      "--target",
      target,
      "--grpc-method",
      `/meshplane.demo.Greeter/${method}`,
      "--namespace",
      namespace,
      "--from",
      spiffe(caller),
      "--data-dir",
      dataDir,
    ]);
    return { code: run.code, text: run.stdout.slice(run.stdout.indexOf("Authz")) };
  }

  test("mTLS without a policy: every identity calls every method", async (t) => {
    const result = await call("checkout");
    assert.deepEqual(result.counts, { [`ledger-1 <- ${spiffe("checkout")}`]: 5 }, summary(result));
    await waitForOutcomes(
      { "checkout SayHello": "ok", "checkout SayGoodbye": "ok", "web SayHello": "ok" },
      "open access",
    );
    t.diagnostic("3 × 5 calls over mTLS, all served");
  });

  test("ALLOW checkout to SayHello: checkout's SayHello passes, its SayGoodbye and web get PERMISSION_DENIED", async (t) => {
    const started = Date.now();
    const reply = await apiRequest(meshplane.apiUrl as string, "POST", policies, allowCheckout);
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    await waitForOutcomes(
      {
        "checkout SayHello": "ok",
        "checkout SayGoodbye": "PERMISSION_DENIED",
        "web SayHello": "PERMISSION_DENIED",
      },
      "the ALLOW policy enforced by the server",
    );
    t.diagnostic(`enforced ${Date.now() - started} ms after the write`);
    const denied = await call("web");
    assert.match(denied.errorSamples.join("\n"), /PERMISSION_DENIED: Unauthorized RPC rejected/);

    const allowed = await explain("checkout", "SayHello");
    assert.equal(allowed.code, 0, allowed.text);
    assert.match(
      allowed.text,
      /meshplane\.authz\.allow \(ALLOW\): ALLOWED: AuthorizationPolicy shop\/ledger-hello rules\[0\]/,
    );
    const web = await explain("web", "SayHello");
    assert.equal(web.code, 1, web.text);
    assert.match(web.text, /DENIED \(gRPC status 7\) by meshplane\.authz\.allow/);
    assert.match(
      web.text,
      /peer spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web does not match principal exact/,
    );
  });

  test("DENY beats ALLOW: a DENY on checkout refuses even the call the ALLOW permits", async () => {
    const reply = await apiRequest(meshplane.apiUrl as string, "POST", policies, denyCheckout);
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    await waitForOutcomes(
      {
        "checkout SayHello": "PERMISSION_DENIED",
        "checkout SayGoodbye": "PERMISSION_DENIED",
        "web SayHello": "PERMISSION_DENIED",
      },
      "the DENY policy enforced before the ALLOW",
    );
    const predicted = await explain("checkout", "SayHello");
    assert.equal(predicted.code, 1, predicted.text);
    assert.match(
      predicted.text,
      /DENIED \(gRPC status 7\) by meshplane\.authz\.deny: AuthorizationPolicy shop\/no-checkout rules\[0\]/,
    );
  });

  test("deleting the policies restores access", async (t) => {
    const started = Date.now();
    for (const name of ["no-checkout", "ledger-hello"]) {
      const reply = await apiRequest(meshplane.apiUrl as string, "DELETE", `${policies}/${name}`);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    }
    await waitForOutcomes(
      { "checkout SayHello": "ok", "checkout SayGoodbye": "ok", "web SayHello": "ok" },
      "open access again",
    );
    t.diagnostic(`restored ${Date.now() - started} ms after the deletes`);
  });
});
