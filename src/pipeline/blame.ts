// Which configuration objects answer for a resource a proxy rejected: those its generator read
// (its provenance), with EndpointSlices narrowed to the ones whose addresses the proxy's error
// quotes, when it quotes any (the other slices did nothing wrong). Pure.
import type { Provenance } from "../translate/index.ts";

export function builtFrom(provenance: Provenance, error?: string): readonly string[] {
  if (error === undefined) return provenance.objects;
  const quoted = new Set(
    provenance.addresses
      .filter((source) => source.addresses.some((address) => quotes(error, address)))
      .map((source) => source.object),
  );
  if (quoted.size === 0) return provenance.objects;
  const slices = new Set(provenance.addresses.map((source) => source.object));
  return provenance.objects.filter((object) => !slices.has(object) || quoted.has(object));
}

/** Whether `text` contains `value` as a whole token (`10.0.0.1` is not quoted by `10.0.0.10`). */
function quotes(text: string, value: string): boolean {
  for (let at = text.indexOf(value); at !== -1; at = text.indexOf(value, at + 1)) {
    const before = text[at - 1];
    const boundedBefore = before === undefined || !/[\w.:]/.test(before);
    const boundedAfter = !/^(\w|[.:]\w)/.test(text.slice(at + value.length));
    if (boundedBefore && boundedAfter) return true;
  }
  return false;
}
