// The only way generators see the mesh and the proxy: every read goes through a MeshView, which
// records the facet it read (mesh/facets.ts). What a resource was built from is therefore what its
// generator read, by construction, and one record serves cache invalidation (reads ∩ changes),
// NACK attribution (resource → objects) and `Programmed` reach (object → resources).
import {
  facetKey,
  routeGroup,
  routeTable,
  type AddressFacet,
  type AttachedFacet,
  type EndpointSource,
  type EndpointsFacet,
  type FacetKey,
  type MeshFacets,
  type MeshRoute,
  type PolicyFacet,
  type PortFacet,
  type SecurityFacet,
  type RouteTable,
  type ServicePortName,
  type ServicePortsFacet,
  type ServiceShape,
} from "../mesh/index.ts";
import { openPortSecurity } from "../mesh/security-model.ts";
import { clientEncoding, type ClientEncoding } from "./clients/index.ts";
import type { ProxyProfile } from "./types.ts";

/** The proxy attributes a resource type may depend on; see ResourceType.profile. */
export type ProfileField = "namespace" | "instanceIps" | "client" | "certDir";

/** What one resource (or one wildcard name list) was built from. */
export interface Provenance {
  /** Facets read: the resource is stale once one of them changes. */
  readonly reads: ReadonlySet<FacetKey>;
  /** Configuration objects (`Kind namespace/name`), Services first. */
  readonly objects: readonly string[];
  /** For EndpointSlices among `objects`: the addresses each gave, which a proxy's error may quote. */
  readonly addresses: readonly EndpointSource[];
}

/** A generator read a proxy attribute its type does not declare: the cache would share wrongly. */
export class UndeclaredProfileReadError extends Error {
  override readonly name = "UndeclaredProfileReadError";
  constructor(field: ProfileField) {
    super(`a generator read the proxy's ${field}, which its resource type does not declare`);
  }
}

const meshDefault = openPortSecurity;
const nothingRead: ReadonlySet<FacetKey> = new Set();

export class MeshView {
  readonly domain: string;
  /** SPIFFE trust domain of workload identities. */
  readonly trustDomain: string;
  private readonly facets: MeshFacets;
  private readonly profile: ProxyProfile;
  private readonly fields: ReadonlySet<ProfileField>;
  private readonly reads = new Set<FacetKey>();
  private readonly objects = new Set<string>();
  private readonly addresses = new Map<string, EndpointSource>();

  constructor(facets: MeshFacets, profile: ProxyProfile, fields: readonly ProfileField[]) {
    this.facets = facets;
    this.domain = facets.domain;
    this.trustDomain = facets.trustDomain;
    this.profile = profile;
    this.fields = new Set(fields);
  }

  /** The proxy's namespace: short names and consumer routes resolve in it. */
  get callerNamespace(): string {
    return this.profileField("namespace", this.profile.namespace);
  }

  /** The workload's IPs (Envoy sidecars): which ports it serves. */
  get instanceIps(): readonly string[] {
    return this.profileField("instanceIps", this.profile.instanceIps);
  }

  /** How the proxy's client wants what can be written more than one way (only that: see encoding.ts). */
  get clientEncoding(): ClientEncoding {
    return this.profileField("client", clientEncoding(this.profile.client));
  }

  /** The workload's certificate directory, when its node metadata names one (Envoy sidecars). */
  get certDir(): string | undefined {
    return this.profileField("certDir", this.profile.certDir);
  }

  service(namespace: string, name: string): ServiceShape | undefined {
    return this.read<ServiceShape>(facetKey.service(namespace, name));
  }

  /** The Service with cluster IP `ip` (the first one, should two share it). */
  serviceWithClusterIP(ip: string): ServiceShape | undefined {
    const key = this.read<string>(facetKey.clusterIP(ip));
    if (key === undefined) return undefined;
    const [namespace = "", name = ""] = key.split("/");
    return this.service(namespace, name);
  }

  endpoints(ref: ServicePortName): EndpointsFacet {
    return this.read<EndpointsFacet>(facetKey.endpoints(ref.namespace, ref.name, ref.port)) ?? [];
  }

  /** The TrafficPolicy in force for a Service port (port-scoped, else Service-wide). */
  policy(ref: ServicePortName): PolicyFacet {
    return this.read<PolicyFacet>(facetKey.policy(ref.namespace, ref.name, ref.port));
  }

  /** mTLS mode, authorization and JWT rules for a Service port's servers. */
  security(ref: ServicePortName): SecurityFacet {
    return this.read<SecurityFacet>(facetKey.security(ref.namespace, ref.name, ref.port)) ?? meshDefault;
  }

  /** Security for a server that backs no Service port (mesh-wide policies only). */
  meshSecurity(): SecurityFacet {
    return this.read<SecurityFacet>(facetKey.meshSecurity()) ?? meshDefault;
  }

  /** Which consumer namespace's routes replace the producer's for `caller`, reading no rules. */
  consumerNamespace(ref: ServicePortName, callerNamespace: string): string | undefined {
    return this.group(ref, callerNamespace)?.consumerNamespace;
  }

  /** The ordered route table `caller` sees on a Service port; undefined when no route applies. */
  routeTable(ref: ServicePortName, callerNamespace: string): RouteTable | undefined {
    const group = this.group(ref, callerNamespace);
    if (!group) return undefined;
    const routes = group.routes.flatMap((r) => this.read<MeshRoute>(facetKey.route(r)) ?? []);
    return routeTable(routes, group.consumerNamespace);
  }

  /** Every Service port, in the mesh's order. */
  servicePorts(): ServicePortsFacet {
    return this.read<ServicePortsFacet>(facetKey.servicePorts()) ?? [];
  }

  /** Every Service port number, ascending. */
  ports(): readonly number[] {
    return this.read<readonly number[]>(facetKey.ports()) ?? [];
  }

  /** The Services with a port numbered `port`, by namespace/name. */
  servicesOnPort(port: number): ServiceShape[] {
    const keys = this.read<PortFacet>(facetKey.port(port)) ?? [];
    return keys.flatMap((key) => {
      const [namespace = "", name = ""] = key.split("/");
      return this.service(namespace, name) ?? [];
    });
  }

  /** Every port some endpoint listens on, ascending. */
  endpointPorts(): readonly number[] {
    return this.read<readonly number[]>(facetKey.endpointPorts()) ?? [];
  }

  /** The ports endpoints at `address` listen on, ascending. */
  portsAt(address: string): readonly number[] {
    return [...new Set(this.serversAt(address).map((s) => s.targetPort))];
  }

  /** The Service ports with endpoints at `address`, by target port (then Service, port). */
  serversAt(address: string): AddressFacet {
    return this.read<AddressFacet>(facetKey.address(address)) ?? [];
  }

  /**
   * The Service ports with an endpoint at `address`:`port` (a proxyless server's listening
   * address, gRFC A36), by Service and port. One read: the address's facet lists them, so the
   * answer changes exactly when that facet does.
   */
  servicePortsAt(address: string, port: number): ServicePortName[] {
    return this.serversAt(address)
      .filter((server) => server.targetPort === port)
      .map(({ namespace, name, port: servicePort }) => ({ namespace, name, port: servicePort }));
  }

  /** What was read so far. */
  provenance(): Provenance {
    return {
      // Names that resolve to nothing often read nothing; they share one empty set.
      reads: this.reads.size === 0 ? nothingRead : new Set(this.reads),
      objects: [...this.objects].sort(compareObjects),
      addresses: [...this.addresses.values()],
    };
  }

  private group(ref: ServicePortName, callerNamespace: string) {
    const attached = this.read<AttachedFacet>(facetKey.attached(ref.namespace, ref.name, ref.port)) ?? [];
    return routeGroup(attached, ref.namespace, callerNamespace);
  }

  private read<T>(key: FacetKey): T | undefined {
    this.reads.add(key);
    const facet = this.facets.get<T>(key);
    if (!facet) return undefined;
    for (const object of facet.objects) this.objects.add(object);
    for (const source of facet.addresses ?? []) this.addresses.set(source.object, source);
    return facet.value;
  }

  private profileField<T>(field: ProfileField, value: T): T {
    if (!this.fields.has(field)) throw new UndeclaredProfileReadError(field);
    return value;
  }
}

/** Services first (what a resource is for), then routes, faults, policies, endpoints; by name within. */
const kindOrder = [
  "Service",
  "GRPCRoute",
  "HTTPRoute",
  "FaultInjection",
  "TrafficPolicy",
  "PeerAuthentication",
  "AuthorizationPolicy",
  "RequestAuthentication",
  "EndpointSlice",
];

function compareObjects(a: string, b: string): number {
  const rank = (object: string) => {
    const index = kindOrder.indexOf(object.slice(0, object.indexOf(" ")));
    return index === -1 ? kindOrder.length : index;
  };
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}
