// Output of the operator commands: aligned text tables by default (like kubectl and istioctl),
// or the same data as JSON or YAML for scripts.
import { Option } from "commander";
import { stringify } from "yaml";

export type OutputFormat = "table" | "json" | "yaml";

export function outputOption(formats: readonly OutputFormat[] = ["table", "json", "yaml"]): Option {
  return new Option("-o, --output <format>", "output format").choices(formats).default("table");
}

/** Columns padded to their widest cell; the last column is not padded. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

export function formatData(value: unknown, format: "json" | "yaml"): string {
  return format === "json" ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}
