import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { objectRef, type HTTPRoute } from "../api/index.ts";
import { defaultLimits } from "../limits/index.ts";
import { createLogger, createMetrics } from "../telemetry/index.ts";
import type { ConfigState } from "./config-source.ts";
import { ConfigDirSource, type ConfigDirSourceOptions } from "./yaml-dir.ts";

// Six lines, so the second document of a two-route file starts on line 8.
const route = (
  name: string,
  weight: number | string = 1,
  extra = "",
) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name} }
spec:
  parentRefs: [{ group: "", kind: Service, name: ${name} }]
  rules: [{ backendRefs: [{ name: ${name}-v1, port: 8080, weight: ${weight}${extra} }] }]
`;
const service = (name: string, namespace = "shop", port = 8080) =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: ${namespace} }\nspec: { ports: [{ port: ${port} }] }\n`;
const docs = (...documents: string[]) => documents.join("---\n");

type Files = Record<string, string>;

async function writeFiles(dir: string, files: Files): Promise<void> {
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  }
}

async function setup(t: TestContext, files: Files, options: Partial<ConfigDirSourceOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), "meshplane-yaml-dir-"));
  await writeFiles(dir, files);
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: "debug",
    destination: { write: (line) => logs.push(JSON.parse(line)) },
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const source = new ConfigDirSource({ dir, logger, metrics, debounceMs: 20, ...options });
  t.after(async () => {
    await source.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, source, logs, metrics, write: (more: Files) => writeFiles(dir, more) };
}

const refs = (state: ConfigState) => state.resources.map((r) => objectRef(r.kind, r.metadata));
const weight = (state: ConfigState, name: string) => {
  const found = state.resources.find(
    (r): r is HTTPRoute => r.kind === "HTTPRoute" && r.metadata.name === name,
  );
  return found?.spec.rules?.[0]?.backendRefs?.[0]?.weight;
};
const where = (state: ConfigState) =>
  state.errors.map(({ file, object, field }) => ({ file, object, field }));

/** Polls until `probe` holds; a deadline instead of a fixed sleep keeps the test fast and bounded. */
async function waitFor(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

describe("ConfigDirSource", () => {
  it("loads every config file under the directory, skipping hidden and editor files", async (t) => {
    const { source } = await setup(t, {
      "b.yaml": docs(route("beta"), "", "# just a comment\n", service("beta")),
      "a/one.yml": route("alpha"),
      "c.json": JSON.stringify({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "c" },
        spec: { ports: [{ port: 80 }] },
      }),
      "list.yaml":
        "kind: List\nitems:\n  - { apiVersion: v1, kind: Service, metadata: { name: gamma, namespace: shop }, spec: { ports: [{ port: 80 }] } }\n",
      ".hidden.yaml": ":: {{ not yaml",
      ".git/x.yaml": ":: {{ not yaml",
      "b.yaml~": ":: {{ not yaml",
      ".#b.yaml": ":: {{ not yaml",
      "b.yaml.swp": ":: {{ not yaml",
      "README.md": "# not config",
    });
    const state = await source.start();
    assert.deepEqual(state.errors, []);
    assert.deepEqual(refs(state), [
      "HTTPRoute default/alpha",
      "HTTPRoute default/beta",
      "Service default/c",
      "Service shop/beta",
      "Service shop/gamma",
    ]);
    assert.equal(state.generation, 1);
    assert.ok(Object.isFrozen(state.resources[0]), "state is immutable");
  });

  const invalid: Array<{ name: string; text: string; field: string; message: RegExp; object?: string }> = [
    {
      name: "unknown field",
      text: route("foo", 1, ", wieght: 5"),
      field: "spec.rules[0].backendRefs[0].wieght",
      message: /unknown field/,
    },
    {
      name: "bad weight",
      text: route("foo", -1),
      field: "spec.rules[0].backendRefs[0].weight",
      message: />= 0/,
    },
    {
      name: "missing parentRefs",
      text: route("foo").replace(/ {2}parentRefs.*\n/, ""),
      field: "spec.parentRefs",
      message: /required/,
    },
    {
      name: "parentRef to a Gateway",
      text: route("foo").replace('group: "", kind: Service, ', ""),
      field: "spec.parentRefs[0]",
      message: /GAMMA/,
    },
    {
      name: "unsupported kind",
      text: route("foo").replace("HTTPRoute", "TCPRoute"),
      object: "TCPRoute default/foo",
      field: "kind",
      message: /TCPRoute/,
    },
    {
      name: "YAML syntax error",
      text: docs(route("ok"), "kind: HTTPRoute\nmetadata: name: foo\n"),
      object: "",
      field: "",
      message: /^YAML syntax error at line 9, column 11: Nested mappings/,
    },
    {
      name: "duplicate YAML key",
      text: route("foo").replace("kind: HTTPRoute\n", "kind: HTTPRoute\nkind: HTTPRoute\n"),
      object: "",
      field: "",
      message: /^YAML syntax error in the document at line 1: keys given more than once: kind$/,
    },
  ];
  for (const c of invalid) {
    it(`reports ${c.name} with file, object and field`, async (t) => {
      const { source } = await setup(t, { "dir/x.yaml": c.text, "y.yaml": service("other") });
      const state = await source.start();
      const object = c.object ?? "HTTPRoute default/foo";
      assert.deepEqual(where(state), [{ file: "dir/x.yaml", object, field: c.field }]);
      assert.match(state.errors[0]?.message ?? "", c.message);
      assert.deepEqual(refs(state), ["Service shop/other"], "the bad object is absent, other files load");
    });
  }

  it("keeps an object's last good version while its sibling in the same file updates", async (t) => {
    const { source, write, logs } = await setup(t, { "a.yaml": docs(route("foo", 10), route("bar", 10)) });
    await source.start();
    await write({ "a.yaml": docs(route("foo", -1), route("bar", 20), route("never", -1)) });
    logs.length = 0;
    let state = await source.reload();
    assert.equal(weight(state, "foo"), 10, "invalid edit: last good version stays in force");
    assert.equal(weight(state, "bar"), 20, "the valid sibling updates");
    assert.equal(weight(state, "never"), undefined, "an object never valid is absent");
    assert.deepEqual(where(state), [
      { file: "a.yaml", object: "HTTPRoute default/foo", field: "spec.rules[0].backendRefs[0].weight" },
      { file: "a.yaml", object: "HTTPRoute default/never", field: "spec.rules[0].backendRefs[0].weight" },
    ]);
    const warnings = logs.filter((l) => l.level === "warn");
    assert.deepEqual(
      warnings.map((l) => [l.file, l.object, l.field]),
      where(state).map((e) => [e.file, e.object, e.field]),
      "each error is logged once, with its fields",
    );
    const summary = logs.find((l) => l.msg === "config loaded");
    assert.equal(summary?.level, "info");
    assert.deepEqual(
      [summary?.objects, summary?.errors, summary?.keptLastGood],
      [2, 2, ["HTTPRoute default/foo"]],
    );

    await write({ "a.yaml": docs(route("foo", 30), route("bar", 20)) });
    state = await source.reload();
    assert.deepEqual([weight(state, "foo"), state.errors], [30, []]);
  });

  it("keeps every object of a file that no longer parses; other files still update", async (t) => {
    const { source, write } = await setup(t, {
      "a.yaml": docs(route("foo", 10), route("bar", 10)),
      "b.yaml": route("baz", 1),
    });
    await source.start();
    await write({ "a.yaml": docs(route("foo", 99), "spec: [unclosed\n"), "b.yaml": route("baz", 2) });
    let state = await source.reload();
    assert.deepEqual([weight(state, "foo"), weight(state, "bar"), weight(state, "baz")], [10, 10, 2]);
    assert.deepEqual(where(state), [{ file: "a.yaml", object: "", field: "" }]);
    const generation = state.generation;
    state = await source.reload();
    assert.equal(state.generation, generation, "still broken, nothing changed");
    assert.equal(weight(state, "bar"), 10, "still kept on the next reload");

    await write({ "a.yaml": route("foo", 11) });
    state = await source.reload();
    assert.deepEqual(
      refs(state),
      ["HTTPRoute default/baz", "HTTPRoute default/foo"],
      "fixed: bar was removed",
    );
  });

  it("keeps a file's objects when a document in it cannot be identified", async (t) => {
    const { source, write } = await setup(t, { "a.yaml": docs(route("foo"), route("bar")) });
    await source.start();
    await write({ "a.yaml": docs(route("foo"), route("bar").replace("{ name: bar }", "{ nmae: bar }")) });
    const state = await source.reload();
    assert.deepEqual(refs(state), ["HTTPRoute default/bar", "HTTPRoute default/foo"]);
    assert.deepEqual(where(state), [
      { file: "a.yaml", object: "HTTPRoute default/?", field: "metadata.name" },
    ]);
    assert.match(state.errors[0]?.message ?? "", /^document at line 8: /);
  });

  it(
    "keeps the objects of a file that cannot be read",
    { skip: process.getuid?.() === 0 && "root reads anything" },
    async (t) => {
      const { dir, source } = await setup(t, { "a.yaml": route("foo") });
      await source.start();
      await chmod(join(dir, "a.yaml"), 0);
      const state = await source.reload();
      assert.deepEqual(refs(state), ["HTTPRoute default/foo"]);
      assert.match(state.errors[0]?.message ?? "", /cannot read file: EACCES/);
    },
  );

  it("removes objects removed from a valid file, and the objects of a deleted file", async (t) => {
    const { dir, source, write } = await setup(t, {
      "a.yaml": docs(route("foo"), route("bar")),
      "b.yaml": route("baz"),
    });
    await source.start();
    await write({ "a.yaml": route("foo") });
    await unlink(join(dir, "b.yaml"));
    const state = await source.reload();
    assert.deepEqual([refs(state), state.errors], [["HTTPRoute default/foo"], []]);
  });

  const duplicates: Array<{ name: string; files: Files; file: string; places: string[] }> = [
    {
      name: "in one file",
      files: { "a.yaml": docs(route("foo", 1), route("foo", 2)) },
      file: "a.yaml",
      places: ["a.yaml:1", "a.yaml:8"],
    },
    {
      name: "in two files",
      files: { "b.yaml": route("foo", 2), "a.yaml": route("foo", 1) },
      file: "b.yaml",
      places: ["a.yaml:1", "b.yaml:1"],
    },
  ];
  for (const c of duplicates) {
    it(`reports an identity defined twice ${c.name}; the first wins`, async (t) => {
      const { source } = await setup(t, c.files);
      const state = await source.start();
      assert.equal(weight(state, "foo"), 1);
      assert.deepEqual(where(state), [{ file: c.file, object: "HTTPRoute default/foo", field: "" }]);
      for (const place of c.places) assert.ok(state.errors[0]?.message.includes(place), place);
    });
  }

  it("start() rejects when the directory cannot be read, naming it and the OS error", async () => {
    const missing = join(tmpdir(), `meshplane-missing-${process.pid}`);
    const source = new ConfigDirSource({ dir: missing, logger: createLogger({ level: "silent" }) });
    await assert.rejects(source.start(), (error: Error) => {
      assert.ok(error.message.includes(missing) && error.message.includes("ENOENT"), error.message);
      return true;
    });
  });

  it("bumps the generation, notifies and counts reloads only when something changed", async (t) => {
    const { source, write, metrics } = await setup(t, { "a.yaml": route("foo", 1) });
    const seen: number[] = [];
    source.onChange((state) => seen.push(state.generation));
    await source.start();
    await write({ "a.yaml": route("foo", 1).replace("kind: HTTPRoute\n", "") + "kind: HTTPRoute\n" });
    await source.reload(); // same content, keys reordered
    await write({ "a.yaml": route("foo", -1) });
    await source.reload();
    await write({ "a.yaml": route("foo", 2) });
    const state = await source.reload();
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(state.generation, 3);
    const reloads = Object.fromEntries(
      (await metrics.configReloads.get()).values.map((v) => [v.labels.result, v.value]),
    );
    assert.deepEqual(reloads, { applied: 2, unchanged: 1, rejected: 1 });
    const objects = (await metrics.configObjects.get()).values.map((v) => [v.labels.kind, v.value]);
    assert.deepEqual(objects, [["HTTPRoute", 1]]);
    const errors = (await metrics.configErrors.get()).values.map((v) => [v.labels.kind, v.value]);
    assert.deepEqual(errors, [["HTTPRoute", 1]]);
  });

  it("hot-reloads writes, rename-over saves, new directories and deletes", async (t) => {
    const { dir, source } = await setup(t, { "a.yaml": route("foo", 1) });
    await source.start();
    const file = join(dir, "a.yaml");
    const renameOver = async (text: string) => {
      await writeFile(join(dir, ".a.yaml.tmp"), text);
      await rename(join(dir, ".a.yaml.tmp"), file);
    };
    const steps: Array<[string, () => Promise<void>, (s: ConfigState) => boolean]> = [
      ["in-place write", () => writeFile(file, route("foo", 2)), (s) => weight(s, "foo") === 2],
      ["rename-over save", () => renameOver(route("foo", 3)), (s) => weight(s, "foo") === 3],
      // Node 24's recursive fs.watch on Linux misses these two: the old inode is the one watched.
      ["second rename-over save", () => renameOver(route("foo", 4)), (s) => weight(s, "foo") === 4],
      ["write after a rename", () => writeFile(file, route("foo", 5)), (s) => weight(s, "foo") === 5],
      [
        "new directory",
        () => writeFiles(dir, { "sub/b.yaml": route("bar", 1) }),
        (s) => weight(s, "bar") === 1,
      ],
      [
        "write in it",
        () => writeFile(join(dir, "sub/b.yaml"), route("bar", 2)),
        (s) => weight(s, "bar") === 2,
      ],
      ["delete", () => unlink(file), (s) => weight(s, "foo") === undefined],
    ];
    for (const [name, act, done] of steps) {
      await act();
      await waitFor(name, () => done(source.current()));
    }
  });

  it("follows a ConfigMap volume's atomic ..data symlink swap", async (t) => {
    const { dir, source, write } = await setup(t, { "..v1/a.yaml": route("foo", 1) });
    await symlink("..v1", join(dir, "..data"));
    await symlink("..data/a.yaml", join(dir, "a.yaml"));
    assert.equal(weight(await source.start(), "foo"), 1);
    await write({ "..v2/a.yaml": route("foo", 2) });
    await symlink("..v2", join(dir, "..data_tmp"));
    await rename(join(dir, "..data_tmp"), join(dir, "..data"));
    await waitFor("the swapped content", () => weight(source.current(), "foo") === 2);
  });

  it("coalesces an editor's write burst into one reload", async (t) => {
    const { source, write, logs } = await setup(t, { "a.yaml": route("foo", 0) }, { debounceMs: 100 });
    await source.start();
    for (let i = 1; i <= 10; i++) await write({ "a.yaml": route("foo", i), ".a.yaml.swp": String(i) });
    await waitFor("the last write", () => weight(source.current(), "foo") === 10);
    await sleep(250); // two more quiet periods: nothing else may arrive
    assert.equal(logs.filter((l) => l.msg === "config loaded").length, 2, "initial load + one reload");
  });

  it("stop() closes watchers and timers so the process can exit", async (t) => {
    const { dir } = await setup(t, { "a.yaml": route("foo") });
    const url = (path: string) => pathToFileURL(join(import.meta.dirname, path)).href;
    const script = `
      import { writeFileSync } from "node:fs";
      import { ConfigDirSource } from ${JSON.stringify(url("yaml-dir.ts"))};
      import { silentLogger } from ${JSON.stringify(url("../telemetry/index.ts"))};
      const source = new ConfigDirSource({ dir: process.env.DIR, logger: silentLogger(), debounceMs: 60000 });
      await source.start();
      writeFileSync(process.env.DIR + "/b.yaml", "");
      await new Promise((resolve) => setTimeout(resolve, 100)); // a reload is now pending
      await source.stop();`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, DIR: dir },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const timer = setTimeout(() => child.kill(), 5000);
    const code = await new Promise((resolve) =>
      child.on("exit", (status, signal) => resolve(signal ?? status)),
    );
    clearTimeout(timer);
    assert.equal(code, 0, "the child exited on its own");
  });
});

describe("ConfigDirSource with hostile input", () => {
  const limits = { ...defaultLimits, "dir.fileBytes": 4096, "dir.files": 3, "dir.objects": 4 };
  const refusals = async (metrics: ReturnType<typeof createMetrics>) =>
    Object.fromEntries((await metrics.inputRefusals.get()).values.map((v) => [v.labels.limit, v.value]));

  it("refuses a file over dir.fileBytes, keeps what it gave before, counts the refusal once", async (t) => {
    const { source, write, metrics } = await setup(t, { "a.yaml": route("foo", 1) }, { limits });
    await source.start();
    await write({ "a.yaml": route("foo", 2) + `# ${"x".repeat(5000)}\n`, "b.yaml": route("bar") });
    let state = await source.reload();
    assert.deepEqual([weight(state, "foo"), weight(state, "bar")], [1, 1], "the last good foo stays");
    assert.deepEqual(where(state), [{ file: "a.yaml", object: "", field: "" }]);
    assert.match(
      state.errors[0]?.message ?? "",
      /^the file exceeds limit dir.fileBytes of 4 KiB \(found \d+ bytes\); an operator can raise it/,
    );
    assert.equal(state.errors[0]?.limit, "dir.fileBytes");
    state = await source.reload();
    assert.deepEqual(await refusals(metrics), { "dir.fileBytes": 1 }, "counted once, not per reload");
  });

  it("refuses the files past dir.files and the objects past dir.objects, keeping what they gave", async (t) => {
    const { source, write, metrics } = await setup(
      t,
      { "a.yaml": route("a"), "b.yaml": route("b") },
      { limits },
    );
    await source.start();
    await write({ "c.yaml": docs(route("c1"), route("c2"), route("c3")), "d.yaml": route("d") });
    let state = await source.reload();
    assert.deepEqual(refs(state), ["HTTPRoute default/a", "HTTPRoute default/b"]);
    assert.deepEqual(
      state.errors.map((e) => [e.file, e.limit]),
      [["c.yaml", "dir.objects"]],
      "c.yaml's 3 objects would make 5; d.yaml, after it, is not read",
    );
    await write({ "c.yaml": route("c1"), "e.yaml": "" });
    state = await source.reload();
    assert.deepEqual(refs(state), ["HTTPRoute default/a", "HTTPRoute default/b", "HTTPRoute default/c1"]);
    assert.deepEqual(
      state.errors.map((e) => [e.file, e.limit]),
      [["d.yaml", "dir.files"]],
      "5 files exceed 3: from the 4th, d.yaml, on nothing is read",
    );
    assert.match(state.errors[0]?.message ?? "", /exceeds limit dir.files of 3 \(found 5\)/);
    assert.deepEqual(await refusals(metrics), { "dir.objects": 1, "dir.files": 1 });
  });

  it("refuses links out of the directory: nothing of the target is read, loaded or echoed", async (t) => {
    const outside = await mkdtemp(join(tmpdir(), "meshplane-outside-"));
    t.after(() => rm(outside, { recursive: true, force: true }));
    const secret = "s3cr3t-token-do-not-echo";
    // A valid object: loaded, it would be configuration nobody put in the directory.
    await writeFile(join(outside, "stolen.yaml"), service(secret.replace(/[^a-z0-9-]/g, "")));
    await writeFile(join(outside, "shadow"), `root:${secret}:19000:0:99999:7:::\n]${secret}\n`);
    await mkdir(join(outside, "dir"));
    await writeFile(join(outside, "dir", "x.yaml"), route("stolen"));
    const { dir, source, logs } = await setup(t, { "ok.yaml": route("ok") });
    await symlink(join(outside, "stolen.yaml"), join(dir, "stolen.yaml"));
    await symlink(join(outside, "shadow"), join(dir, "shadow.yaml"));
    await symlink(join(outside, "dir"), join(dir, "linked"));
    const state = await source.start();
    assert.deepEqual(refs(state), ["HTTPRoute default/ok"]);
    assert.deepEqual(
      state.errors.map((e) => e.file),
      ["linked", "shadow.yaml", "stolen.yaml"],
    );
    for (const error of state.errors) assert.match(error.message, /resolves outside the config directory/);
    const everything = JSON.stringify(state.errors) + JSON.stringify(logs);
    for (const leak of [secret, outside]) assert.ok(!everything.includes(leak), `${leak} not echoed`);
  });

  it("keeps the event loop turning while a large file loads", async (t) => {
    const many = Array.from({ length: 3000 }, (_, i) => service(`s${i}`, "big")).join("---\n");
    const { source } = await setup(t, { "big.yaml": many });
    let worst = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 5);
    const state = await source.start();
    clearInterval(timer);
    worst = Math.max(worst, performance.now() - last);
    assert.equal(state.resources.length, 3000);
    assert.ok(worst < 300, `the event loop waited ${Math.round(worst)} ms at most`);
  });
});
