// The transport ceiling: a bare gRPC server with the same ADS methods as meshplane and no control
// plane logic. It answers a request whose names differ from the last it answered (per stream and
// type) with pre-built bytes for exactly those names, keeps no ACK/NACK or flow-control state, and
// on an IPC "push" writes the one changed resource to every stream subscribed to it (SotW: a
// partial RDS/EDS response, which the protocol allows for those types; delta: the changed resource).
// Whatever meshplane does beyond this costs time the ceiling does not spend.
//
//   node bench/xds-load/ceiling-server.ts '<PlanOptions JSON>' BACKLOG   (started by run.ts with IPC)
import * as grpc from "@grpc/grpc-js";
import { fromBinary } from "@bufbuild/protobuf";
import {
  DeltaDiscoveryRequestSchema,
  DiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
  type DiscoveryRequest,
} from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { AcceptListener } from "../../src/xds/accept-listener.ts";
import { isKnownTypeUrl, TypeUrl } from "../../src/xds/resource-types.ts";
import { encodeDeltaDiscoveryResponse, encodeDiscoveryResponse } from "../../src/xds/wire.ts";
import { CeilingResources, type Prebuilt } from "./ceiling-resources.ts";
import type { CeilingCommand, CeilingReply, Envelope } from "./ipc.ts";
import { MeshPlan, type PlanOptions } from "./mesh-plan.ts";

const controlPlaneId = "ceiling";
const path = "/envoy.service.discovery.v3.AggregatedDiscoveryService";
const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

type Call<Req> = grpc.ServerDuplexStream<Req, Uint8Array>;

interface Conn {
  readonly write: (typeUrl: string, resources: readonly Prebuilt[]) => void;
  /** Per type: subscribed names. */
  readonly names: Map<string, Set<string>>;
}

const started = performance.now();
const plan = new MeshPlan(JSON.parse(process.argv[2] ?? "{}") as PlanOptions);
const backlog = Number(process.argv[3] ?? 511);
const resources = new CeilingResources(plan);
const buildMs = performance.now() - started;
/** Per type and name: the streams subscribed to it. */
const subscribers = new Map<string, Map<string, Set<Conn>>>();
const conns = new Set<Conn>();
let version = 1;

function index(conn: Conn, typeUrl: string, add: Iterable<string>, remove: Iterable<string>): void {
  let byName = subscribers.get(typeUrl);
  if (!byName) subscribers.set(typeUrl, (byName = new Map()));
  for (const name of remove) byName.get(name)?.delete(conn);
  for (const name of add) {
    let set = byName.get(name);
    if (!set) byName.set(name, (set = new Set()));
    set.add(conn);
  }
}

function dropConn(conn: Conn): void {
  if (!conns.delete(conn)) return;
  for (const [typeUrl, names] of conn.names) index(conn, typeUrl, [], names);
}

function found(typeUrl: string, names: Iterable<string>): Prebuilt[] {
  const out: Prebuilt[] = [];
  for (const name of names) {
    const prebuilt = resources.get(typeUrl, name);
    if (prebuilt) out.push(prebuilt);
  }
  return out;
}

function sotw(call: Call<DiscoveryRequest>): void {
  let nonce = 0;
  const answered = new Map<string, string>();
  const conn: Conn = {
    names: new Map(),
    write: (typeUrl, list) =>
      call.write(
        encodeDiscoveryResponse({
          versionInfo: String(version),
          resources: list.map((r) => r.any),
          typeUrl,
          nonce: String(++nonce),
          controlPlaneId,
        }),
      ),
  };
  conns.add(conn);
  call.on("data", (request: DiscoveryRequest) => {
    if (!isKnownTypeUrl(request.typeUrl)) return;
    const key = [...request.resourceNames].sort().join("\n");
    if (answered.get(request.typeUrl) === key) return; // an ACK, or nothing new
    answered.set(request.typeUrl, key);
    const before = conn.names.get(request.typeUrl) ?? new Set<string>();
    const after = new Set(request.resourceNames);
    index(
      conn,
      request.typeUrl,
      after,
      [...before].filter((n) => !after.has(n)),
    );
    conn.names.set(request.typeUrl, after);
    conn.write(request.typeUrl, found(request.typeUrl, after));
  });
  endOn(call, conn);
}

function delta(call: Call<DeltaDiscoveryRequest>): void {
  let nonce = 0;
  const conn: Conn = {
    names: new Map(),
    write: (typeUrl, list) =>
      call.write(
        encodeDeltaDiscoveryResponse({
          systemVersionInfo: String(version),
          resources: list.map((r) => r.deltaResource),
          typeUrl,
          nonce: String(++nonce),
          removed: [],
          controlPlaneId,
        }),
      ),
  };
  conns.add(conn);
  call.on("data", (request: DeltaDiscoveryRequest) => {
    const { typeUrl } = request;
    if (!isKnownTypeUrl(typeUrl)) return;
    if (request.resourceNamesSubscribe.length === 0 && request.resourceNamesUnsubscribe.length === 0) return;
    let names = conn.names.get(typeUrl);
    if (!names) conn.names.set(typeUrl, (names = new Set()));
    for (const name of request.resourceNamesUnsubscribe) names.delete(name);
    const added = request.resourceNamesSubscribe.filter((n) => !names.has(n));
    for (const name of added) names.add(name);
    index(conn, typeUrl, added, request.resourceNamesUnsubscribe);
    const initial = request.initialResourceVersions;
    const send = found(typeUrl, added).filter((r) => initial[r.name] !== r.version);
    if (send.length > 0) conn.write(typeUrl, send);
  });
  endOn(call, conn);
}

function endOn(call: grpc.ServerDuplexStream<unknown, Uint8Array>, conn: Conn): void {
  const end = () => dropConn(conn);
  call.on("end", () => {
    end();
    call.end();
  });
  call.on("cancelled", end);
  call.on("error", end);
  call.on("close", end);
}

/** Writes a changed resource to its subscribers. LDS/CDS would need the full set in SotW. */
function push(typeUrl: string, prebuilt: Prebuilt): number {
  version++;
  const streams = subscribers.get(typeUrl)?.get(prebuilt.name) ?? new Set<Conn>();
  const fullState = typeUrl === TypeUrl.Listener || typeUrl === TypeUrl.Cluster;
  for (const conn of streams) {
    conn.write(typeUrl, fullState ? found(typeUrl, conn.names.get(typeUrl) ?? []) : [prebuilt]);
  }
  return streams.size;
}

function method(name: string, schema: typeof DiscoveryRequestSchema | typeof DeltaDiscoveryRequestSchema) {
  return {
    path: `${path}/${name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: () => {
      throw new Error("the server never sends requests");
    },
    requestDeserialize: (bytes: Buffer) => fromBinary(schema, bytes),
    responseSerialize: toBuffer,
    responseDeserialize: (bytes: Buffer) => bytes,
  };
}

const server = new grpc.Server({
  // The same transport options as meshplane's XdsServer.
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.http2.min_ping_interval_without_data_ms": 10_000,
  "grpc.max_receive_message_length": 16 * 1024 * 1024,
});
server.addService(
  {
    StreamAggregatedResources: method("StreamAggregatedResources", DiscoveryRequestSchema),
    DeltaAggregatedResources: method("DeltaAggregatedResources", DeltaDiscoveryRequestSchema),
  },
  {
    StreamAggregatedResources: (call: Call<DiscoveryRequest>) => sotw(call),
    DeltaAggregatedResources: (call: Call<DeltaDiscoveryRequest>) => delta(call),
  },
);

function handle(command: CeilingCommand): CeilingReply {
  const at = performance.now();
  switch (command.op) {
    case "prepare":
      return {
        prepared: { encodes: resources.prepare(command.change, command.object), ms: performance.now() - at },
      };
    case "push": {
      const { typeUrl, prebuilt } = resources.commit(command.change);
      return { pushed: { streams: push(typeUrl, prebuilt), ms: performance.now() - at } };
    }
    case "stats":
      return { stats: { streams: conns.size, encodes: resources.encodes } };
  }
}

process.on("message", (message: Envelope<CeilingCommand>) => {
  let reply: CeilingReply;
  try {
    reply = handle(message.body);
  } catch (error) {
    reply = { error: (error as Error).message };
  }
  process.send?.({ seq: message.seq, body: reply });
});
const stop = () => {
  server.forceShutdown();
  process.exit(0);
};
process.on("SIGTERM", stop);
// A Ctrl-C reaches the whole process group; the harness stops the ceiling when it is done.
process.on("SIGINT", () => undefined);
process.on("disconnect", stop);

// The same listening path as meshplane's XdsServer (src/xds/accept-listener.ts): a net.Server with
// the harness's backlog, each connection injected into grpc-js.
const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
AcceptListener.open({
  host: "127.0.0.1",
  port: 0,
  backlog,
  inject: (connection) => injector.injectConnection(connection),
  onAcceptError: (error) => console.error(`ceiling: accept failed: ${error.message}`),
}).then(
  (listener) => process.send?.({ ev: "ready", port: listener.port, buildMs, encodes: resources.encodes }),
  (error: Error) => {
    console.error(`ceiling: cannot listen: ${error.message}`);
    process.exit(1);
  },
);
