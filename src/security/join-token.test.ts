// Join tokens: one identity each, refused when expired, altered, minted under another key or not a
// token at all, with an error that says which and never repeats the token.
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { test } from "node:test";
import { SigningError } from "./errors.ts";
import {
  joinTokenKey,
  maxTokenLength,
  mintJoinToken,
  readJoinTokenClaims,
  verifyJoinToken,
} from "./join-token.ts";

const key = joinTokenKey(randomBytes(64));
const otherKey = joinTokenKey(randomBytes(64));
const root = "ab".repeat(32);
const now = Date.UTC(2026, 11, 7, 12);
const minted = mintJoinToken(key, {
  namespace: "shop",
  serviceAccount: "checkout",
  ttlMs: 3_600_000,
  now,
  roots: [root],
});

test("a token verifies to exactly the identity it was minted for, until it expires", () => {
  const claims = verifyJoinToken(minted.token, [otherKey, key], now + 3_599_999);
  assert.equal(claims.namespace, "shop");
  assert.equal(claims.serviceAccount, "checkout");
  assert.equal(claims.id, minted.claims.id);
  assert.match(claims.id, /^[0-9a-f]{24}$/);
  assert.deepEqual(claims.roots, [root]);
  assert.equal(claims.expiresAt, now + 3_600_000);
});

test("two tokens for one identity have different ids and values", () => {
  const again = mintJoinToken(key, {
    namespace: "shop",
    serviceAccount: "checkout",
    ttlMs: 3_600_000,
    now,
    roots: [root],
  });
  assert.notEqual(again.claims.id, minted.claims.id);
  assert.notEqual(again.token, minted.token);
});

/** Replaces the payload with another identity's, keeping the original MAC. */
function retarget(token: string, serviceAccount: string): string {
  const [head, payload, mac] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload as string, "base64url").toString()) as Record<
    string,
    unknown
  >;
  const forged = Buffer.from(JSON.stringify({ ...claims, sa: serviceAccount })).toString("base64url");
  return `${head}.${forged}.${mac}`;
}

const refusals: [string, () => string, number, SigningError["code"], RegExp][] = [
  [
    "expired (at the exact expiry)",
    () => minted.token,
    now + 3_600_000,
    "token_expired",
    /expired at 2026-12-07T13:00:00.000Z.*meshplane token create/,
  ],
  [
    "retargeted to another service account",
    () => retarget(minted.token, "admin"),
    now,
    "token_invalid",
    /altered, or minted by another certificate authority/,
  ],
  [
    "with its MAC changed",
    () => minted.token.slice(0, -2) + (minted.token.endsWith("AA") ? "BB" : "AA"),
    now,
    "token_invalid",
    /does not verify/,
  ],
  [
    "minted under another key",
    () =>
      mintJoinToken(otherKey, {
        namespace: "shop",
        serviceAccount: "checkout",
        ttlMs: 60_000,
        now,
        roots: [root],
      }).token,
    now,
    "token_invalid",
    /does not verify/,
  ],
  ["not a token", () => "hunter2", now, "token_malformed", /not a meshplane join token/],
  ["with a fourth part", () => `${minted.token}.x`, now, "token_malformed", /not a meshplane join token/],
  [
    "too long",
    () => `mpjt1.${"a".repeat(maxTokenLength)}.b`,
    now,
    "token_malformed",
    /not a meshplane join token/,
  ],
];
for (const [name, token, at, code, message] of refusals) {
  test(`a token ${name} is refused: ${code}`, () => {
    const value = token();
    assert.throws(
      () => verifyJoinToken(value, [key], at),
      (error: unknown) => {
        assert.ok(error instanceof SigningError);
        assert.equal(error.code, code);
        assert.equal(error.status, 401);
        assert.match(error.message, message);
        assert.ok(!error.message.includes(value.split(".")[2] ?? value), "the error never repeats the token");
        return true;
      },
    );
  });
}

test("a payload that is not valid claims is refused even with a valid MAC", () => {
  // Minting goes through the same checks, so forge it with the key directly (as a bug would).
  const payload = Buffer.from(
    JSON.stringify({ id: "x", ns: "Shop!", sa: "checkout", iat: now, exp: now + 1000, roots: [] }),
  ).toString("base64url");
  const mac = createHmac("sha256", key).update(`mpjt1.${payload}`).digest("base64url");
  assert.throws(() => verifyJoinToken(`mpjt1.${payload}.${mac}`, [key], now), /payload is not valid/);
});

test("minting refuses names that would change the SPIFFE ID's path, and lifetimes out of range", () => {
  for (const [namespace, serviceAccount] of [
    ["shop/x", "a"],
    ["shop", "sa/../admin"],
    ["", "a"],
    ["Shop", "a"],
  ]) {
    assert.throws(
      () =>
        mintJoinToken(key, {
          namespace: namespace as string,
          serviceAccount: serviceAccount as string,
          ttlMs: 60_000,
          now,
          roots: [],
        }),
      /must be a Kubernetes name/,
    );
  }
  assert.throws(
    () => mintJoinToken(key, { namespace: "a", serviceAccount: "b", ttlMs: 999, now, roots: [] }),
    /1 second to 366 days/,
  );
});

test("the agent reads the pins of a token without a key; anything else reads as no token", () => {
  assert.deepEqual(readJoinTokenClaims(minted.token)?.roots, [root]);
  assert.equal(readJoinTokenClaims("garbage"), undefined);
});
