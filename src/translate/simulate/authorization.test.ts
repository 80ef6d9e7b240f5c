// Authorization decisions on the filters the translator generates, for both flavours: which
// filter and policy decided and why. For proxyless servers every decision is also taken by
// grpc-js-xds's own RBAC engine on the same bytes, and the two must agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { authorizationFilters } from "../authz/index.ts";
import { authz, grpcJsRbac, operation, rule, source, trustDomain } from "../authz/testing.ts";
import type { MeshAuthorizationPolicy } from "../../mesh/index.ts";
import { simulateAuthorization, type AuthorizationRequest } from "./authorization.ts";
import { authorizationText } from "./explain.ts";

const grpcJs = grpcJsRbac();
const checkout = "spiffe://cluster.local/ns/shop/sa/checkout";
const web = "spiffe://cluster.local/ns/shop/sa/web";
const guest = "spiffe://cluster.local/ns/guest-1/sa/default";

const ledgerOnly = authz("ALLOW", "ledger", [
  rule([source({ principals: [checkout] })], [operation({ paths: ["/ledger.Ledger/Post"] })]),
]);
const noGuests = authz("DENY", "no-guests", [rule([source({ namespaces: ["guest*"] })])]);
const anyone = authz("ALLOW", "anyone", [rule([source({ principals: ["*"] })])]);

function call(fields: Partial<AuthorizationRequest> = {}): AuthorizationRequest {
  return {
    peer: checkout,
    sourceIp: "10.1.0.5",
    destinationPort: 50051,
    method: "POST",
    path: "/ledger.Ledger/Post",
    authority: "ledger.shop:50051",
    headers: [],
    ...fields,
  };
}

interface Case {
  readonly name: string;
  readonly policies: MeshAuthorizationPolicy[];
  readonly request: AuthorizationRequest;
  /** The decision, and for a denial `filter: policy` (policy empty when no ALLOW policy matched). */
  readonly envoy: string;
  readonly grpc: string;
}

const allowed = "allowed";
const cases: Case[] = [
  { name: "no policy", policies: [], request: call({ peer: undefined }), envoy: allowed, grpc: allowed },
  {
    name: "allowed identity and method",
    policies: [ledgerOnly],
    request: call(),
    envoy: allowed,
    grpc: allowed,
  },
  {
    name: "another identity",
    policies: [ledgerOnly],
    request: call({ peer: web }),
    envoy: "denied by meshplane.authz.allow",
    grpc: "denied by meshplane.authz.allow",
  },
  {
    name: "no client certificate",
    policies: [ledgerOnly],
    request: call({ peer: undefined }),
    envoy: "denied by meshplane.authz.allow",
    grpc: "denied by meshplane.authz.allow",
  },
  {
    name: "another method",
    policies: [ledgerOnly],
    request: call({ path: "/ledger.Ledger/Get" }),
    envoy: "denied by meshplane.authz.allow",
    grpc: "denied by meshplane.authz.allow",
  },
  {
    name: "DENY beats ALLOW",
    policies: [anyone, noGuests],
    request: call({ peer: guest }),
    envoy: "denied by meshplane.authz.deny: AuthorizationPolicy shop/no-guests rules[0]",
    grpc: "denied by meshplane.authz.deny: AuthorizationPolicy shop/no-guests rules[0]",
  },
  {
    name: "DENY does not match",
    policies: [anyone, noGuests],
    request: call({ peer: web }),
    envoy: allowed,
    grpc: allowed,
  },
  {
    name: "ALLOW without rules",
    policies: [authz("ALLOW", "nothing", [])],
    request: call(),
    envoy: "denied by meshplane.authz.allow",
    grpc: "denied by meshplane.authz.allow",
  },
  {
    name: "address inside a block",
    policies: [authz("ALLOW", "net", [rule([source({ ipBlocks: ["10.1.2.3/16"] })])])],
    request: call({ peer: undefined }),
    envoy: allowed,
    grpc: allowed,
  },
  {
    name: "address outside a block",
    policies: [authz("ALLOW", "net", [rule([source({ ipBlocks: ["10.1.2.3/16"] })])])],
    request: call({ sourceIp: "10.2.0.1" }),
    envoy: "denied by meshplane.authz.allow",
    grpc: "denied by meshplane.authz.allow",
  },
  {
    name: "not-principals",
    policies: [authz("ALLOW", "not-web", [rule([source({ notPrincipals: [web] })])])],
    request: call({ peer: web }),
    envoy: "denied by meshplane.authz.allow",
    grpc: "denied by meshplane.authz.allow",
  },
  {
    name: "header present",
    policies: [
      authz("ALLOW", "tenant", [
        rule([], [operation({ headers: [{ name: "x-tenant", values: ["acme", "beta-*"] }] })]),
      ]),
    ],
    request: call({ headers: [["x-tenant", "beta-2"]] }),
    envoy: allowed,
    grpc: allowed,
  },
  {
    name: "header missing",
    policies: [
      authz("ALLOW", "tenant", [
        rule([], [operation({ headers: [{ name: "x-tenant", values: ["acme"] }] })]),
      ]),
    ],
    request: call(),
    envoy: "denied by meshplane.authz.allow",
    grpc: "denied by meshplane.authz.allow",
  },
  {
    name: "another port",
    policies: [authz("ALLOW", "port", [rule([], [operation({ ports: [50051] })])])],
    request: call({ destinationPort: 8080 }),
    envoy: "denied by meshplane.authz.allow",
    grpc: "denied by meshplane.authz.allow",
  },
  {
    name: "gRPC calls are POST",
    policies: [authz("DENY", "no-post", [rule([], [operation({ notMethods: ["GET"] })])])],
    request: call(),
    envoy: "denied by meshplane.authz.deny: AuthorizationPolicy shop/no-post rules[0]",
    grpc: "denied by meshplane.authz.deny: AuthorizationPolicy shop/no-post rules[0]",
  },
  {
    name: "end user from a JWT (proxyless cannot: the ALLOW rule is left out)",
    policies: [
      authz("ALLOW", "users", [rule([source({ requestPrincipals: ["https://issuer.example/alice"] })])]),
    ],
    request: call({ jwtClaims: { iss: "https://issuer.example", sub: "alice" } }),
    envoy: allowed,
    grpc: "denied by meshplane.authz.allow",
  },
  {
    name: "DENY on an end user (proxyless: the rule denies without that condition)",
    policies: [
      authz("DENY", "not-bob", [rule([source({ requestPrincipals: ["*/bob"], namespaces: ["shop"] })])]),
    ],
    request: call({ jwtClaims: { iss: "https://issuer.example", sub: "alice" } }),
    envoy: allowed,
    grpc: "denied by meshplane.authz.deny: AuthorizationPolicy shop/not-bob rules[0]",
  },
  {
    name: "AUDIT marks and lets through (Envoy); absent on proxyless",
    policies: [authz("AUDIT", "audit", [rule()]), anyone],
    request: call(),
    envoy: allowed,
    grpc: allowed,
  },
];

function outcome(report: ReturnType<typeof simulateAuthorization>): string {
  if (report.decision === "allowed") return allowed;
  const last = report.filters.at(-1);
  return `denied by ${last?.filter}${last?.decidedBy ? `: ${last.decidedBy}` : ""}`;
}

for (const c of cases) {
  for (const flavour of ["envoy", "grpc"] as const) {
    test(`${flavour}: ${c.name}`, () => {
      const { filters } = authorizationFilters({ authorization: c.policies }, { flavour, trustDomain });
      const report = simulateAuthorization(filters, c.request, flavour);
      assert.equal(outcome(report), c[flavour], authorizationText(report));
      assert.deepEqual(report.rejected, []);
      if (report.decision === "denied") assert.equal(report.grpcStatus, 7);
      if (flavour === "grpc") {
        const engines = filters.map((f) => grpcJs.parse(f));
        assert.ok(engines.every((e) => e !== undefined));
        const js = engines.every((e) =>
          e!({
            urlPath: c.request.path,
            sourceIp: c.request.sourceIp ?? "",
            destinationIp: "10.1.0.9",
            destinationPort: c.request.destinationPort,
            headers: [
              [":method", "POST"],
              [":authority", c.request.authority],
              [":path", c.request.path],
              ...c.request.headers,
            ],
            peerUri: c.request.peer,
          }),
        );
        assert.equal(js, report.decision === "allowed", "grpc-js-xds decides differently");
      }
    });
  }
}

test("the report says which policy decided and which condition failed", () => {
  const { filters } = authorizationFilters(
    { authorization: [ledgerOnly, noGuests] },
    { flavour: "envoy", trustDomain },
  );
  const denied = simulateAuthorization(filters, call({ peer: web }), "envoy");
  assert.equal(denied.httpStatus, 403);
  assert.deepEqual(
    denied.filters.map((f) => [f.filter, f.result]),
    [
      ["meshplane.authz.deny", "allowed"],
      ["meshplane.authz.allow", "denied"],
    ],
  );
  assert.deepEqual(denied.filters[1]?.policies, [
    {
      name: "AuthorizationPolicy shop/ledger rules[0]",
      matched: false,
      reason: `peer ${web} does not match principal exact "${checkout}"`,
    },
  ]);
  const text = authorizationText(denied);
  assert.match(
    text,
    /DENIED \(HTTP 403, gRPC status 7\) by meshplane\.authz\.allow: no policy of this ALLOW filter matches/,
  );
  assert.match(text, /AuthorizationPolicy shop\/ledger rules\[0\]: no match: peer .*web does not match/);

  const audited = simulateAuthorization(
    authorizationFilters(
      { authorization: [authz("AUDIT", "audit", [rule()])] },
      { flavour: "envoy", trustDomain },
    ).filters,
    call(),
    "envoy",
  );
  assert.deepEqual(
    audited.filters.map((f) => [f.filter, f.result, f.decidedBy]),
    [["meshplane.authz.audit", "logged", "AuthorizationPolicy shop/audit rules[0]"]],
  );
});

test("an Envoy LOG filter given to a proxyless server is reported as rejected", () => {
  const { filters } = authorizationFilters(
    { authorization: [authz("AUDIT", "audit", [rule()])] },
    { flavour: "envoy", trustDomain },
  );
  const report = simulateAuthorization(filters, call(), "grpc");
  assert.equal(report.rejected.length, 1);
  assert.match(report.rejected[0]!, /LOG/);
});
