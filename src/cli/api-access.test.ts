import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ApiAccessError, loadApiAccess, type ApiAccessOptions } from "./api-access.ts";

const dir = mkdtempSync(join(tmpdir(), "meshplane-api-access-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const tokens = file("tokens", "# operators\ns3cret\n\nother\n");
const noTokens = file("empty-tokens", "# nothing yet\n\n");
const cert = file("cert.pem", "CERT");
const key = file("key.pem", "KEY");

const loopback = { host: "127.0.0.1", port: 0 };
const anywhere = { host: "0.0.0.0", port: 0 };
const options = (overrides: Partial<ApiAccessOptions>): ApiAccessOptions => ({
  address: loopback,
  tokenFile: undefined,
  tlsCert: undefined,
  tlsKey: undefined,
  ...overrides,
});

test("loadApiAccess: which flag combinations start, and what a refusal says", () => {
  const cases: [
    name: string,
    options: ApiAccessOptions,
    expected: RegExp | { tokens: string[]; tls: boolean },
  ][] = [
    ["anonymous on loopback", options({}), { tokens: [], tls: false }],
    ["anonymous over TLS on loopback", options({ tlsCert: cert, tlsKey: key }), { tokens: [], tls: true }],
    [
      "tokens over TLS",
      options({ tokenFile: tokens, tlsCert: cert, tlsKey: key }),
      { tokens: ["s3cret", "other"], tls: true },
    ],
    [
      "tokens over TLS off loopback",
      options({ address: anywhere, tokenFile: tokens, tlsCert: cert, tlsKey: key }),
      { tokens: ["s3cret", "other"], tls: true },
    ],
    // kubectl would get 401 for every command: refused, naming the flags that fix it.
    [
      "tokens over plain HTTP",
      options({ tokenFile: tokens }),
      /--api-token-file needs --api-tls-cert and --api-tls-key: kubectl does not send bearer tokens over plain HTTP.*401 Unauthorized/,
    ],
    [
      "tokens over plain HTTP off loopback",
      options({ address: anywhere, tokenFile: tokens }),
      /--api-token-file needs --api-tls-cert and --api-tls-key/,
    ],
    [
      "anonymous off loopback",
      options({ address: anywhere }),
      /--api-address 0\.0\.0\.0 is reachable from other machines: set --api-token-file with --api-tls-cert\/--api-tls-key/,
    ],
    [
      "a certificate without its key",
      options({ tlsCert: cert }),
      /--api-tls-cert and --api-tls-key go together/,
    ],
    [
      "a key without its certificate",
      options({ tlsKey: key }),
      /--api-tls-cert and --api-tls-key go together/,
    ],
    [
      "a token file with no tokens",
      options({ tokenFile: noTokens, tlsCert: cert, tlsKey: key }),
      /--api-token-file .*empty-tokens: no tokens in the file/,
    ],
    [
      "a missing token file",
      options({ tokenFile: join(dir, "absent"), tlsCert: cert, tlsKey: key }),
      /--api-token-file .*absent: ENOENT/,
    ],
    [
      "a missing key file",
      options({ tlsCert: cert, tlsKey: join(dir, "absent-key") }),
      /--api-tls-key .*absent-key: ENOENT/,
    ],
  ];
  for (const [name, input, expected] of cases) {
    if (expected instanceof RegExp) {
      assert.throws(
        () => loadApiAccess(input),
        (error) => error instanceof ApiAccessError && expected.test(error.message),
        name,
      );
      continue;
    }
    const access = loadApiAccess(input);
    assert.deepEqual([...(access.tokens ?? [])], expected.tokens, name);
    assert.equal(access.tls !== undefined, expected.tls, name);
  }
});
