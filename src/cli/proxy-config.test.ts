// `meshplane proxy-config NODE secrets`: the SDS secrets an Envoy sidecar holds, as the config
// dump carries them, with the files they name (never key material: there is none to show).
import { test } from "node:test";
import assert from "node:assert/strict";
import { renderConfigTable } from "./proxy-config.ts";

test("secrets table: kind and the files each secret names", () => {
  const dir = "/var/run/meshplane/certs";
  const table = renderConfigTable("secrets", {
    default: {
      version: "1",
      resource: {
        name: "default",
        tlsCertificate: {
          certificateChain: { filename: `${dir}/cert-chain.pem` },
          privateKey: { filename: `${dir}/key.pem` },
          watchedDirectory: { path: dir },
        },
      },
    },
    ROOTCA: {
      version: "1",
      resource: {
        name: "ROOTCA",
        validationContext: {
          trustedCa: { filename: `${dir}/root-cert.pem` },
          watchedDirectory: { path: dir },
        },
      },
    },
  });
  const lines = table
    .trimEnd()
    .split("\n")
    .map((line) => line.split(/ {2,}/));
  assert.deepEqual(lines, [
    ["NAME", "KIND", "FILES"],
    ["ROOTCA", "trust bundle", `${dir}/root-cert.pem`],
    ["default", "certificate", `${dir}/cert-chain.pem,${dir}/key.pem`],
  ]);
});
