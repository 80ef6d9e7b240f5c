// The types translators pack into Any, so resources can be printed as proto JSON (config dump):
// every generated Envoy/xDS type, for either data-plane flavour.
import type { Registry } from "@bufbuild/protobuf";
import { envoyRegistry } from "./envoy/registry.ts";

export function packedTypesRegistry(): Registry {
  return envoyRegistry;
}
