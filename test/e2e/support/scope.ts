// Suite-level cleanup for describe() blocks that share processes between tests: the suite's
// before() starts things and registers each stop with `scope.defer`, the way a test uses t.after.
// Deferred functions run once, in reverse order, from the suite's after() hook, even when before()
// failed half-way; every one runs even if an earlier one throws.
import { after } from "node:test";

export interface SuiteScope {
  /** Runs `fn` when the suite ends (last deferred runs first). */
  defer(fn: () => unknown): void;
}

/** Call synchronously inside a describe() body. */
export function suiteScope(): SuiteScope {
  const stack: Array<() => unknown> = [];
  after(async () => {
    const errors: unknown[] = [];
    while (stack.length > 0) {
      const fn = stack.pop() as () => unknown;
      try {
        await fn();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, "suite cleanup failed");
  });
  return { defer: (fn) => void stack.push(fn) };
}
