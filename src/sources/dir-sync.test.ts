import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { validateResource, type Resource } from "../api/index.ts";
import { createMemoryStore, type KubeObject } from "../store/index.ts";
import { silentLogger } from "../telemetry/index.ts";
import type { ConfigState } from "./config-source.ts";
import { ConfigDirSync, appliedHashAnnotation, type ObjectWriter } from "./dir-sync.ts";
import { storeWriter } from "./store-writer.ts";

function service(name: string, port = 80): Resource {
  const result = validateResource({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: { ports: [{ port }] },
  });
  if (!result.ok) throw new Error(`invalid ${name}`);
  return result.resource;
}

let generation = 0;
const state = (resources: Resource[]): ConfigState => ({ resources, errors: [], generation: ++generation });
const services = (n: number) => Array.from({ length: n }, (_, i) => service(`s${i}`));

/** A writer that records each call as it starts and takes `delayMs` to answer. */
function slowWriter(delayMs: number, onCall: (call: string) => void = () => {}) {
  const calls: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const call = async (what: string) => {
    calls.push(what);
    onCall(what);
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    await sleep(delayMs);
    inFlight--;
  };
  const writer: ObjectWriter = {
    apply: async (_kind, object) => {
      const port = (object.spec as { ports: Array<{ port: number }> }).ports[0]?.port;
      await call(`apply ${object.metadata.name}:${port}`);
      return "created";
    },
    listManaged: async () => [],
    delete: (_kind, _namespace, name) => call(`delete ${name}`),
    ensureNamespace: async () => {},
  };
  return { writer, calls, maxInFlight: () => maxInFlight };
}

describe("ConfigDirSync", () => {
  it("writes many objects with a bounded number in flight", async () => {
    const { writer, calls, maxInFlight } = slowWriter(2);
    const sync = new ConfigDirSync({ writer, logger: silentLogger(), concurrency: 8 });
    const result = await sync.sync(state(services(100)));
    assert.equal(result.created, 100);
    assert.equal(calls.length, 100);
    assert.equal(maxInFlight(), 8);
  });

  it("lets a newer state supersede a pass in progress, writing its edits first", async () => {
    const initial = services(200);
    const edited = [...initial.slice(1, 150), service("s150", 8080), ...initial.slice(151), service("late")];
    let results: Promise<unknown>[] = [];
    const { writer, calls } = slowWriter(1, () => {
      if (calls.length === 20) results.push(sync.sync(state(edited)));
    });
    const sync = new ConfigDirSync({ writer, logger: silentLogger(), concurrency: 4 });
    results = [sync.sync(state(initial))];
    const first = await results[0];
    const second = await results[1];
    assert.deepEqual(
      calls.slice(20, 23),
      ["apply s150:8080", "apply late:80", "delete s0"],
      "the newest edits go before the 180 objects left of the first state",
    );
    assert.ok(!calls.includes("apply s150:80"), "the superseded version of s150 is never written");
    assert.equal(calls.length, 201 + 1, "every object written once, s0 deleted once");
    assert.deepEqual(first, second, "both callers learn the outcome of the newest state");
    assert.deepEqual(first, { created: 201, updated: 0, deleted: 1, failed: [] });
  });

  it("does not rewrite unchanged objects, across a restart too", async () => {
    const store = createMemoryStore();
    let applies = 0;
    const counting = (): ObjectWriter => {
      const inner = storeWriter(store);
      return { ...inner, apply: (kind, object) => (applies++, inner.apply(kind, object)) };
    };
    const objects = [service("a"), service("b"), service("c")];
    await new ConfigDirSync({ writer: counting(), logger: silentLogger() }).sync(state(objects));
    assert.equal(applies, 3);
    const types = { group: "", resource: "services", namespaced: true };
    const stored = await store.get(types, { namespace: "default", name: "c" });
    assert.match(stored.metadata.annotations?.[appliedHashAnnotation] ?? "", /^[0-9a-f]{32}$/);
    // Applied by an older meshplane, without the hash: its content is unknown.
    const { [appliedHashAnnotation]: _, ...annotations } = stored.metadata.annotations ?? {};
    await store.update(types, { ...stored, metadata: { ...stored.metadata, annotations } });

    applies = 0;
    const restarted = new ConfigDirSync({ writer: counting(), logger: silentLogger() });
    const result = await restarted.sync(state([service("a"), service("b", 81), service("c")]));
    assert.equal(applies, 2, "b changed and c's content is unknown; a is skipped");
    assert.deepEqual(result, { created: 0, updated: 2, deleted: 0, failed: [] }, "c gets its hash back");
    applies = 0;
    await restarted.sync(state([service("a"), service("b", 81), service("c")]));
    assert.equal(applies, 0);
  });

  it("reports what the store refused as config errors until it is written", async () => {
    const secret = "s3cr3t-in-a-refusal";
    let refuse = true;
    const writer: ObjectWriter = {
      apply: async (_kind, object: KubeObject) => {
        if (refuse && object.metadata.name === "bad") throw new Error(`413: ${"x".repeat(400)}${secret}`);
        return "created";
      },
      listManaged: async () => [],
      delete: async () => {},
      ensureNamespace: async () => {},
    };
    const sync = new ConfigDirSync({ writer, logger: silentLogger() });
    const result = await sync.sync(state([service("ok"), service("bad")]));
    assert.deepEqual(
      result.failed.map((f) => f.object),
      ["Service default/bad"],
    );
    const errors = sync.errors();
    assert.deepEqual(
      errors.map((e) => [e.file, e.object, e.field]),
      [["", "Service default/bad", ""]],
    );
    assert.match(errors[0]?.message ?? "", /^not written to the store: 413: x+…\(\d+ more characters\)$/);
    assert.ok(!errors[0]?.message.includes(secret));

    refuse = false;
    await sync.sync(state([service("ok"), service("bad", 81)]));
    assert.deepEqual(sync.errors(), [], "written now: the error is gone");
  });
});
