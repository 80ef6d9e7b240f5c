// How many connected proxies each resource is meant for, and how many of them ACKed the version
// meant for them: counters that streams keep up to date as targets and ACKs change, so asking
// costs one lookup however many proxies are connected.
import type { ResourceReach } from "./status.ts";

/** One stream's relation to one resource: not meant for it, meant for it, or meant and ACKed. */
export type Reach = 0 | 1 | 2;

interface Counts {
  subscribed: number;
  acked: number;
}

export class ReachIndex {
  private readonly byType = new Map<string, Map<string, Counts>>();

  /** Applies one stream's change for resource `name` of `typeUrl`. */
  move(typeUrl: string, name: string, from: Reach, to: Reach): void {
    if (from === to) return;
    let names = this.byType.get(typeUrl);
    if (!names) {
      names = new Map();
      this.byType.set(typeUrl, names);
    }
    let counts = names.get(name);
    if (!counts) {
      counts = { subscribed: 0, acked: 0 };
      names.set(name, counts);
    }
    counts.subscribed += Number(to > 0) - Number(from > 0);
    counts.acked += Number(to === 2) - Number(from === 2);
    if (counts.subscribed === 0 && counts.acked === 0) names.delete(name);
  }

  count(typeUrl: string, name: string): ResourceReach {
    const counts = this.byType.get(typeUrl)?.get(name);
    return { subscribed: counts?.subscribed ?? 0, acked: counts?.acked ?? 0 };
  }
}
