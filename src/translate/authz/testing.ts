// Test helpers: AuthorizationPolicies in the mesh model's shape, and grpc-js-xds's own RBAC
// filter (the code a proxyless server runs) to parse and evaluate what the translator builds.
import { createRequire } from "node:module";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { RBACSchema, type RBAC } from "../../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js";
import type { HttpFilter } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type {
  AuthorizationAction,
  AuthorizationOperation,
  AuthorizationRule,
  AuthorizationSource,
  MeshAuthorizationPolicy,
} from "../../mesh/index.ts";

export const trustDomain = "cluster.local";

export function source(fields: Partial<AuthorizationSource> = {}): AuthorizationSource {
  return {
    principals: [],
    notPrincipals: [],
    namespaces: [],
    notNamespaces: [],
    ipBlocks: [],
    notIpBlocks: [],
    requestPrincipals: [],
    notRequestPrincipals: [],
    ...fields,
  };
}

export function operation(fields: Partial<AuthorizationOperation> = {}): AuthorizationOperation {
  return {
    paths: [],
    notPaths: [],
    methods: [],
    notMethods: [],
    ports: [],
    notPorts: [],
    headers: [],
    ...fields,
  };
}

export function rule(from: AuthorizationSource[] = [], to: AuthorizationOperation[] = []): AuthorizationRule {
  return { from, to };
}

export function authz(
  action: AuthorizationAction,
  name: string,
  rules: AuthorizationRule[],
  namespace = "shop",
): MeshAuthorizationPolicy {
  return { source: `AuthorizationPolicy ${namespace}/${name}`, action, rules };
}

export function rbacOf(filter: HttpFilter): RBAC {
  if (filter.configType.case !== "typedConfig") throw new Error(`${filter.name}: no typed_config`);
  const rbac = anyUnpack(filter.configType.value, RBACSchema);
  if (!rbac) throw new Error(`${filter.name}: not an RBAC filter`);
  return rbac;
}

/** What grpc-js-xds's RBAC engine reads of a call (rbac-filter.ts createRbacServerFilter). */
export interface GrpcJsCallInfo {
  readonly urlPath: string;
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly destinationPort: number;
  /** Metadata plus :method, :authority and :path, as the filter adds them. */
  readonly headers: readonly (readonly [string, string])[];
  /** The peer's URI SAN, when it presented a certificate. */
  readonly peerUri: string | undefined;
}

interface RbacGroup {
  apply(info: object): boolean;
}

/**
 * grpc-js-xds's verdict on a filter: `parse` answers undefined where a server NACKs the filter
 * (the listener is rejected), else a function deciding calls. Needs GRPC_XDS_EXPERIMENTAL_RBAC
 * set before grpc-js-xds loads, so the helper sets it and refuses to run if it was loaded first.
 */
export function grpcJsRbac(): { parse(filter: HttpFilter): ((call: GrpcJsCallInfo) => boolean) | undefined } {
  process.env.GRPC_XDS_EXPERIMENTAL_RBAC = "true";
  const require = createRequire(import.meta.url);
  const root = "@grpc/grpc-js-xds/build/src";
  const environment = require(`${root}/environment.js`) as { EXPERIMENTAL_RBAC: boolean };
  if (!environment.EXPERIMENTAL_RBAC)
    throw new Error("grpc-js-xds was loaded before GRPC_XDS_EXPERIMENTAL_RBAC was set");
  // register() runs the filter registrations (RBAC only when the variable is set).
  (require("@grpc/grpc-js-xds") as { register(): void }).register();
  const registry = require(`${root}/http-filter.js`) as {
    parseTopLevelFilterConfig(
      config: { type_url: string; value: Buffer },
      client: boolean,
    ): { config: RbacGroup } | null;
  };
  const grpc = createRequire(require.resolve("@grpc/grpc-js-xds"))("@grpc/grpc-js") as {
    Metadata: new () => { add(key: string, value: string): void; set(key: string, value: string): void };
  };
  return {
    parse(filter) {
      if (filter.configType.case !== "typedConfig") return undefined;
      const any = filter.configType.value;
      const parsed = registry.parseTopLevelFilterConfig(
        { type_url: any.typeUrl, value: Buffer.from(any.value) },
        false,
      );
      if (!parsed) return undefined;
      return (call) => {
        const metadata = new grpc.Metadata();
        for (const [name, value] of call.headers) metadata.add(name, value);
        return parsed.config.apply({
          urlPath: call.urlPath,
          sourceIp: call.sourceIp,
          destinationIp: call.destinationIp,
          destinationPort: call.destinationPort,
          headers: metadata,
          tls: call.peerUri !== undefined,
          peerCertificate:
            call.peerUri === undefined ? null : { subjectaltname: `URI:${call.peerUri}`, subject: {} },
        });
      };
    },
  };
}
