// The TrafficPolicy in force for calls to one Service port: a policy targeting the port
// (sectionName) replaces the Service-wide one, as policy attachment does for more specific targets.
import { serviceKey, type MeshService, type MeshSnapshot, type ServicePolicy } from "../../mesh/index.ts";

export function portPolicy(service: MeshService, port: number): ServicePolicy | undefined {
  return service.ports.find((p) => p.port === port)?.policy ?? service.policy;
}

/** The policy of `namespace/name:port`, or undefined when the Service or port does not exist. */
export function backendPolicy(
  mesh: MeshSnapshot,
  namespace: string,
  name: string,
  port: number,
): ServicePolicy | undefined {
  const service = mesh.services.get(serviceKey(namespace, name));
  return service ? portPolicy(service, port) : undefined;
}
