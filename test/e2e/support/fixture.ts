// The usual e2e setup in one call: greeter backends on random ports, a config directory written
// for those ports, meshplane serving it, and one proxyless client (grpc-js-xds unless told
// otherwise). Every process is registered with `defer` (t.after or a SuiteScope) as soon as it
// exists.
import { tempConfigDir, type TempConfigDir } from "./config.ts";
import { startGreeter, type Greeter, type GreeterOptions } from "./greeter.ts";
import type { Implementation } from "./implementations.ts";
import { startMeshplane, type Meshplane } from "./meshplane.ts";
import { startXdsClient, type CallResult, type XdsClient } from "./xds-client.ts";
import { summary } from "./expect.ts";

export interface MeshFixtureOptions {
  /** Backends; each becomes a greeter answering with its name (a bare string is just the name). */
  greeters: readonly (string | GreeterOptions)[];
  /** The config files (relative path → content), built from the greeters' ports. */
  files: (greeters: Readonly<Record<string, Greeter>>) => Record<string, string>;
  nodeId: string;
  /** The client's namespace; default "default". */
  namespace?: string;
  /** Extra `meshplane serve` flags. */
  meshplaneArgs?: string[];
  /** The greeters' and the client's gRPC implementation (a greeter's own setting wins); default grpc-js. */
  implementation?: Implementation;
  /** Extra environment for the client, e.g. a gRPC implementation's feature switches. */
  clientEnv?: Record<string, string>;
}

export interface MeshFixture {
  readonly greeters: Readonly<Record<string, Greeter>>;
  readonly config: TempConfigDir;
  readonly meshplane: Meshplane;
  readonly client: XdsClient;
  readonly nodeId: string;
  readonly admin: string;
}

export type Defer = (fn: () => unknown) => void;

export async function startMeshFixture(defer: Defer, options: MeshFixtureOptions): Promise<MeshFixture> {
  const started = await Promise.all(
    options.greeters.map((g) =>
      startGreeter({
        ...(options.implementation && { implementation: options.implementation }),
        ...(typeof g === "string" ? { name: g } : g),
      }),
    ),
  );
  for (const greeter of started) defer(() => greeter.stop());
  const greeters = Object.fromEntries(started.map((g) => [g.name, g]));
  const config = await tempConfigDir(options.files(greeters));
  defer(() => config.stop());
  const meshplane = await startMeshplane({
    configDir: config.path,
    ...(options.meshplaneArgs ? { args: options.meshplaneArgs } : {}),
  });
  defer(() => meshplane.stop());
  const client = await startXdsClient({
    xdsAddress: meshplane.xdsAddress,
    nodeId: options.nodeId,
    namespace: options.namespace ?? "default",
    ...(options.implementation && { implementation: options.implementation }),
    ...(options.clientEnv && { env: options.clientEnv }),
  });
  defer(() => client.stop());
  return { greeters, config, meshplane, client, nodeId: options.nodeId, admin: meshplane.adminAddress };
}

/**
 * The first call on a target's channel waits (wait-for-ready) while the client resolves listener →
 * route → clusters → endpoints; later calls then fail fast instead of queueing.
 */
export async function warmUp(client: XdsClient, target: string, calls = 1): Promise<CallResult> {
  const result = await client.call({ target, calls, waitForReady: true, deadlineMs: 20_000 });
  if (result.ok !== calls) throw new Error(`warm-up of ${target} failed: ${summary(result)}`);
  return result;
}
