import { test } from "node:test";
import assert from "node:assert/strict";
import { openPortSecurity, workloadSecurity, type JwtRule, type PortSecurity } from "./security-model.ts";

const port = (fields: Partial<PortSecurity>): PortSecurity => ({ ...openPortSecurity, ...fields });
const allow = (source: string) => ({ source, action: "ALLOW" as const, rules: [] });
const jwt = (issuer: string): JwtRule => ({
  source: "RequestAuthentication shop/jwt",
  issuer,
  audiences: [],
  jwksUri: undefined,
  jwks: "{}",
  locations: [{ header: "authorization", prefix: "Bearer " }],
  forwardOriginalToken: false,
});

test("a workload behind several Service ports: the strictest mode, every policy and rule once", () => {
  const a = port({
    mtls: "PERMISSIVE",
    mtlsSource: "PeerAuthentication shop/a",
    jwtRules: [jwt("https://a")],
  });
  const b = port({
    mtls: "STRICT",
    mtlsSource: "PeerAuthentication shop/b",
    authorization: [allow("AuthorizationPolicy shop/x"), allow("AuthorizationPolicy shop/y")],
    // Two rules of one RequestAuthentication share its source; both count, equal ones once.
    jwtRules: [jwt("https://a"), jwt("https://b")],
  });
  const c = port({ mtls: "DISABLE", authorization: [allow("AuthorizationPolicy shop/x")] });
  assert.deepEqual(workloadSecurity([a, b, c]), {
    mtls: "STRICT",
    mtlsSource: "PeerAuthentication shop/b",
    authorization: [allow("AuthorizationPolicy shop/x"), allow("AuthorizationPolicy shop/y")],
    jwtRules: [jwt("https://a"), jwt("https://b")],
  });
  assert.equal(workloadSecurity([a])?.mtls, "PERMISSIVE");
  assert.equal(workloadSecurity([c, a])?.mtls, "PERMISSIVE");
  assert.equal(workloadSecurity([a]), a);
  assert.equal(workloadSecurity([]), undefined);
});
