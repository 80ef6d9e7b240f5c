// Messages between the harness and its child processes (workers, ceiling server) over the Node
// IPC channel. Commands carry a sequence number; the reply echoes it.
import type { Change, WatchSpec } from "./changes.ts";
import type { PlanOptions } from "./mesh-plan.ts";

export type Protocol = "sotw" | "delta";

export type WorkerCommand =
  | {
      readonly cmd: "init";
      readonly address: string;
      readonly protocol: Protocol;
      readonly plan: PlanOptions;
      readonly from: number;
      readonly to: number;
    }
  /** window: at most this many of the worker's proxies connecting but not yet synced (0 = all at once). */
  | { readonly cmd: "connect"; readonly window: number }
  | { readonly cmd: "collectConnect" }
  | { readonly cmd: "watch"; readonly spec: WatchSpec }
  | { readonly cmd: "collectWatch"; readonly id: number }
  | { readonly cmd: "churn"; readonly count: number }
  | { readonly cmd: "collectChurn" }
  | { readonly cmd: "stats" }
  | { readonly cmd: "close" };

export interface WorkerStats {
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  readonly bytes: number;
  readonly responses: number;
  readonly resent: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly synced: number;
  readonly proxies: number;
}

export interface ConnectReport {
  /** Per proxy: wall-clock ms when its stream started and when it was synced (0 = never). */
  readonly started: readonly number[];
  readonly synced: readonly number[];
}

export interface WatchReport {
  /** Proxies that held the watched resource when the watch was set. */
  readonly holders: number;
  /** Wall-clock ms at which each proxy that got the change had decoded and ACKed it. */
  readonly times: readonly number[];
  /** Proxies that received at least one response between the watch and its collection. */
  readonly responded: number;
}

export interface ChurnReport {
  /** Reconnect-to-synced durations, ms. */
  readonly durations: readonly number[];
  /** Reconnects not synced yet. */
  readonly pending: number;
  readonly reconnects: number;
}

export type WorkerReply =
  | { readonly ok: true }
  | { readonly connect: ConnectReport }
  | { readonly holders: number }
  | { readonly watch: WatchReport }
  | { readonly churn: ChurnReport }
  | { readonly stats: WorkerStats }
  | { readonly error: string };

/** Unsolicited progress, at most every 100 ms while something happens. */
export interface WorkerProgress {
  readonly ev: "progress";
  readonly synced: number;
  readonly churnPending: number;
  readonly seen: Readonly<Record<number, number>>;
}

export type CeilingCommand =
  | { readonly op: "prepare"; readonly change: Change; readonly object: Record<string, unknown> }
  | { readonly op: "push"; readonly change: Change }
  | { readonly op: "stats" };

export type CeilingReply =
  | { readonly prepared: { readonly encodes: number; readonly ms: number } }
  | { readonly pushed: { readonly streams: number; readonly ms: number } }
  | { readonly stats: { readonly streams: number; readonly encodes: number } }
  | { readonly error: string };

export interface Envelope<T> {
  readonly seq: number;
  readonly body: T;
}

export function now(): number {
  return performance.timeOrigin + performance.now();
}
