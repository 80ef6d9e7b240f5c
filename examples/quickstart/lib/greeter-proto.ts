// Loads greeter.proto at run time with @grpc/proto-loader and gives the rest of the quick start
// typed access to it: the service definition for servers, and a promise-returning unary call for
// clients (grpc-js's generated client methods are untyped).
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

export const greeterProtoPath = fileURLToPath(new URL("../greeter.proto", import.meta.url));

export interface HelloRequest {
  name: string;
}

export interface HelloReply {
  message: string;
  backend: string;
}

export const greeterMethods = ["SayHello", "SayGoodbye"] as const;
export type GreeterMethod = (typeof greeterMethods)[number];

export function isGreeterMethod(value: unknown): value is GreeterMethod {
  return greeterMethods.includes(value as GreeterMethod);
}

type GreeterDefinition = grpc.ServiceDefinition &
  Record<GreeterMethod, grpc.MethodDefinition<HelloRequest, HelloReply>>;

function loadGreeterService(): GreeterDefinition {
  const definition = protoLoader.loadSync(greeterProtoPath, { keepCase: true, defaults: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    meshplane: { demo: { Greeter: grpc.ServiceClientConstructor } };
  };
  return loaded.meshplane.demo.Greeter.service as GreeterDefinition;
}

export const greeterService: GreeterDefinition = loadGreeterService();

export interface UnaryOptions {
  metadata?: Record<string, string>;
  deadlineMs: number;
  /** Queue the call while the channel is not ready instead of failing fast (gRPC wait-for-ready). */
  waitForReady?: boolean;
}

/** One unary call on any grpc-js client; rejects with the grpc `ServiceError`. */
export function callGreeter(
  client: grpc.Client,
  method: GreeterMethod,
  request: HelloRequest,
  options: UnaryOptions,
): Promise<HelloReply> {
  const definition = greeterService[method];
  const metadata = new grpc.Metadata(options.waitForReady ? { waitForReady: true } : {});
  for (const [key, value] of Object.entries(options.metadata ?? {})) metadata.set(key, value);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      definition.path,
      definition.requestSerialize,
      definition.responseDeserialize,
      request,
      metadata,
      { deadline: Date.now() + options.deadlineMs },
      (error, reply) => (error || !reply ? reject(error ?? new Error("empty reply")) : resolve(reply)),
    );
  });
}

/** `14` → `"UNAVAILABLE"`; unknown codes stay numeric. */
export function statusName(code: number | undefined): string {
  if (code === undefined) return "UNKNOWN";
  const name = (grpc.status as unknown as Record<number, string | undefined>)[code];
  return name ?? String(code);
}
