// Server listeners for proxyless gRPC (gRFC A36) by mTLS mode (A29): the address they answer,
// the Service ports they are built from (and what that read), the listener itself, and
// grpc-js-xds's own verdict on it (and Envoy's PGV rules, which the same protos carry).
import { test } from "node:test";
import assert from "node:assert/strict";
import { toJson } from "@bufbuild/protobuf";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import {
  facetKey,
  MeshFacets,
  openPortSecurity,
  type MeshSnapshot,
  type MtlsMode,
} from "../../mesh/index.ts";
import { assertValidEnvoy } from "../envoy/pgv-assert.ts";
import { translate } from "../generator.ts";
import { packedTypesRegistry } from "../json.ts";
import { typeUrlOf } from "../proto.ts";
import { viewOf } from "../testing.ts";
import { faultFilter } from "./fault.ts";
import { grpcServerListener, parseServerListenerName, serverListenerPrefix } from "./server-listener.ts";
import { grpcJsXdsErrors, grpcJsXdsListenersEquivalent } from "./testing/grpc-js-xds.ts";
import { endpoint, mesh, mtls, service, servicePort } from "./testing/mesh.ts";

const LDS = typeUrlOf(ListenerSchema);
const profile = { namespace: "default", flavour: "grpc" as const, instanceIps: [] };
const nameFor = (address: string) => `${serverListenerPrefix}${address}`;

test("server listener names: IP:port only, IPv6 in brackets", () => {
  const cases: [string, { ip: string; port: number } | undefined][] = [
    [nameFor("10.0.0.1:50051"), { ip: "10.0.0.1", port: 50051 }],
    [nameFor("[::1]:8080"), { ip: "::1", port: 8080 }],
    [nameFor("0.0.0.0:1"), { ip: "0.0.0.0", port: 1 }],
    [nameFor("greeter:50051"), undefined],
    [nameFor("10.0.0.1"), undefined],
    [nameFor("10.0.0.1:0"), undefined],
    [nameFor("10.0.0.1:65536"), undefined],
    [nameFor("::1:8080"), undefined],
    ["greeter:50051", undefined],
    ["grpc/server?xds.resource.listening_address", undefined],
  ];
  for (const [name, expected] of cases) assert.deepEqual(parseServerListenerName(name), expected, name);
});

/** greeter (port 50051 → 10.0.0.1:8080) and its neighbour in another namespace. */
function twoServices(greeterMode: MtlsMode, otherMode: MtlsMode = "PERMISSIVE"): MeshSnapshot {
  const slice = (object: string, address: string) => [{ object, addresses: [address] }];
  return mesh([
    service("greeter", {
      ports: [
        servicePort(50051, [endpoint("10.0.0.1", "", true, 8080)], undefined, {
          security: mtls(greeterMode, "PeerAuthentication default/greeter"),
          slices: slice("EndpointSlice default/greeter-1", "10.0.0.1"),
        }),
      ],
    }),
    service("other", {
      namespace: "web",
      ports: [
        servicePort(80, [endpoint("10.0.0.2", "", true, 8080)], undefined, {
          security: mtls(otherMode, "PeerAuthentication web/other"),
          slices: slice("EndpointSlice web/other-1", "10.0.0.2"),
        }),
      ],
    }),
  ]);
}

const json = (snapshot: MeshSnapshot, address: string) => {
  const { resource } = translate(new MeshFacets(snapshot), profile, LDS, nameFor(address));
  assert.ok(resource, address);
  return toJson(ListenerSchema, resource.message as never, { registry: packedTypesRegistry() }) as Record<
    string,
    never
  >;
};

const routerFilter = {
  name: "envoy.filters.http.router",
  typedConfig: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
};

function expectedListener(address: string, port: number, strict: boolean) {
  const instance = { instanceName: "default" };
  return {
    name: nameFor(`${address}:${port}`),
    address: { socketAddress: { address, portValue: port } },
    filterChains: [
      {
        name: `inbound|${port}`,
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typedConfig: {
              "@type":
                "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
              statPrefix: strict ? "inbound_mtls" : "inbound",
              routeConfig: {
                name: `inbound|${port}`,
                virtualHosts: [
                  {
                    name: "inbound",
                    domains: ["*"],
                    routes: [{ match: { prefix: "/" }, nonForwardingAction: {} }],
                  },
                ],
              },
              httpFilters: [routerFilter],
            },
          },
        ],
        ...(strict && {
          transportSocket: {
            name: "envoy.transport_sockets.tls",
            typedConfig: {
              "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
              commonTlsContext: {
                tlsCertificateProviderInstance: instance,
                validationContext: { caCertificateProviderInstance: instance },
              },
              requireClientCertificate: true,
            },
          },
        }),
      },
    ],
  };
}

test("server listener by mode: TLS requiring a client certificate in STRICT, plaintext otherwise", () => {
  const modes: [MtlsMode, boolean][] = [
    ["STRICT", true],
    ["PERMISSIVE", false],
    ["DISABLE", false],
  ];
  for (const [mode, strict] of modes) {
    const snapshot = twoServices(mode);
    assert.deepEqual(json(snapshot, "10.0.0.1:8080"), expectedListener("10.0.0.1", 8080, strict), mode);
    const { resource } = translate(new MeshFacets(snapshot), profile, LDS, nameFor("10.0.0.1:8080"));
    assert.ok(resource);
    assert.deepEqual(grpcJsXdsErrors(resource), [], `grpc-js-xds accepts the ${mode} listener`);
    assertValidEnvoy([resource]);
    // Blame and Programmed reach: the PeerAuthentication that decided the mode, and the slice.
    assert.deepEqual(resource.provenance.objects, [
      "PeerAuthentication default/greeter",
      "EndpointSlice default/greeter-1",
    ]);
  }
});

test("an address no Service backs gets the mesh-wide security; an unknown port at a known address too", () => {
  const snapshot = {
    ...twoServices("DISABLE"),
    meshSecurity: mtls("STRICT", "PeerAuthentication meshplane-system/default"),
  };
  for (const address of ["10.9.9.9:8080", "10.0.0.1:9090"]) {
    assert.deepEqual(
      json(snapshot, address),
      expectedListener(address.split(":")[0] ?? "", Number(address.split(":")[1]), true),
    );
    const { resource } = translate(new MeshFacets(snapshot), profile, LDS, nameFor(address));
    assert.deepEqual(
      resource?.provenance.objects.includes("PeerAuthentication meshplane-system/default"),
      true,
    );
    assert.ok(resource?.provenance.reads.has(facetKey.meshSecurity()));
  }
  assert.equal(
    translate(new MeshFacets(snapshot), profile, LDS, nameFor("greeter:8080")).resource,
    undefined,
  );
});

test("what a server listener reads: its address alone, whose facet lists the Service ports served there", () => {
  const view = viewOf(twoServices("STRICT"));
  assert.deepEqual(view.servicePortsAt("10.0.0.1", 8080), [
    { namespace: "default", name: "greeter", port: 50051 },
  ]);
  const reads = [...view.provenance().reads].sort();
  assert.deepEqual(reads, [facetKey.address("10.0.0.1")]);
  assert.deepEqual(viewOf(twoServices("STRICT")).servicePortsAt("10.0.0.1", 9090), []);
});

test("HTTP filters given to the listener run before the router", () => {
  // The fault filter is a client filter: optional, so a server skips it (authorization goes here).
  const extra = faultFilter();
  extra.isOptional = true;
  const address = { ip: "127.0.0.1", port: 50051 };
  const listener = grpcServerListener(nameFor("127.0.0.1:50051"), address, openPortSecurity, [extra]);
  const resource = { name: listener.name, typeUrl: LDS, schema: ListenerSchema, message: listener };
  const manager = toJson(ListenerSchema, listener, { registry: packedTypesRegistry() }) as {
    filterChains: { filters: { typedConfig: { httpFilters: { name: string }[] } }[] }[];
  };
  assert.deepEqual(
    manager.filterChains[0]?.filters[0]?.typedConfig.httpFilters.map((f) => f.name),
    ["envoy.filters.http.fault", "envoy.filters.http.router"],
  );
  assert.deepEqual(grpcJsXdsErrors(resource), []);
});

test("an XdsServer takes every mode change as a change, and survives it", () => {
  const modes = ["STRICT", "PERMISSIVE", "DISABLE"] as const;
  const listenerIn = (mode: MtlsMode) => {
    const { resource } = translate(new MeshFacets(twoServices(mode)), profile, LDS, nameFor("10.0.0.1:8080"));
    assert.ok(resource);
    return resource;
  };
  for (const from of modes) {
    for (const to of modes) {
      const tlsChanges = (from === "STRICT") !== (to === "STRICT");
      if (!tlsChanges) continue;
      assert.equal(grpcJsXdsListenersEquivalent(listenerIn(to), listenerIn(from)), false, `${from} → ${to}`);
    }
  }
});
