// The mesh as translators read it, cut into facets: each a value under a key, the unit in which
// reads are recorded and changes are found (after Istio krt, where a transformation's fetches are
// its dependencies). A key names an object (`Service ns/name`, `GRPCRoute ns/name`), a part of one
// (`endpoints ns/name:port`), or a collection whose membership changes when objects come and go
// (`services`, `port 80`). Diffing two meshes' facets gives the change set in the very keys the
// generators record, whatever caused it: deleting a Service changes the routes whose backends
// named it, because their resolved rules change. Pure.
import type { EndpointSource, MeshEndpoint, MeshRoute, MeshSnapshot, ServicePolicy } from "./model.ts";
import { effectivePolicy, serviceKey } from "./model.ts";
import type { PortSecurity } from "./security-model.ts";
import type { RouteIdentity } from "./select.ts";

/** A dependency key; see the `facetKey` constructors. */
export type FacetKey = string;

export interface PortShape {
  readonly name: string | undefined;
  readonly port: number;
  readonly appProtocol: string | undefined;
}

/** A Service without its endpoints and policies, which are facets of their own. */
export interface ServiceShape {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIP: string | undefined;
  readonly ports: readonly PortShape[];
  /** The identities its servers present (MeshService.serviceAccounts). */
  readonly serviceAccounts: readonly string[];
}

export interface ServicePortName {
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
}

/** A Service port with an endpoint at some address, and the port that endpoint listens on. */
export interface AddressServer extends ServicePortName {
  readonly targetPort: number;
}

export const facetKey = {
  service: (namespace: string, name: string) => `Service ${namespace}/${name}`,
  endpoints: (namespace: string, name: string, port: number) => `endpoints ${namespace}/${name}:${port}`,
  policy: (namespace: string, name: string, port: number) => `policy ${namespace}/${name}:${port}`,
  /** mTLS mode, authorization and JWT rules of a Service port. */
  security: (namespace: string, name: string, port: number) => `security ${namespace}/${name}:${port}`,
  /** Security of servers outside every Service: mesh-wide policies. */
  meshSecurity: () => "mesh security",
  /** Who is attached to a Service port (not their rules). */
  attached: (namespace: string, name: string, port: number) => `routes ${namespace}/${name}:${port}`,
  route: (route: RouteIdentity) => `${route.kind} ${route.namespace}/${route.name}`,
  /** Every Service port. */
  servicePorts: () => "services",
  /** The Services with a port numbered `port`. */
  port: (port: number) => `port ${port}`,
  /** Every Service port number. */
  ports: () => "ports",
  clusterIP: (ip: string) => `clusterIP ${ip}`,
  /** Every port some endpoint listens on. */
  endpointPorts: () => "endpoint ports",
  /** The Service ports with endpoints at `address`, with the ports those endpoints listen on. */
  address: (address: string) => `address ${address}`,
} as const;

export interface Facet<T> {
  readonly value: T;
  /** The configuration objects (`Kind namespace/name`) the value was built from. */
  readonly objects: readonly string[];
  /** Values a data plane's error may quote to single out one of `objects` (endpoint addresses). */
  readonly addresses?: readonly EndpointSource[];
}

interface Entry extends Facet<unknown> {
  readonly fingerprint: string;
}

/** Every facet of one mesh, keyed; built once per mesh snapshot. */
export class MeshFacets {
  readonly domain: string;
  readonly trustDomain: string;
  private readonly entries = new Map<FacetKey, Entry>();

  constructor(mesh: MeshSnapshot) {
    this.domain = mesh.domain;
    this.trustDomain = mesh.trustDomain;
    this.set(facetKey.meshSecurity(), {
      value: mesh.meshSecurity,
      objects: securityObjects(mesh.meshSecurity),
    });
    const servicePorts: ServicePortName[] = [];
    const byPort = new Map<number, string[]>();
    const clusterIPs = new Map<string, string>();
    const endpointPorts = new Set<number>();
    const byAddress = new Map<
      string,
      { servers: Map<string, AddressServer>; sources: Map<string, EndpointSource> }
    >();
    const sources: EndpointSource[] = [];
    for (const service of mesh.services.values()) {
      const { namespace, name } = service;
      const shape: ServiceShape = {
        namespace,
        name,
        clusterIP: service.clusterIP,
        ports: service.ports.map((p) => ({ name: p.name, port: p.port, appProtocol: p.appProtocol })),
        serviceAccounts: service.serviceAccounts,
      };
      this.set(facetKey.service(namespace, name), {
        value: shape,
        objects: [`Service ${namespace}/${name}`],
      });
      if (service.clusterIP !== undefined && !clusterIPs.has(service.clusterIP)) {
        clusterIPs.set(service.clusterIP, serviceKey(namespace, name));
      }
      for (const port of service.ports) {
        servicePorts.push({ namespace, name, port: port.port });
        byPort.set(port.port, [...(byPort.get(port.port) ?? []), serviceKey(namespace, name)]);
        this.set(facetKey.endpoints(namespace, name, port.port), {
          value: port.endpoints,
          objects: port.slices.map((s) => s.object),
          addresses: port.slices,
        });
        const policy = effectivePolicy(service, port);
        this.set(facetKey.policy(namespace, name, port.port), {
          value: policy,
          objects: policy ? [policy.source] : [],
        });
        this.set(facetKey.security(namespace, name, port.port), {
          value: port.security,
          objects: securityObjects(port.security),
        });
        for (const endpoint of port.endpoints) {
          endpointPorts.add(endpoint.port);
          const at = byAddress.get(endpoint.address) ?? { servers: new Map(), sources: new Map() };
          const server = { namespace, name, port: port.port, targetPort: endpoint.port };
          at.servers.set(`${namespace}/${name}:${port.port}:${endpoint.port}`, server);
          byAddress.set(endpoint.address, at);
        }
        sources.push(...port.slices);
      }
    }
    for (const source of sources) {
      for (const address of source.addresses) byAddress.get(address)?.sources.set(source.object, source);
    }
    for (const attachments of mesh.attachments.values()) {
      const [first] = attachments;
      if (!first) continue;
      const routes = attachments.map((a) => a.route);
      this.set(facetKey.attached(first.serviceNamespace, first.serviceName, first.port), {
        value: routes.map((r): RouteIdentity => ({ kind: r.kind, namespace: r.namespace, name: r.name })),
        objects: [],
      });
      for (const route of routes)
        this.set(facetKey.route(route), { value: route, objects: routeObjects(route) });
    }
    // In the mesh's order (the order of the configuration), which wildcard lists keep.
    this.set(facetKey.servicePorts(), { value: servicePorts, objects: [] });
    for (const [port, services] of byPort)
      this.set(facetKey.port(port), { value: services.sort(), objects: [] });
    this.set(facetKey.ports(), { value: [...byPort.keys()].sort(byNumber), objects: [] });
    for (const [ip, service] of clusterIPs) this.set(facetKey.clusterIP(ip), { value: service, objects: [] });
    this.set(facetKey.endpointPorts(), { value: [...endpointPorts].sort(byNumber), objects: [] });
    for (const [address, at] of byAddress) {
      const slices = [...at.sources.values()];
      this.set(facetKey.address(address), {
        value: [...at.servers.values()].sort(byServer),
        objects: slices.map((s) => s.object),
        addresses: slices,
      });
    }
  }

  /** The facet under `key`; undefined when the mesh has nothing there (a lookup that finds nothing). */
  get<T>(key: FacetKey): Facet<T> | undefined {
    return this.entries.get(key) as Facet<T> | undefined;
  }

  /** Keys whose values differ between `previous` and this mesh, absent on one side included. */
  changedSince(previous: MeshFacets): Set<FacetKey> {
    const changed = new Set<FacetKey>();
    for (const [key, entry] of this.entries) {
      if (previous.entries.get(key)?.fingerprint !== entry.fingerprint) changed.add(key);
    }
    for (const key of previous.entries.keys()) if (!this.entries.has(key)) changed.add(key);
    return changed;
  }

  private set(key: FacetKey, facet: Facet<unknown>): void {
    this.entries.set(key, { ...facet, fingerprint: fingerprint(facet) });
  }
}

function byServer(a: AddressServer, b: AddressServer): number {
  return (
    a.targetPort - b.targetPort ||
    (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
    a.port - b.port
  );
}

/** Typed views of the facet values the constructors above store. */
export type EndpointsFacet = readonly MeshEndpoint[];
export type PolicyFacet = ServicePolicy | undefined;
export type SecurityFacet = PortSecurity;
export type AttachedFacet = readonly RouteIdentity[];
export type ServicePortsFacet = readonly ServicePortName[];
/** `namespace/name` of the Services with a port. */
export type PortFacet = readonly string[];
export type AddressFacet = readonly AddressServer[];

/** A route's blame: itself and the FaultInjection objects its rules use. */
function routeObjects(route: MeshRoute): string[] {
  const faults = route.rules.flatMap((rule) =>
    rule.filters.flatMap((filter) => (filter.type === "Fault" ? [filter.fault.source] : [])),
  );
  return [`${route.kind} ${route.namespace}/${route.name}`, ...new Set(faults)];
}

/** The policies that decided a port's security, each once. */
function securityObjects(security: PortSecurity): string[] {
  const sources = [
    ...(security.mtlsSource ? [security.mtlsSource] : []),
    ...security.authorization.map((policy) => policy.source),
    ...security.jwtRules.map((rule) => rule.source),
  ];
  return [...new Set(sources)];
}

/** Equal fingerprints, equal facets: values and objects (a renamed slice is a change too). */
function fingerprint(facet: Facet<unknown>): string {
  return JSON.stringify(
    [facet.value ?? null, facet.objects, facet.addresses ?? []],
    (_key, value: unknown) => (value instanceof Map ? [...value] : value),
  );
}

function byNumber(a: number, b: number): number {
  return a - b;
}
