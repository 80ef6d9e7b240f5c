// The certificate directory: each write is one symlink swap, key.pem is 0600, and the generation a
// reader may still be reading survives the next write.
import assert from "node:assert/strict";
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readCertificateFiles, writeCertificateFiles } from "./cert-files.ts";

const files = (n: number) => ({
  certChainPem: `chain ${n}\n`,
  keyPem: `key ${n}\n`,
  trustBundlePem: `roots ${n}\n`,
});

test("writes go through one ..data swap; names stay fixed; old generations are pruned to one", (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), "meshplane-certs-")), "certs");
  t.after(() => rmSync(join(dir, ".."), { recursive: true, force: true }));
  assert.equal(readCertificateFiles(dir), undefined);

  writeCertificateFiles(dir, files(1), Date.UTC(2026, 11, 7));
  assert.equal(readFileSync(join(dir, "cert-chain.pem"), "utf8"), "chain 1\n");
  assert.equal(readFileSync(join(dir, "key.pem"), "utf8"), "key 1\n");
  assert.deepEqual(readCertificateFiles(dir), files(1));
  assert.equal(statSync(join(dir, "key.pem")).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(readlinkSync(join(dir, "key.pem")), join("..data", "key.pem"));
  const first = readlinkSync(join(dir, "..data"));

  writeCertificateFiles(dir, files(2), Date.UTC(2026, 11, 7, 0, 0, 1));
  const second = readlinkSync(join(dir, "..data"));
  assert.notEqual(second, first);
  assert.equal(readFileSync(join(dir, "key.pem"), "utf8"), "key 2\n");
  // A reader that resolved ..data just before the swap still reads a matching pair.
  assert.equal(readFileSync(join(dir, first, "cert-chain.pem"), "utf8"), "chain 1\n");
  assert.equal(readFileSync(join(dir, first, "key.pem"), "utf8"), "key 1\n");

  writeCertificateFiles(dir, files(3), Date.UTC(2026, 11, 7, 0, 0, 2));
  const generations = readdirSync(dir)
    .filter((e) => e.startsWith("..") && e !== "..data")
    .sort();
  assert.deepEqual(generations, [second, readlinkSync(join(dir, "..data"))].sort());
  assert.deepEqual(
    readdirSync(dir)
      .filter((e) => !e.startsWith(".."))
      .sort(),
    ["cert-chain.pem", "key.pem", "root-cert.pem"],
  );
});

test("a plain file left at a name is replaced by the link", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "meshplane-certs-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "key.pem"), "stale");
  writeCertificateFiles(dir, files(1), 0);
  assert.equal(readFileSync(join(dir, "key.pem"), "utf8"), "key 1\n");
});
