// Resilience as a real gRPC C-core client experiences it (Debian's python3-grpcio,
// test/e2e/support/python/): the matrix of resilience-calls.test.ts and
// resilience-balancing.test.ts on a second, independent xDS implementation. On the call path:
// retries, route timeouts, abort and delay faults, max-requests circuit breaking; in load
// balancing: outlier detection, ring hash, locality failover. One meshplane and one client
// process; each behaviour has its own Service (and so its own channel). The thresholds are the
// grpc-js tests' own.
//
// C-core 1.51 feature switches: none is needed, so the client runs with the default environment.
// Retries (A44) lost their switch GRPC_XDS_EXPERIMENTAL_ENABLE_RETRY in grpc/grpc#27039 (1.40);
// outlier detection (A50) lost GRPC_EXPERIMENTAL_ENABLE_OUTLIER_DETECTION in grpc/grpc#31251
// (1.51). The installed cygrpc binary names only GRPC_EXPERIMENTAL_XDS_CUSTOM_LB_CONFIG (A52:
// meshplane sends the lb_policy enum, not load_balancing_policy), GRPC_EXPERIMENTAL_XDS_FEDERATION
// and GRPC_EXPERIMENTAL_XDS_RLS_LB, none of which this matrix uses.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  assertAllOn,
  assertNoErrors,
  ccoreInstallHint,
  ccoreVersion,
  configErrors,
  faultFilter,
  meshYaml,
  sleep,
  startMeshFixture,
  suiteScope,
  summary,
  versionBelow,
  waitFor,
  warmUp,
  weighted,
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

const version = ccoreVersion();
if (!version) {
  if (process.env.CI) test("resilience on gRPC C-core", () => assert.fail(ccoreInstallHint));
  else test("resilience on gRPC C-core", { skip: ccoreInstallHint }, () => {});
} else {
  // The ring hash picker of C-core 1.51 crashes the client process on the first call
  // (grpc/grpc#31766, fixed by grpc/grpc#32012 in 1.52; seen here as SIGSEGV on the first pick):
  // it would take every later test with it, so the test is skipped, not run as a todo.
  const ringHashSkip = versionBelow(version, 1, 52)
    ? `C-core ${version} crashes on the first ring hash pick: grpc/grpc#31766 (fixed in 1.52)`
    : false;

  describe(`resilience on gRPC C-core (python3-grpcio ${version})`, { timeout: 180_000 }, () => {
    const scope = suiteScope();
    let mesh: MeshFixture;

    before(async () => {
      mesh = await startMeshFixture(scope.defer, {
        implementation: "c-core",
        greeters: [
          { name: "flaky", failRate: 0.3 },
          { name: "slow", delayMs: 400 },
          "fast",
          "e1",
          "e2",
          ...(ringHashSkip ? [] : ["h1", "h2", "h3"]),
          "za",
          "zb",
        ],
        nodeId: "default/ccore-resilience-client",
        files: ({ flaky, slow, fast, e1, e2, h1, h2, h3, za, zb }) => ({
          "00-services.yaml": meshYaml()
            .service("flaky", port, [{ port: flaky!.port }])
            .service("flaky-retried", port, [{ port: flaky!.port }])
            .service("slow-hurried", port, [{ port: slow!.port }])
            .service("slow-patient", port, [{ port: slow!.port }])
            .service("slow-snug", port, [{ port: slow!.port }])
            .service("slow-limited", port, [{ port: slow!.port }])
            .service("fast", port, [{ port: fast!.port }])
            .service("aborted", port, [{ port: fast!.port }])
            .service("delayed", port, [{ port: fast!.port }])
            .render(),
          "10-retry.yaml": meshYaml()
            .trafficPolicy("flaky-retries", "flaky-retried", {
              retry: {
                attempts: 4,
                retryOn: ["unavailable"],
                backoff: { baseInterval: "5ms", maxInterval: "20ms" },
              },
            })
            .render(),
          // Two Services rather than one route with a header match (as resilience-calls has): C-core
          // 1.51 NACKs A63 header matchers, and this file tests timeouts, not header matching.
          "20-timeout.yaml": meshYaml()
            .httpRoute("slow-hurried", {
              parent: "slow-hurried",
              port,
              rules: [{ backendRefs: weighted({ "slow-hurried": 1 }), timeouts: { request: "100ms" } }],
            })
            .httpRoute("slow-patient", {
              parent: "slow-patient",
              port,
              rules: [{ backendRefs: weighted({ "slow-patient": 1 }), timeouts: { request: "3s" } }],
            })
            .httpRoute("slow-snug", {
              parent: "slow-snug",
              port,
              rules: [{ backendRefs: weighted({ "slow-snug": 1 }), timeouts: { request: "1s" } }],
            })
            .render(),
          "30-faults.yaml": meshYaml()
            .faultInjection("half-abort", { abort: { grpcStatus: 14, percentage: 50 } })
            .faultInjection("fixed-delay", { delay: { fixedDelay: "200ms", percentage: 100 } })
            .grpcRoute("aborted", {
              parent: "aborted",
              port,
              rules: [{ filters: [faultFilter("half-abort")], backendRefs: weighted({ fast: 1 }) }],
            })
            .grpcRoute("delayed", {
              parent: "delayed",
              port,
              rules: [{ filters: [faultFilter("fixed-delay")], backendRefs: weighted({ fast: 1 }) }],
            })
            .render(),
          "40-circuit-breaker.yaml": meshYaml()
            .trafficPolicy("slow-limit", "slow-limited", { circuitBreaker: { maxRequests: 3 } })
            .render(),
          "50-ejecting.yaml": meshYaml()
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
          ...(!ringHashSkip && {
            "60-hashed.yaml": meshYaml()
              .service("hashed", port, [{ port: h1!.port }, { port: h2!.port }, { port: h3!.port }])
              .trafficPolicy("hashed-by-user", "hashed", {
                loadBalancer: { type: "RingHash", hashPolicies: [{ header: { name: "x-user" } }] },
              })
              .render(),
          }),
          "70-zoned.yaml": zonedServices(za!, zb!, true),
        }),
      });
      const errors = await configErrors(mesh.admin);
      assert.deepEqual(errors, [], `the mesh loads cleanly: ${JSON.stringify(errors)}`);
    });

    test("retries on UNAVAILABLE recover calls to a flaky backend", async () => {
      // The same backend without the policy, for contrast: about 30 % of calls fail.
      await warmUp(mesh.client, target("flaky"), 1).catch(() => undefined);
      const bare = await mesh.client.call({
        target: target("flaky"),
        calls: 300,
        concurrency: 10,
        waitForReady: true,
      });
      const bareFailed = bare.errors.UNAVAILABLE ?? 0;
      assert.ok(bareFailed >= 45, `without retries about 30 % fail; observed ${summary(bare)}`);

      const retried = await mesh.client.call({
        target: target("flaky-retried"),
        calls: 300,
        concurrency: 10,
        waitForReady: true,
      });
      // Five attempts each failing with p = 0.3: p(call fails) = 0.3^5 ≈ 0.24 %, so ≤ 3 of 300.
      assert.ok(retried.ok >= 297, `with 4 retries nearly every call succeeds; observed ${summary(retried)}`);
    });

    // As resilience-calls.test.ts. On C-core under Python it holds only because of the wide margins:
    // the 100 ms calls fail at once, not at 100 ms (see the todo test below).
    test("a per-route timeout fails slow calls with DEADLINE_EXCEEDED; a longer one lets them finish", async () => {
      await warmUp(mesh.client, target("slow-hurried"), 1).catch(() => undefined);
      const hurried = await mesh.client.call({
        target: target("slow-hurried"),
        calls: 10,
        concurrency: 10,
        waitForReady: true,
      });
      assert.equal(hurried.errors.DEADLINE_EXCEEDED, 10, `100 ms route timeout: ${summary(hurried)}`);
      assert.ok(
        hurried.elapsedMs < 350,
        `calls end at the route timeout, not the backend's 400 ms: ${summary(hurried)}`,
      );
      const patient = await mesh.client.call({ target: target("slow-patient"), calls: 10, concurrency: 10 });
      assertNoErrors(patient, "3 s route timeout");
    });

    // A todo, not a skip: it runs and shows the client's actual behaviour, without failing the
    // suite, until the bug is fixed.
    test(
      "a route timeout holds calls until it expires, and one 600 ms above the backend's latency lets them finish",
      {
        todo:
          "grpc/grpc#34547 (open): Python's C-core starts service-config (route) timeouts early, " +
          "by ~1.5 s here: a 1.5 s route timeout ends calls after ~20 ms, a 1 s one at once",
      },
      async () => {
        const hurried = await mesh.client.call({
          target: target("slow-hurried"),
          calls: 10,
          concurrency: 10,
        });
        assert.equal(hurried.errors.DEADLINE_EXCEEDED, 10, `100 ms route timeout: ${summary(hurried)}`);
        assert.ok(hurried.elapsedMs >= 90, `calls run until the 100 ms route timeout: ${summary(hurried)}`);
        await warmUp(mesh.client, target("slow-snug"), 1);
        const snug = await mesh.client.call({ target: target("slow-snug"), calls: 10, concurrency: 10 });
        assertNoErrors(snug, "1 s route timeout, 400 ms backend");
      },
    );

    test("a 50 % abort fault aborts 50 ± 5 % of 1,000 calls with the configured status", async () => {
      await warmUp(mesh.client, target("fast"));
      const result = await mesh.client.call({
        target: target("aborted"),
        calls: 1000,
        concurrency: 20,
        waitForReady: true,
      });
      const aborted = result.errors.UNAVAILABLE ?? 0;
      assert.equal(aborted + result.ok, 1000, `only UNAVAILABLE aborts: ${summary(result)}`);
      assert.ok(aborted >= 450 && aborted <= 550, `50 ± 5 % aborted: ${summary(result)}`);
    });

    test("a fixed delay fault shows in latency", async () => {
      const baseline = await mesh.client.call({ target: target("fast"), calls: 5, concurrency: 1 });
      assertNoErrors(baseline, "baseline");
      await warmUp(mesh.client, target("delayed"));
      const delayed = await mesh.client.call({ target: target("delayed"), calls: 5, concurrency: 1 });
      assertNoErrors(delayed, "delayed calls still succeed");
      assert.ok(delayed.elapsedMs >= 5 * 200, `five sequential calls take ≥ 1 s: ${summary(delayed)}`);
      assert.ok(
        delayed.elapsedMs - baseline.elapsedMs >= 900,
        `the delay is the fault's (baseline ${baseline.elapsedMs} ms, delayed ${delayed.elapsedMs} ms)`,
      );
    });

    test("max-requests circuit breaking rejects calls beyond the limit", async () => {
      await warmUp(mesh.client, target("slow-limited"), 1);
      // Three 400 ms calls fill max_requests 3; calls made while they run are refused at once.
      const holding = mesh.client.call({ target: target("slow-limited"), calls: 3, concurrency: 3 });
      await sleep(150);
      const excess = await mesh.client.call({ target: target("slow-limited"), calls: 6, concurrency: 1 });
      assert.equal(excess.errors.UNAVAILABLE, 6, `calls beyond the limit are refused: ${summary(excess)}`);
      assert.ok(excess.elapsedMs < 250, `refused at once, not queued: ${summary(excess)}`);
      assertNoErrors(await holding, "the calls within the limit");
      // Once they finish, calls are admitted again.
      assertNoErrors(
        await mesh.client.call({ target: target("slow-limited"), calls: 3, concurrency: 3 }),
        "after the burst",
      );
    });

    test("outlier detection ejects a failing backend, and traffic returns after it recovers", async () => {
      const e2 = mesh.greeters.e2 as Greeter;
      await warmUp(mesh.client, target("ejecting"), 2);
      // C-core's round robin picks only among READY subchannels: until e2's connection is up,
      // every call goes to e1.
      await waitFor(
        async () => {
          const r = await mesh.client.call({ target: target("ejecting"), calls: 10, concurrency: 2 });
          return (r.counts.e1 ?? 0) > 0 && (r.counts.e2 ?? 0) > 0;
        },
        { timeoutMs: 10_000, intervalMs: 100, message: "both e1 and e2 connected" },
      );
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

    test(
      "ring hash keeps a header-keyed caller on one backend, and spreads callers",
      { skip: ringHashSkip },
      async () => {
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
      },
    );

    test("locality failover: zone-a first, zone-b when zone-a's endpoints go unready, and back", async () => {
      const za = mesh.greeters.za as Greeter;
      const zb = mesh.greeters.zb as Greeter;
      await warmUp(mesh.client, target("zoned"));
      const first = await mesh.client.call({ target: target("zoned"), calls: 50, concurrency: 5 });
      assertAllOn(first, "za", "zone-a has priority");

      await mesh.config.write("70-zoned.yaml", zonedServices(za, zb, false));
      const failedOver = await waitFor(
        async () => {
          const r = await mesh.client.call({ target: target("zoned"), calls: 20, concurrency: 5 });
          return r.counts.zb === 20 ? r : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 200, message: "traffic moved to zone-b" },
      );
      assertAllOn(failedOver, "zb", "zone-a unready");

      await mesh.config.write("70-zoned.yaml", zonedServices(za, zb, true));
      await waitFor(
        async () => {
          const r = await mesh.client.call({ target: target("zoned"), calls: 20, concurrency: 5 });
          return r.counts.za === 20 ? r : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 200, message: "traffic back in zone-a" },
      );
    });
  });
}
