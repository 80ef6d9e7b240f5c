// ChangeSet: what a change touches, for each kind; policies count as changes of their targets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { diffResources, type ChangeSet } from "./changes.ts";
import { faultInjection, resources, route, service, serviceParent, trafficPolicy } from "./testing.ts";

const faultRef = (name: string) => ({
  type: "ExtensionRef",
  extensionRef: { group: "meshplane.dev", kind: "FaultInjection", name },
});
const slow = faultInjection("slow", { delay: { fixedDelay: "1s", percentage: 10 } });
const slower = faultInjection("slow", { delay: { fixedDelay: "2s", percentage: 10 } });
const policy = (timeout: string, targets: object[] = [{ group: "", kind: "Service", name: "web" }]) =>
  trafficPolicy("p", { targetRefs: targets, connectTimeout: timeout });
const usesSlow = route("HTTPRoute", "uses-slow", [{ filters: [faultRef("slow")] }], {}, [
  serviceParent("web"),
]);
const other = route("HTTPRoute", "other", [{ filters: [faultRef("fast")] }], {}, [serviceParent("api")]);
const consumer = route("GRPCRoute", "consumer", [{ filters: [faultRef("slow")] }], { namespace: "team" }, [
  serviceParent("api", { namespace: "default" }),
]);

const summary = (changes: ChangeSet) => ({
  kinds: [...changes.kinds].sort(),
  services: [...changes.services].sort(),
  endpoints: [...changes.endpoints].sort(),
  routeParents: [...changes.routeParents].sort(),
});

const cases: [name: string, before: object[], after: object[], expected: ReturnType<typeof summary>][] = [
  [
    "nothing changed",
    [service("web"), policy("1s"), slow, usesSlow],
    [service("web"), policy("1s"), slow, usesSlow],
    { kinds: [], services: [], endpoints: [], routeParents: [] },
  ],
  [
    "a TrafficPolicy edit marks its target Services",
    [policy("1s")],
    [policy("2s")],
    { kinds: ["TrafficPolicy"], services: ["default/web"], endpoints: [], routeParents: [] },
  ],
  [
    "retargeting marks the old and the new targets",
    [policy("1s")],
    [policy("1s", [{ group: "", kind: "Service", name: "api", sectionName: "grpc" }])],
    { kinds: ["TrafficPolicy"], services: ["default/api", "default/web"], endpoints: [], routeParents: [] },
  ],
  [
    "deleting a TrafficPolicy marks its targets",
    [policy("1s")],
    [],
    { kinds: ["TrafficPolicy"], services: ["default/web"], endpoints: [], routeParents: [] },
  ],
  [
    "a FaultInjection edit marks the parents of the routes of its namespace that use it",
    [slow, usesSlow, other, consumer],
    [slower, usesSlow, other, consumer],
    { kinds: ["FaultInjection"], services: [], endpoints: [], routeParents: ["default/web"] },
  ],
  [
    "creating a missing FaultInjection marks the routes that referenced it",
    [usesSlow],
    [slow, usesSlow],
    { kinds: ["FaultInjection"], services: [], endpoints: [], routeParents: ["default/web"] },
  ],
  [
    "a FaultInjection of the same name in another namespace marks only that namespace's routes",
    [usesSlow, consumer],
    [faultInjection("slow", { delay: { fixedDelay: "1s", percentage: 1 } }, "team"), usesSlow, consumer],
    { kinds: ["FaultInjection"], services: [], endpoints: [], routeParents: ["default/api"] },
  ],
  [
    "a route and a Service",
    [service("web")],
    [service("web", [{ port: 81 }]), usesSlow],
    {
      kinds: ["HTTPRoute", "Service"],
      services: ["default/web"],
      endpoints: [],
      routeParents: ["default/web"],
    },
  ],
];

for (const [name, before, after, expected] of cases) {
  test(`changes: ${name}`, () => {
    assert.deepEqual(summary(diffResources(resources(...before), resources(...after))), expected);
  });
}
