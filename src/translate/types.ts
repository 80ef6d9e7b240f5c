// What translators produce and for whom.
import type { DescMessage, Message } from "@bufbuild/protobuf";
import type { DataPlaneFlavour } from "../mesh/index.ts";
import type { ClientIdentity } from "./clients/index.ts";
import type { MeshView, ProfileField, Provenance } from "./view.ts";

/** The proxy attributes generation depends on. Proxies with equal profiles get equal resources. */
export interface ProxyProfile {
  /** Namespace from node metadata: decides short-name resolution and consumer routes. */
  readonly namespace: string;
  /** Proxyless gRPC, or an Envoy sidecar (node.user_agent_name "envoy"). */
  readonly flavour: DataPlaneFlavour;
  /** The workload's IPs (node metadata INSTANCE_IPS): which Services a sidecar receives for. */
  readonly instanceIps: readonly string[];
  /**
   * The xDS client from the node's user agent (clients/identity.ts); undefined when it names none
   * we know, which gets the encoding meshplane emits for current clients.
   */
  readonly client?: ClientIdentity | undefined;
  /**
   * Where `meshplane agent` writes the workload's certificate files, from node metadata
   * MESHPLANE_CERT_DIR (Envoy sidecars); undefined: the documented default (envoy/secret.ts).
   */
  readonly certDir?: string | undefined;
}

/** One xDS resource as a typed message, with the schema needed to encode it. */
export interface GeneratedResource {
  readonly name: string;
  readonly typeUrl: string;
  readonly schema: DescMessage;
  readonly message: Message;
  /** What the generator read to build it. */
  readonly provenance: Provenance;
}

/** One requested name, translated: the resource, or why there is none. */
export interface Translation {
  readonly name: string;
  /** Undefined when the name resolves to nothing (or translation failed). */
  readonly resource: GeneratedResource | undefined;
  /** What was read: for a missing name, what would make it exist. */
  readonly provenance: Provenance;
  /** A translator fault: the resource is left out and the objects read are told. */
  readonly failure?: Error;
}

/** The names a wildcard subscriber gets, with what the list was built from. */
export interface NameList {
  readonly names: readonly string[];
  readonly provenance: Provenance;
  readonly failure?: Error;
}

/** Which resources of a type the proxy asked for. */
export interface ResourceRequest {
  /** True when the proxy subscribed to every resource of the type (empty names on LDS/CDS). */
  readonly wildcard: boolean;
  readonly names: readonly string[];
}

/** How one xDS type is generated for one data-plane flavour. */
export interface ResourceType {
  readonly schema: DescMessage;
  /**
   * The proxy attributes its resources may read (the view refuses others): proxies that agree on
   * them share the resources.
   */
  readonly profile: readonly ProfileField[];
  /** Every name a wildcard subscriber gets. */
  names(view: MeshView): readonly string[];
  /** The resource called `name`, or undefined when there is none. */
  build(view: MeshView, name: string): Message | undefined;
}
