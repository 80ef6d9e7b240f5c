// AuthorizationPolicies → RBAC filters for both flavours: which filters in which order, what is
// reported, the exact config (golden files in testdata/, `UPDATE_GOLDEN=1` rewrites them, then
// review), PGV validity, and grpc-js-xds's own verdict on what proxyless servers receive.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { RBACSchema } from "../../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js";
import { HttpFilterSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { DataPlaneFlavour, MeshAuthorizationPolicy } from "../../mesh/index.ts";
import { assertValidEnvoy } from "../envoy/pgv-assert.ts";
import { envoyRegistry } from "../envoy/registry.ts";
import { authorizationFilters } from "./filters.ts";
import { authz, grpcJsRbac, operation, rbacOf, rule, source, trustDomain } from "./testing.ts";

const checkout = "spiffe://cluster.local/ns/shop/sa/checkout";
const update = process.env.UPDATE_GOLDEN === "1";
const grpcJs = grpcJsRbac();

interface Case {
  readonly name: string;
  readonly policies: MeshAuthorizationPolicy[];
  /** Filter names in order, per flavour. */
  readonly envoy: string[];
  readonly grpc: string[];
  /** `object field` of every issue, per flavour. */
  readonly envoyIssues?: string[];
  readonly grpcIssues?: string[];
}

const cases: Case[] = [
  { name: "open", policies: [], envoy: [], grpc: [] },
  {
    name: "allow-principal-method",
    policies: [
      authz("ALLOW", "ledger", [
        rule([source({ principals: [checkout] })], [operation({ paths: ["/ledger.Ledger/Post"] })]),
      ]),
    ],
    envoy: ["meshplane.authz.allow"],
    grpc: ["meshplane.authz.allow"],
  },
  {
    name: "deny-then-allow",
    policies: [
      authz("ALLOW", "callers", [rule([source({ principals: ["spiffe://cluster.local/ns/shop/*"] })])]),
      authz("DENY", "no-guests", [
        rule([source({ namespaces: ["guest*"] })], [operation({ methods: ["POST"] })]),
      ]),
    ],
    envoy: ["meshplane.authz.deny", "meshplane.authz.allow"],
    grpc: ["meshplane.authz.deny", "meshplane.authz.allow"],
  },
  {
    name: "allow-nothing",
    policies: [authz("ALLOW", "deny-all", [])],
    envoy: ["meshplane.authz.allow"],
    grpc: ["meshplane.authz.allow"],
  },
  { name: "deny-without-rules", policies: [authz("DENY", "empty", [])], envoy: [], grpc: [] },
  {
    name: "every-field",
    policies: [
      authz("ALLOW", "everything", [
        rule(
          [
            source({
              principals: [checkout, "*/sa/admin", "*"],
              notPrincipals: ["spiffe://cluster.local/ns/shop/sa/banned"],
              namespaces: ["shop", "*-prod", "*"],
              notNamespaces: ["kube-system"],
              ipBlocks: ["10.1.2.3/8", "192.168.0.7", "fd00::1/64"],
              notIpBlocks: ["10.9.0.0/16"],
            }),
            source({ namespaces: ["ops"] }),
          ],
          [
            operation({
              paths: ["/ledger.Ledger/*", "*/Get", "/health"],
              notPaths: ["/ledger.Ledger/Drop"],
              methods: ["POST", "GET"],
              notMethods: ["DELETE"],
              ports: [50051, 8080],
              notPorts: [9090],
              headers: [
                { name: "x-tenant", values: ["acme", "beta-*"] },
                { name: "x-trace", values: ["*"] },
              ],
            }),
          ],
        ),
        rule([], [operation({ paths: ["/public.Api/*"] })]),
      ]),
    ],
    envoy: ["meshplane.authz.allow"],
    grpc: ["meshplane.authz.allow"],
  },
  {
    name: "request-principals",
    policies: [
      authz("ALLOW", "users", [
        rule([
          source({ requestPrincipals: ["https://issuer.example/alice", "https://issuer.example/*", "*"] }),
        ]),
        rule([source({ principals: [checkout] })]),
      ]),
      authz("DENY", "not-bob", [
        rule([source({ requestPrincipals: ["*/bob"], namespaces: ["shop"] })]),
        rule([source({ notRequestPrincipals: ["*"] })], [operation({ paths: ["/admin.Admin/*"] })]),
      ]),
    ],
    envoy: ["meshplane.authz.deny", "meshplane.authz.allow"],
    grpc: ["meshplane.authz.deny", "meshplane.authz.allow"],
    grpcIssues: [
      "AuthorizationPolicy shop/not-bob spec.rules[0].from[0].source.requestPrincipals",
      "AuthorizationPolicy shop/not-bob spec.rules[1].from[0].source.notRequestPrincipals",
      "AuthorizationPolicy shop/users spec.rules[0].from[0].source.requestPrincipals",
    ],
  },
  {
    name: "audit",
    policies: [
      authz("AUDIT", "audit-writes", [rule([], [operation({ methods: ["POST"] })])]),
      authz("ALLOW", "ledger", [rule([source({ principals: [checkout] })])]),
    ],
    envoy: ["meshplane.authz.audit", "meshplane.authz.allow"],
    grpc: ["meshplane.authz.allow"],
    grpcIssues: ["AuthorizationPolicy shop/audit-writes spec.action"],
  },
  {
    name: "refused-headers",
    policies: [
      authz("ALLOW", "by-timeout", [
        rule([], [operation({ headers: [{ name: "grpc-timeout", values: ["*"] }] })]),
        rule([source({ principals: [checkout] })]),
      ]),
      authz("DENY", "by-scheme", [
        rule([], [operation({ headers: [{ name: ":scheme", values: ["http"] }], paths: ["/a.B/C"] })]),
      ]),
    ],
    envoy: ["meshplane.authz.deny", "meshplane.authz.allow"],
    grpc: ["meshplane.authz.deny", "meshplane.authz.allow"],
    grpcIssues: [
      "AuthorizationPolicy shop/by-scheme spec.rules[0].to[0].operation.headers[0]",
      "AuthorizationPolicy shop/by-timeout spec.rules[0].to[0].operation.headers[0]",
    ],
  },
  {
    name: "invalid-ip-block",
    policies: [authz("ALLOW", "bad-cidr", [rule([source({ ipBlocks: ["10.0.0.0/40"] })])])],
    envoy: ["meshplane.authz.allow"],
    grpc: ["meshplane.authz.allow"],
    envoyIssues: ["AuthorizationPolicy shop/bad-cidr spec.rules[0].from[0].source.ipBlocks"],
    grpcIssues: ["AuthorizationPolicy shop/bad-cidr spec.rules[0].from[0].source.ipBlocks"],
  },
];

for (const c of cases) {
  for (const flavour of ["envoy", "grpc"] as const satisfies DataPlaneFlavour[]) {
    test(`${c.name} (${flavour})`, () => {
      const { filters, issues } = authorizationFilters(
        { authorization: c.policies },
        { flavour, trustDomain },
      );
      assert.deepEqual(
        filters.map((f) => f.name),
        c[flavour],
      );
      assert.deepEqual(
        issues.map((i) => `${i.object} ${i.field}`),
        (flavour === "grpc" ? c.grpcIssues : c.envoyIssues) ?? [],
      );
      for (const issue of issues) assert.equal(issue.flavour, flavour === "grpc" ? "grpc" : undefined);

      const golden = {
        filters: filters.map((f) => ({
          name: f.name,
          isOptional: f.isOptional,
          rbac: toJson(RBACSchema, rbacOf(f), { registry: envoyRegistry }),
        })),
        issues,
      };
      const file = join(import.meta.dirname, "testdata", `${c.name}.${flavour}.json`);
      const text = `${JSON.stringify(golden, null, 2)}\n`;
      if (update) writeFileSync(file, text);
      assert.equal(text, readFileSync(file, "utf8"), `${file} differs (UPDATE_GOLDEN=1 rewrites it)`);

      assertValidEnvoy([
        ...filters.map((f) => ({ schema: HttpFilterSchema, message: f, name: f.name })),
        ...filters.map((f) => ({ schema: RBACSchema, message: rbacOf(f), name: f.name })),
      ]);
      if (flavour === "grpc") {
        for (const f of filters) assert.ok(grpcJs.parse(f), `grpc-js-xds rejects ${f.name}`);
      }
    });
  }
}

test("the LOG filter Envoy gets would be rejected by grpc-js-xds: why proxyless servers do not get it", () => {
  const { filters } = authorizationFilters(
    { authorization: [authz("AUDIT", "audit", [rule()])] },
    { flavour: "envoy", trustDomain },
  );
  assert.deepEqual(
    filters.map((f) => f.name),
    ["meshplane.authz.audit"],
  );
  assert.equal(grpcJs.parse(filters[0]!), undefined);
});

test("namespace patterns stop at the path segment; CIDR host bits are cleared", () => {
  const { filters } = authorizationFilters(
    {
      authorization: [
        authz("ALLOW", "ns", [
          rule([source({ namespaces: ["a.b"] })]),
          rule([source({ namespaces: ["team-*"] })]),
          rule([source({ ipBlocks: ["10.1.2.3/8", "fd00:1:2ff:3::9/44"] })]),
        ]),
      ],
    },
    { flavour: "envoy", trustDomain: "example.org" },
  );
  const json = JSON.stringify(toJson(RBACSchema, rbacOf(filters[0]!), { registry: envoyRegistry }));
  assert.match(json, /"prefix":"spiffe:\/\/example.org\/ns\/a.b\/"/);
  assert.match(json, /"regex":"spiffe:\/\/example\\\\.org\/ns\/team-\[\^\/\]\*\/\.\+"/);
  assert.match(json, /"addressPrefix":"10.0.0.0","prefixLen":8/);
  assert.match(json, /"addressPrefix":"fd00:1:2f0:0:0:0:0:0","prefixLen":44/);
});
