// The scoped scenario's pick: the Service held by the share of proxies asked for, agreeing with
// the per-change count the harness checks every run against (affectedProxies).
import { test } from "node:test";
import assert from "node:assert/strict";
import { affectedProxies, holderCounts, scopedService } from "./changes.ts";
import { MeshPlan } from "./mesh-plan.ts";

const plan = (services: number) =>
  new MeshPlan({ services, namespaces: 10, routeShare: 0.2, endpointsPerSlice: 3, scope: 10 });

test("holderCounts agrees with affectedProxies for every Service", () => {
  const p = plan(100);
  const counts = holderCounts(p, 700);
  for (let service = 0; service < p.services; service++) {
    const expected = affectedProxies(p, { kind: "endpoint", service, generation: 1 }, 700);
    assert.equal(counts[service], expected, p.serviceName(service));
  }
  assert.equal(counts[1], 700, "svc-0001 backs the hot route: every proxy holds it");
});

test("scopedService: the unrouted Service closest to the share, never a hot one", () => {
  const cases: Array<[services: number, proxies: number, share: number]> = [
    [100, 200, 0.01],
    [1000, 10_000, 0.01],
    [1000, 5_000, 0.01],
    [1000, 1_000, 0.05],
  ];
  for (const [services, proxies, share] of cases) {
    const p = plan(services);
    const counts = holderCounts(p, proxies);
    const picked = scopedService(p, proxies, share);
    const label = `${services} services, ${proxies} proxies, share ${share}`;
    assert.ok(
      picked.service >= 3 && !p.hasRoute(picked.service),
      `${label}: ${p.serviceName(picked.service)}`,
    );
    assert.equal(picked.holders, counts[picked.service], label);
    const wanted = Math.round(share * proxies);
    for (let i = 3; i < services; i++) {
      if (p.hasRoute(i) || counts[i] === 0) continue;
      assert.ok(
        Math.abs((counts[i] as number) - wanted) >= Math.abs(picked.holders - wanted),
        `${label}: ${p.serviceName(i)} (${counts[i]}) is closer to ${wanted} than the pick (${picked.holders})`,
      );
    }
  }
});
