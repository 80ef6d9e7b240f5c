// `meshplane proxy-config NODE listeners|routes|clusters|endpoints|secrets`: the resources one
// proxy holds (what it ACKed, from /debug/config_dump), as tables like istioctl's, or the decoded
// protos as JSON/YAML. The proxy may be connected to any replica: each is asked until one has it.
import { Argument, type Command } from "commander";
import { AdminRequestError, adminAddressOption, adminGet, guarded, replicaViews } from "./admin-client.ts";
import { reportUnreachable } from "./proxy-status.ts";
import { formatData, formatTable, outputOption, type OutputFormat } from "./table.ts";

/** The kinds a user asks for, and the config dump's key (xds typeShortName) for each. */
export const configKinds = {
  listeners: "lds",
  routes: "rds",
  clusters: "cds",
  endpoints: "eds",
  secrets: "sds",
} as const;

export type ConfigKind = keyof typeof configKinds;

interface DumpEntry {
  readonly version: string;
  readonly resource: Json;
}

interface ProxyDump {
  readonly nodeId: string;
  readonly streamId: number;
  readonly resources: Record<string, Record<string, DumpEntry>>;
}

type Json = { readonly [key: string]: unknown };

const obj = (value: unknown): Json =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
const arr = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : []);
const str = (value: unknown): string => (value === undefined || value === null ? "" : String(value));

function socketAddress(address: unknown): string {
  const socket = obj(obj(address).socketAddress);
  if (socket.address === undefined) return "";
  const host = str(socket.address);
  return `${host.includes(":") ? `[${host}]` : host}:${str(socket.portValue)}`;
}

function listenerRows(name: string, listener: Json): string[][] {
  const manager = obj(obj(listener.apiListener).apiListener);
  if (Object.keys(manager).length > 0) {
    const routes = str(obj(manager.rds).routeConfigName) || (manager.routeConfig ? "(inline)" : "");
    return [[name, "api listener (gRPC)", routes]];
  }
  const address = socketAddress(listener.address);
  return [[name, address || "-", `${arr(listener.filterChains).length} filter chains`]];
}

function matchText(match: Json): string {
  const path =
    match.prefix !== undefined
      ? `prefix ${str(match.prefix)}`
      : match.path !== undefined
        ? `path ${str(match.path)}`
        : match.safeRegex !== undefined
          ? `regex ${str(obj(match.safeRegex).regex)}`
          : match.pathSeparatedPrefix !== undefined
            ? `prefix ${str(match.pathSeparatedPrefix)}`
            : "";
  const headers = arr(match.headers).map((h) => `header ${str(obj(h).name)}`);
  return [path, ...headers].filter(Boolean).join(", ");
}

function destinationText(route: Json): string {
  const action = obj(route.route);
  if (action.cluster !== undefined) return str(action.cluster);
  const weighted = arr(obj(action.weightedClusters).clusters);
  if (weighted.length > 0)
    return weighted.map((c) => `${str(obj(c).name)} (${str(obj(c).weight)})`).join(", ");
  if (route.directResponse !== undefined) return `direct response ${str(obj(route.directResponse).status)}`;
  if (route.redirect !== undefined) return "redirect";
  return "-";
}

function routeRows(name: string, config: Json): string[][] {
  return arr(config.virtualHosts).flatMap((vh) => {
    const host = obj(vh);
    const domains = arr(host.domains).map(str);
    const shown =
      domains.length > 3 ? `${domains.slice(0, 3).join(",")} +${domains.length - 3} more` : domains.join(",");
    return arr(host.routes).map((r) => {
      const route = obj(r);
      return [name, str(host.name), shown, matchText(obj(route.match)), destinationText(route)];
    });
  });
}

function clusterRows(name: string, cluster: Json): string[][] {
  const type = cluster.type !== undefined ? str(cluster.type) : cluster.clusterType ? "custom" : "EDS";
  const eds = str(obj(cluster.edsClusterConfig).serviceName);
  return [[name, type, str(cluster.lbPolicy) || "ROUND_ROBIN", eds]];
}

function endpointRows(name: string, assignment: Json): string[][] {
  return arr(assignment.endpoints).flatMap((l) => {
    const locality = obj(l);
    const zone = str(obj(locality.locality).zone) || "-";
    return arr(locality.lbEndpoints).map((e) => {
      const endpoint = obj(e);
      return [
        name,
        socketAddress(obj(endpoint.endpoint).address),
        zone,
        str(locality.priority ?? 0),
        str(locality.loadBalancingWeight ?? ""),
        str(endpoint.healthStatus ?? "UNKNOWN"),
      ];
    });
  });
}

/** SDS secrets meshplane serves name files (the workload's agent writes them); show which. */
function secretRows(name: string, secret: Json): string[][] {
  const kind = secret.tlsCertificate ? "certificate" : secret.validationContext ? "trust bundle" : "other";
  const body = obj(secret.tlsCertificate ?? secret.validationContext);
  const files = [body.certificateChain, body.privateKey, body.trustedCa]
    .map((source) => str(obj(source).filename))
    .filter(Boolean);
  return [[name, kind, files.join(",") || "-"]];
}

const tables: Record<ConfigKind, { header: string[]; rows: (name: string, resource: Json) => string[][] }> = {
  listeners: { header: ["NAME", "ADDRESS", "ROUTES"], rows: listenerRows },
  routes: { header: ["NAME", "VIRTUAL HOST", "DOMAINS", "MATCH", "DESTINATION (WEIGHT)"], rows: routeRows },
  clusters: { header: ["NAME", "TYPE", "LB POLICY", "EDS SERVICE"], rows: clusterRows },
  endpoints: { header: ["CLUSTER", "ENDPOINT", "ZONE", "PRIORITY", "WEIGHT", "HEALTH"], rows: endpointRows },
  secrets: { header: ["NAME", "KIND", "FILES"], rows: secretRows },
};

/** The proxy's resources of `kind` as a table, by name. */
export function renderConfigTable(kind: ConfigKind, resources: Record<string, DumpEntry>): string {
  const names = Object.keys(resources).sort();
  const { header, rows } = tables[kind];
  return formatTable(
    header,
    names.flatMap((name) => rows(name, (resources[name] as DumpEntry).resource)),
  );
}

/** The node's dumps from whichever replicas have it connected. */
async function findDumps(
  addresses: readonly string[],
  node: string,
): Promise<(ProxyDump & { replica: string })[]> {
  const { views, unreachable } = await replicaViews(addresses);
  const found: (ProxyDump & { replica: string })[] = [];
  for (const view of views) {
    try {
      const { proxies } = await adminGet<{ proxies: ProxyDump[] }>(
        view.address,
        `/debug/config_dump?node=${encodeURIComponent(node)}`,
      );
      found.push(...proxies.map((p) => ({ ...p, replica: view.replica })));
    } catch (error) {
      if (!(error instanceof AdminRequestError && error.status === 404)) throw error;
    }
  }
  if (found.length === 0) reportUnreachable(unreachable);
  return found;
}

export function registerProxyConfig(program: Command): void {
  program
    .command("proxy-config")
    .description("the resources one proxy holds (ACKed), as a table or as the decoded protos")
    .argument("<node>", "the proxy's node id")
    .addArgument(new Argument("<kind>", "what to show").choices(Object.keys(configKinds)))
    .option("--name <name>", "only the resource with this name")
    .addOption(adminAddressOption())
    .addOption(outputOption())
    .action(
      guarded(
        async (
          node: string,
          kind: ConfigKind,
          opts: { adminAddress: string[]; output: OutputFormat; name?: string },
        ) => {
          const dumps = await findDumps(opts.adminAddress, node);
          if (dumps.length === 0) {
            process.stderr.write(`no connected proxy with node id ${JSON.stringify(node)}\n`);
            process.exitCode = 1;
            return;
          }
          const out: string[] = [];
          const data: unknown[] = [];
          for (const dump of dumps) {
            const all = dump.resources[configKinds[kind]] ?? {};
            const held = Object.fromEntries(
              Object.entries(all).filter(([name]) => opts.name === undefined || name === opts.name),
            );
            if (dumps.length > 1) out.push(`# stream ${dump.streamId} on replica ${dump.replica}\n`);
            out.push(renderConfigTable(kind, held));
            data.push(
              ...Object.keys(held)
                .sort()
                .map((name) => ({
                  node: dump.nodeId,
                  replica: dump.replica,
                  name,
                  ...(held[name] as DumpEntry),
                })),
            );
          }
          if (opts.output === "table") process.stdout.write(out.join(""));
          else process.stdout.write(formatData(data, opts.output));
          if (kind === "secrets" && data.length === 0 && opts.output === "table")
            process.stderr.write(
              "no secrets: the proxy holds no SDS secrets (proxyless gRPC reads its certificates from files; an Envoy sidecar asks for them once a TLS context names them)\n",
            );
        },
      ),
    );
}
