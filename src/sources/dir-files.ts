// Finding and reading the config directory's files without trusting them: symbolic links may
// point anywhere (a checked-out repository can hold a link to /etc/shadow), files may be of any
// size and may change while read. Links that stay inside the directory are followed, as a
// Kubernetes ConfigMap volume presents its files through `..data` links; links leaving it are
// refused before anything of their target is read, and a file is read only up to its limit.
import { constants } from "node:fs";
import { open, readdir, readlink, realpath, stat, type FileHandle } from "node:fs/promises";
import { join, sep } from "node:path";
import { LimitExceededError } from "../limits/index.ts";

const configFile = /\.(ya?ml|json)$/i;
// Editor droppings: vim swap/backup and its `4913` probe, emacs locks and auto-saves.
export const editorTemp = /(~|\.sw[a-p])$|^\.#|^#.*#$|^4913$/;

/** A path that resolves outside the config directory. The message names no part of the target. */
export class OutsideDirectoryError extends Error {
  constructor(what: string) {
    super(
      `${what} resolves outside the config directory and is not read; ` +
        "links must stay inside it (as a ConfigMap volume's ..data links do)",
    );
    this.name = "OutsideDirectoryError";
  }
}

export interface Walk {
  /** The directory's real path (links resolved): what "inside" means for this walk. */
  readonly root: string;
  /** Config files, relative to the directory, in code-unit order. */
  readonly files: readonly string[];
  /** Links out of the directory, by relative path. */
  readonly outside: ReadonlyMap<string, OutsideDirectoryError>;
  /** The directories visited (and watched), as absolute paths. */
  readonly watched: ReadonlySet<string>;
  readonly failedDirs: ReadonlyArray<{ readonly rel: string; readonly error: Error }>;
  readonly watchFailed: boolean;
}

/**
 * Lists the config files under `dir`, calling `watchDir` for every directory visited (before
 * listing it, so a file created in between is not missed); it returns false when the watch failed.
 */
export async function walkConfigDir(
  dir: string,
  watchDir: (abs: string, inode: string) => boolean,
): Promise<Walk> {
  const files: string[] = [];
  const outside = new Map<string, OutsideDirectoryError>();
  const failedDirs: Array<{ rel: string; error: Error }> = [];
  const visited = new Set<string>();
  const watched = new Set<string>();
  let watchFailed = false;
  const root = await realpath(dir).catch((error: Error) => void failedDirs.push({ rel: "", error }));
  if (root === undefined) return { root: dir, files, outside, watched, failedDirs, watchFailed };
  const visit = async (abs: string, rel: string): Promise<void> => {
    const fail = (error: Error) => void failedDirs.push({ rel, error });
    const info = await stat(abs).catch(fail);
    if (!info) return;
    const inode = `${info.dev}:${info.ino}`;
    if (visited.has(inode)) return; // a symlink loop
    visited.add(inode);
    watched.add(abs);
    if (!watchDir(abs, inode)) watchFailed = true;
    for (const entry of (await readdir(abs, { withFileTypes: true }).catch(fail)) ?? []) {
      // Dot entries also hide .git and a ConfigMap volume's ..data timestamped copies.
      if (entry.name.startsWith(".") || editorTemp.test(entry.name)) continue;
      const childAbs = join(abs, entry.name);
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        // ConfigMap volumes and git-sync present files through symlinks; a dangling one is ignored.
        const target = await realpath(childAbs).catch(() => undefined);
        const kind = target === undefined ? undefined : await stat(target).catch(() => undefined);
        isDir = kind?.isDirectory() ?? false;
        isFile = kind?.isFile() ?? false;
        if (target !== undefined && !isInside(root, target) && (isDir || configFile.test(entry.name))) {
          const what = isDir ? "a link to a directory" : "a link to a file";
          outside.set(childRel, new OutsideDirectoryError(`this entry is ${what} that`));
          continue;
        }
      }
      if (isDir) await visit(childAbs, childRel);
      else if (isFile && configFile.test(entry.name)) files.push(childRel);
    }
  };
  await visit(dir, "");
  return { root, files: files.sort(compare), outside, watched, failedDirs, watchFailed };
}

/**
 * Reads the file at `path` if it resolves inside `root`, refusing one larger than `maxBytes`
 * before reading it; a file that grows while read is cut off at the limit and refused too.
 * Special files (FIFOs, devices) are refused without blocking.
 */
export async function readConfigFile(root: string, path: string, maxBytes: number): Promise<Buffer> {
  const real = await realpath(path);
  if (!isInside(root, real)) throw new OutsideDirectoryError("the file");
  // The resolved path has no links left; O_NOFOLLOW refuses one swapped in since.
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  const handle = await open(real, flags);
  try {
    // A directory on the way may have been swapped for a link since: check what was opened.
    const opened = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => real);
    if (!isInside(root, opened)) throw new OutsideDirectoryError("the file");
    const info = await handle.stat();
    if (!info.isFile()) throw new Error("not a regular file");
    if (info.size > maxBytes) throw new LimitExceededError("dir.fileBytes", maxBytes, "the file", info.size);
    return await readUpTo(handle, info.size, maxBytes);
  } finally {
    await handle.close();
  }
}

/**
 * Reads an open file to its end, refusing it once past `maxBytes`: a file that grew since its
 * `size` was taken is cut off at the limit, never read whole.
 */
export async function readUpTo(handle: FileHandle, size: number, maxBytes: number): Promise<Buffer> {
  // One byte over the size taken, to notice growth without reading the file twice.
  let buffer = Buffer.alloc(Math.min(size, maxBytes) + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const grown = Buffer.alloc(Math.min(buffer.length * 2, maxBytes + 1));
      buffer.copy(grown);
      buffer = grown;
    }
    const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
    if (bytesRead === 0) return buffer.subarray(0, length);
    length += bytesRead;
    if (length > maxBytes) {
      throw new LimitExceededError("dir.fileBytes", maxBytes, "the file (it grew while being read)");
    }
  }
}

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

// Code-unit order, independent of locale, so every replica sorts files the same way.
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
