// The signing endpoint against its real client over TLS on 127.0.0.1: issuance for the token's
// identity only, every refusal with its code and status, bounded bodies, pinned first contact, and
// no secret in what it logs.
import assert from "node:assert/strict";
import { request } from "node:https";
import { after, before, describe, test } from "node:test";
import { FakeClock } from "../clock/index.ts";
import { CertificateAuthority } from "./authority.ts";
import { uriNames } from "./certificates.ts";
import { joinTokenVerifier } from "./credentials.ts";
import { createKeyAndRequest } from "./csr.ts";
import type { SigningErrorCode } from "./errors.ts";
import { mintJoinToken } from "./join-token.ts";
import { fetchPinnedTrustBundle, requestCertificate, SigningRequestError } from "./signing-client.ts";
import { SigningServer } from "./signing-server.ts";
import { csrClaiming, memoryStateStore } from "./testing.ts";
import { parseCertificates, x509 } from "./x509.ts";

describe("signing endpoint", () => {
  // Whole seconds: X.509 times have no fractions.
  const clock = new FakeClock(Math.floor(Date.now() / 1000) * 1000);
  const logged: string[] = [];
  const issued: number[] = [];
  const refused: (SigningErrorCode | "internal")[] = [];
  const tokens: string[] = [];
  let ca: CertificateAuthority;
  let server: SigningServer;
  let address: string;
  let bundle: string;

  const token = (serviceAccount = "checkout", ttlMs = 3_600_000) => {
    const { token: value } = mintJoinToken(ca.tokenKeys()[0] as Buffer, {
      namespace: "shop",
      serviceAccount,
      ttlMs,
      now: clock.now(),
      roots: ca.rootFingerprints(),
    });
    tokens.push(value);
    return value;
  };

  before(async () => {
    ca = await CertificateAuthority.selfManaged({
      trustDomain: "mesh.local",
      clock,
      workloadCertTtlMs: 600_000,
      store: memoryStateStore(),
    });
    const log = (fields: object, message: string) => logged.push(JSON.stringify({ ...fields, message }));
    server = new SigningServer({
      ca,
      verifier: joinTokenVerifier(ca),
      clock,
      maxRequestBytes: 4096,
      log: { info: log, warn: log },
      events: { issued: () => issued.push(1), refused: (code) => refused.push(code) },
    });
    const bound = await server.listen("127.0.0.1", 0);
    address = `127.0.0.1:${bound.port}`;
    bundle = ca.trustBundlePem();
  });
  after(() => server.close());

  test("first contact trusts only the roots the token pins", async () => {
    assert.equal(await fetchPinnedTrustBundle(address, ca.rootFingerprints()), bundle);
    await assert.rejects(
      fetchPinnedTrustBundle(address, ["00".repeat(32)]),
      (e: unknown) => e instanceof SigningRequestError && e.code === "untrusted",
    );
  });

  test("a token for shop/checkout gets shop/checkout's certificate, even when the CSR asks for admin", async () => {
    const csr = await csrClaiming("spiffe://mesh.local/ns/kube-system/sa/admin");
    const signed = await requestCertificate({
      address,
      credential: token(),
      csrPem: csr.toString("pem"),
      trustBundlePem: bundle,
    });
    assert.equal(signed.spiffeId, "spiffe://mesh.local/ns/shop/sa/checkout");
    const [leaf] = parseCertificates(signed.certChainPem);
    assert.ok(leaf);
    assert.deepEqual(uriNames(leaf), ["spiffe://mesh.local/ns/shop/sa/checkout"]);
    assert.equal(signed.notAfter, clock.now() + 600_000);
    assert.equal(signed.trustBundlePem, bundle);
    assert.equal(issued.length, 1);
  });

  const refusal = async (code: SigningErrorCode, message: RegExp, send: () => Promise<unknown>) => {
    const seen = refused.length;
    await assert.rejects(send(), (e: unknown) => {
      assert.ok(e instanceof SigningRequestError, String(e));
      assert.equal(e.code, code);
      assert.match(e.message, message);
      return true;
    });
    assert.deepEqual(refused.slice(seen), [code]);
  };

  test("an expired token is refused, naming its id and expiry", async () => {
    const { csrPem } = await createKeyAndRequest();
    const shortLived = token("checkout", 1000);
    await clock.advance(1000);
    await refusal(
      "token_expired",
      /\(401 token_expired\).*join token [0-9a-f]{24} \(ns shop, sa checkout\) expired at/,
      () => requestCertificate({ address, credential: shortLived, csrPem, trustBundlePem: bundle }),
    );
  });

  test("a token retargeted to another identity is refused", async () => {
    const { csrPem } = await createKeyAndRequest();
    const [head, payload, mac] = token().split(".");
    const claims = JSON.parse(Buffer.from(payload as string, "base64url").toString()) as object;
    const forged = `${head}.${Buffer.from(JSON.stringify({ ...claims, sa: "admin" })).toString("base64url")}.${mac}`;
    await refusal("token_invalid", /\(401 token_invalid\).*altered/, () =>
      requestCertificate({ address, credential: forged, csrPem, trustBundlePem: bundle }),
    );
  });

  test("no credential, a bad CSR and an oversized body are refused", async () => {
    const { csrPem } = await createKeyAndRequest();
    await refusal("token_malformed", /not a meshplane join token/, () =>
      requestCertificate({ address, credential: "nope", csrPem, trustBundlePem: bundle }),
    );
    await refusal("request_malformed", /PEM CERTIFICATE REQUEST/, () =>
      requestCertificate({
        address,
        credential: token(),
        csrPem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        trustBundlePem: bundle,
      }),
    );
    await refusal("request_too_large", /\(413 request_too_large\).*ca\.requestBytes of 4096 bytes/, () =>
      requestCertificate({
        address,
        credential: token(),
        csrPem: csrPem + " ".repeat(5000),
        trustBundlePem: bundle,
      }),
    );
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: Number(address.split(":")[1]),
          method: "POST",
          path: "/v1/certificates",
          ca: bundle,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on("error", reject);
      req.end("{}");
    });
    assert.equal(status, 401);
    assert.equal(refused.at(-1), "credential_missing");
  });

  test("a renewal authenticates with the current certificate and keeps its identity", async () => {
    const first = await createKeyAndRequest();
    const signed = await requestCertificate({
      address,
      credential: token("payments"),
      csrPem: first.csrPem,
      trustBundlePem: bundle,
    });
    const renewed = await requestCertificate({
      address,
      clientCertificate: { certChainPem: signed.certChainPem, keyPem: first.keyPem },
      csrPem: (await csrClaiming("spiffe://mesh.local/ns/shop/sa/admin")).toString("pem"),
      trustBundlePem: bundle,
    });
    assert.equal(renewed.spiffeId, "spiffe://mesh.local/ns/shop/sa/payments");
    assert.notEqual(renewed.serialNumber, signed.serialNumber);
    assert.ok(logged.some((line) => line.includes(`"credential":"certificate ${signed.serialNumber}"`)));
  });

  test("a client certificate from another CA is refused", async () => {
    const other = await CertificateAuthority.selfManaged({
      trustDomain: "mesh.local",
      clock,
      workloadCertTtlMs: 60_000,
      store: memoryStateStore(),
    });
    const stranger = await createKeyAndRequest();
    const issuedElsewhere = await other.issueWorkload(new x509.Pkcs10CertificateRequest(stranger.csrPem), {
      namespace: "shop",
      serviceAccount: "checkout",
    });
    const { csrPem } = await createKeyAndRequest();
    await refusal("certificate_invalid", /does not verify against this CA's roots/, () =>
      requestCertificate({
        address,
        clientCertificate: { certChainPem: issuedElsewhere.certChainPem, keyPem: stranger.keyPem },
        csrPem,
        trustBundlePem: bundle,
      }),
    );
  });

  test("a client that trusts another CA refuses the endpoint", async () => {
    const other = await CertificateAuthority.selfManaged({
      trustDomain: "mesh.local",
      clock,
      workloadCertTtlMs: 1000,
      store: memoryStateStore(),
    });
    const { csrPem } = await createKeyAndRequest();
    await assert.rejects(
      requestCertificate({ address, credential: token(), csrPem, trustBundlePem: other.trustBundlePem() }),
      (e: unknown) => e instanceof SigningRequestError && e.code === "unreachable",
    );
  });

  test("nothing logged holds a token or a private key", () => {
    assert.ok(logged.some((line) => line.includes("workload certificate issued")));
    assert.ok(logged.some((line) => line.includes("token_expired")));
    for (const line of logged) {
      assert.ok(!/PRIVATE KEY|mpjt1\./.test(line), line);
      for (const value of tokens) assert.ok(!line.includes(value.split(".")[2] as string), line);
    }
  });
});
