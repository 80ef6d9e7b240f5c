// The CA: what it signs (one SPIFFE URI SAN for the verified identity, whatever the CSR asks),
// what it refuses, how it persists, and a root rotation walked through on a fake clock.
import assert from "node:assert/strict";
import { X509Certificate as NodeX509 } from "node:crypto";
import { test } from "node:test";
import { FakeClock } from "../clock/index.ts";
import { CertificateAuthority } from "./authority.ts";
import { uriNames } from "./certificates.ts";
import { SigningError } from "./errors.ts";
import { csrClaiming, memoryStateStore, until, withBrokenSignature } from "./testing.ts";
import {
  ecdsaP256,
  generateKeyPair,
  parseCertificates,
  pemOf,
  privateKeyPem,
  x509,
  type KeyPair,
} from "./x509.ts";

const start = Date.UTC(2026, 11, 7, 12);
const checkout = { namespace: "shop", serviceAccount: "checkout" };

async function selfManaged(clock = new FakeClock(start), store = memoryStateStore(), ttlMs = 3_600_000) {
  const ca = await CertificateAuthority.selfManaged({
    trustDomain: "mesh.local",
    clock,
    workloadCertTtlMs: ttlMs,
    store,
  });
  return { ca, clock, store };
}

/** node:crypto's view: `leaf` is issued and signed by `issuer`. */
function issuedBy(leaf: x509.X509Certificate, issuer: x509.X509Certificate): boolean {
  const node = new NodeX509(pemOf(leaf));
  const parent = new NodeX509(pemOf(issuer));
  return node.checkIssued(parent) && node.verify(parent.publicKey);
}

test("a workload certificate names only the token's identity, whatever the CSR claims", async () => {
  const { ca } = await selfManaged();
  const csr = await csrClaiming("spiffe://mesh.local/ns/kube-system/sa/admin");
  const issued = await ca.issueWorkload(csr, checkout);
  const [leaf, ...rest] = parseCertificates(issued.certChainPem);
  assert.ok(leaf);
  assert.equal(rest.length, 0, "a self-managed root signs leaves directly");
  assert.equal(issued.spiffeId, "spiffe://mesh.local/ns/shop/sa/checkout");
  assert.deepEqual(uriNames(leaf), ["spiffe://mesh.local/ns/shop/sa/checkout"]);
  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
  assert.equal(san?.names.items.length, 1, "no DNS name from the CSR");
  assert.equal(leaf.subject, "O=meshplane");
  assert.equal(leaf.getExtension(x509.BasicConstraintsExtension)?.ca, false);
  const usage = leaf.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
  assert.ok(usage & x509.KeyUsageFlags.digitalSignature);
  assert.equal(usage & x509.KeyUsageFlags.keyCertSign, 0);
  assert.deepEqual(
    [...(leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])],
    [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
  );
  assert.equal(leaf.notAfter.getTime(), start + 3_600_000);
  assert.equal(issued.notAfter, start + 3_600_000);
  assert.equal(leaf.notBefore.getTime(), start - 60_000);
  assert.equal(Buffer.compare(Buffer.from(leaf.publicKey.rawData), Buffer.from(csr.publicKey.rawData)), 0);
  const [root] = parseCertificates(issued.trustBundlePem);
  assert.ok(root && issuedBy(leaf, root));
  assert.ok(await root.isSelfSigned());
});

test("a CSR signed by no one, or over a key the CA does not sign, is refused", async () => {
  const { ca } = await selfManaged();
  const broken = withBrokenSignature(await csrClaiming("spiffe://mesh.local/ns/shop/sa/checkout"));
  await assert.rejects(
    ca.issueWorkload(broken, checkout),
    (e: unknown) => e instanceof SigningError && e.code === "csr_signature_invalid",
  );
  const rsa = {
    name: "RSASSA-PKCS1-v1_5",
    hash: "SHA-256",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
  };
  const keys = (await crypto.subtle.generateKey(rsa, false, ["sign", "verify"])) as KeyPair;
  const rsaCsr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: "CN=x",
    keys,
    signingAlgorithm: rsa,
  });
  await assert.rejects(
    ca.issueWorkload(rsaCsr, checkout),
    (e: unknown) =>
      e instanceof SigningError && e.code === "csr_key_unsupported" && /ECDSA P-256 or P-384/.test(e.message),
  );
});

test("the root is created once, saved with its key, and loaded again on the next start", async () => {
  const { ca, store, clock } = await selfManaged();
  assert.equal(store.saves, 1);
  assert.match(store.text ?? "", /BEGIN PRIVATE KEY/);
  const again = await CertificateAuthority.selfManaged({
    trustDomain: "mesh.local",
    clock,
    workloadCertTtlMs: 3_600_000,
    store,
  });
  assert.equal(store.saves, 1, "loading does not rewrite");
  assert.deepEqual(again.rootFingerprints(), ca.rootFingerprints());
  assert.deepEqual(again.tokenKeys(), ca.tokenKeys());
  const root = ca.trustRoots()[0];
  assert.ok(root);
  assert.equal(root.notAfter.getTime() - start, 10 * 365 * 24 * 3600 * 1000);
  assert.equal(root.getExtension(x509.BasicConstraintsExtension)?.ca, true);
});

test("a saved CA for another trust domain, or a damaged one, is refused with what to do", async () => {
  const { store, clock } = await selfManaged();
  await assert.rejects(
    CertificateAuthority.selfManaged({ trustDomain: "other.local", clock, workloadCertTtlMs: 1000, store }),
    /created for trust domain "mesh.local", not "other.local": start with --trust-domain mesh.local/,
  );
  for (const text of [
    "{",
    JSON.stringify({ version: 1, trustDomain: "mesh.local", roots: [{ certificate: "x", key: "y" }] }),
  ]) {
    await assert.rejects(
      CertificateAuthority.selfManaged({
        trustDomain: "mesh.local",
        clock,
        workloadCertTtlMs: 1000,
        store: memoryStateStore(text),
      }),
      (e: unknown) =>
        /move it away to start a new CA/.test((e as Error).message) && !/BEGIN/.test((e as Error).message),
    );
  }
});

test("root rotation: publish the new root, then sign with it, then drop the old one", async () => {
  // 20 s certificates under a 400 s root (460 s with its backdating): a fifth of its life, 92 s,
  // is more than four certificate lifetimes, so the rotation is due 92 s before it expires.
  const ttlMs = 20_000;
  const clock = new FakeClock(start);
  const store = memoryStateStore();
  const ca = await CertificateAuthority.selfManaged({
    trustDomain: "mesh.local",
    clock,
    workloadCertTtlMs: ttlMs,
    store,
    rootTtlMs: 400_000,
  });
  const changes: string[] = [];
  ca.onChange((change) => changes.push(change));
  const [oldRoot] = ca.trustRoots();
  assert.ok(oldRoot);
  const dueAt = oldRoot.notAfter.getTime() - (oldRoot.notAfter.getTime() - oldRoot.notBefore.getTime()) / 5;
  assert.equal(ca.nextMaintenanceAt(), dueAt);
  const sign = async () =>
    parseCertificates(
      (await ca.issueWorkload(await csrClaiming("spiffe://x/y"), checkout)).certChainPem,
    )[0] as x509.X509Certificate;

  ca.start((error) => assert.fail(String(error)));
  await clock.advance(dueAt - start - 1);
  assert.equal(ca.trustRoots().length, 1, "not yet due");
  await clock.advance(1);
  await until(() => changes.length === 1, "the rotation to start");
  assert.deepEqual(changes, ["rotation-started"]);
  const [, newRoot] = ca.trustRoots();
  assert.ok(newRoot);
  assert.equal(ca.trustRoots()[0], oldRoot);
  assert.ok(issuedBy(await sign(), oldRoot), "publishing: still signed by the old root");
  assert.equal(parseCertificates(ca.trustBundlePem()).length, 2);
  assert.equal(ca.tokenKeys().length, 2);

  // A restart in the middle of the rotation resumes it where it was.
  const resumed = await CertificateAuthority.selfManaged({
    trustDomain: "mesh.local",
    clock,
    workloadCertTtlMs: ttlMs,
    store,
    rootTtlMs: 400_000,
  });
  assert.deepEqual(resumed.rootFingerprints(), ca.rootFingerprints());

  await clock.advance(ttlMs);
  await until(() => changes.length === 2, "the signer to change");
  assert.deepEqual(changes, ["rotation-started", "signer-changed"]);
  assert.ok(issuedBy(await sign(), newRoot), "switched: signed by the new root");
  assert.equal(resumed.signer().certificate.subject, newRoot.subject);
  assert.equal(ca.trustRoots().length, 2, "both trusted while old leaves live");

  await clock.advance(ttlMs);
  await until(() => changes.length === 3, "the old root to be dropped");
  assert.deepEqual(changes, ["rotation-started", "signer-changed", "root-dropped"]);
  assert.deepEqual(ca.trustRoots(), [newRoot]);
  assert.equal(ca.tokenKeys().length, 1);
  assert.ok(newRoot.notAfter.getTime() > clock.now() + 300_000);
  ca.stop();
  assert.equal(clock.pendingTimers, 0);
});

test("a root too short-lived for a rotation is refused", async () => {
  await assert.rejects(
    CertificateAuthority.selfManaged({
      trustDomain: "mesh.local",
      clock: new FakeClock(start),
      workloadCertTtlMs: 60_000,
      store: memoryStateStore(),
      rootTtlMs: 299_000,
    }),
    /at least five workload certificate lifetimes/,
  );
});

/** An operator's root and an intermediate it signed, as PEM files would hold them. */
async function operatorFiles() {
  const rootKeys = await generateKeyPair(true);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=Operator Root",
    keys: rootKeys,
    signingAlgorithm: ecdsaP256,
    notBefore: new Date(start - 86_400_000),
    notAfter: new Date(start + 365 * 86_400_000),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const keys = await generateKeyPair(true);
  const intermediate = await x509.X509CertificateGenerator.create({
    subject: "CN=Operator Intermediate",
    issuer: root.subject,
    publicKey: keys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: ecdsaP256,
    notBefore: new Date(start - 86_400_000),
    notAfter: new Date(start + 30 * 86_400_000),
    extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
  });
  return {
    root,
    intermediate,
    keyPem: await privateKeyPem(keys.privateKey),
    rootKeyPem: await privateKeyPem(rootKeys.privateKey),
  };
}

test("an operator's intermediate signs leaves; the chain carries it and the bundle the operator's root", async () => {
  const files = await operatorFiles();
  const ca = await CertificateAuthority.operatorProvided({
    trustDomain: "mesh.local",
    clock: new FakeClock(start),
    workloadCertTtlMs: 3_600_000,
    certPem: pemOf(files.intermediate),
    keyPem: files.keyPem,
    rootPem: pemOf(files.root),
  });
  const issued = await ca.issueWorkload(await csrClaiming("spiffe://x/y"), checkout);
  const [leaf, intermediate, ...rest] = parseCertificates(issued.certChainPem);
  assert.ok(leaf && intermediate);
  assert.equal(rest.length, 0);
  assert.ok(issuedBy(leaf, files.intermediate));
  assert.equal(intermediate.subject, "CN=Operator Intermediate");
  assert.deepEqual(
    parseCertificates(issued.trustBundlePem).map((c) => c.subject),
    ["CN=Operator Root"],
  );
  await assert.rejects(ca.startRotation(), /restarting with new --ca-cert/);
});

test("operator files that do not fit together are refused, saying which", async () => {
  const files = await operatorFiles();
  const other = await operatorFiles();
  const open = (certPem: string, keyPem: string, rootPem: string) =>
    CertificateAuthority.operatorProvided({
      trustDomain: "mesh.local",
      clock: new FakeClock(start),
      workloadCertTtlMs: 1000,
      certPem,
      keyPem,
      rootPem,
    });
  await assert.rejects(
    open(pemOf(files.intermediate), other.keyPem, pemOf(files.root)),
    /--ca-key is not the private key of --ca-cert/,
  );
  await assert.rejects(
    open(pemOf(files.intermediate), files.keyPem, pemOf(other.root)),
    /not signed by a root in --ca-root/,
  );
  const leafLike = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=leaf",
    keys: await generateKeyPair(true),
    signingAlgorithm: ecdsaP256,
  });
  await assert.rejects(open(pemOf(leafLike), files.keyPem, pemOf(files.root)), /not a CA/);
  await assert.rejects(open("", files.keyPem, pemOf(files.root)), /--ca-cert: no PEM certificate/);
});
