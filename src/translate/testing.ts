// Test helpers shared by translator tests.
import { MeshFacets, type MeshSnapshot } from "../mesh/index.ts";
import type { ProxyProfile } from "./types.ts";
import { MeshView } from "./view.ts";

/** A view of `mesh` for a proxy in `namespace`, allowed every proxy attribute. */
export function viewOf(mesh: MeshSnapshot, namespace = "default"): MeshView {
  const profile: ProxyProfile = { namespace, flavour: "grpc", instanceIps: [] };
  return new MeshView(new MeshFacets(mesh), profile, ["namespace", "instanceIps"]);
}
