// The bootstrap a workload gets, and the failover its server_uri gives with the real grpc-js
// channel (the one grpc-js-xds builds from xds_servers[0].server_uri).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { validateBootstrapConfig } from "@grpc/grpc-js-xds/build/src/xds-bootstrap.js";
import { serverListenerPrefix } from "../translate/grpc/server-listener.ts";
import { certificateProviderInstance as tlsProviderInstance } from "../translate/grpc/tls.ts";
import { certificateProviderInstance, grpcBootstrap, xdsServerUri } from "./bootstrap.ts";

test("one address is the server_uri as given; the node carries namespace, labels and zone", () => {
  const bootstrap = grpcBootstrap({
    xdsAddress: "127.0.0.1:15010",
    nodeId: "default/web-1",
    namespace: "default",
    labels: { app: "web" },
    zone: "zone-a",
  });
  assert.deepEqual(bootstrap, {
    xds_servers: [
      { server_uri: "127.0.0.1:15010", channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] },
    ],
    node: {
      id: "default/web-1",
      cluster: "default",
      locality: { zone: "zone-a" },
      metadata: { NAMESPACE: "default", LABELS: { app: "web" } },
    },
    server_listener_resource_name_template: "grpc/server?xds.resource.listening_address=%s",
  });
});

const uris: [string, string][] = [
  ["meshplane-xds.mesh.svc:15010", "meshplane-xds.mesh.svc:15010"],
  ["[::1]:15010", "[::1]:15010"],
  ["127.0.0.1:15010,127.0.0.1:15020", "ipv4:127.0.0.1:15010,127.0.0.1:15020"],
  ["10.0.0.1:15010, 10.0.0.2:15010,10.0.0.3:15010", "ipv4:10.0.0.1:15010,10.0.0.2:15010,10.0.0.3:15010"],
  ["[::1]:15010,[fd00::2]:15010", "ipv6:[::1]:15010,[fd00::2]:15010"],
];
for (const [input, uri] of uris) {
  test(`--xds-address ${input} → server_uri ${uri}`, () => {
    assert.equal(xdsServerUri(input), uri);
    assert.equal(
      grpcBootstrap({ xdsAddress: input, nodeId: "n", namespace: "d" }).xds_servers[0]?.server_uri,
      uri,
    );
  });
}

const refused: [string, RegExp][] = [
  ["127.0.0.1", /must be host:port/],
  ["127.0.0.1:0", /must be host:port/],
  ["127.0.0.1:15010,", /must be host:port/],
  ["http://127.0.0.1:15010", /must be host:port/],
  ["127.0.0.1:15010,127.0.0.1:15010", /twice/],
  ["a.example:15010,b.example:15010", /IP addresses of one family.*one DNS name/],
  ["127.0.0.1:15010,[::1]:15010", /IP addresses of one family/],
  ["300.0.0.1:15010,127.0.0.1:15010", /IP addresses of one family/],
];
for (const [input, message] of refused) {
  test(`--xds-address ${input} is refused`, () => {
    assert.throws(() => xdsServerUri(input), message);
  });
}

test("an empty node id is refused", () => {
  assert.throws(() => grpcBootstrap({ xdsAddress: "127.0.0.1:1", nodeId: "", namespace: "d" }), /--node-id/);
});

describe(
  "a several-replica server_uri with the real grpc-js channel (pick_first)",
  { timeout: 30_000 },
  () => {
    // Each server answers with its own name, so a call shows which address the channel uses.
    const method = "/meshplane.test.Who/Name";
    const codec = { serialize: (s: string) => Buffer.from(s), deserialize: (b: Buffer) => b.toString() };
    const definition = {
      Name: {
        path: method,
        requestStream: false,
        responseStream: false,
        requestSerialize: codec.serialize,
        requestDeserialize: codec.deserialize,
        responseSerialize: codec.serialize,
        responseDeserialize: codec.deserialize,
      },
    } satisfies grpc.ServiceDefinition;
    const servers = new Map<string, { server: grpc.Server; port: number }>();
    const clients: grpc.Client[] = [];

    async function serve(name: string): Promise<number> {
      const server = new grpc.Server();
      server.addService(definition, {
        Name: (_call: unknown, callback: grpc.sendUnaryData<string>) => callback(null, name),
      });
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
          error ? reject(error) : resolve(bound),
        ),
      );
      servers.set(name, { server, port });
      return port;
    }

    function who(client: grpc.Client): Promise<string> {
      return new Promise((resolve, reject) =>
        client.makeUnaryRequest(
          method,
          codec.serialize,
          codec.deserialize,
          "who",
          new grpc.Metadata({ waitForReady: true }),
          { deadline: Date.now() + 5000 },
          (error, value) => (error || value === undefined ? reject(error) : resolve(value)),
        ),
      );
    }

    before(async () => {
      await serve("a");
      await serve("b");
    });
    after(() => {
      for (const client of clients) client.close();
      for (const { server } of servers.values()) server.forceShutdown();
    });

    test("connects to the first address; when that server dies, to the next", async () => {
      const a = servers.get("a")?.port;
      const b = servers.get("b")?.port;
      const client = new grpc.Client(
        xdsServerUri(`127.0.0.1:${a},127.0.0.1:${b}`),
        grpc.credentials.createInsecure(),
      );
      clients.push(client);
      assert.equal(await who(client), "a");
      servers.get("a")?.server.forceShutdown();
      assert.equal(await who(client), "b");
    });

    test("skips an address nobody listens on", async () => {
      const dead = await serve("dead");
      servers.get("dead")?.server.forceShutdown();
      const b = servers.get("b")?.port;
      const client = new grpc.Client(
        xdsServerUri(`127.0.0.1:${dead},127.0.0.1:${b}`),
        grpc.credentials.createInsecure(),
      );
      clients.push(client);
      assert.equal(await who(client), "b");
    });
  },
);

test("--cert-dir adds the file_watcher provider over the agent's files, as grpc-js-xds reads it", () => {
  const bootstrap = grpcBootstrap({
    xdsAddress: "127.0.0.1:15010",
    nodeId: "n",
    namespace: "shop",
    certDir: "/var/run/certs",
  });
  assert.deepEqual(bootstrap.certificate_providers, {
    default: {
      plugin_name: "file_watcher",
      config: {
        certificate_file: "/var/run/certs/cert-chain.pem",
        private_key_file: "/var/run/certs/key.pem",
        ca_certificate_file: "/var/run/certs/root-cert.pem",
        refresh_interval: "5s",
      },
    },
  });
  // The client's own bootstrap validation (gRFC A29 file_watcher config).
  const validated = validateBootstrapConfig(bootstrap);
  assert.deepEqual(validated.certificateProviders.default, {
    pluginName: "file_watcher",
    config: {
      certificateFile: "/var/run/certs/cert-chain.pem",
      privateKeyFile: "/var/run/certs/key.pem",
      caCertificateFile: "/var/run/certs/root-cert.pem",
      refreshIntervalMs: 5000,
    },
  });
  assert.equal(
    grpcBootstrap({ xdsAddress: "127.0.0.1:15010", nodeId: "n", namespace: "shop" }).certificate_providers,
    undefined,
  );
  assert.throws(
    () =>
      grpcBootstrap({
        xdsAddress: "127.0.0.1:15010",
        nodeId: "n",
        namespace: "shop",
        certDir: "c",
        certRefreshSeconds: 0,
      }),
    /--cert-refresh/,
  );
});

test("the bootstrap names what the translator's server listeners and TLS contexts expect", () => {
  const bootstrap = grpcBootstrap({
    xdsAddress: "127.0.0.1:15010",
    nodeId: "n",
    namespace: "default",
    certDir: "/certs",
  });
  assert.equal(bootstrap.server_listener_resource_name_template, `${serverListenerPrefix}%s`);
  assert.deepEqual(Object.keys(bootstrap.certificate_providers ?? {}), [tlsProviderInstance]);
  assert.equal(certificateProviderInstance, tlsProviderInstance);
});

test("--xds-tls: channel_creds of type tls over the agent's files (gRFC A65), and nothing to fall back to", () => {
  const bootstrap = grpcBootstrap({
    xdsAddress: "meshplane.mesh.svc:15010",
    nodeId: "n",
    namespace: "shop",
    certDir: "/var/run/certs",
    certRefreshSeconds: 2,
    xdsTls: true,
  });
  assert.deepEqual(bootstrap.xds_servers[0]?.channel_creds, [
    {
      type: "tls",
      config: {
        ca_certificate_file: "/var/run/certs/root-cert.pem",
        certificate_file: "/var/run/certs/cert-chain.pem",
        private_key_file: "/var/run/certs/key.pem",
        refresh_interval: "2s",
      },
    },
  ]);
  assert.throws(
    () => grpcBootstrap({ xdsAddress: "127.0.0.1:15010", nodeId: "n", namespace: "shop", xdsTls: true }),
    /--xds-tls needs --cert-dir/,
  );
  // What grpc-js-xds 1.14 does with it: it knows only google_default and insecure, and refuses the
  // bootstrap rather than connect in plaintext (documented in `meshplane serve --help`).
  assert.throws(
    () => validateBootstrapConfig(bootstrap),
    /must contain at least one entry with a type in \[google_default,insecure\]/,
  );
});
