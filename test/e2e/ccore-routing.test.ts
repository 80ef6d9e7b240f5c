// Routing as a real gRPC C-core client sees it (Debian's python3-grpcio, test/e2e/support/python/):
// the routing matrix of routing.test.ts on a second, independent xDS implementation. A weighted
// GRPCRoute split and its live edit, GRPCRoute method and header matches, and an HTTPRoute path
// match. One meshplane and two C-core greeters serve the file; the header match has its own client
// process, because C-core 1.51 predates gRFC A63 (`string_match` in header matchers) and NACKs
// such a route unless meshplane encodes it for that client: the NACK must not show in the other
// tests' ACK checks.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ackedVersion,
  assertAllOn,
  assertSplit,
  ccoreInstallHint,
  ccoreVersion,
  configErrors,
  meshYaml,
  NackError,
  proxySync,
  startMeshFixture,
  startXdsClient,
  suiteScope,
  typeSync,
  waitFor,
  warmUp,
  weighted,
  type MeshFixture,
  type XdsClient,
} from "./support/index.ts";

const port = 50051;
const greeter = `xds:///greeter:${port}`;
const methods = `xds:///methods:${port}`;
const canary = `xds:///canary:${port}`;
const web = `xds:///web:${port}`;

function splitRoute(v1: number, v2: number): string {
  return meshYaml()
    .grpcRoute("greeter-split", {
      parent: "greeter",
      port,
      rules: [{ backendRefs: weighted({ "greeter-v1": v1, "greeter-v2": v2 }) }],
    })
    .render();
}

/**
 * Waits until `client` ACKs a new RDS version (other than `from`), calling `target` meanwhile:
 * C-core under Python reads its xDS stream only while something polls the library (a call in
 * flight, or the channel backup poller, GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS, default
 * 5 s), so an idle client applies and ACKs a pushed change late, a busy one at once. Fails at once
 * with the client's message if it NACKed the version it was last sent.
 */
async function rdsAckWhileCalling(
  mesh: MeshFixture,
  client: XdsClient,
  target: string,
  from: string,
): Promise<string> {
  return waitFor(
    async () => {
      await client.call({ target, calls: 1, deadlineMs: 2_000 });
      const rds = typeSync(await proxySync(mesh.admin, client.nodeId), "rds");
      const nack = rds?.lastNack;
      if (nack && nack.rejectedVersion === rds.sentVersion) throw new NackError(client.nodeId, "rds", nack);
      return rds?.ackedVersion && rds.ackedVersion !== from ? rds.ackedVersion : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50, message: `${client.nodeId} to ACK a new rds` },
  );
}

/**
 * The first call on `target` once its route is in effect; fails at once with the client's own
 * message if the client NACKed the route configuration instead.
 */
async function routedOrNacked(mesh: MeshFixture, client: XdsClient, target: string): Promise<void> {
  await waitFor(
    async () => {
      const first = await client.call({ target, calls: 1, deadlineMs: 1_000 });
      if (first.ok === 1) return true;
      const rds = typeSync(await proxySync(mesh.admin, client.nodeId), "rds");
      if (rds?.lastNack) throw new NackError(client.nodeId, "rds", rds.lastNack);
      return false;
    },
    { timeoutMs: 20_000, intervalMs: 200, message: `a first successful call on ${target}` },
  );
}

const version = ccoreVersion();
if (!version) {
  if (process.env.CI) test("routing on gRPC C-core", () => assert.fail(ccoreInstallHint));
  else test("routing on gRPC C-core", { skip: ccoreInstallHint }, () => {});
} else {
  describe(`routing on gRPC C-core (python3-grpcio ${version})`, { timeout: 120_000 }, () => {
    const scope = suiteScope();
    let mesh: MeshFixture;

    before(async () => {
      mesh = await startMeshFixture(scope.defer, {
        implementation: "c-core",
        greeters: ["v1", "v2"],
        nodeId: "default/ccore-routing-client",
        files: ({ v1, v2 }) => {
          const both = [{ port: v1!.port }, { port: v2!.port }];
          return {
            // Every routed Service also has both backends as its own endpoints: if its route were
            // not applied, calls would be spread over v1 and v2 and the assertions would fail.
            "00-services.yaml": meshYaml()
              .service("greeter", port, both)
              .service("methods", port, both)
              .service("canary", port, both)
              .service("web", port, both)
              .service("greeter-v1", port, [{ port: v1!.port }])
              .service("greeter-v2", port, [{ port: v2!.port }])
              .render(),
            "10-greeter-split.yaml": splitRoute(90, 10),
            "20-methods.yaml": meshYaml()
              .grpcRoute("methods-rules", {
                parent: "methods",
                port,
                rules: [
                  {
                    matches: [
                      { method: { type: "Exact", service: "meshplane.demo.Greeter", method: "SayGoodbye" } },
                    ],
                    backendRefs: weighted({ "greeter-v2": 1 }),
                  },
                  { backendRefs: weighted({ "greeter-v1": 1 }) },
                ],
              })
              .render(),
            "21-canary.yaml": meshYaml()
              .grpcRoute("canary-rules", {
                parent: "canary",
                port,
                rules: [
                  {
                    matches: [{ headers: [{ type: "Exact", name: "x-canary", value: "true" }] }],
                    backendRefs: weighted({ "greeter-v2": 1 }),
                  },
                  { backendRefs: weighted({ "greeter-v1": 1 }) },
                ],
              })
              .render(),
            // `web` has no GRPCRoute, so its HTTPRoute applies (GRPCRoute would win on the same port).
            "30-web.yaml": meshYaml()
              .httpRoute("web-paths", {
                parent: "web",
                port,
                rules: [
                  {
                    matches: [{ path: { type: "Exact", value: "/meshplane.demo.Greeter/SayGoodbye" } }],
                    backendRefs: weighted({ "greeter-v2": 1 }),
                  },
                  {
                    matches: [{ path: { type: "PathPrefix", value: "/" } }],
                    backendRefs: weighted({ "greeter-v1": 1 }),
                  },
                ],
              })
              .render(),
          };
        },
      });
      const errors = await configErrors(mesh.admin);
      assert.deepEqual(errors, [], `the routing mesh loads cleanly: ${JSON.stringify(errors)}`);
    });

    test("90/10 split, then 50/50 after a live edit of the route file, on the same client", async () => {
      await warmUp(mesh.client, greeter);
      const before = await mesh.client.call({ target: greeter, calls: 2000, concurrency: 20 });
      assertSplit(before, { v1: 90, v2: 10 }, 4, "route at 90/10");

      const rdsBefore = await ackedVersion(mesh.admin, mesh.nodeId, "rds");
      assert.ok(rdsBefore, `the client ACKed an RDS version before the edit (got ${rdsBefore})`);
      await mesh.config.write("10-greeter-split.yaml", splitRoute(50, 50));
      const rdsAfter = await rdsAckWhileCalling(mesh, mesh.client, greeter, rdsBefore);
      const rds = typeSync(await proxySync(mesh.admin, mesh.nodeId), "rds");
      assert.equal(rds?.lastNack ?? null, null, `no RDS NACK after the edit: ${JSON.stringify(rds)}`);

      const after = await mesh.client.call({ target: greeter, calls: 3000, concurrency: 20 });
      assertSplit(after, { v1: 50, v2: 50 }, 4, `route at 50/50 (RDS ${rdsBefore} → ${rdsAfter})`);
    });

    test("GRPCRoute method match: SayGoodbye → v2, the rest → v1, whatever the metadata", async () => {
      await warmUp(mesh.client, methods);
      const cases = [
        { method: "SayHello", metadata: {}, backend: "v1" },
        { method: "SayGoodbye", metadata: {}, backend: "v2" },
        { method: "SayHello", metadata: { "x-canary": "true" }, backend: "v1" },
      ] as const;
      for (const c of cases) {
        const { method, metadata } = c;
        const result = await mesh.client.call({
          target: methods,
          calls: 50,
          concurrency: 10,
          method,
          metadata,
        });
        assertAllOn(result, c.backend, `methods, ${c.method} ${JSON.stringify(c.metadata)}`);
      }
    });

    test("GRPCRoute header match: x-canary: true → v2, the rest → v1", async (t) => {
      // Its own client (see the top of the file): the route may be NACKed by C-core before gRFC A63.
      const client = await startXdsClient({
        xdsAddress: mesh.meshplane.xdsAddress,
        nodeId: "default/ccore-headers-client",
        namespace: "default",
        implementation: "c-core",
      });
      t.after(() => client.stop());
      await routedOrNacked(mesh, client, canary);
      const cases = [
        {
          what: "SayHello, x-canary: true",
          method: "SayHello",
          metadata: { "x-canary": "true" },
          backend: "v2",
        },
        {
          what: "SayGoodbye, x-canary: true",
          method: "SayGoodbye",
          metadata: { "x-canary": "true" },
          backend: "v2",
        },
        { what: "SayHello, no metadata", method: "SayHello", metadata: {}, backend: "v1" },
        {
          what: "SayHello, x-canary: false",
          method: "SayHello",
          metadata: { "x-canary": "false" },
          backend: "v1",
        },
        {
          what: "SayHello, x-other: true",
          method: "SayHello",
          metadata: { "x-other": "true" },
          backend: "v1",
        },
      ] as const;
      for (const c of cases) {
        const result = await client.call({
          target: canary,
          calls: 50,
          concurrency: 10,
          method: c.method,
          metadata: c.metadata,
        });
        assertAllOn(result, c.backend, `canary, ${c.what}`);
      }
    });

    test("HTTPRoute: path Exact /meshplane.demo.Greeter/SayGoodbye → v2, PathPrefix / → v1", async () => {
      await warmUp(mesh.client, web);
      const hello = await mesh.client.call({ target: web, calls: 50, concurrency: 10, method: "SayHello" });
      assertAllOn(hello, "v1", "web, SayHello (PathPrefix /)");
      const bye = await mesh.client.call({ target: web, calls: 50, concurrency: 10, method: "SayGoodbye" });
      assertAllOn(bye, "v2", "web, SayGoodbye (path Exact)");
    });
  });
}
