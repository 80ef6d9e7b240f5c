// Resource naming. Cluster and route names are global (equal names mean equal content for every
// proxy); listener names are whatever the client dialled, `host:port` (grpc-js-xds uses the
// target authority of `xds:///host:port` literally).
import type { MeshService, MeshSnapshot } from "../mesh/index.ts";
import { serviceKey } from "../mesh/index.ts";

/** A cluster that has no endpoints: where traffic for invalid backends goes, so it fails. */
export const blackholeCluster = "meshplane|blackhole";

export function serviceHost(namespace: string, name: string, domain: string): string {
  return `${name}.${namespace}.svc.${domain}`;
}

/** Istio-style: `outbound|<port>||<service>.<namespace>.svc.<domain>`. */
export function clusterName(namespace: string, name: string, port: number, domain: string): string {
  return `outbound|${port}||${serviceHost(namespace, name, domain)}`;
}

export interface ServicePortRef {
  readonly service: MeshService;
  readonly port: number;
}

export function parseClusterName(mesh: MeshSnapshot, cluster: string): ServicePortRef | undefined {
  const match = /^outbound\|([1-9]\d{0,4})\|\|([^.]+)\.([^.]+)\.svc\.(.+)$/.exec(cluster);
  if (!match || match[4] !== mesh.domain) return undefined;
  const service = mesh.services.get(serviceKey(match[3] as string, match[2] as string));
  const port = Number(match[1]);
  return service?.ports.some((p) => p.port === port) ? { service, port } : undefined;
}

/** Route configuration for callers of a Service port; consumer routes get their own name. */
export function routeConfigName(
  ref: ServicePortRef,
  domain: string,
  consumerNamespace: string | undefined,
): string {
  const base = `${serviceHost(ref.service.namespace, ref.service.name, domain)}:${ref.port}`;
  return consumerNamespace === undefined ? base : `${base}|consumer=${consumerNamespace}`;
}

/**
 * The host names a caller may use for a Service, as DNS search paths allow in Kubernetes:
 * `name` (caller's namespace only), `name.ns`, `name.ns.svc`, the FQDN, and the cluster IP.
 */
export function serviceHostForms(service: MeshService, domain: string): string[] {
  const { name, namespace } = service;
  const forms = [
    name,
    `${name}.${namespace}`,
    `${name}.${namespace}.svc`,
    serviceHost(namespace, name, domain),
  ];
  return service.clusterIP ? [...forms, service.clusterIP] : forms;
}

/** Resolves a dialled `host[:port]` to a Service port, as seen from the caller's namespace. */
export function resolveTarget(
  mesh: MeshSnapshot,
  target: string,
  callerNamespace: string,
): ServicePortRef | undefined {
  const match = /^(.*?)(?::([1-9]\d{0,4}))?$/.exec(target);
  const host = match?.[1] ?? "";
  const portText = match?.[2];
  const service = findService(mesh, host.replace(/\.$/, ""), callerNamespace);
  if (!service) return undefined;
  if (portText === undefined) {
    // Without a port, only a single-port Service is unambiguous.
    return service.ports.length === 1
      ? { service, port: (service.ports[0] as { port: number }).port }
      : undefined;
  }
  const port = Number(portText);
  return service.ports.some((p) => p.port === port) ? { service, port } : undefined;
}

function findService(mesh: MeshSnapshot, host: string, callerNamespace: string): MeshService | undefined {
  const labels = host.split(".");
  const suffix = `svc.${mesh.domain}`.split(".");
  const [name, namespace] = labels;
  if (name === undefined) return undefined;
  if (labels.length === 1) return mesh.services.get(serviceKey(callerNamespace, name));
  const rest = labels.slice(2);
  if (namespace !== undefined && rest.every((label, i) => label === suffix[i])) {
    return mesh.services.get(serviceKey(namespace, name));
  }
  for (const service of mesh.services.values()) {
    if (service.clusterIP === host) return service;
  }
  return undefined;
}
