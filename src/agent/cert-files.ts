// Writes a workload's certificate, key and roots so that a reader never sees a mismatched pair.
// gRPC's file_watcher certificate provider (gRFC A29) reads cert-chain.pem, key.pem and
// root-cert.pem as three separate files on every refresh; replacing them one by one would let a
// refresh pick up a new certificate with the old key. So, as Kubernetes' atomic writer does for
// ConfigMap volumes, each generation goes into a fresh hidden directory, then one rename swaps the
// `..data` symlink to it, and the three names are fixed symlinks through `..data`:
//
//   DIR/..2026-12-07T21-50-00-123Z.1a2b3c/{cert-chain.pem,key.pem,root-cert.pem}
//   DIR/..data -> ..2026-12-07T21-50-00-123Z.1a2b3c
//   DIR/cert-chain.pem -> ..data/cert-chain.pem      (and key.pem, root-cert.pem)
//
// The previous generation is kept until the next write, so a reader that resolved `..data` just
// before the swap still finds every file it opens.
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

export const certChainFile = "cert-chain.pem";
export const keyFile = "key.pem";
export const rootCertFile = "root-cert.pem";
const dataLink = "..data";

export interface CertificateFiles {
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly trustBundlePem: string;
}

export function writeCertificateFiles(dir: string, files: CertificateFiles, now: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const generation = `..${new Date(now).toISOString().replace(/[:.]/g, "-")}.${randomBytes(3).toString("hex")}`;
  const generationDir = join(dir, generation);
  mkdirSync(generationDir, { mode: 0o755 });
  writeNew(join(generationDir, certChainFile), files.certChainPem, 0o644);
  writeNew(join(generationDir, keyFile), files.keyPem, 0o600);
  writeNew(join(generationDir, rootCertFile), files.trustBundlePem, 0o644);
  const previous = currentGeneration(dir);
  replaceSymlink(dir, dataLink, generation);
  for (const name of [certChainFile, keyFile, rootCertFile]) {
    const target = join(dataLink, name);
    if (linkTarget(join(dir, name)) !== target) replaceSymlink(dir, name, target);
  }
  // Older generations than the one just replaced can no longer be mid-read.
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith("..") && entry !== dataLink && entry !== generation && entry !== previous) {
      rmSync(join(dir, entry), { recursive: true, force: true });
    }
  }
}

/** The files currently in `dir`, if all three are there (read through one `..data` generation). */
export function readCertificateFiles(dir: string): CertificateFiles | undefined {
  const generation = currentGeneration(dir);
  if (generation === undefined) return undefined;
  try {
    const read = (name: string) => readFileSync(join(dir, generation, name), "utf8");
    return { certChainPem: read(certChainFile), keyPem: read(keyFile), trustBundlePem: read(rootCertFile) };
  } catch {
    return undefined;
  }
}

function currentGeneration(dir: string): string | undefined {
  return linkTarget(join(dir, dataLink));
}

function linkTarget(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** `dir/name` becomes a symlink to `target` in one rename (a reader sees the old or the new). */
function replaceSymlink(dir: string, name: string, target: string): void {
  const temp = join(dir, `.${name}.${randomBytes(4).toString("hex")}.tmp`);
  symlinkSync(target, temp);
  try {
    renameSync(temp, join(dir, name));
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** A new file with `mode` from its first byte (`wx`: never follows a planted file), synced. */
function writeNew(path: string, content: string, mode: number): void {
  const fd = openSync(path, "wx", mode);
  try {
    writeFileSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
