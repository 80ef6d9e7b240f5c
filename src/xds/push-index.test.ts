// The push index: name sets are interned (one per distinct set, shared by its subscribers, gone
// with the last), and a change visits the subscribers of what it invalidated, nobody else.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Invalidation } from "./cache.ts";
import { nameSetKey, PushIndex } from "./push-index.ts";
import { TypeUrl } from "./resource-types.ts";

const eds = TypeUrl.ClusterLoadAssignment;
const cds = TypeUrl.Cluster;

function invalidation(fields: {
  names?: [TypeUrl, string[]][];
  wildcardGroups?: [TypeUrl, string[]][];
  everyNamed?: TypeUrl[];
}): Invalidation {
  return {
    everything: false,
    names: new Map((fields.names ?? []).map(([type, names]) => [type, new Set(names)])),
    wildcardGroups: new Map((fields.wildcardGroups ?? []).map(([type, groups]) => [type, new Set(groups)])),
    everyNamed: new Set(fields.everyNamed ?? []),
  };
}

function visited(index: PushIndex<string>, what: Invalidation): string[] {
  const seen: string[] = [];
  index.visit(what, (member) => seen.push(member));
  return seen.sort();
}

test("equal name sets are one set, whatever the order; the last member out drops it", () => {
  const index = new PushIndex<string>();
  const one = index.join("one", eds, new Set(["b", "a"]), undefined);
  const two = index.join("two", eds, new Set(["a", "b"]), undefined);
  assert.equal(one, two);
  assert.deepEqual(one.list, ["a", "b"]);
  assert.deepEqual([...one.members].sort(), ["one", "two"]);
  const moved = index.join("two", eds, new Set(["a"]), two);
  assert.notEqual(moved, one);
  assert.deepEqual([...one.members], ["one"]);
  index.leave("one", one);
  assert.deepEqual(visited(index, invalidation({ names: [[eds, ["b"]]] })), [], "b's set is gone");
  assert.deepEqual(visited(index, invalidation({ names: [[eds, ["a"]]] })), ["two"]);
  assert.equal(index.join("three", eds, new Set(["a"]), undefined), moved, "found again by its names");
});

const table: [title: string, what: Invalidation, expected: string[]][] = [
  ["a name held by one set", invalidation({ names: [[eds, ["c"]]] }), ["narrow"]],
  ["a name held by two sets", invalidation({ names: [[eds, ["a"]]] }), ["narrow", "wide-1", "wide-2"]],
  ["a name nobody asked for", invalidation({ names: [[eds, ["z"]]] }), []],
  ["the same name of another type", invalidation({ names: [[cds, ["c"]]] }), ["cds-any"]],
  [
    "the wildcard set of one group",
    invalidation({ wildcardGroups: [[cds, ["envoy"]]] }),
    ["cds-any", "cds-envoy"],
  ],
  [
    "names forgotten: every named subscriber of the type",
    invalidation({ everyNamed: [eds] }),
    ["narrow", "wide-1", "wide-2"],
  ],
  ["nothing", invalidation({}), []],
];

for (const [title, what, expected] of table) {
  test(`visit: ${title}`, () => {
    const index = new PushIndex<string>();
    index.join("wide-1", eds, new Set(["a", "b"]), undefined);
    index.join("wide-2", eds, new Set(["a", "b"]), undefined);
    index.join("narrow", eds, new Set(["a", "c"]), undefined);
    index.wildcard("cds-grpc", cds, "grpc", true);
    index.wildcard("cds-envoy", cds, "envoy", true);
    index.wildcard("cds-gone", cds, "envoy", true);
    index.wildcard("cds-gone", cds, "envoy", false);
    // Of a group not known when it subscribed: visited on any change of its type.
    index.wildcard("cds-any", cds, undefined, true);
    assert.deepEqual(visited(index, what), expected);
  });
}

test("name set keys: a digest, and a name with the separator does not pass for two", () => {
  assert.notEqual(nameSetKey(["a\nb"]), nameSetKey(["a", "b"]));
  assert.notEqual(nameSetKey(["1:a"]), nameSetKey(["1", "a"]));
  assert.ok(nameSetKey(Array.from({ length: 10 }, (_, i) => "n".repeat(1000) + i)).length < 64);
});
