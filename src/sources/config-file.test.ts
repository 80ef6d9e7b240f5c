import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultLimits, type ObjectLimits } from "../limits/index.ts";
import { documentsOf, parseConfigFile, type FileResult } from "./config-file.ts";

const service = (name: string) =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${name} }\nspec: { ports: [{ port: 80 }] }\n`;
const noPause = async () => {};
const parse = (text: string, limits: ObjectLimits = defaultLimits) =>
  parseConfigFile("f.yaml", text, limits, noPause);
const summary = (result: FileResult) => ({
  places: result.definitions.map((d) => d.place),
  errors: result.errors.map((e) => e.message),
  keepMissing: result.keepMissing,
});

describe("documentsOf", () => {
  const cases: Array<[string, string, Array<[number, number]>]> = [
    ["one document", "a: 1\n", [[1, 1]]],
    ["leading marker and comments", "--- # x\n\n# c\na: 1\n", [[1, 4]]],
    [
      "marker with content on its line",
      "a: 1\n--- {b: 2}\n",
      [
        [1, 1],
        [2, 2],
      ],
    ],
    [
      "CRLF line ends",
      "a: 1\r\n---\r\nb: 2\r\n",
      [
        [1, 1],
        [2, 3],
      ],
    ],
    [
      "a marker cuts a block scalar (YAML's c-forbidden)",
      "a: |\n  x\n---\nb: 2\n",
      [
        [1, 1],
        [3, 4],
      ],
    ],
    ["a longer dash line is content", "a: |\n  x\n----\n", [[1, 1]]],
    [
      "directive before its marker stays in the chunk before",
      "a: 1\n...\n%YAML 1.2\n---\nb: 2\n",
      [
        [1, 1],
        [4, 5],
      ],
    ],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => {
      const chunks = [...documentsOf(text)];
      assert.deepEqual(
        chunks.map((c) => [c.line, c.contentLine]),
        expected,
      );
      assert.equal(chunks.map((c) => c.text).join(""), text, "the chunks are the whole text");
    });
  }
});

describe("parseConfigFile", () => {
  it("gives each object its file and line; List items their index", async () => {
    const list =
      "kind: List\nitems:\n  - { apiVersion: v1, kind: Service, metadata: { name: c }, spec: { ports: [{ port: 1 }] } }\n";
    const result = await parse(["# head\n", service("a"), service("b"), list].join("---\n"));
    assert.deepEqual(summary(result), {
      places: ["f.yaml:3", "f.yaml:8", "f.yaml:13 items[0]"],
      errors: [],
      keepMissing: false,
    });
  });

  const secret = "s3cr3t-AKIA-do-not-echo";
  const padding = "x".repeat(200);
  const refused: Array<{ name: string; text: string; message: RegExp; limit?: string }> = [
    {
      name: "a syntax error: line, column and the parser's reason, no code frame",
      text: `${service("a")}---\nkind: Service\nmetadata: name: ${secret}\n`,
      message:
        /^YAML syntax error at line 12, column 11: Nested mappings are not allowed in compact mappings$/,
    },
    {
      name: "keys given twice",
      text: service("a").replace("kind: Service\n", "kind: Service\nkind: Service\n"),
      message: /^YAML syntax error in the document at line 6: keys given more than once: kind$/,
    },
    {
      name: "an alias naming no anchor",
      text: `a: *${padding}${secret}\n`,
      message:
        /^invalid YAML in the document at line 6: alias \*x+…\(\d+ more characters\) at a names no anchor$/,
    },
    {
      name: "aliases expanding past object.nodes",
      text: `a: &a [1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n`,
      message:
        /^the document at line 6: the number of values in the object exceeds limit object.nodes of 500 /,
      limit: "object.nodes",
    },
    {
      name: "a string over object.stringLength",
      text: `a: ${"y".repeat(300)}\n`,
      message: /^the document at line 6: a string at a exceeds limit object.stringLength of 256 /,
      limit: "object.stringLength",
    },
    {
      name: "a document's text over twice object.bytes, unparsed",
      text: `${"#".repeat(20_000)}\n`,
      message:
        /^the document at line 5, whose YAML text may be at most twice the object's size, exceeds limit object.bytes of 8 KiB \(found 20005 bytes\)/,
      limit: "object.bytes",
    },
  ];
  const small: ObjectLimits = {
    "object.bytes": 8192,
    "object.nestingDepth": 10,
    "object.nodes": 500,
    "object.stringLength": 256,
  };
  for (const c of refused) {
    it(`refuses the whole file for ${c.name}`, async () => {
      const result = await parse(`${service("ok")}---\n${c.text}`, small);
      assert.deepEqual(result.definitions, [], "no object of the file is taken");
      assert.equal(result.keepMissing, true, "its last good objects stay in force");
      const error = result.errors.find((e) => c.message.test(e.message));
      assert.ok(error, `${c.message} in ${JSON.stringify(result.errors)}`);
      assert.equal(error.limit, c.limit);
      assert.ok(!JSON.stringify(result.errors).includes(secret), "the file's content is not echoed");
    });
  }

  it("reports the first 20 bad documents and how many more", async () => {
    const result = await parse(Array.from({ length: 25 }, () => "a: [\n").join("---\n"));
    assert.equal(result.errors.length, 21);
    assert.equal(result.errors[20]?.message, "5 more documents with errors");
  });

  it("rejects an invalid object alone, its message and name cut to an excerpt", async () => {
    const kind = `Kind${"k".repeat(1000)}${secret}`;
    const result = await parse(`${service("ok")}---\napiVersion: v1\nkind: ${kind}\nmetadata: { name: a }\n`);
    assert.deepEqual(
      result.definitions.map((d) => [d.ref, d.resource !== undefined]),
      [
        ["Service default/ok", true],
        [`${kind} default/a`, false],
      ],
    );
    const errors = result.definitions[1]?.errors ?? [];
    assert.equal(errors.length, 1);
    assert.ok((errors[0]?.object.length ?? 0) < 260, errors[0]?.object);
    assert.ok((errors[0]?.message.length ?? 0) < 460, errors[0]?.message);
    assert.ok(!JSON.stringify(errors).includes(secret), "the file's content is not echoed");
  });

  it("gives the event loop a turn between documents", async () => {
    let pauses = 0;
    await parseConfigFile(
      "f.yaml",
      [service("a"), service("b"), service("c")].join("---\n"),
      defaultLimits,
      async () => {
        pauses++;
      },
    );
    assert.ok(pauses >= 3, `${pauses} pauses`);
  });
});
