// `meshplane rollout` against a real API server: each action is the merge patch kubectl would
// send, promote names the current step, and status reads the controller's account.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createApiClient, type ApiClient } from "../apiserver/index.ts";
import { startTestServer, type TestServer } from "../apiserver/testing.ts";
import { describeRollout, RolloutCliError, runAction } from "./rollout.ts";

let api: TestServer;
let client: ApiClient;
const path = "/apis/meshplane.dev/v1alpha1/namespaces/default/rollouts";

before(async () => {
  api = await startTestServer();
  client = createApiClient({ url: api.url });
  const created = await api.request("POST", path, {
    body: {
      apiVersion: "meshplane.dev/v1alpha1",
      kind: "Rollout",
      metadata: { name: "greeter" },
      spec: {
        routeRef: { kind: "GRPCRoute", name: "greeter" },
        stableBackend: { name: "v1" },
        canaryBackend: { name: "v2" },
        steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }],
      },
    },
  });
  assert.equal(created.status, 201, created.text);
});
after(() => api.close());

async function setStatus(status: object): Promise<void> {
  const current = await api.request("GET", `${path}/greeter`);
  const reply = await api.request("PUT", `${path}/greeter/status`, { body: { ...current.json, status } });
  assert.equal(reply.status, 200, reply.text);
}

const spec = async () => (await api.request("GET", `${path}/greeter`)).json.spec;

test("pause, resume and abort patch the spec", async () => {
  assert.equal(await runAction(client, "pause", "greeter", "default"), "rollout default/greeter paused\n");
  assert.equal((await spec()).paused, true);
  await runAction(client, "resume", "greeter", "default");
  assert.equal((await spec()).paused, false);
  await runAction(client, "abort", "greeter", "default");
  assert.equal((await spec()).abort, true);
  const managers = (await api.request("GET", `${path}/greeter`)).json.metadata.managedFields.map(
    (m: { manager: string }) => m.manager,
  );
  assert.ok(managers.includes("meshplane-rollout-cli"), managers.join());
});

test("promote names the current step, and only a pause or analysis step", async () => {
  await setStatus({
    phase: "Progressing",
    currentStep: 0,
    canaryWeight: 0,
    message: "",
    history: [],
    conditions: [],
  });
  await assert.rejects(runAction(client, "promote", "greeter", "default"), (error: unknown) => {
    assert.ok(error instanceof RolloutCliError);
    assert.match(
      error.message,
      /default\/greeter is not at a pause or analysis step \(step 0, Progressing\)/,
    );
    return true;
  });
  await setStatus({
    phase: "Paused",
    pauseReason: "AwaitingPromotion",
    currentStep: 1,
    canaryWeight: 10,
    message: "",
    history: [],
    conditions: [],
  });
  assert.equal(
    await runAction(client, "promote", "greeter", "default"),
    "rollout default/greeter: step 1 promoted\n",
  );
  assert.equal((await spec()).promote, 1);
});

test("status shows phase, step, weights, rounds with values and conditions", async () => {
  await setStatus({
    phase: "Degraded",
    currentStep: 1,
    canaryWeight: 0,
    message: "step 1: analysis failed",
    history: [
      {
        step: 1,
        startedAt: "2026-01-01T00:00:00.000Z",
        nextAt: "2026-01-01T00:00:04.000Z",
        successful: 0,
        failed: 1,
        inconclusive: 0,
        result: "Failed",
        rounds: [
          {
            at: "2026-01-01T00:00:02.000Z",
            result: "Failed",
            measurements: [{ metric: "sr", result: "Failed", value: 0.7 }],
          },
        ],
      },
    ],
    conditions: [
      {
        type: "Degraded",
        status: "True",
        reason: "AnalysisFailed",
        message: "step 1: analysis failed",
        observedGeneration: 1,
        lastTransitionTime: "2026-01-01T00:00:02Z",
      },
    ],
  });
  const text = await runAction(client, "status", "greeter", "default");
  assert.equal(
    text,
    [
      "Rollout default/greeter",
      "  Phase:   Degraded",
      "  Step:    1/3 (pause until promoted)",
      "  Canary:  0%",
      "  Message: step 1: analysis failed",
      "  Analysis at step 1: Failed (0 passed, 1 failed)",
      "    2026-01-01T00:00:02.000Z Failed: sr=0.7 Failed",
      "  Degraded=True AnalysisFailed: step 1: analysis failed",
      "",
    ].join("\n"),
  );
  assert.equal(describeRollout({ metadata: { name: "new" } }), "Rollout default/new\n  not started yet\n");
});
