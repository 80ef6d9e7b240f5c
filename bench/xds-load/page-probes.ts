// What `--dashboard-browser` runs inside the dashboard page (serialised by playwright-core, so
// each function is self-contained: no imports, no module-level names). Times are the page's own:
// performance.now() (ms since navigation start) or wall-clock (timeOrigin + now()). The page is
// found through the data-testid attributes the dashboard exposes (dashboard/src).

/** A long-task tally: how many, their summed and longest duration (ms). */
export interface TaskTally {
  count: number;
  totalMs: number;
  maxMs: number;
}

export interface ProbeState {
  /** ms after navigation start: first contentful paint, and the page populated (see installProbe). */
  fcpMs?: number;
  populatedMs?: number;
  /** Long tasks before the page was populated, and after. */
  readonly longTasks: { readonly load: TaskTally; readonly steady: TaskTally };
  readonly watches: Record<number, WeightWatch>;
}

export interface WeightWatch {
  /** Wall-clock ms the new weight was in the DOM, and the end of the frame after it. */
  domAt?: number;
  frameAt?: number;
  done?: Promise<void>;
}

/** One measured interaction: from its event to the frame after the DOM showed its result. */
export interface Interaction {
  readonly kind: string;
  /** undefined: the page did not show the result within the time allowed. */
  readonly ms: number | undefined;
}

// The little of the DOM these functions use, typed here: the repository's TypeScript program has
// no DOM library (the dashboard's own tsconfig has it).
interface El {
  readonly textContent: string | null;
  value: string;
  readonly disabled: boolean;
  getAttribute(name: string): string | null;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
  dispatchEvent(event: unknown): boolean;
  click(): void;
}
interface Entry {
  readonly name: string;
  readonly startTime: number;
  readonly duration: number;
}
interface Page {
  readonly document: El & { getElementsByTagName(name: string): { readonly length: number } };
  readonly performance: { now(): number; readonly timeOrigin: number };
  readonly PerformanceObserver: new (callback: (list: { getEntries(): Entry[] }) => void) => {
    observe(options: { type: string; buffered?: boolean }): void;
  };
  readonly MutationObserver: new (callback: () => void) => {
    observe(target: unknown, options: Record<string, boolean>): void;
    disconnect(): void;
  };
  readonly Event: new (type: string, init: { bubbles: boolean }) => unknown;
  requestAnimationFrame(callback: () => void): number;
  readonly MessageChannel: new () => {
    readonly port1: { onmessage: (() => void) | null };
    readonly port2: { postMessage(value: unknown): void };
  };
  setTimeout(callback: () => void, ms: number): number;
  __meshplaneBench?: ProbeState;
}

/**
 * Before any page script: tallies long tasks (PerformanceObserver 'longtask', > 50 ms on the main
 * thread), notes first contentful paint, and the moment the page is populated: the feed live, the
 * totals, Services and objects on the page, and the proxy groups if there are proxies.
 */
export function installProbe(): void {
  const page = globalThis as unknown as Page;
  const state: ProbeState = {
    longTasks: { load: { count: 0, totalMs: 0, maxMs: 0 }, steady: { count: 0, totalMs: 0, maxMs: 0 } },
    watches: {},
  };
  page.__meshplaneBench = state;
  new page.PerformanceObserver((list) => {
    for (const task of list.getEntries()) {
      const populated = state.populatedMs;
      const tally = populated !== undefined && task.startTime >= populated ? "steady" : "load";
      const t = state.longTasks[tally];
      t.count += 1;
      t.totalMs += task.duration;
      t.maxMs = Math.max(t.maxMs, task.duration);
    }
  }).observe({ type: "longtask", buffered: true });
  new page.PerformanceObserver((list) => {
    for (const paint of list.getEntries())
      if (paint.name === "first-contentful-paint") state.fcpMs = paint.startTime;
  }).observe({ type: "paint", buffered: true });
  const populated = () => {
    const d = page.document;
    const totals = d.querySelector("[data-testid=totals]");
    return (
      d.querySelector("[data-testid=feed-state]")?.textContent === "live" &&
      totals !== null &&
      d.querySelector("[data-testid=service]") !== null &&
      d.querySelector("[data-testid=object]") !== null &&
      (totals.getAttribute("data-proxies") === "0" || d.querySelector("[data-testid=proxy-group]") !== null)
    );
  };
  const observer = new page.MutationObserver(() => {
    if (state.populatedMs !== undefined || !populated()) return;
    state.populatedMs = page.performance.now();
    observer.disconnect();
  });
  observer.observe(page.document, { childList: true, subtree: true, characterData: true });
}

/**
 * Watches for `selector`'s text to start with `prefix` (a route weight on the graph) and notes when
 * it does; returns the page's wall-clock now, for the harness to relate the two clocks.
 */
export function watchText(args: { id: number; selector: string; prefix: string; timeoutMs: number }): number {
  const page = globalThis as unknown as Page;
  const state = page.__meshplaneBench!;
  const wall = () => page.performance.timeOrigin + page.performance.now();
  const watch: WeightWatch = {};
  state.watches[args.id] = watch;
  const shown = () =>
    page.document.querySelector(args.selector)?.textContent?.startsWith(args.prefix) === true;
  watch.done = new Promise<void>((resolve) => {
    const observer = new page.MutationObserver(() => seen());
    const seen = () => {
      if (watch.domAt !== undefined || !shown()) return;
      watch.domAt = wall();
      observer.disconnect();
      page.requestAnimationFrame(() => {
        const channel = new page.MessageChannel();
        channel.port1.onmessage = () => {
          watch.frameAt = wall();
          resolve();
        };
        channel.port2.postMessage(0);
      });
    };
    observer.observe(page.document, { childList: true, subtree: true, characterData: true });
    page.setTimeout(() => {
      observer.disconnect();
      resolve();
    }, args.timeoutMs);
    seen();
  });
  return wall();
}

/** Waits for watch `id` to end; its DOM and frame times (wall-clock ms), undefined if not seen. */
export async function watchResult(id: number): Promise<{ domAt?: number; frameAt?: number }> {
  const state = (globalThis as unknown as Page).__meshplaneBench!;
  const watch = state.watches[id];
  await watch?.done;
  delete state.watches[id];
  return { domAt: watch?.domAt, frameAt: watch?.frameAt };
}

export function probeState(): ProbeState & { elements: number } {
  const page = globalThis as unknown as Page;
  const { longTasks, fcpMs, populatedMs } = page.__meshplaneBench!;
  return {
    longTasks,
    fcpMs,
    populatedMs,
    watches: {},
    elements: page.document.getElementsByTagName("*").length,
  };
}

/**
 * One interaction and its undo, as an operator would do them: filter the Services to one name and
 * clear the filter; collapse a Service's graph and open it again; the next page of Services and
 * back; filter the objects to one and clear. Each is timed from its event, dispatched here, to the
 * end of the first frame after the DOM shows its result. `avoid` is a Service not to collapse
 * (the one whose weight the harness watches).
 */
export async function interact(args: {
  kind: string;
  avoid: string;
  timeoutMs: number;
}): Promise<Interaction[]> {
  const page = globalThis as unknown as Page;
  const d = page.document;
  const all = (selector: string) => Array.from(d.querySelectorAll(selector));
  const frame = () =>
    new Promise<void>((resolve) =>
      page.requestAnimationFrame(() => {
        const channel = new page.MessageChannel();
        channel.port1.onmessage = () => resolve();
        channel.port2.postMessage(0);
      }),
    );
  const until = (done: () => boolean) =>
    new Promise<boolean>((resolve) => {
      if (done()) return resolve(true);
      const observer = new page.MutationObserver(() => {
        if (!done()) return;
        observer.disconnect();
        resolve(true);
      });
      observer.observe(d, { childList: true, subtree: true, characterData: true, attributes: true });
      page.setTimeout(() => {
        observer.disconnect();
        resolve(done());
      }, args.timeoutMs);
    });
  const timed = async (kind: string, act: () => void, done: () => boolean): Promise<Interaction> => {
    const started = page.performance.now();
    act();
    if (!(await until(done))) return { kind, ms: undefined };
    await frame();
    return { kind, ms: page.performance.now() - started };
  };
  const type = (input: El, text: string) => {
    input.value = text;
    input.dispatchEvent(new page.Event("input", { bubbles: true }));
  };
  const total = (pager: string) => d.querySelector(`[data-testid=${pager}]`)?.getAttribute("data-total");
  const filter = async (what: string, rows: string, key: string, input: string, pager: string) => {
    const box = d.querySelector(`[data-testid=${input}]`);
    const name = all(`[data-testid=${rows}]`).at(1)?.getAttribute(key) ?? undefined;
    if (!box || name === undefined) return [];
    const before = total(pager);
    const matching = () => {
      const shown = all(`[data-testid=${rows}]`);
      return shown.length > 0 && shown.every((row) => row.getAttribute(key)?.includes(name));
    };
    return [
      await timed(`filter ${what}`, () => type(box, name), matching),
      await timed(
        `clear the ${what} filter`,
        () => type(box, ""),
        () => total(pager) === before,
      ),
    ];
  };
  if (args.kind === "services")
    return filter("services", "service", "data-service", "service-filter", "service-pager");
  if (args.kind === "objects")
    return filter("objects", "object", "data-object", "object-filter", "object-pager");
  if (args.kind === "toggle") {
    const service = all("[data-testid=service]").find(
      (s) =>
        s.getAttribute("data-service") !== args.avoid && s.querySelector("button.toggle")?.disabled === false,
    );
    const button = service?.querySelector("button.toggle");
    if (!button) return [];
    const expanded = () => button.getAttribute("aria-expanded");
    const open = expanded();
    const flipped = open === "true" ? "false" : "true";
    return [
      await timed(
        "collapse or open a Service's graph",
        () => button.click(),
        () => expanded() === flipped,
      ),
      await timed(
        "collapse or open a Service's graph",
        () => button.click(),
        () => expanded() === open,
      ),
    ];
  }
  if (args.kind === "page") {
    const pager = d.querySelector("[data-testid=service-pager]");
    const [back, next] = all("[data-testid=service-pager] button");
    if (!pager || !back || !next || next.disabled) return [];
    const at = () => pager.getAttribute("data-page");
    return [
      await timed(
        "next page of Services",
        () => next.click(),
        () => at() === "1",
      ),
      await timed(
        "previous page of Services",
        () => back.click(),
        () => at() === "0",
      ),
    ];
  }
  return [];
}

export const interactionKinds = ["services", "toggle", "page", "objects"] as const;
