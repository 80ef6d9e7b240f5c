import { test } from "node:test";
import assert from "node:assert/strict";
import {
  emailProblem,
  hostnameProblem,
  isIpv4Bytes,
  parseIp,
  re2ToRegExp,
  Re2PatternError,
  uriProblem,
} from "./pgv-formats.ts";

test("parseIp follows Go's net.ParseIP", () => {
  const table: [input: string, kind: "v4" | "v6" | undefined][] = [
    ["10.0.0.1", "v4"],
    ["255.255.255.255", "v4"],
    ["256.0.0.1", undefined],
    ["01.0.0.1", undefined],
    ["1.2.3", undefined],
    ["::", "v6"],
    ["::1", "v6"],
    ["2001:db8::8a2e:370:7334", "v6"],
    ["1:2:3:4:5:6:7:8", "v6"],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["1::2::3", undefined],
    ["1:2:3:4:5:6:7::8", undefined],
    ["::ffff:10.0.0.1", "v4"],
    ["64:ff9b::10.0.0.1", "v6"],
    ["fe80::1%eth0", undefined],
    ["[::1]", undefined],
    ["", undefined],
  ];
  for (const [input, kind] of table) {
    const ip = parseIp(input);
    const got = ip === undefined ? undefined : isIpv4Bytes(ip) ? "v4" : "v6";
    assert.equal(got, kind, input);
  }
});

test("hostnames, emails and URIs", () => {
  assert.equal(hostnameProblem("a.b-c.example."), undefined);
  assert.match(hostnameProblem("a..b") ?? "", /1 to 63/);
  assert.match(hostnameProblem("a_b.com") ?? "", /letters, digits/);
  assert.match(hostnameProblem(`${"a".repeat(64)}.com`) ?? "", /1 to 63/);
  assert.match(hostnameProblem("a.".repeat(127) + "ab") ?? "", /253/);
  assert.equal(emailProblem("first.last+tag@example.com"), undefined);
  assert.equal(emailProblem('"quoted local"@example.com'), undefined);
  assert.match(emailProblem(`${"a".repeat(65)}@example.com`) ?? "", /64/);
  assert.ok(emailProblem("a..b@example.com"));
  assert.ok(emailProblem("a@-example.com"));
  assert.equal(uriProblem("spiffe://cluster.local/ns/default/sa/api", true), undefined);
  assert.equal(uriProblem("mailto:a@b", true), undefined);
  assert.ok(uriProblem("//host/path", true));
  assert.equal(uriProblem("//host/path", false), undefined);
  assert.ok(uriProblem("a:b/c", false) === undefined);
  assert.ok(uriProblem("1a:b", false));
  assert.ok(uriProblem(":x", false));
  assert.ok(uriProblem("http://bad host/", true));
  assert.ok(uriProblem("http://x/\n", true));
});

test("RE2 patterns become equivalent RegExps", () => {
  const table: [pattern: string, matches: string[], rejects: string[]][] = [
    ["^[^?#]+[^?#/]$", ["/api", "/a/b"], ["/api/", "/a?b", "/"]],
    ["^[0-9a-zA-Z_\\-\\.~:]+$", ["a-b.c~d:e_f"], ["a/b", ""]],
    ["(?i)^abc$", ["ABC"], ["abd"]],
    ["^a.b$", ["a😀b"], ["a\nb"]],
    ["(?s)^a.b$", ["a\nb"], []],
    ["\\Aab\\z", ["ab"], ["ab\n", "xab"]],
    ["^\\Qa.b\\E$", ["a.b"], ["axb"]],
    ["^[[:digit:][:upper:]]+$", ["A1"], ["a1"]],
    ["^\\pL+$", ["héllo"], ["h1"]],
    ["^\\x{1F600}$", ["😀"], ["x"]],
    ["^a\\-b\\!$", ["a-b!"], ["ab"]],
    ["^(?P<word>\\w+)$", ["abc"], ["a c"]],
  ];
  for (const [pattern, matches, rejects] of table) {
    const regex = re2ToRegExp(pattern);
    for (const m of matches) assert.ok(regex.test(m), `${pattern} should match ${JSON.stringify(m)}`);
    for (const r of rejects) assert.ok(!regex.test(r), `${pattern} should reject ${JSON.stringify(r)}`);
  }
  for (const bad of ["\\C", "(?U)a*", "[[:nope:]]", "(unclosed"])
    assert.throws(() => re2ToRegExp(bad), Re2PatternError, bad);
});
