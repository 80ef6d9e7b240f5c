// A unified line diff (as `diff -u` prints it) of two texts, for showing how a rendered resource
// changes. Longest common subsequence over lines; resources are at most a few thousand lines.

/** Past this many lines on either side, the whole text is shown as replaced (bounded work). */
const maxLines = 5000;

type Op = { readonly kind: " " | "-" | "+"; readonly line: string };

function lineOps(a: readonly string[], b: readonly string[]): Op[] {
  if (a.length > maxLines || b.length > maxLines) {
    return [
      ...a.map((line) => ({ kind: "-" as const, line })),
      ...b.map((line) => ({ kind: "+" as const, line })),
    ];
  }
  // Common prefix and suffix first: a changed resource differs in a few lines.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const rows = midA.length + 1;
  const cols = midB.length + 1;
  const lcs = new Uint32Array(rows * cols);
  for (let i = midA.length - 1; i >= 0; i--) {
    for (let j = midB.length - 1; j >= 0; j--) {
      lcs[i * cols + j] =
        midA[i] === midB[j]
          ? (lcs[(i + 1) * cols + j + 1] ?? 0) + 1
          : Math.max(lcs[(i + 1) * cols + j] ?? 0, lcs[i * cols + j + 1] ?? 0);
    }
  }
  const ops: Op[] = a.slice(0, start).map((line) => ({ kind: " ", line }));
  let i = 0;
  let j = 0;
  while (i < midA.length || j < midB.length) {
    if (i < midA.length && j < midB.length && midA[i] === midB[j]) {
      ops.push({ kind: " ", line: midA[i++] as string });
      j++;
    } else if (
      i < midA.length &&
      (j === midB.length || (lcs[(i + 1) * cols + j] ?? 0) >= (lcs[i * cols + j + 1] ?? 0))
    ) {
      // Removals before additions, as diff prints them.
      ops.push({ kind: "-", line: midA[i++] as string });
    } else {
      ops.push({ kind: "+", line: midB[j++] as string });
    }
  }
  ops.push(...a.slice(endA).map((line) => ({ kind: " " as const, line })));
  return ops;
}

/**
 * Hunks with `context` unchanged lines around each change, headed `@@ -a,n +b,m @@`; empty when
 * the texts are equal.
 */
export function unifiedDiff(before: string, after: string, context = 3): string {
  const ops = lineOps(before === "" ? [] : before.split("\n"), after === "" ? [] : after.split("\n"));
  const changed = ops.map((op, k) => (op.kind === " " ? -1 : k)).filter((k) => k >= 0);
  if (changed.length === 0) return "";
  const hunks: [number, number][] = [];
  for (const k of changed) {
    const from = Math.max(0, k - context);
    const to = Math.min(ops.length, k + context + 1);
    const last = hunks.at(-1);
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else hunks.push([from, to]);
  }
  const out: string[] = [];
  for (const [from, to] of hunks) {
    // Line numbers: count the lines of each side before the hunk.
    const lineA = ops.slice(0, from).filter((op) => op.kind !== "+").length;
    const lineB = ops.slice(0, from).filter((op) => op.kind !== "-").length;
    const body = ops.slice(from, to);
    const countA = body.filter((op) => op.kind !== "+").length;
    const countB = body.filter((op) => op.kind !== "-").length;
    // An empty side is numbered by the line before it (diff -u: `@@ -0,0 +1,2 @@`).
    out.push(
      `@@ -${countA === 0 ? lineA : lineA + 1},${countA} +${countB === 0 ? lineB : lineB + 1},${countB} @@`,
    );
    out.push(...body.map((op) => `${op.kind}${op.line}`));
  }
  return out.join("\n") + "\n";
}
