import assert from "node:assert/strict";
import { test } from "node:test";
import { TypeUrl, type ProxyStatus, type TypeSyncStatus } from "../xds/index.ts";
import { isNacked, proxyRow, renderProxyStatus } from "./proxy-status.ts";

const type = (typeUrl: string, extra: Partial<TypeSyncStatus> = {}): TypeSyncStatus => ({
  typeUrl,
  subscribed: ["x"],
  wildcard: false,
  sentVersion: "v1",
  sentNonce: "1",
  ackedVersion: "v1",
  lastNack: null,
  nackCount: 0,
  latestVersion: "v1",
  inFlight: false,
  pending: false,
  outdated: 0,
  ...extra,
});

const proxy = (
  nodeId: string,
  types: TypeSyncStatus[],
  rejections: ProxyStatus["rejections"] = [],
): ProxyStatus => ({
  streamId: 1,
  protocol: "sotw",
  nodeId,
  namespace: "default",
  userAgent: "grpc-node-js/1.14.1",
  flavour: "grpc",
  instanceIps: [],
  client: null,
  connectedAt: "2026-01-01T00:00:00.000Z",
  types,
  rejections,
});

test("the table shows each type's state in push order, - when not subscribed, then each NACK's error", () => {
  const rows = [
    proxyRow(proxy("default/a", [type(TypeUrl.Listener), type(TypeUrl.Cluster, { inFlight: true })]), "r1"),
    proxyRow(
      proxy(
        "default/b",
        [type(TypeUrl.ClusterLoadAssignment, { sentNonce: "2", sentVersion: "v2" })],
        [
          {
            type: "eds",
            resource: "outbound|50051||bad.default.svc.cluster.local",
            rejectedHash: "h2",
            keptHash: null,
            error: "address is not a valid IPv4 or IPv6 address",
            objects: [],
            since: "",
            count: 1,
            retryAt: "",
          },
        ],
      ),
      "r2",
    ),
    proxyRow(
      proxy("default/c", [type(TypeUrl.RouteConfiguration, { sentVersion: null, sentNonce: null })]),
      "r1",
    ),
  ];
  assert.equal(
    renderProxyStatus(rows),
    [
      "NAME        REPLICA   CLIENT                CDS     EDS      LDS      RDS",
      "default/a   r1        grpc-node-js/1.14.1   STALE   -        SYNCED   -",
      "default/b   r2        grpc-node-js/1.14.1   -       NACKED   -        -",
      "default/c   r1        grpc-node-js/1.14.1   -       -        -        NOT SENT",
      "",
      "NACKED default/b EDS (replica r2): outbound|50051||bad.default.svc.cluster.local: address is not a valid IPv4 or IPv6 address",
      "",
    ].join("\n"),
  );
  assert.deepEqual(rows.map(isNacked), [false, true, false]);
});
