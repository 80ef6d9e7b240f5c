// Files only the user running meshplane may read: what `serve` writes into its data directory
// holds tokens (the kubeconfig) or everything in the store, so it is created 0600 in directories
// created 0700, whatever the umask; rewriting a file replaces it, so one left readable by an older
// run does not keep its mode.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export const privateFileMode = 0o600;
export const privateDirMode = 0o700;

/** Creates `dir` (and missing parents) as 0700; an existing directory is left as it is. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: privateDirMode });
}

/**
 * Replaces `path` with `content` atomically: a reader sees the old file or the new one, never a
 * partial one, and the new file is 0600 from its first byte (a file that already exists keeps its
 * mode when written in place, so the content goes to a fresh temporary file that is renamed over).
 */
export function writePrivateFile(path: string, content: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  // `wx`: O_CREAT|O_EXCL, so a file or symlink planted at the temporary name is never followed.
  const fd = openSync(temp, "wx", privateFileMode);
  try {
    try {
      writeFileSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
