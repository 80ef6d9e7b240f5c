// Which workload ports receive traffic through a sidecar. Inbound traffic arrives on the pod IP
// and the target port (the endpoint's port), which iptables sends to the inbound capture listener.
import type { MeshSnapshot } from "../../mesh/index.ts";

/**
 * The ports this workload serves: those of endpoints whose address is one of its IPs, in any
 * Service, ready or not (a pod that is starting up still receives its probes through the proxy).
 */
export function servedPorts(mesh: MeshSnapshot, instanceIps: readonly string[]): number[] {
  const ips = new Set(instanceIps);
  return endpointPorts(mesh, (address) => ips.has(address));
}

/**
 * Every endpoint port in the mesh. Inbound clusters (127.0.0.1:<port>) are the same for every
 * sidecar, so CDS carries one per port any workload may serve and stays shared by all sidecars.
 */
export function allWorkloadPorts(mesh: MeshSnapshot): number[] {
  return endpointPorts(mesh, () => true);
}

function endpointPorts(mesh: MeshSnapshot, include: (address: string) => boolean): number[] {
  const ports = new Set<number>();
  for (const service of mesh.services.values()) {
    for (const port of service.ports) {
      for (const endpoint of port.endpoints) if (include(endpoint.address)) ports.add(endpoint.port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}
