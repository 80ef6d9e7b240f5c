// The etcd lease calls the leader elector makes, each bounded by a deadline so an unreachable etcd
// fails them instead of leaving them pending (the etcd3 client's own keepalive loop retries for up
// to twice the TTL before it reports a loss, too late for a leader to step down safely).
import { EtcdLeaseInvalidError, castGrpcError, type Etcd3, type ILeaseKeepAliveResponse } from "etcd3";

/** gRPC call options ending `ms` from now (gRPC deadlines are wall-clock). */
export function within(ms: number): { deadline: number } {
  return { deadline: Date.now() + ms };
}

/** A lease of `ttlSeconds`; etcd may grant a longer TTL than asked for, never a shorter one. */
export async function grantLease(
  client: Etcd3,
  ttlSeconds: number,
  timeoutMs: number,
): Promise<{ id: string; ttlSeconds: number }> {
  const granted = await client.leaseClient.leaseGrant({ TTL: ttlSeconds }, within(timeoutMs));
  return { id: granted.ID, ttlSeconds: Number(granted.TTL) };
}

/**
 * Renews lease `id` once: the TTL etcd restarted it with, counted from when etcd received the
 * request. Throws EtcdLeaseInvalidError when etcd no longer has the lease (expired or revoked).
 */
export async function keepAliveOnce(client: Etcd3, id: string, timeoutMs: number): Promise<number> {
  const stream = await client.leaseClient.leaseKeepAlive(within(timeoutMs));
  try {
    const response = await new Promise<ILeaseKeepAliveResponse>((resolve, reject) => {
      stream.on("data", resolve);
      stream.on("error", (error) => reject(castGrpcError(error)));
      stream.on("end", () => reject(new Error("etcd ended the keepalive stream without an answer")));
      stream.write({ ID: id });
    });
    const ttl = Number(response.TTL);
    // etcd answers a renewal of a lease it does not know with TTL 0.
    if (!(ttl > 0)) throw new EtcdLeaseInvalidError(id);
    return ttl;
  } finally {
    stream.end();
  }
}

/** Revokes lease `id` (etcd deletes its keys); a lease already gone counts as revoked. */
export async function revokeLease(client: Etcd3, id: string, timeoutMs: number): Promise<void> {
  try {
    await client.leaseClient.leaseRevoke({ ID: id }, within(timeoutMs));
  } catch (error) {
    if (!(error instanceof EtcdLeaseInvalidError)) throw error;
  }
}
