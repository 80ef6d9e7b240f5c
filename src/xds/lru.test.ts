import { test } from "node:test";
import assert from "node:assert/strict";
import { LruMap } from "./lru.ts";

type Step = ["set", string] | ["get", string] | ["has", string] | ["delete", string];

const cases: { name: string; capacity: number; steps: Step[]; keys: string[] }[] = [
  {
    name: "keeps up to its capacity",
    capacity: 3,
    steps: [
      ["set", "a"],
      ["set", "b"],
      ["set", "c"],
    ],
    keys: ["a", "b", "c"],
  },
  {
    name: "forgets the least recently set first",
    capacity: 2,
    steps: [
      ["set", "a"],
      ["set", "b"],
      ["set", "c"],
    ],
    keys: ["b", "c"],
  },
  {
    name: "a get makes an entry the most recent",
    capacity: 2,
    steps: [
      ["set", "a"],
      ["set", "b"],
      ["get", "a"],
      ["set", "c"],
    ],
    keys: ["a", "c"],
  },
  {
    name: "has() counts as a use",
    capacity: 2,
    steps: [
      ["set", "a"],
      ["set", "b"],
      ["has", "a"],
      ["set", "c"],
    ],
    keys: ["a", "c"],
  },
  {
    name: "setting a held key refreshes it without growing",
    capacity: 2,
    steps: [
      ["set", "a"],
      ["set", "b"],
      ["set", "a"],
      ["set", "c"],
    ],
    keys: ["a", "c"],
  },
  {
    name: "delete frees a slot",
    capacity: 2,
    steps: [
      ["set", "a"],
      ["set", "b"],
      ["delete", "a"],
      ["set", "c"],
    ],
    keys: ["b", "c"],
  },
  { name: "capacity 0 holds nothing", capacity: 0, steps: [["set", "a"]], keys: [] },
];

for (const { name, capacity, steps, keys } of cases) {
  test(`LruMap ${name}`, () => {
    const lru = new LruMap<string, number>(capacity);
    steps.forEach(([op, key], i) => {
      if (op === "set") lru.set(key, i);
      else lru[op](key);
    });
    assert.deepEqual([...lru.keys()].sort(), keys);
    assert.equal(lru.size, keys.length);
  });
}

test("LruMap stays at its capacity whatever is stored", () => {
  const lru = new LruMap<number, true>(1000);
  for (let i = 0; i < 100_000; i++) lru.set(i, true);
  assert.equal(lru.size, 1000);
  assert.equal(lru.has(99_999), true);
  assert.equal(lru.has(98_999), false);
});

test("LruMap refuses a capacity that is not a whole number", () => {
  assert.throws(() => new LruMap(-1), RangeError);
  assert.throws(() => new LruMap(1.5), RangeError);
});

test("LruMap keys() lists least recently used first and lets the loop delete the key it is at", () => {
  const lru = new LruMap<string, number>(5);
  for (const key of ["a", "b", "c", "d"]) lru.set(key, 0);
  lru.get("a");
  const seen: string[] = [];
  for (const key of lru.keys()) {
    seen.push(key);
    if (key !== "c") lru.delete(key);
  }
  assert.deepEqual(seen, ["b", "c", "d", "a"]);
  assert.deepEqual([...lru.keys()], ["c"]);
});
