// Leader election against a real etcd started here on 127.0.0.1 (test/support/etcd.ts), with a
// 2 s lease so handovers are measurable. Without the etcd binary: fails under CI, skipped elsewhere.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Etcd3 } from "etcd3";
import { haveEtcd, installHint, startEtcd, type RunningEtcd } from "../../test/support/etcd.ts";
import { silentLogger } from "../telemetry/index.ts";
import { EtcdLeaderElector } from "./etcd-leader-election.ts";
import type { LeaseRecord } from "./leader-election.ts";

const ttlSeconds = 2;
const microTimePattern = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/** One elector and what its callbacks saw; `leaders` is shared, to catch two leading at once. */
class Contender {
  readonly elector: EtcdLeaderElector;
  readonly events: string[] = [];
  signal: AbortSignal | undefined;
  startedAt = 0;
  stoppedAt = 0;
  readonly running: Promise<void>;

  constructor(url: string, lease: string, identity: string, leaders: Set<string>, overlaps: string[]) {
    this.elector = new EtcdLeaderElector({
      hosts: url,
      name: lease,
      identity,
      leaseDurationSeconds: ttlSeconds,
      retryIntervalMs: 200,
      logger: silentLogger(),
    });
    this.running = this.elector.run({
      onStartedLeading: (signal) => {
        if (leaders.size > 0) overlaps.push(`${identity} started while ${[...leaders].join(",")} led`);
        leaders.add(identity);
        this.signal = signal;
        this.startedAt = performance.now();
        this.events.push("started");
      },
      onStoppedLeading: () => {
        assert.ok(this.signal?.aborted, "the signal aborts before onStoppedLeading");
        leaders.delete(identity);
        this.stoppedAt = performance.now();
        this.events.push("stopped");
      },
    });
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

if (!haveEtcd) {
  if (process.env.CI) test("etcd leader election", () => assert.fail(installHint));
  else test("etcd leader election", { skip: installHint }, () => {});
} else {
  describe("etcd leader election", { timeout: 60_000 }, () => {
    let etcd: RunningEtcd;
    let leases = 0;
    before(async () => {
      etcd = await startEtcd();
    });
    after(() => etcd?.stop());

    /** Two contenders on a fresh lease name; stopped when the test ends. */
    function pair(t: { after(fn: () => Promise<void>): void }, url = etcd.url) {
      const lease = `test-${leases++}`;
      const leaders = new Set<string>();
      const overlaps: string[] = [];
      const a = new Contender(url, lease, "a", leaders, overlaps);
      const b = new Contender(url, lease, "b", leaders, overlaps);
      t.after(async () => {
        await Promise.all([a.elector.stop(), b.elector.stop()]);
        assert.deepEqual(overlaps, [], "never two leaders at once");
      });
      const leader = () => [a, b].find((c) => c.elector.isLeader);
      return { lease, a, b, leader, leaders };
    }

    test("two contenders: one leads and keeps renewing, the other follows and sees the holder", async (t) => {
      const { lease, a, b, leader } = pair(t);
      await waitFor("a leader", () => leader() !== undefined, 5000);
      const first = leader() as Contender;
      const other = first === a ? b : a;
      await sleep(ttlSeconds * 1500); // well past one lease duration: renewals keep it
      assert.deepEqual(first.events, ["started"]);
      assert.deepEqual(other.events, []);
      assert.equal(other.elector.isLeader, false);
      const seen = other.elector.holder() as LeaseRecord;
      assert.equal(seen.holderIdentity, first.elector.identity);
      assert.equal(seen.leaseDurationSeconds, ttlSeconds);
      assert.match(seen.acquireTime, microTimePattern);
      assert.match(seen.renewTime, microTimePattern);
      assert.ok(seen.renewTime > seen.acquireTime, "renewals are recorded in the key");
      const client = new Etcd3({ hosts: etcd.url });
      try {
        const kv = (await client.get(`/meshplane/leases/${lease}`).exec()).kvs[0];
        assert.ok(kv && kv.lease !== "0", "the key is attached to an etcd lease");
        assert.equal((JSON.parse(kv.value.toString()) as LeaseRecord).holderIdentity, first.elector.identity);
      } finally {
        client.close();
      }
    });

    test("stop() releases the lease: the other contender leads within a fraction of a second", async (t) => {
      const { a, b, leader } = pair(t);
      await waitFor("a leader", () => leader() !== undefined, 5000);
      const first = leader() as Contender;
      const other = first === a ? b : a;
      await waitFor("the follower sees the holder", () => other.elector.holder() !== undefined, 2000);
      const stopping = performance.now();
      await first.elector.stop();
      assert.deepEqual(first.events, ["started", "stopped"]);
      const took = (await waitFor("the other leads", () => other.elector.isLeader, 2000)) - stopping;
      t.diagnostic(`handover after stop(): ${took.toFixed(0)} ms`);
      assert.ok(took < 500, `handover took ${took.toFixed(0)} ms`);
      const record = other.elector.holder() as LeaseRecord;
      assert.equal(record.holderIdentity, other.elector.identity);
      assert.equal(record.leaseTransitions, 1);
    });

    test("a leader killed with SIGKILL in a child process is replaced within the lease duration", async (t) => {
      const lease = `test-${leases++}`;
      const url = (file: string) => JSON.stringify(pathToFileURL(join(import.meta.dirname, file)).href);
      const script = `
        import { EtcdLeaderElector } from ${url("etcd-leader-election.ts")};
        import { silentLogger } from ${url("../telemetry/index.ts")};
        const elector = new EtcdLeaderElector({ hosts: process.env.ETCD, name: process.env.LEASE, identity: "child",
          leaseDurationSeconds: ${ttlSeconds}, logger: silentLogger() });
        void elector.run({ onStartedLeading: () => console.log("leading"), onStoppedLeading: () => {} });`;
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
        env: { ...process.env, ETCD: etcd.url, LEASE: lease },
        stdio: ["ignore", "pipe", "inherit"],
      });
      t.after(() => child.kill("SIGKILL"));
      const lines = createInterface({ input: child.stdout });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the child did not lead within 10 s")), 10_000);
        lines.on("line", (line) => {
          if (line === "leading") {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const leaders = new Set<string>();
      const successor = new Contender(etcd.url, lease, "successor", leaders, []);
      t.after(() => successor.elector.stop());
      await waitFor(
        "the successor sees the child lead",
        () => successor.elector.holder()?.holderIdentity === "child",
        2000,
      );
      const killedAt = performance.now();
      child.kill("SIGKILL");
      const took =
        (await waitFor("the successor leads", () => successor.elector.isLeader, 10_000)) - killedAt;
      t.diagnostic(`successor leads ${took.toFixed(0)} ms after SIGKILL (lease ${ttlSeconds} s)`);
      // The child renewed at most a third of the lease before dying; etcd expires the lease a
      // lease duration after that renewal, checking every 500 ms; the rest is scheduling slack.
      assert.ok(took <= ttlSeconds * 1000 + 1000, `took over ${took.toFixed(0)} ms after the kill`);
      assert.ok(
        took >= ((ttlSeconds * 2) / 3) * 1000 - 100,
        `not before the lease could expire (${took.toFixed(0)} ms)`,
      );
      assert.equal(successor.elector.holder()?.leaseTransitions, 1);
    });

    test("revoking the lease from outside: the leader steps down at once, the other takes over", async (t) => {
      const { lease, a, b, leader } = pair(t);
      await waitFor("a leader", () => leader() !== undefined, 5000);
      const first = leader() as Contender;
      const other = first === a ? b : a;
      await waitFor("the follower sees the holder", () => other.elector.holder() !== undefined, 2000);
      const client = new Etcd3({ hosts: etcd.url });
      let revokedAt: number;
      try {
        const kv = (await client.get(`/meshplane/leases/${lease}`).exec()).kvs[0];
        assert.ok(kv);
        revokedAt = performance.now();
        await client.leaseClient.leaseRevoke({ ID: kv.lease });
      } finally {
        client.close();
      }
      await waitFor("the leader steps down", () => first.events.includes("stopped"), 2000);
      assert.ok(first.signal?.aborted);
      assert.ok(
        first.stoppedAt - revokedAt < 300,
        `stepped down ${(first.stoppedAt - revokedAt).toFixed(0)} ms after`,
      );
      const took = (await waitFor("the other leads", () => other.elector.isLeader, 2000)) - revokedAt;
      t.diagnostic(
        `revoke sent; stepped down after ${(first.stoppedAt - revokedAt).toFixed(0)} ms, taken over after ${took.toFixed(0)} ms`,
      );
      assert.ok(took < 500, `taken over ${took.toFixed(0)} ms after the revocation`);
    });

    test("etcd stopped: the leader steps down within the lease and nobody leads; restarted: one leads again", async (t) => {
      const own = await startEtcd();
      t.after(() => own.stop());
      const { a, b, leader, leaders } = pair(t, own.url);
      await waitFor("a leader", () => leader() !== undefined, 5000);
      const first = leader() as Contender;
      await sleep(300);
      await own.kill();
      const killedAt = performance.now();
      await waitFor("the leader steps down", () => first.events.includes("stopped"), ttlSeconds * 1000 + 500);
      const after = first.stoppedAt - killedAt;
      t.diagnostic(`stepped down ${after.toFixed(0)} ms after etcd exited`);
      assert.ok(after <= ttlSeconds * 1000, `stepped down ${after.toFixed(0)} ms after etcd went away`);
      await sleep(1000);
      assert.equal(leaders.size, 0, "nobody leads without etcd");
      assert.ok(!a.elector.isLeader && !b.elector.isLeader);
      await own.restart();
      const restartedAt = performance.now();
      // The client's circuit breaker may hold requests back for up to 5 s after the outage.
      const took = (await waitFor("a leader again", () => leader() !== undefined, 10_000)) - restartedAt;
      t.diagnostic(`a leader ${took.toFixed(0)} ms after etcd restarted`);
      assert.ok(took < 8000, `a leader ${took.toFixed(0)} ms after the restart`);
      assert.equal(leaders.size, 1);
    });
  });
}
