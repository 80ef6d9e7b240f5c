// Test helper: runs generated resources through @grpc/grpc-js-xds's own decoding and validation
// (the code that decides ACK or NACK), and through grpc-js's parsing of the load-balancing config
// a Cluster becomes (a config that fails there leaves the channel in TRANSIENT_FAILURE).
import { createRequire } from "node:module";
import { toBinary } from "@bufbuild/protobuf";
import type { GeneratedResource } from "../../types.ts";
import { certificateProviderInstance } from "../tls.ts";

interface DecodeResult {
  readonly name: string;
  readonly value?: ClusterUpdate;
  readonly error?: string;
}

interface ResourceType {
  decode(context: unknown, resource: { type_url: string; value: Buffer }): DecodeResult;
}

interface ClusterUpdate {
  readonly lbPolicyConfig?: readonly object[];
  readonly outlierDetectionUpdate?: object;
}

const require = createRequire(import.meta.url);
const xdsRoot = "@grpc/grpc-js-xds/build/src";
(require("@grpc/grpc-js-xds") as { register(): void }).register();
// The grpc-js instance grpc-js-xds registered its load balancers with.
const grpc = createRequire(require.resolve("@grpc/grpc-js-xds"))("@grpc/grpc-js") as {
  experimental: { parseLoadBalancingConfig(config: object): unknown };
};

const resourceTypes: ReadonlyMap<string, ResourceType> = new Map(
  [
    ["listener-resource-type", "ListenerResourceType"],
    ["route-config-resource-type", "RouteConfigurationResourceType"],
    ["cluster-resource-type", "ClusterResourceType"],
    ["endpoint-resource-type", "EndpointResourceType"],
  ].map(([file, name]) => {
    const type = (
      require(`${xdsRoot}/xds-resource-type/${file}.js`) as Record<string, { get(): ResourceType }>
    )[name as string]?.get();
    if (!type) throw new Error(`${xdsRoot}: ${name} not found`);
    return [`type.googleapis.com/${(type as unknown as { getTypeUrl(): string }).getTypeUrl()}`, type];
  }),
);

/**
 * The decoder's context: the certificate provider instance `meshplane bootstrap --cert-dir`
 * writes (mTLS resources name it, and a client whose bootstrap lacks it NACKs them), no load
 * reporting server.
 */
const context = { bootstrap: { certificateProviders: { [certificateProviderInstance]: {} } }, server: {} };

/** Why grpc-js-xds would NACK `resource` or fail the channel on it; empty when it accepts it. */
export function grpcJsXdsErrors(
  resource: Pick<GeneratedResource, "name" | "typeUrl" | "schema" | "message">,
): string[] {
  const type = resourceTypes.get(resource.typeUrl);
  if (!type) return [`no grpc-js-xds resource type for ${resource.typeUrl}`];
  const result = type.decode(context, {
    type_url: resource.typeUrl,
    value: Buffer.from(toBinary(resource.schema, resource.message)),
  });
  if (result.error !== undefined) return [result.error];
  if (result.name !== resource.name) return [`decoded name ${result.name}, expected ${resource.name}`];
  return result.value?.lbPolicyConfig ? loadBalancingErrors(result.value) : [];
}

/** What load-balancer-cds.ts builds from a Cluster, parsed as grpc-js parses it. */
function loadBalancingErrors(cluster: ClusterUpdate): string[] {
  const configs = [
    ...(cluster.lbPolicyConfig ?? []),
    { outlier_detection: { ...cluster.outlierDetectionUpdate, child_policy: [{ round_robin: {} }] } },
  ];
  return configs.flatMap((config) => {
    try {
      grpc.experimental.parseLoadBalancingConfig(config);
      return [];
    } catch (error) {
      return [`${JSON.stringify(config)}: ${(error as Error).message}`];
    }
  });
}

const { listenersEquivalent } = require(`${xdsRoot}/server-listener.js`) as {
  listenersEquivalent(first: unknown, second: unknown): boolean;
};

/**
 * Whether an XdsServer serving listener `current` takes `next` as no change (grpc-js-xds's own
 * comparison, server-listener.ts); it throws where the server process would.
 */
export function grpcJsXdsListenersEquivalent(
  next: Pick<GeneratedResource, "name" | "typeUrl" | "schema" | "message">,
  current: Pick<GeneratedResource, "name" | "typeUrl" | "schema" | "message">,
): boolean {
  const decode = (resource: typeof next) => {
    const type = resourceTypes.get(resource.typeUrl);
    const result = type?.decode(context, {
      type_url: resource.typeUrl,
      value: Buffer.from(toBinary(resource.schema, resource.message)),
    });
    if (!result || result.error !== undefined) throw new Error(`${resource.name}: ${result?.error}`);
    return result.value;
  };
  return listenersEquivalent(decode(next), decode(current));
}
