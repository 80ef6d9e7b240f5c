// Open ADS streams, in all and per remote address, against the limits `xds.streams` and
// `xds.streamsPerPeer`: one host cannot take every stream a replica can hold. (Streams per
// connection are bounded by HTTP/2 itself, see server.ts.)
import { isIP } from "node:net";
import { LimitExceededError, type Limits } from "../limits/index.ts";

export type StreamLimits = Pick<Limits, "xds.streams" | "xds.streamsPerPeer">;

export class StreamCounts {
  private total = 0;
  private readonly byPeer = new Map<string, number>();
  private readonly limits: StreamLimits;

  constructor(limits: StreamLimits) {
    this.limits = limits;
  }

  /** Counts a new stream from address `peer`, or returns the limit it would exceed and counts nothing. */
  open(peer: string): LimitExceededError | undefined {
    const total = this.limits["xds.streams"];
    if (this.total >= total) {
      return new LimitExceededError("xds.streams", total, "the open xDS streams on this replica");
    }
    const perPeer = this.limits["xds.streamsPerPeer"];
    const fromPeer = this.byPeer.get(peer) ?? 0;
    if (fromPeer >= perPeer) {
      return new LimitExceededError("xds.streamsPerPeer", perPeer, `the open xDS streams from ${peer}`);
    }
    this.total++;
    this.byPeer.set(peer, fromPeer + 1);
    return undefined;
  }

  /** A stream counted by open(peer) ended. */
  close(peer: string): void {
    const fromPeer = this.byPeer.get(peer);
    if (fromPeer === undefined) return;
    this.total--;
    if (fromPeer > 1) this.byPeer.set(peer, fromPeer - 1);
    else this.byPeer.delete(peer);
  }
}

/**
 * The remote address of a call's peer as grpc-js reports it (`address:port`, IPv6 without
 * brackets, or the address alone): streams are counted per address, whatever the port.
 */
export function peerAddress(peer: string): string {
  const colon = peer.lastIndexOf(":");
  if (colon > 0 && /^\d+$/.test(peer.slice(colon + 1))) {
    const address = peer.slice(0, colon);
    if (isIP(address) !== 0) return address;
  }
  return peer;
}
