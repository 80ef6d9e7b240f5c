// `meshplane proxy-status [NODE]`: per proxy and xDS type SYNCED / STALE / NOT SENT / NACKED
// (xds/sync-state.ts says exactly when), the replica each proxy is connected to and the client it
// runs. Exit code 1 when a proxy NACKs, or when a live replica could not be asked (its proxies
// are unknown). Proxies of every replica are listed: see admin-client.ts.
import type { Command } from "commander";
import { TypeUrl, typeSyncState, type ProxyStatus, type SyncState } from "../xds/index.ts";
import {
  adminAddressOption,
  adminGet,
  guarded,
  replicaViews,
  type UnreachableReplica,
} from "./admin-client.ts";
import { formatData, formatTable, outputOption, type OutputFormat } from "./table.ts";

/** Columns in push order, as istioctl shows them. */
const columns = [
  ["CDS", TypeUrl.Cluster],
  ["EDS", TypeUrl.ClusterLoadAssignment],
  ["LDS", TypeUrl.Listener],
  ["RDS", TypeUrl.RouteConfiguration],
] as const;

export interface TypeRow {
  readonly state: SyncState;
  readonly error?: string;
  readonly subscribed: number | "*";
  readonly sentVersion: string | null;
  readonly ackedVersion: string | null;
  readonly latestVersion: string | null;
  readonly nacks: number;
}

export interface ProxyRow {
  readonly node: string;
  readonly namespace: string;
  readonly replica: string;
  readonly streamId: number;
  readonly protocol: string;
  readonly client: string;
  readonly connectedAt: string;
  /** By column name (CDS, EDS, LDS, RDS); absent: not subscribed. */
  readonly types: Partial<Record<(typeof columns)[number][0], TypeRow>>;
}

export function proxyRow(proxy: ProxyStatus, replica: string): ProxyRow {
  const types: ProxyRow["types"] = {};
  for (const [column, typeUrl] of columns) {
    const type = proxy.types.find((t) => t.typeUrl === typeUrl);
    if (!type) continue;
    const verdict = typeSyncState(type, proxy.rejections);
    types[column] = {
      state: verdict.state,
      ...(verdict.error === undefined ? {} : { error: verdict.error }),
      subscribed: type.wildcard ? "*" : type.subscribed.length,
      sentVersion: type.sentVersion,
      ackedVersion: type.ackedVersion,
      latestVersion: type.latestVersion,
      nacks: type.nackCount,
    };
  }
  return {
    node: proxy.nodeId,
    namespace: proxy.namespace,
    replica,
    streamId: proxy.streamId,
    protocol: proxy.protocol,
    client: proxy.userAgent || "unknown",
    connectedAt: proxy.connectedAt,
    types,
  };
}

export function isNacked(row: ProxyRow): boolean {
  return Object.values(row.types).some((t) => t.state === "NACKED");
}

/** The table, then one line per NACKed type with the proxy's error. */
export function renderProxyStatus(rows: readonly ProxyRow[]): string {
  const header = ["NAME", "REPLICA", "CLIENT", ...columns.map(([c]) => c)];
  const table = formatTable(
    header,
    rows.map((r) => [r.node, r.replica, r.client, ...columns.map(([c]) => r.types[c]?.state ?? "-")]),
  );
  const nacks = rows.flatMap((r) =>
    columns.flatMap(([c]) => {
      const type = r.types[c];
      return type?.state === "NACKED"
        ? [`NACKED ${r.node} ${c} (replica ${r.replica}): ${type.error ?? ""}`]
        : [];
    }),
  );
  return nacks.length > 0 ? `${table}\n${nacks.join("\n")}\n` : table;
}

/** One proxy in detail: every type with its versions and subscription. */
export function renderProxyDetail(rows: readonly ProxyRow[]): string {
  return rows
    .map((r) => {
      const head = `${r.node} (namespace ${r.namespace}) on replica ${r.replica}, stream ${r.streamId} (${r.protocol}), client ${r.client}, connected ${r.connectedAt}\n`;
      const table = formatTable(
        ["TYPE", "STATE", "SUBSCRIBED", "SENT", "ACKED", "LATEST", "NACKS", "ERROR"],
        columns.map(([c]) => {
          const t = r.types[c];
          if (!t) return [c, "-", "not subscribed", "", "", "", "", ""];
          return [
            c,
            t.state,
            String(t.subscribed),
            t.sentVersion ?? "-",
            t.ackedVersion ?? "-",
            t.latestVersion ?? "-",
            String(t.nacks),
            t.error ?? "",
          ];
        }),
      );
      return head + table;
    })
    .join("\n");
}

export async function collectProxyRows(
  addresses: readonly string[],
  node: string | undefined,
): Promise<{ rows: ProxyRow[]; unreachable: UnreachableReplica[] }> {
  const { views, unreachable } = await replicaViews(addresses);
  const query = node === undefined ? "" : `?node=${encodeURIComponent(node)}`;
  const rows: ProxyRow[] = [];
  for (const view of views) {
    const { proxies } = await adminGet<{ proxies: ProxyStatus[] }>(view.address, `/debug/syncz${query}`);
    rows.push(...proxies.map((p) => proxyRow(p, view.replica)));
  }
  rows.sort((a, b) =>
    a.node < b.node
      ? -1
      : a.node > b.node
        ? 1
        : a.replica < b.replica
          ? -1
          : a.replica > b.replica
            ? 1
            : a.streamId - b.streamId,
  );
  return { rows, unreachable };
}

export function reportUnreachable(unreachable: readonly UnreachableReplica[]): void {
  for (const r of unreachable) {
    process.stderr.write(
      `warning: replica ${r.replica} (${r.proxies} proxies) not asked: ${r.reason}; give its admin address with --admin-address\n`,
    );
  }
}

export function registerProxyStatus(program: Command): void {
  program
    .command("proxy-status")
    .description(
      "per proxy and xDS type: SYNCED, STALE, NOT SENT or NACKED, with its replica and client; exits 1 when any proxy NACKs",
    )
    .argument("[node]", "one proxy's node id: every type in detail")
    .addOption(adminAddressOption())
    .addOption(outputOption())
    .action(
      guarded(async (node: string | undefined, opts: { adminAddress: string[]; output: OutputFormat }) => {
        const { rows, unreachable } = await collectProxyRows(opts.adminAddress, node);
        reportUnreachable(unreachable);
        if (node !== undefined && rows.length === 0) {
          process.stderr.write(`no connected proxy with node id ${JSON.stringify(node)}\n`);
          process.exitCode = 1;
          return;
        }
        if (opts.output !== "table") process.stdout.write(formatData(rows, opts.output));
        else process.stdout.write(node === undefined ? renderProxyStatus(rows) : renderProxyDetail(rows));
        if (rows.some(isNacked) || unreachable.length > 0) process.exitCode = 1;
      }),
    );
}
