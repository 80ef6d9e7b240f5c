// The mesh's certificate authority: which key signs now, which roots peers trust, and the signing
// of workload certificates for verified identities. Two sources of the signing key:
//   - self-managed: a P-256 root created on first start, persisted (key included) through
//     `CaStateStore` (the CLI keeps it in a 0600 file under --data-dir) and rotated with overlap;
//   - operator-provided: an intermediate signed by the operator's own root, given as PEM files;
//     the operator rotates it by restarting with new files.
import { createPrivateKey, type KeyObject } from "node:crypto";
import type { Clock, Timer } from "../clock/index.ts";
import { createRootCertificate, createWorkloadCertificate, type Signer } from "./certificates.ts";
import { SigningError } from "./errors.ts";
import { joinTokenKey } from "./join-token.ts";
import { nextPhaseAt, rotationDueAt, rotationPhase, type Rotation } from "./root-rotation.ts";
import { spiffeId, trustDomainProblem, type WorkloadIdentity } from "./spiffe.ts";
import {
  certificateFingerprint,
  generateKeyPair,
  importKeyPair,
  nodeCertificate,
  parseCertificates,
  pemOf,
  privateKeyPem,
  x509,
  type KeyPair,
} from "./x509.ts";

/** Where a self-managed CA keeps its state (roots with their keys): the caller decides how. */
export interface CaStateStore {
  load(): string | undefined;
  save(text: string): void;
}

export interface AuthorityOptions {
  readonly trustDomain: string;
  readonly clock: Clock;
  /** Lifetime of workload certificates (default 24 h). */
  readonly workloadCertTtlMs: number;
}

export interface IssuedCertificate {
  readonly spiffeId: string;
  readonly serialNumber: string;
  readonly notAfter: number;
  /** The leaf, then the intermediates up to (not including) the root. */
  readonly certChainPem: string;
  /** Every root a peer should trust now (two during a root rotation). */
  readonly trustBundlePem: string;
}

export type CaChange = "rotation-started" | "signer-changed" | "root-dropped";

interface Root {
  readonly certificate: x509.X509Certificate;
  readonly keys: KeyPair;
  readonly keyPem: string;
  readonly tokenKey: Buffer;
}

interface SelfManaged {
  readonly kind: "self-managed";
  readonly store: CaStateStore;
  readonly rootTtlMs: number;
  roots: Root[];
  rotation: Rotation | undefined;
}

interface OperatorProvided {
  readonly kind: "operator";
  readonly signer: Signer;
  readonly roots: readonly x509.X509Certificate[];
  readonly tokenKey: Buffer;
}

const stateVersion = 1;
export const defaultRootTtlMs = 10 * 365 * 24 * 3600 * 1000;
/** Maintenance looks at the rotation at least this often (and at every phase boundary). */
const maintenanceIntervalMs = 3600_000;

export class CertificateAuthority {
  readonly trustDomain: string;
  readonly workloadCertTtlMs: number;
  private readonly clock: Clock;
  private readonly source: SelfManaged | OperatorProvided;
  private readonly listeners = new Set<(change: CaChange) => void>();
  private timer: Timer | undefined;

  private constructor(options: AuthorityOptions, source: SelfManaged | OperatorProvided) {
    this.trustDomain = options.trustDomain;
    this.workloadCertTtlMs = options.workloadCertTtlMs;
    this.clock = options.clock;
    this.source = source;
  }

  /** Loads the CA from `store`, or creates a root and saves it there on first start. */
  static async selfManaged(
    options: AuthorityOptions & { readonly store: CaStateStore; readonly rootTtlMs?: number },
  ): Promise<CertificateAuthority> {
    checkOptions(options);
    const rootTtlMs = options.rootTtlMs ?? defaultRootTtlMs;
    if (rootTtlMs < 5 * options.workloadCertTtlMs) {
      throw new Error(
        "the root CA must live at least five workload certificate lifetimes (rotation takes two): raise --ca-root-ttl or lower --workload-cert-ttl",
      );
    }
    const text = options.store.load();
    const source: SelfManaged = {
      kind: "self-managed",
      store: options.store,
      rootTtlMs,
      roots: [],
      rotation: undefined,
    };
    const ca = new CertificateAuthority(options, source);
    if (text === undefined) {
      source.roots = [await ca.createRoot()];
      ca.save();
    } else {
      const state = await parseState(text, options.trustDomain);
      source.roots = state.roots;
      source.rotation = state.rotation;
    }
    return ca;
  }

  /**
   * A CA that signs with an operator's intermediate: `certPem` is the intermediate (optionally
   * followed by the intermediates above it), `keyPem` its P-256 key, `rootPem` the trust roots.
   */
  static async operatorProvided(
    options: AuthorityOptions & {
      readonly certPem: string;
      readonly keyPem: string;
      readonly rootPem: string;
    },
  ): Promise<CertificateAuthority> {
    checkOptions(options);
    const chain = parseCertificates(options.certPem);
    const roots = parseCertificates(options.rootPem);
    const [certificate] = chain;
    if (certificate === undefined) throw new Error("--ca-cert: no PEM certificate in the file");
    if (roots.length === 0) throw new Error("--ca-root: no PEM certificate in the file");
    if (!certificate.getExtension(x509.BasicConstraintsExtension)?.ca) {
      throw new Error("--ca-cert: the certificate is not a CA (basicConstraints CA:TRUE is missing)");
    }
    const keys = await importKeyPair(options.keyPem, certificate).catch((error: unknown) => {
      throw new Error(`--ca-key: not a PKCS#8 P-256 private key (${(error as Error).name})`);
    });
    if (!nodeCertificate(certificate).checkPrivateKey(keyObject(options.keyPem))) {
      throw new Error("--ca-key is not the private key of --ca-cert");
    }
    await checkChain(chain, roots);
    const tokenKey = joinTokenKey(pkcs8Der(options.keyPem));
    return new CertificateAuthority(options, {
      kind: "operator",
      signer: { certificate, keys, chain },
      roots,
      tokenKey,
    });
  }

  /** The key that signs now, with its chain. */
  signer(): Signer {
    const source = this.source;
    if (source.kind === "operator") return source.signer;
    const [first, second] = source.roots;
    const useOld =
      second === undefined ||
      (source.rotation && rotationPhase(source.rotation, this.clock.now()) === "publishing");
    const root = (useOld ? first : second) as Root;
    return { certificate: root.certificate, keys: root.keys, chain: [] };
  }

  /** The roots peers trust now. */
  trustRoots(): readonly x509.X509Certificate[] {
    return this.source.kind === "operator" ? this.source.roots : this.source.roots.map((r) => r.certificate);
  }

  trustBundlePem(): string {
    return this.trustRoots().map(pemOf).join("");
  }

  /** SHA-256 of each trusted root: what a join token pins. */
  rootFingerprints(): string[] {
    return this.trustRoots().map(certificateFingerprint);
  }

  /** MAC keys of join tokens: the first mints (the newest root's), every one verifies. */
  tokenKeys(): Buffer[] {
    if (this.source.kind === "operator") return [this.source.tokenKey];
    return this.source.roots.map((r) => r.tokenKey).reverse();
  }

  /**
   * Signs a certificate for `identity` (already verified from a credential) over the CSR's key.
   * Only the key is taken from the CSR: its subject and SANs are ignored, so a requester can never
   * name another identity.
   */
  async issueWorkload(
    request: x509.Pkcs10CertificateRequest,
    identity: WorkloadIdentity,
  ): Promise<IssuedCertificate> {
    const algorithm = request.publicKey.algorithm as { name?: string; namedCurve?: string };
    if (
      algorithm.name !== "ECDSA" ||
      (algorithm.namedCurve !== "P-256" && algorithm.namedCurve !== "P-384")
    ) {
      throw new SigningError(
        "csr_key_unsupported",
        `the CSR's key is ${algorithm.name ?? "unknown"}${algorithm.namedCurve ? ` ${algorithm.namedCurve}` : ""}: the CA signs ECDSA P-256 or P-384 keys`,
      );
    }
    const verified = await request.verify().catch(() => false);
    if (!verified) {
      throw new SigningError(
        "csr_signature_invalid",
        "the CSR's signature does not verify with its own key: sign the CSR with the key it carries",
      );
    }
    const id = spiffeId(this.trustDomain, identity);
    const signer = this.signer();
    const leaf = await createWorkloadCertificate({
      signer,
      publicKey: request.publicKey,
      spiffeId: id,
      now: this.clock.now(),
      ttlMs: this.workloadCertTtlMs,
    });
    return {
      spiffeId: id,
      serialNumber: leaf.serialNumber,
      notAfter: leaf.notAfter.getTime(),
      certChainPem: [leaf, ...signer.chain].map(pemOf).join(""),
      trustBundlePem: this.trustBundlePem(),
    };
  }

  /** Starts a root rotation now (self-managed only); the phases then follow by time. */
  async startRotation(): Promise<void> {
    const source = this.selfManagedSource();
    if (source.rotation) return;
    const now = this.clock.now();
    source.roots = [source.roots[0] as Root, await this.createRoot()];
    source.rotation = { startedAt: now, phaseMs: this.workloadCertTtlMs };
    this.save();
    this.emit("rotation-started");
  }

  /**
   * Moves the rotation along: starts one when the root is due, drops the old root when the
   * overlap is over. Returns what changed.
   */
  async maintain(): Promise<CaChange | undefined> {
    if (this.source.kind === "operator") return undefined;
    const source = this.source;
    const now = this.clock.now();
    if (source.rotation) {
      const phase = rotationPhase(source.rotation, now);
      if (phase !== "done") return undefined;
      source.roots = source.roots.slice(1);
      source.rotation = undefined;
      this.save();
      this.emit("root-dropped");
      return "root-dropped";
    }
    const root = (source.roots[0] as Root).certificate;
    if (now < rotationDueAt(root.notBefore.getTime(), root.notAfter.getTime(), this.workloadCertTtlMs)) {
      return undefined;
    }
    await this.startRotation();
    return "rotation-started";
  }

  /** When the next maintenance is due (a phase boundary, the rotation due time, or an hour). */
  nextMaintenanceAt(): number {
    const now = this.clock.now();
    if (this.source.kind === "operator") return now + maintenanceIntervalMs;
    const { rotation, roots } = this.source;
    const root = (roots[0] as Root).certificate;
    const due = rotation
      ? nextPhaseAt(rotation, now)
      : rotationDueAt(root.notBefore.getTime(), root.notAfter.getTime(), this.workloadCertTtlMs);
    return Math.min(Math.max(due, now), now + maintenanceIntervalMs);
  }

  /** Runs maintenance on the clock until `stop()`; `onError` hears a failed step (retried later). */
  start(onError: (error: unknown) => void): void {
    const schedule = () => {
      const at = this.nextMaintenanceAt();
      const lastSigner = this.signer().certificate;
      this.timer = this.clock.after(at - this.clock.now(), () => {
        this.maintain().then(
          () => {
            if (this.signer().certificate !== lastSigner) this.emit("signer-changed");
            if (this.timer) schedule();
          },
          (error: unknown) => {
            onError(error);
            if (this.timer) schedule();
          },
        );
      });
    };
    schedule();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Hears rotation steps (to refresh the signing endpoint's certificate, metrics). */
  onChange(listener: (change: CaChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: CaChange): void {
    for (const listener of this.listeners) listener(change);
  }

  private selfManagedSource(): SelfManaged {
    if (this.source.kind !== "self-managed") {
      throw new Error("an operator-provided CA is rotated by restarting with new --ca-cert/--ca-key files");
    }
    return this.source;
  }

  private async createRoot(): Promise<Root> {
    const keys = await generateKeyPair(true);
    const certificate = await createRootCertificate({
      keys,
      trustDomain: this.trustDomain,
      now: this.clock.now(),
      ttlMs: this.selfManagedSource().rootTtlMs,
    });
    const keyPem = await privateKeyPem(keys.privateKey);
    return { certificate, keys, keyPem, tokenKey: joinTokenKey(pkcs8Der(keyPem)) };
  }

  private save(): void {
    const source = this.selfManagedSource();
    const state = {
      version: stateVersion,
      trustDomain: this.trustDomain,
      roots: source.roots.map((root) => ({ certificate: pemOf(root.certificate), key: root.keyPem })),
      ...(source.rotation ? { rotation: source.rotation } : {}),
    };
    source.store.save(`${JSON.stringify(state, null, 2)}\n`);
  }
}

function checkOptions(options: AuthorityOptions): void {
  const problem = trustDomainProblem(options.trustDomain);
  if (problem) throw new Error(`--trust-domain: ${problem}`);
  if (!Number.isInteger(options.workloadCertTtlMs) || options.workloadCertTtlMs < 1000) {
    throw new Error("--workload-cert-ttl must be at least one second");
  }
}

/** The saved state, checked: a CA is never half-loaded. Errors name the field, never a key. */
async function parseState(
  text: string,
  trustDomain: string,
): Promise<{ roots: Root[]; rotation: Rotation | undefined }> {
  const fix =
    "restore the file from a backup, or move it away to start a new CA (every workload then needs new certificates)";
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`the CA state is not JSON: ${fix}`);
  }
  const state = raw as {
    version?: unknown;
    trustDomain?: unknown;
    roots?: unknown;
    rotation?: Partial<Rotation>;
  };
  if (state.version !== stateVersion)
    throw new Error(`the CA state has version ${String(state.version)}, expected ${stateVersion}: ${fix}`);
  if (state.trustDomain !== trustDomain) {
    throw new Error(
      `the CA was created for trust domain "${String(state.trustDomain)}", not "${trustDomain}": start with --trust-domain ${String(state.trustDomain)}, or ${fix}`,
    );
  }
  const entries = Array.isArray(state.roots)
    ? (state.roots as { certificate?: unknown; key?: unknown }[])
    : [];
  if (entries.length < 1 || entries.length > 2)
    throw new Error(`the CA state holds ${entries.length} roots, expected 1 or 2: ${fix}`);
  const roots: Root[] = [];
  for (const [index, entry] of entries.entries()) {
    try {
      const [certificate] = parseCertificates(String(entry.certificate));
      if (certificate === undefined) throw new Error("no certificate");
      const keyPem = String(entry.key);
      const keys = await importKeyPair(keyPem, certificate);
      roots.push({ certificate, keys, keyPem, tokenKey: joinTokenKey(pkcs8Der(keyPem)) });
    } catch {
      throw new Error(`roots[${index}] of the CA state is not a PEM certificate with its P-256 key: ${fix}`);
    }
  }
  const rotation = state.rotation;
  const hasRotation = rotation !== undefined;
  if (
    hasRotation !== (roots.length === 2) ||
    (rotation && !(Number.isSafeInteger(rotation.startedAt) && Number.isSafeInteger(rotation.phaseMs)))
  ) {
    throw new Error(`the CA state's rotation does not match its roots: ${fix}`);
  }
  return { roots, rotation: rotation as Rotation | undefined };
}

/** Each certificate is signed by the next, and the last by one of `roots`. */
async function checkChain(
  chain: readonly x509.X509Certificate[],
  roots: readonly x509.X509Certificate[],
): Promise<void> {
  for (const [index, certificate] of chain.entries()) {
    const issuers = index + 1 < chain.length ? [chain[index + 1] as x509.X509Certificate] : roots;
    const verifies = await Promise.all(
      issuers.map((issuer) =>
        certificate.verify({ publicKey: issuer.publicKey, signatureOnly: true }).catch(() => false),
      ),
    );
    if (!verifies.includes(true)) {
      throw new Error(
        `--ca-cert: certificate ${index} (${certificate.subject}) is not signed by ${index + 1 < chain.length ? "the next certificate in the file" : "a root in --ca-root"}`,
      );
    }
  }
}

function pkcs8Der(keyPem: string): Uint8Array {
  const block = x509.PemConverter.decodeWithHeaders(keyPem).find((b) => b.type === "PRIVATE KEY");
  if (block === undefined) throw new Error("no PKCS#8 PRIVATE KEY block");
  return new Uint8Array(block.rawData);
}

function keyObject(keyPem: string): KeyObject {
  return createPrivateKey({ key: Buffer.from(pkcs8Der(keyPem)), format: "der", type: "pkcs8" });
}
