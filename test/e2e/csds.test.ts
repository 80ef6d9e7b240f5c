// CSDS (envoy.service.status.v3.ClientStatusDiscoveryService) as a standard tool sees it: a gRPC
// client built from the published csds.proto (the Envoy API shipped in @grpc/grpc-js-xds, loaded
// by @grpc/proto-loader, no meshplane code) asks a running meshplane about two real grpc-js-xds
// clients, one of which NACKs an EndpointSlice address ("127.000.000.001", see nack.test.ts).
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import {
  TypeUrls,
  meshYaml,
  startMeshFixture,
  startXdsClient,
  suiteScope,
  waitFor,
  waitForNack,
  warmUp,
  weighted,
  type MeshFixture,
  type XdsClient,
} from "./support/index.ts";

const port = 50051;
const target = `xds:///greeter:${port}`;
const otherTarget = `xds:///other:${port}`;

interface GenericXdsConfig {
  type_url: string;
  name: string;
  version_info: string;
  xds_config: { type_url: string; value: Buffer } | null;
  config_status: string;
  client_status: string;
  error_state: { details: string; version_info: string } | null;
}

interface ClientConfig {
  node: { id: string; user_agent_name: string } | null;
  generic_xds_configs: GenericXdsConfig[];
}

interface ClientStatusResponse {
  config: ClientConfig[];
}

interface CsdsRequest {
  node_matchers?: { node_id: Record<string, unknown> }[];
}

type CsdsClient = grpc.Client & {
  FetchClientStatus(
    request: CsdsRequest,
    callback: (error: grpc.ServiceError | null, response?: ClientStatusResponse) => void,
  ): void;
  StreamClientStatus(): grpc.ClientDuplexStream<CsdsRequest, ClientStatusResponse>;
};

/** A CSDS client from the published proto files, as any gRPC tool would build one. */
function csdsClient(address: string): CsdsClient {
  const require = createRequire(import.meta.url);
  const deps = join(dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps");
  const definition = loadSync("envoy/service/status/v3/csds.proto", {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => join(deps, d)),
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    envoy: { service: { status: { v3: { ClientStatusDiscoveryService: grpc.ServiceClientConstructor } } } };
  };
  const Service = loaded.envoy.service.status.v3.ClientStatusDiscoveryService;
  return new Service(address, grpc.credentials.createInsecure()) as unknown as CsdsClient;
}

function fetchStatus(client: CsdsClient, request: CsdsRequest): Promise<ClientStatusResponse> {
  return new Promise((resolve, reject) =>
    client.FetchClientStatus(request, (error, response) =>
      error || !response ? reject(error ?? new Error("no response")) : resolve(response),
    ),
  );
}

const byNode = (response: ClientStatusResponse, id: string) => response.config.find((c) => c.node?.id === id);

describe("CSDS", { timeout: 120_000 }, () => {
  const scope = suiteScope();
  let mesh: MeshFixture;
  let okClient: XdsClient;
  let csds: CsdsClient;

  before(async () => {
    let v3Port = 0;
    mesh = await startMeshFixture(scope.defer, {
      greeters: ["v1", "v2", "v3"],
      nodeId: "default/nack-client",
      files: ({ v1, v2, v3 }) => {
        v3Port = v3!.port;
        return {
          "00-greeter.yaml": meshYaml()
            .service("greeter", port, [{ port: v1!.port }, { port: v2!.port }])
            .service("other", port, [{ port: v1!.port }])
            .service("greeter-v1", port, [{ port: v1!.port }])
            .grpcRoute("other", {
              parent: "other",
              port,
              rules: [{ backendRefs: weighted({ "greeter-v1": 1 }) }],
            })
            .render(),
        };
      },
    });
    // The second client calls `other` only, so greeter's endpoints (and their NACK) are not its own.
    okClient = await startXdsClient({
      xdsAddress: mesh.meshplane.xdsAddress,
      nodeId: "default/ok-client",
      namespace: "default",
    });
    scope.defer(() => okClient.stop());
    await warmUp(mesh.client, target);
    await warmUp(okClient, otherTarget);
    await mesh.config.write(
      "10-greeter-v3-slice.yaml",
      meshYaml()
        .endpointSlice("greeter", "greeter-3", [{ address: "127.000.000.001", port: v3Port }])
        .render(),
    );
    await waitForNack(mesh.admin, { nodeId: mesh.nodeId, type: "eds" });
    csds = csdsClient(mesh.meshplane.xdsAddress);
    scope.defer(() => csds.close());
  });

  test("FetchClientStatus: NACKED with the client's error for the NACKing client, ACKED for the other", async (t) => {
    const response = await fetchStatus(csds, {});
    const ids = response.config.map((c) => c.node?.id).sort();
    assert.deepEqual(ids, ["default/nack-client", "default/ok-client"], JSON.stringify(ids));

    const nacking = byNode(response, "default/nack-client")!;
    const nacked = nacking.generic_xds_configs.filter((c) => c.client_status === "NACKED");
    t.diagnostic(
      `NACKED: ${JSON.stringify(nacked.map((c) => ({ name: c.name, kept: c.version_info, error: c.error_state?.details, rejected: c.error_state?.version_info })))}`,
    );
    assert.equal(nacked.length, 1, `one resource NACKED: ${nacked.map((c) => c.name).join(", ")}`);
    const [eds] = nacked;
    assert.equal(eds?.type_url, TypeUrls.eds);
    assert.match(eds?.name ?? "", /greeter\.default/, "greeter's endpoints");
    assert.equal(eds?.config_status, "ERROR");
    assert.match(eds?.error_state?.details ?? "", /not a valid IPv4/);
    assert.match(eds?.error_state?.details ?? "", /127\.000\.000\.001/);
    assert.ok(eds?.error_state?.version_info, "the rejected version");
    assert.notEqual(eds?.error_state?.version_info, eds?.version_info, "kept and rejected versions differ");
    assert.equal(eds?.xds_config?.type_url, TypeUrls.eds, "the endpoints the client kept");
    assert.ok((eds?.xds_config?.value.length ?? 0) > 0);
    // Everything else the NACKing client holds is ACKED and in sync.
    for (const config of nacking.generic_xds_configs.filter((c) => c !== eds)) {
      assert.deepEqual(
        [config.client_status, config.config_status],
        ["ACKED", "SYNCED"],
        JSON.stringify(config),
      );
    }

    const ok = byNode(response, "default/ok-client")!;
    const types = new Set(ok.generic_xds_configs.map((c) => c.type_url));
    assert.deepEqual(
      [...types].sort(),
      [TypeUrls.cds, TypeUrls.eds, TypeUrls.lds, TypeUrls.rds].sort(),
      "the other client's listener, route, clusters and endpoints",
    );
    for (const config of ok.generic_xds_configs) {
      assert.equal(config.client_status, "ACKED", JSON.stringify(config));
      assert.equal(config.config_status, "SYNCED", JSON.stringify(config));
      assert.ok(config.version_info, JSON.stringify(config));
      assert.equal(config.xds_config?.type_url, config.type_url, "the resource as held, packed in an Any");
    }
  });

  test("node_matchers select clients by node id", async () => {
    const exact = await fetchStatus(csds, { node_matchers: [{ node_id: { exact: "default/ok-client" } }] });
    assert.deepEqual(
      exact.config.map((c) => c.node?.id),
      ["default/ok-client"],
    );
    const prefix = await fetchStatus(csds, { node_matchers: [{ node_id: { prefix: "default/nack" } }] });
    assert.deepEqual(
      prefix.config.map((c) => c.node?.id),
      ["default/nack-client"],
    );
    const none = await fetchStatus(csds, { node_matchers: [{ node_id: { exact: "nobody" } }] });
    assert.deepEqual(none.config, []);
  });

  test("StreamClientStatus answers each request on one stream", async () => {
    const call = csds.StreamClientStatus();
    const responses: ClientStatusResponse[] = [];
    call.on("data", (response: ClientStatusResponse) => responses.push(response));
    try {
      call.write({ node_matchers: [{ node_id: { exact: "default/ok-client" } }] });
      call.write({ node_matchers: [{ node_id: { exact: "default/nack-client" } }] });
      await waitFor(() => responses.length === 2, { timeoutMs: 5_000, message: "two CSDS responses" });
    } finally {
      call.end();
    }
    assert.deepEqual(
      responses.map((r) => r.config.map((c) => c.node?.id)),
      [["default/ok-client"], ["default/nack-client"]],
    );
  });

  test("a request over csds.nodeMatchers is refused with RESOURCE_EXHAUSTED naming the limit", async () => {
    const matchers = Array.from({ length: 65 }, (_, i) => ({ node_id: { exact: `n${i}` } }));
    const error = await fetchStatus(csds, { node_matchers: matchers }).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    assert.equal(error?.code, grpc.status.RESOURCE_EXHAUSTED, String(error));
    assert.match(error?.details ?? "", /csds\.nodeMatchers/);
    // The port still serves.
    assert.equal((await fetchStatus(csds, {})).config.length, 2);
  });
});
