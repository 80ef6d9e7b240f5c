// The quick-start demos listen on fixed ports (127.0.0.1:20061 and :20062, the secure demo's ledger
// on :20071, all below Linux's ephemeral
// range, so no port-0 listener or outgoing connection of another test takes them). A process of
// the previous test file may still be exiting and hold one for a moment, so wait a few seconds
// before concluding they are taken; then skip locally, and fail under CI, where nothing else may
// hold them.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { TestContext } from "node:test";

export const demoPorts = [20061, 20062];
export const secureDemoPorts = [20071];

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen({ host: "127.0.0.1", port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** True once the demo's ports are free; otherwise skips `t` (or fails it under CI). */
export async function requireDemoPorts(t: TestContext, ports = demoPorts): Promise<boolean> {
  let busy: number[] = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    busy = [];
    for (const port of ports) if (!(await portFree(port))) busy.push(port);
    if (busy.length === 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const message = `the demo's fixed port(s) ${busy.map((p) => `127.0.0.1:${p}`).join(", ")} are in use (another demo running?)`;
  if (process.env.CI) assert.fail(message);
  t.skip(message);
  return false;
}
