// Security resolution: which PeerAuthentication decides each port's mode (port > Service >
// namespace > mesh > PERMISSIVE, the oldest at one level), which AuthorizationPolicies and JWT
// rules apply to a port, their model form, missing targets, and what proxyless gRPC cannot do.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { MeshSnapshot } from "./model.ts";
import { openPortSecurity } from "./security-model.ts";
import { build, issueLines, securityPolicy, service } from "./testing.ts";

const ledgerPorts = [
  { name: "grpc", port: 50051 },
  { name: "admin", port: 9000 },
];
const ledger = service("ledger", ledgerPorts, "shop");
const cart = service("cart", [{ name: "grpc", port: 50051 }], "shop");
const web = service("web", [{ port: 80 }], "default");
const services = [ledger, cart, web];
const target = (name: string, sectionName?: string) => ({
  group: "",
  kind: "Service",
  name,
  ...(sectionName ? { sectionName } : {}),
});
const at = (time: string) => ({ creationTimestamp: `2026-12-0${time}T00:00:00Z` });
const pa = (name: string, namespace: string, spec: object, created = "1") =>
  securityPolicy("PeerAuthentication", name, spec, { namespace, ...at(created) });
const mode = (m: string) => ({ mtls: { mode: m } });

/** `ns/name:port mode source` for every port, and the mesh's. */
function modes(mesh: MeshSnapshot): string[] {
  const lines = [...mesh.services.values()].flatMap((s) =>
    s.ports.map(
      (p) => `${s.namespace}/${s.name}:${p.port} ${p.security.mtls} ${p.security.mtlsSource ?? "-"}`,
    ),
  );
  return [...lines, `mesh ${mesh.meshSecurity.mtls} ${mesh.meshSecurity.mtlsSource ?? "-"}`];
}

const precedence: [name: string, policies: object[], expected: string[], issues?: string[]][] = [
  [
    "no PeerAuthentication: PERMISSIVE everywhere",
    [],
    [
      "shop/ledger:50051 PERMISSIVE -",
      "shop/ledger:9000 PERMISSIVE -",
      "shop/cart:50051 PERMISSIVE -",
      "default/web:80 PERMISSIVE -",
      "mesh PERMISSIVE -",
    ],
  ],
  [
    "mesh-wide (meshplane-system, no targets) covers every port and servers outside Services",
    [pa("mesh", "meshplane-system", mode("STRICT"))],
    [
      "shop/ledger:50051 STRICT PeerAuthentication meshplane-system/mesh",
      "shop/ledger:9000 STRICT PeerAuthentication meshplane-system/mesh",
      "shop/cart:50051 STRICT PeerAuthentication meshplane-system/mesh",
      "default/web:80 STRICT PeerAuthentication meshplane-system/mesh",
      "mesh STRICT PeerAuthentication meshplane-system/mesh",
    ],
  ],
  [
    "namespace-wide beats mesh-wide, in its namespace only",
    [pa("mesh", "meshplane-system", mode("STRICT")), pa("ns", "shop", mode("DISABLE"))],
    [
      "shop/ledger:50051 DISABLE PeerAuthentication shop/ns",
      "shop/ledger:9000 DISABLE PeerAuthentication shop/ns",
      "shop/cart:50051 DISABLE PeerAuthentication shop/ns",
      "default/web:80 STRICT PeerAuthentication meshplane-system/mesh",
      "mesh STRICT PeerAuthentication meshplane-system/mesh",
    ],
  ],
  [
    "Service beats namespace; port level (portLevelMtls or sectionName) beats Service",
    [
      pa("ns", "shop", mode("STRICT")),
      pa("ledger", "shop", {
        targetRefs: [target("ledger")],
        ...mode("PERMISSIVE"),
        portLevelMtls: [{ port: 9000, mode: "DISABLE" }],
      }),
      pa("cart-grpc", "shop", { targetRefs: [target("cart", "grpc")], ...mode("DISABLE") }),
    ],
    [
      "shop/ledger:50051 PERMISSIVE PeerAuthentication shop/ledger",
      "shop/ledger:9000 DISABLE PeerAuthentication shop/ledger",
      "shop/cart:50051 DISABLE PeerAuthentication shop/cart-grpc",
      "default/web:80 PERMISSIVE -",
      "mesh PERMISSIVE -",
    ],
    ["PeerAuthentication shop/ledger spec.mtls.mode UnsupportedValue [grpc]"],
  ],
  [
    "port level only: the other ports fall through to the namespace",
    [
      pa("ns", "shop", mode("STRICT")),
      pa("admin", "shop", {
        targetRefs: [target("ledger")],
        portLevelMtls: [{ port: 9000, mode: "DISABLE" }],
      }),
    ],
    [
      "shop/ledger:50051 STRICT PeerAuthentication shop/ns",
      "shop/ledger:9000 DISABLE PeerAuthentication shop/admin",
      "shop/cart:50051 STRICT PeerAuthentication shop/ns",
      "default/web:80 PERMISSIVE -",
      "mesh PERMISSIVE -",
    ],
  ],
  [
    "two at one level: the oldest wins whatever its name; the other is Conflicted",
    [pa("a", "shop", mode("DISABLE"), "2"), pa("b", "shop", mode("STRICT"), "1")],
    [
      "shop/ledger:50051 STRICT PeerAuthentication shop/b",
      "shop/ledger:9000 STRICT PeerAuthentication shop/b",
      "shop/cart:50051 STRICT PeerAuthentication shop/b",
      "default/web:80 PERMISSIVE -",
      "mesh PERMISSIVE -",
    ],
    ["PeerAuthentication shop/a spec.mtls Conflicted"],
  ],
  [
    "same age: namespace/name decides; conflicts on a Service and on a port name their field",
    [
      pa("b", "shop", {
        targetRefs: [target("ledger")],
        ...mode("DISABLE"),
        portLevelMtls: [{ port: 9000, mode: "DISABLE" }],
      }),
      pa("a", "shop", {
        targetRefs: [target("ledger")],
        ...mode("STRICT"),
        portLevelMtls: [{ port: 9000, mode: "STRICT" }],
      }),
    ],
    [
      "shop/ledger:50051 STRICT PeerAuthentication shop/a",
      "shop/ledger:9000 STRICT PeerAuthentication shop/a",
      "shop/cart:50051 PERMISSIVE -",
      "default/web:80 PERMISSIVE -",
      "mesh PERMISSIVE -",
    ],
    [
      "PeerAuthentication shop/b spec.targetRefs[0] Conflicted",
      "PeerAuthentication shop/b spec.portLevelMtls[0] Conflicted",
    ],
  ],
  [
    "targets that do not exist: the Service, the port name, the port number",
    [
      pa("gone", "shop", { targetRefs: [target("gone"), target("ledger", "web")], ...mode("STRICT") }),
      pa("port", "shop", { targetRefs: [target("cart")], portLevelMtls: [{ port: 1, mode: "STRICT" }] }),
    ],
    [
      "shop/ledger:50051 PERMISSIVE -",
      "shop/ledger:9000 PERMISSIVE -",
      "shop/cart:50051 PERMISSIVE -",
      "default/web:80 PERMISSIVE -",
      "mesh PERMISSIVE -",
    ],
    [
      "PeerAuthentication shop/gone spec.targetRefs[0] TargetNotFound",
      "PeerAuthentication shop/gone spec.targetRefs[1].sectionName TargetNotFound",
      "PeerAuthentication shop/port spec.portLevelMtls[0].port TargetNotFound",
    ],
  ],
];

for (const [name, policies, expected, issues = []] of precedence) {
  test(`mTLS mode: ${name}`, () => {
    const mesh = build(...services, ...policies);
    assert.deepEqual(modes(mesh), expected);
    assert.deepEqual(issueLines(mesh.issues), issues);
  });
}

test("a PeerAuthentication's Conflicted message names the winner and the fix", () => {
  const mesh = build(ledger, pa("a", "shop", mode("DISABLE"), "2"), pa("b", "shop", mode("STRICT"), "1"));
  assert.match(
    mesh.issues[0]?.message ?? "",
    /^PeerAuthentication shop\/b already sets the mTLS mode of namespace shop and is older .*merge the two policies/,
  );
});

const ap = (name: string, namespace: string, spec: object) =>
  securityPolicy("AuthorizationPolicy", name, spec, { namespace });
const ra = (name: string, namespace: string, spec: object) =>
  securityPolicy("RequestAuthentication", name, spec, { namespace });
const jwks = JSON.stringify({ keys: [{ kty: "EC" }] });

/** `ns/name:port` → the sources of its authorization policies and JWT rules. */
function coverage(mesh: MeshSnapshot): string[] {
  const lines = [...mesh.services.values()].flatMap((s) =>
    s.ports.map(
      (p) =>
        `${s.namespace}/${s.name}:${p.port} [${p.security.authorization.map((a) => a.source.split(" ")[1]).join(" ")}] [${p.security.jwtRules.map((r) => `${r.source.split(" ")[1]}:${r.issuer}`).join(" ")}]`,
    ),
  );
  const mesh_ = mesh.meshSecurity;
  return [
    ...lines,
    `mesh [${mesh_.authorization.map((a) => a.source.split(" ")[1]).join(" ")}] [${mesh_.jwtRules.map((r) => r.issuer).join(" ")}]`,
  ];
}

test("authorization and JWT rules: every covering policy applies once, ordered by namespace/name", () => {
  const mesh = build(
    ...services,
    ap("z-mesh", "meshplane-system", {}),
    ap("ns", "shop", { action: "DENY" }),
    ap("ledger", "shop", { targetRefs: [target("ledger"), target("ledger", "admin")] }),
    ap("a-admin", "shop", { targetRefs: [target("ledger", "admin")] }),
    ap("other", "default", {}),
    ra("mesh", "meshplane-system", { jwtRules: [{ issuer: "m", jwks }] }),
    ra("cart", "shop", {
      targetRefs: [target("cart")],
      jwtRules: [
        { issuer: "c1", jwks },
        { issuer: "c2", jwks },
      ],
    }),
  );
  assert.deepEqual(coverage(mesh), [
    "shop/ledger:50051 [meshplane-system/z-mesh shop/ledger shop/ns] [meshplane-system/mesh:m]",
    "shop/ledger:9000 [meshplane-system/z-mesh shop/a-admin shop/ledger shop/ns] [meshplane-system/mesh:m]",
    "shop/cart:50051 [meshplane-system/z-mesh shop/ns] [meshplane-system/mesh:m shop/cart:c1 shop/cart:c2]",
    "default/web:80 [default/other meshplane-system/z-mesh] [meshplane-system/mesh:m]",
    "mesh [meshplane-system/z-mesh] [m]",
  ]);
  assert.deepEqual(issueLines(mesh.issues), [
    "RequestAuthentication meshplane-system/mesh spec.jwtRules UnsupportedValue [grpc]",
    "RequestAuthentication shop/cart spec.jwtRules UnsupportedValue [grpc]",
  ]);
});

test("an AuthorizationPolicy becomes the model's form: defaults, gRPC as paths, header names lower-cased", () => {
  const mesh = build(
    ledger,
    ap("post", "shop", {
      targetRefs: [target("ledger", "grpc")],
      rules: [
        {
          from: [{ source: { principals: ["spiffe://cluster.local/ns/shop/sa/checkout"] } }],
          to: [
            { operation: { grpc: { service: "ledger.Ledger", method: "Post" } } },
            {
              operation: {
                grpc: { service: "ledger.Ledger" },
                headers: [{ name: "X-Tenant", values: ["a*"] }],
              },
            },
          ],
        },
        {},
      ],
    }),
  );
  const empty = {
    paths: [],
    notPaths: [],
    methods: [],
    notMethods: [],
    ports: [],
    notPorts: [],
    headers: [],
  };
  const noSource = {
    principals: [],
    notPrincipals: [],
    namespaces: [],
    notNamespaces: [],
    ipBlocks: [],
    notIpBlocks: [],
    requestPrincipals: [],
    notRequestPrincipals: [],
  };
  const [grpc, admin] = mesh.services.get("shop/ledger")?.ports ?? [];
  assert.deepEqual(grpc?.security.authorization, [
    {
      source: "AuthorizationPolicy shop/post",
      action: "ALLOW",
      rules: [
        {
          from: [{ ...noSource, principals: ["spiffe://cluster.local/ns/shop/sa/checkout"] }],
          to: [
            { ...empty, paths: ["/ledger.Ledger/Post"] },
            { ...empty, paths: ["/ledger.Ledger/*"], headers: [{ name: "x-tenant", values: ["a*"] }] },
          ],
        },
        { from: [], to: [] },
      ],
    },
  ]);
  assert.deepEqual(admin?.security, openPortSecurity);
});

test("a JWT rule becomes the model's form: default and explicit token locations", () => {
  const mesh = build(
    cart,
    ra("jwt", "shop", {
      jwtRules: [
        { issuer: "https://a.example", jwksUri: "https://a.example/jwks" },
        {
          issuer: "https://b.example",
          jwks,
          audiences: ["cart"],
          fromHeaders: [{ name: "X-Token" }, { name: "Authorization", prefix: "Token " }],
          fromParams: ["t"],
          forwardOriginalToken: true,
        },
      ],
    }),
  );
  assert.deepEqual(mesh.services.get("shop/cart")?.ports[0]?.security.jwtRules, [
    {
      source: "RequestAuthentication shop/jwt",
      issuer: "https://a.example",
      audiences: [],
      jwksUri: "https://a.example/jwks",
      jwks: undefined,
      locations: [{ header: "Authorization", prefix: "Bearer " }, { queryParameter: "access_token" }],
      forwardOriginalToken: false,
    },
    {
      source: "RequestAuthentication shop/jwt",
      issuer: "https://b.example",
      audiences: ["cart"],
      jwksUri: undefined,
      jwks,
      locations: [
        { header: "X-Token", prefix: "" },
        { header: "Authorization", prefix: "Token " },
        { queryParameter: "t" },
      ],
      forwardOriginalToken: true,
    },
  ]);
});

test("missing targets of AuthorizationPolicy and RequestAuthentication name the field; the rest still applies", () => {
  const mesh = build(
    ledger,
    ap("deny", "shop", {
      action: "DENY",
      targetRefs: [target("gone"), target("ledger", "nope"), target("ledger", "grpc")],
    }),
    ra("jwt", "shop", { targetRefs: [target("gone")], jwtRules: [{ issuer: "i", jwks }] }),
  );
  assert.deepEqual(issueLines(mesh.issues), [
    "AuthorizationPolicy shop/deny spec.targetRefs[0] TargetNotFound",
    "AuthorizationPolicy shop/deny spec.targetRefs[1].sectionName TargetNotFound",
    "RequestAuthentication shop/jwt spec.targetRefs[0] TargetNotFound",
    "RequestAuthentication shop/jwt spec.jwtRules UnsupportedValue [grpc]",
  ]);
  assert.match(
    mesh.issues[0]?.message ?? "",
    /Service shop\/gone does not exist: create it or fix spec.targetRefs\[0\].name/,
  );
  assert.deepEqual(coverage(mesh), [
    "shop/ledger:50051 [shop/deny] []",
    "shop/ledger:9000 [] []",
    "mesh [] []",
  ]);
});

test("what proxyless gRPC servers cannot do is reported with flavour grpc, after every other issue", () => {
  const mesh = build(
    ledger,
    pa("permissive", "shop", {
      targetRefs: [target("ledger")],
      ...mode("STRICT"),
      portLevelMtls: [{ port: 9000, mode: "PERMISSIVE" }],
    }),
    ap("audit", "shop", {
      action: "AUDIT",
      rules: [
        { from: [{ source: { requestPrincipals: ["*"] } }, { source: { notRequestPrincipals: ["a/b"] } }] },
      ],
    }),
    ra("jwt", "shop", { jwtRules: [{ issuer: "i", jwks }] }),
    pa("gone", "shop", { targetRefs: [target("gone")], ...mode("STRICT") }),
  );
  assert.deepEqual(issueLines(mesh.issues), [
    "PeerAuthentication shop/gone spec.targetRefs[0] TargetNotFound",
    "PeerAuthentication shop/permissive spec.portLevelMtls[0].mode UnsupportedValue [grpc]",
    "AuthorizationPolicy shop/audit spec.action UnsupportedValue [grpc]",
    "AuthorizationPolicy shop/audit spec.rules[0].from[0].source.requestPrincipals UnsupportedValue [grpc]",
    "AuthorizationPolicy shop/audit spec.rules[0].from[1].source.notRequestPrincipals UnsupportedValue [grpc]",
    "RequestAuthentication shop/jwt spec.jwtRules UnsupportedValue [grpc]",
  ]);
  const [permissive, audit] = mesh.issues.slice(1);
  assert.match(permissive?.message ?? "", /serve plaintext only under PERMISSIVE/);
  assert.match(audit?.message ?? "", /AUDIT is not enforced by proxyless gRPC servers/);
});

test("the trust domain is the option's, cluster.local by default", () => {
  assert.equal(build(ledger).trustDomain, "cluster.local");
});

test("conditions proxyless servers cannot evaluate: the note says what is sent instead, by action", () => {
  const rules = [
    {
      from: [{ source: { requestPrincipals: ["https://issuer/*"] } }],
      to: [{ operation: { headers: [{ name: "grpc-timeout", values: ["1S"] }] } }],
    },
  ];
  const mesh = build(
    ledger,
    ap("allow", "shop", { action: "ALLOW", rules }),
    ap("deny", "shop", { action: "DENY", rules }),
  );
  assert.deepEqual(
    mesh.issues.map((i) => `${i.object} ${i.field}: ${i.message.split(": ").at(-1)}`),
    [
      "AuthorizationPolicy shop/allow spec.rules[0].from[0].source.requestPrincipals: the rule is left out there, so it allows nothing",
      "AuthorizationPolicy shop/allow spec.rules[0].to[0].operation.headers[0].name: the rule is left out there, so it allows nothing",
      "AuthorizationPolicy shop/deny spec.rules[0].from[0].source.requestPrincipals: the rule is applied there without this condition, so it denies more",
      "AuthorizationPolicy shop/deny spec.rules[0].to[0].operation.headers[0].name: the rule is applied there without this condition, so it denies more",
    ],
  );
});
