// Where the things under test live, independent of the working directory.
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
/** The meshplane CLI, run from source (Node 24 strips the types). */
export const cliPath = fileURLToPath(new URL("../../../src/cli/main.ts", import.meta.url));
export const quickstartDir = fileURLToPath(new URL("../../../examples/quickstart/", import.meta.url));
export const greeterServerPath = fileURLToPath(
  new URL("../../../examples/quickstart/greeter-server.ts", import.meta.url),
);
export const xdsClientPath = fileURLToPath(
  new URL("../../../examples/quickstart/xds-client.ts", import.meta.url),
);
export const quickstartMeshDir = fileURLToPath(
  new URL("../../../examples/quickstart/mesh/", import.meta.url),
);
