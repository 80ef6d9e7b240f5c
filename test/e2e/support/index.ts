// The e2e harness: real processes (meshplane, greeter backends, proxyless clients on grpc-js or
// gRPC C-core) on 127.0.0.1, each returned as a handle with stop(). Register every stop() with
// `t.after` right away.
export {
  startMeshplane,
  runCli,
  cliBootstrap,
  parseJsonLines,
  type Meshplane,
  type MeshplaneOptions,
  type CliRun,
} from "./meshplane.ts";
export { startGreeter, type Greeter, type GreeterOptions } from "./greeter.ts";
export {
  ccoreVersion,
  ccoreInstallHint,
  programFor,
  systemPython,
  versionBelow,
  type Implementation,
} from "./implementations.ts";
export {
  startXdsClient,
  shares,
  type XdsClient,
  type XdsClientOptions,
  type CallCommandInput,
  type CallResult,
} from "./xds-client.ts";
export * from "./admin.ts";
export { waitFor, sleep, FatalWaitError, type WaitOptions } from "./wait.ts";
export { tempConfigDir, type TempConfigDir } from "./config.ts";
export {
  meshYaml,
  MeshYaml,
  weighted,
  faultFilter,
  greeterMesh,
  type EndpointSpec,
  type GreeterMeshOptions,
} from "./mesh-yaml.ts";
export { suiteScope, type SuiteScope } from "./scope.ts";
export {
  startMeshFixture,
  warmUp,
  type MeshFixture,
  type MeshFixtureOptions,
  type Defer,
} from "./fixture.ts";
export { summary, assertAllOn, assertNoErrors, assertSplit } from "./expect.ts";
export { parseMetrics, metricValue, metricLines, type Sample } from "./metrics.ts";
export { stopAllChildren } from "../../../examples/quickstart/lib/child.ts";
export * from "./paths.ts";
