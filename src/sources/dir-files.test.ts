import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  appendFile,
  mkdir,
  mkdtemp,
  open,
  realpath,
  rm,
  symlink,
  truncate,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { LimitExceededError } from "../limits/index.ts";
import { OutsideDirectoryError, readConfigFile, readUpTo, walkConfigDir } from "./dir-files.ts";

/** A config directory and, beside it, a directory standing for the rest of the file system. */
async function layout(t: TestContext) {
  const base = await mkdtemp(join(tmpdir(), "meshplane-dir-files-"));
  t.after(() => rm(base, { recursive: true, force: true }));
  const dir = join(base, "config");
  const elsewhere = join(base, "elsewhere");
  await mkdir(dir);
  await mkdir(join(elsewhere, "sub"), { recursive: true });
  await writeFile(join(elsewhere, "shadow.yaml"), "root: s3cr3t\n");
  await writeFile(join(elsewhere, "sub", "x.yaml"), "a: 1\n");
  return { dir, elsewhere, root: await realpath(dir) };
}

const noWatch = () => true;

describe("walkConfigDir", () => {
  const cases: Array<{
    name: string;
    build: (dir: string, elsewhere: string) => Promise<void>;
    files: string[];
    outside: string[];
  }> = [
    {
      name: "a ConfigMap volume: files through ..data links inside the directory",
      build: async (dir) => {
        await mkdir(join(dir, "..2024_01_01"));
        await writeFile(join(dir, "..2024_01_01", "a.yaml"), "a: 1\n");
        await symlink("..2024_01_01", join(dir, "..data"));
        await symlink("..data/a.yaml", join(dir, "a.yaml"));
      },
      files: ["a.yaml"],
      outside: [],
    },
    {
      name: "a link to a file outside",
      build: (dir, elsewhere) => symlink(join(elsewhere, "shadow.yaml"), join(dir, "s.yaml")),
      files: [],
      outside: ["s.yaml"],
    },
    {
      name: "a relative link climbing out",
      build: (dir) => symlink("../elsewhere/shadow.yaml", join(dir, "s.yaml")),
      files: [],
      outside: ["s.yaml"],
    },
    {
      name: "a link to a directory outside",
      build: (dir, elsewhere) => symlink(join(elsewhere, "sub"), join(dir, "sub")),
      files: [],
      outside: ["sub"],
    },
    {
      name: "a link to a directory inside (each directory read once), and a dangling link",
      build: async (dir) => {
        await mkdir(join(dir, "real"));
        await writeFile(join(dir, "real", "b.yaml"), "b: 1\n");
        await symlink("real", join(dir, "alias"));
        await symlink("nowhere.yaml", join(dir, "dangling.yaml"));
      },
      files: ["alias/b.yaml"],
      outside: [],
    },
    {
      name: "a link outside not named like config is ignored",
      build: (dir, elsewhere) => symlink(join(elsewhere, "shadow.yaml"), join(dir, "notes.txt")),
      files: [],
      outside: [],
    },
  ];
  for (const c of cases) {
    it(c.name, async (t) => {
      const { dir, elsewhere } = await layout(t);
      await c.build(dir, elsewhere);
      const walk = await walkConfigDir(dir, noWatch);
      assert.deepEqual(walk.files, c.files);
      assert.deepEqual([...walk.outside.keys()], c.outside);
      for (const error of walk.outside.values()) {
        assert.ok(!error.message.includes(elsewhere), "the message does not name the target");
      }
    });
  }
});

describe("readConfigFile", () => {
  it("reads a file inside, also through a link inside", async (t) => {
    const { dir, root } = await layout(t);
    await mkdir(join(dir, "..v1"));
    await writeFile(join(dir, "..v1", "a.yaml"), "a: 1\n");
    await symlink("..v1/a.yaml", join(dir, "a.yaml"));
    assert.equal((await readConfigFile(root, join(dir, "a.yaml"), 100)).toString(), "a: 1\n");
  });

  it("refuses a link resolving outside", async (t) => {
    const { dir, elsewhere, root } = await layout(t);
    await symlink(join(elsewhere, "shadow.yaml"), join(dir, "s.yaml"));
    await assert.rejects(readConfigFile(root, join(dir, "s.yaml"), 100), OutsideDirectoryError);
  });

  it("refuses a file over the limit by its size, before reading it", async (t) => {
    const { dir, root } = await layout(t);
    // 64 GiB, sparse: reading it would take the memory the check exists to protect.
    await writeFile(join(dir, "big.yaml"), "");
    await truncate(join(dir, "big.yaml"), 64 * 1024 ** 3);
    const before = process.memoryUsage().rss;
    await assert.rejects(readConfigFile(root, join(dir, "big.yaml"), 1024 * 1024), (error: Error) => {
      assert.ok(error instanceof LimitExceededError);
      assert.equal(error.limit, "dir.fileBytes");
      assert.match(error.message, /^the file exceeds limit dir.fileBytes of 1 MiB \(found 64 GiB\)/);
      return true;
    });
    assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024, "nothing of it was read");
  });

  it("refuses a FIFO without blocking", async (t) => {
    const { dir, root } = await layout(t);
    execFileSync("mkfifo", [join(dir, "pipe.yaml")]);
    await assert.rejects(readConfigFile(root, join(dir, "pipe.yaml"), 100), /not a regular file/);
  });
});

describe("readUpTo", () => {
  const cases: Array<[string, number, number, number, string | undefined]> = [
    // name, size at open, size taken, limit, refusal
    ["a file as large as its size", 10, 10, 100, undefined],
    ["a file exactly at the limit", 100, 100, 100, undefined],
    ["a file that grew within the limit", 10, 5, 100, undefined],
    ["a file that grew past the limit after its size was taken", 500, 10, 100, "grew while being read"],
    ["a file far past the limit, size taken as 0", 1_000_000, 0, 100, "grew while being read"],
  ];
  for (const [name, actual, taken, limit, refusal] of cases) {
    it(name, async (t) => {
      const { dir } = await layout(t);
      const path = join(dir, "f.yaml");
      await writeFile(path, "");
      const handle = await open(path, "r");
      t.after(() => handle.close());
      await appendFile(path, Buffer.alloc(actual, 0x61));
      const read = readUpTo(handle, taken, limit);
      if (refusal === undefined) assert.equal((await read).length, actual);
      else await assert.rejects(read, new RegExp(refusal));
    });
  }
});
