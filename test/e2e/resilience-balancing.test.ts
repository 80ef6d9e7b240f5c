// Load balancing and endpoint health as a real grpc-js-xds client experiences them: outlier
// detection ejects a failing backend and lets it back after it recovers, ring hash keeps a
// header-keyed caller on one backend, and locality failover moves traffic when a zone's endpoints
// go unready. One meshplane and one client process; each behaviour has its own Service.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  assertAllOn,
  assertNoErrors,
  configErrors,
  meshYaml,
  startMeshFixture,
  suiteScope,
  summary,
  waitFor,
  warmUp,
  type Greeter,
  type MeshFixture,
} from "./support/index.ts";

const port = 50051;
const target = (service: string) => `xds:///${service}:${port}`;

function zonedServices(a: Greeter, b: Greeter, zoneAReady: boolean): string {
  return meshYaml()
    .service("zoned", port, [
      { port: a.port, zone: "zone-a", ready: zoneAReady },
      { port: b.port, zone: "zone-b" },
    ])
    .trafficPolicy("zoned-failover", "zoned", {
      loadBalancer: { type: "RoundRobin", locality: { failover: ["zone-a", "zone-b"] } },
    })
    .render();
}

describe("resilience in load balancing", { timeout: 180_000 }, () => {
  const scope = suiteScope();
  let mesh: MeshFixture;

  before(async () => {
    mesh = await startMeshFixture(scope.defer, {
      greeters: ["e1", "e2", "h1", "h2", "h3", "za", "zb"],
      nodeId: "default/balancing-client",
      files: ({ e1, e2, h1, h2, h3, za, zb }) => ({
        "00-ejecting.yaml": meshYaml()
          .service("ejecting", port, [{ port: e1!.port }, { port: e2!.port }])
          .trafficPolicy("ejecting-outliers", "ejecting", {
            outlierDetection: {
              interval: "500ms",
              baseEjectionTime: "2s",
              maxEjectionPercent: 50,
              failurePercentage: { threshold: 50, minimumHosts: 2, requestVolume: 10 },
            },
          })
          .render(),
        "10-hashed.yaml": meshYaml()
          .service("hashed", port, [{ port: h1!.port }, { port: h2!.port }, { port: h3!.port }])
          .trafficPolicy("hashed-by-user", "hashed", {
            loadBalancer: { type: "RingHash", hashPolicies: [{ header: { name: "x-user" } }] },
          })
          .render(),
        "20-zoned.yaml": zonedServices(za!, zb!, true),
      }),
    });
    const errors = await configErrors(mesh.admin);
    assert.deepEqual(errors, [], `the mesh loads cleanly: ${JSON.stringify(errors)}`);
  });

  test("outlier detection ejects a failing backend, and traffic returns after it recovers", async () => {
    const e2 = mesh.greeters.e2 as Greeter;
    await warmUp(mesh.client, target("ejecting"), 2);
    const healthy = await mesh.client.call({ target: target("ejecting"), calls: 100, concurrency: 5 });
    assert.ok((healthy.counts.e2 ?? 0) >= 30, `both backends serve at first: ${summary(healthy)}`);

    await e2.setSick(true);
    // Within a few detection intervals e2 (100 % failures) is ejected and calls stop failing.
    const ejected = await waitFor(
      async () => {
        const r = await mesh.client.call({ target: target("ejecting"), calls: 40, concurrency: 4 });
        return r.ok === 40 && r.counts.e1 === 40 ? r : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, message: "e2 ejected: every call on e1" },
    );
    assertAllOn(ejected, "e1", "after ejection");

    await e2.setSick(false);
    // After the ejection time (2 s, growing with repeated ejections) e2 gets traffic again.
    const back = await waitFor(
      async () => {
        const r = await mesh.client.call({ target: target("ejecting"), calls: 40, concurrency: 4 });
        return (r.counts.e2 ?? 0) > 0 && r.ok === 40 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, message: "e2 back in rotation" },
    );
    assertNoErrors(back, "after recovery");
  });

  test("ring hash keeps a header-keyed caller on one backend, and spreads callers", async () => {
    await warmUp(mesh.client, target("hashed"));
    const landing = new Map<string, string[]>();
    for (let user = 0; user < 12; user++) {
      const r = await mesh.client.call({
        target: target("hashed"),
        calls: 20,
        concurrency: 5,
        metadata: { "x-user": `user-${user}` },
      });
      assertNoErrors(r, `user-${user}`);
      const backends = Object.keys(r.counts);
      assert.equal(backends.length, 1, `user-${user} stays on one backend: ${summary(r)}`);
      landing.set(`user-${user}`, backends);
    }
    const used = new Set([...landing.values()].flat());
    assert.ok(used.size >= 2, `12 users spread over several backends: ${JSON.stringify([...landing])}`);
  });

  test("locality failover: zone-a first, zone-b when zone-a's endpoints go unready, and back", async () => {
    const za = mesh.greeters.za as Greeter;
    const zb = mesh.greeters.zb as Greeter;
    await warmUp(mesh.client, target("zoned"));
    const first = await mesh.client.call({ target: target("zoned"), calls: 50, concurrency: 5 });
    assertAllOn(first, "za", "zone-a has priority");

    await mesh.config.write("20-zoned.yaml", zonedServices(za, zb, false));
    const failedOver = await waitFor(
      async () => {
        const r = await mesh.client.call({ target: target("zoned"), calls: 20, concurrency: 5 });
        return r.counts.zb === 20 ? r : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200, message: "traffic moved to zone-b" },
    );
    assertAllOn(failedOver, "zb", "zone-a unready");

    await mesh.config.write("20-zoned.yaml", zonedServices(za, zb, true));
    await waitFor(
      async () => {
        const r = await mesh.client.call({ target: target("zoned"), calls: 20, concurrency: 5 });
        return r.counts.za === 20 ? r : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200, message: "traffic back in zone-a" },
    );
  });
});
