// Node metadata MESHPLANE_CERT_DIR: where an Envoy sidecar's agent writes its certificate files.
// Only a clean absolute path is taken, and only sidecars that name one get a profile group of
// their own for SDS (the others share the default's resources).
import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { NodeSchema } from "../gen/envoy/config/core/v3/base_pb.js";
import { profileGroup } from "../translate/index.ts";
import { certDirectory, certDirMaxChars, proxyIdentity } from "./proxy-identity.ts";
import { TypeUrl } from "./resource-types.ts";

const cases: [value: unknown, expected: string | undefined][] = [
  ["/etc/certs", "/etc/certs"],
  ["/etc/certs///", "/etc/certs"],
  ["/var/run/meshplane/certs", "/var/run/meshplane/certs"],
  [undefined, undefined],
  [42, undefined],
  ["", undefined],
  ["/", undefined],
  ["certs", undefined],
  ["./certs", undefined],
  ["/etc/../root", undefined],
  ["/etc/./certs", undefined],
  ["/etc/certs\n", undefined],
  ["/etc/\u0000certs", undefined],
  [`/${"a".repeat(certDirMaxChars)}`, undefined],
];

for (const [value, expected] of cases) {
  test(`MESHPLANE_CERT_DIR ${JSON.stringify(value)?.slice(0, 40)} → ${expected ?? "the default"}`, () => {
    assert.equal(certDirectory(value), expected);
  });
}

test("the directory is part of the profile; SDS groups by it, other types ignore it", () => {
  const node = (metadata: Record<string, string>) =>
    create(NodeSchema, { id: "n", userAgentName: "envoy", metadata: { NAMESPACE: "shop", ...metadata } });
  const plain = proxyIdentity(node({})).profile;
  const custom = proxyIdentity(node({ MESHPLANE_CERT_DIR: "/etc/certs" })).profile;
  assert.equal(plain.certDir, undefined);
  assert.equal(custom.certDir, "/etc/certs");
  assert.equal(profileGroup(TypeUrl.Secret, plain), "envoy");
  assert.equal(profileGroup(TypeUrl.Secret, custom), "envoy|certs=/etc/certs");
  assert.equal(profileGroup(TypeUrl.Cluster, custom), profileGroup(TypeUrl.Cluster, plain));
});
