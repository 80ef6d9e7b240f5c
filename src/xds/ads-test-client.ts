// A raw ADS client for protocol tests: plays a proxy step by step (no library logic), for either
// protocol variant. Test support only.
import * as grpc from "@grpc/grpc-js";
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
} from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { TestContext } from "node:test";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { createLogger, createMetrics, silentLogger } from "../telemetry/index.ts";
import type { GeneratedResource } from "../pipeline/index.ts";
import { packedTypesRegistry } from "../translate/index.ts";
import { defaultLimits, type Limits } from "../limits/index.ts";
import type { ConfigSnapshot } from "./cache.ts";
import { TypeUrl } from "./resource-types.ts";
import { XdsServer, type XdsServerOptions } from "./server.ts";

const path = "/envoy.service.discovery.v3.AggregatedDiscoveryService";

class RawStream<Req extends DescMessage, Res extends DescMessage> {
  private readonly responses: MessageShape<Res>[] = [];
  private readonly waiters: ((response: MessageShape<Res>) => void)[] = [];
  readonly call: grpc.ClientDuplexStream<MessageShape<Req>, MessageShape<Res>>;
  private readonly requestSchema: Req;
  private readonly status: Promise<grpc.StatusObject>;
  received = 0;

  constructor(client: grpc.Client, method: string, requestSchema: Req, responseSchema: Res) {
    this.requestSchema = requestSchema;
    this.call = client.makeBidiStreamRequest(
      `${path}/${method}`,
      (request: MessageShape<Req>) => Buffer.from(toBinary(requestSchema, request)),
      (bytes: Buffer) => fromBinary(responseSchema, bytes),
    );
    this.call.on("data", (response: MessageShape<Res>) => {
      this.received++;
      const waiter = this.waiters.shift();
      if (waiter) waiter(response);
      else this.responses.push(response);
    });
    this.call.on("error", () => {});
    this.status = new Promise((resolve) => this.call.on("status", resolve));
  }

  /** The status the stream ended with; rejects if it has not ended within `timeoutMs`. */
  ended(timeoutMs = 2000): Promise<grpc.StatusObject> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the stream did not end within ${timeoutMs} ms`)),
        timeoutMs,
      );
      void this.status.then((status) => {
        clearTimeout(timer);
        resolve(status);
      });
    });
  }

  send(fields: MessageInitShape<Req>): void {
    this.call.write(create(this.requestSchema, fields));
  }

  next(timeoutMs = 2000): Promise<MessageShape<Res>> {
    const queued = this.responses.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiter = (response: MessageShape<Res>) => {
        clearTimeout(timer);
        resolve(response);
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** True if nothing arrives within `ms`. */
  async quiet(ms = 300): Promise<boolean> {
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }

  end(): void {
    this.call.end();
  }
}

export function sotwStream(client: grpc.Client) {
  return new RawStream(client, "StreamAggregatedResources", DiscoveryRequestSchema, DiscoveryResponseSchema);
}

export function deltaStream(client: grpc.Client) {
  return new RawStream(
    client,
    "DeltaAggregatedResources",
    DeltaDiscoveryRequestSchema,
    DeltaDiscoveryResponseSchema,
  );
}

export function rawClient(port: number): grpc.Client {
  // A local subchannel pool gives each client its own connection, as separate proxies have.
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
  });
}

const noReads = { reads: new Set<string>(), objects: [], addresses: [] };

type Make = (name: string, content: number) => Omit<GeneratedResource, "provenance">;

const makeCluster: Make = (name, content) => ({
  name,
  typeUrl: TypeUrl.Cluster,
  schema: ClusterSchema,
  message: create(ClusterSchema, { name, connectTimeout: { seconds: BigInt(content) } }),
});

const makeLoadAssignment: Make = (name, content) => ({
  name,
  typeUrl: TypeUrl.ClusterLoadAssignment,
  schema: ClusterLoadAssignmentSchema,
  message: create(ClusterLoadAssignmentSchema, {
    clusterName: name,
    policy: { overprovisioningFactor: content },
  }),
});

const makeListener: Make = (name, content) => ({
  name,
  typeUrl: TypeUrl.Listener,
  schema: ListenerSchema,
  message: create(ListenerSchema, { name, statPrefix: `v${content}` }),
});

/**
 * What a fixture snapshot says changed: undefined, everything (as a first snapshot does); or the
 * names whose resources changed, of every type (each resource reads the facet `name <name>`, the
 * wildcard lists read `names`, and `listChanged` says whether the set of names changed).
 */
export interface FixtureChanges {
  readonly names: readonly string[];
  readonly listChanged?: boolean;
}

const nameFacet = (name: string) => `name ${name}`;

/**
 * A snapshot with one resource per name in `contents` for each type in `types` (the number varies
 * content), each built from `objects(name)`.
 */
function fixedSnapshot(
  version: number,
  types: ReadonlyMap<string, Make>,
  contents: Record<string, number>,
  objects: (name: string) => string[],
  changed: FixtureChanges | undefined,
): ConfigSnapshot {
  return {
    version,
    changes: changed && new Set([...changed.names.map(nameFacet), ...(changed.listChanged ? ["names"] : [])]),
    profileGroup: (_typeUrl, profile) => profile.flavour,
    names: (_profile, typeUrl) => ({
      names: types.has(typeUrl) ? Object.keys(contents) : [],
      provenance: { ...noReads, reads: new Set(["names"]) },
    }),
    generate: (_profile, typeUrl, name) => {
      const provenance = { ...noReads, reads: new Set([nameFacet(name)]), objects: objects(name) };
      const make = types.get(typeUrl);
      const content = contents[name];
      const resource = make && content !== undefined ? { ...make(name, content), provenance } : undefined;
      return { name, resource, provenance };
    },
    sources: (resource) => resource.provenance.objects,
  };
}

/** A snapshot whose CDS and EDS hold one resource per name in `clusters`; the number varies content. */
export function clusterSnapshot(
  version: number,
  clusters: Record<string, number>,
  changed?: FixtureChanges,
): ConfigSnapshot {
  const types = new Map([
    [TypeUrl.Cluster as string, makeCluster],
    [TypeUrl.ClusterLoadAssignment, makeLoadAssignment],
  ]);
  return fixedSnapshot(version, types, clusters, () => [], changed);
}

/**
 * A snapshot whose LDS and CDS hold one resource per name in `resources`; the number varies
 * content. Every resource is built from the object `Service default/<name>`.
 */
export function listenerSnapshot(
  version: number,
  resources: Record<string, number>,
  changed?: FixtureChanges,
): ConfigSnapshot {
  const types = new Map([
    [TypeUrl.Listener as string, makeListener],
    [TypeUrl.Cluster, makeCluster],
    [TypeUrl.ClusterLoadAssignment, makeLoadAssignment],
  ]);
  return fixedSnapshot(version, types, resources, (name) => [`Service default/${name}`], changed);
}

/** An XdsServer on 127.0.0.1 with `snapshot`, closed when the test ends; `limits` change the defaults. */
export async function startTestServer(
  t: TestContext,
  snapshot: ConfigSnapshot,
  options: Partial<Pick<XdsServerOptions, "now" | "timers" | "backoff" | "logger">> & {
    limits?: Partial<Limits>;
  } = {},
) {
  const metrics = createMetrics({ defaultMetrics: false });
  const { limits, ...rest } = options;
  const server = new XdsServer({
    limits: { ...defaultLimits, ...limits },
    metrics,
    logger: process.env.XDS_DEBUG ? createLogger({ level: "debug" }) : silentLogger(),
    controlPlaneId: "test",
    jsonRegistry: packedTypesRegistry(),
    ...rest,
  });
  await server.setSnapshot(snapshot);
  const { port } = await server.listen("127.0.0.1", 0);
  const clients: grpc.Client[] = [];
  t.after(async () => {
    for (const client of clients) client.close();
    await server.close(100);
  });
  const connect = () => {
    const client = rawClient(port);
    clients.push(client);
    return client;
  };
  return { server, metrics, port, connect };
}

/** Sum of a counter over all its labels. */
export async function counterTotal(metric: {
  get(): Promise<{ values: { value: number }[] }>;
}): Promise<number> {
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}
