// How operator commands reach a running meshplane: its admin address (HOST:PORT), GET only, JSON
// back. Each replica's admin server knows only its own proxies; `replicaViews` finds the others
// through the replica reports every replica writes to the shared store (/debug/replicas).
import { InvalidArgumentError, Option } from "commander";

export const defaultAdminAddress = "127.0.0.1:15014";
const requestTimeoutMs = 5000;

/** A request to an admin server that failed; the message names the address and what to check. */
export class AdminRequestError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = "AdminRequestError";
    this.status = status;
  }
}

/** `--admin-address HOST:PORT[,HOST:PORT...]`, the default shown as HOST:PORT. */
export function adminAddressOption(): Option {
  return new Option(
    "--admin-address <host:port[,host:port...]>",
    "meshplane's admin address; with several replicas, any one (the others are found through it) or each",
  )
    .argParser(adminAddresses)
    .default([defaultAdminAddress], defaultAdminAddress);
}

export function adminAddresses(value: string): string[] {
  const addresses = value.split(",").map((a) => a.trim());
  for (const address of addresses) {
    if (!/^(\[[0-9a-fA-F:]+\]|[^:[\]/]+):\d{1,5}$/.test(address))
      throw new InvalidArgumentError(`expected HOST:PORT (e.g. ${defaultAdminAddress}), got "${address}"`);
  }
  return addresses;
}

export async function adminGet<T>(address: string, path: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(requestTimeoutMs) });
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    throw new AdminRequestError(
      `meshplane admin at ${address} not reachable (${cause}): is \`meshplane serve\` running with --admin-address ${address}?`,
    );
  }
  const text = await response.text();
  if (!response.ok) {
    const reason = (safeJson(text) as { error?: string } | undefined)?.error ?? text.trim();
    throw new AdminRequestError(`${address}${path}: HTTP ${response.status}: ${reason}`, response.status);
  }
  const body = safeJson(text);
  if (body === undefined) throw new AdminRequestError(`${address}${path}: the answer is not JSON`);
  return body as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** One replica's admin server, as found. */
export interface ReplicaView {
  /** The replica's name (its --replica-id), or the address when it does not say. */
  readonly replica: string;
  readonly address: string;
}

/** A live replica that could not be asked, and why: its proxies are missing from the answer. */
export interface UnreachableReplica {
  readonly replica: string;
  readonly proxies: number;
  readonly reason: string;
}

interface ReplicaEntry {
  readonly replica: string;
  readonly proxies: number;
  readonly adminAddress?: string;
}

/**
 * The admin servers to ask: the given ones, and every other live replica named in the replica
 * reports. A given address that does not answer is an error; a discovered one that does not is
 * listed as unreachable, so the caller can say whose proxies it could not see.
 */
export async function replicaViews(
  given: readonly string[],
): Promise<{ views: ReplicaView[]; unreachable: UnreachableReplica[] }> {
  const views: ReplicaView[] = [];
  for (const address of given) {
    const info = await adminGet<{ replica?: string }>(address, "/debug/replica").catch(
      (error: unknown): { replica?: string } => {
        if (error instanceof AdminRequestError && error.status === 404) return {};
        throw error;
      },
    );
    views.push({ replica: info.replica ?? address, address });
  }
  const unreachable: UnreachableReplica[] = [];
  let reports: readonly ReplicaEntry[] = [];
  try {
    reports = (await adminGet<{ replicas: ReplicaEntry[] }>(given[0] ?? "", "/debug/replicas")).replicas;
  } catch (error) {
    // Without a store there are no reports: the given replicas are all there is to ask.
    if (!(error instanceof AdminRequestError && error.status === 404)) throw error;
  }
  for (const report of reports) {
    if (views.some((v) => v.replica === report.replica)) continue;
    if (report.adminAddress === undefined) {
      const reason = "its report names no admin address (it has not finished starting)";
      unreachable.push({ replica: report.replica, proxies: report.proxies, reason });
      continue;
    }
    try {
      const info = await adminGet<{ replica?: string }>(report.adminAddress, "/debug/replica");
      if (info.replica !== report.replica)
        throw new Error(`${report.adminAddress} answers as replica ${String(info.replica)}`);
      views.push({ replica: report.replica, address: report.adminAddress });
    } catch (error) {
      unreachable.push({
        replica: report.replica,
        proxies: report.proxies,
        reason: (error as Error).message,
      });
    }
  }
  return { views, unreachable };
}

/**
 * Runs a command's action; a failure to reach meshplane (or any other) is one line on stderr and
 * exit code 2, kept apart from the findings' exit code 1.
 */
export function guarded<A extends unknown[]>(
  action: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (error) {
      process.stderr.write(`error: ${(error as Error).message}\n`);
      process.exitCode = 2;
    }
  };
}
