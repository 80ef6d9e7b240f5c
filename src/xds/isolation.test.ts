import { test } from "node:test";
import assert from "node:assert/strict";
import type { EncodedResource } from "./cache.ts";
import { planOffer } from "./isolation.ts";
import { nextRejection, retryDelayMs, type Rejection } from "./rejections.ts";
import type { Held } from "./subscription.ts";

const resource = (name: string, hash: string): EncodedResource =>
  ({ name, hash, any: new Uint8Array(), source: undefined }) as unknown as EncodedResource;
const rejection = (rejectedHash: string, retryAt = 0): Rejection => ({
  rejectedHash,
  keptHash: null,
  error: "bad",
  objects: [],
  since: new Date(0),
  at: new Date(0),
  count: 1,
  retryAt,
});

const a1 = resource("a", "a1");
const a2 = resource("a", "a2");
const a3 = resource("a", "a3");
const b1 = resource("b", "b1");

const cases: [
  title: string,
  wanted: EncodedResource[],
  holding: [string, Held][],
  rejected: [string, Rejection][],
  now: number,
  expected: { resources: string[]; withheld: string[]; retryAt: number | undefined; settled: string[] },
][] = [
  [
    "the rejected version is replaced by the last good one",
    [a2, b1],
    [["a", a1]],
    [["a", rejection("a2")]],
    0,
    { resources: ["a1", "b1"], withheld: ["a"], retryAt: undefined, settled: [] },
  ],
  [
    "no last good version: left out",
    [a2, b1],
    [],
    [["a", rejection("a2")]],
    0,
    { resources: ["b1"], withheld: ["a"], retryAt: undefined, settled: [] },
  ],
  [
    "a newer version is offered once the backoff is over",
    [a3, b1],
    [["a", a1]],
    [["a", rejection("a2", 1000)]],
    1000,
    { resources: ["a3", "b1"], withheld: [], retryAt: undefined, settled: [] },
  ],
  [
    "a newer version during the backoff waits, and says until when",
    [a3, b1],
    [["a", a1]],
    [["a", rejection("a2", 1000)]],
    999,
    { resources: ["a1", "b1"], withheld: ["a"], retryAt: 1000, settled: [] },
  ],
  [
    "wanted again what the proxy holds: the rejection is settled",
    [a1, b1],
    [["a", a1]],
    [["a", rejection("a2", 5000)]],
    0,
    { resources: ["a1", "b1"], withheld: [], retryAt: undefined, settled: ["a"] },
  ],
  [
    "a resource that is gone settles its rejection",
    [b1],
    [["a", a1]],
    [["a", rejection("a2")]],
    0,
    { resources: ["b1"], withheld: [], retryAt: undefined, settled: ["a"] },
  ],
  [
    "delta resume: the last good version is known only by hash, so nothing is offered",
    [a2],
    [["a", "a1"]],
    [["a", rejection("a2")]],
    0,
    { resources: [], withheld: ["a"], retryAt: undefined, settled: [] },
  ],
];

for (const [title, wanted, holding, rejected, now, expected] of cases) {
  test(`planOffer: ${title}`, () => {
    const offer = planOffer(wanted, new Map(holding), new Map(rejected), now);
    assert.deepEqual(
      {
        resources: offer.resources.map((r) => r.hash),
        withheld: [...offer.withheld],
        retryAt: offer.retryAt,
        settled: offer.settled,
      },
      expected,
    );
    assert.equal(offer.substituted, expected.withheld.length > 0);
  });
}

test("retryDelayMs: none after the first rejection, then doubling from 1 s up to the cap", () => {
  const policy = { initialMs: 1000, maxMs: 60_000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 20].map((count) => retryDelayMs(count, policy)),
    [0, 1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000],
  );
});

test("nextRejection: a series keeps its start, counts, and schedules the next offer", () => {
  const policy = { initialMs: 1000, maxMs: 60_000 };
  const fields = { rejectedHash: "a2", keptHash: "a1", error: "bad", objects: ["Service default/a"] };
  const first = nextRejection(undefined, fields, new Date(10_000), policy);
  assert.deepEqual(first, {
    ...fields,
    since: new Date(10_000),
    at: new Date(10_000),
    count: 1,
    retryAt: 10_000,
  });
  const second = nextRejection(first, { ...fields, rejectedHash: "a3" }, new Date(12_000), policy);
  assert.deepEqual(second, {
    ...fields,
    rejectedHash: "a3",
    since: new Date(10_000),
    at: new Date(12_000),
    count: 2,
    retryAt: 13_000,
  });
});
