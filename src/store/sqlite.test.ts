import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, test } from "node:test";
import { runConformance } from "./conformance.ts";
import { fakeClock, rejectsWith, service, services, take } from "./conformance/harness.ts";
import { openSqliteStore } from "./sqlite.ts";
import type { ResourceStore } from "./types.ts";

const dir = mkdtempSync(join(tmpdir(), "meshplane-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const paths = new WeakMap<ResourceStore, string>();

runConformance({
  name: "sqlite",
  async open({ clock, historySize }) {
    const path = join(dir, `store-${files++}.db`);
    // The shipped default (synchronous=full): every commit is synced to disk.
    const store = openSqliteStore({ path, clock, ...(historySize ? { historySize } : {}) });
    paths.set(store, path);
    return store;
  },
  async reopen(store, { clock }) {
    const path = paths.get(store);
    assert.ok(path);
    await store.close();
    const reopened = openSqliteStore({ path, clock });
    paths.set(reopened, path);
    return reopened;
  },
});

test("sqlite: the file is in WAL mode and owned by one process at a time", async () => {
  const path = join(dir, "wal.db");
  const store = openSqliteStore({ path });
  await store.create(services, service("web"));
  await rejectsWith(
    Promise.resolve().then(() => openSqliteStore({ path })),
    "Unavailable",
    /in use by another process/,
  );
  await store.close();
  const db = new DatabaseSync(path);
  assert.deepEqual({ ...db.prepare("PRAGMA journal_mode").get() }, { journal_mode: "wal" });
  assert.equal(db.prepare("SELECT count(*) AS n FROM objects").get()?.n, 1);
  db.close();
});

test("sqlite: the database and its -wal are owner-only, and files left readable by others are tightened", async () => {
  const path = join(dir, "modes.db");
  const mode = (file: string) => statSync(file).mode & 0o777;
  const store = openSqliteStore({ path });
  await store.create(services, service("web"));
  // The -wal exists while the store is open; exclusive locking keeps the -shm index in memory.
  assert.deepEqual([mode(path), mode(`${path}-wal`), existsSync(`${path}-shm`)], [0o600, 0o600, false]);
  await store.close();
  // An older meshplane (or a umask of 022) left them world-readable.
  chmodSync(path, 0o644);
  for (const suffix of ["-wal", "-shm", "-journal"]) writeFileSync(`${path}${suffix}`, "", { mode: 0o644 });
  const reopened = openSqliteStore({ path });
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`].filter(existsSync)) {
    assert.equal(mode(file), 0o600, file);
  }
  assert.deepEqual(
    (await reopened.list(services)).items.map((item) => item.metadata.name),
    ["web"],
  );
  await reopened.close();
});

test("sqlite: history is pruned by count and by age, and the pruning survives a restart", async () => {
  const path = join(dir, "history.db");
  const clock = fakeClock();
  let store = openSqliteStore({ path, clock, historySize: 5, historyMaxAgeMs: 60_000 });
  const first = await store.create(services, service("s0"));
  const created = [first];
  for (let i = 1; i < 8; i++) created.push(await store.create(services, service(`s${i}`)));
  const rvOf = (i: number) => created[i]?.metadata.resourceVersion ?? "";
  // The last 5 events (s3..s7) remain: watching from s2 works, from s1 is Expired.
  const watch = await store.watch(services, { resourceVersion: rvOf(2) });
  assert.equal((await take(watch, 5)).length, 5);
  await rejectsWith(
    store.watch(services, { resourceVersion: rvOf(1) }),
    "Expired",
    `too old resource version: ${rvOf(1)} (${rvOf(2)})`,
  );

  await store.close();
  store = openSqliteStore({ path, clock, historySize: 5, historyMaxAgeMs: 60_000 });
  await rejectsWith(store.watch(services, { resourceVersion: rvOf(1) }), "Expired");
  // Two minutes later every earlier event is older than the limit: the next write prunes them all.
  clock.advance(120_000);
  const later = await store.create(services, service("later"));
  await rejectsWith(store.watch(services, { resourceVersion: rvOf(6) }), "Expired");
  const recent = await store.watch(services, { resourceVersion: rvOf(7) });
  assert.deepEqual(await take(recent, 1), [`ADDED later@${later.metadata.resourceVersion ?? ""}`]);
  await store.close();
});

test("sqlite: synchronous=normal round-trips", async () => {
  const path = join(dir, "normal.db");
  const store = openSqliteStore({ path, synchronous: "normal" });
  const created = await store.create(services, service("web"));
  await store.close();
  const reopened = openSqliteStore({ path, synchronous: "normal" });
  assert.deepEqual(await reopened.get(services, { namespace: "default", name: "web" }), created);
  await reopened.close();
});
