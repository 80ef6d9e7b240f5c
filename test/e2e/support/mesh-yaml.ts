// Builds mesh configuration (Service, EndpointSlice, GRPCRoute, HTTPRoute) as YAML for backends on
// whatever ports a test got, so e2e tests never depend on fixed ports:
//
//   const yaml = meshYaml()
//     .service("greeter", 50051, [{ port: v1.port, zone: "zone-a" }, { port: v2.port }])
//     .service("greeter-v1", 50051, [{ port: v1.port }])
//     .grpcRoute("split", { parent: "greeter", port: 50051, rules: [{ backendRefs: weighted({ "greeter-v1": 90 }) }] })
//     .render();
import { stringify } from "yaml";
import type {
  EndpointSlice,
  GRPCBackendRef,
  GRPCRoute,
  GRPCRouteRule,
  HTTPBackendRef,
  HTTPRoute,
  HTTPRouteRule,
  ParentReference,
  Service,
} from "../../../src/api/index.ts";

export interface EndpointSpec {
  port: number;
  /** Default 127.0.0.1 (everything in e2e stays on loopback). */
  address?: string;
  zone?: string;
  /** `conditions.ready`; omitted when undefined (Kubernetes: nil means ready). */
  ready?: boolean;
}

export interface ServiceOptions {
  namespace?: string;
  /** Service port name, also used for the slices' port name; default "grpc". */
  portName?: string;
  appProtocol?: string;
}

export interface RouteOptions<Rule> {
  namespace?: string;
  /** Parent Service name, or a full ParentReference (group "" and kind Service are filled in). */
  parent: string | Omit<ParentReference, "group" | "kind">;
  /** Restricts the route to this Service port (`parentRefs[].port`). */
  port?: number;
  rules: Rule[];
}

type Doc = Service | EndpointSlice | GRPCRoute | HTTPRoute | Record<string, unknown>;

export class MeshYaml {
  readonly docs: Doc[] = [];

  /** A Service with one port, plus one EndpointSlice per endpoint (slices carry a single port each). */
  service(name: string, port: number, endpoints: EndpointSpec[], options: ServiceOptions = {}): this {
    const namespace = options.namespace ?? "default";
    const portName = options.portName ?? "grpc";
    this.docs.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace },
      spec: {
        ports: [
          {
            name: portName,
            port,
            protocol: "TCP",
            ...(options.appProtocol ? { appProtocol: options.appProtocol } : {}),
          },
        ],
      },
    });
    endpoints.forEach((endpoint, i) =>
      this.endpointSlice(name, `${name}-${i + 1}`, [endpoint], { namespace, portName }),
    );
    return this;
  }

  /** One EndpointSlice for `service`; all `endpoints` must share one port. */
  endpointSlice(
    service: string,
    sliceName: string,
    endpoints: EndpointSpec[],
    options: { namespace?: string; portName?: string } = {},
  ): this {
    const ports = new Set(endpoints.map((e) => e.port));
    if (ports.size > 1)
      throw new Error(`slice ${sliceName}: endpoints of one slice share a port; got ${[...ports]}`);
    this.docs.push({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: sliceName,
        namespace: options.namespace ?? "default",
        labels: { "kubernetes.io/service-name": service },
      },
      addressType: "IPv4",
      endpoints: endpoints.map((e) => ({
        addresses: [e.address ?? "127.0.0.1"],
        ...(e.zone ? { zone: e.zone } : {}),
        ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }),
      })),
      ports: [{ name: options.portName ?? "grpc", port: endpoints[0]?.port ?? 1, protocol: "TCP" }],
    });
    return this;
  }

  grpcRoute(name: string, options: RouteOptions<GRPCRouteRule>): this {
    this.docs.push({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GRPCRoute",
      metadata: { name, namespace: options.namespace ?? "default" },
      spec: { parentRefs: [parentRef(options)], rules: options.rules },
    });
    return this;
  }

  httpRoute(name: string, options: RouteOptions<HTTPRouteRule>): this {
    this.docs.push({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name, namespace: options.namespace ?? "default" },
      spec: { parentRefs: [parentRef(options)], rules: options.rules },
    });
    return this;
  }

  /** A meshplane.dev TrafficPolicy attached to one Service. */
  trafficPolicy(name: string, service: string, spec: Record<string, unknown>, namespace = "default"): this {
    this.docs.push({
      apiVersion: "meshplane.dev/v1alpha1",
      kind: "TrafficPolicy",
      metadata: { name, namespace },
      spec: { targetRefs: [{ group: "", kind: "Service", name: service }], ...spec },
    });
    return this;
  }

  /** A meshplane.dev FaultInjection, used from a route rule through `faultFilter(name)`. */
  faultInjection(name: string, spec: Record<string, unknown>, namespace = "default"): this {
    this.docs.push({
      apiVersion: "meshplane.dev/v1alpha1",
      kind: "FaultInjection",
      metadata: { name, namespace },
      spec,
    });
    return this;
  }

  /** Any other object, verbatim (e.g. a deliberately invalid one). */
  raw(doc: Record<string, unknown>): this {
    this.docs.push(doc);
    return this;
  }

  /** Multi-document YAML. */
  render(): string {
    return this.docs.map((doc) => stringify(doc)).join("---\n");
  }
}

export function meshYaml(): MeshYaml {
  return new MeshYaml();
}

function parentRef<Rule>(options: RouteOptions<Rule>): ParentReference {
  const base = typeof options.parent === "string" ? { name: options.parent } : options.parent;
  return {
    group: "",
    kind: "Service",
    ...base,
    ...(options.port === undefined ? {} : { port: options.port }),
  };
}

/** `{ "greeter-v1": 90, "greeter-v2": 10 }` → backendRefs on `port` (default 50051). */
export function weighted(
  weights: Record<string, number>,
  port = 50051,
): Array<GRPCBackendRef & HTTPBackendRef> {
  return Object.entries(weights).map(([name, weight]) => ({ name, port, weight }));
}

export interface GreeterMeshOptions {
  v1Port: number;
  v2Port: number;
  weights?: [v1: number, v2: number];
  /** The Service port clients dial; default 50051. */
  servicePort?: number;
  namespace?: string;
}

/** The quick-start mesh (examples/quickstart/mesh) on the given backend ports. */
export function greeterMesh(options: GreeterMeshOptions): MeshYaml {
  const port = options.servicePort ?? 50051;
  const namespace = options.namespace ?? "default";
  const [w1, w2] = options.weights ?? [90, 10];
  return meshYaml()
    .service("greeter", port, [{ port: options.v1Port, zone: "zone-a" }, { port: options.v2Port }], {
      namespace,
    })
    .service("greeter-v1", port, [{ port: options.v1Port }], { namespace })
    .service("greeter-v2", port, [{ port: options.v2Port }], { namespace })
    .grpcRoute("greeter-split", {
      namespace,
      parent: "greeter",
      port,
      rules: [{ backendRefs: weighted({ "greeter-v1": w1, "greeter-v2": w2 }, port) }],
    });
}

/** A route rule filter that applies the FaultInjection `name` (same namespace as the route). */
export function faultFilter(name: string): {
  type: "ExtensionRef";
  extensionRef: { group: string; kind: string; name: string };
} {
  return { type: "ExtensionRef", extensionRef: { group: "meshplane.dev", kind: "FaultInjection", name } };
}
