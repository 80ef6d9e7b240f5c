import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { TypeUrl } from "./resource-types.ts";
import type { ResourceRejection, TypeSyncStatus } from "./status.ts";
import { syncStateMeanings, typeSyncState } from "./sync-state.ts";

const synced: TypeSyncStatus = {
  typeUrl: TypeUrl.ClusterLoadAssignment,
  subscribed: ["outbound|8080||greeter.default"],
  wildcard: false,
  sentVersion: "v2",
  sentNonce: "4",
  ackedVersion: "v2",
  lastNack: null,
  nackCount: 0,
  latestVersion: "v2",
  inFlight: false,
  pending: false,
  outdated: 0,
};

const nack = { rejectedVersion: "v3", nonce: "5", message: "address is not valid", code: 3, at: "" };

const edsRejection: ResourceRejection = {
  type: "eds",
  resource: "outbound|8080||greeter.default",
  rejectedHash: "h3",
  keptHash: "h2",
  error: "address is not a valid IPv4 or IPv6 address",
  objects: ["EndpointSlice default/greeter-3"],
  since: "",
  count: 1,
  retryAt: "",
};

const cases: {
  name: string;
  type: Partial<TypeSyncStatus>;
  rejections?: ResourceRejection[];
  want: string;
}[] = [
  { name: "ACKed and holding the latest", type: {}, want: "SYNCED" },
  {
    name: "a set that only lost names is not resent, and is synced",
    type: { latestVersion: "v5" },
    want: "SYNCED",
  },
  {
    name: "nothing sent yet",
    type: { sentVersion: null, sentNonce: null, ackedVersion: null },
    want: "NOT SENT",
  },
  { name: "response in flight", type: { sentVersion: "v3", sentNonce: "5", inFlight: true }, want: "STALE" },
  { name: "new config waits to be evaluated", type: { pending: true }, want: "STALE" },
  { name: "holds an older version of a resource", type: { outdated: 1 }, want: "STALE" },
  {
    name: "last response NACKed",
    type: { sentVersion: "v3", sentNonce: "5", lastNack: nack, nackCount: 1 },
    want: "NACKED address is not valid",
  },
  {
    name: "an old NACK followed by an ACK",
    type: { sentVersion: "v4", sentNonce: "6", ackedVersion: "v4", lastNack: nack, nackCount: 1 },
    want: "SYNCED",
  },
  {
    name: "a resource kept on its last good version (NACK isolation) wins over in flight",
    type: { inFlight: true, outdated: 1 },
    rejections: [edsRejection],
    want: "NACKED outbound|8080||greeter.default: address is not a valid IPv4 or IPv6 address",
  },
  {
    name: "another type's rejection does not count",
    type: { typeUrl: TypeUrl.Cluster },
    rejections: [edsRejection],
    want: "SYNCED",
  },
];

for (const c of cases) {
  test(`sync state: ${c.name}`, () => {
    const verdict = typeSyncState({ ...synced, ...c.type }, c.rejections ?? []);
    assert.equal([verdict.state, verdict.error].filter(Boolean).join(" "), c.want);
  });
}

test("the README defines each state as syncStateMeanings does", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const rows = Object.fromEntries(
    [...readme.matchAll(/^\| (SYNCED|STALE|NOT SENT|NACKED) +\| (.+?) +\|$/gm)].map((m) => [m[1], m[2]]),
  );
  assert.deepEqual(rows, syncStateMeanings);
});
