// One `meshplane serve` per data directory. A second server on the same directory (for example
// with `--store memory`, which the sqlite file lock does not cover) would overwrite the first's
// kubeconfig, so `serve` holds `meshplane.lock` there: the holder's pid and, once it listens, its
// addresses, for the refusal a second server prints. The lock is released on stop; a server that
// died without releasing it (kill -9, power loss) leaves a lock whose pid no longer runs, and the
// next server takes it over with a log line instead of refusing.
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { excerpt } from "../limits/index.ts";
import type { Logger } from "../telemetry/index.ts";
import { ensurePrivateDir, privateFileMode } from "./private-files.ts";

export const lockFileName = "meshplane.lock";

/** What a lock says about the server holding it. */
export interface LockHolder {
  readonly pid: number;
  readonly apiUrl?: string;
  readonly xdsAddress?: string;
  readonly adminAddress?: string;
}

export type ListenAddresses = Omit<LockHolder, "pid">;

/** The data directory is held by a running server; the message names it and what to do. */
export class DataDirInUseError extends Error {
  readonly lockPath: string;
  readonly holder: LockHolder;

  constructor(dataDir: string, lockPath: string, holder: LockHolder) {
    const where = [
      holder.apiUrl === undefined ? undefined : `API ${excerpt(holder.apiUrl)}`,
      holder.xdsAddress === undefined ? undefined : `xDS ${excerpt(holder.xdsAddress)}`,
    ].filter((part) => part !== undefined);
    super(
      `--data-dir ${dataDir} is in use by meshplane pid ${holder.pid}` +
        `${where.length > 0 ? ` (${where.join(", ")})` : " (still starting)"}: a second server there ` +
        "would overwrite its kubeconfig and store. Give this server another --data-dir, or stop pid " +
        `${holder.pid} first. If pid ${holder.pid} is not a meshplane, remove ${lockPath}`,
    );
    this.name = "DataDirInUseError";
    this.lockPath = lockPath;
    this.holder = holder;
  }
}

export interface DataDirLock {
  readonly path: string;
  /** Adds where this server listens to the lock, for the message a second server prints. */
  record(addresses: ListenAddresses): void;
  /** Removes the lock if it is still this server's. */
  release(): void;
}

export interface LockDataDirOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /** Whether a process runs; injected by tests. */
  readonly isRunning?: (pid: number) => boolean;
  /** This process; injected by tests. */
  readonly pid?: number;
}

/** A lock file is a few hundred bytes; anything past this is not read. */
const maxLockBytes = 4096;
/** Rounds of create / find stale / take over before giving up (only a race with other starters loops). */
const maxAttempts = 5;

/** Takes the data directory's lock, creating the directory (0700) when missing. */
export function lockDataDir(options: LockDataDirOptions): DataDirLock {
  const { dataDir, logger } = options;
  const pid = options.pid ?? process.pid;
  const isRunning = options.isRunning ?? processRunning;
  const path = join(dataDir, lockFileName);
  ensurePrivateDir(dataDir);
  const content = serialize({ pid });
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    if (createExclusive(path, content)) return heldLock(path, pid, content);
    const found = readLock(path);
    if (found === undefined) continue; // released between our attempt and the read
    if (found.holder !== undefined && found.holder.pid !== pid && isRunning(found.holder.pid)) {
      throw new DataDirInUseError(dataDir, path, found.holder);
    }
    // The holder is gone (or is this very pid, reused after a restart in a fresh container).
    if (removeIfUnchanged(path, found)) {
      logger.warn(
        found.holder === undefined
          ? { lock: path, content: excerpt(found.text) }
          : { lock: path, stalePid: found.holder.pid },
        found.holder === undefined
          ? "took over a lock file that names no meshplane (not written by one)"
          : `took over the lock of meshplane pid ${found.holder.pid}, which is no longer running`,
      );
    }
  }
  throw new Error(`${path}: other meshplane servers kept taking and releasing it; try again`);
}

function heldLock(path: string, pid: number, content: string): DataDirLock {
  // What this server last wrote: release removes the lock only while it still says that (inode
  // numbers are reused at once, so a successor's lock may well have this one's).
  let written: string | undefined = content;
  return {
    path,
    record(addresses) {
      if (written === undefined) return;
      written = serialize({ pid, ...addresses });
      replace(path, written);
    },
    release() {
      if (written !== undefined && readLock(path)?.text === written) rmSync(path, { force: true });
      written = undefined;
    },
  };
}

/**
 * Writes the lock complete and synced under a temporary name, then links it into place: link(2)
 * fails if the lock exists (like O_EXCL), and a reader never sees a half-written lock.
 * Returns false when another lock is there.
 */
function createExclusive(path: string, content: string): boolean {
  const temp = writeTemp(path, content);
  try {
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Rewrites this server's lock atomically (rename over it). */
function replace(path: string, content: string): void {
  const temp = writeTemp(path, content);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

const serialize = (holder: LockHolder) => `${JSON.stringify(holder)}\n`;

function writeTemp(path: string, content: string): string {
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", privateFileMode);
  try {
    writeFileSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return temp;
}

interface FoundLock {
  readonly inode: number;
  readonly text: string;
  /** Undefined when the file is not a lock meshplane wrote. */
  readonly holder: LockHolder | undefined;
}

function readLock(path: string): FoundLock | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const buffer = Buffer.alloc(maxLockBytes);
    const text = buffer.toString("utf8", 0, readSync(fd, buffer, 0, maxLockBytes, 0));
    return { inode: statSync(path).ino, text, holder: parseHolder(text) };
  } finally {
    closeSync(fd);
  }
}

function parseHolder(text: string): LockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  // A pid of 0 or below would make the liveness probe signal a process group.
  if (typeof record.pid !== "number" || !Number.isSafeInteger(record.pid) || record.pid <= 0)
    return undefined;
  const optional = (key: keyof ListenAddresses) =>
    typeof record[key] === "string" ? { [key]: record[key] } : {};
  return { pid: record.pid, ...optional("apiUrl"), ...optional("xdsAddress"), ...optional("adminAddress") };
}

/**
 * Removes the stale lock only if it is still the file that was judged stale (same inode and
 * content; the content names the dead pid, so a newer lock on a reused inode differs): it is
 * renamed aside first (atomic), and put back if another starter replaced it meanwhile. Two servers
 * that find the same stale lock therefore cannot both take it over.
 */
function removeIfUnchanged(path: string, stale: FoundLock): boolean {
  const aside = `${path}.${randomBytes(6).toString("hex")}.stale`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  try {
    const moved = readLock(aside);
    if (moved?.inode === stale.inode && moved.text === stale.text) return true;
    try {
      linkSync(aside, path);
    } catch (error) {
      // A third starter created the lock in the instant it was aside; that lock stands.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    return false;
  } finally {
    rmSync(aside, { force: true });
  }
}

/** Signal 0 probes without signalling; EPERM means it runs under another user. */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  // A zombie (exited, not yet reaped by its parent) still answers signal 0; Linux shows it as Z.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return true;
  }
}
