// PeerAuthentication, AuthorizationPolicy and RequestAuthentication validation: every error names
// its field path and the fix; valid objects of every shape pass.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateResource } from "./validate.ts";
import { isCidr, stringPatternProblem } from "./validate-security.ts";

const target = { group: "", kind: "Service", name: "ledger" };
const object = (kind: string, spec: object) => ({
  apiVersion: "meshplane.dev/v1alpha1",
  kind,
  metadata: { name: "p", namespace: "shop" },
  spec,
});
const pa = (spec: object) => object("PeerAuthentication", spec);
const ap = (spec: object) => object("AuthorizationPolicy", spec);
const ra = (spec: object) => object("RequestAuthentication", spec);
const from = (source: object) => ap({ rules: [{ from: [{ source }] }] });
const to = (operation: object) => ap({ rules: [{ to: [{ operation }] }] });
const jwt = (rule: object) => ra({ jwtRules: [{ issuer: "https://issuer.example", ...rule }] });
const jwks = JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y" }] });

const valid: [name: string, input: object][] = [
  ["namespace-wide STRICT", pa({ mtls: { mode: "STRICT" } })],
  [
    "Service and port level",
    pa({
      targetRefs: [target],
      mtls: { mode: "PERMISSIVE" },
      portLevelMtls: [{ port: 9000, mode: "DISABLE" }],
    }),
  ],
  ["one port by name", pa({ targetRefs: [{ ...target, sectionName: "grpc" }], mtls: { mode: "STRICT" } })],
  ["deny all (ALLOW without rules)", ap({})],
  [
    "every source and operation field",
    ap({
      targetRefs: [target],
      action: "DENY",
      rules: [
        {
          from: [
            {
              source: {
                principals: [
                  "spiffe://cluster.local/ns/shop/sa/checkout",
                  "spiffe://cluster.local/ns/shop/*",
                  "*/sa/admin",
                  "*",
                ],
                notPrincipals: ["spiffe://cluster.local/ns/dev/sa/x"],
                namespaces: ["shop", "team-*"],
                notNamespaces: ["*-dev"],
                ipBlocks: ["10.0.0.0/8", "127.0.0.1", "fd00::/8"],
                notIpBlocks: ["10.1.0.0/16"],
                requestPrincipals: ["https://issuer.example/alice", "https://issuer.example/*"],
                notRequestPrincipals: ["*"],
              },
            },
          ],
          to: [
            {
              operation: {
                grpc: { service: "ledger.Ledger", method: "Post" },
                methods: ["POST"],
                ports: [50051],
              },
            },
            {
              operation: {
                paths: ["/ledger.Ledger/*", "/health"],
                notPaths: ["*/Admin"],
                notMethods: ["GET"],
                notPorts: [9000],
                headers: [{ name: "X-Tenant", values: ["blue", "green-*"] }],
              },
            },
          ],
        },
      ],
    }),
  ],
  ["AUDIT", ap({ action: "AUDIT", rules: [{ to: [{ operation: { grpc: { service: "a.B" } } }] }] })],
  ["jwksUri over https", jwt({ jwksUri: "https://issuer.example/jwks.json", audiences: ["ledger"] })],
  ["jwksUri over http on loopback", jwt({ jwksUri: "http://127.0.0.1:8080/jwks" })],
  [
    "inline jwks and token locations",
    jwt({
      jwks,
      fromHeaders: [{ name: "X-Token" }, { name: "Authorization", prefix: "Bearer " }],
      fromParams: ["token"],
      forwardOriginalToken: true,
    }),
  ],
];

for (const [name, input] of valid) {
  test(`valid: ${name}`, () => {
    const result = validateResource(input);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  });
}

const cases: [name: string, input: object, errors: [field: string, message: RegExp][]][] = [
  ["PeerAuthentication without a mode", pa({}), [["spec", /set mtls.mode, portLevelMtls or both/]]],
  [
    "unknown mode",
    pa({ mtls: { mode: "ON" } }),
    [["spec.mtls.mode", /must be one of "STRICT", "PERMISSIVE", "DISABLE"/]],
  ],
  [
    "port-level without targets",
    pa({ portLevelMtls: [{ port: 80, mode: "STRICT" }] }),
    [["spec.portLevelMtls", /add targetRefs naming the Services/]],
  ],
  [
    "port-level with a sectionName target, repeated port",
    pa({
      targetRefs: [{ ...target, sectionName: "grpc" }],
      portLevelMtls: [
        { port: 80, mode: "STRICT" },
        { port: 80, mode: "DISABLE" },
      ],
    }),
    [
      ["spec.targetRefs[0].sectionName", /target whole Services/],
      ["spec.portLevelMtls[1].port", /duplicate port "80"/],
    ],
  ],
  [
    "targets that are not Services, duplicated",
    pa({
      targetRefs: [{ group: "apps", kind: "Deployment", name: "x" }, target, target],
      mtls: { mode: "STRICT" },
    }),
    [
      ["spec.targetRefs[0]", /targets Services: set group: "" and kind: Service/],
      ["spec.targetRefs[2]", /duplicate target "ledger"/],
    ],
  ],
  [
    "port out of range",
    pa({ targetRefs: [target], portLevelMtls: [{ port: 0, mode: "STRICT" }] }),
    [["spec.portLevelMtls[0].port", /must be >= 1/]],
  ],
  ["unknown action", ap({ action: "REJECT" }), [["spec.action", /must be one of "ALLOW", "DENY", "AUDIT"/]]],
  [
    "unknown field",
    ap({ rule: [] }),
    [["spec.rule", /unknown field; check its spelling against kubectl explain/]],
  ],
  ["empty source", from({}), [["spec.rules[0].from[0].source", /set at least one of principals/]]],
  [
    "principals that are not SPIFFE IDs or have a * inside",
    from({ principals: ["checkout", "spiffe://cluster.local/ns/*/sa/x", "**", "spiffe://Bad Domain/ns/a"] }),
    [
      [
        "spec.rules[0].from[0].source.principals[0]",
        /is not a SPIFFE ID: write spiffe:\/\/<trust-domain>\/ns\/<namespace>\/sa\/<service-account>/,
      ],
      ["spec.rules[0].from[0].source.principals[1]", /a \* may stand only once, at the start or the end/],
      ["spec.rules[0].from[0].source.principals[2]", /a \* may stand only once/],
      ["spec.rules[0].from[0].source.principals[3]", /is not a SPIFFE ID/],
    ],
  ],
  [
    "namespaces, CIDRs, request principals",
    from({
      notNamespaces: ["Shop"],
      ipBlocks: ["10.0.0.0/33", "10.0.0"],
      notIpBlocks: ["::1/129"],
      requestPrincipals: ["alice"],
    }),
    [
      ["spec.rules[0].from[0].source.notNamespaces[0]", /not a namespace name/],
      ["spec.rules[0].from[0].source.ipBlocks[0]", /not an IP address or CIDR block/],
      ["spec.rules[0].from[0].source.ipBlocks[1]", /not an IP address or CIDR block/],
      ["spec.rules[0].from[0].source.notIpBlocks[0]", /not an IP address or CIDR block/],
      ["spec.rules[0].from[0].source.requestPrincipals[0]", /is not <issuer>\/<subject>/],
    ],
  ],
  ["empty operation", to({}), [["spec.rules[0].to[0].operation", /set at least one of grpc, paths/]]],
  [
    "gRPC names, grpc with paths",
    to({ grpc: { service: "ledger/Ledger", method: "Post/x" }, paths: ["/a"] }),
    [
      [
        "spec.rules[0].to[0].operation.grpc.service",
        /not a fully qualified gRPC service name such as helloworld.Greeter/,
      ],
      ["spec.rules[0].to[0].operation.grpc.method", /not a gRPC method name/],
      ["spec.rules[0].to[0].operation.paths", /set grpc or paths, not both/],
    ],
  ],
  [
    "grpc without a service",
    to({ grpc: { method: "Post" } }),
    [["spec.rules[0].to[0].operation.grpc.service", /required field is missing/]],
  ],
  [
    "paths, methods, header values",
    to({
      paths: ["ledger", "/a*b"],
      methods: ["get"],
      headers: [
        { name: "x", values: ["a*b*"] },
        { name: "X", values: ["c"] },
      ],
    }),
    [
      ["spec.rules[0].to[0].operation.paths[0]", /must start with \//],
      ["spec.rules[0].to[0].operation.paths[1]", /a \* may stand only once/],
      ["spec.rules[0].to[0].operation.methods[0]", /not an upper-case HTTP method/],
      ["spec.rules[0].to[0].operation.headers[0].values[0]", /a \* may stand only once/],
      ["spec.rules[0].to[0].operation.headers[1].name", /duplicate header "x"/],
    ],
  ],
  [
    "too many rules",
    ap({ rules: Array.from({ length: 65 }, () => ({})) }),
    [["spec.rules", /must NOT have more than 64 items/]],
  ],
  ["RequestAuthentication without rules", ra({ jwtRules: [] }), [["spec.jwtRules", /fewer than 1 items/]]],
  ["neither jwksUri nor jwks", jwt({}), [["spec.jwtRules[0]", /set exactly one of jwksUri .* and jwks/]]],
  [
    "both jwksUri and jwks",
    jwt({ jwksUri: "https://a.example/k", jwks }),
    [["spec.jwtRules[0]", /set exactly one/]],
  ],
  [
    "jwksUri over plain http",
    jwt({ jwksUri: "http://issuer.example/jwks" }),
    [["spec.jwtRules[0].jwksUri", /use an https URL/]],
  ],
  [
    "jwksUri not a URL",
    jwt({ jwksUri: "issuer.example/jwks" }),
    [["spec.jwtRules[0].jwksUri", /not an absolute URL/]],
  ],
  ["jwks not JSON", jwt({ jwks: "{keys" }), [["spec.jwtRules[0].jwks", /not a JSON document/]]],
  ["jwks without keys", jwt({ jwks: '{"keys":[]}' }), [["spec.jwtRules[0].jwks", /non-empty "keys" list/]]],
  [
    "jwk without kty",
    jwt({ jwks: '{"keys":[{"kid":"a"}]}' }),
    [["spec.jwtRules[0].jwks", /keys\[0\] has no "kty"/]],
  ],
  [
    "repeated issuer, header, parameter",
    ra({
      jwtRules: [
        { issuer: "a", jwks, fromHeaders: [{ name: "x" }, { name: "X" }], fromParams: ["t", "t"] },
        { issuer: "a", jwks },
      ],
    }),
    [
      ["spec.jwtRules[0].fromHeaders[1].name", /duplicate header "x"/],
      ["spec.jwtRules[0].fromParams[1]", /duplicate query parameter "t"/],
      ["spec.jwtRules[1].issuer", /duplicate issuer "a": merge the two rules/],
    ],
  ],
  [
    "jwks larger than 64 KiB",
    jwt({ jwks: "x".repeat(65_537) }),
    [["spec.jwtRules[0].jwks", /must NOT have more than 65536 characters/]],
  ],
];

for (const [name, input, expected] of cases) {
  test(`invalid: ${name}`, () => {
    const result = validateResource(input);
    assert.equal(result.ok, false, name);
    if (result.ok) return;
    assert.deepEqual(
      result.errors.map((e) => e.field),
      expected.map(([field]) => field),
      JSON.stringify(result.errors),
    );
    expected.forEach(([, message], i) => assert.match(result.errors[i]?.message ?? "", message));
  });
}

test("string patterns: exact, prefix*, *suffix, * alone", () => {
  for (const ok of ["a", "a*", "*a", "*"]) assert.equal(stringPatternProblem(ok), undefined, ok);
  for (const bad of ["a*b", "*a*", "**", "a**"]) assert.ok(stringPatternProblem(bad), bad);
});

test("CIDR blocks and single addresses", () => {
  for (const ok of ["10.0.0.0/8", "0.0.0.0/0", "1.2.3.4", "::/0", "fd00::/128", "::1"])
    assert.ok(isCidr(ok), ok);
  for (const bad of ["10.0.0.0/", "10.0.0.0/-1", "1.2.3.4/33", "fd00::/129", "host", "10.0.0.0/8/8"]) {
    assert.equal(isCidr(bad), false, bad);
  }
});
