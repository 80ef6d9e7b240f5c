// `meshplane diff -f CHANGE.yaml`: before applying a change, which xDS resources it would change
// for each proxy group of the live proxies, how (a line diff of the rendered proto JSON), and
// which proxies hold each. The configuration served now comes from the admin address
// (/debug/resources), the proxies from every replica (/debug/syncz).
import type { Command } from "commander";
import type { Resource } from "../api/index.ts";
import {
  analyzeFiles,
  applyChanges,
  diffResources,
  finding,
  sortFindings,
  type ResourceDifference,
  type SubscribedProxy,
} from "../analyze/index.ts";
import type { ProxyStatus } from "../xds/index.ts";
import { adminAddressOption, adminGet, guarded, replicaViews } from "./admin-client.ts";
import { renderFindings } from "./analyze.ts";
import { reportUnreachable } from "./proxy-status.ts";
import { formatData, outputOption, type OutputFormat } from "./table.ts";
import { trustDomainOption } from "./security.ts";

const typeNames: Readonly<Record<string, string>> = {
  "type.googleapis.com/envoy.config.listener.v3.Listener": "Listener",
  "type.googleapis.com/envoy.config.route.v3.RouteConfiguration": "RouteConfiguration",
  "type.googleapis.com/envoy.config.cluster.v3.Cluster": "Cluster",
  "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment": "ClusterLoadAssignment",
};

export function subscribedProxy(proxy: ProxyStatus, replica: string): SubscribedProxy {
  return {
    node: proxy.nodeId,
    replica,
    profile: { namespace: proxy.namespace, flavour: proxy.flavour, instanceIps: proxy.instanceIps },
    types: proxy.types.map((t) => ({ typeUrl: t.typeUrl, wildcard: t.wildcard, subscribed: t.subscribed })),
  };
}

export function renderDifferences(differences: readonly ResourceDifference[], proxyCount: number): string {
  if (differences.length === 0)
    return `no xDS resource of the ${proxyCount} connected proxies would change\n`;
  const blocks = differences.map((d) => {
    const reach = `reaches ${d.proxies.length} of ${proxyCount} proxies: ${d.proxies.join(", ")}`;
    return `${typeNames[d.typeUrl] ?? d.typeUrl} ${d.name} (${d.change}; group ${d.group}) ${reach}\n--- served now\n+++ after the change\n${d.diff}`;
  });
  return `${blocks.join("\n")}\n${differences.length} resources would change\n`;
}

interface DiffFlags {
  filename: string[];
  trustDomain: string;
  adminAddress: string[];
  output: OutputFormat;
}

export function registerDiff(program: Command): void {
  program
    .command("diff")
    .description(
      "before applying a change: which xDS resources of the live proxies it changes, how, and which proxies hold them",
    )
    .requiredOption(
      "-f, --filename <files...>",
      "the changed objects (YAML/JSON); each replaces the object of its kind, namespace and name",
    )
    .addOption(trustDomainOption("SPIFFE trust domain, as the live `meshplane serve --trust-domain`"))
    .addOption(adminAddressOption())
    .addOption(outputOption())
    .action(
      guarded(async (opts: DiffFlags) => {
        const address = opts.adminAddress[0] as string;
        const served = await adminGet<{ domain: string; objects: Resource[] }>(address, "/debug/resources");
        const build = { domain: served.domain, trustDomain: opts.trustDomain };
        const change = await analyzeFiles(opts.filename, build);
        // Only the files' own problems: a mesh issue may be one the change fixes.
        const refused = sortFindings(change.errors.filter((e) => e.reason === undefined).map(finding));
        if (refused.length > 0) {
          process.stderr.write(`the change would be refused:\n${renderFindings(refused)}`);
          process.exitCode = 1;
          return;
        }
        const { views, unreachable } = await replicaViews(opts.adminAddress);
        reportUnreachable(unreachable);
        const proxies: SubscribedProxy[] = [];
        for (const view of views) {
          const { proxies: status } = await adminGet<{ proxies: ProxyStatus[] }>(
            view.address,
            "/debug/syncz",
          );
          proxies.push(...status.map((p) => subscribedProxy(p, view.replica)));
        }
        const after = applyChanges(served.objects, change.resources);
        const differences = diffResources(served.objects, after, proxies, build);
        process.stdout.write(
          opts.output === "table"
            ? renderDifferences(differences, proxies.length)
            : formatData(differences, opts.output),
        );
      }),
    );
}
