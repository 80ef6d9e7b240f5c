// The embedded default backend: one SQLite file through node:sqlite (built into Node 24), WAL
// journal. Table `objects` holds the current state, `events` the change log that watches from an
// older resourceVersion and later pages of a list replay; `meta` the resourceVersion counter and
// how far the log has been pruned. One process owns the file (exclusive locking mode): the store
// serialises writes and notifies watchers in memory, which a second writer would bypass.
import { chmodSync, closeSync, openSync } from "node:fs";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { unavailable } from "./errors.ts";
import { LocalStore, type HistoryRecord, type LocalEngine, type StoredRecord } from "./local.ts";
import type { KeyRange } from "./objects.ts";
import { systemClock, type Clock, type ResourceStore, type WatchEventType } from "./types.ts";

export interface SqliteStoreOptions {
  /** The database file; created when missing. */
  readonly path: string;
  readonly clock?: Clock;
  /** Keep at most this many events for watches. Default 10,000. */
  readonly historySize?: number;
  /** And none older than this. Default 15 minutes. */
  readonly historyMaxAgeMs?: number;
  /**
   * `full` (default) syncs every commit to disk: an acknowledged write survives a power loss.
   * `normal` survives a process crash only, and writes faster.
   */
  readonly synchronous?: "full" | "normal";
  /** See LocalStoreOptions.maxPendingEvents. */
  readonly maxPendingEvents?: number;
}

const schemaVersion = 1;

const schema = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('rv', 1), ('compacted_rv', 1);
CREATE TABLE IF NOT EXISTS objects (
  type TEXT NOT NULL,
  key TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (type, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  rv INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  key TEXT NOT NULL,
  event TEXT NOT NULL,
  object TEXT NOT NULL,
  prev TEXT,
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, rv);
`;

/**
 * The store holds every resource, so only its owner may read it. SQLite creates the -wal (and
 * -shm, -journal) files with the database file's mode, so the database is created 0600 before
 * SQLite opens it; files an older run left readable by others are tightened.
 */
function restrictToOwner(path: string): void {
  closeSync(openSync(path, "a", 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      chmodSync(file, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
}

/** Opens (or creates) the database file and returns a store on it. */
export function openSqliteStore(options: SqliteStoreOptions): ResourceStore {
  const clock = options.clock ?? systemClock;
  const engine = new SqliteEngine(options, clock);
  return new LocalStore(engine, {
    clock,
    ...(options.maxPendingEvents === undefined ? {} : { maxPendingEvents: options.maxPendingEvents }),
  });
}

type Row = Record<string, unknown>;

class SqliteEngine implements LocalEngine {
  private readonly db: DatabaseSync;
  private readonly clock: Clock;
  private readonly historySize: number;
  private readonly maxAgeMs: number;
  private rv: number;
  private compacted: number;
  private lastAgePrune = 0;
  private readonly stmt: Record<
    | "get"
    | "scan"
    | "scanTo"
    | "history"
    | "historyTo"
    | "upsert"
    | "remove"
    | "append"
    | "setMeta"
    | "pruneTo"
    | "newestOlderThan",
    StatementSync
  >;

  constructor(options: SqliteStoreOptions, clock: Clock) {
    this.clock = clock;
    this.historySize = options.historySize ?? 10_000;
    this.maxAgeMs = options.historyMaxAgeMs ?? 15 * 60_000;
    if (!Number.isSafeInteger(this.historySize) || this.historySize < 1 || !(this.maxAgeMs > 0)) {
      throw new RangeError("sqlite store: historySize and historyMaxAgeMs must be positive");
    }
    try {
      restrictToOwner(options.path);
      this.db = new DatabaseSync(options.path);
    } catch (error) {
      throw unavailable(`sqlite: cannot open ${options.path}: ${String(error)}`, error);
    }
    try {
      // Exclusive before WAL: no shared-memory index, and the first write below takes a lock that
      // is held until close, so a second process fails here instead of corrupting watches.
      this.db.exec("PRAGMA locking_mode = EXCLUSIVE");
      const mode = this.db.prepare("PRAGMA journal_mode = WAL").get() as Row | undefined;
      if (mode?.journal_mode !== "wal")
        throw new Error(`journal_mode is ${String(mode?.journal_mode)}, not wal`);
      this.db.exec(`PRAGMA synchronous = ${options.synchronous === "normal" ? "NORMAL" : "FULL"}`);
      this.db.exec("BEGIN IMMEDIATE");
      const version = Number((this.db.prepare("PRAGMA user_version").get() as Row).user_version);
      if (version > schemaVersion) {
        throw new Error(`database schema version ${version} is newer than this meshplane (${schemaVersion})`);
      }
      this.db.exec(schema);
      this.db.exec(`PRAGMA user_version = ${schemaVersion}`);
      this.db.exec("COMMIT");
    } catch (error) {
      this.db.close();
      const busy = (error as { errcode?: number }).errcode === 5;
      throw unavailable(
        busy
          ? `sqlite: ${options.path} is in use by another process`
          : `sqlite: cannot initialise ${options.path}: ${String(error)}`,
        error,
      );
    }
    const meta = (name: string) =>
      Number((this.db.prepare("SELECT value FROM meta WHERE name = ?").get(name) as Row).value);
    this.rv = meta("rv");
    this.compacted = meta("compacted_rv");
    const historyColumns =
      "SELECT rv, key, event, object, prev FROM events WHERE type = ? AND rv > ? AND key >= ?";
    this.stmt = {
      get: this.db.prepare("SELECT data FROM objects WHERE type = ? AND key = ?"),
      scan: this.db.prepare("SELECT key, data FROM objects WHERE type = ? AND key >= ? ORDER BY key"),
      scanTo: this.db.prepare(
        "SELECT key, data FROM objects WHERE type = ? AND key >= ? AND key < ? ORDER BY key",
      ),
      history: this.db.prepare(`${historyColumns} ORDER BY rv`),
      historyTo: this.db.prepare(`${historyColumns} AND key < ? ORDER BY rv`),
      upsert: this.db.prepare(
        "INSERT INTO objects (type, key, data) VALUES (?, ?, ?) ON CONFLICT (type, key) DO UPDATE SET data = excluded.data",
      ),
      remove: this.db.prepare("DELETE FROM objects WHERE type = ? AND key = ?"),
      append: this.db.prepare(
        "INSERT INTO events (rv, type, key, event, object, prev, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      setMeta: this.db.prepare("UPDATE meta SET value = ? WHERE name = ?"),
      pruneTo: this.db.prepare("DELETE FROM events WHERE rv <= ?"),
      newestOlderThan: this.db.prepare("SELECT max(rv) AS rv FROM events WHERE at < ?"),
    };
  }

  currentRv(): number {
    return this.rv;
  }

  compactedRv(): number {
    return this.compacted;
  }

  get(typeId: string, key: string): string | undefined {
    const row = this.stmt.get.get(typeId, key) as Row | undefined;
    return row === undefined ? undefined : (row.data as string);
  }

  *scan(typeId: string, range: KeyRange): Iterable<StoredRecord> {
    const rows =
      range.end === undefined
        ? this.stmt.scan.iterate(typeId, range.start)
        : this.stmt.scanTo.iterate(typeId, range.start, range.end);
    for (const row of rows) yield { key: row.key as string, json: row.data as string };
  }

  *history(typeId: string, afterRv: number, range: KeyRange): Iterable<HistoryRecord> {
    const rows =
      range.end === undefined
        ? this.stmt.history.iterate(typeId, afterRv, range.start)
        : this.stmt.historyTo.iterate(typeId, afterRv, range.start, range.end);
    for (const row of rows) {
      yield {
        rv: row.rv as number,
        key: row.key as string,
        type: row.event as WatchEventType,
        object: row.object as string,
        prev: row.prev as string | null,
      };
    }
  }

  commit(typeId: string, event: HistoryRecord): void {
    const now = this.clock.now();
    let compacted = this.compacted;
    try {
      this.db.exec("BEGIN IMMEDIATE");
      if (event.type === "DELETED") this.stmt.remove.run(typeId, event.key);
      else this.stmt.upsert.run(typeId, event.key, event.object);
      this.stmt.append.run(event.rv, typeId, event.key, event.type, event.object, event.prev, now);
      this.stmt.setMeta.run(event.rv, "rv");
      // Every resourceVersion has exactly one event, so "the last N" is a resourceVersion bound.
      let pruneTo = event.rv - this.historySize;
      if (now - this.lastAgePrune >= 1000) {
        const row = this.stmt.newestOlderThan.get(now - this.maxAgeMs) as Row;
        if (typeof row.rv === "number") pruneTo = Math.max(pruneTo, row.rv);
      }
      if (pruneTo > compacted) {
        this.stmt.pruneTo.run(pruneTo);
        this.stmt.setMeta.run(pruneTo, "compacted_rv");
        compacted = pruneTo;
      }
      this.db.exec("COMMIT");
    } catch (error) {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      throw unavailable(`sqlite: write failed: ${String(error)}`, error);
    }
    if (now - this.lastAgePrune >= 1000) this.lastAgePrune = now;
    this.rv = event.rv;
    this.compacted = compacted;
  }

  close(): void {
    this.db.close();
  }
}
