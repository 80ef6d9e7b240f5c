// Resilience on the call path, as a real grpc-js-xds client experiences it: retries recover a
// flaky backend, a route timeout fails slow calls, fault injection aborts and delays, and
// max-requests circuit breaking rejects the excess. One meshplane and one client process; each
// behaviour has its own Service (and so its own channel).
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  assertNoErrors,
  configErrors,
  faultFilter,
  meshYaml,
  startMeshFixture,
  suiteScope,
  summary,
  warmUp,
  weighted,
  sleep,
  type MeshFixture,
} from "./support/index.ts";

const port = 50051;
const target = (service: string) => `xds:///${service}:${port}`;
const greeterPath = "/meshplane.demo.Greeter/";

describe("resilience on the call path", { timeout: 180_000 }, () => {
  const scope = suiteScope();
  let mesh: MeshFixture;

  before(async () => {
    mesh = await startMeshFixture(scope.defer, {
      greeters: [{ name: "flaky", failRate: 0.3 }, { name: "slow", delayMs: 400 }, { name: "fast" }],
      nodeId: "default/resilience-client",
      files: ({ flaky, slow, fast }) => ({
        "00-services.yaml": meshYaml()
          .service("flaky", port, [{ port: flaky!.port }])
          .service("flaky-retried", port, [{ port: flaky!.port }])
          .service("slow", port, [{ port: slow!.port }])
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
        "20-timeout.yaml": meshYaml()
          .httpRoute("slow-timeouts", {
            parent: "slow",
            port,
            rules: [
              {
                matches: [
                  {
                    path: { type: "PathPrefix", value: greeterPath },
                    headers: [{ name: "x-patient", value: "yes" }],
                  },
                ],
                backendRefs: weighted({ slow: 1 }),
                timeouts: { request: "3s" },
              },
              {
                matches: [{ path: { type: "PathPrefix", value: greeterPath } }],
                backendRefs: weighted({ slow: 1 }),
                timeouts: { request: "100ms" },
              },
            ],
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

  test("a per-route timeout fails slow calls with DEADLINE_EXCEEDED; a longer one lets them finish", async () => {
    await warmUp(mesh.client, target("slow"), 1).catch(() => undefined);
    const hurried = await mesh.client.call({
      target: target("slow"),
      calls: 10,
      concurrency: 10,
      waitForReady: true,
    });
    assert.equal(hurried.errors.DEADLINE_EXCEEDED, 10, `100 ms route timeout: ${summary(hurried)}`);
    assert.ok(
      hurried.elapsedMs < 350,
      `calls end at the route timeout, not the backend's 400 ms: ${summary(hurried)}`,
    );
    const patient = await mesh.client.call({
      target: target("slow"),
      calls: 10,
      concurrency: 10,
      metadata: { "x-patient": "yes" },
    });
    assertNoErrors(patient, "3 s route timeout");
  });

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
    // (grpc-js counts a call from when it starts on a connection, so one same-tick burst would
    // be admitted whole: the limit is on calls in flight, which is what this checks.)
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
});
