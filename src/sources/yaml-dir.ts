// Configuration from a directory of YAML/JSON files (GitOps), hot-reloaded. The last good version
// of each object stays in force, so a bad edit is reported but never takes routing away. The
// directory is untrusted input: files are bounded (dir.fileBytes, dir.files, dir.objects and the
// object limits), links out of it are refused, and a large file is parsed a document at a time
// between turns of the event loop, so the process keeps answering while it loads.
import { createHash } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { basename, join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import {
  DecodeError,
  LimitExceededError,
  decodeUtf8,
  defaultLimits,
  type Limits,
  type ObjectLimits,
} from "../limits/index.ts";
import type { Resource } from "../api/index.ts";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import { broken, parseConfigFile, type FileResult } from "./config-file.ts";
import type { ConfigError, ConfigSource, ConfigState } from "./config-source.ts";
import {
  OutsideDirectoryError,
  compare,
  editorTemp,
  readConfigFile,
  walkConfigDir,
  type Walk,
} from "./dir-files.ts";

/** The limits that bound what the directory may hold. */
export type ConfigDirLimits = ObjectLimits & Pick<Limits, "dir.fileBytes" | "dir.files" | "dir.objects">;

export interface ConfigDirSourceOptions {
  readonly dir: string;
  readonly logger: Logger;
  readonly metrics?: MeshplaneMetrics;
  /** Default: the defaults of src/limits. */
  readonly limits?: ConfigDirLimits;
  /** Quiet period after the last file event before re-reading; default 100 ms. */
  readonly debounceMs?: number;
}

interface Entry {
  readonly resource: Resource;
  readonly file: string;
  readonly place: string;
}

/** The longest the loader holds the event loop before giving other work a turn. */
const sliceMs = 20;
/** Files read ahead of their turn: at most this many times dir.fileBytes held at once. */
const filesReadAhead = 4;

export class ConfigDirSource implements ConfigSource {
  readonly #dir: string;
  readonly #logger: Logger;
  readonly #metrics: MeshplaneMetrics | undefined;
  readonly #limits: ConfigDirLimits;
  readonly #debounceMs: number;
  readonly #maxWaitMs: number;
  readonly #listeners: Array<(state: ConfigState) => void> = [];
  readonly #watchers = new Map<string, { watcher: FSWatcher; inode: string }>();
  #state: ConfigState = Object.freeze({ resources: [], errors: [], generation: 0 });
  #entries: ReadonlyMap<string, Entry> = new Map();
  /** Each file's last parse, by a digest of its bytes (a large directory changes a file at a time). */
  readonly #parsed = new Map<string, { digest: string; result: FileResult }>();
  #errorsKey = "[]";
  #errorKeys = new Set<string>();
  #objectKinds = new Set<string>();
  #starting: Promise<ConfigState> | undefined;
  #running: Promise<void> | undefined;
  #dirty = false;
  #stopped = false;
  #debounceTimer: NodeJS.Timeout | undefined;
  #pendingSince: number | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retries = 0;
  /** When the loader last gave the event loop a turn. */
  #sliceStart = performance.now();

  constructor(options: ConfigDirSourceOptions) {
    this.#dir = options.dir;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#limits = options.limits ?? defaultLimits;
    this.#debounceMs = options.debounceMs ?? 100;
    // A directory that never goes quiet (a sync loop rewriting files) still reloads now and then.
    this.#maxWaitMs = Math.max(1000, this.#debounceMs * 10);
  }

  start(): Promise<ConfigState> {
    this.#starting ??= this.#run(true).then(
      () => this.#state,
      (error: unknown) => {
        this.#starting = undefined;
        throw error;
      },
    );
    return this.#starting;
  }

  current(): ConfigState {
    return this.#state;
  }

  onChange(listener: (state: ConfigState) => void): void {
    this.#listeners.push(listener);
  }

  /** Re-reads the directory now (for SIGHUP, or tests); resolves with the resulting state. */
  async reload(): Promise<ConfigState> {
    await this.#run(false);
    return this.#state;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#halt();
    await this.#running?.catch(() => undefined);
  }

  /** Nothing left that could keep the process alive or start another reload. */
  #halt(): void {
    clearTimeout(this.#debounceTimer);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    for (const { watcher } of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }

  /** One reload at a time; a request during a reload runs one more afterwards. */
  #run(initial: boolean): Promise<void> {
    if (this.#running) {
      this.#dirty = true;
      return this.#running;
    }
    const loop = async () => {
      try {
        await this.#reloadOnce(initial);
        while (this.#dirty && !this.#stopped) {
          this.#dirty = false;
          await this.#reloadOnce(false);
        }
      } finally {
        this.#running = undefined;
      }
    };
    this.#running = loop();
    return this.#running;
  }

  #fire(): void {
    clearTimeout(this.#debounceTimer);
    this.#debounceTimer = undefined;
    this.#pendingSince = undefined;
    this.#run(false).catch((error: unknown) => this.#logger.error({ err: error }, "config reload failed"));
  }

  #schedule(): void {
    if (this.#stopped) return;
    const now = Date.now();
    this.#pendingSince ??= now;
    clearTimeout(this.#debounceTimer);
    const wait = Math.max(0, Math.min(this.#debounceMs, this.#pendingSince + this.#maxWaitMs - now));
    this.#debounceTimer = setTimeout(() => this.#fire(), wait);
  }

  /** Polls with backoff while the directory (or a watch) is unavailable. */
  #scheduleRetry(): void {
    if (this.#stopped || this.#retryTimer) return;
    const delay = Math.min(5000, 500 * 2 ** this.#retries++);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#fire();
    }, delay);
  }

  async #reloadOnce(initial: boolean): Promise<void> {
    const walk = await walkConfigDir(this.#dir, (abs, inode) => this.#watchDir(abs, inode));
    this.#unwatchOthers(walk);
    const rootFailure = walk.failedDirs.find((d) => d.rel === "");
    if (initial && rootFailure) {
      this.#halt();
      throw new Error(`cannot read config directory ${this.#dir}: ${rootFailure.error.message}`, {
        cause: rootFailure.error,
      });
    }
    const results: FileResult[] = [];
    const present = new Set(walk.files);
    for (const file of this.#parsed.keys()) if (!present.has(file)) this.#parsed.delete(file);
    for (const [file, error] of walk.outside) results.push(broken(file, [error.message], true));
    // Past a limit, files are refused but not forgotten: what they gave before stays in force.
    const maxFiles = this.#limits["dir.files"];
    const maxObjects = this.#limits["dir.objects"];
    let objects = 0;
    let refusedFrom: number | undefined;
    // Each read is several round trips to the file system, and while the directory syncs the
    // event loop is busy between them: files are read a few ahead of their turn (and parsed in
    // turn, so at most one file's parse is in memory).
    const read = readAhead(walk.files.slice(0, maxFiles), filesReadAhead, (file) =>
      this.#read(walk.root, file),
    );
    for (const [index, file] of walk.files.entries()) {
      if (index === maxFiles) {
        const error = new LimitExceededError(
          "dir.files",
          maxFiles,
          "the YAML files in the config directory",
          walk.files.length,
        );
        results.push(
          broken(file, [`${error.message}; from this file on, files are not read`], true, "dir.files"),
        );
        refusedFrom = index + 1;
        break;
      }
      const bytes = await read(index);
      if (!bytes) continue;
      const result = Buffer.isBuffer(bytes) ? await this.#parse(file, bytes) : bytes;
      objects += result.definitions.length;
      if (objects > maxObjects) {
        const error = new LimitExceededError(
          "dir.objects",
          maxObjects,
          "the objects in the config directory",
        );
        const message = `${error.message}; from this file on, files are not read`;
        results.push(broken(file, [message], true, "dir.objects"));
        refusedFrom = index + 1;
        break;
      }
      results.push(result);
    }
    for (const file of walk.files.slice(refusedFrom ?? walk.files.length))
      results.push(broken(file, [], true));
    // Files under a directory that cannot be read are unknown, not deleted: keep what they gave.
    const known = new Set(walk.files);
    for (const { rel, error } of walk.failedDirs) {
      const file = rel || ".";
      results.push(broken(file, [`cannot read directory: ${error.message}`], false));
      for (const entry of this.#entries.values()) {
        if (known.has(entry.file) || (rel !== "" && !entry.file.startsWith(`${rel}/`))) continue;
        known.add(entry.file);
        results.push(broken(entry.file, [], true));
      }
    }
    results.sort((a, b) => compare(a.file, b.file));
    if (this.#stopped) return;
    this.#apply(assemble(results, this.#entries), walk.files.length);
    if (walk.failedDirs.length > 0 || walk.watchFailed) this.#scheduleRetry();
    else this.#retries = 0;
  }

  /** The file's bytes, or why it has none (undefined: it was deleted since the walk). */
  async #read(root: string, file: string): Promise<Buffer | FileResult | undefined> {
    try {
      return await readConfigFile(root, join(this.#dir, file), this.#limits["dir.fileBytes"]);
    } catch (error) {
      // Deleted between listing and reading: the file is gone, and so are its objects.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      if (error instanceof LimitExceededError) return broken(file, [error.message], true, error.limit);
      if (error instanceof OutsideDirectoryError) return broken(file, [error.message], true);
      return broken(file, [`cannot read file: ${(error as Error).message}`], true);
    }
  }

  /** Parses the file unless its bytes are those parsed last time. */
  async #parse(file: string, bytes: Buffer): Promise<FileResult> {
    const digest = createHash("sha256").update(bytes).digest("hex");
    const cached = this.#parsed.get(file);
    if (cached?.digest === digest) return cached.result;
    let text: string;
    try {
      text = decodeUtf8(bytes, "the file");
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      return broken(file, [error.message], true);
    }
    const result = await parseConfigFile(file, text, this.#limits, this.#pause);
    this.#parsed.set(file, { digest, result });
    return result;
  }

  /** Yields to the event loop when the loader has held it for a slice. */
  readonly #pause = async (): Promise<void> => {
    if (performance.now() - this.#sliceStart < sliceMs) return;
    await nextTurn();
    this.#sliceStart = performance.now();
  };

  /** Closes the watches of directories the last walk did not visit. */
  #unwatchOthers(walk: Walk): void {
    for (const [abs, { watcher }] of this.#watchers) {
      if (walk.watched.has(abs)) continue;
      watcher.close();
      this.#watchers.delete(abs);
    }
  }

  // One non-recursive watch per directory rather than fs.watch(dir, { recursive: true }): on Linux,
  // Node 24's recursive watcher watches each file's inode and so misses every write to a file that
  // was replaced by a rename (the way editors save). A directory watch sees all of its entries.
  #watchDir(abs: string, inode: string): boolean {
    if (this.#stopped) return true;
    const existing = this.#watchers.get(abs);
    if (existing?.inode === inode) return true;
    existing?.watcher.close(); // the directory was replaced: the old watch is on a dead inode
    this.#watchers.delete(abs);
    try {
      const watcher = watch(abs, (_event, name) => {
        if (name === null || !editorTemp.test(basename(name))) this.#schedule();
      });
      watcher.on("error", (error) => {
        this.#logger.warn({ dir: abs, err: error }, "config directory watch failed; re-reading");
        watcher.close();
        if (this.#watchers.get(abs)?.watcher === watcher) this.#watchers.delete(abs);
        this.#schedule();
      });
      this.#watchers.set(abs, { watcher, inode });
      return true;
    } catch (error) {
      this.#logger.warn({ dir: abs, err: error }, "cannot watch config directory; polling until it can");
      return false;
    }
  }

  #apply(outcome: ReturnType<typeof assemble>, fileCount: number): void {
    const { inForce, errors, kept } = outcome;
    const sorted = [...inForce].sort(([a], [b]) => compare(a, b));
    const resources = sorted.map(([, entry]) => entry.resource);
    const errorKeys = errors.map((error) => stableStringify(error));
    const errorsKey = `[${errorKeys.join(",")}]`;
    // "rejected": only the errors changed, so an edit was refused and the old config stays.
    const result = resourcesChanged(this.#entries, inForce)
      ? "applied"
      : errorsKey !== this.#errorsKey
        ? "rejected"
        : "unchanged";

    const fresh = errors.filter((_, i) => !this.#errorKeys.has(errorKeys[i] ?? ""));
    for (const error of fresh) {
      this.#logger.warn({ file: error.file, object: error.object, field: error.field }, error.message);
    }
    const metrics = this.#metrics;
    if (metrics) {
      metrics.configReloads.inc({ result });
      for (const error of fresh) {
        metrics.configErrors.inc({ kind: errorKind(error) });
        if (error.limit) metrics.inputRefusals.inc({ limit: error.limit });
      }
      const counts = new Map<string, number>();
      for (const resource of resources) counts.set(resource.kind, (counts.get(resource.kind) ?? 0) + 1);
      for (const kind of this.#objectKinds) if (!counts.has(kind)) metrics.configObjects.set({ kind }, 0);
      for (const [kind, count] of counts) metrics.configObjects.set({ kind }, count);
      this.#objectKinds = new Set(counts.keys());
    }

    this.#entries = inForce;
    this.#errorsKey = errorsKey;
    this.#errorKeys = new Set(errorKeys);
    if (result !== "unchanged") {
      this.#state = deepFreeze({ resources, errors, generation: this.#state.generation + 1 });
    }
    const { generation } = this.#state;
    const counts = { files: fileCount, objects: resources.length, errors: errors.length, generation };
    const keptLastGood = [...kept].sort(compare);
    this.#logger.info({ dir: this.#dir, ...counts, keptLastGood, result }, "config loaded");
    if (result === "unchanged") return;
    for (const listener of this.#listeners) {
      try {
        listener(this.#state);
      } catch (error) {
        this.#logger.error({ err: error }, "config change listener failed");
      }
    }
  }
}

/**
 * Parsed files as one configuration, merged as the directory merges them (nothing from before):
 * what `meshplane analyze -f` checks.
 */
export function assembleFiles(files: readonly FileResult[]): {
  readonly resources: readonly Resource[];
  readonly errors: readonly ConfigError[];
} {
  const { inForce, errors } = assemble(files, new Map());
  return { resources: [...inForce.values()].map((entry) => entry.resource), errors };
}

/**
 * Merges the files (in sorted order) with what was in force before. The first definition of an
 * identity claims it, valid or not, so a later duplicate never silently takes over.
 */
function assemble(files: readonly FileResult[], previous: ReadonlyMap<string, Entry>) {
  const inForce = new Map<string, Entry>();
  const claimedAt = new Map<string, string>();
  const errors: ConfigError[] = [];
  const kept = new Set<string>();
  for (const result of files) {
    errors.push(...result.errors);
    for (const definition of result.definitions) {
      errors.push(...definition.errors);
      const first = claimedAt.get(definition.ref);
      if (first !== undefined) {
        const message = `defined twice: first at ${first} (in force), again at ${definition.place} (ignored)`;
        errors.push({ file: result.file, object: definition.ref, field: "", message });
        continue;
      }
      claimedAt.set(definition.ref, definition.place);
      const last = previous.get(definition.ref);
      const resource = definition.resource ?? last?.resource;
      if (resource) inForce.set(definition.ref, { resource, file: result.file, place: definition.place });
      if (!definition.resource && last) kept.add(definition.ref);
    }
    if (!result.keepMissing) continue;
    for (const [ref, last] of previous) {
      if (last.file !== result.file || claimedAt.has(ref)) continue;
      claimedAt.set(ref, last.place);
      inForce.set(ref, last);
      kept.add(ref);
    }
  }
  return { inForce, errors, kept };
}

/**
 * `read(items[i])` for each i asked for in order, started up to `ahead` items early. A read
 * started but never asked for (the limits stopped the reload) has its failure dropped.
 */
function readAhead<T, R>(
  items: readonly T[],
  ahead: number,
  read: (item: T) => Promise<R>,
): (index: number) => Promise<R> {
  // Handed out once and then forgotten, so nothing read stays held by the reload.
  const started = new Map<number, Promise<R>>();
  let next = 0;
  return (index) => {
    for (; next < Math.min(items.length, index + ahead); next++) {
      const promise = read(items[next] as T);
      promise.catch(() => undefined);
      started.set(next, promise);
    }
    const promise = started.get(index) as Promise<R>;
    started.delete(index);
    return promise;
  };
}

/**
 * Whether the objects in force differ. An unchanged file yields the very same (cached) resources,
 * so most entries compare by identity and only re-parsed ones are compared by content; reordering
 * keys in a file is not a change.
 */
function resourcesChanged(before: ReadonlyMap<string, Entry>, after: ReadonlyMap<string, Entry>): boolean {
  if (before.size !== after.size) return true;
  for (const [ref, entry] of after) {
    const old = before.get(ref)?.resource;
    if (old === entry.resource) continue;
    if (old === undefined || stableStringify(old) !== stableStringify(entry.resource)) return true;
  }
  return false;
}

function errorKind(error: ConfigError): string {
  return error.object === "" ? "File" : (error.object.split(" ")[0] ?? "?");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** JSON with sorted keys, so reordering keys in a file is not a change. */
function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isRecord(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => compare(a, b))) : v,
  );
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
