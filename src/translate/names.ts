// Resource naming. Cluster and route names are global (equal names mean equal content for every
// proxy); listener names are whatever the client dialled, `host:port` (grpc-js-xds uses the
// target authority of `xds:///host:port` literally).
import type { ServiceShape } from "../mesh/index.ts";
import type { MeshView } from "./view.ts";

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
  readonly service: ServiceShape;
  readonly port: number;
}

/** The Service port ref names it, in the form the view's per-port reads take. */
export function portName(ref: ServicePortRef): { namespace: string; name: string; port: number } {
  return { namespace: ref.service.namespace, name: ref.service.name, port: ref.port };
}

export function parseClusterName(view: MeshView, cluster: string): ServicePortRef | undefined {
  const match = /^outbound\|([1-9]\d{0,4})\|\|([^.]+)\.([^.]+)\.svc\.(.+)$/.exec(cluster);
  if (!match || match[4] !== view.domain) return undefined;
  const service = view.service(match[3] as string, match[2] as string);
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
export function serviceHostForms(service: ServiceShape, domain: string): string[] {
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
  view: MeshView,
  target: string,
  callerNamespace: string,
): ServicePortRef | undefined {
  const match = /^(.*?)(?::([1-9]\d{0,4}))?$/.exec(target);
  const host = match?.[1] ?? "";
  const portText = match?.[2];
  const service = findService(view, host.replace(/\.$/, ""), callerNamespace);
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

function findService(view: MeshView, host: string, callerNamespace: string): ServiceShape | undefined {
  const labels = host.split(".");
  const suffix = `svc.${view.domain}`.split(".");
  const [name, namespace] = labels;
  if (name === undefined) return undefined;
  if (labels.length === 1) return view.service(callerNamespace, name);
  const rest = labels.slice(2);
  if (namespace !== undefined && rest.every((label, i) => label === suffix[i])) {
    return view.service(namespace, name);
  }
  return view.serviceWithClusterIP(host);
}
