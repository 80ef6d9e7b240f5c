// Configuration from a directory of YAML/JSON files (GitOps), hot-reloaded. The last good version
// of each object stays in force, so a bad edit is reported but never takes routing away.
import { watch, type FSWatcher } from "node:fs";
import { readFile, readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { LineCounter, isNode, isSeq, parseAllDocuments, type YAMLError } from "yaml";
import { objectRef, validateResource, type Resource } from "../api/index.ts";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import type { ConfigError, ConfigSource, ConfigState } from "./config-source.ts";

export interface ConfigDirSourceOptions {
  readonly dir: string;
  readonly logger: Logger;
  readonly metrics?: MeshplaneMetrics;
  /** Quiet period after the last file event before re-reading; default 100 ms. */
  readonly debounceMs?: number;
}

/** One definition of an object in a file; `resource` is absent when it failed validation. */
interface Definition {
  readonly ref: string;
  readonly place: string;
  readonly resource?: Resource;
  readonly errors: readonly ConfigError[];
}

interface FileResult {
  readonly file: string;
  readonly definitions: readonly Definition[];
  readonly errors: readonly ConfigError[];
  /** The file was not fully understood: objects it last contributed and no longer defines are kept. */
  readonly keepMissing: boolean;
}

interface Entry {
  readonly resource: Resource;
  readonly file: string;
  readonly place: string;
}

const configFile = /\.(ya?ml|json)$/i;
// Editor droppings: vim swap/backup and its `4913` probe, emacs locks and auto-saves.
const editorTemp = /(~|\.sw[a-p])$|^\.#|^#.*#$|^4913$/;

export class ConfigDirSource implements ConfigSource {
  readonly #dir: string;
  readonly #logger: Logger;
  readonly #metrics: MeshplaneMetrics | undefined;
  readonly #debounceMs: number;
  readonly #maxWaitMs: number;
  readonly #listeners: Array<(state: ConfigState) => void> = [];
  readonly #watchers = new Map<string, { watcher: FSWatcher; inode: string }>();
  #state: ConfigState = Object.freeze({ resources: [], errors: [], generation: 0 });
  #entries: ReadonlyMap<string, Entry> = new Map();
  readonly #parsed = new Map<string, { text: string; result: FileResult }>();
  #resourcesKey = "[]";
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

  constructor(options: ConfigDirSourceOptions) {
    this.#dir = options.dir;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
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
    const walk = await this.#walk();
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
    for (const file of walk.files) {
      const result = await this.#readOne(file);
      if (result) results.push(result);
    }
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

  async #readOne(file: string): Promise<FileResult | undefined> {
    try {
      const text = await readFile(join(this.#dir, file), "utf8");
      // Parsing and validating is most of a reload; a large directory changes a file at a time.
      const cached = this.#parsed.get(file);
      if (cached?.text === text) return cached.result;
      const result = parseConfigFile(file, text);
      this.#parsed.set(file, { text, result });
      return result;
    } catch (error) {
      // Deleted between listing and reading: the file is gone, and so are its objects.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      return broken(file, [`cannot read file: ${(error as Error).message}`], true);
    }
  }

  async #walk() {
    const files: string[] = [];
    const failedDirs: Array<{ rel: string; error: Error }> = [];
    const visited = new Set<string>();
    const watched = new Set<string>();
    let watchFailed = false;
    const visit = async (abs: string, rel: string): Promise<void> => {
      const fail = (error: Error) => void failedDirs.push({ rel, error });
      const info = await stat(abs).catch(fail);
      if (!info) return;
      const inode = `${info.dev}:${info.ino}`;
      if (visited.has(inode)) return; // a symlink loop
      visited.add(inode);
      // Watch before listing so a file created in between is not missed.
      watched.add(abs);
      if (!this.#watchDir(abs, inode)) watchFailed = true;
      for (const entry of (await readdir(abs, { withFileTypes: true }).catch(fail)) ?? []) {
        // Dot entries also hide .git and a ConfigMap volume's ..data timestamped copies.
        if (entry.name.startsWith(".") || editorTemp.test(entry.name)) continue;
        const childAbs = join(abs, entry.name);
        const childRel = rel ? `${rel}/${entry.name}` : entry.name;
        let isDir = entry.isDirectory();
        let isFile = entry.isFile();
        if (entry.isSymbolicLink()) {
          // ConfigMap volumes and git-sync present files through symlinks.
          const target = await stat(childAbs).catch(() => undefined);
          isDir = target?.isDirectory() ?? false;
          isFile = target?.isFile() ?? false;
        }
        if (isDir) await visit(childAbs, childRel);
        else if (isFile && configFile.test(entry.name)) files.push(childRel);
      }
    };
    await visit(this.#dir, "");
    for (const [abs, { watcher }] of this.#watchers) {
      if (watched.has(abs)) continue;
      watcher.close();
      this.#watchers.delete(abs);
    }
    return { files: files.sort(compare), failedDirs, watchFailed };
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
    const resourcesKey = stableStringify(resources);
    const errorKeys = errors.map((error) => stableStringify(error));
    const errorsKey = `[${errorKeys.join(",")}]`;
    // "rejected": only the errors changed, so an edit was refused and the old config stays.
    const result =
      resourcesKey !== this.#resourcesKey
        ? "applied"
        : errorsKey !== this.#errorsKey
          ? "rejected"
          : "unchanged";

    for (const error of errors) {
      this.#logger.warn({ file: error.file, object: error.object, field: error.field }, error.message);
    }
    const metrics = this.#metrics;
    if (metrics) {
      metrics.configReloads.inc({ result });
      for (const [i, error] of errors.entries()) {
        if (!this.#errorKeys.has(errorKeys[i] ?? "")) metrics.configErrors.inc({ kind: errorKind(error) });
      }
      const counts = new Map<string, number>();
      for (const resource of resources) counts.set(resource.kind, (counts.get(resource.kind) ?? 0) + 1);
      for (const kind of this.#objectKinds) if (!counts.has(kind)) metrics.configObjects.set({ kind }, 0);
      for (const [kind, count] of counts) metrics.configObjects.set({ kind }, count);
      this.#objectKinds = new Set(counts.keys());
    }

    this.#entries = inForce;
    this.#resourcesKey = resourcesKey;
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

/** Parses one file into object definitions, with the errors that are not about one object. */
function parseConfigFile(file: string, text: string): FileResult {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines });
  const syntax = docs.flatMap((doc) => doc.errors);
  // Part of a file is not trusted: a bad document may have swallowed its neighbours.
  if (syntax.length > 0) return broken(file, syntax.map(syntaxMessage), true);
  const objects: Array<{ value: unknown; line: number }> = [];
  const errors: ConfigError[] = [];
  let keepMissing = false;
  for (const doc of docs) {
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (error) {
      return broken(file, [`invalid YAML: ${(error as Error).message}`], true);
    }
    if (value === null || value === undefined) continue; // empty document
    const line = lines.linePos(doc.contents?.range?.[0] ?? doc.range[0]).line;
    if (!isRecord(value) || value.kind !== "List") {
      objects.push({ value, line });
    } else if (Array.isArray(value.items)) {
      const seq = doc.get("items", true);
      value.items.forEach((item: unknown, i) => {
        const node = isSeq(seq) ? seq.items[i] : undefined;
        objects.push({
          value: item,
          line: isNode(node) && node.range ? lines.linePos(node.range[0]).line : line,
        });
      });
    } else {
      const message = `document at line ${line}: kind List needs an items array`;
      errors.push({ file, object: "", field: "items", message });
      keepMissing = true;
    }
  }
  const definitions: Definition[] = [];
  for (const { value, line } of objects) {
    const place = `${file}:${line}`;
    const result = validateResource(value);
    if (result.ok) {
      const ref = objectRef(result.resource.kind, result.resource.metadata);
      definitions.push({ ref, place, resource: result.resource, errors: [] });
      continue;
    }
    const meta = isRecord(value) && isRecord(value.metadata) ? value.metadata : {};
    const namespace = typeof meta.namespace === "string" ? meta.namespace : "default";
    const ref = objectRef(result.kind, { name: result.name, namespace });
    const identified = result.kind !== "?" && result.name !== "?";
    const fieldErrors = result.errors.map((e) => ({
      file,
      object: ref,
      field: e.field,
      message: identified ? e.message : `document at line ${line}: ${e.message}`,
    }));
    if (identified) {
      definitions.push({ ref, place, errors: fieldErrors });
    } else {
      // Without a name we cannot tell which object this was meant to be; removing none is safest.
      errors.push(...fieldErrors);
      keepMissing = true;
    }
  }
  return { file, definitions, errors, keepMissing };
}

function broken(file: string, messages: readonly string[], keepMissing: boolean): FileResult {
  const errors = messages.map((message) => ({ file, object: "", field: "", message }));
  return { file, definitions: [], errors, keepMissing };
}

function syntaxMessage(error: YAMLError): string {
  const text = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, "");
  const at = error.linePos?.[0];
  return at
    ? `YAML syntax error at line ${at.line}, column ${at.col}: ${text}`
    : `YAML syntax error: ${text}`;
}

function errorKind(error: ConfigError): string {
  return error.object === "" ? "File" : (error.object.split(" ")[0] ?? "?");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// Code-unit order, independent of locale, so every replica sorts files the same way.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
