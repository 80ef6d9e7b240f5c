// The server certificate of meshplane's own ports: names, chain to the CA, renewal at half-life
// and at every root rotation step, verified with node:crypto as a TLS peer would.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { hostname } from "node:os";
import { describe, test } from "node:test";
import { FakeClock } from "../clock/index.ts";
import { CertificateAuthority } from "./authority.ts";
import { serverNames, ServingCertificate, type ServingKeyPair } from "./serving-certificate.ts";
import { memoryStateStore, until } from "./testing.ts";

const ttlMs = 20_000;

async function setup() {
  const clock = new FakeClock(Math.floor(Date.now() / 1000) * 1000);
  const ca = await CertificateAuthority.selfManaged({
    trustDomain: "mesh.local",
    clock,
    workloadCertTtlMs: ttlMs,
    store: memoryStateStore(),
  });
  const logged: string[] = [];
  const log = (fields: object, message: string) => logged.push(JSON.stringify({ ...fields, message }));
  const serving = new ServingCertificate({
    ca,
    clock,
    commonName: "meshplane xDS server",
    names: serverNames("127.0.0.1", ["xds.mesh.example", "10.0.0.7"]),
    log: { info: log, warn: log },
  });
  const seen: ServingKeyPair[] = [];
  serving.onChange((pair) => seen.push(pair));
  return { clock, ca, serving, seen, logged };
}

/** The leaf verifies against one of the bundle's roots, as a TLS client checks it. */
function issuedBy(pair: ServingKeyPair, rootsPem: string): boolean {
  const leaf = new X509Certificate(pair.certChainPem);
  return rootsPem
    .split(/(?<=-----END CERTIFICATE-----\n)/)
    .filter((pem) => pem.includes("BEGIN"))
    .some(
      (pem) => leaf.checkIssued(new X509Certificate(pem)) && leaf.verify(new X509Certificate(pem).publicKey),
    );
}

describe("serving certificate", () => {
  test("names every address, is a server certificate signed by the CA, and matches its key", async () => {
    const { ca, serving } = await setup();
    const pair = await serving.start();
    serving.stop();
    const leaf = new X509Certificate(pair.certChainPem);
    assert.equal(leaf.subject, "CN=meshplane xDS server");
    assert.ok(issuedBy(pair, ca.trustBundlePem()));
    assert.equal(leaf.ca, false);
    assert.deepEqual(leaf.keyUsage, ["1.3.6.1.5.5.7.3.1"], "serverAuth only");
    for (const name of ["xds.mesh.example", "localhost", hostname()])
      assert.equal(leaf.checkHost(name), name);
    for (const ip of ["10.0.0.7", "127.0.0.1", "::1"]) assert.equal(leaf.checkIP(ip), ip);
    assert.equal(leaf.checkHost("other.example"), undefined);
    assert.ok(leaf.checkPrivateKey((await import("node:crypto")).createPrivateKey(pair.keyPem)));
    assert.equal(pair.notAfter, Date.parse(leaf.validTo));
    assert.equal(pair.trustBundlePem, ca.trustBundlePem());
  });

  test("a wildcard listen address is not a name; given names come first", () => {
    assert.deepEqual(serverNames("0.0.0.0").slice(0, 1), ["localhost"]);
    assert.deepEqual(serverNames("::", ["a.example"]).slice(0, 2), ["a.example", "localhost"]);
    assert.equal(new Set(serverNames("127.0.0.1")).size, serverNames("127.0.0.1").length);
  });

  test("renews with a new key at half of its lifetime", async () => {
    const { clock, serving, seen } = await setup();
    await serving.start();
    await clock.advance(ttlMs / 2 - 1000);
    assert.equal(seen.length, 1);
    await clock.advance(1000);
    await until(() => seen.length === 2, "the half-life renewal");
    await clock.advance(ttlMs / 2);
    await until(() => seen.length === 3, "the second renewal");
    serving.stop();
    const [first, second, third] = seen as [ServingKeyPair, ServingKeyPair, ServingKeyPair];
    assert.notEqual(first.keyPem, second.keyPem);
    assert.equal(new Set([first.serialNumber, second.serialNumber, third.serialNumber]).size, 3);
    // Each one is still valid when the next arrives: no gap for new connections.
    assert.ok(first.notAfter > clock.now() - ttlMs / 2);
    await clock.advance(ttlMs * 2);
    assert.equal(seen.length, 3, "stopped: no more renewals");
  });

  test("follows a root rotation: trusts both roots, then chains to the new one, then drops the old", async () => {
    const { clock, ca, serving, seen } = await setup();
    await serving.start();
    const [oldRoot] = ca.trustBundlePem().split(/(?<=-----END CERTIFICATE-----\n)/) as [string];
    await ca.startRotation();
    ca.start(() => {});
    await until(() => seen.length === 2, "the renewal at rotation start");
    const newRoot = ca.trustBundlePem().replace(oldRoot, "");
    assert.equal(seen[1]?.trustBundlePem, oldRoot + newRoot, "publishing: both roots trusted");
    assert.ok(issuedBy(seen[1] as ServingKeyPair, oldRoot), "publishing: still signed by the old root");
    // Switched (one workload lifetime later): signed by the new root at once, both still trusted.
    const beforeSwitch = seen.length;
    await clock.advance(ttlMs);
    await until(
      () => seen.length > beforeSwitch && issuedBy(seen.at(-1) as ServingKeyPair, newRoot),
      "the switch",
    );
    assert.equal(seen.at(-1)?.trustBundlePem, oldRoot + newRoot);
    // Done: the old root is dropped, and so is it from the bundle client certificates are checked against.
    await clock.advance(ttlMs);
    await until(() => seen.at(-1)?.trustBundlePem === newRoot, "the renewal after the old root is dropped");
    ca.stop();
    serving.stop();
    assert.ok(issuedBy(seen.at(-1) as ServingKeyPair, newRoot));
    assert.ok(!issuedBy(seen.at(-1) as ServingKeyPair, oldRoot));
  });

  test("a renewal asked for while one is issued issues again, so a CA change is never missed", async () => {
    const { serving, seen } = await setup();
    await serving.start();
    await Promise.all([serving.renew(), serving.renew(), serving.renew()]);
    serving.stop();
    assert.equal(seen.length, 3, "the first, the one in flight, and one more for the calls during it");
  });
});
