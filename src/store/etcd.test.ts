// Runs the conformance suite against a real etcd started here on 127.0.0.1 (random free ports, a
// temporary data dir). Without the binary: fails under CI, skipped elsewhere.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Etcd3 } from "etcd3";
import { freePorts, haveEtcd, installHint, startEtcd, type RunningEtcd } from "../../test/support/etcd.ts";
import { runConformance } from "./conformance.ts";
import {
  meshConfig,
  meshConfigs,
  nextEvent,
  rejectsWith,
  service,
  services,
  summary,
} from "./conformance/harness.ts";
import { isStoreError } from "./errors.ts";
import { openEtcdStore } from "./etcd.ts";
import type { Clock, KubeObject, ResourceStore } from "./types.ts";

if (!haveEtcd) {
  if (process.env.CI) test("etcd conformance", () => assert.fail(installHint));
  else test("etcd conformance", { skip: installHint }, () => {});
} else {
  let etcd: RunningEtcd | undefined;
  before(async () => {
    etcd = await startEtcd();
  });
  after(() => etcd?.stop());

  let prefixes = 0;
  const prefixOf = new WeakMap<ResourceStore, string>();
  const open = async (prefix: string, clock: Clock, historySize?: number) => {
    assert.ok(etcd, "etcd is running");
    const store = await openEtcdStore({
      hosts: etcd.url,
      prefix,
      clock,
      ...(historySize ? { compaction: { retainRevisions: historySize } } : {}),
    });
    prefixOf.set(store, prefix);
    return store;
  };

  runConformance({
    name: "etcd",
    open: ({ clock, historySize }) => open(`/meshplane-test-${prefixes++}`, clock, historySize),
    async reopen(store, { clock }) {
      const prefix = prefixOf.get(store);
      assert.ok(prefix);
      await store.close();
      return open(prefix, clock);
    },
  });

  describe("etcd specifics", () => {
    test("keys are <prefix>/<group>/<resource>/[<namespace>/]<name>; resourceVersion is mod_revision", async () => {
      assert.ok(etcd);
      const store = await openEtcdStore({ hosts: etcd.url, prefix: "/layout" });
      const client = new Etcd3({ hosts: etcd.url });
      try {
        const web = await store.create(services, service("web"));
        await store.create(meshConfigs, meshConfig("mesh"));
        const kvs = (await client.getAll().prefix("/layout/").exec()).kvs;
        assert.deepEqual(
          kvs.map((kv) => kv.key.toString()),
          ["/layout/core/services/default/web", "/layout/meshplane.dev/meshconfigs/mesh"],
        );
        assert.equal(kvs[0]?.mod_revision, web.metadata.resourceVersion);
        const stored = JSON.parse(kvs[0]?.value.toString() ?? "{}") as { metadata: Record<string, unknown> };
        assert.equal(stored.metadata.resourceVersion, undefined, "the revision is not stored in the value");
      } finally {
        client.close();
        await store.close();
      }
    });

    test("etcd going away: requests fail Unavailable; after a restart watches resume where they were", async () => {
      const own = await startEtcd();
      const store = await openEtcdStore({ hosts: own.url, requestTimeoutMs: 1000 });
      try {
        const before = await store.create(services, service("before"));
        const watch = await store.watch(services, { resourceVersion: before.metadata.resourceVersion });
        await own.kill();
        await rejectsWith(store.get(services, { namespace: "default", name: "before" }), "Unavailable");
        await own.restart();
        let after: KubeObject | undefined;
        // The client's circuit breaker may fail requests fast for 5 s after the outage.
        for (let i = 0; i < 150 && !after; i++) {
          after = await store.create(services, service("after")).catch(async (error: unknown) => {
            if (!isStoreError(error, "Unavailable")) throw error;
            await new Promise((resolve) => setTimeout(resolve, 100));
            return undefined;
          });
        }
        assert.ok(after, "writes work again after the restart");
        const event = await nextEvent(watch, 15_000);
        assert.deepEqual(summary(event), `ADDED after@${after.metadata.resourceVersion ?? ""}`);
        watch.stop();
      } finally {
        await store.close();
        await own.stop();
      }
    });

    test("an unreachable etcd is Unavailable when opening", async () => {
      const [port] = await freePorts(1);
      await rejectsWith(
        openEtcdStore({ hosts: `http://127.0.0.1:${port}`, dialTimeoutMs: 500 }),
        "Unavailable",
      );
    });
  });
}
