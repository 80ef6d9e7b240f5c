// The dashboard's live feed: rebuilds the view when the pipeline publishes a serving state (it
// subscribes, as the xDS server does) and, while anyone watches, samples the xDS server's proxy
// state (which publishes no events) on an interval, and rebuilds on a Rollout informer's events (a
// rollout progresses by status writes, which publish no serving state); at most one rebuild per
// `minIntervalMs` whatever the rate of changes. Reading every stream's status is the costly part
// at scale (about 0.1 ms a proxy), so only the sampler reads it, and it waits long enough between
// samples to stay within `sampleBudget` of the event loop: a publish rebuilds from the last sample
// instead of stalling the push it started. Each rebuild is diffed against the previous one entry by entry,
// and the changed entries go out as one delta frame, serialised once for every page. A page that
// joins, or that fell behind (see dashboard-server.ts), gets the current view whole instead.
import { performance } from "node:perf_hooks";
import { systemClock, type Clock, type Timer } from "../clock/index.ts";
import type { ServingState, ServingStateFeed } from "../pipeline/index.ts";
import type { KubeObject } from "../store/index.ts";
import type { MeshplaneMetrics } from "../telemetry/index.ts";
import type { NackReport, ProxyStatus } from "../xds/index.ts";
import {
  dashboardEntries,
  defaultEntryBounds,
  serviceEntries,
  type EntryBounds,
  type ObjectReachCount,
} from "./dashboard-entries.ts";
import type { DashboardEntry } from "./dashboard-view.ts";

export interface DashboardFeedOptions {
  readonly serving: ServingStateFeed;
  /** The xDS server's read-only proxy state. */
  readonly xds: {
    proxies(): readonly ProxyStatus[];
    rejections(): NackReport;
  };
  /** "Reached N of M" per object for `state`, as status counts it (wired by `serve`). */
  readonly reach: (state: ServingState) => readonly ObjectReachCount[];
  /** The Rollout objects, status included, and their changes (an Informer on rollouts). */
  readonly rollouts: {
    list(): readonly KubeObject[];
    onEvent(listener: () => void): void;
  };
  readonly metrics: Pick<MeshplaneMetrics, "dashboardUpdateDuration">;
  readonly clock?: Clock;
  /** Fewest milliseconds between two rebuilds (250: at most four frames a second). */
  readonly minIntervalMs?: number;
  /** How often proxy state is sampled while a page watches, at the most (1000). */
  readonly sampleIntervalMs?: number;
  /** The share of the event loop proxy sampling may take; longer samples space out (0.05). */
  readonly sampleBudget?: number;
  readonly bounds?: EntryBounds;
}

/** Gets each `event: delta` frame: what changed since the previous frame. */
export type FeedListener = (delta: string) => void;

const eventFrame = (event: string, data: string): string => `event: ${event}\ndata: ${data}\n\n`;

export class DashboardFeed {
  private readonly options: DashboardFeedOptions;
  private readonly clock: Clock;
  private readonly listeners = new Set<FeedListener>();
  /** The current view: key → the entry's JSON. */
  private current = new Map<string, string>();
  private snapshotCache: string | undefined;
  private services: { state: ServingState; entries: Map<string, DashboardEntry> } | undefined;
  private lastBuild = Number.NEGATIVE_INFINITY;
  private pending: Timer | undefined;
  private sampler: Timer | undefined;
  /** The xDS server's proxies as last sampled, and what reading them took. */
  private proxies: readonly ProxyStatus[] = [];
  private sampleMs = 0;

  constructor(options: DashboardFeedOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    options.serving.subscribe(() => this.schedule());
    options.serving.onIssues(() => this.schedule());
    options.rollouts.onEvent(() => this.schedule());
  }

  /** Watchers right now. */
  get watchers(): number {
    return this.listeners.size;
  }

  /**
   * Adds a watcher and returns the current view as an `event: snapshot` frame: `listener` then
   * gets every later delta, until the returned `stop` is called.
   */
  watch(listener: FeedListener): { snapshot: string; stop: () => void } {
    if (this.listeners.size === 0) {
      // Nobody watched: nothing was sampled, so the view is rebuilt now, and sampling starts.
      this.readProxies();
      this.rebuild();
      this.sample();
    }
    this.listeners.add(listener);
    return {
      snapshot: this.snapshot(),
      stop: () => {
        this.listeners.delete(listener);
        if (this.listeners.size > 0) return;
        this.sampler?.cancel();
        this.sampler = undefined;
        this.pending?.cancel();
        this.pending = undefined;
      },
    };
  }

  /** The current view whole, as an `event: snapshot` frame (built once per view). */
  snapshot(): string {
    if (this.snapshotCache === undefined) {
      const parts: string[] = [];
      for (const [key, json] of this.current) parts.push(`${JSON.stringify(key)}:${json}`);
      this.snapshotCache = eventFrame("snapshot", `{"entries":{${parts.join(",")}}}`);
    }
    return this.snapshotCache;
  }

  /** Stops every timer; watchers get nothing more. */
  stop(): void {
    this.listeners.clear();
    this.sampler?.cancel();
    this.pending?.cancel();
  }

  private sample(): void {
    const wait = Math.max(
      this.options.sampleIntervalMs ?? 1000,
      this.sampleMs / (this.options.sampleBudget ?? 0.05),
    );
    this.sampler = this.clock.after(wait, () => {
      this.readProxies();
      this.schedule();
      this.sample();
    });
  }

  private readProxies(): void {
    const started = performance.now();
    this.proxies = this.options.xds.proxies();
    this.sampleMs = performance.now() - started;
  }

  /** A rebuild as soon as the interval allows; none while nobody watches. */
  private schedule(): void {
    if (this.listeners.size === 0 || this.pending !== undefined) return;
    const wait = this.lastBuild + (this.options.minIntervalMs ?? 250) - this.clock.now();
    this.pending = this.clock.after(wait, () => {
      this.pending = undefined;
      const delta = this.rebuild();
      if (delta === undefined) return;
      for (const listener of this.listeners) listener(delta);
    });
  }

  /** Rebuilds the view; returns the delta frame, or undefined when nothing changed. */
  private rebuild(): string | undefined {
    const state = this.options.serving.current;
    if (state === undefined) return undefined;
    const started = performance.now();
    this.lastBuild = this.clock.now();
    // Services change only with the serving state: built once per published version.
    const cached = this.services;
    const services = cached !== undefined && cached.state === state ? cached.entries : serviceEntries(state);
    this.services = { state, entries: services };
    const entries = dashboardEntries(
      {
        state,
        proxies: this.proxies,
        nacks: this.options.xds.rejections(),
        reach: this.options.reach(state),
        rollouts: this.options.rollouts.list(),
      },
      services,
      this.options.bounds ?? defaultEntryBounds,
    );
    const next = new Map<string, string>();
    const set: string[] = [];
    for (const [key, entry] of entries) {
      const json = JSON.stringify(entry);
      next.set(key, json);
      if (this.current.get(key) !== json) set.push(`${JSON.stringify(key)}:${json}`);
    }
    const remove = [...this.current.keys()].filter((key) => !next.has(key));
    this.current = next;
    let frame: string | undefined;
    if (set.length > 0 || remove.length > 0) {
      this.snapshotCache = undefined;
      frame = eventFrame("delta", `{"set":{${set.join(",")}},"remove":${JSON.stringify(remove)}}`);
    }
    this.options.metrics.dashboardUpdateDuration.observe((performance.now() - started) / 1000);
    return frame;
  }
}
