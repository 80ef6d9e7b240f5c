// What the resource cache keeps for what proxies ask: resources that exist, a bounded memory of
// names that do not, a bounded number of resolved sets, and a profile's memos only while a proxy
// with that profile is attached.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { createMetrics } from "../telemetry/index.ts";
import type { ProxyProfile, ResourceRequest } from "../pipeline/index.ts";
import { ResourceCache, resolvedSetsPerType, type ConfigSnapshot, type Invalidation } from "./cache.ts";
import { TypeUrl } from "./resource-types.ts";

const profile = (namespace: string): ProxyProfile => ({ namespace, flavour: "grpc", instanceIps: [] });

/** Each name is built from (reads) the facet `name <name>` alone. */
const builtFrom = (name: string) => ({ reads: new Set([`name ${name}`]), objects: [], addresses: [] });

/**
 * A snapshot of clusters named in `existing`, recording which names were generated, per resolve;
 * `changed` names are those whose facet changed since the previous snapshot.
 */
function spySnapshot(
  existing: readonly string[],
  options: { profileDependent?: boolean; changed?: readonly string[] } = {},
) {
  const asked: string[][] = [];
  let call: string[] = [];
  const snapshot: ConfigSnapshot = {
    version: 1,
    changes: options.changed && new Set(options.changed.map((name) => `name ${name}`)),
    profileGroup: (_t, p) => (options.profileDependent ? `${p.flavour}|ns=${p.namespace}` : p.flavour),
    names: () => ({ names: existing, provenance: builtFrom("*") }),
    generate: (_profile, typeUrl, name) => {
      call.push(name);
      const provenance = builtFrom(name);
      const resource = existing.includes(name)
        ? { name, typeUrl, schema: ClusterSchema, message: create(ClusterSchema, { name }), provenance }
        : undefined;
      return { name, resource, provenance };
    },
    sources: () => [],
  };
  /** Resolves `names` as a set of its own (a fresh request key), noting what it generated. */
  const resolve = (c: ResourceCache, p: ProxyProfile, names: string[]) => {
    call = [];
    const resolved = c.resolve(p, TypeUrl.Cluster, named(names), `set-${keys++}`);
    if (call.length > 0) asked.push(call);
    return resolved;
  };
  return { snapshot, asked, resolve };
}

function cache(unknownNames: number): ResourceCache {
  return new ResourceCache({ metrics: createMetrics({ defaultMetrics: false }), unknownNames });
}

const named = (names: string[]): ResourceRequest => ({ wildcard: false, names });
let keys = 0;

const cases: { name: string; unknownNames: number; requests: string[][]; generated: string[][] }[] = [
  {
    name: "a name known not to exist is not generated again",
    unknownNames: 10,
    requests: [
      ["a", "u1"],
      ["u1", "a"],
    ],
    generated: [["a", "u1"]],
  },
  {
    name: "names that do not exist are remembered up to the bound, least recently asked out first",
    unknownNames: 3,
    requests: [["u1", "u2", "u3", "u4", "u5"], ["u5"], ["u3"], ["u1"]],
    generated: [["u1", "u2", "u3", "u4", "u5"], ["u1"]],
  },
  {
    name: "a bound of 0 remembers no unknown name",
    unknownNames: 0,
    requests: [["u1", "a"], ["u1"]],
    generated: [["u1", "a"], ["u1"]],
  },
  {
    name: "existing resources are kept whatever the bound",
    unknownNames: 0,
    requests: [["a", "b"], ["b"], ["a"]],
    generated: [["a", "b"]],
  },
];

for (const { name, unknownNames, requests, generated } of cases) {
  test(`cache: ${name}`, () => {
    const c = cache(unknownNames);
    const { snapshot, asked, resolve } = spySnapshot(["a", "b"]);
    c.setSnapshot(snapshot);
    for (const request of requests) resolve(c, profile("default"), request);
    assert.deepEqual(asked, generated);
  });
}

test("cache: a request naming 100,000 unknown names leaves at most the bound remembered", () => {
  const c = cache(100);
  const { snapshot, asked, resolve } = spySnapshot(["a"]);
  c.setSnapshot(snapshot);
  const unknown = Array.from({ length: 100_000 }, (_, i) => `unknown-${i}`);
  assert.deepEqual(resolve(c, profile("default"), unknown).resources, []);
  asked.length = 0;
  // Of the 100,000, only the last 100 are remembered as absent.
  resolve(c, profile("default"), unknown.slice(-100));
  assert.deepEqual(asked, []);
  resolve(c, profile("default"), unknown.slice(0, 1));
  assert.deepEqual(asked, [["unknown-0"]]);
});

test("cache: resolved sets are shared by request key, up to a bound", () => {
  const c = cache(10);
  const { snapshot } = spySnapshot(["a", "b"]);
  c.setSnapshot(snapshot);
  const p = profile("default");
  const first = c.resolve(p, TypeUrl.Cluster, named(["a"]), "k0");
  assert.equal(c.resolve(p, TypeUrl.Cluster, named(["a"]), "k0"), first, "the same key shares the result");
  for (let i = 1; i <= resolvedSetsPerType; i++) c.resolve(p, TypeUrl.Cluster, named(["b"]), `k${i}`);
  const again = c.resolve(p, TypeUrl.Cluster, named(["a"]), "k0");
  assert.notEqual(again, first, "the least recently used set was forgotten");
  assert.equal(again.version, first.version, "and resolves to the same version");
});

test("cache: a config change forgets that affected names did not exist, and only those", () => {
  const c = cache(10);
  const first = spySnapshot(["a"]);
  c.setSnapshot(first.snapshot);
  first.resolve(c, profile("default"), ["new", "other"]);
  const second = spySnapshot(["a", "new"], { changed: ["new"] });
  c.setSnapshot(second.snapshot);
  const resolved = second.resolve(c, profile("default"), ["new", "other"]);
  assert.deepEqual(second.asked, [["new"]]);
  assert.deepEqual(
    resolved.resources.map((r) => r.name),
    ["new"],
  );
});

test("cache: a profile's memos live while a proxy with it is attached", () => {
  const c = cache(10);
  const { snapshot, asked, resolve } = spySnapshot(["a"], { profileDependent: true });
  c.setSnapshot(snapshot);
  const p = profile("team-a");
  const generations = () => asked.length;

  resolve(c, p, ["a"]);
  resolve(c, p, ["a"]);
  assert.equal(generations(), 2, "nobody attached: nothing is kept for the profile");

  c.attach(p);
  c.attach(p);
  resolve(c, p, ["a", "u"]);
  resolve(c, p, ["a", "u"]);
  assert.equal(generations(), 3, "attached: generated once");
  c.detach(p);
  resolve(c, p, ["u", "a"]);
  assert.equal(generations(), 3, "one of two detached: still kept");
  c.detach(p);
  c.attach(p);
  resolve(c, p, ["a", "u"]);
  assert.equal(generations(), 4, "the last one detached: dropped");
});

test("cache: shared (flavour) memos do not depend on attachment", () => {
  const c = cache(10);
  const { snapshot, asked, resolve } = spySnapshot(["a"]);
  c.setSnapshot(snapshot);
  resolve(c, profile("x"), ["a"]);
  c.attach(profile("x"));
  c.detach(profile("x"));
  resolve(c, profile("y"), ["a"]);
  assert.equal(asked.length, 1);
});

/** The invalidation report, as sorted plain values. */
function report(invalidation: Invalidation) {
  const sorted = (map: ReadonlyMap<string, ReadonlySet<string>>) =>
    Object.fromEntries([...map].map(([type, values]) => [type.split(".").at(-1), [...values].sort()]));
  return {
    everything: invalidation.everything,
    names: sorted(invalidation.names),
    wildcardGroups: sorted(invalidation.wildcardGroups),
    everyNamed: [...invalidation.everyNamed].map((type) => type.split(".").at(-1)),
  };
}

test("cache: a change reports the names it invalidated and the wildcard groups holding them", () => {
  const c = cache(10);
  assert.equal(c.setSnapshot(spySnapshot(["a", "b"]).snapshot).everything, true, "the first snapshot");
  const p = profile("default");
  c.resolve(p, TypeUrl.Cluster, named(["a", "u"]), "named");
  c.resolve(p, TypeUrl.Cluster, { wildcard: true, names: [] }, "*");
  const cases: [changed: string[], expected: ReturnType<typeof report>][] = [
    [
      ["b"],
      { everything: false, names: { Cluster: ["b"] }, wildcardGroups: { Cluster: ["grpc"] }, everyNamed: [] },
    ],
    [["u"], { everything: false, names: { Cluster: ["u"] }, wildcardGroups: {}, everyNamed: [] }],
    [["*"], { everything: false, names: {}, wildcardGroups: { Cluster: ["grpc"] }, everyNamed: [] }],
    [["elsewhere"], { everything: false, names: {}, wildcardGroups: {}, everyNamed: [] }],
  ];
  for (const [changed, expected] of cases) {
    const invalidation = c.setSnapshot(spySnapshot(["a", "b"], { changed }).snapshot);
    assert.deepEqual(report(invalidation), expected, `changed: ${changed.join(", ")}`);
    c.resolve(p, TypeUrl.Cluster, named(["a", "u"]), "named");
    c.resolve(p, TypeUrl.Cluster, { wildcard: true, names: [] }, "*");
  }
});

test("cache: once unknown names were forgotten, a change reports every named subscriber of the type", () => {
  const c = cache(1);
  c.setSnapshot(spySnapshot(["a"]).snapshot);
  const p = profile("default");
  c.resolve(p, TypeUrl.Cluster, named(["u1", "u2"]), "k");
  const first = c.setSnapshot(spySnapshot(["a"], { changed: ["elsewhere"] }).snapshot);
  assert.deepEqual(report(first).everyNamed, ["Cluster"], "u1 was forgotten: it may exist now");
  const second = c.setSnapshot(spySnapshot(["a"], { changed: ["elsewhere"] }).snapshot);
  assert.deepEqual(report(second).everyNamed, [], "nothing forgotten since");
});
