// Routing as a real grpc-js-xds client sees it: a weighted GRPCRoute split and its live edit, a
// GRPCRoute matching on gRPC method and metadata, and an HTTPRoute matching on the path. One
// meshplane, two greeters and one client process serve every test in this file; each Service gets
// its own channel (target), so the tests do not disturb each other.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ackedVersion,
  assertAllOn,
  assertSplit,
  configErrors,
  meshYaml,
  startMeshFixture,
  suiteScope,
  typeSync,
  proxySync,
  waitForAckChange,
  warmUp,
  weighted,
  type MeshFixture,
} from "./support/index.ts";

const port = 50051;
const greeter = `xds:///greeter:${port}`;
const matcher = `xds:///matcher:${port}`;
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

describe("routing", { timeout: 120_000 }, () => {
  const scope = suiteScope();
  let mesh: MeshFixture;

  before(async () => {
    mesh = await startMeshFixture(scope.defer, {
      greeters: ["v1", "v2"],
      nodeId: "default/routing-client",
      files: ({ v1, v2 }) => {
        const both = [{ port: v1!.port }, { port: v2!.port }];
        return {
          // Every routed Service also has both backends as its own endpoints: if its route were
          // not applied, calls would be spread over v1 and v2 and the assertions below would fail.
          "00-services.yaml": meshYaml()
            .service("greeter", port, both)
            .service("matcher", port, both)
            .service("web", port, both)
            .service("greeter-v1", port, [{ port: v1!.port }])
            .service("greeter-v2", port, [{ port: v2!.port }])
            .render(),
          "10-greeter-split.yaml": splitRoute(90, 10),
          "20-matcher.yaml": meshYaml()
            .grpcRoute("matcher-rules", {
              parent: "matcher",
              port,
              rules: [
                {
                  matches: [
                    { method: { type: "Exact", service: "meshplane.demo.Greeter", method: "SayGoodbye" } },
                  ],
                  backendRefs: weighted({ "greeter-v2": 1 }),
                },
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
    assert.deepEqual(
      errors,
      [],
      `the routing mesh loads cleanly; /debug/config_errors: ${JSON.stringify(errors)}`,
    );
  });

  test("90/10 split, then 50/50 after a live edit of the route file, on the same client", async () => {
    await warmUp(mesh.client, greeter);
    const before = await mesh.client.call({ target: greeter, calls: 2000, concurrency: 20 });
    assertSplit(before, { v1: 90, v2: 10 }, 4, "route at 90/10");

    const rdsBefore = await ackedVersion(mesh.admin, mesh.nodeId, "rds");
    assert.ok(rdsBefore, `the client ACKed an RDS version before the edit (got ${rdsBefore})`);
    await mesh.config.write("10-greeter-split.yaml", splitRoute(50, 50));
    const rdsAfter = await waitForAckChange(mesh.admin, {
      nodeId: mesh.nodeId,
      type: "rds",
      from: rdsBefore,
    });
    const rds = typeSync(await proxySync(mesh.admin, mesh.nodeId), "rds");
    assert.equal(rds?.lastNack ?? null, null, `no RDS NACK after the edit: ${JSON.stringify(rds)}`);

    const after = await mesh.client.call({ target: greeter, calls: 3000, concurrency: 20 });
    assertSplit(after, { v1: 50, v2: 50 }, 4, `route at 50/50 (RDS ${rdsBefore} → ${rdsAfter})`);
  });

  test("GRPCRoute: method SayGoodbye → v2, header x-canary: true → v2, the rest → v1", async () => {
    await warmUp(mesh.client, matcher);
    const cases = [
      { what: "SayHello, no metadata", method: "SayHello", metadata: {}, backend: "v1" },
      { what: "SayGoodbye, no metadata", method: "SayGoodbye", metadata: {}, backend: "v2" },
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
      {
        what: "SayHello, x-canary: false",
        method: "SayHello",
        metadata: { "x-canary": "false" },
        backend: "v1",
      },
      { what: "SayHello, x-other: true", method: "SayHello", metadata: { "x-other": "true" }, backend: "v1" },
    ] as const;
    for (const c of cases) {
      const result = await mesh.client.call({
        target: matcher,
        calls: 50,
        concurrency: 10,
        method: c.method,
        metadata: c.metadata,
      });
      assertAllOn(result, c.backend, `matcher, ${c.what}`);
    }
  });

  test("HTTPRoute: path Exact /meshplane.demo.Greeter/SayGoodbye → v2, PathPrefix / → v1", async () => {
    await warmUp(mesh.client, web);
    const hello = await mesh.client.call({ target: web, calls: 50, concurrency: 10, method: "SayHello" });
    assertAllOn(hello, "v1", "web, SayHello (PathPrefix /)");
    const bye = await mesh.client.call({ target: web, calls: 50, concurrency: 10, method: "SayGoodbye" });
    assertAllOn(bye, "v2", "web, SayGoodbye (path Exact)");
    const canary = await mesh.client.call({
      target: web,
      calls: 50,
      concurrency: 10,
      method: "SayHello",
      metadata: { "x-canary": "true" },
    });
    assertAllOn(canary, "v1", "web, SayHello with x-canary (the matcher's header rule must not leak)");
  });
});
