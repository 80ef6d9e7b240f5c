import { test } from "node:test";
import assert from "node:assert/strict";
import { Debouncer } from "./debounce.ts";

test("a burst fires once after the quiet period", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  let fired = 0;
  const debouncer = new Debouncer({ quietMs: 100, maxWaitMs: 1000 }, () => fired++);
  for (let i = 0; i < 5; i++) {
    debouncer.trigger();
    t.mock.timers.tick(50);
  }
  assert.equal(fired, 0);
  t.mock.timers.tick(100);
  assert.equal(fired, 1);
  t.mock.timers.tick(5000);
  assert.equal(fired, 1);
});

test("a steady trickle still fires by the maximum wait", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  let fired = 0;
  const debouncer = new Debouncer({ quietMs: 100, maxWaitMs: 1000 }, () => fired++);
  for (let elapsed = 0; elapsed < 1000; elapsed += 50) {
    debouncer.trigger();
    t.mock.timers.tick(50);
  }
  assert.equal(fired, 1);
});

test("flush fires only when a change is pending", () => {
  let fired = 0;
  const debouncer = new Debouncer({ quietMs: 100, maxWaitMs: 1000 }, () => fired++);
  debouncer.flush();
  assert.equal(fired, 0);
  debouncer.trigger();
  debouncer.flush();
  assert.equal(fired, 1);
});

test("rejects a maximum wait shorter than the quiet period", () => {
  assert.throws(() => new Debouncer({ quietMs: 100, maxWaitMs: 50 }, () => {}), /quiet/);
});
