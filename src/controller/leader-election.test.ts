import { test } from "node:test";
import assert from "node:assert/strict";
import { silentLogger } from "../telemetry/index.ts";
import { FakeClock, settle } from "../clock/index.ts";
import { LeadershipLostError, LocalLeaderElector, microTime } from "./leader-election.ts";

test("MicroTime has microsecond precision like Kubernetes' metav1.MicroTime", () => {
  assert.equal(microTime(Date.UTC(2025, 0, 2, 3, 4, 5, 678)), "2025-01-02T03:04:05.678000Z");
});

test("the local elector leads at once and until stopped; stop waits for the leader work", async () => {
  const clock = new FakeClock(Date.UTC(2025, 0, 1));
  const elector = new LocalLeaderElector({ identity: "only", clock, logger: silentLogger() });
  const events: string[] = [];
  let termSignal: AbortSignal | undefined;
  let workDone = false;
  const running = elector.run({
    async onStartedLeading(signal) {
      events.push("started");
      termSignal = signal;
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      await settle();
      workDone = true;
    },
    onStoppedLeading: () => events.push("stopped"),
  });
  assert.ok(elector.isLeader);
  assert.deepEqual(events, ["started"]);
  assert.deepEqual(elector.holder(), {
    holderIdentity: "only",
    leaseDurationSeconds: 0,
    acquireTime: "2025-01-01T00:00:00.000000Z",
    renewTime: "2025-01-01T00:00:00.000000Z",
    leaseTransitions: 0,
  });
  await elector.stop();
  assert.ok(workDone, "stop resolved after the work ended");
  assert.ok(termSignal?.reason instanceof LeadershipLostError);
  assert.deepEqual(events, ["started", "stopped"]);
  assert.equal(elector.isLeader, false);
  assert.equal(elector.holder(), undefined);
  await running;
});
