// The push scheduler: bounded work per turn, per-stream coalescing, a proxy's own request ahead
// of the rest of a publish (with a share of every turn kept for the publish), and a push that
// throws reported without stopping the others.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as turn } from "node:timers/promises";
import { PushScheduler } from "./scheduler.ts";

class Fake {
  readonly name: string;
  pushes = 0;
  private readonly log: string[];
  private readonly fails: boolean;

  constructor(name: string, log: string[], fails = false) {
    this.name = name;
    this.log = log;
    this.fails = fails;
  }

  push(): void {
    this.pushes++;
    this.log.push(this.name);
    if (this.fails) throw new Error(`${this.name} broke`);
  }
}

function setup(pushesPerTurn: number) {
  const log: string[] = [];
  const failed: string[] = [];
  const scheduler = new PushScheduler<Fake>({ pushesPerTurn, admissionsPerTurn: 2 }, (stream, error) =>
    failed.push(`${stream.name}: ${(error as Error).message}`),
  );
  const fakes = (prefix: string, n: number, fails = false) =>
    Array.from({ length: n }, (_, i) => new Fake(`${prefix}${i}`, log, fails));
  return { log, failed, scheduler, fakes };
}

test("a proxy's request goes before the rest of a publish, which keeps a quarter of each turn", async () => {
  const { log, scheduler, fakes } = setup(8);
  for (const fake of fakes("p", 20)) scheduler.queue(fake, false);
  for (const fake of fakes("r", 10)) scheduler.queue(fake, true);
  await turn();
  assert.deepEqual(log, ["r0", "r1", "r2", "r3", "r4", "r5", "p0", "p1"]);
  await turn();
  assert.deepEqual(log.slice(8), ["r6", "r7", "r8", "r9", "p2", "p3", "p4", "p5"]);
  await scheduler.drained();
  assert.equal(log.length, 30);
});

test("a stream queued many times, by a publish and by its proxy, is pushed once", async () => {
  const { scheduler, fakes } = setup(100);
  const [stream] = fakes("s", 1) as [Fake];
  scheduler.queue(stream, false);
  scheduler.queue(stream, true);
  scheduler.queue(stream, false);
  await scheduler.drained();
  assert.equal(stream.pushes, 1);
});

test("drained resolves once every queued push ran, at once when none is queued", async () => {
  const { log, scheduler, fakes } = setup(3);
  await scheduler.drained();
  for (const fake of fakes("p", 10)) scheduler.queue(fake, false);
  assert.deepEqual(scheduler.queued, { pushes: 10, admissions: 0 });
  await scheduler.drained();
  assert.equal(log.length, 10);
});

test("admissions run first, at most admissionsPerTurn a turn, in arrival order", async () => {
  const { scheduler } = setup(10);
  const admitted: number[] = [];
  for (let i = 0; i < 5; i++) scheduler.admit(() => admitted.push(i));
  await turn();
  assert.deepEqual(admitted, [0, 1]);
  await turn();
  await turn();
  assert.deepEqual(admitted, [0, 1, 2, 3, 4]);
});

test("a push that throws is reported and the other streams are pushed", async () => {
  const { failed, scheduler, fakes } = setup(10);
  const streams = [...fakes("ok", 2), ...fakes("bad", 1, true), ...fakes("ok", 2)];
  for (const stream of streams) scheduler.queue(stream, false);
  await scheduler.drained();
  assert.deepEqual(failed, ["bad0: bad0 broke"]);
  assert.deepEqual(
    streams.map((s) => s.pushes),
    [1, 1, 1, 1, 1],
  );
});

test("a forgotten stream is not pushed", async () => {
  const { scheduler, fakes } = setup(10);
  const [gone, kept] = fakes("s", 2) as [Fake, Fake];
  scheduler.queue(gone, true);
  scheduler.queue(kept, false);
  scheduler.forget(gone);
  await scheduler.drained();
  assert.deepEqual([gone.pushes, kept.pushes], [0, 1]);
});
