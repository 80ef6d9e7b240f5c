import assert from "node:assert/strict";
import { test } from "node:test";
import { runConformance } from "./conformance.ts";
import { rejectsWith, service, services, take } from "./conformance/harness.ts";
import { createMemoryStore } from "./memory.ts";
import type { KubeObject } from "./types.ts";

runConformance({
  name: "memory",
  open: async ({ clock, historySize }) =>
    createMemoryStore({ clock, ...(historySize ? { historySize } : {}) }),
});

test("memory: the history ring keeps exactly historySize events", async () => {
  const store = createMemoryStore({ historySize: 3 });
  const created: KubeObject[] = [];
  for (let i = 0; i < 5; i++) created.push(await store.create(services, service(`s${i}`)));
  const rvOf = (i: number) => created[i]?.metadata.resourceVersion ?? "";
  // Events s2, s3, s4 are kept: a watch from s1's resourceVersion still sees everything after it.
  const watch = await store.watch(services, { resourceVersion: rvOf(1) });
  assert.deepEqual(
    await take(watch, 3),
    [2, 3, 4].map((i) => `ADDED s${i}@${rvOf(i)}`),
  );
  await rejectsWith(
    store.watch(services, { resourceVersion: rvOf(0) }),
    "Expired",
    `too old resource version: ${rvOf(0)} (${rvOf(1)})`,
  );
  await store.close();
});

test("memory: a consumer too far behind loses its watch with Unavailable", async () => {
  const store = createMemoryStore({ maxPendingEvents: 5 });
  await store.create(services, service("before"));
  const watch = await store.watch(services, { resourceVersion: "0" });
  for (let i = 0; i < 6; i++) await store.create(services, service(`s${i}`));
  const iterator = watch[Symbol.asyncIterator]();
  await assert.rejects(iterator.next(), { code: "Unavailable" });
  assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  await store.close();
});
