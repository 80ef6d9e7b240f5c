// Temporary config directories for `meshplane serve --config-dir`. Writes are atomic (write a
// temporary file outside the directory, then rename), so the hot-reload watcher never reads a
// half-written file.
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";

export interface TempConfigDir {
  readonly path: string;
  /** Creates or replaces `file` (relative path) atomically. */
  write(file: string, content: string): Promise<void>;
  read(file: string): Promise<string>;
  remove(file: string): Promise<void>;
  /** Deletes the directory. */
  stop(): Promise<void>;
}

export async function tempConfigDir(files: Record<string, string> = {}): Promise<TempConfigDir> {
  const root = await mkdtemp(join(tmpdir(), "meshplane-e2e-"));
  const path = join(root, "config");
  const staging = join(root, "staging");
  await mkdir(path);
  await mkdir(staging);
  let counter = 0;

  const inside = (file: string): string => {
    const full = resolve(path, file);
    const rel = relative(path, full);
    if (rel.startsWith("..") || rel === "") throw new Error(`${file} is not inside the config directory`);
    return full;
  };

  const handle: TempConfigDir = {
    path,
    async write(file, content) {
      const target = inside(file);
      counter += 1;
      const temp = join(staging, `${counter}.tmp`);
      await writeFile(temp, content);
      await mkdir(dirname(target), { recursive: true });
      await rename(temp, target);
    },
    read: (file) => readFile(inside(file), "utf8"),
    remove: (file) => rm(inside(file), { force: true }),
    stop: () => rm(root, { recursive: true, force: true }),
  };
  for (const [file, content] of Object.entries(files)) await handle.write(file, content);
  return handle;
}
