import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import { validateResource, type Resource } from "../api/index.ts";
import { buildMeshSnapshot } from "../mesh/index.ts";
import { objectReach } from "./object-reach.ts";

const RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

function load(name: string): Resource[] {
  const text = readFileSync(join(import.meta.dirname, "../translate/testdata", name, "input.yaml"), "utf8");
  return parseAllDocuments(text)
    .map((d) => d.toJS() as { kind?: string })
    .filter((o) => o?.kind && o.kind !== "Proxy")
    .flatMap((o) => {
      const result = validateResource(o);
      return result.ok ? [result.resource] : [];
    });
}

test("object reach: routes count their route tables, Services their endpoints, faults the routes using them", () => {
  const resources = load("fault");
  const mesh = buildMeshSnapshot(resources, { domain: "cluster.local" });
  const counted: string[] = [];
  const reach = objectReach(
    mesh,
    resources,
    (typeUrl, name) => {
      counted.push(`${typeUrl === RDS ? "rds" : typeUrl === EDS ? "eds" : "cds"} ${name}`);
      // Two proxies use every resource; one of them runs the current version.
      return { subscribed: 2, acked: 1 };
    },
    {
      objects: [
        {
          object: "Service default/greeter",
          proxies: 1,
          rejections: [
            {
              nodeId: "default/p1",
              streamId: 1,
              type: "eds",
              resource: "x",
              rejectedHash: "h",
              keptHash: null,
              error: "bad address",
              objects: ["Service default/greeter"],
              since: "",
              count: 1,
              retryAt: "",
            },
          ],
        },
      ],
      unattributed: [],
    },
  );
  const byObject = new Map(reach.map((r) => [r.object, r]));
  for (const r of reach) assert.ok(r.total >= r.reached, JSON.stringify(r));
  const service = byObject.get("Service default/greeter");
  assert.ok(service, JSON.stringify([...byObject.keys()]));
  assert.deepEqual(service.rejections, [{ node: "default/p1", error: "bad address" }]);
  assert.ok(
    counted.some((c) => c.startsWith("eds outbound|")),
    counted.join("\n"),
  );
  const route = reach.find((r) => r.object.startsWith("GRPCRoute ") || r.object.startsWith("HTTPRoute "));
  assert.ok(
    route && route.total > 0,
    `a route is counted through its route tables: ${JSON.stringify(reach)}`,
  );
  const fault = reach.find((r) => r.object.startsWith("FaultInjection "));
  assert.ok(
    fault && fault.total > 0,
    `a FaultInjection is counted through the routes using it: ${JSON.stringify(reach)}`,
  );
  assert.ok(reach.every((r) => r.generation >= 1));
  assert.ok(!reach.some((r) => r.object.startsWith("EndpointSlice ")), "slices carry no status");
});
