import assert from "node:assert/strict";
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ensurePrivateDir, writePrivateFile } from "./private-files.ts";

const root = mkdtempSync(join(tmpdir(), "meshplane-private-"));
after(() => rmSync(root, { recursive: true, force: true }));
const mode = (path: string) => statSync(path).mode & 0o777;

test("ensurePrivateDir: creates missing directories 0700 and leaves an existing one alone", () => {
  const dir = join(root, "a", "b");
  ensurePrivateDir(dir);
  assert.deepEqual([mode(join(root, "a")), mode(dir)], [0o700, 0o700]);
  const shared = join(root, "shared");
  ensurePrivateDir(shared);
  chmodSync(shared, 0o755);
  ensurePrivateDir(shared);
  assert.equal(mode(shared), 0o755, "a directory the user made is theirs to set");
});

test("writePrivateFile: the file is 0600 whether new or replacing a world-readable one", () => {
  const dir = join(root, "files");
  ensurePrivateDir(dir);
  const cases: [name: string, before: ((path: string) => void) | undefined][] = [
    ["new", undefined],
    ["replacing a 0644 file", (path) => writeFileSync(path, "old token: leaked", { mode: 0o644 })],
    ["replacing a 0666 file", (path) => (writeFileSync(path, "old"), chmodSync(path, 0o666))],
  ];
  for (const [name, before] of cases) {
    const path = join(dir, `kubeconfig-${name.replaceAll(" ", "-")}`);
    before?.(path);
    writePrivateFile(path, "token: s3cret\n");
    assert.equal(readFileSync(path, "utf8"), "token: s3cret\n", name);
    assert.equal(mode(path), 0o600, name);
  }
  assert.ok(
    readdirSync(dir).every((file) => !file.endsWith(".tmp")),
    "no temporary file is left behind",
  );
});

test("writePrivateFile: a symlink at the path is replaced, not written through", () => {
  const dir = join(root, "links");
  ensurePrivateDir(dir);
  const target = join(dir, "elsewhere");
  writeFileSync(target, "not meshplane's", { mode: 0o644 });
  const path = join(dir, "kubeconfig");
  symlinkSync(target, path);
  writePrivateFile(path, "token: s3cret\n");
  assert.equal(readFileSync(target, "utf8"), "not meshplane's");
  assert.equal(mode(target), 0o644);
  assert.equal(readFileSync(path, "utf8"), "token: s3cret\n");
  assert.equal(mode(path), 0o600);
});

test("writePrivateFile: a failed rename leaves no temporary file behind", () => {
  const dir = join(root, "fails");
  // Renaming a file over a non-empty directory fails after the temporary file was written.
  const blocked = join(dir, "kubeconfig");
  ensurePrivateDir(join(blocked, "child"));
  assert.throws(() => writePrivateFile(blocked, "token: s3cret\n"), /EISDIR|ENOTEMPTY|EEXIST/);
  assert.deepEqual(readdirSync(dir), ["kubeconfig"]);
});
