#!/usr/bin/env node
// The `meshplane` command. The published package runs the CLI compiled into dist/ (built by
// `npm pack`); a clone, which has src/ and no package build, runs the TypeScript sources directly,
// as `npm run meshplane` does. Plain JavaScript that an older Node can parse, so that it can say
// which Node meshplane needs instead of failing on the first newer API.
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import { URL } from "node:url";

const { engines } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const requiredMajor = Number(/^>=\s*(\d+)/.exec(engines.node)?.[1]);
if (!(Number(process.versions.node.split(".")[0]) >= requiredMajor)) {
  process.stderr.write(
    `meshplane needs Node.js ${engines.node}, but this is Node.js ${process.version} (${process.execPath}): ` +
      `install Node.js ${requiredMajor} or put it first on PATH\n`,
  );
  process.exit(1);
}

const source = new URL("../src/cli/main.ts", import.meta.url);
await import(existsSync(source) ? source : new URL("../dist/src/cli/main.js", import.meta.url));
