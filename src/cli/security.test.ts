// The CA's flags: durations and the combinations `serve` refuses.
import assert from "node:assert/strict";
import { test } from "node:test";
import { caOptionsFrom, duration } from "./security.ts";

test("durations take s, m, h and d, at least one second", () => {
  assert.equal(duration("1s"), 1000);
  assert.equal(duration("90m"), 5_400_000);
  assert.equal(duration("24h"), 86_400_000);
  assert.equal(duration("7d"), 604_800_000);
  for (const bad of ["0s", "1", "1.5h", "h", "-1s", "1w", ""]) {
    assert.throws(() => duration(bad), /expected a duration such as 30s/, bad);
  }
});

const base = { trustDomain: "cluster.local", workloadCertTtl: 86_400_000 };
const address = { host: "127.0.0.1", port: 15013 };

test("the CA runs only with --ca-address; operator files come as a set of three", () => {
  assert.equal(caOptionsFrom(base), undefined);
  assert.deepEqual(caOptionsFrom({ ...base, caAddress: address, caRootTtl: 60_000 }), {
    address,
    trustDomain: "cluster.local",
    workloadCertTtlMs: 86_400_000,
    rootTtlMs: 60_000,
  });
  assert.deepEqual(
    caOptionsFrom({ ...base, caAddress: address, caCert: "c", caKey: "k", caRoot: "r" })?.operator,
    {
      cert: "c",
      key: "k",
      root: "r",
    },
  );
  assert.throws(() => caOptionsFrom({ ...base, caAddress: address, caCert: "c" }), /go together/);
  assert.throws(() => caOptionsFrom({ ...base, caCert: "c", caKey: "k", caRoot: "r" }), /need --ca-address/);
});
