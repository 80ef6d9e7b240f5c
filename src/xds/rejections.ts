// What a proxy rejected, per resource, and how long to wait before offering it a newer version.
// A rejected resource stays at the proxy's last good version until its content changes; when
// newer versions keep being rejected, offers back off exponentially so a generator that flaps
// between broken outputs does not make the proxy NACK on every push. The registry lists live
// rejections across all streams for the debug endpoints, the status controller and a gauge.
import type { Gauge } from "prom-client";
import { typeShortName, type TypeUrl } from "./resource-types.ts";
import type { NackReport, ObjectRejection, ProxyRejection, ResourceRejection } from "./status.ts";

export interface BackoffPolicy {
  /** Wait after the second consecutive rejected version; doubles with each further one. */
  readonly initialMs: number;
  readonly maxMs: number;
}

export const defaultBackoff: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000 };

/**
 * How long after the `count`-th consecutive rejected version a newer one may be offered. The
 * first rejection costs nothing: the usual next version is a person's fix.
 */
export function retryDelayMs(count: number, policy: BackoffPolicy): number {
  if (count <= 1) return 0;
  return Math.min(policy.maxMs, policy.initialMs * 2 ** (count - 2));
}

/** One stream's rejection of one resource. */
export interface Rejection {
  readonly rejectedHash: string;
  /** What the proxy keeps instead; null when it never accepted a version. */
  readonly keptHash: string | null;
  readonly error: string;
  readonly objects: readonly string[];
  /** First rejection of the series. */
  readonly since: Date;
  /** The latest rejection of the series. */
  readonly at: Date;
  /** Consecutive rejected versions. */
  readonly count: number;
  /** Epoch milliseconds from which a newer version is offered. */
  readonly retryAt: number;
}

/** The record after one more rejected version of the resource. */
export function nextRejection(
  previous: Rejection | undefined,
  rejected: Pick<Rejection, "rejectedHash" | "keptHash" | "error" | "objects">,
  at: Date,
  policy: BackoffPolicy,
): Rejection {
  const count = (previous?.count ?? 0) + 1;
  return {
    ...rejected,
    since: previous?.since ?? at,
    at,
    count,
    retryAt: at.getTime() + retryDelayMs(count, policy),
  };
}

export function describeRejection(typeUrl: TypeUrl, name: string, rejection: Rejection): ResourceRejection {
  return {
    type: typeShortName[typeUrl],
    resource: name,
    rejectedHash: rejection.rejectedHash,
    keptHash: rejection.keptHash,
    error: rejection.error,
    objects: rejection.objects,
    since: rejection.since.toISOString(),
    count: rejection.count,
    retryAt: new Date(rejection.retryAt).toISOString(),
  };
}

interface LiveRejection {
  readonly streamId: number;
  readonly nodeId: string;
  readonly typeUrl: TypeUrl;
  readonly name: string;
  readonly rejection: Rejection;
}

/** Live rejections across every stream; reading them costs their number, not the streams'. */
export class RejectionRegistry {
  private readonly live = new Map<string, LiveRejection>();
  private readonly gauge: Gauge<"type">;

  constructor(gauge: Gauge<"type">) {
    this.gauge = gauge;
  }

  /** Records (or, with undefined, forgets) a stream's rejection of a resource. */
  set(
    stream: { readonly id: number; readonly nodeId: string },
    typeUrl: TypeUrl,
    name: string,
    rejection: Rejection | undefined,
  ): void {
    const key = `${stream.id}\t${typeUrl}\t${name}`;
    const had = this.live.has(key);
    if (rejection) {
      this.live.set(key, { streamId: stream.id, nodeId: stream.nodeId, typeUrl, name, rejection });
      if (!had) this.gauge.inc({ type: typeShortName[typeUrl] });
    } else if (had) {
      this.live.delete(key);
      this.gauge.dec({ type: typeShortName[typeUrl] });
    }
  }

  get size(): number {
    return this.live.size;
  }

  report(): NackReport {
    const byObject = new Map<string, ProxyRejection[]>();
    const unattributed: ProxyRejection[] = [];
    for (const entry of [...this.live.values()].sort(compareEntries)) {
      const described: ProxyRejection = {
        nodeId: entry.nodeId,
        streamId: entry.streamId,
        ...describeRejection(entry.typeUrl, entry.name, entry.rejection),
      };
      if (entry.rejection.objects.length === 0) unattributed.push(described);
      for (const object of entry.rejection.objects) {
        byObject.set(object, [...(byObject.get(object) ?? []), described]);
      }
    }
    const objects: ObjectRejection[] = [...byObject]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([object, rejections]) => ({
        object,
        proxies: new Set(rejections.map((r) => r.streamId)).size,
        rejections,
      }));
    return { objects, unattributed };
  }
}

function compareEntries(a: LiveRejection, b: LiveRejection): number {
  const left = `${a.nodeId}\t${String(a.streamId).padStart(12, "0")}\t${a.typeUrl}\t${a.name}`;
  const right = `${b.nodeId}\t${String(b.streamId).padStart(12, "0")}\t${b.typeUrl}\t${b.name}`;
  return left < right ? -1 : left > right ? 1 : 0;
}
