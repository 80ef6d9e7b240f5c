// The memory backend: for tests and throwaway runs. Objects live in maps; the watch history is a
// ring of the last `historySize` events.
import { LocalStore, type HistoryRecord, type LocalEngine, type StoredRecord } from "./local.ts";
import type { KeyRange } from "./objects.ts";
import { systemClock, type Clock, type ResourceStore } from "./types.ts";

export interface MemoryStoreOptions {
  readonly clock?: Clock;
  /** Events kept for watches from an older resourceVersion. Default 10,000. */
  readonly historySize?: number;
  /** See LocalStoreOptions.maxPendingEvents. */
  readonly maxPendingEvents?: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): ResourceStore {
  const historySize = options.historySize ?? 10_000;
  if (!Number.isSafeInteger(historySize) || historySize < 1) {
    throw new RangeError(`memory store: historySize must be a positive integer, got ${historySize}`);
  }
  return new LocalStore(new MemoryEngine(historySize), {
    clock: options.clock ?? systemClock,
    ...(options.maxPendingEvents === undefined ? {} : { maxPendingEvents: options.maxPendingEvents }),
  });
}

interface RingEntry {
  readonly typeId: string;
  readonly record: HistoryRecord;
}

function inRange(key: string, range: KeyRange): boolean {
  return key >= range.start && (range.end === undefined || key < range.end);
}

class MemoryEngine implements LocalEngine {
  private readonly objects = new Map<string, Map<string, string>>();
  private readonly ring: (RingEntry | undefined)[];
  /** Index in `ring` of the oldest entry. */
  private first = 0;
  private size = 0;
  // Resource versions start after 1, as etcd's revisions do, so "0" never names a real state.
  private rv = 1;
  private compacted = 1;

  constructor(historySize: number) {
    this.ring = new Array<RingEntry | undefined>(historySize);
  }

  currentRv(): number {
    return this.rv;
  }

  compactedRv(): number {
    return this.compacted;
  }

  get(typeId: string, key: string): string | undefined {
    return this.objects.get(typeId)?.get(key);
  }

  *scan(typeId: string, range: KeyRange): Iterable<StoredRecord> {
    const objects = this.objects.get(typeId);
    if (!objects) return;
    const keys = [...objects.keys()].filter((key) => inRange(key, range)).sort();
    for (const key of keys) {
      const json = objects.get(key);
      if (json !== undefined) yield { key, json };
    }
  }

  *history(typeId: string, afterRv: number, range: KeyRange): Iterable<HistoryRecord> {
    // Entries hold consecutive resource versions, so the first one after `afterRv` is computed.
    const oldest = this.rv - this.size + 1;
    for (let rv = Math.max(afterRv + 1, oldest); rv <= this.rv; rv++) {
      const entry = this.ring[(this.first + (rv - oldest)) % this.ring.length];
      if (entry && entry.typeId === typeId && inRange(entry.record.key, range)) yield entry.record;
    }
  }

  commit(typeId: string, event: HistoryRecord): void {
    let objects = this.objects.get(typeId);
    if (!objects) {
      objects = new Map();
      this.objects.set(typeId, objects);
    }
    if (event.type === "DELETED") objects.delete(event.key);
    else objects.set(event.key, event.object);
    if (this.size === this.ring.length) {
      this.compacted = (this.ring[this.first] as RingEntry).record.rv;
      this.first = (this.first + 1) % this.ring.length;
      this.size--;
    }
    this.ring[(this.first + this.size) % this.ring.length] = { typeId, record: event };
    this.size++;
    this.rv = event.rv;
  }

  close(): void {
    this.objects.clear();
  }
}
