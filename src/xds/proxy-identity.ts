// Who a proxy is, read once from the node of its first ADS request: its profile (namespace, flavour,
// instance IPs, client), and the shapes the debug endpoints and CSDS show of it.
import { create, type JsonObject } from "@bufbuild/protobuf";
import { NodeSchema, type Node } from "../gen/envoy/config/core/v3/base_pb.js";
import { excerpt } from "../limits/index.ts";
import {
  clientGroupLabel,
  clientIdentity,
  formatClientVersion,
  type ClientIdentity,
  type ProxyProfile,
} from "../pipeline/index.ts";
import type { ProxyClient } from "./status.ts";

export interface ProxyIdentity {
  readonly nodeId: string;
  readonly profile: ProxyProfile;
  readonly userAgent: string;
  /** The client group ("grpc-python/1.51"), when the node names a client meshplane knows. */
  readonly clientGroup: string | undefined;
}

/** Reads who the proxy is from the node of its first request. */
export function proxyIdentity(node: Node | undefined): ProxyIdentity {
  const metadata: JsonObject = node?.metadata ?? {};
  const namespace =
    typeof metadata.NAMESPACE === "string" && metadata.NAMESPACE ? metadata.NAMESPACE : "default";
  const version =
    node?.userAgentVersionType.case === "userAgentVersion" ? node.userAgentVersionType.value : "";
  const instanceIps =
    typeof metadata.INSTANCE_IPS === "string" ? metadata.INSTANCE_IPS.split(",").filter(Boolean) : [];
  // The client decides encodings where clients differ (translate/clients); the raw user agent is
  // only shown, and an excerpt is all that is kept of it.
  const client = clientIdentity(node);
  const certDir = certDirectory(metadata.MESHPLANE_CERT_DIR);
  return {
    nodeId: node?.id ?? "",
    profile: {
      namespace,
      flavour: node?.userAgentName === "envoy" ? "envoy" : "grpc",
      instanceIps,
      ...(client && { client }),
      ...(certDir !== undefined && { certDir }),
    },
    userAgent: excerpt([node?.userAgentName, version].filter(Boolean).join("/")),
    clientGroup: client && clientGroupLabel(client),
  };
}

/** The longest certificate directory a node may name; longer ones get the default. */
export const certDirMaxChars = 256;

/**
 * Node metadata MESHPLANE_CERT_DIR: where the workload's agent writes its certificate files, which
 * the sidecar's SDS secrets name. Only an absolute path without `.`/`..` segments or control
 * characters is taken (trailing slashes dropped); anything else means the default directory.
 */
export function certDirectory(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length > certDirMaxChars || !value.startsWith("/")) return undefined;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return undefined;
  const dir = value.replace(/\/+$/, "");
  if (dir === "" || dir.split("/").some((segment) => segment === "." || segment === "..")) return undefined;
  return dir;
}

/** The client as the debug endpoints show it. */
export function proxyClient(client: ClientIdentity | undefined): ProxyClient | null {
  if (!client) return null;
  return {
    implementation: client.implementation,
    language: client.language ?? null,
    version: client.version ? formatClientVersion(client.version) : null,
    group: clientGroupLabel(client),
    features: client.features.map((f) => excerpt(f)),
  };
}

/**
 * The node as CSDS reports it: what identifies the proxy. Metadata, extensions and addresses are
 * left out: they may be large (up to `xds.nodeMetadataBytes`) and are not kept per stream.
 */
export function clientNode(node: Node | undefined): Node {
  const version = node?.userAgentVersionType;
  return create(NodeSchema, {
    id: node?.id ?? "",
    cluster: node?.cluster ?? "",
    locality: node?.locality,
    userAgentName: node?.userAgentName ?? "",
    userAgentVersionType: version?.case === "userAgentVersion" ? version : { case: undefined },
  });
}
