// Which resources of a rejected response a NACK is about. Clients validate per resource and say
// so in their error_detail text, each in their own words:
// - grpc-js-xds (xds-client.ts): `xDS response validation errors: [resource index 0: Cluster
//   message validation failed: [...]; resource index 2: ...]`, positions in the response's
//   resource list (the messages themselves rarely carry the name);
// - Envoy: names in the text, e.g. `Error adding/updating listener(s) l1: reason\nl2: reason`,
//   `Unexpected EDS cluster (expecting c): d`; some texts name nothing (`Proto constraint
//   validation failed (...)`, `malformed IP address: ...`).
// When nothing in the text can be tied to a resource, every resource the response changed is a
// suspect: those are what the proxy had not accepted before. Pure.

export interface SentResource {
  readonly name: string;
  /** Whether the proxy held no version, or another version, of this resource before the response. */
  readonly changed: boolean;
}

export interface NackAttribution {
  /** Suspected resource name → the part of the proxy's message about it. */
  readonly errors: ReadonlyMap<string, string>;
  /** How the suspects were found: by resource position, by name, or as "what the response changed". */
  readonly by: "index" | "name" | "changed";
}

/** `sent` lists the response's resources in the order they were sent (clients cite positions). */
export function attributeNack(message: string, sent: readonly SentResource[]): NackAttribution {
  const byIndex = attributeByIndex(message, sent);
  if (byIndex.size > 0) return { errors: byIndex, by: "index" };
  const byName = attributeByName(message, sent);
  if (byName.size > 0) return { errors: byName, by: "name" };
  const changed = sent.filter((resource) => resource.changed);
  // Nothing changed (a resent set): all the response carried is suspect.
  const suspects = changed.length > 0 ? changed : sent;
  return { errors: new Map(suspects.map((resource) => [resource.name, message])), by: "changed" };
}

const indexMarker = /resource index (\d+): /g;

/** grpc-js-xds: one `resource index N: ...` entry per invalid resource, joined with "; ". */
function attributeByIndex(message: string, sent: readonly SentResource[]): Map<string, string> {
  const markers = [...message.matchAll(indexMarker)];
  const errors = new Map<string, string>();
  markers.forEach((marker, i) => {
    const resource = sent[Number(marker[1])];
    if (!resource) return;
    const start = marker.index + marker[0].length;
    const end = markers[i + 1]?.index ?? message.length;
    const text = trimSeparators(message.slice(start, end), i === markers.length - 1);
    const earlier = errors.get(resource.name);
    errors.set(resource.name, earlier ? `${earlier}; ${text}` : text);
  });
  return errors;
}

/** Strips the list punctuation around one entry; the last one also loses the list's closing "]". */
function trimSeparators(text: string, last: boolean): string {
  let trimmed = text.replace(/[;,\s]+$/, "");
  if (last && trimmed.endsWith("]") && unbalancedClose(trimmed)) trimmed = trimmed.slice(0, -1);
  return trimmed;
}

function unbalancedClose(text: string): boolean {
  let depth = 0;
  for (const char of text) depth += char === "[" ? 1 : char === "]" ? -1 : 0;
  return depth < 0;
}

/**
 * Names of sent resources that appear in the text as whole names (a longer name that contains a
 * shorter one claims its span first). One name: the whole message is about it. Several: each
 * gets the text from where it is named to where the next one is, as Envoy lists them.
 */
function attributeByName(message: string, sent: readonly SentResource[]): Map<string, string> {
  const names = [...new Set(sent.map((resource) => resource.name))]
    .filter((name) => name.length > 0)
    .sort((a, b) => b.length - a.length);
  const claimed: { start: number; end: number; name: string }[] = [];
  for (const name of names) {
    for (let at = message.indexOf(name); at !== -1; at = message.indexOf(name, at + 1)) {
      const end = at + name.length;
      if (!isWholeName(message, at, end)) continue;
      if (claimed.some((span) => at < span.end && end > span.start)) continue;
      claimed.push({ start: at, end, name });
    }
  }
  const errors = new Map<string, string>();
  const found = new Set(claimed.map((span) => span.name));
  if (found.size === 1) {
    errors.set(claimed[0]!.name, message);
    return errors;
  }
  claimed.sort((a, b) => a.start - b.start);
  claimed.forEach((span, i) => {
    if (errors.has(span.name)) return;
    const next = claimed.slice(i + 1).find((other) => other.name !== span.name);
    errors.set(span.name, trimSeparators(message.slice(span.start, next?.start ?? message.length), false));
  });
  return errors;
}

// Characters resource names are made of (`outbound|50051||a.b.svc.cluster.local`, `host:port`,
// `…|consumer=ns`). A "." or ":" right after a name ends it only when no name character follows:
// `greeter: bad` names greeter, `greeter:50051` and `greeter.ns` do not.
const nameChar = /[A-Za-z0-9_\-|=/]/;

function isWholeName(text: string, start: number, end: number): boolean {
  const before = text[start - 1];
  if (before !== undefined && (nameChar.test(before) || before === ".")) return false;
  const after = text[end];
  if (after === undefined) return true;
  if (nameChar.test(after)) return false;
  if (after === "." || after === ":") {
    const next = text[end + 1];
    return next === undefined || !(nameChar.test(next) || next === "." || next === ":");
  }
  return true;
}
