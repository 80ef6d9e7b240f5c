// The one conformance suite every backend runs (memory.test.ts, sqlite.test.ts, etcd.test.ts):
// every semantic of the ResourceStore contract in types.ts, registered as node:test tests.
import { describe } from "node:test";
import { crudTests } from "./conformance/crud.ts";
import { lifecycleTests } from "./conformance/lifecycle.ts";
import { listTests } from "./conformance/list.ts";
import { watchTests } from "./conformance/watch.ts";
import type { ConformanceBackend } from "./conformance/harness.ts";

export type { ConformanceBackend, HarnessOptions } from "./conformance/harness.ts";

export function runConformance(backend: ConformanceBackend): void {
  describe(`ResourceStore conformance: ${backend.name}`, () => {
    describe("objects", () => crudTests(backend));
    describe("status, finalizers, concurrency, durability", () => lifecycleTests(backend));
    describe("list", () => listTests(backend));
    describe("watch", () => watchTests(backend));
  });
}
